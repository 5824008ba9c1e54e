"""Domain checkpoints: libvirt-python's ``virDomainCheckpoint`` methods in snake_case."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .drivers.base import SnapshotRef

if TYPE_CHECKING:
    from .connection import Connection
    from .domain import Domain

__all__ = ["DomainCheckpoint"]


class DomainCheckpoint:
    """A checkpoint of a domain (its handle has the same fields as a snapshot's)."""

    __slots__ = ("_dom", "_ref")

    def __init__(self, dom: "Domain", ref: SnapshotRef) -> None:
        self._dom = dom
        self._ref = ref

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._ref.name!r} of {self._dom.name()!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DomainCheckpoint) and other._ref == self._ref

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

    def get_xml_desc(self, flags: int = 0) -> str:
        return self._drv.domain_checkpoint_get_xml_desc(self._ref, flags)

    def get_parent(self, flags: int = 0) -> "DomainCheckpoint":
        return type(self)(self._dom, self._drv.domain_checkpoint_get_parent(self._ref, flags))

    def list_all_children(self, flags: int = 0) -> list["DomainCheckpoint"]:
        return [type(self)(self._dom, r) for r in self._drv.domain_checkpoint_list_all_children(self._ref, flags)]

    def delete(self, flags: int = 0) -> int:
        self._drv.domain_checkpoint_delete(self._ref, flags)
        return 0
