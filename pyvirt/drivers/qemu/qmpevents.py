"""QMP events -> libvirt's domain state, lifecycle events and other domain events.

The mapping follows libvirt 9.0's QEMU driver (``qemu_monitor_json.c`` parses the
event, ``qemu_process.c``/``qemu_driver.c`` change the state and raise events):

============================  ==============================================================
QMP event                     libvirt
============================  ==============================================================
SHUTDOWN                      state shutdown (unknown); SHUTDOWN event, detail GUEST, HOST or
                              FINISHED from ``guest``; QEMU then exits: STOPPED SHUTDOWN
RESET                         REBOOT event (not while starting up)
STOP / RESUME                 paused / running with the reason the driver asked for (user,
                              save, ...; "unknown" for a pause nobody asked for); SUSPENDED
                              or RESUMED event
BLOCK_IO_ERROR                IO_ERROR and IO_ERROR_REASON events (disk path, alias, action,
                              "enospc" or ""); action stop: paused (I/O error) + SUSPENDED
                              IOERROR
GUEST_PANICKED                SUSPENDED PAUSED, crashed (panicked) + CRASHED PANICKED, then
                              ``<on_crash>``: destroy (STOPPED CRASHED), restart (reset and
                              run: REBOOT, RESUMED, running (crashed)) or preserve
WATCHDOG                      WATCHDOG event; action pause: paused (watchdog) + SUSPENDED
RTC_CHANGE                    RTC_CHANGE event with QEMU's offset
DEVICE_TRAY_MOVED             TRAY_CHANGE event with the disk's alias; live ``tray='open'``
SUSPEND / SUSPEND_DISK /      PMSUSPEND / PMSUSPEND_DISK / PMWAKEUP events and the
WAKEUP                        pmsuspended <-> running (wakeup) transitions
BALLOON_CHANGE                live ``<currentMemory>``; BALLOON_CHANGE event (KiB, rounded up)
============================  ==============================================================

Handlers run on the monitor's event thread (see :mod:`.monitor`), one event at a
time and in QEMU's order; anything slow or that must wait for the guest (destroy
or restart after a panic, the second half of a fake reboot) runs in a worker thread.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from ... import constants as c
from ...conf.xmlutil import Element
from ...errors import LibvirtError

if TYPE_CHECKING:
    from ...conf.domain import DomainDef
    from .monitor import Monitor

__all__ = ["QmpEventsMixin", "DomainEventHandler", "IO_ERROR_ACTIONS", "WATCHDOG_ACTIONS"]

#: Non-lifecycle domain event: (VIR_DOMAIN_EVENT_ID_*, *libvirt-python callback arguments).
DomainEventHandler = Callable[..., None]

#: QMP BLOCK_IO_ERROR ``action`` -> VIR_DOMAIN_EVENT_IO_ERROR_* (libvirt's qemuMonitorIOErrorAction).
IO_ERROR_ACTIONS = {"ignore": c.VIR_DOMAIN_EVENT_IO_ERROR_NONE, "stop": c.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE,
                    "report": c.VIR_DOMAIN_EVENT_IO_ERROR_REPORT}
#: QMP WATCHDOG ``action`` -> VIR_DOMAIN_EVENT_WATCHDOG_* (libvirt's qemuMonitorWatchdogAction).
WATCHDOG_ACTIONS = {name: i for i, name in enumerate(
    ("none", "pause", "reset", "poweroff", "shutdown", "debug", "inject-nmi"))}

_SUSPENDED_DETAIL = {c.VIR_DOMAIN_PAUSED_MIGRATION: c.VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED,
                     c.VIR_DOMAIN_PAUSED_FROM_SNAPSHOT: c.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT}
_RESUMED_DETAIL = {c.VIR_DOMAIN_RUNNING_RESTORED: c.VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT,
                   c.VIR_DOMAIN_RUNNING_FROM_SNAPSHOT: c.VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT,
                   c.VIR_DOMAIN_RUNNING_MIGRATED: c.VIR_DOMAIN_EVENT_RESUMED_MIGRATED}

# An emission collected under the lock and made after it: ("life", event, detail) or
# ("dom", event id, *args).
_Out = tuple[Any, ...]


def _disk_alias(disk: Element) -> str:
    node = disk.find("alias")
    return node.get("name", "") if node is not None else ""


def _disk_source(disk: Element) -> str:
    src = disk.find("source")
    if src is None:
        return ""
    return src.get("file") or src.get("dev") or src.get("name") or ""


def qdev_alias(qdev: str) -> str:
    """``/machine/peripheral/virtio-disk0/virtio-backend`` -> ``virtio-disk0``; an id stays as it is."""
    if qdev.startswith("/machine/peripheral/"):
        return qdev.split("/")[3]
    return qdev


class QmpEventsMixin:
    """The event half of :class:`~.process.QemuVM`."""

    if TYPE_CHECKING:
        live: DomainDef
        monitor: Monitor | None
        state: int
        reason: int
        _lock: threading.RLock
        _exited: threading.Event
        _starting: bool
        _stopping: int | None
        _fake_reboot: bool
        _unplug_waiters: dict[str, Callable[[], None]]
        on_event: Callable[[str, dict[str, Any]], None] | None

        def _emit(self, event: int, detail: int) -> None: ...
        def _write_status(self) -> None: ...
        def execute(self, cmd: str, args: dict[str, Any] | None = None) -> Any: ...
        def destroy(self, graceful: bool = False) -> None: ...
        def _set_actions(self) -> None: ...

    #: Called as ``on_domain_event(VIR_DOMAIN_EVENT_ID_*, *args)`` for events other than lifecycle.
    on_domain_event: DomainEventHandler | None = None
    _paused_reason: int = c.VIR_DOMAIN_PAUSED_UNKNOWN
    _running_reason: int = c.VIR_DOMAIN_RUNNING_UNKNOWN
    _paused_shutdown: bool = False
    _node_aliases: dict[str, str] | None = None

    def _qmp_event(self, name: str, data: dict[str, Any], _when: float) -> None:
        out: list[_Out] = []
        after: Callable[[], None] | None = None
        handler = getattr(self, "_ev_" + name.lower(), None)
        if handler is not None:
            with self._lock:
                if not self._exited.is_set():
                    after = handler(data, out)
                    if any(o[0] == "life" for o in out) or name in ("BALLOON_CHANGE", "DEVICE_TRAY_MOVED"):
                        try:
                            self._write_status()
                        except OSError:
                            pass  # QEMU exited meanwhile and its status file went with it
        for item in out:
            if item[0] == "life":
                self._emit(item[1], item[2])
            elif self.on_domain_event is not None:
                self.on_domain_event(*item[1:])
        if after is not None:
            threading.Thread(target=after, name=f"qemu-{self.live.name}-action", daemon=True).start()
        if self.on_event is not None:
            self.on_event(name, data)

    # --- run state --------------------------------------------------------------
    def _ev_stop(self, data: dict[str, Any], out: list[_Out]) -> None:
        reason, self._paused_reason = self._paused_reason, c.VIR_DOMAIN_PAUSED_UNKNOWN
        if self._starting or self._paused_shutdown or self.state != c.VIR_DOMAIN_RUNNING:
            return
        self.state, self.reason = c.VIR_DOMAIN_PAUSED, reason
        out.append(("life", c.VIR_DOMAIN_EVENT_SUSPENDED,
                    _SUSPENDED_DETAIL.get(reason, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)))

    def _ev_resume(self, data: dict[str, Any], out: list[_Out]) -> None:
        reason, self._running_reason = self._running_reason, c.VIR_DOMAIN_RUNNING_UNKNOWN
        if self._starting or self.state == c.VIR_DOMAIN_RUNNING:
            return
        if reason == c.VIR_DOMAIN_RUNNING_UNKNOWN:
            reason = c.VIR_DOMAIN_RUNNING_UNPAUSED
        self.state, self.reason = c.VIR_DOMAIN_RUNNING, reason
        out.append(("life", c.VIR_DOMAIN_EVENT_RESUMED,
                    _RESUMED_DETAIL.get(reason, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)))

    def _ev_shutdown(self, data: dict[str, Any], out: list[_Out]) -> Callable[[], None] | None:
        if self.state == c.VIR_DOMAIN_SHUTDOWN:
            return None  # a repeated SHUTDOWN
        if self._stopping is not None and self._stopping != c.VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
            return None  # saving, or destroying after a panic: the monitor is as good as closed
        if self._fake_reboot and self._stopping is None:
            # libvirt's fake reboot: the guest is down and paused; reset it and run it again,
            # with no state change and no event but the reset's REBOOT.
            self._fake_reboot = False
            self._paused_shutdown = True
            return self._finish_fake_reboot
        self.state, self.reason = c.VIR_DOMAIN_SHUTDOWN, c.VIR_DOMAIN_SHUTDOWN_UNKNOWN
        guest = data.get("guest")
        out.append(("life", c.VIR_DOMAIN_EVENT_SHUTDOWN,
                    c.VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED if guest is None else
                    c.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST if guest else c.VIR_DOMAIN_EVENT_SHUTDOWN_HOST))
        return None

    def _ev_reset(self, data: dict[str, Any], out: list[_Out]) -> None:
        if self._starting or (self.state, self.reason) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_STARTING_UP):
            return
        out.append(("dom", c.VIR_DOMAIN_EVENT_ID_REBOOT))

    def _finish_fake_reboot(self, reason: int = c.VIR_DOMAIN_RUNNING_BOOTED) -> None:
        """Second half of a fake reboot (worker thread): reset the guest and run it again."""
        try:
            self.execute("system_reset")
            self._set_actions()
            with self._lock:
                if self.state == c.VIR_DOMAIN_CRASHED:
                    reason = c.VIR_DOMAIN_RUNNING_CRASHED
                self._running_reason = reason
            for _ in range(100):
                try:
                    self.execute("cont")
                    break
                except LibvirtError as exc:
                    # QEMU performs the requested reset on its next main-loop turn; a 'cont'
                    # that gets in first is refused with "Resetting the Virtual Machine is required"
                    if "Resetting" not in str(exc):
                        raise
                    time.sleep(0.01)
        except LibvirtError:
            return  # the process went away meanwhile; the watcher reports it
        finally:
            self._paused_shutdown = False
        self._write_status()

    # --- guest crash ------------------------------------------------------------
    def _ev_guest_panicked(self, data: dict[str, Any], out: list[_Out]) -> Callable[[], None] | None:
        if self._stopping is not None or self.state == c.VIR_DOMAIN_CRASHED:
            return None
        if self.state == c.VIR_DOMAIN_RUNNING:
            # libvirt's STOP handler nearly always gets in before its panic worker
            out.append(("life", c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED))
        self.state, self.reason = c.VIR_DOMAIN_CRASHED, c.VIR_DOMAIN_CRASHED_PANICKED
        out.append(("life", c.VIR_DOMAIN_EVENT_CRASHED, c.VIR_DOMAIN_EVENT_CRASHED_PANICKED))
        action = self.live.on_crash or "destroy"
        if action in ("destroy", "coredump-destroy"):
            self._stopping = c.VIR_DOMAIN_EVENT_STOPPED_CRASHED
            return self._destroy_quietly
        if action in ("restart", "coredump-restart"):
            return self._finish_fake_reboot
        return None  # preserve: kept paused for debugging

    def _destroy_quietly(self) -> None:
        try:
            self.destroy()
        except LibvirtError:
            pass

    # --- disks ------------------------------------------------------------------
    def _ev_block_io_error(self, data: dict[str, Any], out: list[_Out]) -> None:
        action = IO_ERROR_ACTIONS.get(str(data.get("action", "ignore")), c.VIR_DOMAIN_EVENT_IO_ERROR_NONE)
        disk = self._find_disk(str(data.get("device", "")), data.get("node-name"))
        path, alias = (_disk_source(disk), _disk_alias(disk)) if disk is not None else ("", "")
        reason = "enospc" if data.get("nospace") else ""
        out.append(("dom", c.VIR_DOMAIN_EVENT_ID_IO_ERROR, path, alias, action))
        out.append(("dom", c.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON, path, alias, action, reason))
        if action == c.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE and self.state == c.VIR_DOMAIN_RUNNING:
            self.state, self.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_IOERROR
            out.append(("life", c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR))

    def _ev_device_tray_moved(self, data: dict[str, Any], out: list[_Out]) -> None:
        disk = self._find_disk(str(data.get("device", "")), None, str(data.get("id", "")) or None)
        if disk is None or "tray-open" not in data:
            return
        opened = bool(data["tray-open"])
        new = self.live.copy()
        for elem in new.devices_elem.findall("disk"):
            tgt = elem.find("target")
            if _disk_alias(elem) == _disk_alias(disk) and tgt is not None:
                if opened:
                    tgt.set("tray", "open")
                elif "tray" in tgt.attrib:
                    del tgt.attrib["tray"]
        self.live = new
        out.append(("dom", c.VIR_DOMAIN_EVENT_ID_TRAY_CHANGE, _disk_alias(disk),
                    c.VIR_DOMAIN_EVENT_TRAY_CHANGE_OPEN if opened else c.VIR_DOMAIN_EVENT_TRAY_CHANGE_CLOSE))

    def _find_disk(self, device: str, node: Any, qdev_id: str | None = None) -> Element | None:
        """The live ``<disk>`` QEMU means by drive alias, QOM id or block node name."""
        alias = device.removeprefix("drive-") or None
        disks = self.live.devices_elem.findall("disk")
        for disk in disks:
            if _disk_alias(disk) and _disk_alias(disk) in (alias, qdev_id):
                return disk
        if not node:
            return None
        node = str(node).replace("-storage", "-format")
        known = self._node_aliases or {}
        if node not in known:
            known = self._node_aliases = self._query_node_aliases()
        for disk in disks:
            if _disk_alias(disk) == known.get(node):
                return disk
        return None

    def _query_node_aliases(self) -> dict[str, str]:
        """Format node name -> device alias, from QEMU (hot-plugged disks have their own numbers)."""
        out: dict[str, str] = {}
        try:
            entries = self.execute("query-block")
        except LibvirtError:
            entries = []
        for entry in entries:
            node = entry.get("inserted", {}).get("node-name")
            if node and entry.get("qdev"):
                out[str(node)] = qdev_alias(str(entry["qdev"]))
        if not out:  # QEMU is gone: the numbering of the command line
            from .devices import node_names
            out = {f"libvirt-{n}-format": _disk_alias(d) for d, n in node_names(self.live).items()}
        return out

    # --- other devices ------------------------------------------------------------
    def _ev_watchdog(self, data: dict[str, Any], out: list[_Out]) -> None:
        action = WATCHDOG_ACTIONS.get(str(data.get("action", "none")), c.VIR_DOMAIN_EVENT_WATCHDOG_NONE)
        out.append(("dom", c.VIR_DOMAIN_EVENT_ID_WATCHDOG, action))
        if action == c.VIR_DOMAIN_EVENT_WATCHDOG_PAUSE and self.state == c.VIR_DOMAIN_RUNNING:
            self.state, self.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_WATCHDOG
            out.append(("life", c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG))

    def _ev_rtc_change(self, data: dict[str, Any], out: list[_Out]) -> None:
        out.append(("dom", c.VIR_DOMAIN_EVENT_ID_RTC_CHANGE, int(data.get("offset", 0))))

    def _ev_balloon_change(self, data: dict[str, Any], out: list[_Out]) -> None:
        if "actual" not in data:
            return
        kib = -(-int(data["actual"]) // 1024)
        new = self.live.copy()  # libvirt's live <currentMemory> follows the guest's balloon
        new.current_memory = kib
        self.live = new
        out.append(("dom", c.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE, kib))

    def _ev_device_deleted(self, data: dict[str, Any], out: list[_Out]) -> None:
        waiter = self._unplug_waiters.pop(str(data.get("device", "")), None)
        if waiter is not None:
            waiter()

    # --- guest power management -------------------------------------------------
    def _ev_suspend(self, data: dict[str, Any], out: list[_Out]) -> None:
        self._pm_suspend(out, c.VIR_DOMAIN_EVENT_ID_PMSUSPEND, c.VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY)

    def _ev_suspend_disk(self, data: dict[str, Any], out: list[_Out]) -> None:
        self._pm_suspend(out, c.VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK, c.VIR_DOMAIN_EVENT_PMSUSPENDED_DISK)

    def _pm_suspend(self, out: list[_Out], event_id: int, detail: int) -> None:
        out.append(("dom", event_id, 0))
        if self.state == c.VIR_DOMAIN_RUNNING:
            self.state, self.reason = c.VIR_DOMAIN_PMSUSPENDED, c.VIR_DOMAIN_PMSUSPENDED_UNKNOWN
            out.append(("life", c.VIR_DOMAIN_EVENT_PMSUSPENDED, detail))

    def _ev_wakeup(self, data: dict[str, Any], out: list[_Out]) -> None:
        out.append(("dom", c.VIR_DOMAIN_EVENT_ID_PMWAKEUP, 0))
        if self.state == c.VIR_DOMAIN_PMSUSPENDED:
            self.state, self.reason = c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_WAKEUP
            out.append(("life", c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_WAKEUP))
