"""libvirt's domain XML model: parse, validate, fill defaults, format.

``DomainDef.parse(text)`` gives a definition whose properties read and write
the underlying lxml tree; ``to_xml()`` writes it as libvirt 9.0 does.
"""

from __future__ import annotations

from .devices import (DEVICE_TAGS, ChrDef, ControllerDef, DeviceDef, DiskDef, FilesystemDef,
                      GraphicsDef, HostdevDef, InputDef, InterfaceDef, SoundDef, VideoDef, wrap_device)
from . import hooks
from .model import DomainDef, parse_device

#: Device element names in the order libvirt writes them inside ``<devices>``.
DEVICE_ORDER: tuple[str, ...] = DEVICE_TAGS

__all__ = ["DomainDef", "parse_device", "DEVICE_TAGS", "DEVICE_ORDER", "hooks", "DeviceDef", "DiskDef", "InterfaceDef",
           "GraphicsDef", "ChrDef", "ControllerDef", "VideoDef", "HostdevDef", "InputDef",
           "SoundDef", "FilesystemDef", "wrap_device"]
