"""Pieces shared by the network, interface, storage and node device XML models.

Each model parses libvirt XML into a *canonical* lxml tree: the elements and
attributes libvirt keeps, validated, normalised and in libvirt's order. The
canonical tree is the model's source of truth; typed properties read and
write it, and ``to_xml`` formats it with :func:`~pyvirt.conf.xmlutil.format_xml`.
"""

from __future__ import annotations

import copy
import ipaddress
import re
import uuid as uuidlib
from typing import Any, Callable

from lxml import etree

from .. import constants as c
from ..errors import LibvirtError, make_error
from .xmlutil import Element

__all__ = ["E", "add", "xml_err", "parse_uuid", "parse_ip", "format_ip", "parse_mac", "mac_is_multicast",
           "tristate", "yes_no", "parse_uint", "parse_int", "copy_metadata", "format_bandwidth",
           "format_vlan", "format_virtualport", "format_pci_address", "prefix_of", "child_text",
           "XMLModel", "scaled_integer", "ByteCount"]


class ByteCount:
    """A read/write int property on the text of the model's child *tag* (bytes, already scaled)."""

    def __init__(self, tag: str, doc: str) -> None:
        self.tag = tag
        self.__doc__ = doc

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return int(obj.root.findtext(self.tag) or "0")

    def __set__(self, obj: Any, value: int) -> None:
        node = obj.root.find(self.tag)
        assert node is not None, f"<{self.tag}> is filled in by parsing"
        node.text = str(int(value))


def E(tag: str, *attrs: tuple[str, object | None], text: str | None = None) -> Element:  # noqa: N802
    """A new element; attributes whose value is None are skipped (keeps libvirt's order)."""
    elem = etree.Element(tag)
    for key, value in attrs:
        if value is not None:
            elem.set(key, str(value))
    if text is not None:
        elem.text = text
    return elem


def add(parent: Element, child: Element | None) -> Element | None:
    """Append *child* (if any) to *parent*; return it."""
    if child is not None:
        parent.append(child)
    return child


def xml_err(detail: str, domain: int, code: int = c.VIR_ERR_XML_ERROR) -> LibvirtError:
    """A libvirt error of *code* (XML error by default) in *domain*."""
    return make_error(code, detail, domain)


def child_text(elem: Element | None, path: str) -> str | None:
    """Like libvirt's ``virXPathString("string(path)")``: None when absent or empty."""
    if elem is None:
        return None
    found = elem.xpath(f"string({path})")
    return str(found) if found else None


_UUID_HEX = re.compile(r"^[0-9a-fA-F]{32}$")


def parse_uuid(text: str) -> str | None:
    """libvirt's virUUIDParse: 32 hex digits with optional '-' and blanks; None if malformed."""
    s = text.strip()
    digits = s.replace("-", "").replace(" ", "")
    if not _UUID_HEX.match(digits):
        return None
    return str(uuidlib.UUID(hex=digits.lower()))


def new_uuid() -> str:
    """A random UUID string."""
    return str(uuidlib.uuid4())


def parse_ip(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IPv4/IPv6 address or None when *text* does not parse (numeric only)."""
    if text is None:
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        pass
    # inet_aton-style shorthand accepted by getaddrinfo for IPv4 ("10.1", "127.1")
    parts = text.strip().split(".")
    if 1 <= len(parts) <= 4 and all(p.isdigit() for p in parts):
        try:
            nums = [int(p) for p in parts]
            value = 0
            for n in nums[:-1]:
                if n > 255:
                    return None
                value = (value << 8) | n
            last_bits = 8 * (4 - len(nums) + 1)
            if nums[-1] >= (1 << last_bits):
                return None
            value = (value << last_bits) | nums[-1]
            return ipaddress.IPv4Address(value)
        except ValueError:
            return None
    return None


def format_ip(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """Format like virSocketAddrFormat (inet_ntop)."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"
    return str(addr)


def prefix_of(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, netmask: ipaddress.IPv4Address | None,
              prefix: int | None) -> int:
    """The prefix length libvirt uses for an address (virNetworkIPDefPrefix)."""
    if netmask is not None:
        bits = bin(int(netmask))[2:].rjust(32, "0")
        if "01" in bits:
            return -1
        return bits.count("1")
    if prefix is not None and prefix > 0:
        return prefix
    if isinstance(addr, ipaddress.IPv4Address):
        first = int(addr) >> 24
        if first < 128:
            return 8
        if first < 192:
            return 16
        if first < 224:
            return 24
        return -1
    return 64


_MAC = re.compile(r"^([0-9a-fA-F]{1,2})([:-])([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2"
                  r"([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})$")


def parse_mac(text: str) -> str | None:
    """virMacAddrParse: six hex bytes separated by ':' or '-'; formatted lower-case."""
    m = _MAC.match(text.strip())
    if not m:
        return None
    parts = [m.group(i) for i in (1, 3, 4, 5, 6, 7)]
    return ":".join(f"{int(p, 16):02x}" for p in parts)


def mac_is_multicast(mac: str) -> bool:
    """True when the MAC's first byte has the multicast bit."""
    return bool(int(mac.split(":")[0], 16) & 1)


_TRISTATE = {"yes": "yes", "no": "no"}


def tristate(elem: Element | None, attr: str, domain: int, values: tuple[str, ...] = ("yes", "no"),
             required: bool = False) -> str | None:
    """virXMLPropTristateBool/Enum: the attribute if valid, None if absent; libvirt's error otherwise."""
    if elem is None:
        return None
    value = elem.get(attr)
    if value is None:
        if required:
            raise xml_err(f"Missing required attribute '{attr}' in element '{elem.tag}'", c.VIR_FROM_XML)
        return None
    if value not in values:
        raise xml_err(f"Invalid value for attribute '{attr}' in element '{elem.tag}': '{value}'.",
                      c.VIR_FROM_XML, c.VIR_ERR_XML_ERROR)
    return value


def yes_no(value: str | None) -> bool | None:
    """'yes' -> True, 'no' -> False, other -> None."""
    return {"yes": True, "no": False}.get(value or "")


_DEC = re.compile(r"^\s*[+-]?[0-9]+$")
_HEX = re.compile(r"^\s*[+-]?(0[xX])?[0-9a-fA-F]+$")
_OCT = re.compile(r"^\s*[+-]?[0-7]+$")


def _strtol(value: str | None, base: int = 10) -> int | None:
    """strtol/strtoul as libvirt's virStrToLong_* use them: the whole string must be a number."""
    if value is None:
        return None
    s = value.strip()
    if base == 0:
        body = s.lstrip("+-")
        if body[:2].lower() == "0x":
            base = 16
        elif len(body) > 1 and body.startswith("0"):
            base = 8
        else:
            base = 10
    pattern = {10: _DEC, 16: _HEX, 8: _OCT}.get(base)
    if pattern is None or not pattern.match(value) or value != value.rstrip():
        return None
    return int(s, base)


def strtoui(value: str | None, base: int = 10) -> int | None:
    """virStrToLong_ui: unsigned 32-bit; "-N" wraps as in C (so "-1" is UINT_MAX)."""
    num = _strtol(value, base)
    if num is None:
        return None
    if num < 0:
        return None if -num > 0xFFFFFFFF else num & 0xFFFFFFFF
    return num if num <= 0xFFFFFFFF else None


def parse_uint(elem: Element | None, attr: str, domain: int, base: int = 10,
               nonzero: bool = False, maximum: int = 0xFFFFFFFF, required: bool = False) -> int | None:
    """virXMLPropUInt: None when absent; libvirt's error when not an unsigned number."""
    if elem is None or elem.get(attr) is None:
        if required and elem is not None:
            raise xml_err(f"Missing required attribute '{attr}' in element '{elem.tag}'", c.VIR_FROM_XML)
        return None
    raw = elem.get(attr, "")
    value = _strtol(raw, base)
    if value is None or value < 0 or value > maximum:
        raise xml_err(f"Invalid value for attribute '{attr}' in element '{elem.tag}': '{raw}'. "
                      "Expected non-negative integer value", c.VIR_FROM_XML)
    if nonzero and value == 0:
        raise xml_err(f"Invalid value for attribute '{attr}' in element '{elem.tag}': "
                      "Zero is not permitted", c.VIR_FROM_XML)
    return value


def parse_int(text: str | None, base: int = 10) -> int | None:
    """strtol-like parse; None if not a number."""
    if text is None:
        return None
    return _strtol(text, base)


def copy_metadata(src: Element | None) -> Element | None:
    """Copy a <metadata> element (children only; whitespace dropped)."""
    if src is None:
        return None
    meta = etree.Element("metadata")
    for child in src:
        if isinstance(child.tag, str):
            dup = copy.deepcopy(child)
            _strip_ws(dup)
            meta.append(dup)
    return meta


def _strip_ws(elem: Element) -> None:
    for node in elem.iter():
        if len(node) and node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None


def _none_err(detail: str, code: int = c.VIR_ERR_XML_ERROR) -> LibvirtError:
    """An error reported from libvirt's util/netdev helpers (domain VIR_FROM_NONE)."""
    return make_error(code, detail, c.VIR_FROM_NONE)


def _ull(raw: str) -> int | None:
    """virStrToLong_ullp: a non-negative decimal (no sign)."""
    s = raw.strip()
    return int(s) if s.isdigit() and int(s) <= 0xFFFFFFFFFFFFFFFF else None


def format_bandwidth(src: Element | None, domain: int = c.VIR_FROM_NONE,
                     allow_floor: bool = False) -> Element | None:
    """virNetDevBandwidthParse + Format (inbound/outbound with average/peak/floor/burst)."""
    if src is None:
        return None
    found: dict[str, Element] = {}
    for child in src:
        if child.tag in ("inbound", "outbound"):
            if child.tag in found:
                raise _none_err(f"Only one child <{child.tag}> element allowed", c.VIR_ERR_XML_DETAIL)
            found[child.tag] = child
    out = E("bandwidth")
    for which in ("inbound", "outbound"):
        rate = found.get(which)
        if rate is None:
            continue
        raw = {key: rate.get(key) for key in ("average", "peak", "burst", "floor")}
        vals: dict[str, int] = {}
        if raw["average"] is not None:
            num = _ull(raw["average"])
            if num is None:
                raise _none_err(f"could not convert bandwidth average value '{raw['average']}'",
                                c.VIR_ERR_CONFIG_UNSUPPORTED)
            vals["average"] = num
        elif raw["floor"] is None:
            raise _none_err("Missing mandatory average or floor attributes", c.VIR_ERR_XML_DETAIL)
        if (raw["peak"] is not None or raw["burst"] is not None) and raw["average"] is None:
            raise _none_err("'peak' and 'burst' require 'average' attribute", c.VIR_ERR_CONFIG_UNSUPPORTED)
        for key in ("peak", "burst", "floor"):
            if raw[key] is not None:
                num = _ull(raw[key] or "")
                if num is None:
                    raise _none_err(f"could not convert bandwidth {key} value '{raw[key]}'",
                                    c.VIR_ERR_CONFIG_UNSUPPORTED)
                vals[key] = num
        if vals.get("floor"):
            if which == "inbound" and not allow_floor:
                raise _none_err("floor attribute is not supported for this config", c.VIR_ERR_CONFIG_UNSUPPORTED)
            if which == "outbound":
                raise _none_err("'floor' attribute allowed only in <inbound> element",
                                c.VIR_ERR_CONFIG_UNSUPPORTED)
        if not (vals.get("average") or vals.get("floor")):
            continue
        add(out, E(which, *[(k, vals.get(k) or None) for k in ("average", "peak", "floor", "burst")]))
    # libvirt keeps an empty <bandwidth> only when <inbound>/<outbound> were given
    return out if found else None


def format_vlan(src: Element | None, domain: int = c.VIR_FROM_NONE) -> Element | None:
    """virNetDevVlanParse + Format."""
    if src is None:
        return None
    tags = src.findall("tag")
    if not tags:
        raise _none_err("missing tag id - each <vlan> must have at least one <tag id='n'/> subelement")
    out_tags = []
    native = None
    for tag in tags:
        tid = parse_uint(tag, "id", c.VIR_FROM_XML, required=True)
        assert tid is not None
        if tid > 4095:
            raise _none_err(f"vlan tag id {tid} too large (maximum 4095)")
        mode = tag.get("nativeMode")
        if mode is not None:
            if mode not in ("tagged", "untagged"):
                raise xml_err(f"Invalid value for attribute 'nativeMode' in element 'tag': '{mode}'.",
                              c.VIR_FROM_XML)
            if native is not None:
                raise _none_err("duplicate native vlan setting")
            native = mode
        out_tags.append(E("tag", ("id", tid), ("nativeMode", mode)))
    is_trunk = len(tags) > 1
    trunk = xs(src, "./@trunk") or None
    if trunk is not None:
        is_trunk = trunk.lower() == "yes"
        if not is_trunk:
            if len(tags) > 1:
                raise _none_err(f"invalid \"trunk='{trunk}'\" in <vlan> - trunk='yes' is required for more "
                                "than one vlan tag")
            if native is not None:
                raise _none_err("invalid configuration in <vlan> - \"trunk='no'\" is not allowed with a "
                                "native vlan id")
            if trunk.lower() != "no":
                raise _none_err(f"invalid \"trunk='{trunk}'\" in <vlan> - must be yes or no")
    out = E("vlan", ("trunk", "yes" if is_trunk else None))
    for t in out_tags:
        out.append(t)
    return out


_VPORT_TYPES = ("802.1Qbg", "802.1Qbh", "openvswitch", "midonet")
_VPORT_FORMAT = {
    "managerid": ("802.1Qbg", None), "typeid": ("802.1Qbg", None), "typeidversion": ("802.1Qbg", None),
    "instanceid": ("802.1Qbg", None), "interfaceid": ("midonet", "openvswitch", None),
    "profileid": ("openvswitch", "802.1Qbh", None),
}
_VPORT_EXTRAS = {
    "802.1Qbg": ("profileid", "interfaceid"),
    "802.1Qbh": ("managerid", "typeid", "typeidversion", "instanceid", "interfaceid"),
    "openvswitch": ("managerid", "typeid", "typeidversion", "instanceid"),
}


def format_virtualport(src: Element | None, domain: int = c.VIR_FROM_NONE,
                       require_type: bool = True) -> Element | None:
    """virNetDevVPortProfileParse + Format (parameters checked, extras refused, as libvirt)."""
    if src is None:
        return None
    vtype = src.get("type")
    if vtype is not None and vtype not in _VPORT_TYPES:
        raise _none_err(f"unknown virtualport type {vtype}", c.VIR_ERR_CONFIG_UNSUPPORTED)
    if vtype is None and require_type:
        raise _none_err("missing required virtualport type")
    params = src.find("parameters")
    raw = {k: (params.get(k) if params is not None else None) for k in _VPORT_FORMAT}
    vals: dict[str, object] = {}
    for key, limit in (("managerid", 0xFF), ("typeid", 0xFFFFFF), ("typeidversion", 0xFF)):
        if raw[key] is None:
            continue
        num = strtoui(raw[key] or "", 0)
        if num is None:
            raise _none_err(f"cannot parse value of {key} parameter")
        if num > limit:
            raise _none_err(f"value {'for' if key == 'typeid' else 'of'} {key} out of range")
        vals[key] = num
    for key in ("instanceid", "profileid", "interfaceid"):
        if raw[key] is None:
            continue
        if key == "profileid":
            if len(raw[key] or "") >= 40:
                raise _none_err("profileid parameter too long")
            if raw[key]:
                vals[key] = raw[key]
            continue
        parsed = parse_uuid(raw[key] or "")
        if parsed is None:
            raise _none_err(f"cannot parse {key} parameter as a uuid")
        vals[key] = parsed
    for extra in _VPORT_EXTRAS.get(vtype or "", ()):
        if extra in vals:
            raise _none_err(f"extra {extra} unsupported in <virtualport type='{vtype}'>")
    if vtype is None and not vals:
        return None
    out = E("virtualport", ("type", vtype))
    if vals:
        out.append(E("parameters", *[(k, vals[k]) for k in _VPORT_FORMAT
                                     if k in vals and vtype in _VPORT_FORMAT[k]]))
    return out


def format_pci_address(src: Element, domain: int = c.VIR_FROM_DEVICE) -> Element:
    """virPCIDeviceAddressParseXML + Format (type='pci' with 0x-padded fields)."""
    vals = {key: parse_uint(src, key, c.VIR_FROM_XML, base=0) or 0
            for key in ("domain", "bus", "slot", "function")}
    if any(vals.values()):
        if vals["bus"] > 0xFF:
            raise xml_err(f"Invalid PCI address bus='0x{vals['bus']:x}', must be <= 0xFF", c.VIR_FROM_DEVICE)
        if vals["slot"] > 0x1F:
            raise xml_err(f"Invalid PCI address slot='0x{vals['slot']:x}', must be <= 0x1F", c.VIR_FROM_DEVICE)
        if vals["function"] > 7:
            raise xml_err(f"Invalid PCI address function=0x{vals['function']:x}, must be <= 7", c.VIR_FROM_DEVICE)
    return E("address", ("type", "pci"), ("domain", f"0x{vals['domain']:04x}"), ("bus", f"0x{vals['bus']:02x}"),
             ("slot", f"0x{vals['slot']:02x}"), ("function", f"0x{vals['function']:x}"))


_UNITS = {
    "": 1, "b": 1, "bytes": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024 ** 2, "mib": 1024 ** 2, "mb": 1000 ** 2,
    "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3,
    "t": 1024 ** 4, "tib": 1024 ** 4, "tb": 1000 ** 4,
    "p": 1024 ** 5, "pib": 1024 ** 5, "pb": 1000 ** 5,
    "e": 1024 ** 6, "eib": 1024 ** 6, "eb": 1000 ** 6,
}


def scaled_integer(value: str, unit: str | None, default_scale: int = 1) -> int | None:
    """virScaleInteger: *value* times *unit*; None on a bad number, raises KeyError on a bad unit."""
    num = parse_int(value)
    if num is None or num < 0:
        return None
    if unit is None or unit == "":
        scale = default_scale
    else:
        scale = _UNITS[unit.lower()]
    result = num * scale
    if result > 0xFFFFFFFFFFFFFFFF:
        raise OverflowError
    return result


class XMLModel:
    """Base for models holding a canonical lxml tree in ``self.root``."""

    root: Element
    _format_hook: Callable[["XMLModel", Element, bool], None] | None = None

    def copy(self) -> "XMLModel":
        """A deep copy."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.root = copy.deepcopy(self.root)
        return new

    def _find(self, path: str) -> Element | None:
        return self.root.find(path)

    def _ensure(self, tag: str, after: tuple[str, ...]) -> Element:
        """The child *tag* of the root, created after the last of *after* if missing."""
        found = self.root.find(tag)
        if found is not None:
            return found
        elem = etree.Element(tag)
        pos = 0
        for i, child in enumerate(self.root):
            if child.tag in after:
                pos = i + 1
        self.root.insert(pos, elem)
        return elem


def format_doc(root: Element) -> str:
    """format_xml, but ``<metadata>`` children dumped as libxml2 does (double quotes)."""
    from .xmlutil import format_xml
    metas = [m for m in root.iter("metadata") if len(m)]
    if not metas:
        return _open_close(format_xml(root))
    tree = copy.deepcopy(root)
    saved: list[list[Element]] = []
    for i, meta in enumerate(m for m in tree.iter("metadata") if len(m)):
        saved.append(list(meta))
        for child in list(meta):
            meta.remove(child)
        meta.text = f"@@META{i}@@"
    text = format_xml(tree)
    for i, children in enumerate(saved):
        marker = f"@@META{i}@@"
        line_start = text.rfind("\n", 0, text.index(marker)) + 1
        pad = " " * (text.index("<metadata>", line_start) - line_start) + "  "
        body = "".join(etree.tostring(ch, pretty_print=True, encoding="unicode") for ch in children)
        body = "\n".join(pad + line for line in body.rstrip("\n").split("\n"))
        text = text.replace(marker, "\n" + body + "\n" + pad[:-2], 1)
    return _open_close(text)


OPEN = "@@OPEN@@"
_OPEN_RE = re.compile(r"^( *)(<[^>]*>)" + OPEN + r"(</[^>]*>)$", re.M)


def keep_open(elem: Element) -> None:
    """Make *elem* print as ``<x ...>`` and ``</x>`` on two lines even when empty (as libvirt does)."""
    if not len(elem) and not elem.text:
        elem.text = OPEN


EMPTY = "@@EMPTY@@"
SPACE_CLOSE = "@@SPACECLOSE@@"
_SPACE_CLOSE_RE = re.compile(r"(<[^<>]*)>" + SPACE_CLOSE + r"</[^<>]*>")


def keep_empty(elem: Element) -> None:
    """Make an element with empty text print as ``<x></x>`` (libvirt's "<x>%s</x>" with "")."""
    elem.text = EMPTY


def space_close(elem: Element) -> None:
    """Make an empty element print as ``<x a='b' />`` (a few libvirt formatters write it so)."""
    elem.text = SPACE_CLOSE


def _open_close(text: str) -> str:
    text = _OPEN_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}\n{m.group(1)}{m.group(3)}", text)
    text = text.replace(EMPTY, "")
    return _SPACE_CLOSE_RE.sub(lambda m: m.group(1) + " />", text)


def xs(elem: Element, path: str) -> str:
    """XPath ``string(path)`` evaluated on *elem* ('' when absent)."""
    return str(elem.xpath(f"string({path})"))


def attrs_of(elem: Element) -> dict[str, str]:
    """*elem*'s attributes as a plain str dict (in document order)."""
    return {str(k): str(v) for k, v in elem.attrib.items()}


def drop_attr(elem: Element, key: str) -> None:
    """Remove attribute *key* from *elem* if present."""
    if key in elem.attrib:
        del elem.attrib[key]


def parse_doc(text: str | bytes, root: str | None, what: str, domain: int) -> Element:
    """:func:`~pyvirt.conf.xmlutil.parse_xml` after clearing lxml's error log.

    lxml accumulates syntax errors of earlier documents in the exception's error log
    (per thread), and parse_xml reports the log's first entry; clearing it first makes
    the message describe this document.
    """
    from .xmlutil import parse_xml
    etree.clear_error_log()
    return parse_xml(text, root, what, domain)
