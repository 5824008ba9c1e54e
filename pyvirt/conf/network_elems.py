"""Parsers for the elements of a libvirt ``<network>`` (libvirt 9.0's network_conf.c).

Each function validates one source element with libvirt's errors and returns its canonical
element (libvirt's attribute order and normalised values); :mod:`.network` assembles them.
"""

from __future__ import annotations

import ipaddress

from lxml import etree

from .. import constants as c
from ..errors import make_error
from .netcommon import (add, E, format_bandwidth, format_ip, format_pci_address, format_virtualport, format_vlan,
                        mac_is_multicast, parse_int, parse_ip, parse_mac, parse_uint, prefix_of, strtoui, tristate,
                        xml_err)
from .xmlutil import Element

__all__ = ["IPAddr", "FORWARD_MODES", "L3_MODES", "range_check", "lease_element", "dhcp_host", "dhcp_range",
           "ip_element", "dns_host", "dns_srv", "dns_txt", "dns_element", "forward_element", "nat_element",
           "route_element", "portgroup_element"]

DOM = c.VIR_FROM_NETWORK
FORWARD_MODES = ("none", "nat", "route", "open", "bridge", "private", "vepa", "passthrough", "hostdev")
L3_MODES = ("nat", "route", "open")
IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address


def _err(detail: str, code: int = c.VIR_ERR_XML_ERROR) -> Exception:
    return xml_err(detail, DOM, code)


def range_check(start: IPAddr, end: IPAddr, net: IPAddr | None, prefix: int) -> None:
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


def lease_element(src: Element) -> Element | None:
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
    add(out, lease_element(src))
    return out


def ip_element(net: str, src: Element) -> Element:
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
    range_check(start, end, addr, eff_prefix)
    rng = E("range", ("start", format_ip(start)), ("end", format_ip(end)))
    add(rng, lease_element(child))
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


def dns_element(net: str, src: Element) -> Element | None:
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


def forward_element(net: str, src: Element) -> Element:
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
    nat = nat_element(net, mode, nats[0]) if nats else None
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


def nat_element(net: str, mode: str, src: Element) -> Element | None:
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
        range_check(start, end, None, 0)
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


def route_element(net: str, src: Element) -> tuple[Element, IPAddr]:
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


def portgroup_element(src: Element) -> Element:
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
