"""Domain checkpoints: libvirt-python's ``virDomainCheckpoint`` methods in snake_case."""

from __future__ import annotations

from .drivers.base import SnapshotRef
from .handle import DomainChild

__all__ = ["DomainCheckpoint"]


class DomainCheckpoint(DomainChild):
    """A checkpoint of a domain (its handle has the same fields as a snapshot's)."""

    __slots__ = ()
    _ref: SnapshotRef

    def get_xml_desc(self, flags: int = 0) -> str:
        return self._drv.domain_checkpoint_get_xml_desc(self._ref, flags)

    def get_parent(self, flags: int = 0) -> "DomainCheckpoint":
        return type(self)(self._dom, self._drv.domain_checkpoint_get_parent(self._ref, flags))

    def list_all_children(self, flags: int = 0) -> list["DomainCheckpoint"]:
        return [type(self)(self._dom, r) for r in self._drv.domain_checkpoint_list_all_children(self._ref, flags)]

    def delete(self, flags: int = 0) -> int:
        self._drv.domain_checkpoint_delete(self._ref, flags)
        return 0
