"""Snapshot trees shared by the drivers: children, descendants, list filters (libvirt's moment lists).

A driver keeps its snapshots in an insertion-ordered mapping name -> object; each
object has ``name``, ``parent`` (a name or None) and ``state`` (libvirt's
snapshot state name). Whether a snapshot is external is the driver's call
(*external*: a function of the object), as libvirt's virDomainSnapshotIsExternal.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol, Sequence, TypeVar

from .. import constants as c

__all__ = ["Moment", "LIST_FILTERS", "LIST_ALLOWED", "CHILD_ALLOWED", "children", "descendants",
           "topological", "select", "matches", "check_cycle"]


class Moment(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def parent(self) -> str | None: ...

    @property
    def state(self) -> str: ...


M = TypeVar("M", bound=Moment)

#: VIR_DOMAIN_SNAPSHOT_LIST_* filter bits (LEAVES .. EXTERNAL).
LIST_FILTERS = (c.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | c.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES
                | c.VIR_DOMAIN_SNAPSHOT_LIST_METADATA | c.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA
                | c.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE | c.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE
                | c.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY | c.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL
                | c.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL)
LIST_ALLOWED = c.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS | c.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL | LIST_FILTERS
CHILD_ALLOWED = c.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS | c.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL | LIST_FILTERS


def _memory_external(s: Moment) -> bool:
    return getattr(s, "memory", None) == "external"


def children(snaps: Mapping[str, M], name: str | None) -> list[M]:
    """The direct children of *name* (None: the roots), in insertion order."""
    return [s for s in snaps.values() if s.parent == name]


def descendants(snaps: Mapping[str, M], name: str) -> list[M]:
    """Every descendant of *name*, breadth first."""
    out: list[M] = []
    todo = [name]
    while todo:
        cur = todo.pop(0)
        for ch in children(snaps, cur):
            out.append(ch)
            todo.append(ch.name)
    return out


def topological(snaps: Mapping[str, M]) -> list[M]:
    """Every snapshot, each after its parent."""
    out: list[M] = []
    for root in children(snaps, None):
        out.append(root)
        out.extend(descendants(snaps, root.name))
    return out


def matches(s: Moment, flags: int, parents: set[str],
            external: Callable[[Any], bool] = _memory_external) -> bool:
    """Whether *s* passes the VIR_DOMAIN_SNAPSHOT_LIST_* filters in *flags* (*parents*: names with children)."""
    if flags & (c.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | c.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES):
        leaf = s.name not in parents
        if not ((flags & c.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES and leaf)
                or (flags & c.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES and not leaf)):
            return False
    if flags & (c.VIR_DOMAIN_SNAPSHOT_LIST_METADATA | c.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA):
        if not flags & c.VIR_DOMAIN_SNAPSHOT_LIST_METADATA:  # every listed snapshot has metadata
            return False
    state_bits = (c.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE | c.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE
                  | c.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY)
    if flags & state_bits:
        st = s.state
        ok = ((flags & c.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE and st == "shutoff")
              or (flags & c.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY and st == "disk-snapshot")
              or (flags & c.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE and st not in ("shutoff", "disk-snapshot")))
        if not ok:
            return False
    if flags & (c.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL | c.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL):
        ext = external(s)
        if not ((flags & c.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL and ext)
                or (flags & c.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL and not ext)):
            return False
    return True


def select(snaps: Mapping[str, M], parent: str | None, flags: int,
           external: Callable[[Any], bool] = _memory_external) -> list[str]:
    """Names listed by virDomainListAllSnapshots (*parent* None) or ListAllChildren (*parent* given)."""
    parents = {s.parent for s in snaps.values() if s.parent}
    cand: Sequence[M]
    if parent is None:
        cand = children(snaps, None) if flags & c.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS else topological(snaps)
    elif flags & c.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS:
        cand = descendants(snaps, parent)
    else:
        cand = children(snaps, parent)
    return [s.name for s in cand if matches(s, flags & LIST_FILTERS, parents, external)]


def check_cycle(snaps: Mapping[str, M], name: str, parent: str | None) -> str | None:
    """libvirt's virDomainMomentCheckCycles: the error text, or None when *parent* is acceptable."""
    if parent is None:
        return None
    if parent == name:
        return f"cannot set moment {name} as its own parent"
    if parent not in snaps:
        return f"parent {parent} for moment {name} not found"
    cur: str | None = parent
    while cur is not None and cur in snaps:
        if cur == name:
            return f"parent {parent} would create cycle to {name}"
        cur = snaps[cur].parent
    return None
