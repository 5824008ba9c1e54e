"""After a re-attach the saved state reason survives (libvirt's qemuProcessUpdateState)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu.process import reconnect_state

R, P = c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_PAUSED
PYVIRSH = "import sys; from pyvirt.cli.main import main; sys.exit(main())"


@pytest.mark.parametrize("saved, now, expected", [
    # same run state: the saved reason stays
    ((R, c.VIR_DOMAIN_RUNNING_BOOTED), (R, c.VIR_DOMAIN_RUNNING_UNPAUSED), (R, c.VIR_DOMAIN_RUNNING_BOOTED)),
    ((R, c.VIR_DOMAIN_RUNNING_RESTORED), (R, c.VIR_DOMAIN_RUNNING_UNPAUSED),
     (R, c.VIR_DOMAIN_RUNNING_RESTORED)),
    ((P, c.VIR_DOMAIN_PAUSED_SAVE), (P, c.VIR_DOMAIN_PAUSED_USER), (P, c.VIR_DOMAIN_PAUSED_SAVE)),
    # QEMU ran on while we were away
    ((P, c.VIR_DOMAIN_PAUSED_USER), (R, c.VIR_DOMAIN_RUNNING_UNPAUSED), (R, c.VIR_DOMAIN_RUNNING_UNPAUSED)),
    ((P, c.VIR_DOMAIN_PAUSED_STARTING_UP), (R, c.VIR_DOMAIN_RUNNING_UNPAUSED),
     (R, c.VIR_DOMAIN_RUNNING_BOOTED)),
    # QEMU stopped while we were away
    ((R, c.VIR_DOMAIN_RUNNING_BOOTED), (P, c.VIR_DOMAIN_PAUSED_IOERROR), (P, c.VIR_DOMAIN_PAUSED_IOERROR)),
    ((R, c.VIR_DOMAIN_RUNNING_BOOTED), (P, c.VIR_DOMAIN_PAUSED_SHUTTING_DOWN),
     (c.VIR_DOMAIN_SHUTDOWN, c.VIR_DOMAIN_SHUTDOWN_UNKNOWN)),
    ((R, c.VIR_DOMAIN_RUNNING_BOOTED), (P, c.VIR_DOMAIN_PAUSED_CRASHED),
     (c.VIR_DOMAIN_CRASHED, c.VIR_DOMAIN_CRASHED_PANICKED)),
])
def test_reconnect_state(saved: tuple[int, int], now: tuple[int, int], expected: tuple[int, int]) -> None:
    assert reconnect_state(saved, now) == expected


def test_fresh_process_sees_booted(guest: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    uri = f"qemu:///embed?root={root}"
    xml = f"""<domain type='qemu'><name>why</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os>
<devices><serial type='file'><source path='{tmp_path / "console.log"}'/></serial></devices></domain>"""
    conn = pyvirt.open(uri)
    dom = conn.define_xml(xml)
    dom.create()
    conn.close()  # the guest keeps running; the next process re-attaches
    try:
        def domstate() -> str:
            r = subprocess.run([sys.executable, "-c", PYVIRSH, "-c", uri, "domstate why --reason"],
                               capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            assert "Task was destroyed" not in r.stderr
            return r.stdout.strip()

        assert domstate() == "running (booted)"
        assert domstate() == "running (booted)"  # and again from the status file
        r = subprocess.run([sys.executable, "-c", PYVIRSH, "-c", uri,
                            "suspend why; resume why"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert domstate() == "running (unpaused)"
    finally:
        conn = pyvirt.open(uri)
        dom = conn.lookup_by_name("why")
        if dom.is_active():
            dom.destroy()
        conn.close()
