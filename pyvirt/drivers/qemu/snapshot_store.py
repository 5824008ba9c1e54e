"""Snapshot metadata of the QEMU driver: ``SNAPSHOT_DIR/DOMAIN/NAME.xml``, as libvirt keeps it.

Each file is the snapshot's XML formatted with libvirt's INTERNAL and SECURE
flags (an ``<active>`` element marks the current snapshot), behind libvirt's
"auto-generated file" comment. The files of a domain are read the first time a
connection of this process asks for its snapshots, so a new process (or a new
embedded connection after the last one closed) sees what earlier ones wrote.
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree

from ... import constants as c
from ...conf.snapshot import SnapshotDef
from ...errors import LibvirtError
from .process import atomic_write

if TYPE_CHECKING:
    from .state import QemuState

__all__ = ["Snap", "SnapList", "snapshots_of", "forget", "snapshot_count", "remove_snapshot_metadata",
           "HEADER"]

HEADER = """<!--
WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE
OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:
  virsh snapshot-edit
or other application using the libvirt API.
-->

"""


@dataclass
class Snap:
    """One snapshot: its definition (``conf.snapshot.SnapshotDef``)."""

    sdef: SnapshotDef

    @property
    def name(self) -> str:
        return self.sdef.name

    @property
    def parent(self) -> str | None:
        return self.sdef.parent

    @parent.setter
    def parent(self, value: str | None) -> None:
        self.sdef.parent = value

    @property
    def state(self) -> str:
        return self.sdef.state or "running"

    @property
    def memory(self) -> str:
        return self.sdef.memory

    def external(self) -> bool:
        """libvirt's virDomainSnapshotIsExternal: external memory or any external disk."""
        return self.sdef.memory == "external" or any(d.snapshot == "external" for d in self.sdef.disks)


@dataclass
class SnapList:
    """The snapshots of one domain and its current snapshot."""

    directory: Path
    snaps: dict[str, Snap] = field(default_factory=dict)
    current: str | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    keep: bool = False  # a revert stops and restarts a transient domain: its metadata stays

    def file(self, name: str) -> Path:
        return self.directory / f"{name}.xml"

    def write(self, snap: Snap, uuid: str) -> None:
        """qemuDomainSnapshotWriteMetadata."""
        text = snap.sdef.to_xml(secure=True, internal=True, current=self.current == snap.name,
                                domain_uuid=uuid)
        atomic_write(self.file(snap.name), HEADER + text)

    def set_current(self, name: str | None, uuid: str) -> None:
        """qemuSnapshotSetCurrent: the old current one is rewritten (its ``<active>`` changes)."""
        old, self.current = self.current, name
        if old is not None and old != name and old in self.snaps:
            self.write(self.snaps[old], uuid)

    def remove_file(self, name: str) -> None:
        try:
            self.file(name).unlink()
        except OSError:
            pass


def _load(directory: Path) -> SnapList:
    """qemuDomainSnapshotLoad: every parsable ``*.xml`` (bad ones are skipped, as libvirt does)."""
    out = SnapList(directory)
    loaded: list[tuple[int, str, Snap, bool]] = []
    for path in sorted(directory.glob("*.xml")) if directory.is_dir() else []:
        try:
            text = path.read_text()
            sdef = SnapshotDef.parse(text, redefine=True)
            root = etree.fromstring(text.encode())
        except (OSError, LibvirtError, etree.XMLSyntaxError, ValueError):
            continue
        active = (root.findtext("active") or "0").strip() == "1"
        loaded.append((sdef.creation_time, sdef.name, Snap(sdef), active))
    loaded.sort(key=lambda t: (t[0], t[1]))
    for _t, name, snap, active in loaded:
        out.snaps[name] = snap
        if active:
            out.current = name
    for snap in out.snaps.values():  # virDomainSnapshotUpdateRelations: an unknown parent makes a root
        if snap.parent is not None and snap.parent not in out.snaps:
            snap.parent = None
    return out


_LISTS: "weakref.WeakKeyDictionary[QemuState, dict[str, SnapList]]" = weakref.WeakKeyDictionary()
_LISTS_LOCK = threading.Lock()


def snapshots_of(st: "QemuState", name: str) -> SnapList:
    """The snapshots of domain *name* in *st* (read from disk on first use in this process)."""
    with _LISTS_LOCK:
        per_state = _LISTS.get(st)
        if per_state is None:
            per_state = _LISTS[st] = {}
            _watch_transients(st)
        lst = per_state.get(name)
        if lst is None:
            lst = per_state[name] = _load(st.layout.snapshot_dir / name)
        return lst


def _watch_transients(st: "QemuState") -> None:
    """A transient domain's snapshot metadata goes when the domain does (qemuDomainRemoveInactive)."""
    state = weakref.ref(st)

    def on_event(ref: Any, event: int, _detail: int) -> None:
        cur = state()
        if cur is None or event != c.VIR_DOMAIN_EVENT_STOPPED:
            return
        with _LISTS_LOCK:
            lst = _LISTS.get(cur, {}).get(ref.name)
        if lst is None or lst.keep or not lst.snaps:
            return
        with cur.lock:
            gone = ref.name not in cur.doms
        if gone:
            remove_snapshot_metadata(cur, ref.name)

    st.bus.subscribe("domain", c.VIR_DOMAIN_EVENT_ID_LIFECYCLE, None, on_event)


def forget(st: "QemuState", name: str) -> None:
    """Drop the in-memory list of *name* (after its metadata was removed)."""
    with _LISTS_LOCK:
        _LISTS.get(st, {}).pop(name, None)


def snapshot_count(st: "QemuState", name: str) -> int:
    """How many snapshots domain *name* has (for undefine's check)."""
    return len(snapshots_of(st, name).snaps)


def remove_snapshot_metadata(st: "QemuState", name: str) -> None:
    """Delete every snapshot's metadata of *name* (VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)."""
    lst = snapshots_of(st, name)
    with lst.lock:
        for snap in list(lst.snaps):
            lst.remove_file(snap)
        lst.snaps.clear()
        lst.current = None
    try:
        os.rmdir(lst.directory)
    except OSError:
        pass
    forget(st, name)
