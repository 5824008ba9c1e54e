"""Domain snapshots: libvirt-python's ``virDomainSnapshot`` methods in snake_case."""

from __future__ import annotations

from .drivers.base import SnapshotRef
from .handle import DomainChild

__all__ = ["DomainSnapshot"]


class DomainSnapshot(DomainChild):
    """A snapshot of a domain."""

    __slots__ = ()
    _ref: SnapshotRef

    def _snap(self, ref: SnapshotRef) -> "DomainSnapshot":
        return type(self)(self._dom, ref)

    def get_xml_desc(self, flags: int = 0) -> str:
        return self._drv.domain_snapshot_get_xml_desc(self._ref, flags)

    def get_parent(self, flags: int = 0) -> "DomainSnapshot":
        return self._snap(self._drv.domain_snapshot_get_parent(self._ref, flags))

    def is_current(self, flags: int = 0) -> int:
        return self._drv.domain_snapshot_is_current(self._ref, flags)

    def has_metadata(self, flags: int = 0) -> int:
        return self._drv.domain_snapshot_has_metadata(self._ref, flags)

    def num_children(self, flags: int = 0) -> int:
        return self._drv.domain_snapshot_num_children(self._ref, flags)

    def list_children_names(self, flags: int = 0) -> list[str]:
        return list(self._drv.domain_snapshot_list_children_names(
            self._ref, self._drv.domain_snapshot_num_children(self._ref, flags), flags))

    def list_all_children(self, flags: int = 0) -> list["DomainSnapshot"]:
        return [self._snap(r) for r in self._drv.domain_snapshot_list_all_children(self._ref, flags)]

    def delete(self, flags: int = 0) -> int:
        self._drv.domain_snapshot_delete(self._ref, flags)
        return 0
