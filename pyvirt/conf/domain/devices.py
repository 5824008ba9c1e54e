"""Typed wrappers over device elements of a domain (they view the shared tree)."""

from __future__ import annotations

from ..xmlutil import Element
from .props import ElemProp, XmlProp

__all__ = ["DeviceDef", "DiskDef", "InterfaceDef", "GraphicsDef", "ChrDef", "ControllerDef",
           "VideoDef", "HostdevDef", "InputDef", "SoundDef", "FilesystemDef", "RngDef",
           "MemballoonDef", "wrap_device", "DEVICE_TAGS"]

DEVICE_TAGS: tuple[str, ...] = (
    "emulator", "disk", "controller", "lease", "filesystem", "interface", "smartcard", "serial",
    "parallel", "console", "channel", "input", "tpm", "graphics", "sound", "audio", "video",
    "hostdev", "redirdev", "redirfilter", "hub", "watchdog", "memballoon", "rng", "nvram",
    "panic", "shmem", "memory", "iommu", "vsock", "crypto",
)


class DeviceDef:
    """One device element; ``xml`` is the live element in the domain tree."""

    tag = ""

    def __init__(self, xml: Element) -> None:
        self.xml = xml

    type = XmlProp[str](".", "type")
    alias = XmlProp[str]("alias", "name")

    @property
    def address(self) -> dict[str, str] | None:
        """The ``<address>`` attributes, or None."""
        node = self.xml.find("address")
        return None if node is None else {str(k): str(v) for k, v in node.attrib.items()}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.xml.tag} {self.xml.attrib.items()}>"


def _bool_yes(text: str) -> bool:
    return text == "yes"


class DiskDef(DeviceDef):
    """``<disk>``."""

    tag = "disk"
    device = XmlProp[str](".", "device")
    target = XmlProp[str]("target", "dev")
    bus = XmlProp[str]("target", "bus")
    driver_name = XmlProp[str]("driver", "name")
    driver_type = XmlProp[str]("driver", "type")
    readonly = ElemProp("readonly")
    shareable = ElemProp("shareable")
    serial = XmlProp[str]("serial")

    _SOURCE_ATTR = {"file": "file", "block": "dev", "dir": "dir", "network": "name",
                    "volume": "volume", "nvme": "namespace", "vhostuser": "path"}

    @property
    def source(self) -> str | None:
        """The source path (file, dev, dir, network name...) or None."""
        node = self.xml.find("source")
        if node is None:
            return None
        attr = self._SOURCE_ATTR.get(self.xml.get("type", "file"), "file")
        return node.get(attr)

    @source.setter
    def source(self, value: str | None) -> None:
        node = self.xml.find("source")
        attr = self._SOURCE_ATTR.get(self.xml.get("type", "file"), "file")
        if value is None:
            if node is not None:
                self.xml.remove(node)
            return
        if node is None:
            node = self.xml.makeelement("source", {})
            target = self.xml.find("target")
            if target is not None:
                target.addprevious(node)
            else:
                self.xml.append(node)
        node.set(attr, value)

    source_pool = XmlProp[str]("source", "pool")
    source_volume = XmlProp[str]("source", "volume")


class InterfaceDef(DeviceDef):
    """``<interface>``."""

    tag = "interface"
    mac = XmlProp[str]("mac", "address")
    model = XmlProp[str]("model", "type")
    target_dev = XmlProp[str]("target", "dev")
    link_state = XmlProp[str]("link", "state")

    _SOURCE_ATTR = {"network": "network", "bridge": "bridge", "direct": "dev", "user": "dev",
                    "ethernet": "dev", "vhostuser": "path", "hostdev": "dev", "vdpa": "dev",
                    "server": "address", "client": "address", "mcast": "address", "udp": "address"}

    @property
    def source(self) -> str | None:
        """Network or bridge name (or device), per the interface type."""
        node = self.xml.find("source")
        if node is None:
            return None
        return node.get(self._SOURCE_ATTR.get(self.xml.get("type", ""), "network"))

    @source.setter
    def source(self, value: str | None) -> None:
        attr = self._SOURCE_ATTR.get(self.xml.get("type", ""), "network")
        node = self.xml.find("source")
        if value is None:
            if node is not None:
                self.xml.remove(node)
            return
        if node is None:
            node = self.xml.makeelement("source", {})
            self.xml.append(node)
        node.set(attr, value)


class GraphicsDef(DeviceDef):
    """``<graphics>``."""

    tag = "graphics"
    port = XmlProp[int](".", "port", int)
    tls_port = XmlProp[int](".", "tlsPort", int)
    autoport = XmlProp[bool](".", "autoport", _bool_yes, lambda v: "yes" if v else "no")
    listen = XmlProp[str](".", "listen")
    passwd = XmlProp[str](".", "passwd")
    keymap = XmlProp[str](".", "keymap")
    socket = XmlProp[str](".", "socket")


class ChrDef(DeviceDef):
    """``<serial>``, ``<parallel>``, ``<console>`` and ``<channel>``."""

    source_path = XmlProp[str]("source", "path")
    target_type = XmlProp[str]("target", "type")
    target_port = XmlProp[int]("target", "port", int)
    target_name = XmlProp[str]("target", "name")

    @property
    def tag(self) -> str:  # type: ignore[override]
        return str(self.xml.tag)


class ControllerDef(DeviceDef):
    """``<controller>``."""

    tag = "controller"
    index = XmlProp[int](".", "index", int)
    model = XmlProp[str](".", "model")


class VideoDef(DeviceDef):
    """``<video>``."""

    tag = "video"
    model = XmlProp[str]("model", "type")
    vram = XmlProp[int]("model", "vram", int)
    heads = XmlProp[int]("model", "heads", int)


class HostdevDef(DeviceDef):
    """``<hostdev>``."""

    tag = "hostdev"
    mode = XmlProp[str](".", "mode")
    managed = XmlProp[bool](".", "managed", _bool_yes, lambda v: "yes" if v else "no")


class InputDef(DeviceDef):
    """``<input>``."""

    tag = "input"
    bus = XmlProp[str](".", "bus")


class SoundDef(DeviceDef):
    """``<sound>``."""

    tag = "sound"
    model = XmlProp[str](".", "model")


class FilesystemDef(DeviceDef):
    """``<filesystem>``."""

    tag = "filesystem"
    source_dir = XmlProp[str]("source", "dir")
    target_dir = XmlProp[str]("target", "dir")


class RngDef(DeviceDef):
    """``<rng>``."""

    tag = "rng"
    model = XmlProp[str](".", "model")


class MemballoonDef(DeviceDef):
    """``<memballoon>``."""

    tag = "memballoon"
    model = XmlProp[str](".", "model")


_WRAPPERS: dict[str, type[DeviceDef]] = {
    "disk": DiskDef, "interface": InterfaceDef, "graphics": GraphicsDef, "serial": ChrDef,
    "parallel": ChrDef, "console": ChrDef, "channel": ChrDef, "controller": ControllerDef,
    "video": VideoDef, "hostdev": HostdevDef, "input": InputDef, "sound": SoundDef,
    "filesystem": FilesystemDef, "rng": RngDef, "memballoon": MemballoonDef,
}


def wrap_device(elem: Element) -> DeviceDef:
    """The typed wrapper for a device element."""
    cls = _WRAPPERS.get(str(elem.tag), DeviceDef)
    obj = cls(elem)
    return obj
