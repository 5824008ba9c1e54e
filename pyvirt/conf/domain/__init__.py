"""libvirt's domain XML model: parse, validate, fill defaults, format.

``DomainDef.parse(text)`` gives a definition whose properties read and write
the underlying lxml tree; ``to_xml()`` writes it as libvirt 9.0 does.

Modules: :mod:`.model` (DomainDef), :mod:`.devices` (typed device views),
:mod:`.defaults` / :mod:`.devdefaults` / :mod:`.normalize` / :mod:`.controllers`
(libvirt's post-parse rules), :mod:`.validate` (enum and consistency checks with
libvirt's messages), :mod:`.format` + :mod:`.order` (canonical order and
output), :mod:`.hotplug` (attach/detach/update), :mod:`.metadata`,
:mod:`.hooks` (replaceable MAC/UUID generators).

Driver hooks: ``DomainDef.assign_ifnames(prefix)`` names interfaces as the test
driver does (``testnet0``...); ``hooks.generate_mac`` / ``hooks.generate_uuid``
may be replaced for deterministic output.
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
