"""Snapshots of QEMU guests: internal qcow2 snapshots (with memory) and external disk snapshots.

The driver entries follow libvirt 9.0's qemu_snapshot.c: which snapshots can be
taken, reverted and deleted, their XML, the errors. The disk work is in
:mod:`.snapshot_disks`, the metadata files in :mod:`.snapshot_store`, the tree and
list filters in :mod:`pyvirt.drivers.snaptree` (shared with the test driver).
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any

from ... import constants as c
from ...conf.domain import DomainDef
from ...conf.snapshot import STATES, SnapshotDef
from ...errors import LibvirtError, check_flags, make_error
from .. import snaptree
from ..base import DomainRef, SnapshotRef
from .errors import qemu_error as _err
from .process import atomic_write
from .snapshot_disks import for_each_qcow2, hmp_delvm, hmp_savevm
from .snapshot_ext import ExternalMixin
from .snapshot_revert import RevertMixin
from .snapshot_store import Snap, SnapList, remove_snapshot_metadata, snapshots_of

if TYPE_CHECKING:
    from .driver import Dom, QemuState
    from .process import QemuVM

__all__ = ["SnapshotMixin"]

_F = "qemuDomainSnapshot"
_CREATE_FLAGS = (c.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | c.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
                 | c.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA | c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT
                 | c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | c.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT
                 | c.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE | c.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
                 | c.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE | c.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE)
_CHILDREN = c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY


def _state_name(state: int) -> str:
    return STATES[state] if 0 <= state < len(STATES) else "nostate"


def _no_snap(name: str) -> LibvirtError:
    return _err(c.VIR_ERR_NO_DOMAIN_SNAPSHOT, f"no domain snapshot with matching name '{name}'")


class SnapshotMixin(RevertMixin, ExternalMixin):
    """virDomainSnapshot* entries of :class:`~.driver.QemuDriver` (mixed in)."""

    st: "QemuState"

    if TYPE_CHECKING:  # provided by QemuDriver and Driver
        def check_writable(self) -> None: ...
        def _dom(self, ref: DomainRef) -> "Dom": ...
        def _parse(self, xml: str) -> DomainDef: ...
        def _start(self, d: "Dom", defn: DomainDef, flags: int, restore_fd: int | None = None) -> None: ...
        def _managed_path(self, name: str) -> Any: ...

    # --- helpers -------------------------------------------------------------------------
    def _snaplist(self, dom: DomainRef) -> tuple["Dom", SnapList]:
        with self.st.lock:
            d = self._dom(dom)
            return d, snapshots_of(self.st, d.name)

    def _lookup(self, snap: SnapshotRef) -> tuple["Dom", SnapList, Snap]:
        d, lst = self._snaplist(snap.domain)
        s = lst.snaps.get(snap.name)
        if s is None:
            raise _no_snap(snap.name)
        return d, lst, s

    def _uuid(self, d: "Dom") -> str:
        return d.definition.uuid

    # --- undefine hooks (called by QemuDriver.domain_undefine_flags) ------------------------
    def _snapshot_count(self, d: "Dom") -> int:
        return len(snapshots_of(self.st, d.name).snaps)

    def _snapshot_discard_all_metadata(self, d: "Dom") -> None:
        remove_snapshot_metadata(self.st, d.name)

    # --- lists and lookups -----------------------------------------------------------------
    def domain_snapshot_list_names(self, dom: DomainRef, maxnames: int = -1, flags: int = 0) -> list[str]:
        check_flags(flags, snaptree.LIST_ALLOWED, f"{_F}ListNames", c.VIR_FROM_QEMU)
        _d, lst = self._snaplist(dom)
        with lst.lock:
            names = snaptree.select(lst.snaps, None, flags, Snap.external)
        return names if maxnames < 0 else names[:maxnames]

    def domain_snapshot_num(self, dom: DomainRef, flags: int = 0) -> int:
        check_flags(flags, snaptree.LIST_ALLOWED, f"{_F}Num", c.VIR_FROM_QEMU)
        return len(self.domain_snapshot_list_names(dom, -1, flags))

    def domain_list_all_snapshots(self, dom: DomainRef, flags: int = 0) -> list[SnapshotRef]:
        check_flags(flags, snaptree.LIST_ALLOWED, "qemuDomainListAllSnapshots", c.VIR_FROM_QEMU)
        return [SnapshotRef(dom, n) for n in self.domain_snapshot_list_names(dom, -1, flags)]

    def domain_snapshot_list_children_names(self, snap: SnapshotRef, maxnames: int = -1,
                                            flags: int = 0) -> list[str]:
        check_flags(flags, snaptree.CHILD_ALLOWED, f"{_F}ListChildrenNames", c.VIR_FROM_QEMU)
        _d, lst, s = self._lookup(snap)
        with lst.lock:
            names = snaptree.select(lst.snaps, s.name, flags, Snap.external)
        return names if maxnames < 0 else names[:maxnames]

    def domain_snapshot_num_children(self, snap: SnapshotRef, flags: int = 0) -> int:
        check_flags(flags, snaptree.CHILD_ALLOWED, f"{_F}NumChildren", c.VIR_FROM_QEMU)
        return len(self.domain_snapshot_list_children_names(snap, -1, flags))

    def domain_snapshot_list_all_children(self, snap: SnapshotRef, flags: int = 0) -> list[SnapshotRef]:
        check_flags(flags, snaptree.CHILD_ALLOWED, f"{_F}ListAllChildren", c.VIR_FROM_QEMU)
        return [SnapshotRef(snap.domain, n) for n in self.domain_snapshot_list_children_names(snap, -1, flags)]

    def domain_snapshot_lookup_by_name(self, dom: DomainRef, name: str, flags: int = 0) -> SnapshotRef:
        check_flags(flags, 0, f"{_F}LookupByName", c.VIR_FROM_QEMU)
        d, lst = self._snaplist(dom)
        if name not in lst.snaps:
            raise _no_snap(name)
        return SnapshotRef(d.ref(), name)

    def domain_has_current_snapshot(self, dom: DomainRef, flags: int = 0) -> int:
        check_flags(flags, 0, "qemuDomainHasCurrentSnapshot", c.VIR_FROM_QEMU)
        return int(self._snaplist(dom)[1].current is not None)

    def domain_snapshot_get_parent(self, snap: SnapshotRef, flags: int = 0) -> SnapshotRef:
        check_flags(flags, 0, f"{_F}GetParent", c.VIR_FROM_QEMU)
        _d, _lst, s = self._lookup(snap)
        if s.parent is None:
            raise _err(c.VIR_ERR_NO_DOMAIN_SNAPSHOT, f"snapshot '{s.name}' does not have a parent")
        return SnapshotRef(snap.domain, s.parent)

    def domain_snapshot_current(self, dom: DomainRef, flags: int = 0) -> SnapshotRef:
        check_flags(flags, 0, f"{_F}Current", c.VIR_FROM_QEMU)
        d, lst = self._snaplist(dom)
        if lst.current is None:
            raise _err(c.VIR_ERR_NO_DOMAIN_SNAPSHOT, "the domain does not have a current snapshot")
        return SnapshotRef(d.ref(), lst.current)

    def domain_snapshot_is_current(self, snap: SnapshotRef, flags: int = 0) -> int:
        check_flags(flags, 0, f"{_F}IsCurrent", c.VIR_FROM_QEMU)
        _d, lst, s = self._lookup(snap)
        return int(lst.current == s.name)

    def domain_snapshot_has_metadata(self, snap: SnapshotRef, flags: int = 0) -> int:
        check_flags(flags, 0, f"{_F}HasMetadata", c.VIR_FROM_QEMU)
        self._lookup(snap)
        return 1

    def domain_snapshot_get_xml_desc(self, snap: SnapshotRef, flags: int = 0) -> str:
        check_flags(flags, c.VIR_DOMAIN_SNAPSHOT_XML_SECURE, f"{_F}GetXMLDesc", c.VIR_FROM_QEMU)
        d, lst, s = self._lookup(snap)
        with lst.lock:
            return s.sdef.to_xml(secure=bool(flags & c.VIR_DOMAIN_SNAPSHOT_XML_SECURE),
                                 domain_uuid=self._uuid(d))

    # --- create ------------------------------------------------------------------------------
    def domain_snapshot_create_xml(self, dom: DomainRef, xml: str, flags: int = 0) -> SnapshotRef:
        """qemuSnapshotCreateXML."""
        self.check_writable()
        check_flags(flags, _CREATE_FLAGS, "qemuSnapshotCreateXML", c.VIR_FROM_QEMU)
        if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE and not flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY:
            raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_QEMU,
                             message="Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE' requires flag "
                                     "'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY'")
        if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE and flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE:
            raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_QEMU,
                             message="Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_LIVE' and "
                                     "'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' are mutually exclusive")
        redefine = bool(flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
        d, lst = self._snaplist(dom)
        with lst.lock:
            with self.st.lock:
                vm = d.vm
                active = vm is not None
                state = vm.state if vm is not None else c.VIR_DOMAIN_SHUTOFF
                defn = d.definition.copy()
                config = d.config.copy() if d.config is not None else None
            if config is None and flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "cannot halt after transient domain snapshot")
            offline = bool(flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY) or not active
            sdef = SnapshotDef.parse(xml, None if redefine else defn, redefine=redefine, offline=offline)
            self._validate_def(sdef, flags, active, state)
            if redefine:
                return self._redefine(d, lst, sdef, flags)
            return self._create(d, lst, sdef, vm, config, flags)

    def _validate_def(self, sdef: SnapshotDef, flags: int, active: bool, state: int) -> None:
        """qemuSnapshotCreateXMLValidateDef."""
        if not flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA:
            if "/" in sdef.name:
                raise _err(c.VIR_ERR_XML_DETAIL, f"invalid snapshot name '{sdef.name}': name can't contain '/'")
            if sdef.name.startswith("."):
                raise _err(c.VIR_ERR_XML_DETAIL, f"invalid snapshot name '{sdef.name}': name can't start with '.'")
        if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE and (not active or sdef.memory != "external"):
            raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                       "live snapshot creation is supported only during full system snapshots")
        name = sdef.state if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE else _state_name(state)
        if name in ("running", "paused", "shutdown", "shutoff", "crashed"):
            return
        if name == "disk-snapshot" and flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE:
            return
        if name == "pmsuspended":
            raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED, "qemu doesn't support taking snapshots of PMSUSPENDED guests")
        raise _err(c.VIR_ERR_INTERNAL_ERROR, f"Invalid domain state {name}")

    def _redefine(self, d: "Dom", lst: SnapList, sdef: SnapshotDef, flags: int) -> SnapshotRef:
        """qemuSnapshotRedefine (virDomainSnapshotRedefinePrep)."""
        uuid = self._uuid(d)
        problem = snaptree.check_cycle(lst.snaps, sdef.name, sdef.parent)
        if problem:
            raise make_error(c.VIR_ERR_INVALID_ARG, problem, c.VIR_FROM_DOMAIN_SNAPSHOT)
        other = lst.snaps.get(sdef.name)
        if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY and sdef.state != "disk-snapshot":
            raise make_error(c.VIR_ERR_INVALID_ARG,
                             f"disk-only flag for snapshot {sdef.name} requires disk-snapshot state",
                             c.VIR_FROM_DOMAIN_SNAPSHOT)
        if sdef.domain is not None and sdef.domain.uuid != uuid:
            raise make_error(c.VIR_ERR_INVALID_ARG, f"definition for snapshot {sdef.name} must use uuid {uuid}",
                             c.VIR_FROM_DOMAIN_SNAPSHOT)
        if other is not None:
            online = other.state in ("running", "paused")
            if online != (sdef.state in ("running", "paused")):
                raise make_error(c.VIR_ERR_INVALID_ARG, "cannot change between online and offline snapshot "
                                 f"state in snapshot {sdef.name}", c.VIR_FROM_DOMAIN_SNAPSHOT)
            if (other.state == "disk-snapshot") != (sdef.state == "disk-snapshot"):
                raise make_error(c.VIR_ERR_INVALID_ARG, "cannot change between disk only and full system in "
                                 f"snapshot {sdef.name}", c.VIR_FROM_DOMAIN_SNAPSHOT)
        external = sdef.state == "disk-snapshot" or sdef.memory == "external" or any(
            x.snapshot == "external" for x in sdef.disks)
        if sdef.domain is not None or (other is not None and other.sdef.domain is not None):
            sdef.align_disks("external" if external else "internal", True,
                             domain=other.sdef.domain if other is not None else None)
        if other is not None:
            lst.snaps[sdef.name] = Snap(sdef)
        else:
            lst.snaps[sdef.name] = Snap(sdef)
        snap = lst.snaps[sdef.name]
        try:
            if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT:
                lst.set_current(sdef.name, uuid)
            lst.write(snap, uuid)
        except OSError as exc:
            lst.snaps.pop(sdef.name, None)
            raise _err(c.VIR_ERR_INTERNAL_ERROR, f"unable to save metadata for snapshot {sdef.name}") from exc
        return SnapshotRef(d.ref(), sdef.name)

    def _align(self, sdef: SnapshotDef, flags: int, active: bool, state: int) -> None:
        """qemuSnapshotCreateAlignDisks."""
        if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY:
            location = "external"
            sdef.state = "disk-snapshot" if active else "shutoff"
            sdef.memory = "no"
        elif sdef.memory == "external":
            sdef.state = _state_name(state)
            location = "external"
        else:
            sdef.state = _state_name(state)
            if active and sdef.memory == "no":
                raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                           "internal snapshot of a running VM must include the memory state")
            sdef.memory = "no" if sdef.state == "shutoff" else "internal"
            location = "internal"
        sdef.align_disks(location, True)

    def _prepare(self, sdef: SnapshotDef, defn: DomainDef, active: bool, flags: int) -> int:
        """qemuSnapshotPrepare; returns *flags* with DISK_ONLY added for an offline external snapshot."""
        reuse = bool(flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT)
        found_internal = forbid_internal = False
        external = 0
        ddisks = defn.disks
        for sdisk, ddisk in zip(sdef.disks, ddisks):
            dtype = ddisk.xml.get("type", "file")
            fmt = ddisk.driver_type
            if sdisk.snapshot == "internal":
                found_internal = True
                if sdef.state == "disk-snapshot" and active:
                    raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, "active qemu domains require external disk "
                               f"snapshots; disk {sdisk.name} requested internal")
                if not active and dtype not in ("file", "block"):
                    raise _err(c.VIR_ERR_INTERNAL_ERROR,
                               f"internal inactive snapshots are not supported on '{dtype}' disks")
                if fmt and fmt != "qcow2":
                    raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                               f"internal snapshot for disk {sdisk.name} unsupported for storage type {fmt}")
            elif sdisk.snapshot == "external":
                if not sdisk.driver_type:
                    sdisk.driver_type = "qcow2"
                elif sdisk.driver_type not in ("qcow2", "qed"):
                    raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, f"external snapshot format for disk {sdisk.name} "
                               f"is unsupported: {sdisk.driver_type}")
                if dtype not in ("file", "block"):
                    where = "active" if active else "inactive"
                    raise _err(c.VIR_ERR_INTERNAL_ERROR,
                               f"external {where} snapshots are not supported on '{dtype}' disks")
                self._prepare_external_file(sdisk.name, sdisk.source or "", sdisk.type, reuse)
                external += 1
            elif sdisk.snapshot == "manual":
                forbid_internal = True
            elif sdisk.snapshot == "no":
                if ddisk.source and not ddisk.readonly:
                    forbid_internal = True
        if not found_internal and not external and sdef.memory == "no":
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, "nothing selected for snapshot")
        if (sdef.memory == "internal" and not found_internal) or (found_internal and forbid_internal):
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                       "internal and full system snapshots require all disks to be selected for snapshot")
        if sdef.state == "disk-snapshot" and not external:
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                       "disk-only snapshots require at least one disk to be selected for snapshot")
        if ((found_internal and external) or (sdef.memory == "internal" and external)
                or (sdef.memory == "external" and found_internal)):
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                       "mixing internal and external targets for a snapshot is not yet supported")
        if sdef.memory == "external":
            raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                       "external memory snapshots are not supported by pyvirt's QEMU driver")
        if external and not active:
            flags |= c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        return flags

    @staticmethod
    def _prepare_external_file(name: str, path: str, stype: str, reuse: bool) -> None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            if reuse:
                raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_QEMU,
                                 message=f"missing existing file for disk {name}: {path}: "
                                         "No such file or directory") from None
            if stype == "block":
                raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                           f"block device snapshot target '{path}' doesn't exist") from None
            return
        except OSError as exc:
            raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_QEMU,
                             message=f"unable to stat for disk {name}: {path}: {exc.strerror}") from exc
        if (stype == "block" and not stat.S_ISBLK(st.st_mode)) or (stype == "file" and not stat.S_ISREG(st.st_mode)):
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, f"mismatch between configured type for snapshot disk "
                       f"'{name}' and the type of existing file '{path}'")
        if not reuse and stype == "file" and st.st_size > 0:
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, f"external snapshot file for disk {name} already exists "
                       f"and is not a block device: {path}")

    def _create(self, d: "Dom", lst: SnapList, sdef: SnapshotDef, vm: "QemuVM | None",
                config: DomainDef | None, flags: int) -> SnapshotRef:
        """qemuSnapshotCreate."""
        active = vm is not None
        state = vm.state if vm is not None else c.VIR_DOMAIN_SHUTOFF
        if active and config is not None:
            sdef.inactive_domain = config.copy()
        if active and sdef.domain is not None:
            _terminate_chains(sdef.domain)
        self._align(sdef, flags, active, state)
        defn = vm.live if vm is not None else config
        assert defn is not None
        flags = self._prepare(sdef, defn, active, flags)
        if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE:
            raise _err(c.VIR_ERR_ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured")
        record = not flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA
        if record:
            if sdef.name in lst.snaps:
                raise make_error(c.VIR_ERR_OPERATION_FAILED, f"domain moment {sdef.name} already exists",
                                 c.VIR_FROM_DOMAIN)
            sdef.parent = lst.current
            lst.snaps[sdef.name] = Snap(sdef)
        try:
            if vm is not None:
                if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY:
                    self._create_active_external(d, vm, sdef, flags)
                else:
                    self._create_active_internal(d, vm, sdef.name, flags)
            elif flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY:
                assert config is not None
                self._create_inactive_external(d, config, sdef, flags)
            else:
                assert config is not None
                for_each_qcow2(config, sdef.disks, "-c", sdef.name, False)
            if record:
                uuid = self._uuid(d)
                lst.set_current(sdef.name, uuid)
                try:
                    lst.write(lst.snaps[sdef.name], uuid)
                except OSError as exc:
                    raise _err(c.VIR_ERR_INTERNAL_ERROR,
                               f"unable to save metadata for snapshot {sdef.name}") from exc
        except BaseException:
            if record:
                lst.snaps.pop(sdef.name, None)
                if lst.current == sdef.name:
                    lst.current = sdef.parent
            raise
        return SnapshotRef(d.ref(), sdef.name)

    def _create_active_internal(self, d: "Dom", vm: "QemuVM", name: str, flags: int) -> None:
        """qemuSnapshotCreateActiveInternal: CPUs stopped (reason save), savevm, CPUs started again,
        with libvirt's SUSPENDED/RESUMED events around it."""
        resume = False
        with vm.lock:
            if vm.state == c.VIR_DOMAIN_RUNNING:
                vm.state, vm.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_SAVE
                vm._paused_reason = c.VIR_DOMAIN_PAUSED_SAVE  # noqa: SLF001 - QEMU's STOP adds no event
                resume = True
        with self.st.lock:
            ref = d.ref()
        try:
            if resume:
                vm.execute("stop")
                with self.st.lock:
                    d.state, d.reason = vm.state, vm.reason
                self.st.emit(ref, c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)
            hmp_savevm(vm, name)
            if flags & c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT:
                resume = False
                self._stop_from_snapshot(d, vm)
        finally:
            if resume and vm.alive():
                self._quiet_cont(vm, c.VIR_DOMAIN_RUNNING_UNPAUSED)
                with self.st.lock:
                    d.state, d.reason = vm.state, vm.reason
                self.st.emit(ref, c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)

    # --- process helpers ------------------------------------------------------------------
    def _quiet_cont(self, vm: "QemuVM", reason: int) -> None:
        """Start the CPUs with *reason*, without a RESUMED event (libvirt's qemuProcessStartCPUs)."""
        with vm.lock:
            old = vm.state, vm.reason
            vm.state, vm.reason = c.VIR_DOMAIN_RUNNING, reason
        try:
            vm.execute("cont")
        except LibvirtError:
            with vm.lock:
                vm.state, vm.reason = old
            raise
        vm.write_status()

    def _stop_from_snapshot(self, d: "Dom", vm: "QemuVM") -> None:
        """qemuProcessStop(SHUTOFF_FROM_SNAPSHOT): STOPPED/FROM_SNAPSHOT event."""
        with vm.lock:
            if vm._stopping is None:  # noqa: SLF001
                vm._stopping = c.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT  # noqa: SLF001
        vm.destroy()
        with self.st.lock:
            d.state, d.reason = c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_FROM_SNAPSHOT

    def _save_config(self, d: "Dom") -> None:
        assert d.config is not None
        atomic_write(self.st.config_file(d.config.name), d.config.to_xml(inactive=True))

    # --- delete ---------------------------------------------------------------------------------
    def domain_snapshot_delete(self, snap: SnapshotRef, flags: int = 0) -> None:
        """qemuSnapshotDelete."""
        self.check_writable()
        check_flags(flags, _CHILDREN | c.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY, "qemuSnapshotDelete",
                    c.VIR_FROM_QEMU)
        metadata_only = bool(flags & c.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
        d, lst, s = self._lookup(snap)
        with lst.lock:
            with self.st.lock:
                vm = d.vm
            if not metadata_only:
                self._validate_delete(d, lst, s, vm, flags)
            if flags & _CHILDREN:
                for child in snaptree.descendants(lst.snaps, s.name):
                    self._discard(d, lst, child, vm, metadata_only)
                if not flags & c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY:
                    self._discard(d, lst, s, vm, metadata_only)
            elif s.external() and not metadata_only:
                self._delete_external(d, lst, s)
            else:
                self._discard(d, lst, s, vm, metadata_only)

    def _validate_delete(self, d: "Dom", lst: SnapList, s: Snap, vm: "QemuVM | None", flags: int) -> None:
        """qemuSnapshotDeleteValidate."""
        if not s.external() and vm is not None and s.sdef.domain is not None:
            live = {x.target: x.source for x in vm.live.disks}
            then = {x.target: x.source for x in s.sdef.domain.disks}
            for sdisk in s.sdef.disks:
                if live.get(sdisk.name) != then.get(sdisk.name):
                    raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                               f"disk image '{sdisk.name}' for internal snapshot '{s.name}' is not the same as "
                               "disk image currently used by VM")
        if flags & _CHILDREN:
            kids = snaptree.descendants(lst.snaps, s.name)
            ext = sum(1 for k in kids if k.external())
            if ext and len(kids) - ext:
                raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                           "deletion of external and internal children disk snapshots not supported")
            if ext:
                raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, "deletion of external children disk snapshots not supported")
        if s.external() and flags & c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN:
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, "deletion of external disk snapshots with children not supported")

    def _discard(self, d: "Dom", lst: SnapList, s: Snap, vm: "QemuVM | None", metadata_only: bool) -> None:
        """qemuSnapshotDiscardImpl for an internal snapshot (or only its metadata), children reparented."""
        if not metadata_only:
            if vm is None:
                for_each_qcow2(s.sdef.domain or d.definition, s.sdef.disks, "-d", s.name, True)
            else:
                try:
                    hmp_delvm(vm, s.name)
                except LibvirtError:
                    pass  # libvirt goes on even when delvm fails
        self._discard_metadata(d, lst, s)

    def _discard_metadata(self, d: "Dom", lst: SnapList, s: Snap) -> None:
        """qemuSnapshotDiscardMetadata: children move to the parent, the parent becomes current."""
        uuid = self._uuid(d)
        for child in snaptree.children(lst.snaps, s.name):
            child.parent = s.parent
            lst.write(child, uuid)
        if lst.current == s.name:
            lst.current = None
            if s.parent is not None and s.parent in lst.snaps:
                lst.current = s.parent
                lst.write(lst.snaps[s.parent], uuid)
        lst.remove_file(s.name)
        lst.snaps.pop(s.name, None)


def _terminate_chains(defn: DomainDef) -> None:
    """A running disk's chain ends with ``<backingStore/>`` in libvirt's XML (it probed it)."""
    for disk in defn.devices_elem.findall("disk"):
        if disk.find("source") is not None and disk.find("backingStore") is None:
            src = disk.find("source")
            assert src is not None
            src.addnext(disk.makeelement("backingStore", {}))
