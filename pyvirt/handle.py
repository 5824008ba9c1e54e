"""The common part of every object handle (domain, network, pool, volume, device, interface)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connection import Connection
    from .domain import Domain

__all__ = ["Handle", "DomainChild"]


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


class DomainChild:
    """A named object that belongs to one domain (a snapshot or a checkpoint).

    Both kinds share the reference type (domain, name); equal handles are of the same kind.
    """

    __slots__ = ("_dom", "_ref")
    _dom: "Domain"
    _ref: Any

    def __init__(self, dom: "Domain", ref: Any) -> None:
        self._dom = dom
        self._ref = ref

    @classmethod
    def _kind(cls) -> type:
        # the public class right below DomainChild (pyvirt.libvirt's subclasses share it)
        return next(k for k in reversed(cls.__mro__) if DomainChild in k.__bases__)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._ref.name!r} of {self._dom.name()!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DomainChild) and other._kind() is self._kind() and other._ref == self._ref

    def __hash__(self) -> int:
        return hash(self._ref)

    @property
    def _drv(self) -> Any:
        return self._dom._conn._driver

    def domain(self) -> "Domain":
        return self._dom

    def connect(self) -> "Connection":
        return self._dom._conn

    get_domain = domain
    get_connect = connect

    def get_name(self) -> str:
        return self._ref.name
