"""External disk snapshots of the QEMU driver: create (running or shut off) and delete (block commit)."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from ... import constants as c
from ...conf.domain import DomainDef
from ...conf.snapshot import SnapshotDef
from ...errors import LibvirtError, make_error
from .errors import qemu_error as _err
from .validate import validate
from .snapshot_disks import (commit_external_active, commit_external_inactive, create_external_active,
                             create_external_inactive, disk_source, pop_backing, push_backing, remove_files)

if TYPE_CHECKING:
    from .driver import Dom, QemuState
    from .process import QemuVM
    from .snapshot_store import Snap, SnapList

__all__ = ["ExternalMixin"]


def _startable(defn: DomainDef) -> DomainDef:
    """*defn* as libvirt writes it (disks with their ``<backingStore>``) when the driver's define-time
    checks take that; else without the chains (QEMU finds them in the images anyway)."""
    try:
        validate(defn)
        return defn
    except LibvirtError:
        out = defn.copy()
        for disk in out.devices_elem.findall("disk"):
            for bs in disk.findall("backingStore"):
                disk.remove(bs)
        return out


class ExternalMixin:
    """External snapshot steps of :class:`~.snapshot.SnapshotMixin`."""

    st: "QemuState"

    if TYPE_CHECKING:
        def _save_config(self, d: "Dom") -> None: ...
        def _stop_from_snapshot(self, d: "Dom", vm: "QemuVM") -> None: ...
        def _discard_metadata(self, d: "Dom", lst: "SnapList", s: "Snap") -> None: ...

    def _create_inactive_external(self, d: "Dom", config: DomainDef, sdef: SnapshotDef, flags: int) -> None:
        """qemuSnapshotCreateInactiveExternal: overlays, and the persistent XML points at them."""
        new = config.copy()
        created = create_external_inactive(new, sdef.disks, bool(flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT))
        try:
            with self.st.lock:
                d.config = new
                self._save_config(d)
        except BaseException:
            with self.st.lock:
                d.config = config
            remove_files(created)
            raise

    def _create_active_external(self, d: "Dom", vm: "QemuVM", sdef: SnapshotDef, flags: int) -> None:
        """qemuSnapshotCreateActiveExternal (disk only): the running guest moves onto the overlays.

        The persistent definition follows for each disk whose source is the live one (libvirt's rule).
        """
        before = {x.target: x.source for x in vm.live.disks}
        create_external_active(vm, sdef.disks, bool(flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT))
        with self.st.lock:
            if d.config is not None:
                new = d.config.copy()
                changed = False
                for sdisk in sdef.disks:
                    if sdisk.snapshot != "external":
                        continue
                    for disk in new.disks:
                        if disk.target == sdisk.name and disk.source == before.get(sdisk.name):
                            push_backing(disk.xml, sdisk.source or "", sdisk.driver_type or "qcow2", live=False)
                            changed = True
                if changed:
                    d.config = _startable(new)
                    self._save_config(d)
        if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT:
            self._stop_from_snapshot(d, vm)

    # --- delete -----------------------------------------------------------------------------
    def _delete_external(self, d: "Dom", lst: "SnapList", s: "Snap") -> None:
        """qemuSnapshotDeleteExternalPrepare + qemuSnapshotDiscardExternal, for the disks' active layers."""
        with self.st.lock:
            vm = d.vm
            current = vm.live if vm is not None else d.config
        assert current is not None
        todo: list[int] = []
        for sdisk in s.sdef.disks:
            if sdisk.snapshot == "no":
                continue
            ddisks = current.disks
            idx = next((i for i, x in enumerate(ddisks) if x.target == sdisk.name), None)
            if idx is None:
                raise _err(c.VIR_ERR_INVALID_ARG, f"disk '{sdisk.name}' not found in domain")
            disk = ddisks[idx]
            if disk.source != sdisk.source:
                deeper = any(b.get("file") == sdisk.source or b.get("dev") == sdisk.source
                             for b in disk.xml.iterfind(".//backingStore/source"))
                if vm is not None and deeper:
                    raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                               f"deleting external snapshot '{s.name}' whose overlay is not the active layer "
                               f"of disk '{sdisk.name}' is not supported by pyvirt's QEMU driver")
                raise make_error(c.VIR_ERR_INVALID_ARG, "could not find base disk source in disk source chain",
                                 c.VIR_FROM_STORAGE)
            parent_disk = next((x for x in (s.sdef.domain.disks if s.sdef.domain else [])
                                if x.target == sdisk.name), None)
            if parent_disk is None:
                raise _err(c.VIR_ERR_OPERATION_FAILED, f"failed to find disk '{sdisk.name}' in snapshot VM XML")
            if vm is not None:
                backing = disk.xml.find("backingStore/source")
                if backing is None:
                    raise _err(c.VIR_ERR_OPERATION_FAILED, "failed to find parent disk source in backing chain")
                if (backing.get("file") or backing.get("dev")) != parent_disk.source:
                    raise _err(c.VIR_ERR_OPERATION_FAILED,
                               "snapshot VM disk source and parent disk source are not the same")
            parent = self._parent_for_disk(lst, s, sdisk.name)
            if parent is not None and not parent.external():
                raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                           "deleting external snapshot that has internal snapshot as parent not supported")
            todo.append(idx)
        for idx in todo:
            if vm is not None:
                top = commit_external_active(vm, idx)
                remove_files([top])
                self._config_follows(d, idx, top)
            else:
                self._commit_inactive(d, s, idx)
        self._discard_metadata(d, lst, s)

    @staticmethod
    def _parent_for_disk(lst: "SnapList", s: "Snap", disk: str) -> "Snap | None":
        """qemuSnapshotFindParentSnapForDisk."""
        cur = s.parent
        while cur is not None and cur in lst.snaps:
            par = lst.snaps[cur]
            if any(x.snapshot != "no" and x.name == disk for x in par.sdef.disks):
                return par
            cur = par.parent
        return None

    def _commit_inactive(self, d: "Dom", s: "Snap", idx: int) -> None:
        with self.st.lock:
            assert d.config is not None
            new = d.config.copy()
        disk = new.devices_elem.findall("disk")[idx]
        top = disk_source(disk) or ""
        target = disk.find("target").get("dev", "")  # type: ignore[union-attr]
        assert s.sdef.domain is not None
        parent = next(x for x in s.sdef.domain.disks if x.target == target)
        try:
            commit_external_inactive(top, disk)
        except LibvirtError as exc:
            raise _err(c.VIR_ERR_INTERNAL_ERROR, f"block commit failed while deleting disk '{target}' "
                       f"snapshot: '{exc.message}'") from exc
        if disk.find("backingStore/source") is not None:
            pop_backing(disk)
        else:
            parent_xml = parent.xml
            for tag in ("source", "driver"):
                old, rep = disk.find(tag), parent_xml.find(tag)
                if old is not None and rep is not None:
                    old.addprevious(copy.deepcopy(rep))
                    disk.remove(old)
            disk.set("type", parent_xml.get("type", "file"))
        with self.st.lock:
            d.config = new
            self._save_config(d)

    def _config_follows(self, d: "Dom", idx: int, top: str) -> None:
        """After a live commit, the persistent disk that used the removed overlay uses its backing again."""
        with self.st.lock:
            if d.config is None:
                return
            vm = d.vm
            new = d.config.copy()
            disks = new.devices_elem.findall("disk")
            if idx >= len(disks) or disk_source(disks[idx]) != top:
                return
            if disks[idx].find("backingStore") is not None:
                pop_backing(disks[idx])
            elif vm is not None:  # the config had no chain: take the live disk's (committed) source
                live_disk = vm.live.devices_elem.findall("disk")[idx]
                for tag in ("source", "driver"):
                    old, rep = disks[idx].find(tag), live_disk.find(tag)
                    if old is not None and rep is not None:
                        rep = copy.deepcopy(rep)
                        if "index" in rep.attrib:
                            del rep.attrib["index"]
                        old.addprevious(rep)
                        disks[idx].remove(old)
                disks[idx].set("type", live_disk.get("type", "file"))
            d.config = new
            self._save_config(d)
