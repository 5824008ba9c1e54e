"""qemu:///embed?root=DIR through the public API: define, start, lifecycle, re-attach, events."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.errors import LibvirtError


def domain_xml(guest: Any, name: str, console: Path, kind: str = "qemu") -> str:
    return f"""<domain type='{kind}'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='{console}'/></serial></devices></domain>"""


def wait_until(pred: Any, timeout: float = 90.0, what: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never became true: {what() if what else ''}")
        time.sleep(0.02)


def test_embed_lifecycle_and_reattach(guest: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    uri = f"qemu:///embed?root={root}"
    conn = pyvirt.open(uri)
    events: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    def on_event(_conn: Any, dom: Any, event: int, detail: int, _opaque: Any) -> None:
        with lock:
            events.append((dom.name(), event, detail))

    conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_event, None)
    console = tmp_path / "console.log"
    dom = conn.define_xml(domain_xml(guest, "g1", console))
    assert (root / "etc" / "qemu" / "g1.xml").exists()
    assert conn.list_defined_domains() == ["g1"]
    assert dom.state()[0] == c.VIR_DOMAIN_SHUTOFF
    assert "<type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>" in dom.xml_desc()
    dom.create()
    try:
        assert dom.id() > 0 and dom.is_active()
        assert tuple(dom.state()) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_BOOTED)
        info = dom.info()
        assert info[0] == c.VIR_DOMAIN_RUNNING and info[1] == 128 * 1024 and info[3] == 1
        live = dom.xml_desc()
        assert f"<domain type='qemu' id='{dom.id()}'>" in live and "<alias name='balloon0'/>" in live
        wait_until(lambda: console.exists() and guest.ready_line in console.read_text(errors="replace"))
        vinfo, vmaps = dom.vcpus()
        assert len(vinfo) == 1 and vinfo[0][0] == 0 and vinfo[0][1] == c.VIR_VCPU_RUNNING
        assert vinfo[0][2] > 0 and len(vmaps[0]) == os.cpu_count()
        mem = dom.memory_stats()
        assert mem["actual"] == 128 * 1024 and mem["rss"] > 0
        reboots: list[str] = []
        conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_REBOOT,
                                       lambda _c, d, _o: reboots.append(d.name()), None)
        dom.reboot(0)
        wait_until(lambda: console.read_text(errors="replace").count(guest.ready_line) == 2,
                   what=lambda: console.read_text(errors="replace"))
        assert reboots and set(reboots) == {"g1"} and dom.is_active()
        assert dom.state()[0] == c.VIR_DOMAIN_RUNNING
        dom.suspend()
        assert dom.state()[0] == c.VIR_DOMAIN_PAUSED
        dom.resume()

        # A second process-level "restart": drop all connections, open again, find it running.
        conn.close()
        conn = pyvirt.open(uri)
        again = conn.lookup_by_name("g1")
        assert again.is_active() and again.state()[0] == c.VIR_DOMAIN_RUNNING
        assert conn.list_domains_id() == [again.id()]
        with pytest.raises(LibvirtError) as info_err:
            again.create()
        assert info_err.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID

        conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_event, None)
        again.shutdown()
        wait_until(lambda: not again.is_active())
        assert tuple(again.state()) == (c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_SHUTDOWN)
        wait_until(lambda: ("g1", c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN) in events)
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
    with lock:
        seen = list(events)
    assert ("g1", c.VIR_DOMAIN_EVENT_DEFINED, c.VIR_DOMAIN_EVENT_DEFINED_ADDED) in seen
    assert ("g1", c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_BOOTED) in seen
    assert ("g1", c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED) in seen
    assert ("g1", c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED) in seen
    assert list((root / "run" / "qemu").iterdir()) == []
    conn.lookup_by_name("g1").undefine()
    assert conn.list_defined_domains() == [] and not (root / "etc" / "qemu" / "g1.xml").exists()
    conn.close()


def test_transient_destroy_and_errors(guest: Any, tmp_path: Path) -> None:
    conn = pyvirt.open(f"qemu:///embed?root={tmp_path / 'root'}")
    try:
        dom = conn.create_xml(domain_xml(guest, "t1", tmp_path / "c.log"), c.VIR_DOMAIN_START_PAUSED)
        assert tuple(dom.state()) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)
        assert not dom.is_persistent()
        dom.destroy()
        with pytest.raises(LibvirtError) as gone:
            conn.lookup_by_name("t1")
        assert gone.value.get_error_code() == c.VIR_ERR_NO_DOMAIN
        with pytest.raises(LibvirtError) as bad:
            conn.define_xml(domain_xml(guest, "bad", tmp_path / "c.log").replace(
                "<devices>", "<devices><graphics type='spice'/>"))
        assert bad.value.get_error_code() == c.VIR_ERR_CONFIG_UNSUPPORTED
        assert "graphics type 'spice'" in str(bad.value)
    finally:
        conn.close()


def test_embed_uri_needs_root() -> None:
    with pytest.raises(LibvirtError) as info:
        pyvirt.open("qemu:///embed")
    assert "root" in str(info.value)
