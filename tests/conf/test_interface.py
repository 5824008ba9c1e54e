"""InterfaceDef against libvirt 9.0's test driver (tests/data/conf/interface)."""

from __future__ import annotations

import pytest

from pyvirt.conf.interface import InterfaceDef
from pyvirt.errors import LibvirtError

from oracle_xml import (DATA, cases, error_cases, golden, golden_error, oracle_conn, restore_default_interface,
                        saved_interface)

KIND = "interface"


def _libvirt(xml: str) -> str:
    conn = oracle_conn()
    name, saved = saved_interface(conn, xml)
    iface = conn.interfaceDefineXML(xml)
    try:
        return str(iface.XMLDesc(0))
    finally:
        iface.undefine()
        restore_default_interface(conn, name, saved)


def _libvirt_define(xml: str) -> None:
    _libvirt(xml)


@pytest.mark.parametrize("name", cases(KIND))
def test_golden(name: str) -> None:
    expected = golden(KIND, name, "out", _libvirt)
    out = InterfaceDef.parse((DATA / KIND / f"{name}-in.xml").read_text()).to_xml()
    assert out == expected
    assert InterfaceDef.parse(out).to_xml() == out


@pytest.mark.parametrize("name", error_cases(KIND))
def test_errors(name: str) -> None:
    expected = golden_error(KIND, name, _libvirt_define)
    with pytest.raises(LibvirtError) as info:
        InterfaceDef.parse((DATA / KIND / "errors" / f"{name}.xml").read_text())
    got = {"code": info.value.code, "domain": info.value.domain, "message": info.value.message}
    assert got == expected


def test_properties() -> None:
    iface = InterfaceDef.parse((DATA / KIND / "reordered-ethernet-in.xml").read_text())
    assert (iface.name, iface.type, iface.mac, iface.mtu, iface.start_mode) == \
        ("eth7", "ethernet", "aa:bb:cc:dd:ee:01", 9000, "hotplug")
    assert iface.protocols[0]["ips"] == [("10.0.0.5", 24)] and iface.protocols[0]["gateway"] == "10.0.0.1"
    assert iface.copy().to_xml() == iface.to_xml()


def test_from_element() -> None:
    from lxml import etree
    text = (DATA / KIND / "bridge-ports-in.xml").read_text()
    assert InterfaceDef.from_element(etree.fromstring(text.encode())).to_xml() == InterfaceDef.parse(text).to_xml()


def test_test_driver_default_interface_round_trip() -> None:
    xml = str(oracle_conn().interfaceLookupByName("eth1").XMLDesc(0))
    assert InterfaceDef.parse(xml).to_xml() == xml
