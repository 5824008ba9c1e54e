"""Re-attaching to running guests whose devices carry PCI addresses (virtio disks)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from lxml import etree

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu.domain import disk_alias


def test_disk_alias_ignores_pci_addresses() -> None:
    virtio = etree.fromstring("<disk type='file' device='disk'><target dev='vdb' bus='virtio'/>"
                              "<address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/></disk>")
    assert disk_alias(virtio) == "virtio-disk1"
    ide = etree.fromstring("<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/>"
                           "<address type='drive' controller='0' bus='1' target='0' unit='0'/></disk>")
    assert disk_alias(ide) == "ide0-1-0"


def test_reattach_to_a_guest_with_a_virtio_disk(guest: Any, tmp_path: Path) -> None:
    disk = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    uri = f"qemu:///embed?root={tmp_path / 'root'}"
    xml = f"""<domain type='qemu'><name>vd</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>"""
    conn = pyvirt.open(uri)
    dom = conn.create_xml(xml, 0)
    try:
        assert "<address type='pci'" in dom.xml_desc()
        conn.close()
        conn = pyvirt.open(uri)  # a fresh driver re-reads the live status of the running guest
        again = conn.lookup_by_name("vd")
        assert again.is_active() and again.state()[0] == c.VIR_DOMAIN_RUNNING
        assert "<alias name='virtio-disk0'/>" in again.xml_desc()
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any((tmp_path / "root" / "run" / "qemu").glob("*")):
        time.sleep(0.05)
