"""pyvirsh must print exactly what virsh prints, on both streams, with the same exit code."""
from __future__ import annotations

import pytest

from .cases import CASES
from .harness import VIRSH, run_pyvirsh, run_virsh

pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh (libvirt-clients) not installed")


@pytest.mark.parametrize("argv", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_same_as_virsh(argv: list[str]) -> None:
    want = run_virsh(argv)
    got = run_pyvirsh(argv)
    assert got.err == want.err
    assert got.out == want.out
    assert got.rc == want.rc
