"""NetworkDef against libvirt 9.0's test driver (golden files in tests/data/conf/network)."""

from __future__ import annotations

import pytest

from pyvirt import constants as c
from pyvirt.conf.network import NetworkDef
from pyvirt.errors import LibvirtError

from oracle_xml import cases, error_cases, golden, golden_error, oracle_conn

KIND = "network"


def _libvirt_dump(xml: str) -> str:
    conn = oracle_conn()
    net = conn.networkDefineXML(xml)
    try:
        return str(net.XMLDesc(0))
    finally:
        net.undefine()


def _libvirt_define(xml: str) -> None:
    conn = oracle_conn()
    net = conn.networkDefineXML(xml)
    net.undefine()


@pytest.mark.parametrize("name", cases(KIND))
def test_golden(name: str) -> None:
    expected = golden(KIND, name, "out", _libvirt_dump)
    src = (golden.__globals__["DATA"] / KIND / f"{name}-in.xml").read_text()
    net = NetworkDef.parse(src)
    out = net.to_xml()
    if "<uuid>" not in src:  # generated UUIDs differ
        out = out.replace(net.uuid, _uuid_of(expected))
    assert out == expected
    # idempotent: formatting the output again gives the same text
    assert NetworkDef.parse(out).to_xml() == out


def _uuid_of(xml: str) -> str:
    return xml.split("<uuid>", 1)[1].split("</uuid>", 1)[0]


@pytest.mark.parametrize("name", error_cases(KIND))
def test_errors(name: str) -> None:
    expected = golden_error(KIND, name, _libvirt_define)
    src = (golden.__globals__["DATA"] / KIND / "errors" / f"{name}.xml").read_text()
    with pytest.raises(LibvirtError) as info:
        NetworkDef.parse(src)
    got = {"code": info.value.code, "domain": info.value.domain, "message": info.value.message}
    assert got == expected


def test_generated_uuid_and_defaults() -> None:
    net = NetworkDef.parse("<network><name>x</name><forward/><ip address='10.0.0.1' prefix='24'/></network>")
    assert len(net.uuid) == 36 and len(net.uuid_bytes) == 16
    assert net.forward_mode == "nat"
    assert "<bridge stp='on' delay='0'/>" in net.to_xml()


def test_properties_and_copy() -> None:
    net = NetworkDef.parse(
        "<network><name>n</name><uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>"
        "<ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>"
        "<range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>")
    assert net.name == "n" and net.forward_mode is None
    assert net.ips[0].netmask == "255.255.255.0" and net.ips[0].effective_prefix == 24
    assert net.ips[0].dhcp_ranges[0].start == "192.168.122.2"
    dup = net.copy()
    dup.bridge = "virbr9"
    assert net.bridge is None and dup.bridge == "virbr9"
    assert "<bridge name='virbr9' stp='on' delay='0'/>" in dup.to_xml()
    dup.connections = 3
    assert dup.to_xml().startswith("<network connections='3'>")
    assert dup.to_xml(inactive=True).startswith("<network>\n")


def test_error_classes() -> None:
    with pytest.raises(LibvirtError) as info:
        NetworkDef.parse("<network/>")
    assert info.value.code == c.VIR_ERR_NO_NAME


def test_test_driver_default_network_round_trip() -> None:
    xml = str(oracle_conn().networkLookupByName("default").XMLDesc(0))
    assert NetworkDef.parse(xml).to_xml() == xml
