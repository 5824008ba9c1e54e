"""QEMU snapshots of a running guest: internal with memory (savevm, revert, delvm), external disk-only
(live overlay switch, block-commit delete). One guest boots for the whole file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c

from events_guest_console import Console, serial_xml

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img (qemu-utils)")


def _xml(guest: Any, disk: Path, sock: Path) -> str:
    return f"""<domain type='qemu'><name>snap1</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
<target dev='vda' bus='virtio'/></disk>{serial_xml(sock)}</devices></domain>"""


def _run(con: Console, command: str, marker: str, timeout: float = 90.0) -> str:
    """Run *command* in the guest shell; the output after the echoed command line."""
    before = con.text.count(marker)
    con.send(f"{command}; echo {marker[:2]}'{marker[2:]}'")  # the echoed command line never holds *marker*
    con.wait_for(marker, count=before + 1, timeout=timeout)
    return con.text


def _img_snapshots(disk: Path) -> list[str]:
    out = subprocess.run(["qemu-img", "snapshot", "-U", "-l", str(disk)], capture_output=True, text=True,
                         check=True).stdout
    return [line.split()[1] for line in out.splitlines()[2:] if line.strip()]


def _backing(path: Path) -> str | None:
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)],
                                     capture_output=True, text=True, check=True).stdout)
    return info.get("backing-filename")


def _events(conn: pyvirt.Connection) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                   lambda _c, _d, ev, det, _o: seen.append((ev, det)), None)
    return seen


def test_running_guest_snapshots(guest: Any, tmp_path: Path) -> None:
    disk = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", str(disk), "32M"], check=True, capture_output=True)
    sock = tmp_path / "console.sock"
    root = tmp_path / "root"
    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        dom = conn.define_xml(_xml(guest, disk, sock))
        dom.create()
        con = Console(sock)
        try:
            con.wait_for(guest.ready_line)
            _run(con, "echo BEFORE > /tmp/f", "@@W1")

            # --- internal snapshot with memory, revert through a new QEMU ------------------
            seen = _events(conn)
            snap = dom.snapshot_create_xml("<domainsnapshot><name>s1</name></domainsnapshot>", 0)
            # libvirt 9.0's events (checked against its own driver)
            assert seen == [(c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
                            (c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)]
            assert tuple(dom.state()) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_UNPAUSED)
            assert "s1" in _img_snapshots(disk)
            xml = snap.get_xml_desc()
            assert "<state>running</state>" in xml and "<memory snapshot='internal'/>" in xml
            assert "<inactiveDomain type='qemu'>" in xml and "<disk name='vda' snapshot='internal'/>" in xml
            assert (root / "lib" / "qemu" / "snapshot" / "snap1" / "s1.xml").exists()
            _run(con, "echo AFTER > /tmp/f", "@@W2")
            old_id = conn.lookup_by_name("snap1").id()
            seen.clear()
            dom.revert_to_snapshot(snap, 0)
            assert tuple(dom.state()) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT)
            assert conn.lookup_by_name("snap1").id() != old_id
            assert seen == [(c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT),
                            (c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT),
                            (c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT),
                            (c.VIR_DOMAIN_EVENT_DEFINED, c.VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT)]
            con.close()
            con = Console(sock)
            text = _run(con, "cat /tmp/f", "@@R1")
            tail = text[text.rfind("cat /tmp/f"):]
            assert "BEFORE" in tail and "AFTER" not in tail  # the guest's memory came back

            # --- a paused snapshot, reverted paused; a child of s1 ------------------------
            dom.suspend()
            paused = dom.snapshot_create_xml("<domainsnapshot><name>p1</name></domainsnapshot>", 0)
            assert tuple(dom.state()) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)
            assert "<state>paused</state>" in paused.get_xml_desc()
            assert paused.get_parent().get_name() == "s1"
            dom.resume()
            seen.clear()
            dom.revert_to_snapshot(paused, 0)
            assert tuple(dom.state()) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_FROM_SNAPSHOT)
            assert seen == [(c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT),
                            (c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT),
                            (c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT),
                            (c.VIR_DOMAIN_EVENT_DEFINED, c.VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT)]
            dom.revert_to_snapshot(paused, c.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING)
            assert tuple(dom.state()) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT)
            assert dom.snapshot_current().get_name() == "p1"

            # --- delete s1 and its child while running: delvm ---------------------------------
            snap.delete(c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN)
            assert dom.snapshot_num() == 0 and _img_snapshots(disk) == []
            assert not (root / "lib" / "qemu" / "snapshot" / "snap1" / "s1.xml").exists()

            # --- external disk-only snapshot: the guest moves onto an overlay live ---------------
            con.close()
            con = Console(sock)
            ext = dom.snapshot_create_xml("<domainsnapshot><name>e1</name></domainsnapshot>",
                                          c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
            overlay = tmp_path / "disk.e1"
            assert overlay.exists() and _backing(overlay) == str(disk)
            live = dom.xml_desc()
            assert f"<source file='{overlay}'/>" in live
            assert f"<backingStore type='file'>\n        <format type='qcow2'/>\n        <source file='{disk}'/>" in live
            config = dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
            assert f"<source file='{overlay}'/>" in config  # (its <backingStore> only once validate.py takes it)
            exml = ext.get_xml_desc()
            assert "<state>disk-snapshot</state>" in exml and f"<source file='{overlay}'/>" in exml
            # the guest writes to the overlay now
            _run(con, "dd if=/dev/urandom of=/dev/vda bs=64k count=4 conv=fsync 2>/dev/null", "@@D1")
            with pytest.raises(pyvirt.LibvirtError) as exc:
                dom.revert_to_snapshot(ext, 0)
            assert exc.value.get_error_code() == c.VIR_ERR_CONFIG_UNSUPPORTED
            assert "revert to external snapshot not supported yet" in str(exc.value)

            # --- delete it: block commit into the base, overlay removed ---------------------------
            ext.delete(0)
            assert not overlay.exists()
            assert f"<source file='{disk}'/>" in dom.xml_desc() and "backingStore type" not in dom.xml_desc()
            assert "disk.e1" not in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
            assert dom.state()[0] == c.VIR_DOMAIN_RUNNING
            _run(con, "echo ALIVE", "@@A1")
        finally:
            con.close()
            if dom.is_active():
                dom.destroy()


def test_transient_running_guest(guest: Any, tmp_path: Path) -> None:
    """libvirt's rules for a running transient guest: memory required, no HALT; its snapshot
    metadata goes with it (the disk keeps the internal snapshot)."""
    disk = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-f", "qcow2", str(disk), "16M"], check=True, capture_output=True)
    root = tmp_path / "root"
    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        dom = conn.create_xml(_xml(guest, disk, tmp_path / "c.sock").replace("snap1", "snap2"),
                              c.VIR_DOMAIN_START_PAUSED)
        try:
            with pytest.raises(pyvirt.LibvirtError, match="internal snapshot of a running VM must include "
                                                          "the memory state"):
                dom.snapshot_create_xml("<domainsnapshot><memory snapshot='no'/></domainsnapshot>", 0)
            with pytest.raises(pyvirt.LibvirtError, match="cannot halt after transient domain snapshot"):
                dom.snapshot_create_xml("<domainsnapshot/>", c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT)
            snap = dom.snapshot_create_xml("<domainsnapshot><name>t1</name></domainsnapshot>", 0)
            assert tuple(dom.state()) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)
            # revert stops and starts the transient domain: it and its snapshots stay
            dom.revert_to_snapshot(snap, 0)
            assert tuple(dom.state()) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_FROM_SNAPSHOT)
            assert conn.lookup_by_name("snap2").snapshot_num() == 1
            sdir = root / "lib" / "qemu" / "snapshot" / "snap2"
            assert (sdir / "t1.xml").exists()
        finally:
            if dom.is_active():
                dom.destroy()
        assert not sdir.exists()
        assert "t1" in _img_snapshots(disk)
