"""NetworkDef.update against libvirt 9.0's virNetworkUpdate on the test driver.

Each case updates the network of an input file; libvirt's resulting XML (or error) is stored in
tests/data/conf/network/updates.json (PYVIRT_REGEN=1 re-runs libvirt).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from pyvirt import constants as c
from pyvirt.conf.network import NetworkDef
from pyvirt.errors import LibvirtError

from oracle_xml import DATA, REGEN, oracle_conn

FIRST, LAST = c.VIR_NETWORK_UPDATE_COMMAND_ADD_FIRST, c.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST
MODIFY, DELETE = c.VIR_NETWORK_UPDATE_COMMAND_MODIFY, c.VIR_NETWORK_UPDATE_COMMAND_DELETE
HOST, RANGE = c.VIR_NETWORK_SECTION_IP_DHCP_HOST, c.VIR_NETWORK_SECTION_IP_DHCP_RANGE
DNSHOST, TXT, SRV = c.VIR_NETWORK_SECTION_DNS_HOST, c.VIR_NETWORK_SECTION_DNS_TXT, c.VIR_NETWORK_SECTION_DNS_SRV
PG, FWDIF = c.VIR_NETWORK_SECTION_PORTGROUP, c.VIR_NETWORK_SECTION_FORWARD_INTERFACE

# (name, base input, command, section, parent index, xml)
CASES: list[tuple[str, str, int, int, int, str]] = [
    ("host-add-last", "nat-network", LAST, HOST, -1,
     "<host mac='00:16:3e:77:e2:ee' name='c.example.com' ip='192.168.122.12'/>"),
    ("host-add-first", "nat-network", FIRST, HOST, 0, "<host mac='00:16:3e:77:e2:ef' ip='192.168.122.13'/>"),
    ("host-add-dup", "nat-network", LAST, HOST, -1,
     "<host mac='00:16:3E:77:E2:ED' name='x' ip='192.168.122.99'/>"),
    ("host-modify", "nat-network", MODIFY, HOST, -1,
     "<host mac='00:16:3e:77:e2:ed' name='a2.example.com' ip='192.168.122.20'/>"),
    ("host-modify-missing", "nat-network", MODIFY, HOST, -1,
     "<host mac='00:16:3e:00:00:01' ip='192.168.122.77'/>"),
    ("host-delete", "nat-network", DELETE, HOST, -1, "<host name='b.example.com'/>"),
    ("host-delete-missing", "nat-network", DELETE, HOST, -1, "<host name='zzz'/>"),
    ("host-bad-index", "nat-network", LAST, HOST, 9, "<host mac='00:16:3e:77:e2:ee' ip='192.168.122.12'/>"),
    ("host-wrong-element", "nat-network", LAST, HOST, -1, "<range start='192.168.122.2' end='192.168.122.3'/>"),
    ("host-second-ip", "nat-network", LAST, HOST, 1, "<host mac='00:16:3e:77:e2:ee' ip='192.168.123.12'/>"),
    ("host-to-empty", "isolated-network", LAST, HOST, -1, "<host mac='00:16:3e:77:e2:ee' ip='192.168.152.12'/>"),
    ("range-add", "nat-network", FIRST, RANGE, -1, "<range start='192.168.122.100' end='192.168.122.110'/>"),
    ("range-dup", "nat-network", LAST, RANGE, -1, "<range start='192.168.122.2' end='192.168.122.254'/>"),
    ("range-delete", "nat-network", DELETE, RANGE, -1, "<range start='192.168.122.2' end='192.168.122.254'/>"),
    ("range-modify", "nat-network", MODIFY, RANGE, -1, "<range start='192.168.122.2' end='192.168.122.254'/>"),
    ("range-outside", "nat-network", LAST, RANGE, -1, "<range start='10.0.0.2' end='10.0.0.9'/>"),
    ("dnshost-add", "nat-network-dns-hosts", LAST, DNSHOST, -1,
     "<host ip='192.168.122.50'><hostname>new</hostname></host>"),
    ("dnshost-add-dup", "nat-network-dns-hosts", FIRST, DNSHOST, -1,
     "<host ip='192.168.122.1'><hostname>x</hostname></host>"),
    ("dnshost-delete", "nat-network-dns-hosts", DELETE, DNSHOST, -1, "<host ip='192.168.122.1'/>"),
    ("dnshost-to-empty", "nat-network", LAST, DNSHOST, -1,
     "<host ip='192.168.122.50'><hostname>new</hostname></host>"),
    ("txt-add", "nat-network-dns-txt-record", FIRST, TXT, -1, "<txt name='second' value='2'/>"),
    ("txt-add-dup", "nat-network-dns-txt-record", LAST, TXT, -1, "<txt name='example' value='x'/>"),
    ("txt-delete", "nat-network-dns-txt-record", DELETE, TXT, -1, "<txt name='example'/>"),
    ("txt-modify", "nat-network-dns-txt-record", MODIFY, TXT, -1, "<txt name='example' value='x'/>"),
    ("srv-add", "nat-network-dns-srv-record", LAST, SRV, -1, "<srv service='ldap' protocol='tcp'/>"),
    ("srv-delete", "nat-network-dns-srv-records", DELETE, SRV, -1,
     "<srv service='name' protocol='tcp' domain='test-domain-name' target='.'/>"),
    ("srv-delete-multi", "nat-network-dns-srv-records", DELETE, SRV, -1, "<srv service='name'/>"),
    ("pg-add", "8021Qbh-net", LAST, PG, -1, "<portgroup name='extra'><vlan><tag id='7'/></vlan></portgroup>"),
    ("pg-add-default", "8021Qbh-net", FIRST, PG, -1, "<portgroup name='extra' default='yes'/>"),
    ("pg-modify", "8021Qbh-net", MODIFY, PG, -1,
     "<portgroup name='engineering'><bandwidth><inbound average='10'/></bandwidth></portgroup>"),
    ("pg-delete", "8021Qbh-net", DELETE, PG, -1, "<portgroup name='engineering'/>"),
    ("fwdif-add", "direct-net", FIRST, FWDIF, -1, "<interface dev='eth9'/>"),
    ("fwdif-delete", "passthrough-pf", DELETE, FWDIF, -1, "<interface dev='eth10'/>"),
    ("fwdif-delete-first", "direct-net", DELETE, FWDIF, -1, "<interface dev='eth10'/>"),
    ("bridge-unsupported", "nat-network", MODIFY, c.VIR_NETWORK_SECTION_BRIDGE, -1, "<bridge name='x'/>"),
    ("ip-unsupported", "nat-network", LAST, c.VIR_NETWORK_SECTION_IP, -1, "<ip address='10.1.1.1'/>"),
]
GOLDEN = DATA / "network" / "updates.json"


def _libvirt(base: str, command: int, section: int, index: int, xml: str) -> dict[str, Any]:
    import libvirt
    conn = oracle_conn()
    net = conn.networkDefineXML((DATA / "network" / f"{base}-in.xml").read_text())
    try:
        net.update(command, section, index, xml, libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG)
        return {"xml": net.XMLDesc(0)}  # the test driver refuses VIR_NETWORK_XML_INACTIVE
    except libvirt.libvirtError as exc:
        return {"code": exc.get_error_code(), "domain": exc.get_error_domain(), "message": exc.get_error_message()}
    finally:
        net.undefine()


def _expected() -> dict[str, dict[str, Any]]:
    if REGEN or not GOLDEN.exists():
        data = {case[0]: _libvirt(*case[1:]) for case in CASES}
        GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    result: dict[str, dict[str, Any]] = json.loads(GOLDEN.read_text())
    return result


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_update(case: tuple[str, str, int, int, int, str]) -> None:
    name, base, command, section, index, xml = case
    expected = _expected()[name]
    net = NetworkDef.parse((DATA / "network" / f"{base}-in.xml").read_text())
    before = net.to_xml()
    try:
        net.update(command, section, index, xml)
    except LibvirtError as exc:
        assert {"code": exc.code, "domain": exc.domain, "message": exc.message} == expected
        assert net.to_xml() == before  # failed updates leave the definition alone
    else:
        assert "xml" in expected, expected
        assert net.to_xml(inactive=True) == expected["xml"]
