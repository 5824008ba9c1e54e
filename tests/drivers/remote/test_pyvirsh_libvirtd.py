"""pyvirsh through pyvirt's remote driver against a real libvirtd 9.0 prints what the real virsh prints."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

PYVIRSH = ("from pyvirt.cli.main import main; import sys; "
           "sys.exit(main(['pyvirsh'] + sys.argv[1:]))")


def _run(argv: list[str]) -> tuple[str, str, int]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    # CPU time is a clock; nothing else may differ
    out = re.sub(r"(CPU time:\s+)[\d.]+s", r"\1Xs", proc.stdout)
    return out, proc.stderr, proc.returncode


# One batch each, so that changes made by earlier commands show in later ones; every batch
# leaves the daemon's state as it found it.
BATCHES = [
    "list --all; dominfo test; domstate test --reason; domuuid test; domid test",
    "dumpxml test; net-list --all; net-dumpxml default; pool-list --all --details",
    "nodeinfo; uri; hostname; iface-list --all; nodedev-list; vol-list default-pool",
    "suspend test; domstate test --reason; resume test; list --all",
    "dominfo nosuchdomain",
    "net-info default; pool-info default-pool; vcpuinfo test; schedinfo test; domblklist test",
]


@pytest.mark.parametrize("batch", BATCHES)
def test_pyvirsh_matches_virsh_against_libvirtd(libvirtd: Any, batch: str) -> None:
    uri = libvirtd.unix_uri
    want = _run(["virsh", "-c", uri, batch])
    got = _run([sys.executable, "-c", PYVIRSH, "-c", uri, batch])
    assert want[0] or want[1]  # the batch really ran against the daemon
    assert got == want
