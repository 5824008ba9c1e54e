"""virNetworkUpdate on a :class:`~pyvirt.conf.network.NetworkDef` (libvirt's virNetworkDefUpdateSection).

Supported sections, as in libvirt 9.0: ip-dhcp-host, ip-dhcp-range, forward-interface, portgroup,
dns-host, dns-txt and dns-srv; bridge, domain, ip, forward and forward-pf answer
"can't update '<section>' section of network '<name>'".
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Callable

from .. import constants as c
from ..errors import make_error
from .netcommon import E, parse_doc, parse_ip, parse_mac, prefix_of
from .xmlutil import Element

if TYPE_CHECKING:
    from .network import NetworkDef

__all__ = ["apply_update"]

DOM = c.VIR_FROM_NETWORK
ADD_FIRST, ADD_LAST = c.VIR_NETWORK_UPDATE_COMMAND_ADD_FIRST, c.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST
MODIFY, DELETE = c.VIR_NETWORK_UPDATE_COMMAND_MODIFY, c.VIR_NETWORK_UPDATE_COMMAND_DELETE
_UNSUPPORTED = {c.VIR_NETWORK_SECTION_BRIDGE: "bridge", c.VIR_NETWORK_SECTION_DOMAIN: "domain",
                c.VIR_NETWORK_SECTION_IP: "ip", c.VIR_NETWORK_SECTION_FORWARD: "forward",
                c.VIR_NETWORK_SECTION_FORWARD_PF: "forward pf"}


def _invalid(detail: str) -> Exception:
    return make_error(c.VIR_ERR_OPERATION_INVALID, detail, DOM)


def _unsupported(detail: str) -> Exception:
    return make_error(c.VIR_ERR_OPERATION_UNSUPPORTED, detail, DOM)


def _unknown(command: int) -> Exception:
    return _unsupported(f"unrecognized network update command code {command}")


def _check_name(net: "NetworkDef", node: Element, section: str) -> None:
    if node.tag != section:
        raise make_error(c.VIR_ERR_XML_ERROR, f"unexpected element <{node.tag}>, expecting <{section}>, "
                         f"while updating network '{net.name}'", DOM)


def _addr(ip: Element) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(ip.get("address", ""))


def _has_dhcp(ip: Element) -> bool:
    return bool(ip.findall("dhcp/range") or ip.findall("dhcp/host"))


def _ip_by_index(net: "NetworkDef", index: int) -> Element:
    ips = net.root.findall("ip")
    if index >= 0:
        if index >= len(ips):
            raise _invalid(f"couldn't update dhcp host entry - no <ip> element found at index {index} in "
                           f"network '{net.name}'")
        return ips[index]
    for ip in ips:
        if _has_dhcp(ip):
            return ip
    for version in (4, 6):
        for ip in ips:
            if _addr(ip).version == version:
                return ip
    raise _invalid(f"couldn't update dhcp host entry - no <ip> element found in network '{net.name}'")


def _check_multi_dhcp(net: "NetworkDef", ipdef: Element) -> None:
    version = _addr(ipdef).version
    for ip in net.root.findall("ip"):
        if ip is not ipdef and _addr(ip).version == version and _has_dhcp(ip):
            raise _invalid(f"dhcp is supported only for a single {'IPv4' if version == 4 else 'IPv6'} "
                           "address on each network")


def _dhcp_of(ip: Element) -> Element:
    dhcp = ip.find("dhcp")
    if dhcp is None:
        dhcp = E("dhcp")
        ip.append(dhcp)
    return dhcp


def _insert(parent: Element, elem: Element, siblings: list[Element], first: bool, after: tuple[str, ...]) -> None:
    """Insert *elem* first or last among *siblings* (same tag) in *parent*; if none, after tags *after*."""
    if siblings:
        anchor = siblings[0] if first else siblings[-1]
        pos = list(parent).index(anchor) + (0 if first else 1)
    else:
        pos = 0
        for i, child in enumerate(parent):
            if child.tag in after:
                pos = i + 1
    parent.insert(pos, elem)


def _same_mac(a: str | None, b: str | None) -> bool:
    return bool(a and b and parse_mac(a) == parse_mac(b))


def _same_ip(a: str | None, b: str | None) -> bool:
    pa, pb = parse_ip(a), parse_ip(b)
    return pa is not None and pa == pb


def _dhcp_host(net: "NetworkDef", command: int, index: int, node: Element) -> None:
    from .network_elems import dhcp_host
    _check_name(net, node, "host")
    ipdef = _ip_by_index(net, index)
    partial = command == DELETE
    host = dhcp_host(net.name, _addr(ipdef), node, partial)
    hip = host.get("ip")
    if not partial and (hip is None or ipaddress.ip_address(hip).version != _addr(ipdef).version):
        raise _invalid("the address family of a host entry IP must match the address family of the dhcp "
                       "element's parent")
    hosts = ipdef.findall("dhcp/host")
    mac, name = host.get("mac"), host.get("name")
    if command == MODIFY:
        for old in hosts:
            if _same_mac(mac, old.get("mac")) or _same_ip(hip, old.get("ip")) or \
                    (name and name == old.get("name")):
                parent = old.getparent()
                assert parent is not None
                parent.replace(old, host)
                return
        raise _invalid(f"couldn't locate an existing dhcp host entry with \"mac='{mac or 'unknown'}'\" "
                       f"\"name='{name or '(null)'}'\" \"ip='{hip or 'unknown'}'\" in network '{net.name}'")
    if command in (ADD_FIRST, ADD_LAST):
        _check_multi_dhcp(net, ipdef)
        for old in hosts:
            if _same_mac(mac, old.get("mac")) or (name and name == old.get("name")) or \
                    _same_ip(hip, old.get("ip")):
                raise _invalid(f"there is an existing dhcp host entry in network '{net.name}' that matches "
                               f"\"<host mac='{mac or 'unknown'}' name='{name or '(null)'}' "
                               f"ip='{hip or 'unknown'}'/>\"")
        _insert(_dhcp_of(ipdef), host, hosts, command == ADD_FIRST, ("range",))
        return
    if command == DELETE:
        for old in hosts:
            if (not mac or not old.get("mac") or _same_mac(mac, old.get("mac"))) and \
                    (not name or name == old.get("name")) and (not hip or _same_ip(hip, old.get("ip"))):
                parent = old.getparent()
                assert parent is not None
                parent.remove(old)
                return
        raise _invalid(f"couldn't locate a matching dhcp host entry in network '{net.name}'")
    raise _unknown(command)


def _dhcp_range(net: "NetworkDef", command: int, index: int, node: Element) -> None:
    from .network_elems import dhcp_range
    _check_name(net, node, "range")
    ipdef = _ip_by_index(net, index)
    if command == MODIFY:
        raise _unsupported("dhcp ranges cannot be modified, only added or deleted")
    addr = _addr(ipdef)
    mask = ipdef.get("netmask")
    prefix = prefix_of(addr, ipaddress.IPv4Address(mask) if mask else None, int(ipdef.get("prefix", "0")) or None)
    rng = dhcp_range(net.name, addr, prefix, node)
    if ipaddress.ip_address(rng.get("start", "")).version != addr.version:
        raise _invalid("the address family of a dhcp range must match the address family of the dhcp "
                       "element's parent")
    ranges = ipdef.findall("dhcp/range")
    found = next((r for r in ranges if _same_ip(r.get("start"), rng.get("start"))
                  and _same_ip(r.get("end"), rng.get("end"))), None)
    if command in (ADD_FIRST, ADD_LAST):
        _check_multi_dhcp(net, ipdef)
        if found is not None:
            raise _invalid(f"there is an existing dhcp range entry in network '{net.name}' that matches "
                           f"\"<range start='{rng.get('start')}' end='{rng.get('end')}'/>\"")
        _insert(_dhcp_of(ipdef), rng, ranges, command == ADD_FIRST, ())
        return
    if command == DELETE:
        if found is None:
            raise _invalid(f"couldn't locate a matching dhcp range entry in network '{net.name}'")
        parent = found.getparent()
        assert parent is not None
        parent.remove(found)
        return
    raise _unknown(command)


def _forward_interface(net: "NetworkDef", command: int, index: int, node: Element) -> None:
    _check_name(net, node, "interface")
    if command == MODIFY:
        raise _unsupported("forward interface entries cannot be modified, only added or deleted")
    dev = node.get("dev")
    if not dev:
        raise make_error(c.VIR_ERR_XML_ERROR, "missing dev attribute in <interface> element", DOM)
    fwd = net.root.find("forward")
    ifaces = fwd.findall("interface") if fwd is not None else []
    found = next((i for i in ifaces if i.get("dev") == dev), None)
    if command in (ADD_FIRST, ADD_LAST):
        if found is not None:
            raise _invalid(f"there is an existing interface entry in network '{net.name}' that matches "
                           f"\"<interface dev='{dev}'>\"")
        if fwd is not None:
            _insert(fwd, E("interface", ("dev", dev)), ifaces, command == ADD_FIRST, ("driver", "nat", "pf"))
    elif command == DELETE:
        if found is None or fwd is None:
            raise _invalid(f"couldn't find an interface entry in network '{net.name}' matching "
                           f"<interface dev='{dev}'>")
        conns = int(found.get("connections", "0"))
        if conns > 0:
            raise _invalid(f"unable to delete interface '{dev}' in network '{net.name}'. It is currently being "
                           f"used  by {conns} domains.")
        fwd.remove(found)
    else:
        raise _unknown(command)
    if fwd is not None and fwd.find("pf") is None:
        first = fwd.find("interface")
        mode = fwd.get("mode", "")
        others = {k: v for k, v in fwd.attrib.items() if k not in ("dev", "mode")}
        fwd.attrib.clear()
        if first is not None:
            fwd.set("dev", first.get("dev", ""))
        fwd.set("mode", mode)
        for k, v in others.items():
            fwd.set(k, v)


def _portgroup(net: "NetworkDef", command: int, index: int, node: Element) -> None:
    from .network_elems import portgroup_element as parse_portgroup
    _check_name(net, node, "portgroup")
    pg = parse_portgroup(node)
    name = pg.get("name")
    groups = net.root.findall("portgroup")
    found = next((g for g in groups if g.get("name") == name), None)
    default = next((g for g in groups if g.get("default") == "yes"), None)
    if found is None and command in (MODIFY, DELETE):
        raise _invalid(f"couldn't find a portgroup entry in network '{net.name}' matching "
                       f"<portgroup name='{name}'>")
    if found is not None and command in (ADD_FIRST, ADD_LAST):
        raise _invalid(f"there is an existing portgroup entry in network '{net.name}' that matches "
                       f"\"<portgroup name='{name}'>\"")
    if command != DELETE and pg.get("default") == "yes" and default is not None and default is not found:
        raise _invalid(f"a different portgroup entry in network '{net.name}' is already set as the default. "
                       "Only one default is allowed.")
    if command == MODIFY:
        assert found is not None
        net.root.replace(found, pg)
    elif command in (ADD_FIRST, ADD_LAST):
        _insert(net.root, pg, groups, command == ADD_FIRST, _BEFORE_PORTGROUP)
    elif command == DELETE:
        assert found is not None
        net.root.remove(found)
    else:
        raise _unknown(command)


_BEFORE_PORTGROUP = ("name", "uuid", "metadata", "forward", "bridge", "mtu", "mac", "domain", "dns", "vlan",
                     "bandwidth", "port", "ip", "route", "virtualport")
_BEFORE_DNS = ("name", "uuid", "metadata", "forward", "bridge", "mtu", "mac", "domain")


def _dns(net: "NetworkDef") -> Element:
    dns = net.root.find("dns")
    if dns is None:
        dns = E("dns")
        _insert(net.root, dns, [], False, _BEFORE_DNS)
    return dns


def _dns_host(net: "NetworkDef", command: int, index: int, node: Element) -> None:
    from .network_elems import dns_host
    is_add = command in (ADD_FIRST, ADD_LAST)
    if command == MODIFY:
        raise _unsupported("DNS HOST records cannot be modified, only added or deleted")
    _check_name(net, node, "host")
    host = dns_host(net.name, node, partial=not is_add)
    dns = _dns(net)
    hosts = dns.findall("host")
    names = [h.text for h in host.findall("hostname")]
    found = []
    for old in hosts:
        hit = _same_ip(host.get("ip"), old.get("ip"))
        if not is_add and not hit:
            hit = any(n == o.text for n in names for o in old.findall("hostname"))
        if hit:
            found.append(old)
    if is_add:
        if found:
            raise _invalid(f"there is already at least one DNS HOST record with a matching field in network "
                           f"{net.name}")
        _insert(dns, host, hosts, command == ADD_FIRST, ("forwarder", "txt", "srv"))
    elif command == DELETE:
        if not found:
            raise _invalid(f"couldn't locate a matching DNS HOST record in network {net.name}")
        if len(found) > 1:
            raise _invalid(f"multiple matching DNS HOST records were found in network {net.name}")
        dns.remove(found[0])
    else:
        raise _unknown(command)


def _dns_srv(net: "NetworkDef", command: int, index: int, node: Element) -> None:
    from .network_elems import dns_srv
    is_add = command in (ADD_FIRST, ADD_LAST)
    if command == MODIFY:
        raise _unsupported("DNS SRV records cannot be modified, only added or deleted")
    _check_name(net, node, "srv")
    srv = dns_srv(net.name, node, partial=not is_add)
    dns = _dns(net)
    srvs = dns.findall("srv")
    found = [old for old in srvs
             if all(srv.get(k) is None or srv.get(k) == old.get(k) for k in ("domain", "service", "protocol",
                                                                            "target"))]
    if is_add:
        if found:
            raise _invalid(f"there is already at least one DNS SRV record matching all specified fields in "
                           f"network {net.name}")
        _insert(dns, srv, srvs, command == ADD_FIRST, ("forwarder", "txt"))
    elif command == DELETE:
        if not found:
            raise _invalid(f"couldn't locate a matching DNS SRV record in network {net.name}")
        if len(found) > 1:
            raise _invalid(f"multiple DNS SRV records matching all specified fields were found in network "
                           f"{net.name}")
        dns.remove(found[0])
    else:
        raise _unknown(command)


def _dns_txt(net: "NetworkDef", command: int, index: int, node: Element) -> None:
    from .network_elems import dns_txt
    is_add = command in (ADD_FIRST, ADD_LAST)
    if command == MODIFY:
        raise _unsupported("DNS TXT records cannot be modified, only added or deleted")
    _check_name(net, node, "txt")
    txt = dns_txt(net.name, node, partial=not is_add)
    dns = _dns(net)
    txts = dns.findall("txt")
    found = next((t for t in txts if t.get("name") == txt.get("name")), None)
    if is_add:
        if found is not None:
            raise _invalid(f"there is already a DNS TXT record with name '{txt.get('name')}' in network "
                           f"{net.name}")
        _insert(dns, txt, txts, command == ADD_FIRST, ("forwarder",))
    elif command == DELETE:
        if found is None:
            raise _invalid(f"couldn't locate a matching DNS TXT record in network {net.name}")
        dns.remove(found)
    else:
        raise _unknown(command)


_SECTIONS: dict[int, Callable[["NetworkDef", int, int, Element], None]] = {
    c.VIR_NETWORK_SECTION_IP_DHCP_HOST: _dhcp_host,
    c.VIR_NETWORK_SECTION_IP_DHCP_RANGE: _dhcp_range,
    c.VIR_NETWORK_SECTION_FORWARD_INTERFACE: _forward_interface,
    c.VIR_NETWORK_SECTION_PORTGROUP: _portgroup,
    c.VIR_NETWORK_SECTION_DNS_HOST: _dns_host,
    c.VIR_NETWORK_SECTION_DNS_TXT: _dns_txt,
    c.VIR_NETWORK_SECTION_DNS_SRV: _dns_srv,
}


def apply_update(net: "NetworkDef", command: int, section: int, parent_index: int, xml: str) -> None:
    """Change *net* in place; on error *net* is unchanged."""
    node = parse_doc(xml, None, "network_update_xml", DOM)
    if section in _UNSUPPORTED:
        raise _unsupported(f"can't update '{_UNSUPPORTED[section]}' section of network '{net.name}'")
    handler = _SECTIONS.get(section)
    if handler is None:
        raise _unsupported("can't update unrecognized section of network")
    work = net.copy()
    handler(work, command, parent_index, node)
    net.root = work.root
