"""The common part of every object handle (domain, network, pool, volume, device, interface)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["Handle"]


class Handle:
    """A connection plus the driver's reference tuple; every call asks the driver.

    Handles of one kind are equal when their references name the same object on the same
    connection (by UUID for kinds that have one, else by the whole reference).
    """

    __slots__ = ("_conn", "_ref")
    _conn: "Connection"
    _ref: Any

    def __init__(self, conn: "Connection", ref: Any) -> None:
        self._conn = conn
        self._ref = ref

    def _identity(self) -> object:
        return getattr(self._ref, "uuid", self._ref)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._ref.name!r}>"

    def __eq__(self, other: object) -> bool:
        # The reference's type tells the kind (DomainRef, NetworkRef, ...).
        return (isinstance(other, Handle) and type(other._ref) is type(self._ref)
                and other._conn is self._conn and other._identity() == self._identity())

    def __hash__(self) -> int:
        return hash(self._identity())

    @property
    def _drv(self) -> Any:
        return self._conn._driver

    def connect(self) -> "Connection":
        return self._conn

    def name(self) -> str:
        return self._ref.name
