"""Domain checkpoints of the test driver (metadata only, like libvirt's)."""

from __future__ import annotations

import time

from ... import constants as c
from ...conf.xmlutil import escape_attr, escape_text, parse_xml
from ..base import DomainRef, SnapshotRef
from .common import TestBase, err, flags_ok
from .state import CheckpointObj, DomObj

__all__ = ["CheckpointsMixin"]

# Checkpoint handles reuse SnapshotRef(domain, name): base.py has no CheckpointRef yet.
CheckpointRef = SnapshotRef

_FILTERS = c.VIR_DOMAIN_CHECKPOINT_LIST_LEAVES | c.VIR_DOMAIN_CHECKPOINT_LIST_NO_LEAVES


class CheckpointsMixin(TestBase):
    """virDomainCheckpoint* calls."""

    def _chk(self, d: DomObj, name: str) -> CheckpointObj:
        k = d.checkpoints.get(name)
        if k is None:
            raise err(c.VIR_ERR_NO_DOMAIN_CHECKPOINT, f"no domain checkpoint with matching name '{name}'")
        return k

    def domain_checkpoint_create_xml(self, dom: DomainRef, xml: str, flags: int = 0) -> SnapshotRef:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE | c.VIR_DOMAIN_CHECKPOINT_CREATE_QUIESCE,
                 "testDomainCheckpointCreateXML")
        redefine = bool(flags & c.VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE)
        with self._lock:
            d = self._dom(dom)
            if d.snapshots:
                raise err(c.VIR_ERR_OPERATION_UNSUPPORTED, "cannot create checkpoint while snapshot exists")
            if not d.active():
                raise err(c.VIR_ERR_OPERATION_UNSUPPORTED, "cannot create checkpoint for inactive domain")
            root = parse_xml(xml, "domaincheckpoint", "domaincheckpoint")
            now = int(time.time())
            name = (root.findtext("name") or "").strip() or str(now)
            if redefine:
                ctime = int(root.findtext("creationTime") or now)
                parent = root.findtext("parent/name")
            else:
                if name in d.checkpoints:
                    raise err(c.VIR_ERR_OPERATION_FAILED, f"domain moment {name} already exists",
                              domain=c.VIR_FROM_DOMAIN)
                ctime, parent = now, d.current_checkpoint
            disks = [t.get("dev") or "" for t in (x.find("target") for x in d.def_.root.findall("devices/disk"))
                     if t is not None]
            desc = root.findtext("description")
            d.checkpoints[name] = CheckpointObj(name, parent, ctime, desc, disks,
                                                d.def_.to_xml(inactive=True, secure=True))
            if not redefine:
                d.current_checkpoint = name
            return SnapshotRef(d.ref(), name)

    def _chk_names(self, d: DomObj, parent: str | None, flags: int, roots_only: bool) -> list[str]:
        kids = {k.parent for k in d.checkpoints.values() if k.parent}
        if parent is None:
            cand = [k for k in d.checkpoints.values() if not roots_only or k.parent is None]
        elif flags & c.VIR_DOMAIN_CHECKPOINT_LIST_DESCENDANTS:
            cand, todo = [], [parent]
            while todo:
                cur = todo.pop(0)
                for k in d.checkpoints.values():
                    if k.parent == cur:
                        cand.append(k)
                        todo.append(k.name)
        else:
            cand = [k for k in d.checkpoints.values() if k.parent == parent]
        if flags & _FILTERS:
            cand = [k for k in cand if (flags & c.VIR_DOMAIN_CHECKPOINT_LIST_LEAVES and k.name not in kids)
                    or (flags & c.VIR_DOMAIN_CHECKPOINT_LIST_NO_LEAVES and k.name in kids)]
        return [k.name for k in cand]

    def domain_list_all_checkpoints(self, dom: DomainRef, flags: int = 0) -> list[SnapshotRef]:
        flags_ok(flags, c.VIR_DOMAIN_CHECKPOINT_LIST_ROOTS | c.VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL | _FILTERS,
                 "testDomainListAllCheckpoints")
        with self._lock:
            d = self._dom(dom)
            roots = bool(flags & c.VIR_DOMAIN_CHECKPOINT_LIST_ROOTS)
            return [SnapshotRef(dom, n) for n in self._chk_names(d, None, flags, roots)]

    def domain_checkpoint_list_all_children(self, chk: SnapshotRef, flags: int = 0) -> list[SnapshotRef]:
        flags_ok(flags, c.VIR_DOMAIN_CHECKPOINT_LIST_DESCENDANTS | c.VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL
                 | _FILTERS, "testDomainCheckpointListAllChildren")
        with self._lock:
            d = self._dom(chk.domain)
            self._chk(d, chk.name)
            return [SnapshotRef(chk.domain, n) for n in self._chk_names(d, chk.name, flags, False)]

    def domain_checkpoint_lookup_by_name(self, dom: DomainRef, name: str, flags: int = 0) -> SnapshotRef:
        flags_ok(flags, 0, "testDomainCheckpointLookupByName")
        with self._lock:
            self._chk(self._dom(dom), name)
        return SnapshotRef(dom, name)

    def domain_checkpoint_get_parent(self, chk: SnapshotRef, flags: int = 0) -> SnapshotRef:
        flags_ok(flags, 0, "testDomainCheckpointGetParent")
        with self._lock:
            k = self._chk(self._dom(chk.domain), chk.name)
            if k.parent is None:
                raise err(c.VIR_ERR_NO_DOMAIN_CHECKPOINT, f"checkpoint '{k.name}' does not have a parent")
            return SnapshotRef(chk.domain, k.parent)

    def domain_checkpoint_get_xml_desc(self, chk: SnapshotRef, flags: int = 0) -> str:
        flags_ok(flags, c.VIR_DOMAIN_CHECKPOINT_XML_SECURE | c.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN
                 | c.VIR_DOMAIN_CHECKPOINT_XML_SIZE, "testDomainCheckpointGetXMLDesc")
        with self._lock:
            d = self._dom(chk.domain)
            k = self._chk(d, chk.name)
            if flags & c.VIR_DOMAIN_CHECKPOINT_XML_SIZE:
                self._check_active(d)
            out = ["<domaincheckpoint>", f"  <name>{escape_text(k.name)}</name>"]
            if k.description:
                out.append(f"  <description>{escape_text(k.description)}</description>")
            if k.parent:
                out += ["  <parent>", f"    <name>{escape_text(k.parent)}</name>", "  </parent>"]
            out.append(f"  <creationTime>{k.creation_time}</creationTime>")
            if k.disks:
                out.append("  <disks>")
                for disk in k.disks:
                    out.append(f"    <disk name='{escape_attr(disk)}' checkpoint='bitmap' "
                               f"bitmap='{escape_attr(k.name)}'/>")
                out.append("  </disks>")
            if not flags & c.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN:
                out += ["  " + line for line in k.dom_xml.rstrip("\n").split("\n")]
            out.append("</domaincheckpoint>")
            return "\n".join(out) + "\n"

    def domain_checkpoint_delete(self, chk: SnapshotRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN | c.VIR_DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY
                 | c.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY, "testDomainCheckpointDelete")
        with self._lock:
            d = self._dom(chk.domain)
            k = self._chk(d, chk.name)
            if flags & (c.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN | c.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY):
                gone = self._chk_names(d, k.name, c.VIR_DOMAIN_CHECKPOINT_LIST_DESCENDANTS, False)
                if d.current_checkpoint in gone:
                    d.current_checkpoint = k.name
                for n in gone:
                    del d.checkpoints[n]
            else:
                for other in d.checkpoints.values():
                    if other.parent == k.name:
                        other.parent = k.parent
            if not flags & c.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY:
                if d.current_checkpoint == k.name:
                    d.current_checkpoint = k.parent if k.parent in d.checkpoints else None
                del d.checkpoints[k.name]
