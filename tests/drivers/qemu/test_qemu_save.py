"""Save/restore to a file and managed save with real QEMU (TCG) and the tiny guest."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu.process import read_status
from pyvirt.errors import LibvirtError



def domain_xml(guest: Any, name: str, console: Path) -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='{console}' append='on'/></serial></devices></domain>"""


def wait_until(pred: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(0.02)


def _pid(root: Path, name: str) -> int:
    return read_status(root / "run" / "qemu" / f"{name}.xml")[0]


def _booted(console: Path, guest: Any) -> None:
    wait_until(lambda: console.exists() and guest.ready_line in console.read_text(errors="replace"))


def test_save_restore_file(guest: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    console = tmp_path / "console.log"
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    events: list[tuple[int, int]] = []
    conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                   lambda _c, _d, ev, det, _o: events.append((ev, det)), None)
    try:
        dom = conn.create_xml(domain_xml(guest, "s1", console), 0)
        _booted(console, guest)
        old_pid = _pid(root, "s1")
        image = tmp_path / "s1.save"
        dom.save(str(image))
        assert image.stat().st_size > 1024 * 1024  # the guest's RAM is in there
        # libvirt 9.0: the CPUs pause for the save (SUSPENDED paused), then the guest stops (saved)
        assert events[-2:] == [(c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
                               (c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_SAVED)]
        with pytest.raises(LibvirtError) as gone:  # a transient domain is gone once saved
            conn.lookup_by_name("s1")
        assert gone.value.get_error_code() == c.VIR_ERR_NO_DOMAIN
        assert "<name>s1</name>" in conn.save_image_get_xml_desc(str(image))

        conn.restore(str(image))
        dom = conn.lookup_by_name("s1")
        assert tuple(dom.state()) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_RESTORED)
        assert events[-2:] == [(c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_RESTORED),
                               (c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT)]
        new_pid = _pid(root, "s1")
        assert new_pid != old_pid
        # the restored guest's memory is the saved one: its balloon and console keep working
        assert dom.memory_stats()["actual"] == 128 * 1024
        dom.suspend()
        dom.resume()
        assert dom.state()[0] == c.VIR_DOMAIN_RUNNING

        # restore paused on request, and refuse while the domain runs
        with pytest.raises(LibvirtError) as busy:
            conn.restore(str(image))
        assert busy.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID
        dom.save_flags(str(image), None, c.VIR_DOMAIN_SAVE_PAUSED)
        conn.restore_flags(str(image), None, 0)
        dom = conn.lookup_by_name("s1")
        assert tuple(dom.state()) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)
        dom.resume()
        dom.shutdown()  # the restored kernel still answers ACPI
        wait_until(lambda: not conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()
    assert list((root / "run" / "qemu").iterdir()) == []


def test_managed_save(guest: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    console = tmp_path / "console.log"
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    try:
        dom = conn.define_xml(domain_xml(guest, "m1", console))
        assert not dom.has_managed_save_image()
        with pytest.raises(LibvirtError):
            dom.managed_save()  # not running
        dom.create()
        _booted(console, guest)
        old_pid = _pid(root, "m1")
        dom.managed_save()
        assert dom.has_managed_save_image()
        assert tuple(dom.state()) == (c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_SAVED)
        with pytest.raises(LibvirtError) as refuse:
            dom.undefine()
        assert "managed save image exists" in str(refuse.value)

        dom.create()  # starts from the image, which is then removed
        assert tuple(dom.state()) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_RESTORED)
        assert _pid(root, "m1") != old_pid and not dom.has_managed_save_image()
        # the serial log is appended to: the restored guest did not boot again, it goes on
        assert console.read_text(errors="replace").count(guest.ready_line) == 1
        dom.shutdown()  # the restored kernel (and its acpid) still answer the power button
        wait_until(lambda: not dom.is_active())
        assert console.read_text(errors="replace").count(guest.ready_line) == 1

        dom.create()
        dom.managed_save()
        dom.managed_save_remove()
        assert not dom.has_managed_save_image()
        dom.create()  # a fresh boot now
        assert tuple(dom.state()) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_BOOTED)
        dom.managed_save()
        dom.undefine_flags(c.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        assert not (root / "lib" / "qemu" / "save" / "m1.save").exists()
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()


def test_restore_bad_images(guest: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    console = tmp_path / "console.log"
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    try:
        not_image = tmp_path / "junk.save"
        not_image.write_bytes(b"x" * 100)
        with pytest.raises(LibvirtError) as magic:
            conn.restore(str(not_image))
        assert "image magic is incorrect" in str(magic.value)
        with pytest.raises(LibvirtError) as missing:
            conn.restore(str(tmp_path / "nope.save"))
        assert missing.value.get_error_code() == c.VIR_ERR_SYSTEM_ERROR

        dom = conn.create_xml(domain_xml(guest, "bad1", console), c.VIR_DOMAIN_START_PAUSED)
        image = tmp_path / "bad1.save"
        dom.save(str(image))
        data = image.read_bytes()
        image.write_bytes(data[: len(data) // 2])  # the migration stream ends half-way
        with pytest.raises(LibvirtError) as cut:
            conn.restore(str(image))
        assert "job 'restore' failed" in str(cut.value)
        assert conn.list_all_domains() == []  # nothing half-started is left behind
        assert list((root / "run" / "qemu").iterdir()) == []
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()
