"""Live device changes with real QEMU (TCG): virtio disk hotplug/unplug."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu.driver import _STATES
from pyvirt.errors import LibvirtError


def domain_xml(guest: Any, name: str, console: Path) -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='{console}'/></serial></devices></domain>"""


def wait_until(pred: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(0.02)


def _qmp(root: Path, name: str, cmd: str) -> Any:
    vm = _STATES[root].doms[name].vm
    assert vm is not None
    return vm.execute(cmd)


def test_virtio_disk_hotplug_and_unplug(guest: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    console = tmp_path / "console.log"
    image = tmp_path / "extra.img"
    image.write_bytes(b"\0" * (1024 * 1024))
    disk = (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
            f"<source file='{image}'/><target dev='vdb' bus='virtio'/></disk>")
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    try:
        dom = conn.define_xml(domain_xml(guest, "h1", console))
        with pytest.raises(LibvirtError) as off:
            dom.attach_device_flags(disk, c.VIR_DOMAIN_AFFECT_LIVE)
        assert off.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID
        dom.create()
        wait_until(lambda: console.exists() and guest.ready_line in console.read_text(errors="replace"))

        dom.attach_device_flags(disk, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG)
        live = dom.xml_desc()
        assert "<target dev='vdb' bus='virtio'/>" in live and "<alias name='virtio-disk1'/>" in live
        assert "dev='vdb'" in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        assert "dev='vdb'" in (root / "etc" / "qemu" / "h1.xml").read_text()
        blocks = {b.get("qdev"): b for b in _qmp(root, "h1", "query-block")}
        plugged = [q for q in blocks if q and "virtio-disk1" in q]
        assert plugged and blocks[plugged[0]]["inserted"]["file"] == str(image)
        with pytest.raises(LibvirtError) as dup:
            dom.attach_device_flags(disk, c.VIR_DOMAIN_AFFECT_LIVE)
        assert "vdb already exists" in str(dup.value)

        dom.detach_device_flags(disk, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG)
        wait_until(lambda: "dev='vdb'" not in dom.xml_desc())  # the guest acknowledges the unplug
        nodes = {n["node-name"] for n in _qmp(root, "h1", "query-named-block-nodes")}
        assert not any(n.startswith("libvirt-") for n in nodes)
        assert not any(q and "virtio-disk1" in q for q in (b.get("qdev") for b in _qmp(root, "h1", "query-block")))
        assert "dev='vdb'" not in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        with pytest.raises(LibvirtError) as missing:
            dom.detach_device_flags(disk, c.VIR_DOMAIN_AFFECT_LIVE)
        assert missing.value.get_error_code() == c.VIR_ERR_DEVICE_MISSING

        q35 = conn.create_xml(domain_xml(guest, "h2", tmp_path / "c2.log").replace(
            "<type>hvm</type>", "<type machine='q35'>hvm</type>"), c.VIR_DOMAIN_START_PAUSED)
        # libvirt's define-time spare pcie-root-port takes the hot-plugged disk; then none is left
        ports = re.findall(r"<controller type='pci' index='(\d)' model='pcie-root-port'>", q35.xml_desc())
        busy = set(re.findall(r"<address type='pci' domain='0x0000' bus='0x0(\d)'", q35.xml_desc()))
        spare = sorted(set(ports) - busy)
        assert len(spare) == 1
        q35.attach_device_flags(disk, c.VIR_DOMAIN_AFFECT_LIVE)
        live = q35.xml_desc()
        m = re.search(r"<target dev='vdb' bus='virtio'/>.*?<address type='pci' domain='0x0000' bus='0x0(\d)' "
                      r"slot='0x00' function='0x0'/>", live, re.S)
        assert m and m.group(1) == spare[0]
        qdev = [b.get("qdev") for b in _STATES[root].doms["h2"].vm.execute("query-block")]  # type: ignore[union-attr]
        assert any(q and "virtio-disk1" in q for q in qdev)
        with pytest.raises(LibvirtError) as noport:
            q35.attach_device_flags(disk.replace("vdb", "vdc"), c.VIR_DOMAIN_AFFECT_LIVE)
        assert "No more available PCI slots" in str(noport.value)
        assert "dev='vdc'" not in q35.xml_desc()
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()


def test_balloon_set_memory(guest: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    console = tmp_path / "console.log"
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    try:
        dom = conn.define_xml(domain_xml(guest, "b1", console))
        dom.set_memory_flags(100 * 1024, c.VIR_DOMAIN_AFFECT_CONFIG)  # an inactive domain: config only
        assert "<currentMemory unit='KiB'>102400</currentMemory>" in dom.xml_desc()
        dom.set_memory_flags(128 * 1024, 0)  # current = config when shut off
        with pytest.raises(LibvirtError) as high:
            dom.set_memory_flags(256 * 1024, 0)
        assert high.value.get_error_code() == c.VIR_ERR_INVALID_ARG
        dom.create()
        wait_until(lambda: console.exists() and guest.ready_line in console.read_text(errors="replace"))
        with pytest.raises(LibvirtError) as maxi:
            dom.set_max_memory(256 * 1024)
        assert "cannot resize the maximum memory on an active domain" in str(maxi.value)

        changes: list[int] = []
        conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                                       lambda _c, _d, actual, _o: changes.append(actual), None)
        dom.set_memory_flags(96 * 1024, c.VIR_DOMAIN_AFFECT_LIVE)
        # the live value is the one asked for, or what QEMU's BALLOON_CHANGE events report on the way there
        wait_until(lambda: "<currentMemory unit='KiB'>98304</currentMemory>" in dom.xml_desc())
        assert "<currentMemory unit='KiB'>131072</currentMemory>" in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        # The guest's virtio_balloon driver gives the pages back; QEMU reports it with BALLOON_CHANGE.
        wait_until(lambda: _qmp(root, "b1", "query-balloon")["actual"] == 96 * 1024 * 1024)
        wait_until(lambda: bool(changes) and changes[-1] == 96 * 1024)

        dom.set_memory_flags(112 * 1024, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG)
        assert "<currentMemory unit='KiB'>114688</currentMemory>" in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        wait_until(lambda: bool(changes) and changes[-1] == 112 * 1024)
        assert "<currentMemory unit='KiB'>114688</currentMemory>" in dom.xml_desc()
        # The live XML follows what the guest really gave back (QEMU's event), as libvirt's does.
        vm = _STATES[root].doms["b1"].vm
        assert vm is not None
        vm._qmp_event("BALLOON_CHANGE", {"actual": 104 * 1024 * 1024}, 0.0)
        assert changes[-1] == 104 * 1024
        assert "<currentMemory unit='KiB'>106496</currentMemory>" in dom.xml_desc()
        dom.destroy()
        dom.set_max_memory(64 * 1024)  # shut off: the maximum shrinks and the current follows
        xml = dom.xml_desc()
        assert "<memory unit='KiB'>65536</memory>" in xml and "<currentMemory unit='KiB'>65536</currentMemory>" in xml

        nob = conn.create_xml(domain_xml(guest, "b2", tmp_path / "c2.log").replace(
            "</devices>", "<memballoon model='none'/></devices>"), c.VIR_DOMAIN_START_PAUSED)
        with pytest.raises(LibvirtError) as noballoon:
            nob.set_memory(64 * 1024)
        assert "without the balloon device" in str(noballoon.value)
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()
