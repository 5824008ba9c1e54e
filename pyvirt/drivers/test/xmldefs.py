"""XML models used by the test driver.

The shared conf models (``pyvirt.conf.domain`` etc.) are preferred. While one
is missing, a small lxml-backed stand-in with the same attribute names is used
so the driver keeps working; the stand-ins only know what the test driver needs.
"""

from __future__ import annotations

import copy
import uuid as uuidlib
from typing import Any

from lxml import etree

from ... import constants as c
from ...conf.xmlutil import format_xml, parse_xml
from ...errors import make_error

__all__ = ["DomainDef", "SnapshotDef", "NetworkDef", "StoragePoolDef", "StorageVolDef",
           "NodeDeviceDef", "InterfaceDef", "capabilities_xml", "uuid_str", "uuid_bytes",
           "TEST_NS"]

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"

_UNITS = {"b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024 ** 2, "mib": 1024 ** 2,
          "mb": 1000 ** 2, "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3, "t": 1024 ** 4,
          "tib": 1024 ** 4, "tb": 1000 ** 4, "p": 1024 ** 5, "pib": 1024 ** 5, "pb": 1000 ** 5,
          "e": 1024 ** 6, "eib": 1024 ** 6, "eb": 1000 ** 6}


def uuid_str(raw: bytes) -> str:
    return str(uuidlib.UUID(bytes=bytes(raw)))


def uuid_bytes(text: str) -> bytes:
    return uuidlib.UUID(text.replace("-", "").strip()).bytes


def _scaled(elem: Any, default_unit: str) -> int:
    unit = (elem.get("unit") or default_unit).lower()
    try:
        value = int((elem.text or "").strip())
    except ValueError:
        raise make_error(c.VIR_ERR_XML_ERROR, f"invalid value '{elem.text}'", c.VIR_FROM_XML) from None
    if unit not in _UNITS:
        raise make_error(c.VIR_ERR_INVALID_ARG, f"unknown suffix '{unit}'", c.VIR_FROM_XML)
    return value * _UNITS[unit]


def _parse_uuid(root: Any, what: str) -> str:
    text = root.findtext("uuid")
    if text is None:
        return str(uuidlib.uuid4())
    try:
        return str(uuidlib.UUID(text.strip()))
    except ValueError:
        raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"malformed uuid element", c.VIR_FROM_XML) from None


class _Base:
    """An lxml tree with name/uuid helpers."""

    root_tag = ""
    what = ""

    def __init__(self, root: Any) -> None:
        self.root = root

    def copy(self) -> Any:
        return type(self)(copy.deepcopy(self.root))

    @property
    def name(self) -> str:
        return (self.root.findtext("name") or "").strip()

    @name.setter
    def name(self, value: str) -> None:
        el = self.root.find("name")
        if el is None:
            el = etree.SubElement(self.root, "name")
        el.text = value


class _LocalDomainDef(_Base):
    """Stand-in for pyvirt.conf.domain.DomainDef."""

    root_tag = "domain"

    @classmethod
    def parse(cls, xml: str, **_kw: Any) -> Any:
        root = parse_xml(xml, "domain", "domain_definition")
        return cls.from_element(root)

    @classmethod
    def from_element(cls, root: Any) -> Any:
        root = copy.deepcopy(root)
        for el in list(root):
            if isinstance(el.tag, str) and el.tag.startswith("{" + TEST_NS):
                root.remove(el)
        if root.get("type") is None:
            raise make_error(c.VIR_ERR_XML_ERROR, "missing domain type attribute", c.VIR_FROM_DOMAIN)
        if not (root.findtext("name") or "").strip():
            raise make_error(c.VIR_ERR_NO_NAME, None, c.VIR_FROM_DOMAIN,
                             message="missing name information")
        self = cls(root)
        u = _parse_uuid(root, "domain")
        el = root.find("uuid")
        if el is None:
            el = etree.Element("uuid")
            root.find("name").addnext(el)
        el.text = u
        if root.find("memory") is None:
            raise make_error(c.VIR_ERR_XML_ERROR, "missing memory element", c.VIR_FROM_DOMAIN,
                             message="XML error: could not find memory element") if False else \
                make_error(c.VIR_ERR_INTERNAL_ERROR, "Memory size must be specified via <memory> or in the <numa> configuration", c.VIR_FROM_DOMAIN)
        if root.find("os/type") is None:
            raise make_error(c.VIR_ERR_XML_ERROR, "an os <type> must be specified", c.VIR_FROM_DOMAIN)
        return self

    # identity
    @property
    def uuid(self) -> str:
        return (self.root.findtext("uuid") or "").strip()

    @property
    def uuid_bytes(self) -> bytes:
        return uuid_bytes(self.uuid)

    @property
    def type(self) -> str:
        return self.root.get("type", "test")

    def _text_prop(self, tag: str) -> str | None:
        return self.root.findtext(tag)

    def _set_text(self, tag: str, value: str | None, after: tuple[str, ...]) -> None:
        el = self.root.find(tag)
        if not value:
            if el is not None:
                self.root.remove(el)
            return
        if el is None:
            el = etree.Element(tag)
            anchor = None
            for t in after:
                found = self.root.find(t)
                if found is not None:
                    anchor = found
            if anchor is not None:
                anchor.addnext(el)
            else:
                self.root.insert(0, el)
        el.text = value

    @property
    def title(self) -> str | None:
        return self._text_prop("title")

    @title.setter
    def title(self, value: str | None) -> None:
        self._set_text("title", value, ("name", "uuid", "genid"))

    @property
    def description(self) -> str | None:
        return self._text_prop("description")

    @description.setter
    def description(self, value: str | None) -> None:
        self._set_text("description", value, ("name", "uuid", "genid", "title"))

    def metadata(self, type_: int, uri: str | None = None) -> str:
        if type_ == c.VIR_DOMAIN_METADATA_DESCRIPTION:
            val = self.description
        elif type_ == c.VIR_DOMAIN_METADATA_TITLE:
            val = self.title
        elif type_ == c.VIR_DOMAIN_METADATA_ELEMENT:
            if not uri:
                raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_DOMAIN,
                                 message="uri in virDomainGetMetadata must not be NULL")
            el = self.get_metadata(uri)
            val = None
            if el is not None:
                el = copy.deepcopy(el)
                for node in el.iter():
                    if isinstance(node.tag, str):
                        node.tag = etree.QName(node).localname
                etree.cleanup_namespaces(el)
                val = format_xml(el).rstrip("\n")
        else:
            raise make_error(c.VIR_ERR_INVALID_ARG, f"unknown metadata type '{type_}'", c.VIR_FROM_DOMAIN)
        if not val:
            raise make_error(c.VIR_ERR_NO_DOMAIN_METADATA, None, c.VIR_FROM_DOMAIN,
                             message="metadata not found: Requested metadata element is not present")
        return val

    def set_metadata(self, type_: int, value: str | None, key: str | None = None,
                     uri: str | None = None) -> None:
        if type_ == c.VIR_DOMAIN_METADATA_DESCRIPTION:
            self.description = value or None
        elif type_ == c.VIR_DOMAIN_METADATA_TITLE:
            self.title = value or None
        elif type_ == c.VIR_DOMAIN_METADATA_ELEMENT:
            if not uri:
                raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_DOMAIN,
                                 message="uri in virDomainSetMetadata must not be NULL")
            if value:
                src = parse_xml(value, None, "(metadata_xml)")
                new = etree.Element("{%s}%s" % (uri, etree.QName(src).localname), nsmap={key: uri})
                _copy_into_ns(src, new, uri)
                self._put_metadata(uri, new)
            else:
                self._put_metadata(uri, None)
        else:
            raise make_error(c.VIR_ERR_INVALID_ARG, f"unknown metadata type '{type_}'", c.VIR_FROM_DOMAIN)

    # metadata: namespace uri -> element
    def get_metadata(self, uri: str) -> Any | None:
        md = self.root.find("metadata")
        if md is None:
            return None
        for el in md:
            if isinstance(el.tag, str) and el.tag.startswith("{" + uri + "}"):
                return el
        return None

    def _put_metadata(self, uri: str, elem: Any | None) -> None:
        md = self.root.find("metadata")
        if md is not None:
            for el in list(md):
                if isinstance(el.tag, str) and el.tag.startswith("{" + uri + "}"):
                    md.remove(el)
        if elem is None:
            if md is not None and len(md) == 0:
                self.root.remove(md)
            return
        if md is None:
            md = etree.Element("metadata")
            anchor = None
            for t in ("name", "uuid", "genid", "title", "description"):
                if self.root.find(t) is not None:
                    anchor = self.root.find(t)
            anchor.addnext(md)  # type: ignore[union-attr]
        md.append(elem)

    # memory (KiB)
    @property
    def memory(self) -> int:
        el = self.root.find("memory")
        return _scaled(el, "KiB") // 1024 if el is not None else 0

    @memory.setter
    def memory(self, kib: int) -> None:
        el = self.root.find("memory")
        el.text = str(kib)
        el.set("unit", "KiB")

    @property
    def current_memory(self) -> int:
        el = self.root.find("currentMemory")
        if el is None:
            return self.memory
        return min(_scaled(el, "KiB") // 1024, self.memory)

    @current_memory.setter
    def current_memory(self, kib: int) -> None:
        el = self.root.find("currentMemory")
        if el is None:
            el = etree.Element("currentMemory")
            self.root.find("memory").addnext(el)
        el.text = str(kib)
        el.set("unit", "KiB")

    @property
    def max_vcpus(self) -> int:
        el = self.root.find("vcpu")
        return int(el.text) if el is not None and el.text else 1

    @max_vcpus.setter
    def max_vcpus(self, n: int) -> None:
        el = self._vcpu_el()
        el.text = str(n)
        if el.get("current") is not None and int(el.get("current")) >= n:
            del el.attrib["current"]

    @property
    def vcpus(self) -> int:
        el = self.root.find("vcpu")
        if el is not None and el.get("current"):
            return int(el.get("current"))
        return self.max_vcpus

    @vcpus.setter
    def vcpus(self, n: int) -> None:
        el = self._vcpu_el()
        if n == self.max_vcpus:
            el.attrib.pop("current", None)
        else:
            el.set("current", str(n))

    def _vcpu_el(self) -> Any:
        el = self.root.find("vcpu")
        if el is None:
            el = etree.Element("vcpu")
            el.text = "1"
            (self.root.find("currentMemory") or self.root.find("memory")).addnext(el)
        return el

    @property
    def os_type(self) -> str:
        return (self.root.findtext("os/type") or "hvm").strip()

    @property
    def on_poweroff(self) -> str:
        return (self.root.findtext("on_poweroff") or "destroy").strip()

    @on_poweroff.setter
    def on_poweroff(self, v: str) -> None:
        self._set_text("on_poweroff", v, ("clock", "os", "vcpu", "memory", "currentMemory"))

    @property
    def on_reboot(self) -> str:
        return (self.root.findtext("on_reboot") or "restart").strip()

    @on_reboot.setter
    def on_reboot(self, v: str) -> None:
        self._set_text("on_reboot", v, ("clock", "os", "on_poweroff"))

    @property
    def on_crash(self) -> str:
        return (self.root.findtext("on_crash") or "destroy").strip()

    @on_crash.setter
    def on_crash(self, v: str) -> None:
        self._set_text("on_crash", v, ("clock", "os", "on_poweroff", "on_reboot"))

    @property
    def disks(self) -> list["_Dev"]:
        return [_Dev(el) for el in self.root.findall("devices/disk")]

    @property
    def interfaces(self) -> list["_Dev"]:
        return [_Dev(el) for el in self.root.findall("devices/interface")]

    @property
    def iothread_ids(self) -> list[int]:
        ids = [int(el.get("id")) for el in self.root.findall("iothreadids/iothread")]
        n = int(self.root.findtext("iothreads") or 0)
        i = 1
        while len(ids) < n:
            if i not in ids:
                ids.append(i)
            i += 1
        return sorted(ids)

    def set_iothread_ids(self, ids: list[int]) -> None:
        for tag in ("iothreads", "iothreadids"):
            el = self.root.find(tag)
            if el is not None:
                self.root.remove(el)
        if not ids:
            return
        n = etree.Element("iothreads")
        n.text = str(len(ids))
        lst = etree.Element("iothreadids")
        for i in ids:
            etree.SubElement(lst, "iothread", id=str(i))
        self._vcpu_el().addnext(n)
        n.addnext(lst)

    # devices
    def attach_device(self, xml: str) -> None:
        el = parse_xml(xml, None, "device_definition")
        devs = self.root.find("devices")
        if devs is None:
            devs = etree.SubElement(self.root, "devices")
        devs.append(el)

    def detach_device(self, xml: str) -> None:
        el = parse_xml(xml, None, "device_definition")
        for dev in self.root.findall("devices/" + el.tag):
            if _dev_matches(dev, el):
                dev.getparent().remove(dev)
                return
        raise make_error(c.VIR_ERR_DEVICE_MISSING, "matching device not found", c.VIR_FROM_DOMAIN,
                         message="device not found: matching device not found")

    def update_device(self, xml: str) -> None:
        el = parse_xml(xml, None, "device_definition")
        for dev in self.root.findall("devices/" + el.tag):
            if _dev_matches(dev, el):
                dev.getparent().replace(dev, el)
                return
        raise make_error(c.VIR_ERR_DEVICE_MISSING, "matching device not found", c.VIR_FROM_DOMAIN,
                         message="device not found: matching device not found")

    # output
    _ORDER = ("name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory",
              "currentMemory", "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads",
              "iothreadids", "cputune", "numatune", "resource", "sysinfo", "bootloader",
              "bootloader_args", "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot",
              "on_crash", "pm", "perf", "devices", "seclabel")

    def to_xml(self, id: int | None = None, inactive: bool = False, secure: bool = False,
               migratable: bool = False) -> str:
        src = copy.deepcopy(self.root)
        out = etree.Element("domain", nsmap=src.nsmap)
        out.set("type", src.get("type", "test"))
        if id is not None and not inactive:
            out.set("id", str(id))
        mem = src.find("memory")
        if mem is not None:
            mem.text = str(_scaled(mem, "KiB") // 1024)
            mem.attrib.clear()
            mem.set("unit", "KiB")
        cur = src.find("currentMemory")
        if cur is None and mem is not None:
            cur = etree.Element("currentMemory")
            mem.addnext(cur)
        if cur is not None:
            cur.text = str(self.current_memory)
            cur.attrib.clear()
            cur.set("unit", "KiB")
        vcpu = src.find("vcpu")
        if vcpu is None:
            vcpu = etree.Element("vcpu")
            vcpu.text = "1"
            src.append(vcpu)
        if vcpu.get("placement") is None:
            attrs = dict(vcpu.attrib)
            vcpu.attrib.clear()
            vcpu.set("placement", "static")
            for k, v in attrs.items():
                vcpu.set(k, v)
        os_el = src.find("os")
        if os_el is not None:
            t = os_el.find("type")
            if t is not None and t.get("arch") is None:
                t.set("arch", "i686")
            if os_el.find("boot") is None and os_el.find("kernel") is None and self.os_type == "hvm":
                etree.SubElement(os_el, "boot", dev="hd")
        defaults = {"clock": None, "on_poweroff": "destroy", "on_reboot": "restart", "on_crash": "destroy"}
        for tag, val in defaults.items():
            if src.find(tag) is None:
                el = etree.SubElement(src, tag)
                if val is None:
                    el.set("offset", "utc")
                else:
                    el.text = val
        if src.find("devices") is None:
            etree.SubElement(src, "devices")
        for dev in src.findall("devices/*"):
            addr = dev.find("address")
            if addr is not None and addr.get("type") == "pci":
                for key, width in (("domain", 4), ("bus", 2), ("slot", 2), ("function", 1)):
                    if addr.get(key) is not None:
                        addr.set(key, f"0x{int(addr.get(key), 0):0{width}x}")
            if dev.tag == "interface":
                s = dev.find("source")
                if s is not None and dev.get("type") == "network":
                    s.attrib.pop("bridge", None)
                if inactive:
                    t = dev.find("target")
                    if t is not None and (t.get("dev") or "").startswith("testnet"):
                        dev.remove(t)
        order = {t: i for i, t in enumerate(self._ORDER)}
        kids = [k for k in src if isinstance(k.tag, str)]
        kids.sort(key=lambda k: order.get(k.tag, len(order)))
        for k in kids:
            out.append(k)
        return format_xml(out)


def _copy_into_ns(src: Any, dst: Any, uri: str) -> None:
    """Copy *src*'s attributes, text and children into *dst*, moving elements into *uri*."""
    for k, v in src.attrib.items():
        dst.set(k, v)
    dst.text = src.text
    for child in src:
        if not isinstance(child.tag, str):
            continue
        new = etree.SubElement(dst, "{%s}%s" % (uri, etree.QName(child).localname))
        _copy_into_ns(child, new, uri)
        new.tail = child.tail


def _dev_matches(dev: Any, want: Any) -> bool:
    for path, attr in (("target", "dev"), ("mac", "address"), ("source", "file"), ("alias", "name")):
        w = want.find(path)
        if w is not None and w.get(attr) is not None:
            d = dev.find(path)
            return d is not None and d.get(attr) == w.get(attr)
    return True


class _Dev:
    """A device element with the attributes the driver uses."""

    def __init__(self, el: Any) -> None:
        self.el = el

    @property
    def target_dev(self) -> str | None:
        t = self.el.find("target")
        return t.get("dev") if t is not None else None

    @target_dev.setter
    def target_dev(self, value: str) -> None:
        t = self.el.find("target")
        if t is None:
            t = etree.Element("target")
            anchor = self.el.find("source") if self.el.find("source") is not None else self.el.find("mac")
            if anchor is not None:
                anchor.addnext(t)
            else:
                self.el.append(t)
        t.set("dev", value)

    @property
    def mac(self) -> str | None:
        m = self.el.find("mac")
        return m.get("address") if m is not None else None

    @property
    def type(self) -> str | None:
        return self.el.get("type")

    @property
    def source_network(self) -> str | None:
        s = self.el.find("source")
        return s.get("network") if s is not None else None

    @property
    def source_path(self) -> str | None:
        s = self.el.find("source")
        if s is None:
            return None
        return s.get("file") or s.get("dev") or s.get("name")

    @property
    def device(self) -> str:
        return self.el.get("device", "disk")


class SnapshotDef(_Base):
    """Stand-in for pyvirt.conf.snapshot.SnapshotDef."""

    @classmethod
    def parse(cls, xml: str, domain: Any = None, **_kw: Any) -> "SnapshotDef":
        root = parse_xml(xml, "domainsnapshot", "domainsnapshot")
        return cls(root)

    @classmethod
    def from_element(cls, root: Any) -> "SnapshotDef":
        return cls(copy.deepcopy(root))

    @property
    def name(self) -> str:
        return (self.root.findtext("name") or "").strip()

    @name.setter
    def name(self, value: str) -> None:
        el = self.root.find("name")
        if el is None:
            el = etree.Element("name")
            self.root.insert(0, el)
        el.text = value

    @property
    def description(self) -> str | None:
        return self.root.findtext("description")

    @property
    def state(self) -> str | None:
        return self.root.findtext("state")

    @property
    def parent(self) -> str | None:
        return self.root.findtext("parent/name")

    @property
    def creation_time(self) -> int | None:
        t = self.root.findtext("creationTime")
        return int(t) if t else None

    @property
    def memory_snapshot(self) -> str | None:
        m = self.root.find("memory")
        return m.get("snapshot") if m is not None else None

    @property
    def domain_element(self) -> Any | None:
        return self.root.find("domain")


class _Simple(_Base):
    """A named, UUID'd object kept as its XML tree."""

    what = "object"

    @classmethod
    def parse(cls, xml: str, **_kw: Any) -> Any:
        root = parse_xml(xml, cls.root_tag, cls.what)
        return cls.from_element(root)

    @classmethod
    def from_element(cls, root: Any) -> Any:
        root = copy.deepcopy(root)
        self = cls(root)
        self.validate()
        return self

    def validate(self) -> None:
        pass

    def to_xml(self, **_kw: Any) -> str:
        return format_xml(self.root)


class _UUIDMixin:
    root: Any

    @property
    def uuid(self) -> str:
        return (self.root.findtext("uuid") or "").strip()

    @property
    def uuid_bytes(self) -> bytes:
        return uuid_bytes(self.uuid)

    def _ensure_uuid(self) -> None:
        u = _parse_uuid(self.root, "")
        el = self.root.find("uuid")
        if el is None:
            el = etree.Element("uuid")
            self.root.find("name").addnext(el)
        el.text = u


class NetworkDef(_UUIDMixin, _Simple):
    root_tag = "network"
    what = "network_definition"

    def validate(self) -> None:
        if not self.name:
            raise make_error(c.VIR_ERR_NO_NAME, None, c.VIR_FROM_NETWORK,
                             message="missing name information")
        self._ensure_uuid()

    @property
    def bridge(self) -> str | None:
        b = self.root.find("bridge")
        return b.get("name") if b is not None else None

    @bridge.setter
    def bridge(self, name: str) -> None:
        b = self.root.find("bridge")
        if b is None:
            b = etree.Element("bridge")
            self.root.find("uuid").addnext(b)
        b.set("name", name)

    @property
    def forward_mode(self) -> str | None:
        f = self.root.find("forward")
        if f is None:
            return None
        return f.get("mode", "nat")

    @property
    def ips(self) -> list[Any]:
        return self.root.findall("ip")

    def to_xml(self, **_kw: Any) -> str:
        root = copy.deepcopy(self.root)
        order = ["name", "uuid", "metadata", "forward", "bridge", "mtu", "mac", "domain", "dns", "ip"]
        f = root.find("forward")
        if f is not None and f.get("mode") is None:
            f.set("mode", "nat")
        b = root.find("bridge")
        if b is not None:
            if b.get("stp") is None:
                b.set("stp", "on")
            if b.get("delay") is None:
                b.set("delay", "0")
        kids = list(root)
        kids.sort(key=lambda k: order.index(k.tag) if k.tag in order else len(order))
        for k in kids:
            root.append(k)
        return format_xml(root)


class StoragePoolDef(_UUIDMixin, _Simple):
    root_tag = "pool"
    what = "pool_definition"

    def validate(self) -> None:
        if self.root.get("type") is None:
            raise make_error(c.VIR_ERR_XML_ERROR, "missing storage pool type", c.VIR_FROM_STORAGE)
        if not self.name:
            raise make_error(c.VIR_ERR_XML_ERROR, "missing pool source name element", c.VIR_FROM_STORAGE)
        self._ensure_uuid()

    @property
    def type(self) -> str:
        return self.root.get("type", "dir")

    @property
    def target_path(self) -> str | None:
        return self.root.findtext("target/path")

    @property
    def source_adapter(self) -> Any | None:
        return self.root.find("source/adapter")

    def to_xml(self, capacity: int = 0, allocation: int = 0, available: int = 0, **_kw: Any) -> str:
        root = copy.deepcopy(self.root)
        for t in ("capacity", "allocation", "available"):
            el = root.find(t)
            if el is not None:
                root.remove(el)
        anchor = root.find("uuid")
        for t, v in (("capacity", capacity), ("allocation", allocation), ("available", available)):
            el = etree.Element(t, unit="bytes")
            el.text = str(v)
            anchor.addnext(el)
            anchor = el
        if root.find("source") is None:
            src = etree.Element("source")
            src.text = "\n  "
            anchor.addnext(src)
        out = format_xml(root)
        return out.replace("  <source/>\n", "  <source>\n  </source>\n")


class StorageVolDef(_Simple):
    root_tag = "volume"
    what = "volume_definition"

    def validate(self) -> None:
        if not self.name:
            raise make_error(c.VIR_ERR_XML_ERROR, "missing volume name element", c.VIR_FROM_STORAGE)
        if self.root.find("capacity") is None:
            raise make_error(c.VIR_ERR_XML_ERROR, "missing capacity element", c.VIR_FROM_STORAGE)

    @property
    def capacity(self) -> int:
        return _scaled(self.root.find("capacity"), "bytes")

    @capacity.setter
    def capacity(self, v: int) -> None:
        el = self.root.find("capacity")
        el.attrib.clear()
        el.text = str(v)

    @property
    def allocation(self) -> int:
        el = self.root.find("allocation")
        return _scaled(el, "bytes") if el is not None else self.capacity

    @allocation.setter
    def allocation(self, v: int) -> None:
        el = self.root.find("allocation")
        if el is None:
            el = etree.Element("allocation")
            self.root.find("capacity").addnext(el)
        el.attrib.clear()
        el.text = str(v)

    @property
    def key(self) -> str | None:
        return self.root.findtext("key")

    @key.setter
    def key(self, v: str) -> None:
        el = self.root.find("key")
        if el is None:
            el = etree.Element("key")
            self.root.find("name").addnext(el)
        el.text = v

    @property
    def target_path(self) -> str | None:
        return self.root.findtext("target/path")

    @target_path.setter
    def target_path(self, v: str) -> None:
        t = self.root.find("target")
        if t is None:
            t = etree.SubElement(self.root, "target")
        p = t.find("path")
        if p is None:
            p = etree.Element("path")
            t.insert(0, p)
        p.text = v

    def to_xml(self, vol_type: str = "file", **_kw: Any) -> str:
        root = copy.deepcopy(self.root)
        root.set("type", root.get("type") or vol_type)
        order = ["name", "key", "source", "capacity", "allocation", "physical", "target"]
        for tag, val in (("capacity", self.capacity), ("allocation", self.allocation)):
            el = root.find(tag)
            if el is None:
                el = etree.SubElement(root, tag)
            el.attrib.clear()
            el.set("unit", "bytes")
            el.text = str(val)
        kids = list(root)
        kids.sort(key=lambda k: order.index(k.tag) if k.tag in order else len(order))
        for k in kids:
            root.append(k)
        t = root.find("target")
        if t is not None and t.find("format") is None:
            fmt = etree.SubElement(t, "format", type="raw")
            del fmt
        return format_xml(root)


class NodeDeviceDef(_Simple):
    root_tag = "device"
    what = "nodedev_definition"

    @property
    def parent(self) -> str | None:
        return self.root.findtext("parent")

    @parent.setter
    def parent(self, v: str) -> None:
        el = self.root.find("parent")
        if el is None:
            el = etree.Element("parent")
            self.root.find("name").addnext(el)
        el.text = v

    @property
    def caps(self) -> list[str]:
        """Capability names as virNodeDeviceListCaps reports them."""
        out: list[str] = []
        for cap in self.root.findall("capability"):
            t = cap.get("type")
            out.append(t)
            for sub in cap.findall("capability"):
                st = sub.get("type")
                if st in ("fc_host", "vport_ops", "mdev_types", "vpd"):
                    out.append(st)
        return out

    def to_xml(self, **_kw: Any) -> str:
        root = copy.deepcopy(self.root)
        if root.find("path") is None and root.find("parent") is not None:
            pass
        return format_xml(root)


class InterfaceDef(_Simple):
    root_tag = "interface"
    what = "interface_definition"

    def validate(self) -> None:
        if self.root.get("type") is None:
            raise make_error(c.VIR_ERR_XML_ERROR, "interface has no type", c.VIR_FROM_INTERFACE)
        if not self.root.get("name"):
            raise make_error(c.VIR_ERR_XML_ERROR, "interface has no name", c.VIR_FROM_INTERFACE)

    @property
    def name(self) -> str:
        return self.root.get("name", "")

    @property
    def mac(self) -> str:
        m = self.root.find("mac")
        return m.get("address", "") if m is not None else ""

    def to_xml(self, **_kw: Any) -> str:
        root = copy.deepcopy(self.root)
        m = root.find("mac")
        if m is not None:
            root.remove(m)
            root.append(m)
        return format_xml(root)


def capabilities_xml(cells: list[dict[str, Any]]) -> str:
    """The test driver's capabilities document (with NUMA *cells*, maybe none)."""
    out = ["<capabilities>", "", "  <host>", "    <cpu>", "      <arch>i686</arch>", "      <features>",
           "        <pae/>", "        <nonpae/>", "      </features>"]
    for size in (4, 8, 2048, 1048576):
        out.append(f"      <pages unit='KiB' size='{size}'/>")
    out += ["    </cpu>", "    <power_management/>", "    <iommu support='no'/>"]
    if cells:
        out += ["    <topology>", f"      <cells num='{len(cells)}'>"]
        for i, cell in enumerate(cells):
            first = 8 if i == 1 else 4
            out += [f"        <cell id='{i}'>", f"          <memory unit='KiB'>{cell['mem']}</memory>",
                    f"          <pages unit='KiB' size='{first}'>{cell['mem'] // first}</pages>",
                    "          <pages unit='KiB' size='2048'>0</pages>",
                    "          <pages unit='KiB' size='1048576'>0</pages>",
                    f"          <cpus num='{len(cell['cpus'])}'>"]
            for cpu in cell["cpus"]:
                out.append(f"            <cpu id='{cpu[0]}' socket_id='{cpu[1]}' die_id='0' "
                           f"core_id='{cpu[2]}' siblings='{cpu[0]}'/>")
            out += ["          </cpus>", "        </cell>"]
        out += ["      </cells>", "    </topology>"]
    else:
        out += ["    <topology>", "      <cells num='0'>", "      </cells>", "    </topology>"]
    out += ["    <secmodel>", "      <model>testSecurity</model>", "      <doi></doi>", "    </secmodel>",
            "  </host>", ""]
    for os_type in ("hvm", "xen"):
        out += ["  <guest>", f"    <os_type>{os_type}</os_type>", "    <arch name='i686'>",
                "      <wordsize>32</wordsize>", "      <emulator>/usr/bin/test-hv</emulator>",
                "      <domain type='test'/>", "    </arch>", "    <features>", "      <pae/>",
                "      <nonpae/>", "    </features>", "  </guest>", ""]
    out.append("</capabilities>")
    return "\n".join(out) + "\n"


try:
    from ...conf.domain import DomainDef as _ConfDomainDef
except ImportError:  # the shared model is not there: use the stand-in
    _ConfDomainDef = None  # type: ignore[assignment,misc]

if _ConfDomainDef is None:
    DomainDef = _LocalDomainDef
else:
    class DomainDef(_ConfDomainDef):  # type: ignore[no-redef]
        """The shared domain model plus the few helpers the test driver uses."""

        @property
        def root(self) -> Any:
            return self.xml

        @classmethod
        def from_element(cls, root: Any) -> Any:
            root = copy.deepcopy(root)
            for el in list(root):
                if isinstance(el.tag, str) and el.tag.startswith("{" + TEST_NS):
                    root.remove(el)
            etree.cleanup_namespaces(root)
            return cls.parse(etree.tostring(root))

        @classmethod
        def parse(cls, text: Any, default_arch: str = "i686") -> Any:  # type: ignore[override]
            base = _ConfDomainDef.parse(text, default_arch)
            # libvirt keeps only the network name for <interface type='network'> sources
            for src in base.xml.findall("devices/interface[@type='network']/source"):
                src.attrib.pop("bridge", None)
            return cls(base.xml)

        def copy(self) -> Any:
            return type(self)(copy.deepcopy(self.xml))

        @property  # type: ignore[misc]
        def disks(self) -> list[_Dev]:  # type: ignore[override]
            return [_Dev(el) for el in self.xml.findall("devices/disk")]

        @property  # type: ignore[misc]
        def interfaces(self) -> list[_Dev]:  # type: ignore[override]
            return [_Dev(el) for el in self.xml.findall("devices/interface")]

        @property
        def on_crash(self) -> str:
            return (self.xml.findtext("on_crash") or "destroy").strip()

        @on_crash.setter
        def on_crash(self, v: str) -> None:
            el = self.xml.find("on_crash")
            if el is None:
                el = etree.SubElement(self.xml, "on_crash")
            el.text = v

        iothread_ids = _LocalDomainDef.iothread_ids
        set_iothread_ids = _LocalDomainDef.set_iothread_ids
        _vcpu_el = _LocalDomainDef._vcpu_el

try:
    from ...conf.network import NetworkDef as _ConfNetworkDef
except ImportError:
    _ConfNetworkDef = None  # type: ignore[assignment,misc]

if _ConfNetworkDef is not None:
    _LocalNetworkDef = NetworkDef

    class NetworkDef(_ConfNetworkDef):  # type: ignore[no-redef]
        """The shared network model with the constructor the loader uses."""

        @classmethod
        def from_element(cls, root: Any) -> Any:
            return cls.parse(etree.tostring(root))

        @classmethod
        def parse(cls, xml: Any) -> Any:  # type: ignore[override]
            return cls(_ConfNetworkDef.parse(xml).root)

        def copy(self) -> Any:
            return type(self)(copy.deepcopy(self.root))

try:
    from ...conf.storage_pool import StoragePoolDef as _ConfPoolDef
except ImportError:
    _ConfPoolDef = None  # type: ignore[assignment,misc]

if _ConfPoolDef is not None:
    class StoragePoolDef(_ConfPoolDef):  # type: ignore[no-redef]
        """The shared pool model; the driver keeps the sizes and passes them in for output."""

        @classmethod
        def from_element(cls, root: Any) -> Any:
            return cls.parse(etree.tostring(root))

        @classmethod
        def parse(cls, xml: Any) -> Any:  # type: ignore[override]
            return cls(_ConfPoolDef.parse(xml).root)

        def copy(self) -> Any:
            return type(self)(copy.deepcopy(self.root))

        def to_xml(self, inactive: bool = False, capacity: int = 0, allocation: int = 0,  # type: ignore[override]
                   available: int = 0) -> str:
            self.capacity, self.allocation, self.available = capacity, allocation, available
            return super().to_xml(inactive)
