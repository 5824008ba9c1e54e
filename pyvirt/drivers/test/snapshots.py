"""Domain snapshots of the test driver (metadata only, like libvirt's)."""

from __future__ import annotations

import time
from typing import Any

from ... import constants as c
from ...conf.xmlutil import escape_text, parse_xml
from .. import snaptree
from ..base import DomainRef, SnapshotRef
from .common import Event, TestBase, conf_err, err, flags_ok
from .loader import start_domain
from .state import DomObj, SnapObj
from .xmldefs import DomainDef, SnapshotDef

__all__ = ["SnapshotsMixin"]



def _conf_snapshot_def() -> Any:
    """The shared snapshot model's class, imported on first use (None: use the stand-in)."""
    try:
        from ...conf.snapshot import SnapshotDef
    except ImportError:
        return None
    return SnapshotDef

STATE_NAMES = ("nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended")
_LIST_ALLOWED = snaptree.LIST_ALLOWED
_CHILD_ALLOWED = snaptree.CHILD_ALLOWED


class SnapshotsMixin(TestBase):
    """virDomainSnapshot* calls."""

    def _snap(self, d: DomObj, name: str) -> SnapObj:
        s = d.snapshots.get(name)
        if s is None:
            raise err(c.VIR_ERR_NO_DOMAIN_SNAPSHOT, f"no domain snapshot with matching name '{name}'")
        return s

    def _snapdom(self, snap: SnapshotRef) -> tuple[DomObj, SnapObj]:
        d = self._dom(snap.domain)
        return d, self._snap(d, snap.name)

    @staticmethod
    def _children_of(d: DomObj, name: str | None) -> list[SnapObj]:
        return snaptree.children(d.snapshots, name)

    def _descendants(self, d: DomObj, name: str) -> list[SnapObj]:
        return snaptree.descendants(d.snapshots, name)

    def _select(self, d: DomObj, parent: str | None, flags: int, from_root: bool) -> list[str]:
        assert from_root or parent is not None
        return snaptree.select(d.snapshots, None if from_root else parent, flags)

    def domain_snapshot_num(self, dom: DomainRef, flags: int = 0) -> int:
        return len(self.domain_snapshot_list_names(dom, -1, flags))

    def domain_snapshot_list_names(self, dom: DomainRef, maxnames: int = -1, flags: int = 0) -> list[str]:
        flags_ok(flags, _LIST_ALLOWED, "testDomainSnapshotListNames")
        with self._lock:
            names = self._select(self._dom(dom), None, flags, True)
        return names if maxnames < 0 else names[:maxnames]

    def domain_list_all_snapshots(self, dom: DomainRef, flags: int = 0) -> list[SnapshotRef]:
        flags_ok(flags, _LIST_ALLOWED, "testDomainListAllSnapshots")
        with self._lock:
            return [SnapshotRef(dom, n) for n in self._select(self._dom(dom), None, flags, True)]

    def domain_snapshot_list_children_names(self, snap: SnapshotRef, maxnames: int = -1, flags: int = 0) -> list[str]:
        flags_ok(flags, _CHILD_ALLOWED, "testDomainSnapshotListChildrenNames")
        with self._lock:
            d, s = self._snapdom(snap)
            names = self._select(d, s.name, flags, False)
        return names if maxnames < 0 else names[:maxnames]

    def domain_snapshot_num_children(self, snap: SnapshotRef, flags: int = 0) -> int:
        return len(self.domain_snapshot_list_children_names(snap, -1, flags))

    def domain_snapshot_list_all_children(self, snap: SnapshotRef, flags: int = 0) -> list[SnapshotRef]:
        return [SnapshotRef(snap.domain, n) for n in self.domain_snapshot_list_children_names(snap, -1, flags)]

    def domain_snapshot_lookup_by_name(self, dom: DomainRef, name: str, flags: int = 0) -> SnapshotRef:
        flags_ok(flags, 0, "testDomainSnapshotLookupByName")
        with self._lock:
            self._snap(self._dom(dom), name)
        return SnapshotRef(dom, name)

    def domain_has_current_snapshot(self, dom: DomainRef, flags: int = 0) -> int:
        flags_ok(flags, 0, "testDomainHasCurrentSnapshot")
        with self._lock:
            return int(self._dom(dom).current_snapshot is not None)

    def domain_snapshot_get_parent(self, snap: SnapshotRef, flags: int = 0) -> SnapshotRef:
        flags_ok(flags, 0, "testDomainSnapshotGetParent")
        with self._lock:
            _, s = self._snapdom(snap)
            if s.parent is None:
                raise err(c.VIR_ERR_NO_DOMAIN_SNAPSHOT, f"snapshot '{s.name}' does not have a parent")
            return SnapshotRef(snap.domain, s.parent)

    def domain_snapshot_current(self, dom: DomainRef, flags: int = 0) -> SnapshotRef:
        flags_ok(flags, 0, "testDomainSnapshotCurrent")
        with self._lock:
            d = self._dom(dom)
            if d.current_snapshot is None:
                raise err(c.VIR_ERR_NO_DOMAIN_SNAPSHOT, "the domain does not have a current snapshot")
            return SnapshotRef(dom, d.current_snapshot)

    def domain_snapshot_is_current(self, snap: SnapshotRef, flags: int = 0) -> int:
        flags_ok(flags, 0, "testDomainSnapshotIsCurrent")
        with self._lock:
            d, s = self._snapdom(snap)
            return int(d.current_snapshot == s.name)

    def domain_snapshot_has_metadata(self, snap: SnapshotRef, flags: int = 0) -> int:
        flags_ok(flags, 0, "testDomainSnapshotHasMetadata")
        with self._lock:
            self._snapdom(snap)
        return 1

    def domain_snapshot_get_xml_desc(self, snap: SnapshotRef, flags: int = 0) -> str:
        flags_ok(flags, c.VIR_DOMAIN_SNAPSHOT_XML_SECURE, "testDomainSnapshotGetXMLDesc")
        with self._lock:
            d, s = self._snapdom(snap)
            return _format_snapshot(s, bool(flags & c.VIR_DOMAIN_SNAPSHOT_XML_SECURE))

    # -- create -----------------------------------------------------------------
    def domain_snapshot_create_xml(self, dom: DomainRef, xml: str, flags: int = 0) -> SnapshotRef:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | c.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
                 | c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT | c.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE
                 | c.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC | c.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE
                 | c.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE, "testDomainSnapshotCreateXML")
        redefine = bool(flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
        update_current = not redefine or bool(flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT)
        events: list[Event] = []
        with self._lock:
            d = self._dom(dom)
            if d.checkpoints:
                raise err(c.VIR_ERR_OPERATION_UNSUPPORTED, "cannot create snapshot while checkpoint exists")
            if not d.persistent and flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT:
                raise err(c.VIR_ERR_OPERATION_INVALID, "cannot halt after transient domain snapshot")
            if _conf_snapshot_def() is not None:
                s = self._create_conf(d, xml, redefine)
                if not redefine and flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT and d.active():
                    self._halt(d, c.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT)
                    events.append(self._lifecycle(d, c.VIR_DOMAIN_EVENT_STOPPED,
                                                  c.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT))
                if update_current:
                    d.current_snapshot = s.name
                ref = SnapshotRef(d.ref(), s.name)
                self._fire(events)
                return ref
            sdef = SnapshotDef.parse(xml)
            root = sdef.root
            if redefine:
                s = self._redefine(d, sdef)
            else:
                for tag in ("state", "creationTime", "parent", "domain", "active"):
                    if root.find(tag) is not None:
                        raise err(c.VIR_ERR_XML_DETAIL, None, f"XML error: an unexpected element <{tag}> in a "
                                  f"snapshot definition")
                now = int(time.time())
                name = sdef.name or str(now)
                if name in d.snapshots:
                    raise conf_err(c.VIR_ERR_OPERATION_FAILED, f"domain moment {name} already exists")
                mem = root.find("memory")
                memory = mem.get("snapshot") if mem is not None and mem.get("snapshot") else None
                state = STATE_NAMES[d.state]
                if memory is None:
                    memory = "no" if state == "shutoff" else "internal"
                disk_mode = "external" if memory == "external" else "internal"
                dom_xml = d.def_.to_xml(inactive=True, secure=True)
                s = SnapObj(name, sdef, d.current_snapshot, now, state, dom_xml, memory, disk_mode)
                s.description = sdef.description
                d.snapshots[name] = s
                if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT and d.active():
                    self._halt(d, c.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT)
                    events.append(self._lifecycle(d, c.VIR_DOMAIN_EVENT_STOPPED,
                                                  c.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT))
            if update_current:
                d.current_snapshot = s.name
            ref = SnapshotRef(d.ref(), s.name)
        self._fire(events)
        return ref

    def _create_conf(self, d: DomObj, xml: str, redefine: bool) -> SnapObj:
        """Create or redefine a snapshot with the shared snapshot model."""
        conf_def = _conf_snapshot_def()
        assert conf_def is not None
        sdef = conf_def.parse(xml, d.def_, redefine=redefine)
        if redefine:
            if sdef.domain is None:
                raise err(c.VIR_ERR_INTERNAL_ERROR, "missing domain in snapshot", domain=c.VIR_FROM_DOMAIN_SNAPSHOT)
            if sdef.domain.uuid != d.def_.uuid:
                raise err(c.VIR_ERR_INVALID_ARG,
                          f"definition for snapshot {sdef.name} must use uuid {d.def_.uuid}")
            if sdef.parent is not None and sdef.parent not in d.snapshots:
                raise err(c.VIR_ERR_INVALID_ARG, f"parent {sdef.parent} for snapshot {sdef.name} not found")
        else:
            sdef.align_for_create(STATE_NAMES[d.state])
            if sdef.name in d.snapshots:
                raise conf_err(c.VIR_ERR_OPERATION_FAILED, f"domain moment {sdef.name} already exists")
            sdef.parent = d.current_snapshot
        dom_xml = sdef.domain.to_xml(inactive=True, secure=True) if sdef.domain is not None else ""
        s = SnapObj(sdef.name, sdef, sdef.parent, sdef.creation_time, sdef.state or "running", dom_xml,
                    sdef.memory, "", sdef.description, sdef)
        d.snapshots[s.name] = s
        return s

    def _halt(self, d: DomObj, reason: int) -> None:
        if d.new_def is not None:
            d.def_, d.new_def = d.new_def, None
        d.state, d.reason = c.VIR_DOMAIN_SHUTOFF, reason
        self.st.set_id(d, -1)

    def _redefine(self, d: DomObj, sdef: SnapshotDef) -> SnapObj:
        root = sdef.root
        if not sdef.name:
            raise err(c.VIR_ERR_INVALID_ARG, "a redefined snapshot must have a name")
        state = root.findtext("state")
        if state is None:
            raise err(c.VIR_ERR_XML_DETAIL, None, "XML error: missing state from existing snapshot")
        parent = sdef.parent
        if parent is not None and parent not in d.snapshots:
            raise err(c.VIR_ERR_INVALID_ARG, f"parent {parent} for snapshot {sdef.name} not found")
        de = root.find("domain")
        if de is not None:
            if (de.findtext("uuid") or "").strip() and (de.findtext("uuid") or "").strip() != d.def_.uuid:
                raise err(c.VIR_ERR_INVALID_ARG, f"definition for snapshot {sdef.name} must use uuid "
                          f"{d.def_.uuid}")
            dom_xml = DomainDef.from_element(de).to_xml(inactive=True, secure=True)
        else:
            raise err(c.VIR_ERR_INTERNAL_ERROR, "missing domain in snapshot", domain=c.VIR_FROM_DOMAIN_SNAPSHOT)
        mem = root.find("memory")
        memory = mem.get("snapshot") if mem is not None and mem.get("snapshot") else (
            "no" if state == "shutoff" else "internal")
        ctime = int(root.findtext("creationTime") or 0)
        s = SnapObj(sdef.name, sdef, parent, ctime, state, dom_xml, memory, "")
        s.description = sdef.description
        d.snapshots[sdef.name] = s
        return s

    # -- delete -------------------------------------------------------------------
    def domain_snapshot_delete(self, snap: SnapshotRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY,
                 "testDomainSnapshotDelete")
        with self._lock:
            d, s = self._snapdom(snap)
            if flags & (c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY):
                removed_current = False
                for ch in self._descendants(d, s.name):
                    if d.current_snapshot == ch.name:
                        removed_current = True
                    del d.snapshots[ch.name]
                if removed_current:
                    d.current_snapshot = s.name
            else:
                for ch in self._children_of(d, s.name):
                    ch.parent = s.parent
            if not flags & c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY:
                if d.current_snapshot == s.name:
                    d.current_snapshot = s.parent if s.parent in d.snapshots else None
                del d.snapshots[s.name]

    # -- revert ---------------------------------------------------------------------
    def domain_revert_to_snapshot(self, snap: SnapshotRef, flags: int = 0) -> None:
        self.check_writable()
        run_f, pause_f = c.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING, c.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED
        flags_ok(flags, run_f | pause_f | c.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE, "testDomainRevertToSnapshot")
        events: list[Event] = []
        with self._lock:
            d, s = self._snapdom(snap)
            live_state = s.state in ("running", "paused")
            if not d.persistent and not live_state and not flags & (run_f | pause_f):
                raise err(c.VIR_ERR_OPERATION_INVALID,
                          "transient domain needs to request run or pause to revert to inactive snapshot")
            if not s.dom_xml:
                raise err(c.VIR_ERR_SNAPSHOT_REVERT_RISKY,
                          f"snapshot '{s.name}' lacks domain '{d.name}' rollback info")
            d.current_snapshot = None
            config = DomainDef.parse(s.dom_xml)
            if live_state:
                if d.active():
                    self._halt(d, c.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT)
                    events.append(self._lifecycle(d, c.VIR_DOMAIN_EVENT_STOPPED,
                                                  c.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT))
                self._assign_inactive(d, config)
                start_domain(self.st, d, c.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT)
                events.append(self._lifecycle(d, c.VIR_DOMAIN_EVENT_STARTED,
                                              c.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT))
                if not flags & run_f and (s.state == "paused" or flags & pause_f):
                    d.state, d.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_FROM_SNAPSHOT
                    events.append(self._lifecycle(d, c.VIR_DOMAIN_EVENT_SUSPENDED,
                                                  c.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT))
            else:
                self._assign_inactive(d, config)
                if d.active():
                    self._halt(d, c.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT)
                    events.append(self._lifecycle(d, c.VIR_DOMAIN_EVENT_STOPPED,
                                                  c.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT))
                if flags & (run_f | pause_f):
                    # libvirt 9.0 only emits the events here; the domain stays shut off
                    events.append(self._lifecycle(d, c.VIR_DOMAIN_EVENT_STARTED,
                                                  c.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT))
                    if flags & pause_f:
                        events.append(self._lifecycle(d, c.VIR_DOMAIN_EVENT_SUSPENDED,
                                                      c.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT))
            d.current_snapshot = s.name
        self._fire(events)

    @staticmethod
    def _assign_inactive(d: DomObj, config: DomainDef) -> None:
        """libvirt's virDomainObjAssignDef(live=false)."""
        if d.active():
            d.new_def = config
        else:
            d.def_ = config


def _format_snapshot(s: SnapObj, secure: bool = False) -> str:
    if s.conf is not None:
        s.conf.parent = s.parent
        return str(s.conf.to_xml(secure=secure))
    out = ["<domainsnapshot>", f"  <name>{escape_text(s.name)}</name>"]
    desc = s.description
    if desc:
        out.append(f"  <description>{escape_text(desc)}</description>")
    out.append(f"  <state>{s.state}</state>")
    if s.parent:
        out += ["  <parent>", f"    <name>{escape_text(s.parent)}</name>", "  </parent>"]
    out.append(f"  <creationTime>{s.creation_time}</creationTime>")
    out.append(f"  <memory snapshot='{s.memory}'/>")
    if s.dom_xml:
        dom = parse_xml(s.dom_xml, "domain")
        targets = [d.find("target") for d in dom.findall("devices/disk")]
        disks = [t.get("dev") for t in targets if t is not None]
        if disks and s.disks:
            out.append("  <disks>")
            for name in disks:
                out.append(f"    <disk name='{name}' snapshot='{s.disks}'/>")
            out.append("  </disks>")
        out += ["  " + line if line else line for line in s.dom_xml.rstrip("\n").split("\n")]
    out.append("</domainsnapshot>")
    return "\n".join(out) + "\n"

