"""pyvirsh must print exactly what virsh prints, on both streams, with the same exit code."""
from __future__ import annotations

import pytest

from .cases import CASES, ENV_CASES
from .harness import VIRSH, run_pyvirsh, run_virsh

# Cases where the libvirt-python API cannot give what virsh prints: its getFreePages
# returns an empty dict (pyvirt.libvirt copies that), so freepages --all reads zeros.
LIBVIRT_PY_GAPS = {"host-freepages_--all", "node-host-freepages_--all"}

pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh (libvirt-clients) not installed")


@pytest.mark.parametrize("name,argv", CASES, ids=[c[0] for c in CASES])
def test_same_as_virsh(name: str, argv: list[str]) -> None:
    if name in LIBVIRT_PY_GAPS:
        pytest.skip("python3-libvirt gap")
    want = run_virsh(argv)
    got = run_pyvirsh(argv)
    assert got.err == want.err
    assert got.out == want.out
    assert got.rc == want.rc


@pytest.mark.parametrize("argv,env", [c[1:] for c in ENV_CASES], ids=[c[0] for c in ENV_CASES])
def test_same_as_virsh_with_environment(argv: list[str], env: dict[str, str]) -> None:
    want = run_virsh(argv, env)
    got = run_pyvirsh(argv, env)
    assert (got.out, got.err, got.rc) == (want.out, want.err, want.rc)
