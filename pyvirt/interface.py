"""Host network interfaces: libvirt-python's ``virInterface`` methods in snake_case."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .drivers.base import InterfaceRef

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["Interface"]


class Interface:
    """A host network interface known to a connection."""

    __slots__ = ("_conn", "_ref")

    def __init__(self, conn: "Connection", ref: InterfaceRef) -> None:
        self._conn = conn
        self._ref = ref

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._ref.name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Interface) and other._ref == self._ref and other._conn is self._conn

    def __hash__(self) -> int:
        return hash(self._ref)

    @property
    def _drv(self) -> Any:
        return self._conn._driver

    def connect(self) -> "Connection":
        return self._conn

    def name(self) -> str:
        return self._ref.name

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
