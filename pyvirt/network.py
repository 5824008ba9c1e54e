"""Virtual networks: libvirt-python's ``virNetwork`` methods in snake_case."""

from __future__ import annotations

import uuid as _uuid
from typing import Any

from .handle import Handle
from .drivers.base import NetworkRef

__all__ = ["Network"]


class Network(Handle):
    """A virtual network known to a connection."""

    __slots__ = ()
    _ref: NetworkRef

    def uuid(self) -> bytes:
        return self._ref.uuid

    def uuid_string(self) -> str:
        return str(_uuid.UUID(bytes=self._ref.uuid))

    def xml_desc(self, flags: int = 0) -> str:
        return self._drv.network_get_xml_desc(self._ref, flags)

    def bridge_name(self) -> str:
        return self._drv.network_get_bridge_name(self._ref)

    def autostart(self) -> int:
        return self._drv.network_get_autostart(self._ref)

    def set_autostart(self, autostart: int) -> int:
        self._drv.network_set_autostart(self._ref, int(bool(autostart)))
        return 0

    def is_active(self) -> int:
        return self._drv.network_is_active(self._ref)

    def is_persistent(self) -> int:
        return self._drv.network_is_persistent(self._ref)

    def create(self) -> int:
        self._drv.network_create(self._ref)
        return 0

    def destroy(self) -> int:
        self._drv.network_destroy(self._ref)
        return 0

    def undefine(self) -> int:
        self._drv.network_undefine(self._ref)
        return 0

    def update(self, command: int, section: int, parent_index: int, xml: str, flags: int = 0) -> int:
        self._drv.network_update(self._ref, command, section, parent_index, xml, flags)
        return 0

    def dhcp_leases(self, mac: str | None = None, flags: int = 0) -> list[dict[str, Any]]:
        return self._drv.network_get_dhcp_leases(self._ref, mac, flags)
