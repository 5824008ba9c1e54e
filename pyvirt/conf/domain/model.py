"""The domain definition: an lxml tree with typed properties over it."""

from __future__ import annotations

import copy
import uuid as uuidlib
from typing import Iterator

from lxml import etree

from ... import constants as c
from ...errors import make_error
from ..xmlutil import Element, parse_xml
from . import defaults
from .devices import (DEVICE_TAGS, ChrDef, ControllerDef, DeviceDef, DiskDef, FilesystemDef,
                      GraphicsDef, HostdevDef, InputDef, InterfaceDef, SoundDef, VideoDef, wrap_device)
from .format import canonical_copy, serialize
from .props import XmlProp, detach_node, drop_attr, find_or_make, get_text, set_text

__all__ = ["DomainDef", "parse_device"]

_ALIAS_MARK = "{urn:pyvirt}alias-of-serial"


def parse_device(xml: str) -> Element:
    """Parse one device element (``<disk>``, ``<interface>``...) for attach/detach."""
    elem = parse_xml(xml, what="device_definition", domain=c.VIR_FROM_DOMAIN)
    if elem.tag not in DEVICE_TAGS:
        raise make_error(c.VIR_ERR_CONFIG_UNSUPPORTED, f"unknown device type '{elem.tag}'", c.VIR_FROM_DOMAIN)
    for node in elem.iter():
        if isinstance(node.tag, str) and len(node) and node.text is not None and not node.text.strip():
            node.text = None
    return elem


class DomainDef:
    """A libvirt ``<domain>`` definition.

    ``xml`` is the lxml root and the source of truth: unknown elements
    survive; properties read and write it; :meth:`to_xml` writes it in
    libvirt's canonical order.
    """

    def __init__(self, root: Element) -> None:
        self.xml = root

    # --- construction -------------------------------------------------
    @classmethod
    def parse(cls, text: str | bytes, default_arch: str = "i686", inactive: bool = True) -> "DomainDef":
        """Parse and validate *text*, filling libvirt's defaults.

        *inactive* (the default, as for define) drops live-only data; pass
        False to read back live XML (e.g. a saved status file) with aliases.
        """
        data = text.encode() if isinstance(text, str) else text
        if not data.strip():
            # libxml2's own wording (printed with a "(null)" context line)
            raise make_error(c.VIR_ERR_XML_DETAIL, None, c.VIR_FROM_DOMAIN,
                             message="(domain_definition):1: Document is empty\n(null)\n^")
        root = parse_xml(data, root="domain", what="domain_definition", domain=c.VIR_FROM_DOMAIN)
        defaults.post_parse(root, default_arch=default_arch, inactive=inactive)
        return cls(root)

    @classmethod
    def from_element(cls, root: Element, default_arch: str = "i686") -> "DomainDef":
        """Parse a ``<domain>`` element (e.g. from a test driver node file); it is not modified."""
        return cls.parse(etree.tostring(root), default_arch=default_arch)

    def copy(self) -> "DomainDef":
        """A deep copy (of the same class)."""
        return type(self)(copy.deepcopy(self.xml))

    @property
    def root(self) -> Element:
        """The lxml root (same as ``xml``)."""
        return self.xml

    # --- identity -----------------------------------------------------
    name = XmlProp[str]("name", doc="The domain name.")
    type = XmlProp[str](".", "type", doc="Virtualization type: test, kvm, qemu...")

    @property
    def uuid(self) -> str:
        """Canonical 36-character UUID."""
        return self.xml.findtext("uuid") or ""

    @uuid.setter
    def uuid(self, value: str) -> None:
        set_text(self.xml, "uuid", defaults.check_uuid(value))

    @property
    def uuid_bytes(self) -> bytes:
        text = self.uuid
        if len(text) == 36:  # the canonical form parse() stores: skip uuid.UUID's checks
            try:
                raw = bytes.fromhex(text.replace("-", ""))
            except ValueError:
                raw = b""
            if len(raw) == 16:
                return raw
        return uuidlib.UUID(text).bytes

    @property
    def title(self) -> str | None:
        return get_text(self.xml, "title")

    @title.setter
    def title(self, value: str | None) -> None:
        set_text(self.xml, "title", value or None)

    @property
    def description(self) -> str | None:
        return get_text(self.xml, "description")

    @description.setter
    def description(self, value: str | None) -> None:
        set_text(self.xml, "description", value or None)

    # --- resources ----------------------------------------------------
    @property
    def memory(self) -> int:
        """Maximum memory in KiB."""
        return int(self.xml.findtext("memory") or 0)

    @memory.setter
    def memory(self, kib: int) -> None:
        node = find_or_make(self.xml, "memory")
        node.text = str(int(kib))
        node.set("unit", "KiB")

    @property
    def current_memory(self) -> int:
        """Current (balloon) memory in KiB."""
        return int(self.xml.findtext("currentMemory") or self.memory)

    @current_memory.setter
    def current_memory(self, kib: int) -> None:
        node = find_or_make(self.xml, "currentMemory")
        node.text = str(int(kib))
        node.set("unit", "KiB")

    @property
    def max_vcpus(self) -> int:
        return int(self.xml.findtext("vcpu") or 1)

    @max_vcpus.setter
    def max_vcpus(self, count: int) -> None:
        node = find_or_make(self.xml, "vcpu")
        cur = self.vcpus
        node.text = str(int(count))
        node.set("placement", node.get("placement", "static"))
        self.vcpus = min(cur, int(count))

    @property
    def vcpus(self) -> int:
        node = self.xml.find("vcpu")
        if node is None:
            return 1
        return int(node.get("current") or node.text or 1)

    @vcpus.setter
    def vcpus(self, count: int) -> None:
        node = find_or_make(self.xml, "vcpu")
        if int(count) == int(node.text or 1):
            drop_attr(node, "current")
        else:
            node.set("current", str(int(count)))

    @property
    def iothread_ids(self) -> list[int]:
        """IOThread ids: the listed ones, else 1..<iothreads> (libvirt's autofill)."""
        ids = [int(t.get("id", "0")) for t in self.xml.findall("iothreadids/iothread")]
        count = int(self.xml.findtext("iothreads") or 0)
        nxt = 1
        while len(ids) < count:
            if nxt not in ids:
                ids.append(nxt)
            nxt += 1
        return sorted(ids)

    def set_iothread_ids(self, ids: list[int]) -> None:
        """Replace ``<iothreads>``/``<iothreadids>`` by exactly *ids* (none removes both)."""
        for tag in ("iothreads", "iothreadids"):
            node = self.xml.find(tag)
            if node is not None:
                self.xml.remove(node)
        if not ids:
            return
        count = self.xml.makeelement("iothreads", {})
        count.text = str(len(ids))
        self.xml.append(count)
        lst = self.xml.makeelement("iothreadids", {})
        for ident in ids:
            lst.append(lst.makeelement("iothread", {"id": str(ident)}))
        self.xml.append(lst)

    # --- os and lifecycle --------------------------------------------
    os_type = XmlProp[str]("os/type")
    os_arch = XmlProp[str]("os/type", "arch")
    os_machine = XmlProp[str]("os/type", "machine")
    on_poweroff = XmlProp[str]("on_poweroff")
    on_reboot = XmlProp[str]("on_reboot")
    on_crash = XmlProp[str]("on_crash")
    emulator = XmlProp[str]("devices/emulator")

    @property
    def boot_devs(self) -> list[str]:
        return [b.get("dev", "") for b in self.xml.findall("os/boot")]

    # --- devices -------------------------------------------------------
    @property
    def devices_elem(self) -> Element:
        return find_or_make(self.xml, "devices")

    def _devs(self, tag: str) -> list[Element]:
        return [d for d in self.devices_elem.findall(tag) if d.get(_ALIAS_MARK) is None]

    @property
    def disks(self) -> list[DiskDef]:
        return [DiskDef(e) for e in self._devs("disk")]

    @property
    def interfaces(self) -> list[InterfaceDef]:
        return [InterfaceDef(e) for e in self._devs("interface")]

    @property
    def graphics(self) -> list[GraphicsDef]:
        return [GraphicsDef(e) for e in self._devs("graphics")]

    @property
    def serials(self) -> list[ChrDef]:
        return [ChrDef(e) for e in self._devs("serial")]

    @property
    def consoles(self) -> list[ChrDef]:
        """Consoles; the first may be an alias of the first serial port (as libvirt shows it)."""
        out = []
        for e in self.devices_elem.findall("console"):
            out.append(ChrDef(self._console_view(e) if e.get(_ALIAS_MARK) else e))
        return out

    @property
    def channels(self) -> list[ChrDef]:
        return [ChrDef(e) for e in self._devs("channel")]

    @property
    def parallels(self) -> list[ChrDef]:
        return [ChrDef(e) for e in self._devs("parallel")]

    @property
    def controllers(self) -> list[ControllerDef]:
        return [ControllerDef(e) for e in self._devs("controller")]

    @property
    def videos(self) -> list[VideoDef]:
        return [VideoDef(e) for e in self._devs("video")]

    @property
    def hostdevs(self) -> list[HostdevDef]:
        return [HostdevDef(e) for e in self._devs("hostdev")]

    @property
    def inputs(self) -> list[InputDef]:
        return [InputDef(e) for e in self._devs("input")]

    @property
    def sounds(self) -> list[SoundDef]:
        return [SoundDef(e) for e in self._devs("sound")]

    @property
    def filesystems(self) -> list[FilesystemDef]:
        return [FilesystemDef(e) for e in self._devs("filesystem")]

    def devices(self) -> Iterator[DeviceDef]:
        """Every device, in libvirt's order."""
        for tag in DEVICE_TAGS:
            for e in self._devs(tag):
                yield wrap_device(e)

    # --- metadata --------------------------------------------------------
    def metadata(self, type_: int | str = c.VIR_DOMAIN_METADATA_ELEMENT, uri: str | None = None) -> str:
        """libvirt's virDomainGetMetadata: title, description or a namespaced element.

        ``d.metadata(uri)`` is short for ``d.metadata(VIR_DOMAIN_METADATA_ELEMENT, uri)``.
        """
        from .metadata import get_metadata
        if isinstance(type_, str):
            return get_metadata(self, c.VIR_DOMAIN_METADATA_ELEMENT, type_)
        return get_metadata(self, type_, uri)

    def set_metadata(self, type_: int, value: str | None, key: str | None = None,
                     uri: str | None = None) -> None:
        """libvirt's virDomainSetMetadata (None or empty removes)."""
        from .metadata import set_metadata
        set_metadata(self, type_, value, key, uri)

    # --- device changes ------------------------------------------------
    def attach_device(self, xml: str | Element) -> DeviceDef:
        from .hotplug import attach
        return attach(self, xml)

    def detach_device(self, xml: str | Element) -> DeviceDef:
        from .hotplug import detach
        return detach(self, xml)

    def update_device(self, xml: str | Element) -> DeviceDef:
        from .hotplug import update
        return update(self, xml)

    def assign_ifnames(self, prefix: str = "testnet") -> None:
        """Give interfaces without ``<target dev>`` the first free PREFIXn name (test driver hook)."""
        used = {i.target_dev for i in self.interfaces if i.target_dev}
        n = 0
        for iface in self.interfaces:
            if iface.target_dev:
                continue
            while f"{prefix}{n}" in used:
                n += 1
            name = f"{prefix}{n}"
            used.add(name)
            node = iface.xml.find("target")
            if node is None:
                node = iface.xml.makeelement("target", {})
                iface.xml.append(node)
            node.set("dev", name)

    # --- output ----------------------------------------------------------
    def _console_view(self, console: Element, live: bool = False) -> Element:
        """The first console shown as libvirt shows an alias of serial 0 (*live*: with its tty)."""
        serials = self._devs("serial")
        if not serials:
            return console
        view = copy.deepcopy(serials[0])
        view.tag = "console"
        tgt = view.find("target")
        port = tgt.get("port", "0") if tgt is not None else "0"
        if tgt is not None:
            view.remove(tgt)
        new_tgt = view.makeelement("target", {"type": "serial", "port": port})
        addr = view.find("address")
        if addr is not None:
            addr.addprevious(new_tgt)
        else:
            view.append(new_tgt)
        src = view.find("source")
        if live and view.get("type") == "pty" and src is not None and src.get("path"):
            view.set("tty", str(src.get("path")))  # a live pty console names its tty, as libvirt's does
        return view

    def to_xml(self, *, id: int | None = None, inactive: bool = False, secure: bool = False,  # noqa: A002
               migratable: bool = False, update_cpu: bool = False) -> str:
        """The domain as libvirt formats it (``virsh dumpxml``)."""
        # Formatting is a pure function of the tree and the flags, and callers mutate the tree
        # in place from many places: key the cache on the serialized tree (a few microseconds
        # in C) so a changed definition can never be served stale XML.
        key = (id, inactive, secure, migratable, update_cpu)
        snap = etree.tostring(self.xml)
        cache: dict[tuple[object, ...], tuple[bytes, str]] | None = self.__dict__.get("_xml_cache")
        if cache is None:
            cache = self.__dict__["_xml_cache"] = {}
        hit = cache.get(key)
        if hit is not None and hit[0] == snap:
            return hit[1]
        text = self._format(id=id, inactive=inactive, secure=secure, migratable=migratable)
        if len(cache) >= 8:
            cache.clear()
        cache[key] = (snap, text)
        return text

    def _format(self, *, id: int | None, inactive: bool, secure: bool, migratable: bool) -> str:  # noqa: A002
        root = copy.deepcopy(self.xml)
        dev = root.find("devices")
        if dev is not None:
            for con in dev.findall("console"):
                if con.get(_ALIAS_MARK):
                    con.addprevious(self._console_view(con, live=not inactive))
                    dev.remove(con)
        if id is not None and not inactive:
            root.set("id", str(id))
        if not secure:
            for gfx in root.iterfind("devices/graphics"):
                drop_attr(gfx, "passwd")
            for cookies in list(root.iter("cookies")):
                detach_node(cookies)
        if inactive:
            _strip_live(root)
        out = canonical_copy(root)
        etree.cleanup_namespaces(out)
        return serialize(out)

    def __str__(self) -> str:
        return self.to_xml()


def _strip_live(root: Element) -> None:
    """Drop what libvirt leaves out of inactive XML (live ports, generated names, aliases)."""
    for gfx in root.iterfind("devices/graphics"):
        if gfx.get("autoport") != "yes":
            continue
        if gfx.get("type") == "vnc" and gfx.get("port") is not None:
            gfx.set("port", "-1")
        elif gfx.get("type") == "spice":
            drop_attr(gfx, "port", "tlsPort")
    for tgt in root.iterfind("devices/interface/target"):
        dev = tgt.get("dev", "")
        if tgt.get("managed") != "no" and dev.startswith(("vnet", "macvtap", "macvlan")):
            drop_attr(tgt, "dev")
            if not tgt.attrib:
                detach_node(tgt)
    for node in list(root.iterfind("devices/*/alias")):
        if not node.get("name", "").startswith("ua-"):
            detach_node(node)
