"""Host devices: libvirt-python's ``virNodeDevice`` methods in snake_case."""

from __future__ import annotations


from .handle import Handle
from .drivers.base import NodeDeviceRef

__all__ = ["NodeDevice"]


class NodeDevice(Handle):
    """A host device (PCI, USB, SCSI host, net, ...) known to a connection."""

    __slots__ = ()
    _ref: NodeDeviceRef

    def xml_desc(self, flags: int = 0) -> str:
        return self._drv.node_device_get_xml_desc(self._ref, flags)

    def parent(self) -> str | None:
        return self._drv.node_device_get_parent(self._ref)

    def num_of_caps(self) -> int:
        return self._drv.node_device_num_of_caps(self._ref)

    def list_caps(self) -> list[str]:
        return list(self._drv.node_device_list_caps(self._ref, self._drv.node_device_num_of_caps(self._ref)))

    def destroy(self) -> int:
        self._drv.node_device_destroy(self._ref)
        return 0

    def create(self, flags: int = 0) -> int:
        self._drv.node_device_create(self._ref, flags)
        return 0

    def undefine(self, flags: int = 0) -> int:
        self._drv.node_device_undefine(self._ref, flags)
        return 0

    def is_active(self) -> int:
        return self._drv.node_device_is_active(self._ref)

    def is_persistent(self) -> int:
        return self._drv.node_device_is_persistent(self._ref)

    def autostart(self) -> int:
        return self._drv.node_device_get_autostart(self._ref)

    def set_autostart(self, autostart: int) -> int:
        self._drv.node_device_set_autostart(self._ref, int(bool(autostart)))
        return 0

    def detach_flags(self, driver_name: str | None = None, flags: int = 0) -> int:
        self._drv.node_device_detach_flags(self._ref, driver_name, flags)
        return 0

    def dettach(self) -> int:
        return self.detach_flags(None, 0)

    def re_attach(self) -> int:
        self._drv.node_device_re_attach(self._ref)
        return 0

    def reset(self) -> int:
        self._drv.node_device_reset(self._ref)
        return 0
