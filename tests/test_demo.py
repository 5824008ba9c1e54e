"""`make demo` runs the scripted tour to the end."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_to_the_end() -> None:
    proc = subprocess.run([sys.executable, "-m", "pyvirt.demo"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout
    assert "$ pyvirsh -c test:///default define" in out
    assert "Domain 'demo' started" in out
    assert " demo   paused" in out
    assert "NotFoundError code=42: Domain not found" in out
    # the QEMU part boots the tiny test guest, reads its console and shuts it down by ACPI
    assert "guest console says: PYVIRT-TEST-GUEST-READY" in out
    assert " 1    tiny   running" in out
    assert "Domain: 'tiny'" in out and "  cpu.time=" in out and "  balloon.current=131072" in out
    assert "shut off (shutdown)" in out
    assert out.rstrip().endswith("The tour is over: see README.md for more.")
