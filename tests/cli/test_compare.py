"""pyvirsh must print exactly what virsh prints, on both streams, with the same exit code."""
from __future__ import annotations

import pytest

from .cases import CASES
from .harness import VIRSH, backend, run_pyvirsh, run_virsh

# Cases where Debian's python3-libvirt itself cannot give what virsh prints (so only the
# pyvirt backend can be compared): getFreePages returns an empty dict there.
LIBVIRT_PY_GAPS = {"host-freepages_--all", "node-host-freepages_--all"}

pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh (libvirt-clients) not installed")


@pytest.mark.parametrize("name,argv", CASES, ids=[c[0] for c in CASES])
def test_same_as_virsh(name: str, argv: list[str]) -> None:
    if name in LIBVIRT_PY_GAPS and backend() == "libvirt":
        pytest.skip("python3-libvirt gap")
    want = run_virsh(argv)
    got = run_pyvirsh(argv)
    assert got.err == want.err
    assert got.out == want.out
    assert got.rc == want.rc
