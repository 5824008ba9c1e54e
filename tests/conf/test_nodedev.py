"""NodeDeviceDef against libvirt 9.0's test driver (tests/data/conf/nodedev).

Golden outputs come from a ``test:///<file>`` connection whose node file holds the device:
the test driver parses it like any existing device and ``nodedev-dumpxml`` prints it back.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from pyvirt.conf.nodedev import NodeDeviceDef
from pyvirt.errors import LibvirtError

from oracle_xml import DATA, cases, error_cases, golden, golden_error, oracle_conn

KIND = "nodedev"


def _libvirt(xml: str) -> str:
    import libvirt
    from lxml import etree
    with tempfile.TemporaryDirectory() as tmp:
        node = Path(tmp) / "node.xml"
        node.write_text(f"<node>\n{xml}\n</node>\n")
        conn = libvirt.open(f"test://{node}")
        name = etree.fromstring(xml.encode()).findtext("name")
        return str(conn.nodeDeviceLookupByName(name).XMLDesc(0))


def _libvirt_create(xml: str) -> None:
    oracle_conn().nodeDeviceCreateXML(xml, 0)


@pytest.mark.parametrize("name", cases(KIND))
def test_golden(name: str) -> None:
    expected = golden(KIND, name, "out", _libvirt)
    dev = NodeDeviceDef.parse((DATA / KIND / f"{name}-in.xml").read_text())
    if name == "hba_vport_ops":  # the test driver does not fill vport counts for file devices
        dev.set_vports(0, 0)
    out = dev.to_xml()
    assert out == expected
    assert NodeDeviceDef.parse(out).to_xml() == out


@pytest.mark.parametrize("name", error_cases(KIND))
def test_errors(name: str) -> None:
    expected = golden_error(KIND, name, _libvirt_create)
    with pytest.raises(LibvirtError) as info:
        NodeDeviceDef.parse((DATA / KIND / "errors" / f"{name}.xml").read_text(), create=True)
    got = {"code": info.value.code, "domain": info.value.domain, "message": info.value.message}
    assert got == expected


def test_properties() -> None:
    dev = NodeDeviceDef.parse((DATA / KIND / "pci_8086_27c5_scsi_host_scsi_host-in.xml").read_text())
    assert dev.caps == ["scsi_host"] and dev.parent == "pci_8086_27c5_scsi_host"
    dup = dev.copy()
    dup.name = "scsi_host9"
    dup.parent = "computer"
    assert dev.name != dup.name and "<parent>computer</parent>" in dup.to_xml()
    hba = NodeDeviceDef.parse((DATA / KIND / "hba_vport_ops-in.xml").read_text())
    assert hba.caps == ["scsi_host"] and hba.all_caps == ["scsi_host", "fc_host", "vports"]
    assert hba.has_cap("vports") and not hba.has_cap("pci")
    vhba = NodeDeviceDef.parse("<device><parent wwnn='20000000c9831b4b' wwpn='10000000c9831b4b'/>"
                               "<capability type='scsi_host'><capability type='fc_host'><wwnn>2001</wwnn>"
                               "<wwpn>1001</wwpn></capability></capability></device>", create=True)
    assert vhba.name == "new device" and vhba.parent_wwnn == "20000000c9831b4b"


def test_test_driver_default_devices_round_trip() -> None:
    """The devices of libvirt's test:///default parse and print back exactly (vport counts are live data)."""
    import re
    conn = oracle_conn()
    for name in ("computer", "scsi_host1", "scsi_host2", "scsi_host11"):
        dev = conn.nodeDeviceLookupByName(name)
        xml = str(dev.XMLDesc(0))
        parsed = NodeDeviceDef.parse(xml)
        counts = re.search(r"<max_vports>(\d+)</max_vports>\s*<vports>(\d+)</vports>", xml)
        if counts:
            parsed.set_vports(int(counts.group(1)), int(counts.group(2)))
        assert parsed.to_xml() == xml
        assert parsed.caps == dev.listCaps()
