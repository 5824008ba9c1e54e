"""libvirt's virtual network XML (``<network>``): parse, validate, fill defaults, format.

``NetworkDef.parse`` checks the document as libvirt 9.0's network_conf.c does
(same error codes and wording), generates a UUID when none is given, and keeps
a canonical lxml tree in libvirt's element and attribute order; ``to_xml``
prints what ``virsh net-dumpxml`` prints.
"""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field
from typing import Iterator

from lxml import etree

from .. import constants as c
from ..errors import make_error
from .netcommon import (add, strtoui, attrs_of, copy_metadata, drop_attr, E, format_bandwidth, format_doc, format_ip,
                        format_pci_address, format_virtualport, format_vlan, keep_open, mac_is_multicast,
                        new_uuid, parse_doc, parse_int, parse_ip, parse_mac, parse_uint, parse_uuid,
                        prefix_of, tristate, xml_err, XMLModel, xs)
from .xmlutil import Element

__all__ = ["NetworkDef", "NetworkIP", "DHCPRange", "FORWARD_MODES"]

DOM = c.VIR_FROM_NETWORK
FORWARD_MODES = ("none", "nat", "route", "open", "bridge", "private", "vepa", "passthrough", "hostdev")
_L3_MODES = ("nat", "route", "open")
IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address


def _err(detail: str, code: int = c.VIR_ERR_XML_ERROR) -> Exception:
    return xml_err(detail, DOM, code)


@dataclass
class DHCPRange:
    """One ``<range start end>`` of an IP's DHCP section."""

    start: str
    end: str


@dataclass
class NetworkIP:
    """A view of one ``<ip>`` element."""

    address: str
    netmask: str | None
    prefix: int | None
    family: str | None
    dhcp_ranges: list[DHCPRange] = field(default_factory=list)
    dhcp_hosts: list[dict[str, str]] = field(default_factory=list)

    @property
    def effective_prefix(self) -> int:
        """The prefix length libvirt uses (from netmask, prefix or address class)."""
        addr = ipaddress.ip_address(self.address)
        mask = ipaddress.IPv4Address(self.netmask) if self.netmask else None
        return prefix_of(addr, mask, self.prefix)


# ---------------------------------------------------------------- parsing pieces

def _range_check(start: IPAddr, end: IPAddr, net: IPAddr | None, prefix: int) -> None:
    """virSocketAddrGetRange's checks (errors in VIR_FROM_NONE, as libvirt reports them)."""
    try:
        _range_check1(start, end, net, prefix)
    except Exception as exc:
        exc.domain = c.VIR_FROM_NONE  # type: ignore[attr-defined]
        raise


def _range_check1(start: IPAddr, end: IPAddr, net: IPAddr | None, prefix: int) -> None:
    s, e = format_ip(start), format_ip(end)
    if start.version != end.version:
        raise _err(f"mismatch of address family in range {s} - {e}", c.VIR_ERR_INTERNAL_ERROR)
    if net is not None:
        n = format_ip(net)
        if net.version != start.version:
            raise _err(f"mismatch of address family in range {s} - {e} for network {n}",
                       c.VIR_ERR_INTERNAL_ERROR)
        if prefix < 0 or prefix > (32 if net.version == 4 else 128):
            raise _err(f"bad prefix {prefix} for network {n} when  checking range {s} - {e}",
                       c.VIR_ERR_INTERNAL_ERROR)
        network = ipaddress.ip_network(f"{net}/{prefix}", strict=False)
        if start not in network or end not in network:
            raise _err(f"range {s} - {e} is not entirely within network {n}/{prefix}", c.VIR_ERR_INTERNAL_ERROR)
        if net.version == 4:
            if start == network.network_address:
                raise _err(f"start of range {s} - {e} in network {n}/{prefix} is the network address",
                           c.VIR_ERR_INTERNAL_ERROR)
            if end == network.broadcast_address:
                raise _err(f"end of range {s} - {e} in network {n}/{prefix} is the broadcast address",
                           c.VIR_ERR_INTERNAL_ERROR)
    # libvirt's legacy check: all but the last 16 bits must be equal
    if (int(start) >> 16) != (int(end) >> 16):
        raise _err(f"range {s} - {e} is too large (> 65535)", c.VIR_ERR_INTERNAL_ERROR)
    if int(end) < int(start):
        raise _err(f"range {s} - {e} " + ("is reversed " if start.version == 4 else "start larger than end"),
                   c.VIR_ERR_INTERNAL_ERROR)


_LEASE_UNITS = ("seconds", "minutes", "hours")


def _lease(src: Element) -> Element | None:
    lease = src.find("lease")
    if lease is None:
        return None
    raw = lease.get("expiry")
    if raw is None:
        return None
    expiry = parse_int(raw)
    if expiry is None or expiry < 0:
        raise xml_err(f"Invalid value for attribute 'expiry' in element 'lease': '{raw}'. "
                      "Expected non-negative integer value", c.VIR_FROM_XML)
    unit = lease.get("unit", "minutes")
    if unit not in _LEASE_UNITS:
        raise xml_err(f"Invalid value for attribute 'unit' in element 'lease': '{unit}'.", c.VIR_FROM_XML)
    if expiry > 0 and ((unit == "seconds" and expiry < 120) or (unit == "minutes" and expiry < 2)):
        raise _err("The minimum lease time should be greater than 2 minutes", c.VIR_ERR_CONFIG_UNSUPPORTED)
    if expiry == 0:
        return E("lease", ("expiry", 0))
    return E("lease", ("expiry", expiry), ("unit", unit))


def dhcp_host(net: str, addr: IPAddr, src: Element, partial: bool = False) -> Element:
    """virNetworkDHCPHostDefParseXML (``partial``: update-delete matching needs one of name/mac/ip)."""
    mac = src.get("mac")
    if mac is not None:
        if addr.version == 6:
            raise _err(f"Invalid to specify MAC address '{mac}' in network '{net}' IPv6 static host definition")
        parsed = parse_mac(mac)
        if parsed is None:
            raise _err(f"Cannot parse MAC address '{mac}' in network '{net}'")
        if mac_is_multicast(parsed):
            raise _err(f"expected unicast mac address, found multicast '{mac}' in network '{net}'")
    hid = src.get("id")
    if hid is not None:
        bad = [ch for ch in hid if ch not in "0123456789abcdefABCDEF:"]
        if bad:
            raise _err(f"Invalid character '{bad[0]}' in id '{hid}' of network '{net}'")
    name = src.get("name")
    if name is not None and not (name[:1].isascii() and name[:1].isalnum()):
        raise _err(f"Cannot use host name '{name}' in network '{net}'")
    ip = src.get("ip")
    ipaddr = parse_ip(ip) if ip is not None else None
    if ip is not None and ipaddr is None:
        raise _err(f"Invalid IP address in static host definition for network '{net}'")
    if partial:
        if not (mac or name or ip):
            raise _err("At least one of name, mac, or ip attribute must be specified for static host "
                       f"definition in network '{net}' ")
    else:
        if addr.version == 6:
            if hid is None and name is None:
                raise _err(f"Static host definition in IPv6 network '{net}' must have id or name attribute")
        elif mac is None and name is None:
            raise _err(f"Static host definition in IPv4 network '{net}' must have mac or name attribute")
        if ip is None:
            raise _err(f"Missing IP address in static host definition for network '{net}'")
    out = E("host", ("mac", mac), ("id", hid), ("name", name), ("ip", format_ip(ipaddr) if ipaddr else None))
    add(out, _lease(src))
    return out


def _ip(net: str, src: Element) -> Element:
    family = src.get("family") or None
    address = src.get("address")
    if not address:
        raise _err(f"Missing required address attribute in network '{net}'")
    addr = parse_ip(address)
    if addr is None:
        raise _err(f"Invalid address '{address}' in network '{net}'")
    netmask_s = src.get("netmask")
    netmask = parse_ip(netmask_s) if netmask_s else None
    if netmask_s and netmask is None:
        raise _err(f"Invalid netmask '{netmask_s}' in network '{net}'")
    prefix = parse_uint(src, "prefix", DOM)
    local_ptr = tristate(src, "localPtr", DOM)
    if family is None or family == "ipv4":
        if addr.version != 4:
            raise _err(f"{'no' if family is None else 'ipv4'} family specified for non-IPv4 address "
                       f"'{address}' in network '{net}'", c.VIR_ERR_CONFIG_UNSUPPORTED)
        if netmask_s:
            if netmask is None or netmask.version != 4:
                raise _err(f"Invalid netmask '{netmask_s}' for address '{address}' in network '{net}' "
                           "(both must be IPv4)", c.VIR_ERR_CONFIG_UNSUPPORTED)
            if prefix:
                raise _err(f"Network '{net}' IP address cannot have both a prefix and a netmask",
                           c.VIR_ERR_CONFIG_UNSUPPORTED)
        elif prefix is not None and prefix > 32:
            raise _err(f"Invalid IPv4 prefix '{prefix}' in network '{net}'", c.VIR_ERR_CONFIG_UNSUPPORTED)
    elif family == "ipv6":
        if addr.version != 6:
            raise _err(f"Family 'ipv6' specified for non-IPv6 address '{address}' in network '{net}'",
                       c.VIR_ERR_CONFIG_UNSUPPORTED)
        if netmask_s:
            raise _err(f"netmask not allowed for IPv6 address '{address}' in network '{net}'",
                       c.VIR_ERR_CONFIG_UNSUPPORTED)
        if prefix is not None and prefix > 128:
            raise _err(f"Invalid IPv6 prefix '{prefix}' in network '{net}'", c.VIR_ERR_CONFIG_UNSUPPORTED)
    else:
        raise _err(f"Unrecognized family '{family}' in network '{net}'")
    out = E("ip", ("family", family), ("address", format_ip(addr)),
            ("netmask", format_ip(netmask) if netmask is not None else None),
            ("prefix", prefix if prefix else None), ("localPtr", local_ptr))
    eff_prefix = prefix_of(addr, netmask if isinstance(netmask, ipaddress.IPv4Address) else None, prefix)
    dhcp_src = src.find("dhcp")
    tftp_src = src.find("tftp")
    if tftp_src is not None:
        if addr.version != 4:
            raise _err(f"Unsupported <tftp> element in an IPv6 element in network '{net}'",
                       c.VIR_ERR_CONFIG_UNSUPPORTED)
        root = tftp_src.get("root")
        if root:
            out.append(E("tftp", ("root", root)))
    if dhcp_src is not None:
        dhcp = E("dhcp")
        ranges: list[Element] = []
        hosts: list[Element] = []
        bootp: Element | None = None
        for child in dhcp_src:
            if child.tag == "range":
                ranges.append(dhcp_range(net, addr, eff_prefix, child))
            elif child.tag == "host":
                hosts.append(dhcp_host(net, addr, child))
            elif child.tag == "bootp" and addr.version == 4:
                file = child.get("file")
                if file is None:
                    continue
                server = child.get("server")
                server_ip = parse_ip(server) if server is not None else None
                if server is not None and server_ip is None:
                    raise make_error(c.VIR_ERR_SYSTEM_ERROR, f"Cannot parse socket address '{server}': "
                                     "Name or service not known", c.VIR_FROM_NONE)
                bootp = E("bootp", ("file", file), ("server", format_ip(server_ip) if server_ip else None))
        for elem in ranges + hosts:
            dhcp.append(elem)
        add(dhcp, bootp)
        if len(dhcp):
            out.append(dhcp)
    return out


def dhcp_range(net: str, addr: IPAddr, eff_prefix: int, child: Element) -> Element:
    """virNetworkDHCPRangeDefParseXML (with virSocketAddrGetRange's checks)."""
    start_s, end_s = child.get("start"), child.get("end")
    if start_s is None:
        raise _err(f"Missing 'start' attribute in dhcp range for network '{net}'")
    start = parse_ip(start_s)
    if start is None:
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, f"Cannot parse socket address '{start_s}': "
                         "Name or service not known", c.VIR_FROM_NONE)
    if end_s is None:
        raise _err(f"Missing 'end' attribute in dhcp range for network '{net}'")
    end = parse_ip(end_s)
    if end is None:
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, f"Cannot parse socket address '{end_s}': "
                         "Name or service not known", c.VIR_FROM_NONE)
    _range_check(start, end, addr, eff_prefix)
    rng = E("range", ("start", format_ip(start)), ("end", format_ip(end)))
    add(rng, _lease(child))
    return rng


def _detail(detail: str) -> Exception:
    return make_error(c.VIR_ERR_XML_DETAIL, detail, DOM)


_SERVICE_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+/*")
_PROTOCOL_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-+/")


def dns_host(net: str, src: Element, partial: bool = False) -> Element:
    """virNetworkDNSHostDefParseXML (``partial`` for update-delete matching)."""
    ip_s = src.get("ip")
    if ip_s is None and not partial:
        raise _detail(f"Missing IP address in network '{net}' DNS HOST record")
    ip = parse_ip(ip_s) if ip_s is not None else None
    if ip_s is not None and ip is None:
        raise _detail(f"Invalid IP address in network '{net}' DNS HOST record")
    names = []
    for h in src.findall("hostname"):
        if h.text is not None or len(h):
            if not h.text:
                raise _detail(f"Missing hostname in network '{net}' DNS HOST record")
            names.append(h.text)
    if not names and not partial:
        raise _detail(f"Missing hostname in network '{net}' DNS HOST record")
    if ip is None and not names:
        raise _detail(f"Missing ip and hostname in network '{net}' DNS HOST record")
    elem = E("host", ("ip", format_ip(ip) if ip is not None else None))
    for name in names:
        elem.append(E("hostname", text=name))
    return elem


def dns_srv(net: str, src: Element, partial: bool = False) -> Element:
    """virNetworkDNSSrvDefParseXML."""
    service, protocol = src.get("service"), src.get("protocol")
    if service is None and not partial:
        raise _detail(f"missing required service attribute in DNS SRV record of network '{net}'")
    if service is not None:
        if len(service) > 15:
            raise _detail(f"service attribute '{service}' in network '{net}' is too long, limit is 15 bytes")
        if set(service) - _SERVICE_CHARS:
            raise _detail(f"invalid character in service attribute '{service}' in DNS SRV record of "
                          f"network '{net}'")
    if protocol is None and not partial:
        raise _detail(f"missing required protocol attribute in DNS SRV record '{service}' of network '{net}'")
    if protocol is not None and set(protocol) - _PROTOCOL_CHARS:
        raise _detail(f"invalid character in protocol attribute '{protocol}' in DNS SRV record of "
                      f"network '{net}'")
    target = src.get("target")
    nums: dict[str, int | None] = {}
    for key, low, word in (("port", 1, "invalid"), ("priority", 0, "Invalid"), ("weight", 0, "invalid")):
        raw = src.get(key)
        if raw is None or raw == "":
            nums[key] = None
            continue
        val = parse_int(raw)
        if val is not None and val >= 0 and target is None:
            raise _detail(f"DNS SRV {key} attribute not permitted without target for service '{service}' "
                          f"in network '{net}'")
        if val is None or val < low or val > 65535:
            raise _detail(f"{word} DNS SRV {key} attribute for service '{service}' in network '{net}'")
        nums[key] = val
    return E("srv", ("service", service), ("protocol", protocol), ("domain", src.get("domain")),
             ("target", target), ("port", nums["port"] or None), ("priority", nums["priority"] or None),
             ("weight", nums["weight"] or None))


def dns_txt(net: str, src: Element, partial: bool = False) -> Element:
    """virNetworkDNSTxtDefParseXML."""
    name, value = src.get("name"), src.get("value")
    if name is None:
        raise _detail(f"missing required name attribute in DNS TXT record of network {net}")
    if " " in name or "," in name:
        raise _detail(f"prohibited character in DNS TXT record name '{name}' of network {net}")
    if value is None and not partial:
        raise _detail(f"missing required value attribute in DNS TXT record named '{name}' of network {net}")
    return E("txt", ("name", name), ("value", value))


def _dns(net: str, src: Element) -> Element | None:
    enable = tristate(src, "enable", DOM)
    fpn = tristate(src, "forwardPlainNames", DOM)
    out = E("dns", ("enable", enable), ("forwardPlainNames", fpn))
    fwds = []
    for fwd in src.findall("forwarder"):
        addr_s = fwd.get("addr")
        addr = parse_ip(addr_s) if addr_s is not None else None
        if addr_s is not None and addr is None:
            raise _err(f"Invalid forwarder IP address '{addr_s}' in network '{net}'")
        dom = fwd.get("domain")
        if addr_s is None and dom is None:
            raise _err("Invalid forwarder element, must contain at least one of addr or domain")
        fwds.append(E("forwarder", ("domain", dom), ("addr", format_ip(addr) if addr else None)))
    hosts = [dns_host(net, h) for h in src.findall("host")]
    srvs = [dns_srv(net, s) for s in src.findall("srv")]
    txts = [dns_txt(net, t) for t in src.findall("txt")]
    if enable == "no" and (fwds or hosts or srvs or txts):
        raise _err(f"Extra data in disabled network '{net}'")
    for elem in fwds + txts + srvs + hosts:
        out.append(elem)
    return out


def _forward(net: str, src: Element) -> Element:
    mode = src.get("mode") or "nat"
    if mode not in FORWARD_MODES or mode == "none":
        raise _err(f"unknown forwarding type '{mode}'", c.VIR_ERR_CONFIG_UNSUPPORTED)
    managed = (src.get("managed") or "").lower() == "yes"
    driver = src.find("driver")
    driver_name = (driver.get("name") or None) if driver is not None else None
    if driver_name is not None and driver_name not in ("kvm", "vfio"):
        raise _err(f"Unknown forward <driver name='{driver_name}'/> in network {net}", c.VIR_ERR_CONFIG_UNSUPPORTED)
    ifs_src, addrs_src, pfs_src = src.findall("interface"), src.findall("address"), src.findall("pf")
    nats = src.findall("nat")
    if len(nats) > 1:
        raise _err(f"Only one <nat> element is allowed in <forward> of network {net}")
    nat = _nat(net, mode, nats[0]) if nats else None
    dev = src.get("dev")
    if dev and (addrs_src or pfs_src):
        raise _err("the <forward> 'dev' attribute cannot be used when <address> or <pf> sub-elements are "
                   "present in network %s")
    ifs: list[Element] = []
    pf: str | None = None
    if ifs_src or dev:
        names: list[str] = [dev] if dev else []
        for i, ifsrc in enumerate(ifs_src):
            idev = ifsrc.get("dev")
            if idev is None:
                raise _err(f"Missing required dev attribute in <forward> <interface> element of network {net}")
            if i == 0 and dev:
                if idev != dev:
                    raise _err(f"<forward dev='{dev}'> must match first <interface dev='{idev}'/> in network {net}")
                continue
            if idev in names[:i]:
                raise _err(f"interface '{idev}' can only be listed once in network {net}")
            names.append(idev)
        for i, name in enumerate(names):
            ifs.append(E("interface", ("dev", name)))
    elif addrs_src:
        seen: list[str] = []
        for asrc in addrs_src:
            atype = asrc.get("type")
            if atype is None:
                raise _err(f"missing address type in network {net}")
            if atype not in ("pci", "netdev", "usb", "none"):
                raise _err(f"unknown address type '{atype}' in network {net}", c.VIR_ERR_CONFIG_UNSUPPORTED)
            if atype != "pci":
                raise _err(f"unsupported address type '{atype}' in network {net}")
            pci = format_pci_address(asrc, DOM)
            key = etree.tostring(pci).decode()
            if key in seen:
                vals = [int(pci.get(k, "0"), 16) for k in ("domain", "bus", "slot", "function")]
                raise _err(f"PCI device '{vals[0]:04x}:{vals[1]:02x}:{vals[2]:02x}.{vals[3]:x}' can only be "
                           f"listed once in network {net}")
            seen.append(key)
            ifs.append(pci)
    elif len(pfs_src) > 1:
        raise _err(f"Only one <pf> element is allowed in <forward> of network {net}")
    elif pfs_src:
        pf = pfs_src[0].get("dev")
        if pf is None:
            raise _err(f"Missing required dev attribute in <pf> element of network '{net}'")
    first_dev = ifs[0].get("dev") if ifs and pf is None and ifs[0].tag == "interface" else None
    out = E("forward", ("dev", first_dev), ("mode", mode))
    if mode == "hostdev":
        out.set("managed", "yes" if managed else "no")
    if driver_name:
        out.append(E("driver", ("name", driver_name)))
    add(out, nat)
    if pf is not None:
        out.append(E("pf", ("dev", pf)))
    for elem in ifs:
        out.append(elem)
    return out


def _nat(net: str, mode: str, src: Element) -> Element | None:
    if mode != "nat":
        raise _err(f"The <nat> element can only be used when <forward> 'mode' is 'nat' in network {net}")
    ipv6 = tristate(src, "ipv6", DOM)
    out = E("nat", ("ipv6", ipv6))
    addrs = src.findall("address")
    if len(addrs) > 1:
        raise _err(f"Only one <address> element is allowed in <nat> in <forward> in network {net}")
    if addrs:
        start_s, end_s = addrs[0].get("start"), addrs[0].get("end")
        if start_s is None:
            raise _err(f"missing 'start' attribute in <address> element in <nat> in <forward> in network {net}")
        if end_s is None:
            raise _err(f"missing 'end' attribute in <address> element in <nat> in <forward> in network {net}")
        start, end = parse_ip(start_s), parse_ip(end_s)
        if start is None or start.version != 4:
            raise _err(f"Bad ipv4 start address '{start_s}' in <nat> in <forward> in network '{net}'")
        if end is None or end.version != 4:
            raise _err(f"Bad ipv4 end address '{end_s}' in <nat> in <forward> in network '{net}'")
        _range_check(start, end, None, 0)
        out.append(E("address", ("start", format_ip(start)), ("end", format_ip(end))))
    ports = src.findall("port")
    if len(ports) > 1:
        raise _err(f"Only one <port> element is allowed in <nat> in <forward> in network {net}")
    if ports:
        pstart = strtoui(ports[0].get("start") or None)
        pend = strtoui(ports[0].get("end") or None)
        if pstart is None or pstart > 65535:
            raise _detail(f"Missing or invalid 'start' attribute in <port> in <nat> in <forward> in network {net}")
        if pend is None or not pstart <= pend <= 65535:
            raise _detail(f"Missing or invalid 'end' attribute in <port> in <nat> in <forward> in network {net}")
        if pstart or pend:
            out.append(E("port", ("start", pstart), ("end", pend or None)))
    if not (ipv6 or len(out)):
        return None
    return out


def _route(net: str, src: Element) -> tuple[Element, IPAddr]:
    """virNetDevIPRouteParseXML + virNetDevIPRouteCreate."""
    family = src.get("family")
    address_s, netmask_s, gateway_s = src.get("address"), src.get("netmask"), src.get("gateway")
    prefix = parse_uint(src, "prefix", DOM)
    metric = parse_uint(src, "metric", DOM, nonzero=True)
    if address_s is None:
        raise _err(f"{net}: Missing required address attribute in route definition")
    if gateway_s is None:
        raise _err(f"{net}: Missing required gateway attribute in route definition")
    address = parse_ip(address_s)
    if address is None:
        raise _err(f"{net}: Bad network address '{address_s}' in route definition")
    gateway = parse_ip(gateway_s)
    if gateway is None:
        raise _err(f"{net}: Bad gateway address '{gateway_s}' in route definition")
    netmask = None
    if family is None or family == "ipv4":
        what = "No" if family is None else "IPv4"
        if address.version != 4:
            raise _err(f"{net}: {what} family specified for non-IPv4 address '{address_s}' in route definition")
        if gateway.version != 4:
            raise _err(f"{net}: {what} family specified for non-IPv4 gateway '{address_s}' in route definition")
        if netmask_s is not None:
            netmask = parse_ip(netmask_s)
            if netmask is None:
                raise _err(f"{net}: Bad netmask address '{netmask_s}' in route definition")
            if netmask.version != 4:
                raise _err(f"{net}: Invalid netmask '{netmask_s}' for address '{address_s}' (both must be IPv4)")
            if prefix is not None:
                raise _err(f"{net}: Route definition cannot have both a prefix and a netmask")
        if (prefix or 0) > 32:
            raise _err(f"{net}: Invalid prefix {prefix} specified in route definition, must be 0 - 32")
    elif family == "ipv6":
        if address.version != 6:
            raise _err(f"{net}: ipv6 family specified for non-IPv6 address '{address_s}' in route definition")
        if netmask_s is not None:
            raise _err(f"{net}: Specifying netmask invalid for IPv6 address '{address_s}' in route definition")
        if gateway.version != 6:
            raise _err(f"{net}: ipv6 specified for non-IPv6 gateway address '{gateway_s}' in route definition")
        if (prefix or 0) > 128:
            raise _err(f"{net}: Invalid prefix {prefix} specified in route definition, must be 0 - 128")
    else:
        raise _err(f"{net}: Unrecognized family '{family}' in route definition")
    bits = address.max_prefixlen
    if netmask is not None:
        masked = int(address) & int(netmask)
    else:
        p = prefix or 0
        masked = int(address) & (((1 << bits) - 1) ^ ((1 << (bits - p)) - 1))
    if masked != int(address):
        raise _err(f"{net}: Address '{address_s}' in route definition is not a network address")
    out = E("route", ("family", family), ("address", format_ip(address)),
            ("netmask", format_ip(netmask) if netmask is not None else None),
            ("prefix", prefix), ("gateway", format_ip(gateway)), ("metric", metric if metric else None))
    return out, gateway


def _portgroup(src: Element) -> Element:
    name = src.get("name")
    if not name:
        raise _err("Missing required name attribute in portgroup")
    default = src.get("default")
    trust = tristate(src, "trustGuestRxFilters", DOM)
    out = E("portgroup", ("name", name), ("default", "yes" if default and default.lower() == "yes" else None),
            ("trustGuestRxFilters", trust))
    add(out, format_vlan(src.find("vlan"), DOM))
    add(out, format_virtualport(src.find("virtualport"), DOM, require_type=False))
    add(out, format_bandwidth(src.find("bandwidth"), DOM))
    return out


# ---------------------------------------------------------------- the model

class NetworkDef(XMLModel):
    """A virtual network definition backed by its canonical XML tree."""

    def __init__(self, root: Element) -> None:
        self.root = root

    @classmethod
    def parse(cls, xml: str | bytes) -> "NetworkDef":
        """Parse and validate *xml* as libvirt does (virNetworkDefParse)."""
        src = parse_doc(xml, "network", "network_definition", DOM)
        return cls(_canonical(src))

    @classmethod
    def from_element(cls, elem: Element) -> "NetworkDef":
        """Validate and canonicalize an already parsed ``<network>`` element (e.g. inline in a test:/// file)."""
        return cls(_canonical(elem))

    def copy(self) -> "NetworkDef":
        """A deep copy."""
        return NetworkDef(copy.deepcopy(self.root))

    # ---- identity
    @property
    def name(self) -> str:
        """The network's name."""
        return self.root.findtext("name") or ""

    @name.setter
    def name(self, value: str) -> None:
        node = self.root.find("name")
        assert node is not None
        node.text = value

    @property
    def uuid(self) -> str:
        """The UUID as a lower-case string."""
        return self.root.findtext("uuid") or ""

    @uuid.setter
    def uuid(self, value: str) -> None:
        parsed = parse_uuid(value)
        if parsed is None:
            raise _err("malformed uuid element", c.VIR_ERR_INTERNAL_ERROR)
        node = self.root.find("uuid")
        assert node is not None
        node.text = parsed

    @property
    def uuid_bytes(self) -> bytes:
        """The UUID's 16 raw bytes."""
        return bytes.fromhex(self.uuid.replace("-", ""))

    # ---- forward and bridge
    @property
    def forward_mode(self) -> str | None:
        """Forward mode ('nat', 'route', ...) or None for an isolated network."""
        fwd = self.root.find("forward")
        return fwd.get("mode") if fwd is not None else None

    @property
    def forward_dev(self) -> str | None:
        """The forward device (first forward interface), if any."""
        fwd = self.root.find("forward")
        return fwd.get("dev") if fwd is not None else None

    @property
    def forward_interfaces(self) -> list[str]:
        """Names of the forward pool's network devices."""
        return [e.get("dev", "") for e in self.root.findall("forward/interface")]

    @property
    def bridge(self) -> str | None:
        """The bridge device name."""
        br = self.root.find("bridge")
        return br.get("name") if br is not None else None

    @bridge.setter
    def bridge(self, value: str | None) -> None:
        br = self.root.find("bridge")
        if br is None:
            if value is None:
                return
            br = self._ensure("bridge", ("name", "uuid", "metadata", "forward"))
        attrs = attrs_of(br)
        attrs.pop("name", None)
        br.attrib.clear()
        if value is not None:
            br.set("name", value)
        for k, v in attrs.items():
            br.set(k, v)

    @property
    def mac(self) -> str | None:
        """The bridge MAC address, if set."""
        m = self.root.find("mac")
        return m.get("address") if m is not None else None

    @mac.setter
    def mac(self, value: str | None) -> None:
        m = self.root.find("mac")
        if value is None:
            if m is not None:
                self.root.remove(m)
            return
        if m is None:
            m = self._ensure("mac", ("name", "uuid", "metadata", "forward", "bridge", "mtu"))
        m.set("address", value)

    @property
    def domain_name(self) -> str | None:
        """The DNS domain (``<domain name>``)."""
        d = self.root.find("domain")
        return d.get("name") if d is not None else None

    @property
    def mtu(self) -> int | None:
        """The MTU size, if set."""
        m = self.root.find("mtu")
        return int(m.get("size", "0")) if m is not None else None

    @property
    def ips(self) -> list[NetworkIP]:
        """The network's IP addresses (a read-only view)."""
        out = []
        for ip in self.root.findall("ip"):
            prefix = ip.get("prefix")
            out.append(NetworkIP(
                address=ip.get("address", ""), netmask=ip.get("netmask"),
                prefix=int(prefix) if prefix is not None else None, family=ip.get("family"),
                dhcp_ranges=[DHCPRange(r.get("start", ""), r.get("end", "")) for r in ip.findall("dhcp/range")],
                dhcp_hosts=[attrs_of(h) for h in ip.findall("dhcp/host")]))
        return out

    @property
    def portgroups(self) -> list[str]:
        """Port group names."""
        return [p.get("name", "") for p in self.root.findall("portgroup")]

    @property
    def metadata(self) -> Element | None:
        """The ``<metadata>`` element, if any."""
        return self.root.find("metadata")

    @property
    def connections(self) -> int:
        """Live count of connected guest interfaces (formatted only for the live XML)."""
        return int(self.root.get("connections", "0"))

    @connections.setter
    def connections(self, value: int) -> None:
        if value > 0:
            attrs = attrs_of(self.root)
            self.root.attrib.clear()
            self.root.set("connections", str(value))
            for k, v in attrs.items():
                if k != "connections":
                    self.root.set(k, v)
        else:
            drop_attr(self.root, "connections")

    def to_xml(self, inactive: bool = False) -> str:
        """The XML libvirt prints (``inactive`` drops live-only data)."""
        out = copy.deepcopy(self.root)
        if inactive:
            drop_attr(out, "connections")
            fwd = out.find("forward")
            if fwd is not None:
                for iface in fwd.findall("interface"):
                    drop_attr(iface, "connections")
                    if fwd.find("pf") is not None:
                        fwd.remove(iface)
        dns = out.find("dns")
        if dns is not None and not len(dns) and not dns.attrib:
            out.remove(dns)
        for ip in out.findall("ip"):
            dhcp = ip.find("dhcp")
            if dhcp is not None and dhcp.find("range") is None and dhcp.find("host") is None:
                ip.remove(dhcp)  # libvirt prints <dhcp> (and its <bootp>) only with ranges or hosts
            keep_open(ip)
        for pg in out.findall("portgroup"):
            keep_open(pg)
        return format_doc(out)

    def __iter__(self) -> Iterator[Element]:
        return iter(self.root)

    # ---- virNetworkUpdate
    def update(self, command: int, section: int, parent_index: int, xml: str) -> None:
        """Apply a virNetworkUpdate change (virNetworkDefUpdateSection semantics and errors)."""
        from .network_update import apply_update
        apply_update(self, command, section, parent_index, xml)


def _canonical(src: Element) -> Element:
    """Validate *src* (a parsed <network>) and build libvirt's canonical tree."""
    name = xs(src, "./name[1]")
    if not name:
        raise make_error(c.VIR_ERR_NO_NAME, None, DOM)
    if "/" in name:
        raise make_error(c.VIR_ERR_XML_DETAIL, "invalid char in name: /", c.VIR_FROM_XML)
    uuid_s = xs(src, "./uuid[1]")
    if not uuid_s:
        uuid = new_uuid()
    else:
        parsed = parse_uuid(uuid_s)
        if parsed is None:
            raise _err("malformed uuid element", c.VIR_ERR_INTERNAL_ERROR)
        uuid = parsed
    ipv6 = src.get("ipv6") or None
    if ipv6 is not None and ipv6 not in ("yes", "no"):
        raise _err(f"Invalid ipv6 setting '{ipv6}' in network '{name}'")
    trust = tristate(src, "trustGuestRxFilters", DOM)
    domain_src = src.find("domain")
    domain_name = domain_src.get("name") if domain_src is not None else None  # '' is kept, as libvirt
    local_only = tristate(domain_src, "localOnly", DOM)
    bandwidth = format_bandwidth(src.find("bandwidth"), DOM)
    vlan = format_vlan(src.find("vlan"), DOM)
    port = src.find("port")
    isolated = tristate(port, "isolated", DOM)
    br = src.find("bridge")
    br_name = (br.get("name") or None) if br is not None else None
    br_zone = (br.get("zone") or None) if br is not None else None
    stp = (br.get("stp") or None) if br is not None else None
    delay_s = (br.get("delay") or None) if br is not None else None
    delay = 0
    if delay_s:
        d = parse_int(delay_s)
        if d is None or d < 0:
            raise _err(f"Invalid delay value in network '{name}'")
        delay = d
    mtm = (br.get("macTableManager") or None) if br is not None else None
    if mtm is not None and mtm not in ("kernel", "libvirt"):
        raise _err(f"Invalid macTableManager setting '{mtm}' in network '{name}'")
    mac_s = xs(src, "./mac[1]/@address")
    mac = None
    if mac_s:
        mac = parse_mac(mac_s)
        if mac is None:
            raise _err(f"Invalid bridge mac address '{mac_s}' in network '{name}'")
        if mac_is_multicast(mac):
            raise _err(f"Invalid multicast bridge mac address '{mac_s}' in network '{name}'")
    mtu_s = xs(src, "./mtu/@size")
    mtu = None
    if mtu_s:
        mtu = strtoui(mtu_s)
        if mtu is None:
            raise _err(f"Invalid mtu size '{mtu_s}' in network '{name}'")
    dns_src = src.find("dns")
    dns = _dns(name, dns_src) if dns_src is not None else None
    vport = format_virtualport(src.find("virtualport"), DOM, require_type=True)
    portgroups = [_portgroup(p) for p in src.findall("portgroup")]
    defaults = [p for p in portgroups if p.get("default") == "yes"]
    if len(defaults) > 1:
        raise _err(f"network '{name}' has multiple default <portgroup> elements ({defaults[0].get('name')} and "
                   f"{defaults[1].get('name')}), but only one default is allowed", c.VIR_ERR_XML_ERROR)
    ips = [_ip(name, ip) for ip in src.findall("ip")]
    routes = [_route(name, r) for r in src.findall("route")]
    for _route_elem, gw in routes:
        ok = False
        for ip in ips:
            addr = ipaddress.ip_address(ip.get("address", ""))
            if addr.version != gw.version:
                continue
            mask = ip.get("netmask")
            pfx = prefix_of(addr, ipaddress.IPv4Address(mask) if mask else None,
                            int(ip.get("prefix", "0")) or None)
            if pfx >= 0 and ipaddress.ip_network(f"{addr}/{pfx}", strict=False) == \
                    ipaddress.ip_network(f"{gw}/{pfx}", strict=False):
                ok = True
                break
        if not ok:
            raise _err(f"unreachable static route gateway '{format_ip(gw)}' specified for network '{name}'",
                       c.VIR_ERR_CONFIG_UNSUPPORTED)
    fwd_src = src.find("forward")
    forward = _forward(name, fwd_src) if fwd_src is not None else None
    mode = forward.get("mode") if forward is not None else None
    nifs = len(forward.findall("interface")) + len(forward.findall("address")) if forward is not None else 0
    npfs = len(forward.findall("pf")) if forward is not None else 0
    if mode in _L3_MODES:
        if not ips:
            raise _err(f"{mode} forwarding requested, but no IP address provided for network '{name}'")
        if nifs > 1:
            raise _err(f"multiple forwarding interfaces specified for network '{name}', only one is supported")
        if mode == "open" and nifs:
            raise _err(f"forward dev not allowed for network '{name}' with forward mode='{mode}'")
    elif mode is not None:
        if mode != "bridge":
            if br_name:
                raise _err(f"bridge name not allowed in {mode} mode (network '{name}')")
            if br_zone:
                raise _err(f"bridge zone not allowed in {mode} mode (network '{name}')")
            if mtm:
                raise _err(f"bridge macTableManager setting not allowed in {mode} mode (network '{name}')")
        if delay or stp or br_zone:
            raise _err(f"bridge delay/stp/zone options only allowed in route, nat, and isolated mode, "
                       f"not in {mode} (network '{name}')")
        if br_name and (nifs or npfs):
            raise _err(f"A network with forward mode='{mode}' can specify a bridge name or a forward dev, "
                       f"but not both (network '{name}')")
    if mtu and mode not in (None, *_L3_MODES):
        raise _err(f"mtu size only allowed in open, route, nat, and isolated mode, not in {mode} "
                   f"(network '{name}')")

    root = E("network",
             ("ipv6", "yes" if ipv6 == "yes" else None), ("trustGuestRxFilters", trust))
    root.append(E("name", text=name))
    root.append(E("uuid", text=uuid))
    add(root, copy_metadata(src.find("metadata")))
    add(root, forward)
    has_bridge = mode is None or mode in _L3_MODES
    if has_bridge or br_name or mtm:
        bridge = E("bridge", ("name", br_name), ("zone", br_zone))
        if has_bridge:
            bridge.set("stp", "off" if stp == "off" else "on")
            bridge.set("delay", str(delay))
        if mtm:
            bridge.set("macTableManager", mtm)
        root.append(bridge)
    if mtu:
        root.append(E("mtu", ("size", mtu)))
    if mac:
        root.append(E("mac", ("address", mac)))
    if domain_name is not None:
        root.append(E("domain", ("name", domain_name), ("localOnly", local_only)))
    add(root, dns)
    add(root, vlan)
    add(root, bandwidth)
    if isolated:
        root.append(E("port", ("isolated", isolated)))
    for ip in ips:
        root.append(ip)
    for route, _gw in routes:
        root.append(route)
    add(root, vport)
    for pg in portgroups:
        root.append(pg)
    return root
