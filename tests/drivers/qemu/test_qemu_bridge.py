"""Bridge interfaces: a tap on a bridge, in a private network namespace."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HELPER = Path(__file__).with_name("qemu_bridge_helper.py")


def test_tap_on_bridge(qemu_bin: str, tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs root, unshare and iproute2 for a private network namespace")
    proc = subprocess.run(["unshare", "--net", sys.executable, str(HELPER), str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["ports"] == ["vnet0"]
    assert "<target dev='vnet0'/>" in got["live"]
    assert got["tap_mac"] == "fe:54:00:12:34:56"
    assert len(got["stats"]) == 8 and all(v >= 0 for v in got["stats"])
    assert "'nosuch0' is not a known interface" in got["bad_stats"]
    assert "vnet0" not in got["after"]
    assert "nosuchbr" in got["missing_bridge"]
    assert "vnet0" not in got["after_error"] and "vnet1" not in got["after_error"]
