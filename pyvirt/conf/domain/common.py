"""Shared pieces of the domain post-parse code: enums, error helpers, checks."""

from __future__ import annotations

import re
import uuid as uuidlib

from ... import constants as c
from ...errors import make_error
from ..xmlutil import Element

__all__ = ["VIRT_TYPES", "OS_TYPES", "LIFECYCLE", "DISK_TYPES", "GRAPHICS_TYPES", "CLOCK_OFFSETS",
           "check_uuid", "check_mac"]

VIRT_TYPES = ("none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware",
              "hyperv", "vbox", "phyp", "parallels", "bhyve", "vz", "hvf")
OS_TYPES = ("hvm", "xen", "linux", "exe", "uml")
LIFECYCLE = ("destroy", "restart", "rename-restart", "preserve", "coredump-destroy",
             "coredump-restart")
DISK_TYPES = ("block", "file", "dir", "network", "volume", "nvme", "vhostuser", "vhostvdpa")
GRAPHICS_TYPES = ("sdl", "vnc", "rdp", "desktop", "spice", "egl-headless", "dbus")
CLOCK_OFFSETS = ("utc", "localtime", "variable", "timezone", "absolute")

_MAC_RE = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$")


def _err(code: int, detail: str, domain: int = c.VIR_FROM_DOMAIN) -> Exception:
    return make_error(code, detail, domain)


def check_uuid(text: str) -> str:
    """*text* as a canonical UUID; libvirt's error when malformed."""
    hexonly = text.strip().replace("-", "").replace(" ", "")
    if not re.fullmatch(r"[0-9a-fA-F]{32}", hexonly):
        raise _err(c.VIR_ERR_INTERNAL_ERROR, "malformed uuid element")
    return str(uuidlib.UUID(hexonly))


def check_mac(text: str) -> str:
    """*text* as libvirt's canonical MAC (lower case, two digits per byte)."""
    if not _MAC_RE.match(text):
        raise _err(c.VIR_ERR_XML_ERROR, f"unable to parse mac address '{text}'")
    parts = [int(p, 16) for p in text.split(":")]
    if parts[0] & 1:
        raise _err(c.VIR_ERR_XML_ERROR, f"expected unicast mac address, found multicast '{text}'")
    return ":".join(f"{p:02x}" for p in parts)


def _child(parent: Element, tag: str, attrib: dict[str, str] | None = None) -> Element:
    """Append a new *tag* child to *parent*."""
    node = parent.makeelement(tag, attrib or {})
    parent.append(node)
    return node

