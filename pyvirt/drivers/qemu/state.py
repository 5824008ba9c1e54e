"""The QEMU driver's state: directory layouts, domains, re-attach and autostart.

One :class:`QemuState` holds every domain of one *layout* — libvirt's three
QEMU driver modes, each with its own directories (virQEMUDriverConfigNew):

- ``embed``: everything under ``ROOT`` (``qemu:///embed?root=ROOT``), in-process;
- ``system``: ``/etc/libvirt/qemu``, ``/run/libvirt/qemu``, ``/var/log/libvirt/qemu``,
  ``/var/lib/libvirt/qemu``, ``/var/cache/libvirt/qemu`` — served by pyvirtd, and
  relocatable under a prefix (``pyvirtd --prefix DIR``);
- ``session``: ``~/.config/libvirt/qemu``, ``~/.cache/libvirt/qemu/log``,
  ``$XDG_RUNTIME_DIR/libvirt/qemu/run``… — served by a per-user pyvirtd.

Loading a state reads the persistent configs and autostart links, re-attaches
to the guests whose status files are in the state directory, and then starts
the autostart domains once per boot (libvirt's ``autostarted`` marker in the
state directory), so a restarted daemon never starts a guest twice.

Other modules read paths from ``st.layout`` (``save_dir``, ``snapshot_dir``,
``checkpoint_dir``, ``nvram_dir``, …) and per-domain files from ``st.paths(name)``.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import pwd
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from lxml import etree

from ... import constants as c
from ...conf.domain import DomainDef
from ...errors import LibvirtError, make_error
from ...events import EventBus
from ..base import DomainRef
from .process import Paths, QemuVM, atomic_write

__all__ = ["Layout", "DomainPaths", "Dom", "QemuState", "StatusVM", "acquire_state", "release_state",
           "user_dirs", "DaemonService", "set_daemon_service", "daemon_service", "foreign_status"]

log = logging.getLogger("pyvirt.qemu")

AUTOSTARTED_MARK = "autostarted"


def user_dirs() -> tuple[Path, Path, Path]:
    """(config, cache, runtime) directories of libvirt for this user (virGetUser*Directory)."""
    home = Path(os.environ.get("HOME") or pwd.getpwuid(os.geteuid()).pw_dir)
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "libvirt"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "libvirt"
    runtime = Path(os.environ["XDG_RUNTIME_DIR"]) / "libvirt" if os.environ.get("XDG_RUNTIME_DIR") else cache
    return config, cache, runtime


@dataclass(frozen=True)
class Layout:
    """Where one QEMU driver state keeps its files (libvirt's cfg->*Dir)."""

    mode: str            # "embed", "system" or "session"
    uri: str             # what connect_get_uri answers
    key: Path            # identifies the state in this process
    config_base: Path    # configBaseDir: NAME.xml live in config_base/qemu
    state_dir: Path      # status files, monitor sockets, the driver lock
    log_dir: Path
    cache_dir: Path
    lib_dir: Path        # per-domain scratch dirs
    save_dir: Path
    snapshot_dir: Path
    checkpoint_dir: Path
    dump_dir: Path
    nvram_dir: Path

    @property
    def config_dir(self) -> Path:
        return self.config_base / "qemu"

    @property
    def autostart_dir(self) -> Path:
        return self.config_base / "qemu" / "autostart"

    @property
    def root(self) -> Path:
        """The embed root (or the system prefix); kept for code written for the embed layout."""
        return self.key

    @classmethod
    def embed(cls, root: Path) -> "Layout":
        lib = root / "lib" / "qemu"
        return cls("embed", f"qemu:///embed?root={root}", root, root / "etc", root / "run" / "qemu",
                   root / "log" / "qemu", root / "cache" / "qemu", lib, lib / "save", lib / "snapshot",
                   lib / "checkpoint", lib / "dump", lib / "nvram")

    @classmethod
    def system(cls, prefix: Path = Path("/")) -> "Layout":
        lib = prefix / "var" / "lib" / "libvirt" / "qemu"
        return cls("system", "qemu:///system", prefix, prefix / "etc" / "libvirt",
                   prefix / "run" / "libvirt" / "qemu", prefix / "var" / "log" / "libvirt" / "qemu",
                   prefix / "var" / "cache" / "libvirt" / "qemu", lib, lib / "save", lib / "snapshot",
                   lib / "checkpoint", lib / "dump", lib / "nvram")

    @classmethod
    def session(cls) -> "Layout":
        config, cache, runtime = user_dirs()
        q = config / "qemu"
        return cls("session", "qemu:///session", config, config, runtime / "qemu" / "run",
                   cache / "qemu" / "log", cache / "qemu" / "cache", q / "lib", q / "save", q / "snapshot",
                   q / "checkpoint", q / "dump", q / "nvram")

    def directories(self) -> list[Path]:
        return [self.config_dir, self.state_dir, self.log_dir, self.cache_dir, self.lib_dir, self.save_dir,
                self.snapshot_dir, self.checkpoint_dir, self.dump_dir, self.nvram_dir]

    def paths(self, name: str) -> "DomainPaths":
        return DomainPaths(self.key, name, self)


@dataclass(frozen=True)
class DomainPaths(Paths):
    """One domain's files in a :class:`Layout` (status and monitor in the state dir)."""

    layout: Layout

    @property
    def run_dir(self) -> Path:
        return self.layout.state_dir

    @property
    def log(self) -> Path:
        return self.layout.log_dir / f"{self.name}.log"

    @property
    def lib_dir(self) -> Path:
        return self.layout.lib_dir / f"domain-{self.name}"


class StatusVM(QemuVM):
    """A QEMU process whose status file also records the domain ID (libvirt's ``<domain id=…>``),
    so a restarted daemon shows the same IDs."""

    dom_id = -1

    def _write_status(self) -> None:
        super()._write_status()
        if self.dom_id <= 0:
            return
        # process.py writes the live XML without the ID: add it (the format stays process.py's)
        root = etree.parse(str(self.paths.status)).getroot()
        dom = root.find("domain")
        if dom is not None and dom.get("id") != str(self.dom_id):
            dom.set("id", str(self.dom_id))
            atomic_write(self.paths.status, etree.tostring(root, pretty_print=True).decode())


def _status_info(path: Path) -> tuple[bool, int]:
    """(written by pyvirt, recorded domain ID or -1) of a status file."""
    try:
        root = etree.parse(str(path)).getroot()
    except (OSError, etree.XMLSyntaxError):
        return True, -1  # unreadable: process.py's attach cleans it up
    dom = root.find("domain")
    try:
        dom_id = int(dom.get("id", "-1")) if dom is not None else -1
    except ValueError:
        dom_id = -1
    return root.tag == "domstatus" and "state-num" in root.attrib, dom_id


def foreign_status(path: Path) -> bool:
    """Whether *path* is a status file another daemon (libvirtd) wrote."""
    return path.exists() and not _status_info(path)[0]


@dataclass
class Dom:
    """One domain: its persistent config (None when transient) and its process (None when off)."""

    config: DomainDef | None
    vm: QemuVM | None = None
    id: int = -1
    state: int = c.VIR_DOMAIN_SHUTOFF
    reason: int = c.VIR_DOMAIN_SHUTOFF_UNKNOWN
    autostart: bool = False
    foreign: bool = False  # a status file another daemon (libvirt) wrote is in the state dir

    @property
    def definition(self) -> DomainDef:
        if self.vm is not None:
            return self.vm.live
        assert self.config is not None
        return self.config

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def uuid(self) -> bytes:
        return self.definition.uuid_bytes

    def ref(self) -> DomainRef:
        return DomainRef(self.name, self.uuid, self.id)

    def active(self) -> bool:
        return self.vm is not None


class QemuState:
    """Every domain of one layout, shared by the connections of this process."""

    def __init__(self, layout: Layout, lock_driver: bool = False) -> None:
        self.layout = layout
        self.root = layout.root
        self.lock = threading.RLock()
        self.doms: dict[str, Dom] = {}
        self.bus = EventBus()
        self.next_id = 1
        self.users = 0
        self.on_active_change: Callable[[int], None] | None = None  # daemon's idle-timeout inhibitor
        self._lock_fd = -1
        for path in layout.directories():
            path.mkdir(parents=True, exist_ok=True)
        if lock_driver:
            self._lock_fd = _acquire_driver_lock(layout.state_dir / "driver.pid")
        try:
            self._load()
        except BaseException:
            self.close()
            raise

    @property
    def config_dir(self) -> Path:
        return self.layout.config_dir

    def paths(self, name: str) -> DomainPaths:
        return self.layout.paths(name)

    def config_file(self, name: str) -> Path:
        return self.layout.config_dir / f"{name}.xml"

    def autostart_link(self, name: str) -> Path:
        return self.layout.autostart_dir / f"{name}.xml"

    def active_count(self) -> int:
        return sum(1 for d in self.doms.values() if d.vm is not None)

    # --- loading ------------------------------------------------------------------------
    def _configs(self) -> Iterator[tuple[Path, DomainDef]]:
        """The persistent definitions in the config directory (an unreadable one is logged, skipped)."""
        for path in sorted(self.config_dir.glob("*.xml")):
            try:
                yield path, DomainDef.parse(path.read_text())
            except (LibvirtError, OSError) as exc:
                log.error("Failed to load config for domain '%s': %s", path.stem, exc)

    def _load(self) -> None:
        for path, defn in self._configs():
            self.doms[defn.name] = Dom(defn, autostart=_points_to(self.autostart_link(defn.name), path))
        found: list[tuple[int, Dom, QemuVM]] = []
        for path in sorted(self.layout.state_dir.glob("*.xml")):
            name = path.stem
            ours, dom_id = _status_info(path)
            if not ours:
                # libvirt's own status file (a guest of a libvirtd on the same directories): never
                # touch it, and refuse to start a second QEMU for that domain.
                log.warning("status file %s was not written by pyvirt; leaving domain '%s' alone", path, name)
                if name in self.doms:
                    self.doms[name].foreign = True
                continue
            vm = StatusVM.attach(self.paths(name))
            if vm is None:
                continue
            assert isinstance(vm, StatusVM)
            dom = self.doms.get(name) or Dom(None)
            self.doms[name] = dom
            found.append((dom_id, dom, vm))
        used = {i for i, _d, _v in found if i > 0}
        self.next_id = max(used, default=0) + 1
        for dom_id, dom, vm in found:
            self.bind(dom, vm, dom_id if dom_id > 0 else None)
            if dom_id <= 0:
                vm.write_status()  # record the ID it got

    def reload(self) -> None:
        """Read the config directory again (SIGHUP, qemuStateReload): new files become domains
        (DEFINED event), changed ones replace the inactive definition, autostart flags follow the links."""
        added: list[DomainRef] = []
        with self.lock:
            for path, defn in self._configs():
                dom = self.doms.get(defn.name)
                if dom is None:
                    dom = self.doms[defn.name] = Dom(defn)
                    added.append(dom.ref())
                elif dom.uuid != defn.uuid_bytes:
                    log.error("domain '%s' is already defined with another uuid", defn.name)
                    continue
                else:
                    dom.config = defn
                dom.autostart = _points_to(self.autostart_link(defn.name), path)
        for ref in added:
            self.emit(ref, c.VIR_DOMAIN_EVENT_DEFINED, c.VIR_DOMAIN_EVENT_DEFINED_ADDED)

    def autostart(self) -> list[str]:
        """Start the autostart domains that are not running (qemuAutostartDomains); their names."""
        from .driver import QemuDriver  # the start path lives in the driver
        started: list[str] = []
        drv = QemuDriver(self.layout.uri, False, self, counted=False)
        with self.lock:
            todo = [d for d in self.doms.values() if d.autostart and not d.active() and d.config is not None]
        for dom in todo:
            try:
                with self.lock:
                    if dom.active() or dom.config is None:
                        continue
                    drv.start_domain(dom, 0)
                started.append(dom.name)
            except LibvirtError as exc:
                log.error("Failed to autostart VM '%s': %s", dom.name, exc.message)
        return started

    def autostart_once(self) -> list[str]:
        """Autostart unless this boot already did (libvirt's virDriverShouldAutostart)."""
        mark = self.layout.state_dir / AUTOSTARTED_MARK
        if mark.exists():
            return []
        if self.layout.mode == "embed" and not any(d.autostart for d in self.doms.values()):
            return []  # embed: leave the run dir untouched until there is something to autostart
        fd = os.open(mark, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
        return self.autostart()

    # --- running domains ---------------------------------------------------------------
    def bind(self, dom: Dom, vm: QemuVM, dom_id: int | None = None) -> None:
        was_active = dom.vm is not None
        dom.vm = vm
        if dom_id is None:
            dom_id = self.next_id
            self.next_id += 1
        dom.id = dom_id
        if isinstance(vm, StatusVM):
            vm.dom_id = dom_id
        dom.state, dom.reason = vm.state, vm.reason
        vm.on_lifecycle = lambda ev, detail: self._vm_event(dom, vm, ev, detail)
        vm.on_domain_event = lambda event_id, *args: self._domain_event(dom, event_id, *args)
        if not was_active:
            self._active_changed()

    def _active_changed(self) -> None:
        cb = self.on_active_change
        if cb is not None:
            try:
                cb(self.active_count())
            except Exception:  # the daemon's bookkeeping must not break a guest's lifecycle
                log.exception("active-domain callback failed")

    def _domain_event(self, dom: Dom, event_id: int, *args: Any) -> None:
        """A non-lifecycle event of the guest (REBOOT, BALLOON_CHANGE, RTC_CHANGE, IO_ERROR, …)."""
        ref = dom.ref()
        self.bus.emit("domain", event_id, ref.uuid, ref, *args)

    def _vm_event(self, dom: Dom, vm: QemuVM, event: int, detail: int) -> None:
        stopped = False
        with self.lock:
            ref = dom.ref()
            dom.state, dom.reason = vm.state, vm.reason
            if event == c.VIR_DOMAIN_EVENT_STOPPED and dom.vm is vm:
                dom.vm = None
                dom.id = -1
                stopped = True
                if dom.config is None:
                    self.doms.pop(ref.name, None)
        self.emit(ref, event, detail)
        if stopped:
            self._active_changed()

    def emit(self, ref: DomainRef, event: int, detail: int) -> None:
        self.bus.emit("domain", c.VIR_DOMAIN_EVENT_ID_LIFECYCLE, ref.uuid, ref, event, detail)

    def close(self) -> None:
        """Let go of the monitors (the guests keep running) and of the driver lock."""
        with self.lock:
            for dom in self.doms.values():
                if dom.vm is not None and dom.vm.monitor is not None:
                    dom.vm.monitor.close()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


def _points_to(link: Path, target: Path) -> bool:
    """virFileLinkPointsTo: *link* exists and resolves to the same file as *target*."""
    try:
        return os.path.samefile(link, target)
    except OSError:
        return False


def _acquire_driver_lock(path: Path) -> int:
    """libvirt's ``driver.pid`` lock (virPidFileAcquire): one QEMU driver per state directory,
    pyvirtd or libvirtd, since both take the same POSIX lock on the same file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_NONE,
                             message=f"Failed to acquire pid file '{path}': Resource temporarily unavailable"
                             ) from None
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_NONE,
                         message=f"Failed to open pid file '{path}': {exc.strerror}") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


_STATES: dict[Path, QemuState] = {}
_STATES_LOCK = threading.Lock()


def acquire_state(root: Path) -> QemuState:
    """The embed state of *root* in this process (loaded, and autostarted once, on first use)."""
    with _STATES_LOCK:
        st = _STATES.get(root)
        created = st is None
        if st is None:
            st = _STATES[root] = QemuState(Layout.embed(root))
        st.users += 1
    if created:
        st.autostart_once()  # libvirt 9.0 autostarts in embedded mode too (qemuStateInitialize)
    return st


def release_state(st: QemuState) -> None:
    with _STATES_LOCK:
        st.users -= 1
        if st.users > 0 or st.layout.mode != "embed":
            return  # the daemon's system/session state lives as long as the daemon
        _STATES.pop(st.layout.key, None)
    st.close()


class DaemonService:
    """The QEMU driver of a pyvirtd: one system or session state for the daemon's lifetime.

    The state is loaded at daemon start-up when the layout is relocated (``--prefix``) or
    already exists (re-attach, then autostart), or on the first ``qemu:///system``/``session``
    open otherwise, so a daemon that is never asked for QEMU creates nothing under /etc,
    /run or /var.
    """

    def __init__(self, mode: str, prefix: Path | None = None,
                 on_active_change: Callable[[int], None] | None = None) -> None:
        if mode not in ("system", "session"):
            raise ValueError(mode)
        self.mode = mode
        self.layout = Layout.system(prefix or Path("/")) if mode == "system" else Layout.session()
        self.relocated = prefix is not None
        self.on_active_change = on_active_change
        self.state: QemuState | None = None
        self._lock = threading.Lock()

    def should_load_at_start(self) -> bool:
        """A relocated system layout, or one a driver already used: load (and autostart) now."""
        return self.relocated or self.layout.config_dir.is_dir() or self.layout.state_dir.is_dir()

    def get(self) -> QemuState:
        """The loaded state (loading, re-attaching and autostarting on first use)."""
        with self._lock:
            if self.state is None:
                st = QemuState(self.layout, lock_driver=True)
                st.users = 1  # the daemon's own reference: never released while it runs
                st.on_active_change = self.on_active_change
                with _STATES_LOCK:
                    _STATES[self.layout.key] = st
                self.state = st
                st.autostart_once()
                st._active_changed()
            return self.state

    def acquire(self) -> QemuState:
        """The state, counted as used by one more connection (released by :func:`release_state`)."""
        st = self.get()
        with _STATES_LOCK:
            st.users += 1
        return st

    def close(self) -> None:
        with self._lock:
            st, self.state = self.state, None
        if st is not None:
            with _STATES_LOCK:
                _STATES.pop(st.layout.key, None)
            st.close()

    def check_path(self, path: str) -> None:
        """virConnectValidateURIPath: a system daemon takes /system (and /session, libvirt's
        compatibility for root), a session daemon only /session."""
        if self.mode == "system" and path not in ("/system", "/session"):
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"unexpected qemu URI path '{path}', try qemu:///system",
                             c.VIR_FROM_NONE)
        if self.mode == "session" and path != "/session":
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"unexpected qemu URI path '{path}', try qemu:///session",
                             c.VIR_FROM_NONE)


_SERVICE: DaemonService | None = None


def set_daemon_service(service: DaemonService | None) -> None:
    """Make this process a daemon serving qemu:///system or qemu:///session (pyvirtd calls it)."""
    global _SERVICE
    _SERVICE = service


def daemon_service() -> DaemonService | None:
    return _SERVICE
