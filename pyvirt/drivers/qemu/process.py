"""QEMU processes: start paused with QMP, run, stop; lifecycle events; live status on disk.

:class:`QemuVM` is one running guest. It starts QEMU with ``-S``, connects the
monitor, applies the lifecycle actions, writes ``<root>/run/qemu/NAME.xml``
(pid, monitor path, live XML; atomically) and resumes the CPUs. The process
is watched through a pidfd, so exit is noticed at once even when QEMU is not
our child (after a driver restart, :meth:`QemuVM.attach`).
"""

from __future__ import annotations

import os
import select
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from lxml import etree

from ... import constants as c
from ...conf.domain import DomainDef
from ...errors import LibvirtError, make_error
from .command import QemuCommand
from .domain import assign_aliases
from .monitor import Monitor
from .qmpevents import DomainEventHandler, QmpEventsMixin

__all__ = ["QemuVM", "Paths", "LifecycleHandler", "status_to_state", "process_exited",
           "read_status", "atomic_write"]

#: Lifecycle callback: (VIR_DOMAIN_EVENT_* event, detail).
LifecycleHandler = Callable[[int, int], None]

MONITOR_TIMEOUT = 30.0
TERM_GRACE = 2.0
MIGRATE_TIMEOUT = 120.0


@dataclass(frozen=True)
class Paths:
    """Where a driver rooted at *root* keeps one domain's files (libvirt's embed layout)."""

    root: Path
    name: str

    @property
    def run_dir(self) -> Path:
        return self.root / "run" / "qemu"

    @property
    def status(self) -> Path:
        return self.run_dir / f"{self.name}.xml"

    @property
    def monitor(self) -> Path:
        return self.run_dir / f"{self.name}.monitor"

    @property
    def log(self) -> Path:
        return self.root / "log" / "qemu" / f"{self.name}.log"

    @property
    def lib_dir(self) -> Path:
        return self.root / "lib" / "qemu" / f"domain-{self.name}"


def process_exited(pid: int) -> bool:
    """True when *pid* is gone or a zombie (PID 1 may take a while to reap orphans)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except (FileNotFoundError, ProcessLookupError):
        return True
    state = stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3]
    return state in (b"Z", b"X")


def status_to_state(status: str, running: bool) -> tuple[int, int]:
    """QMP query-status -> (virDomainState, reason), as libvirt maps it."""
    if running or status == "running":
        return c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_UNPAUSED
    reasons = {
        "debug": c.VIR_DOMAIN_PAUSED_UNKNOWN, "internal-error": c.VIR_DOMAIN_PAUSED_UNKNOWN,
        "restore-vm": c.VIR_DOMAIN_PAUSED_UNKNOWN, "inmigrate": c.VIR_DOMAIN_PAUSED_MIGRATION,
        "postmigrate": c.VIR_DOMAIN_PAUSED_MIGRATION, "finish-migrate": c.VIR_DOMAIN_PAUSED_MIGRATION,
        "io-error": c.VIR_DOMAIN_PAUSED_IOERROR, "paused": c.VIR_DOMAIN_PAUSED_USER,
        "prelaunch": c.VIR_DOMAIN_PAUSED_USER, "save-vm": c.VIR_DOMAIN_PAUSED_SAVE,
        "shutdown": c.VIR_DOMAIN_PAUSED_SHUTTING_DOWN, "watchdog": c.VIR_DOMAIN_PAUSED_WATCHDOG,
        "guest-panicked": c.VIR_DOMAIN_PAUSED_CRASHED,
    }
    return c.VIR_DOMAIN_PAUSED, reasons.get(status, c.VIR_DOMAIN_PAUSED_UNKNOWN)


def reconnect_state(saved: tuple[int, int], now: tuple[int, int]) -> tuple[int, int]:
    """The state after re-attaching: the saved one (its reason too) unless QEMU's run state
    changed meanwhile (libvirt's qemuProcessUpdateState). *now* is :func:`status_to_state`."""
    state, reason = saved
    running = now[0] == c.VIR_DOMAIN_RUNNING
    if running and (state == c.VIR_DOMAIN_SHUTOFF
                    or (state == c.VIR_DOMAIN_PAUSED and reason == c.VIR_DOMAIN_PAUSED_STARTING_UP)):
        return c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_BOOTED
    if running and state == c.VIR_DOMAIN_PAUSED:
        return c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_UNPAUSED
    if not running and state == c.VIR_DOMAIN_RUNNING:
        if now[1] == c.VIR_DOMAIN_PAUSED_SHUTTING_DOWN:
            return c.VIR_DOMAIN_SHUTDOWN, c.VIR_DOMAIN_SHUTDOWN_UNKNOWN
        if now[1] == c.VIR_DOMAIN_PAUSED_CRASHED:
            return c.VIR_DOMAIN_CRASHED, c.VIR_DOMAIN_CRASHED_PANICKED
        return now
    return saved


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_status(path: Path) -> tuple[int, str, DomainDef, int, int]:
    """(pid, monitor path, live definition, state, reason) from a status file."""
    root = etree.fromstring(path.read_bytes())
    dom = root.find("domain")
    mon = root.find("monitor")
    if dom is None or mon is None:
        raise ValueError(f"{path}: not a domain status file")
    defn = DomainDef.parse(etree.tostring(dom))
    return (int(root.get("pid", "0")), mon.get("path", ""), defn,
            int(root.get("state-num", str(c.VIR_DOMAIN_RUNNING))), int(root.get("reason-num", "0")))


class QemuVM(QmpEventsMixin):
    """One QEMU process and its monitor."""

    def __init__(self, live: DomainDef, paths: Paths, on_lifecycle: LifecycleHandler | None = None,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None,
                 on_domain_event: DomainEventHandler | None = None) -> None:
        self.live = live
        self.paths = paths
        self.pid = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.pidfd = -1
        self.monitor: Monitor | None = None
        self.state, self.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_STARTING_UP
        self.on_lifecycle = on_lifecycle
        self.on_event = on_event
        self.on_domain_event = on_domain_event
        self._stopping: int | None = None  # VIR_DOMAIN_EVENT_STOPPED_* detail when we stop it
        self._lock = threading.RLock()
        self._exited = threading.Event()
        self._done = threading.Event()
        self._fd_lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._log_offset = 0
        self._starting = True
        self._fake_reboot = False
        self._unplug_waiters: dict[str, Callable[[], None]] = {}
        self._exit_started = False
        self._waiting_on_event_thread = False

    # --- start -----------------------------------------------------------
    def start(self, cmd: QemuCommand, *, paused: bool = False, incoming_fd: int | None = None) -> None:
        """Start QEMU (paused with -S), connect QMP, apply lifecycle actions and resume.

        With *incoming_fd* (passed in ``cmd.pass_fds``, ``cmd`` having ``-incoming defer``), the
        guest's state is first loaded from that descriptor (a restore).
        """
        paths = self.paths
        if len(str(paths.monitor).encode()) > 107:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                             f"UNIX socket path '{paths.monitor}' too long", c.VIR_FROM_QEMU)
        for d in (paths.run_dir, paths.log.parent, paths.lib_dir):
            d.mkdir(parents=True, exist_ok=True)
        _unlink(paths.monitor)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(paths.lib_dir), **cmd.env}
        with open(paths.log, "ab") as log:
            header = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(cmd.env.items()))
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')}: starting up\n"
                      f"{header} {shlex.join(cmd.argv)}\n".encode())
            log.flush()
            self._log_offset = log.tell()
            try:
                self.proc = subprocess.Popen(cmd.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             env=env, pass_fds=cmd.pass_fds, start_new_session=True,
                                             cwd="/")
            except OSError as exc:
                raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                                 f"Unable to start QEMU '{cmd.argv[0]}': {exc.strerror}",
                                 c.VIR_FROM_QEMU) from exc
        self.pid = self.proc.pid
        try:
            self.pidfd = os.pidfd_open(self.pid)
            self._connect()
            self._set_actions()
            self._fill_pty_paths()
            if incoming_fd is not None:
                self._load_incoming(incoming_fd)
            self._write_status()
            self._start_watcher()
            if not paused:
                self.monitor.execute("cont")  # type: ignore[union-attr]
                self.state, self.reason = c.VIR_DOMAIN_RUNNING, (
                    c.VIR_DOMAIN_RUNNING_BOOTED if incoming_fd is None else c.VIR_DOMAIN_RUNNING_RESTORED)
            else:
                self.state, self.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER
            self._write_status()
        except BaseException:
            self._abort_start()
            raise
        finally:
            self._starting = False
        self._emit(c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_BOOTED if incoming_fd is None
                   else c.VIR_DOMAIN_EVENT_STARTED_RESTORED)
        if paused:
            self._emit(c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)
        elif incoming_fd is not None:  # libvirt: a restored guest also reports its CPUs resumed
            self._emit(c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT)

    def _load_incoming(self, fd: int) -> None:
        """Load the guest's state from *fd* (``-incoming defer``) and wait until it is in."""
        mon = self.monitor
        assert mon is not None
        mon.execute("migrate-incoming", {"uri": f"fd:{fd}"})
        deadline = time.monotonic() + MIGRATE_TIMEOUT
        status: str | None = None
        while True:
            try:
                status = mon.execute("query-status").get("status")
            except LibvirtError:
                status = None  # QEMU exits when the stream is bad
            if status != "inmigrate" or not self.alive() or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        if status not in ("paused", "prelaunch"):
            self._reap(0.5)
            raise make_error(c.VIR_ERR_OPERATION_FAILED,
                             f"job 'restore' failed: {self.log_tail() or status or 'QEMU exited'}",
                             c.VIR_FROM_QEMU)

    def save_to(self, fd: int) -> None:
        """Pause the guest and write its state to *fd* (QMP migrate), then stop QEMU (saved)."""
        with self._lock:
            was_running = self.state == c.VIR_DOMAIN_RUNNING
            self._paused_reason = c.VIR_DOMAIN_PAUSED_SAVE
        mon = self._mon()
        try:
            mon.execute("stop")
            with self._lock:  # unless the STOP event got there first: paused (save), SUSPENDED
                suspended = self.state == c.VIR_DOMAIN_RUNNING
                self.state, self.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_SAVE
                self._paused_reason = c.VIR_DOMAIN_PAUSED_UNKNOWN
            if suspended:
                self._emit(c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)
            mon.send_fd(fd, "pyvirt-save")
            mon.execute("migrate", {"uri": "fd:pyvirt-save"})
            deadline = time.monotonic() + MIGRATE_TIMEOUT
            while True:
                info = mon.execute("query-migrate")
                status = info.get("status")
                if status == "completed":
                    break
                if status in ("failed", "cancelled") or time.monotonic() > deadline:
                    if status not in ("failed", "cancelled"):
                        mon.execute("migrate_cancel")
                    raise make_error(c.VIR_ERR_OPERATION_FAILED,
                                     f"saving the domain failed: {info.get('error-desc', status)}",
                                     c.VIR_FROM_QEMU)
                time.sleep(0.01)
        except BaseException:
            with self._lock:
                self.state, self.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER
            if was_running and self.alive():
                try:
                    self.resume()
                except LibvirtError:
                    pass
            raise
        with self._lock:
            if self._stopping is None:
                self._stopping = c.VIR_DOMAIN_EVENT_STOPPED_SAVED
        self.destroy()

    def _connect(self) -> None:
        self.monitor = Monitor(str(self.paths.monitor), self.live.name)
        try:
            self.monitor.connect(MONITOR_TIMEOUT, self.alive)
        except (ProcessLookupError, TimeoutError) as exc:
            self.monitor = None
            if isinstance(exc, ProcessLookupError) or not self.alive():
                self._reap(0.5)
                raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                                 f"process exited while connecting to monitor: {self.log_tail()}",
                                 c.VIR_FROM_QEMU) from None
            raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                             f"monitor socket did not show up: {exc}", c.VIR_FROM_QEMU) from None
        self.monitor.set_event_handler(self._qmp_event)

    def _set_actions(self) -> None:
        """Tell QEMU what guest power-off and reboot do, per <on_poweroff>/<on_reboot>.

        (validate.py admits only on_poweroff=destroy and on_reboot=restart|destroy, as libvirt.)
        """
        # A panicking guest stays paused whatever the power-off action: <on_crash> decides.
        actions = {"shutdown": "poweroff", "panic": "pause"}
        if (self.live.on_reboot or "restart") == "destroy":
            actions["reboot"] = "shutdown"
        self.monitor.execute("set-action", actions)  # type: ignore[union-attr]

    def _fill_pty_paths(self) -> None:
        """Put the host side of pty chardevs into the live XML (``virsh console`` needs it)."""
        ptys: dict[str, str] = {}
        for chardev in self.monitor.execute("query-chardev"):  # type: ignore[union-attr]
            fname = str(chardev.get("filename", ""))
            if fname.startswith("pty:"):
                ptys[str(chardev.get("label", ""))] = fname[4:]
        dev = self.live.devices_elem
        for tag in ("serial", "console"):
            for elem in dev.findall(tag):
                alias = elem.find("alias")
                path = ptys.get("char" + (alias.get("name", "") if alias is not None else ""))
                if elem.get("type") != "pty" or not path:
                    continue
                src = elem.find("source")
                if src is None:
                    src = elem.makeelement("source", {})
                    elem.insert(0, src)
                src.set("path", path)
                if tag == "console":
                    elem.set("tty", path)

    def _abort_start(self) -> None:
        """Leave nothing behind after a failed start: process, socket, status file."""
        with self._lock:
            self._exit_started = True
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None
        if self.pidfd >= 0 or (self.pid and not process_exited(self.pid)):
            self._signal(signal.SIGKILL)
        self._reap(10.0)
        if self._watcher is not None:
            self._watcher.join(5.0)
        self._exited.set()
        self._close_pidfd()
        self._cleanup_files()
        self._done.set()

    # --- watching -------------------------------------------------------
    # Once the watcher thread runs, it alone blocks on (and finally closes) the
    # pidfd; everyone else waits for ``_done``, set when the exit is fully handled.
    def alive(self) -> bool:
        """Whether QEMU is still running."""
        if self._exited.is_set():
            return False
        if self._watcher is not None:
            return not process_exited(self.pid)
        with self._fd_lock:
            if self.pidfd >= 0:
                ready, _, _ = select.select([self.pidfd], [], [], 0)
                if ready:
                    return False
        return not process_exited(self.pid) if self.pid else False

    def wait(self, timeout: float | None) -> bool:
        """Wait for QEMU to exit (and for its exit to be handled); True if it did."""
        if self._watcher is not None:
            return self._done.wait(timeout)
        with self._fd_lock:
            fd = self.pidfd
        if fd >= 0:
            select.select([fd], [], [], timeout)
        return not self.alive()

    def _start_watcher(self) -> None:
        self._watcher = threading.Thread(target=self._watch, name=f"qemu-{self.live.name}", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        fd = self.pidfd
        while fd >= 0:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if ready or process_exited(self.pid):
                break
        self._on_exit()

    def _on_exit(self) -> None:
        with self._lock:
            if self._exit_started:
                return
            self._exit_started = True
            mon, self.monitor = self.monitor, None
        if mon is not None:
            # What QEMU said before it went (SHUTDOWN, say) is handled before the STOPPED event,
            # unless the event thread itself waits for this exit (a callback destroying the guest).
            mon.close(drain=not self._waiting_on_event_thread)
        with self._lock:
            self._exited.set()
            detail = self._stopping
            if detail is None:
                detail = (c.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN if self.state == c.VIR_DOMAIN_SHUTDOWN
                          else c.VIR_DOMAIN_EVENT_STOPPED_FAILED)
            reasons = {c.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: c.VIR_DOMAIN_SHUTOFF_SHUTDOWN,
                       c.VIR_DOMAIN_EVENT_STOPPED_DESTROYED: c.VIR_DOMAIN_SHUTOFF_DESTROYED,
                       c.VIR_DOMAIN_EVENT_STOPPED_FAILED: c.VIR_DOMAIN_SHUTOFF_CRASHED,
                       c.VIR_DOMAIN_EVENT_STOPPED_CRASHED: c.VIR_DOMAIN_SHUTOFF_CRASHED,
                       c.VIR_DOMAIN_EVENT_STOPPED_SAVED: c.VIR_DOMAIN_SHUTOFF_SAVED}
            self.state, self.reason = c.VIR_DOMAIN_SHUTOFF, reasons.get(detail, c.VIR_DOMAIN_SHUTOFF_UNKNOWN)
            self._reap(0.5)
            self._close_pidfd()
            self._cleanup_files()
        try:
            self._emit(c.VIR_DOMAIN_EVENT_STOPPED, detail)
        finally:
            self._done.set()

    def _reap(self, timeout: float) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass

    def _close_pidfd(self) -> None:
        with self._fd_lock:
            if self.pidfd >= 0:
                os.close(self.pidfd)
                self.pidfd = -1

    def _cleanup_files(self) -> None:
        _unlink(self.paths.monitor)
        _unlink(self.paths.status)

    def _emit(self, event: int, detail: int) -> None:
        if self.on_lifecycle is not None:
            self.on_lifecycle(event, detail)

    # --- operations -------------------------------------------------------
    def _mon(self) -> Monitor:
        if self.monitor is None:
            raise make_error(c.VIR_ERR_OPERATION_INVALID, "domain is not running", c.VIR_FROM_QEMU)
        return self.monitor

    def execute(self, cmd: str, args: dict[str, Any] | None = None) -> Any:
        return self._mon().execute(cmd, args)

    def suspend(self) -> None:
        with self._lock:
            self._paused_reason = c.VIR_DOMAIN_PAUSED_USER
        self.execute("stop")
        with self._lock:  # unless the STOP event got there first
            changed = self.state == c.VIR_DOMAIN_RUNNING
            if changed:
                self.state, self.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER
            self._paused_reason = c.VIR_DOMAIN_PAUSED_UNKNOWN
        if changed:
            self._emit(c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)
        self._write_status()

    def resume(self) -> None:
        with self._lock:
            self._running_reason = c.VIR_DOMAIN_RUNNING_UNPAUSED
        self.execute("cont")
        with self._lock:  # unless the RESUME event got there first
            changed = self.state in (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_CRASHED)
            if changed:
                self.state, self.reason = c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_UNPAUSED
            self._running_reason = c.VIR_DOMAIN_RUNNING_UNKNOWN
        if changed:
            self._emit(c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)
        self._write_status()

    def shutdown(self) -> None:
        """Ask the guest to power off (ACPI power button)."""
        self.execute("system_powerdown")

    def reboot(self) -> None:
        """libvirt's ACPI "fake reboot": power button, then reset and resume once the guest is down."""
        self.execute("set-action", {"shutdown": "pause"})
        self._fake_reboot = True
        try:
            self.execute("system_powerdown")
        except LibvirtError:
            self._fake_reboot = False
            self._set_actions()
            raise

    def destroy(self, graceful: bool = False) -> None:
        """Stop QEMU: SIGTERM, a short grace period, then SIGKILL; returns once it has exited."""
        with self._lock:
            if self._stopping is None:
                self._stopping = c.VIR_DOMAIN_EVENT_STOPPED_DESTROYED
        mon = self.monitor
        if mon is not None and mon.on_event_thread():
            self._waiting_on_event_thread = True
        if self.alive():
            self._signal(signal.SIGTERM)
            if not self.wait(TERM_GRACE if graceful else 0.5) and not graceful:
                self._signal(signal.SIGKILL)
                self.wait(5.0)
        if self.alive():
            raise make_error(c.VIR_ERR_SYSTEM_ERROR, f"Failed to terminate process {self.pid} with SIGKILL",
                             c.VIR_FROM_QEMU)
        if self._watcher is None:
            self._on_exit()
        else:
            self._done.wait()

    def _signal(self, sig: int) -> None:
        with self._fd_lock:
            try:
                if self.pidfd >= 0:
                    signal.pidfd_send_signal(self.pidfd, sig)
                elif not self._exited.is_set():
                    os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def query_state(self) -> tuple[int, int]:
        """Ask QEMU for its run state (query-status) and map it to libvirt's."""
        st = self.execute("query-status")
        return status_to_state(st.get("status", ""), bool(st.get("running")))

    # --- stats ---------------------------------------------------------------
    def cpu_time_ns(self) -> int:
        """The QEMU process's CPU time (user + system) in nanoseconds."""
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])
            return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0

    def vcpu_info(self) -> list[dict[str, Any]]:
        return list(self.execute("query-cpus-fast"))

    def balloon_kib(self) -> int:
        try:
            return int(self.execute("query-balloon")["actual"]) // 1024
        except LibvirtError:
            return self.live.current_memory

    def block_stats(self) -> dict[str, dict[str, int]]:
        """Per device alias: rd_req, rd_bytes, wr_req, wr_bytes, errs (-1), as virDomainBlockStats."""
        out: dict[str, dict[str, int]] = {}
        for entry in self.execute("query-blockstats"):
            stats = entry.get("stats", {})
            key = entry.get("qdev") or entry.get("device") or entry.get("node-name", "")
            out[str(key)] = {"rd_req": stats.get("rd_operations", 0), "rd_bytes": stats.get("rd_bytes", 0),
                             "wr_req": stats.get("wr_operations", 0), "wr_bytes": stats.get("wr_bytes", 0),
                             "errs": -1}
        return out

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def on_device_deleted(self, alias: str, callback: Callable[[], None] | None) -> None:
        """Call *callback* (on the monitor's thread) when QEMU reports device *alias* deleted (None: forget)."""
        with self._lock:
            if callback is None:
                self._unplug_waiters.pop(alias, None)
            else:
                self._unplug_waiters[alias] = callback

    # --- live status on disk ------------------------------------------------
    def write_status(self) -> None:
        """Write the status file again (after a live change to :attr:`live`)."""
        self._write_status()

    def _write_status(self) -> None:
        with self._lock:  # never after the exit's cleanup: no stale status file
            if self._exit_started:
                return
            root = etree.Element("domstatus", {"state-num": str(self.state), "reason-num": str(self.reason),
                                                "pid": str(self.pid)})
            etree.SubElement(root, "monitor", {"path": str(self.paths.monitor), "type": "unix"})
            root.append(etree.fromstring(self.live.to_xml().encode()))
            atomic_write(self.paths.status, etree.tostring(root, pretty_print=True).decode())

    @classmethod
    def attach(cls, paths: Paths, on_lifecycle: LifecycleHandler | None = None) -> "QemuVM | None":
        """Re-attach to a QEMU started earlier (status file); None (and cleanup) if it is gone."""
        try:
            pid, mon_path, live, state, reason = read_status(paths.status)
        except (OSError, ValueError, etree.XMLSyntaxError, LibvirtError):
            _unlink(paths.status)
            return None
        vm = cls(live, paths, on_lifecycle)
        vm.pid = pid
        try:
            vm.pidfd = os.pidfd_open(pid)
        except OSError:
            vm._cleanup_files()
            return None
        if process_exited(pid) or not _is_qemu(pid, mon_path):
            os.close(vm.pidfd)
            vm._cleanup_files()
            return None
        vm.monitor = Monitor(mon_path, live.name)
        try:
            vm.monitor.connect(5.0, vm.alive)
        except (ProcessLookupError, TimeoutError):
            vm.monitor = None
            vm._close_pidfd()
            if process_exited(pid):
                vm._cleanup_files()
            return None
        vm.monitor.set_event_handler(vm._qmp_event)
        vm._starting = False
        assign_aliases(vm.live)  # the parser drops aliases; they are libvirt's deterministic ones
        vm.state, vm.reason = state, reason
        try:
            now = vm.query_state()
        except LibvirtError:
            now = (state, reason)
        vm.state, vm.reason = reconnect_state((state, reason), now)
        vm._start_watcher()
        return vm

    def log_tail(self, max_chars: int = 1024) -> str:
        """What QEMU itself wrote to its log during this start (libvirt shows it on failure)."""
        try:
            with open(self.paths.log, "rb") as fh:
                fh.seek(self._log_offset)
                text = fh.read().decode(errors="replace")
        except OSError:
            return ""
        return text.strip()[-max_chars:]


def _is_qemu(pid: int, monitor_path: str) -> bool:
    """Guard against pid reuse: the process's command line names the monitor socket."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return monitor_path.replace(",", ",,").encode() in fh.read()
    except OSError:
        return False


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
