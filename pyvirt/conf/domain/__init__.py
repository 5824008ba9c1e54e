"""libvirt's domain XML model: parse, validate, fill defaults, format.

``DomainDef.parse(text)`` gives a definition whose properties read and write
the underlying lxml tree; ``to_xml()`` writes it as libvirt 9.0 does.
"""

from __future__ import annotations

from .devices import (DEVICE_TAGS, ChrDef, ControllerDef, DeviceDef, DiskDef, FilesystemDef,
                      GraphicsDef, HostdevDef, InputDef, InterfaceDef, SoundDef, VideoDef, wrap_device)
from .model import DomainDef, parse_device

__all__ = ["DomainDef", "parse_device", "DEVICE_TAGS", "DeviceDef", "DiskDef", "InterfaceDef",
           "GraphicsDef", "ChrDef", "ControllerDef", "VideoDef", "HostdevDef", "InputDef",
           "SoundDef", "FilesystemDef", "wrap_device"]
