"""Persistent-config device and vCPU changes of the QEMU driver (no guest needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.errors import LibvirtError

Q35 = """<domain type='qemu'><name>q</name><memory unit='MiB'>64</memory><vcpu current='1'>2</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>
<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>
</devices></domain>"""


def _ports(xml: str) -> list[str]:
    return re.findall(r"<controller type='pci' index='(\d+)' model='pcie-root-port'>", xml)


def test_config_changes_on_q35(tmp_path: Path) -> None:
    with pyvirt.open(f"qemu:///embed?root={tmp_path}") as conn:
        dom = conn.define_xml(Q35)
        xml = dom.xml_desc()
        assert _ports(xml) == ["1", "2", "3", "4"]  # net, xhci, balloon and libvirt's spare
        assert "<target chassis='1' port='0x8'/>" in xml
        assert "function='0x0' multifunction='on'/>" in xml
        nic = "<interface type='user'><mac address='52:54:00:00:00:0{}'/><model type='virtio'/></interface>"
        dom.attach_device_flags(nic.format(2), c.VIR_DOMAIN_AFFECT_CONFIG)  # takes the spare
        assert _ports(dom.xml_desc()) == ["1", "2", "3", "4"]
        dom.attach_device_flags(nic.format(3), 0)  # shut off: the config; a new port, no new spare
        assert _ports(dom.xml_desc()) == ["1", "2", "3", "4", "5"]
        assert "<target chassis='5' port='0xc'/>" in dom.xml_desc()
        # a conventional PCI NIC: a pcie-to-pci-bridge behind the root port the NIC's turn comes to
        # (the config keeps no device addresses: ports are taken in device order), one more port
        dom.attach_device_flags("<interface type='user'><model type='e1000'/></interface>",
                                c.VIR_DOMAIN_AFFECT_CONFIG)
        xml = dom.xml_desc()
        # three virtio NICs take ports 1-3, the bridge (index 6) port 4, xhci 5, the balloon a new port 7
        assert _ports(xml) == ["1", "2", "3", "4", "5", "7"]
        assert re.search(r"<controller type='pci' index='6' model='pcie-to-pci-bridge'>\s*<model name='pcie-pci-bridge'/>"
                         r"\s*<address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>", xml)
        assert dom.xml_desc().count("<interface") == 4
        with pytest.raises(LibvirtError) as uhci:
            dom.attach_device_flags("<controller type='usb' index='1' model='piix3-uhci'/>", c.VIR_DOMAIN_AFFECT_CONFIG)
        assert uhci.value.get_error_code() in (c.VIR_ERR_CONFIG_UNSUPPORTED, c.VIR_ERR_OPERATION_UNSUPPORTED)

        dom.detach_device_flags(nic.format(2), c.VIR_DOMAIN_AFFECT_CONFIG)
        assert "52:54:00:00:00:02" not in dom.xml_desc()
        with pytest.raises(LibvirtError) as missing:
            dom.detach_device_flags(nic.format(2), c.VIR_DOMAIN_AFFECT_CONFIG)
        assert missing.value.get_error_code() == c.VIR_ERR_DEVICE_MISSING

        with pytest.raises(LibvirtError) as live:
            dom.attach_device_flags(nic.format(4), c.VIR_DOMAIN_AFFECT_LIVE)
        assert live.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID

        with pytest.raises(LibvirtError) as down:
            dom.update_device_flags(nic.format(1).replace("</interface>", "<link state='down'/></interface>"),
                                    c.VIR_DOMAIN_AFFECT_CONFIG)
        assert down.value.get_error_code() == c.VIR_ERR_CONFIG_UNSUPPORTED
        dom.update_device_flags(nic.format(1).replace("</interface>", "<link state='up'/></interface>"),
                                c.VIR_DOMAIN_AFFECT_CONFIG)
        assert "<link state='up'/>" in dom.xml_desc()


def test_setvcpus_config_errors(tmp_path: Path) -> None:
    with pyvirt.open(f"qemu:///embed?root={tmp_path}") as conn:
        dom = conn.define_xml(Q35.replace("<os>", "<cpu><topology sockets='1' dies='1' cores='2' threads='1'/></cpu><os>"))
        with pytest.raises(LibvirtError) as topo:
            dom.set_vcpus_flags(3, c.VIR_DOMAIN_AFFECT_CONFIG | c.VIR_DOMAIN_VCPU_MAXIMUM)
        assert "CPU topology doesn't match the desired vcpu count" in str(topo.value)
        with pytest.raises(LibvirtError) as high:
            dom.set_vcpus_flags(3, c.VIR_DOMAIN_AFFECT_CONFIG)
        assert ("requested vcpus is greater than max allowable vcpus for the persistent domain: 3 > 2"
                in str(high.value))
        with pytest.raises(LibvirtError) as zero:
            dom.set_vcpus_flags(0, c.VIR_DOMAIN_AFFECT_CONFIG)
        assert "nvcpus in virDomainSetVcpusFlags must not be zero" in str(zero.value)
        with pytest.raises(LibvirtError) as guest:
            dom.set_vcpus_flags(1, c.VIR_DOMAIN_VCPU_GUEST | c.VIR_DOMAIN_AFFECT_CONFIG)
        assert "mutually exclusive" in str(guest.value)
        with pytest.raises(LibvirtError) as off:
            dom.set_vcpus_flags(1, c.VIR_DOMAIN_AFFECT_LIVE)
        assert off.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID
        with pytest.raises(LibvirtError) as flags:
            dom.set_vcpus_flags(1, 1 << 10)
        assert "unsupported flags (0x400) in function qemuDomainSetVcpusFlags" in str(flags.value)
        dom.set_vcpus_flags(2, 0)
        assert dom.vcpus_flags(c.VIR_DOMAIN_AFFECT_CONFIG) == 2
        assert "<vcpu placement='static'>2</vcpu>" in dom.xml_desc()
