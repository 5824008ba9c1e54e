"""XML models used by the test driver.

The shared conf models (``pyvirt.conf.domain`` etc.) are preferred. While one
is missing, a small lxml-backed stand-in with the same attribute names is used
so the driver keeps working; the stand-ins only know what the test driver needs.
"""

from __future__ import annotations

import copy
from typing import Any

from lxml import etree

from ... import constants as c
from ...conf.xmlutil import format_xml, parse_xml
from ...errors import make_error
from .localdomain import DeviceView, LocalDomainDef
from .xmlbase import TEST_NS, XmlBase, parse_uuid_text, scaled, uuid_bytes, uuid_str

__all__ = ["DomainDef", "SnapshotDef", "NetworkDef", "StoragePoolDef", "StorageVolDef",
           "NodeDeviceDef", "InterfaceDef", "capabilities_xml", "uuid_str", "uuid_bytes",
           "TEST_NS"]


class SnapshotDef(XmlBase):
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


class _Simple(XmlBase):
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
        u = parse_uuid_text(self.root, "")
        el = self.root.find("uuid")
        if el is None:
            el = etree.Element("uuid")
            self.root.find("name").addnext(el)
        el.text = u


class _LocalNetworkDef(_UUIDMixin, _Simple):
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


class _LocalStoragePoolDef(_UUIDMixin, _Simple):
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


class _LocalStorageVolDef(_Simple):
    root_tag = "volume"
    what = "volume_definition"

    @classmethod
    def from_element(cls, root: Any, pool: Any = None, pool_type: str | None = None) -> Any:
        return super().from_element(root)

    def validate(self) -> None:
        if not self.name:
            raise make_error(c.VIR_ERR_XML_ERROR, "missing volume name element", c.VIR_FROM_STORAGE)
        if self.root.find("capacity") is None:
            raise make_error(c.VIR_ERR_XML_ERROR, "missing capacity element", c.VIR_FROM_STORAGE)

    @property
    def capacity(self) -> int:
        return scaled(self.root.find("capacity"), "bytes")

    @capacity.setter
    def capacity(self, v: int) -> None:
        el = self.root.find("capacity")
        el.attrib.clear()
        el.text = str(v)

    @property
    def allocation(self) -> int:
        el = self.root.find("allocation")
        return scaled(el, "bytes") if el is not None else self.capacity

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
            etree.SubElement(t, "format", type="raw")
        return format_xml(root)


class _LocalNodeDeviceDef(_Simple):
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


class _LocalInterfaceDef(_Simple):
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

    @name.setter
    def name(self, value: str) -> None:
        self.root.set("name", value)

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
    DomainDef = LocalDomainDef
else:
    class DomainDef(_ConfDomainDef):  # type: ignore[no-redef]
        """The shared domain model plus the few helpers the test driver uses."""

        @property
        def root(self) -> Any:
            return self.xml

        @classmethod
        def from_element(cls, root: Any, default_arch: str = "i686") -> Any:
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
                if "bridge" in src.attrib:
                    del src.attrib["bridge"]
            return cls(base.xml)

        def copy(self) -> Any:
            new = type(self)(copy.deepcopy(self.xml))
            if "_pv_tunables" in self.__dict__:
                new.__dict__["_pv_tunables"] = copy.deepcopy(self.__dict__["_pv_tunables"])
            return new

        @property
        def disks(self) -> list[DeviceView]:  # type: ignore[override]
            return [DeviceView(el) for el in self.xml.findall("devices/disk")]

        @property
        def interfaces(self) -> list[DeviceView]:  # type: ignore[override]
            return [DeviceView(el) for el in self.xml.findall("devices/interface")]

        @property
        def on_crash(self) -> str:
            return (self.xml.findtext("on_crash") or "destroy").strip()

        @on_crash.setter
        def on_crash(self, v: str) -> None:
            el = self.xml.find("on_crash")
            if el is None:
                el = etree.SubElement(self.xml, "on_crash")
            el.text = v

        iothread_ids = LocalDomainDef.iothread_ids
        set_iothread_ids = LocalDomainDef.set_iothread_ids
        _vcpu_el = LocalDomainDef._vcpu_el


def _make_NetworkDef() -> Any:
    """The test driver's NetworkDef, on the shared model when it imports (the stand-in otherwise)."""
    try:
        from ...conf.network import NetworkDef as _ConfNetworkDef
    except ImportError:
        return _LocalNetworkDef

    class NetworkDef(_ConfNetworkDef):
        """The shared network model with the constructor the loader uses."""

        @classmethod
        def from_element(cls, root: Any) -> Any:
            return cls.parse(etree.tostring(root))

        @classmethod
        def parse(cls, xml: Any) -> Any:
            return cls(_ConfNetworkDef.parse(xml).root)

        def copy(self) -> Any:
            return type(self)(copy.deepcopy(self.root))

    return NetworkDef


def _make_StoragePoolDef() -> Any:
    """The test driver's StoragePoolDef, on the shared model when it imports (the stand-in otherwise)."""
    try:
        from ...conf.storage_pool import StoragePoolDef as _ConfPoolDef
    except ImportError:
        return _LocalStoragePoolDef

    class StoragePoolDef(_ConfPoolDef):
        """The shared pool model (the driver keeps the sizes and passes them to to_xml)."""

        @classmethod
        def from_element(cls, root: Any) -> Any:
            return cls.parse(etree.tostring(root))

        @classmethod
        def parse(cls, xml: Any) -> Any:
            return cls(_ConfPoolDef.parse(xml).root)

        def copy(self) -> Any:
            return type(self)(copy.deepcopy(self.root))

    return StoragePoolDef


def _make_InterfaceDef() -> Any:
    """The test driver's InterfaceDef, on the shared model when it imports (the stand-in otherwise)."""
    try:
        from ...conf.interface import InterfaceDef as _ConfIfaceDef
    except ImportError:
        return _LocalInterfaceDef

    class InterfaceDef(_ConfIfaceDef):
        """The shared interface model (MAC as "" when absent, as the driver indexes it)."""

        @classmethod
        def parse(cls, xml: Any) -> Any:
            return cls(_ConfIfaceDef.parse(xml).root)

        @classmethod
        def from_element(cls, elem: Any) -> Any:
            return cls(_ConfIfaceDef.from_element(elem).root)

        def copy(self) -> Any:
            return type(self)(copy.deepcopy(self.root))

        @property
        def mac(self) -> str:
            m = self.root.find("mac")
            return (m.get("address") or "") if m is not None else ""

    return InterfaceDef


def _make_NodeDeviceDef() -> Any:
    """The test driver's NodeDeviceDef, on the shared model when it imports (the stand-in otherwise)."""
    try:
        from ...conf.nodedev import NodeDeviceDef as _ConfDevDef
    except ImportError:
        return _LocalNodeDeviceDef

    class NodeDeviceDef(_ConfDevDef):
        """The shared node device model."""

        @classmethod
        def parse(cls, xml: Any, create: bool = False) -> Any:
            base = _ConfDevDef.parse(xml, create)
            new = cls(base.root)
            new._parent_attrs = base._parent_attrs
            return new

        @classmethod
        def from_element(cls, elem: Any, create: bool = False) -> Any:
            base = _ConfDevDef.from_element(elem, create)
            new = cls(base.root)
            new._parent_attrs = base._parent_attrs
            return new

    return NodeDeviceDef


def _make_StorageVolDef() -> Any:
    """The test driver's StorageVolDef, on the shared model when it imports (the stand-in otherwise)."""
    try:
        from ...conf.storage_vol import StorageVolDef as _ConfVolDef
    except ImportError:
        return _LocalStorageVolDef

    class StorageVolDef(_ConfVolDef):
        """The shared volume model, parsed for the pool type it belongs to."""

        @classmethod
        def parse(cls, xml: Any, pool: Any = None, pool_type: str | None = None,
                  no_capacity: bool = False, opt_capacity: bool = False) -> Any:
            base = _ConfVolDef.parse(xml, pool, pool_type, no_capacity, opt_capacity)
            return cls(base.root, base.pool_type, base.has_allocation)

        @classmethod
        def from_element(cls, elem: Any, pool: Any = None, pool_type: str | None = None) -> Any:
            base = _ConfVolDef.from_element(elem, pool, pool_type)
            return cls(base.root, base.pool_type, base.has_allocation)

        def to_xml(self, inactive: bool = False, vol_type: str | None = None) -> str:
            return super().to_xml(inactive)

    return StorageVolDef


_LAZY = {"NetworkDef": _make_NetworkDef, "StoragePoolDef": _make_StoragePoolDef,
         "InterfaceDef": _make_InterfaceDef, "NodeDeviceDef": _make_NodeDeviceDef,
         "StorageVolDef": _make_StorageVolDef}


def __getattr__(name: str) -> Any:
    """Models of object kinds other than domains, their conf modules imported on first use."""
    maker = _LAZY.get(name)
    if maker is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    cls = maker()
    globals()[name] = cls
    return cls
