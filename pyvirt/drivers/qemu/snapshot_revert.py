"""Reverting QEMU snapshots (qemuSnapshotRevert): internal ones only, as libvirt 9.0.

A snapshot with memory comes back in a new QEMU: the old one stops, the new one
starts paused, loads the state (HMP ``loadvm``, what ``-loadvm`` does at start) and
runs unless the snapshot or the flags say paused. A shut-off snapshot rolls the
stopped disks back with ``qemu-img snapshot -a``. Events are libvirt's
*from snapshot* ones.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator

from ... import constants as c
from ...conf.domain import DomainDef
from ...conf.snapshot import SnapshotDef
from ...errors import LibvirtError, check_flags
from ..base import DomainRef, SnapshotRef
from .errors import qemu_error as _err
from .snapshot_disks import for_each_qcow2, hmp_loadvm

if TYPE_CHECKING:
    from .driver import Dom, QemuState
    from .process import QemuVM
    from .snapshot_store import Snap, SnapList

__all__ = ["RevertMixin"]

_RUN, _PAUSE = c.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING, c.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED


class RevertMixin:
    """The revert entry of :class:`~.snapshot.SnapshotMixin`."""

    st: "QemuState"

    if TYPE_CHECKING:
        def check_writable(self) -> None: ...
        def _parse(self, xml: str) -> DomainDef: ...
        def _start(self, d: "Dom", defn: DomainDef, flags: int, restore_fd: int | None = None) -> None: ...
        def _managed_path(self, name: str) -> Any: ...
        def _lookup(self, snap: SnapshotRef) -> tuple["Dom", "SnapList", "Snap"]: ...
        def _uuid(self, d: "Dom") -> str: ...
        def _save_config(self, d: "Dom") -> None: ...
        def _stop_from_snapshot(self, d: "Dom", vm: "QemuVM") -> None: ...
        def _quiet_cont(self, vm: "QemuVM", reason: int) -> None: ...

    @contextlib.contextmanager
    def _no_start_events(self, uuid: bytes) -> Iterator[None]:
        """Hold back ``_start``'s STARTED/SUSPENDED events for domain *uuid* (we send the FROM_SNAPSHOT ones)."""
        st = self.st
        real = type(st).emit

        def emit(ref: DomainRef, event: int, detail: int) -> None:
            if bytes(ref.uuid) == uuid and event in (c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_SUSPENDED):
                return
            real(st, ref, event, detail)
        st.emit = emit  # type: ignore[method-assign]
        try:
            yield
        finally:
            del st.emit

    # --- revert ------------------------------------------------------------------------------
    def domain_revert_to_snapshot(self, snap: SnapshotRef, flags: int = 0) -> None:
        """qemuSnapshotRevert."""
        self.check_writable()
        check_flags(flags, _RUN | _PAUSE | c.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE
                    | c.VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM, "qemuSnapshotRevert", c.VIR_FROM_QEMU)
        d, lst, s = self._lookup(snap)
        with lst.lock:
            sdef = s.sdef
            with self.st.lock:
                persistent = d.config is not None
                has_managed = self._managed_path(d.name).exists()
            online = sdef.state in ("running", "paused")
            if not persistent and not online and not flags & (_RUN | _PAUSE):
                raise _err(c.VIR_ERR_OPERATION_INVALID, "transient domain needs to request run or pause to "
                           "revert to inactive snapshot")
            if s.external():
                raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, "revert to external snapshot not supported yet")
            if sdef.domain is None:
                raise _err(c.VIR_ERR_SNAPSHOT_REVERT_RISKY,
                           f"snapshot '{sdef.name}' lacks domain '{d.name}' rollback info")
            if not flags & c.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE and has_managed and not online:
                raise _err(c.VIR_ERR_SNAPSHOT_REVERT_RISKY, "snapshot without memory state, removal of existing "
                           "managed saved state strongly recommended to avoid corruption")
            if sdef.state == "pmsuspended":
                raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                           "qemu doesn't support reversion of snapshot taken in PMSUSPENDED state")
            if not online and sdef.state not in ("shutdown", "shutoff", "crashed"):
                raise _err(c.VIR_ERR_INTERNAL_ERROR, f"Invalid target domain state '{sdef.state}'. "
                           "Refusing snapshot reversion")
            config = self._rollback_def(sdef.domain, d.name)
            inactive = self._rollback_def(sdef.inactive_domain, d.name) if sdef.inactive_domain else None
            if inactive is None:
                inactive = config.copy() if online else config
            lst.keep = True
            try:
                if online:
                    self._revert_active(d, sdef, config, inactive, flags)
                else:
                    self._revert_inactive(d, sdef, inactive, flags)
            finally:
                lst.keep = False
            uuid = self._uuid(d)
            lst.set_current(sdef.name, uuid)
            lst.write(s, uuid)
            with self.st.lock:
                persistent, ref = d.config is not None, d.ref()
        if persistent:
            self.st.emit(ref, c.VIR_DOMAIN_EVENT_DEFINED, c.VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT)

    def _rollback_def(self, defn: DomainDef | None, name: str) -> DomainDef:
        assert defn is not None
        out = defn.copy()
        for disk in out.devices_elem.findall("disk"):  # QEMU reads the chains from the images
            for bs in disk.findall("backingStore"):
                disk.remove(bs)
        out.name = name
        return self._parse(out.to_xml(inactive=True, secure=True))

    def _define_from_snapshot(self, d: "Dom", inactive: DomainDef) -> None:
        """The persistent definition becomes the snapshot's (its DEFINED event comes at the end)."""
        with self.st.lock:
            if d.config is None:
                return
            d.config = inactive
            self._save_config(d)

    def _restart(self, d: "Dom", config: DomainDef) -> "QemuVM":
        """Start *d* paused on *config* (a transient domain is put back in the list first)."""
        with self.st.lock:
            self.st.doms[config.name] = d
            with self._no_start_events(config.uuid_bytes):
                try:
                    self._start(d, config, c.VIR_DOMAIN_START_PAUSED)
                except BaseException:
                    if d.config is None:
                        self.st.doms.pop(config.name, None)
                    raise
            vm = d.vm
            ref = d.ref()
        assert vm is not None
        self.st.emit(ref, c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT)
        return vm

    def _finish_start(self, d: "Dom", vm: "QemuVM", paused: bool, loaded: bool) -> None:
        if paused:
            with vm.lock:
                vm.state, vm.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_FROM_SNAPSHOT
            vm.write_status()
            with self.st.lock:
                d.state, d.reason = vm.state, vm.reason
                ref = d.ref()
            self.st.emit(ref, c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT)
        else:
            # libvirt: a state loaded from the snapshot resumes (RESUMED, from snapshot); a fresh
            # start from a shut-off snapshot simply runs (running, booted)
            self._quiet_cont(vm, c.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT if loaded else c.VIR_DOMAIN_RUNNING_BOOTED)
            with self.st.lock:
                d.state, d.reason = vm.state, vm.reason
                ref = d.ref()
            if loaded:
                self.st.emit(ref, c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT)

    def _revert_active(self, d: "Dom", sdef: SnapshotDef, config: DomainDef, inactive: DomainDef,
                       flags: int) -> None:
        """qemuSnapshotRevertActive: a new QEMU, paused, loads the snapshot's state."""
        with self.st.lock:
            old = d.vm
        if old is not None:
            self._stop_from_snapshot(d, old)
        self._define_from_snapshot(d, inactive)
        vm = self._restart(d, config)
        try:
            hmp_loadvm(vm, sdef.name)
        except LibvirtError:
            self._stop_from_snapshot(d, vm)
            raise
        paused = not flags & _RUN and (sdef.state == "paused" or bool(flags & _PAUSE))
        self._finish_start(d, vm, paused, loaded=True)

    def _revert_inactive(self, d: "Dom", sdef: SnapshotDef, inactive: DomainDef, flags: int) -> None:
        """qemuSnapshotRevertInactive: qemu-img snapshot -a on the stopped disks."""
        with self.st.lock:
            old = d.vm
        if old is not None:
            self._stop_from_snapshot(d, old)
        assert sdef.domain is not None
        if not for_each_qcow2(sdef.domain, sdef.disks, "-a", sdef.name, True):
            raise _err(c.VIR_ERR_OPERATION_FAILED, f"unable to revert the disks of snapshot '{sdef.name}'")
        self._define_from_snapshot(d, inactive)
        if flags & (_RUN | _PAUSE):
            vm = self._restart(d, inactive)
            self._finish_start(d, vm, bool(flags & _PAUSE), loaded=False)
