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


from .. import constants as c
from ..errors import make_error
from .netcommon import (add, attrs_of, copy_metadata, drop_attr, E, format_bandwidth, format_doc, format_ip,
                        format_virtualport, format_vlan, keep_open, mac_is_multicast, new_uuid, parse_doc,
                        parse_int, parse_mac, parse_uuid, prefix_of, strtoui, tristate, xml_err, XMLModel, xs)
from .network_elems import (FORWARD_MODES, L3_MODES, dns_element, forward_element, ip_element, portgroup_element,
                            route_element)
from .xmlutil import Element

__all__ = ["NetworkDef", "NetworkIP", "DHCPRange", "FORWARD_MODES"]

DOM = c.VIR_FROM_NETWORK


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
    dns = dns_element(name, dns_src) if dns_src is not None else None
    vport = format_virtualport(src.find("virtualport"), DOM, require_type=True)
    portgroups = [portgroup_element(p) for p in src.findall("portgroup")]
    defaults = [p for p in portgroups if p.get("default") == "yes"]
    if len(defaults) > 1:
        raise _err(f"network '{name}' has multiple default <portgroup> elements ({defaults[0].get('name')} and "
                   f"{defaults[1].get('name')}), but only one default is allowed", c.VIR_ERR_XML_ERROR)
    ips = [ip_element(name, ip) for ip in src.findall("ip")]
    routes = [route_element(name, r) for r in src.findall("route")]
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
    forward = forward_element(name, fwd_src) if fwd_src is not None else None
    mode = forward.get("mode") if forward is not None else None
    nifs = len(forward.findall("interface")) + len(forward.findall("address")) if forward is not None else 0
    npfs = len(forward.findall("pf")) if forward is not None else 0
    if mode in L3_MODES:
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
    if mtu and mode not in (None, *L3_MODES):
        raise _err(f"mtu size only allowed in open, route, nat, and isolated mode, not in {mode} "
                   f"(network '{name}')")

    root = E("network",
             ("ipv6", "yes" if ipv6 == "yes" else None), ("trustGuestRxFilters", trust))
    root.append(E("name", text=name))
    root.append(E("uuid", text=uuid))
    add(root, copy_metadata(src.find("metadata")))
    add(root, forward)
    has_bridge = mode is None or mode in L3_MODES
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
