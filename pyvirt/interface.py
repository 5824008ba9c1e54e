"""Host network interfaces: libvirt-python's ``virInterface`` methods in snake_case."""

from __future__ import annotations


from .handle import Handle
from .drivers.base import InterfaceRef

__all__ = ["Interface"]


class Interface(Handle):
    """A host network interface known to a connection."""

    __slots__ = ()
    _ref: InterfaceRef

    def mac_string(self) -> str:
        return self._ref.mac

    def xml_desc(self, flags: int = 0) -> str:
        return self._drv.interface_get_xml_desc(self._ref, flags)

    def is_active(self) -> int:
        return self._drv.interface_is_active(self._ref)

    def create(self, flags: int = 0) -> int:
        self._drv.interface_create(self._ref, flags)
        return 0

    def destroy(self, flags: int = 0) -> int:
        self._drv.interface_destroy(self._ref, flags)
        return 0

    def undefine(self) -> int:
        self._drv.interface_undefine(self._ref)
        return 0
