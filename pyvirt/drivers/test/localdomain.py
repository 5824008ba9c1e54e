"""A minimal lxml-backed domain model, used when pyvirt.conf.domain is unavailable."""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from ... import constants as c
from ...conf.xmlutil import format_xml, parse_xml
from ...errors import make_error
from .xmlbase import TEST_NS, XmlBase, parse_uuid_text, scaled, uuid_bytes

__all__ = ["LocalDomainDef", "DeviceView", "copy_into_ns"]


class LocalDomainDef(XmlBase):
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
        u = parse_uuid_text(root, "domain")
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
                new = etree.Element("{%s}%s" % (uri, etree.QName(src).localname), nsmap={key or "md": uri})
                copy_into_ns(src, new, uri)
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
        return scaled(el, "KiB") // 1024 if el is not None else 0

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
        return min(scaled(el, "KiB") // 1024, self.memory)

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
    def disks(self) -> list["DeviceView"]:
        return [DeviceView(el) for el in self.root.findall("devices/disk")]

    @property
    def interfaces(self) -> list["DeviceView"]:
        return [DeviceView(el) for el in self.root.findall("devices/interface")]

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
            mem.text = str(scaled(mem, "KiB") // 1024)
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


def copy_into_ns(src: Any, dst: Any, uri: str) -> None:
    """Copy *src*'s attributes, text and children into *dst*, moving elements into *uri*."""
    for k, v in src.attrib.items():
        dst.set(k, v)
    dst.text = src.text
    for child in src:
        if not isinstance(child.tag, str):
            continue
        new = etree.SubElement(dst, "{%s}%s" % (uri, etree.QName(child).localname))
        copy_into_ns(child, new, uri)
        new.tail = child.tail


def _dev_matches(dev: Any, want: Any) -> bool:
    for path, attr in (("target", "dev"), ("mac", "address"), ("source", "file"), ("alias", "name")):
        w = want.find(path)
        if w is not None and w.get(attr) is not None:
            d = dev.find(path)
            return d is not None and d.get(attr) == w.get(attr)
    return True


class DeviceView:
    """A device element with the attributes the driver uses."""

    def __init__(self, el: Any) -> None:
        self.el = el
        self.xml = el  # the attribute name pyvirt.conf.domain's device classes use

    @property
    def target(self) -> str | None:
        return self.target_dev

    @property
    def source(self) -> str | None:
        return self.source_path

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
