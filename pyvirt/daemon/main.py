"""pyvirtd's command line (libvirtd's options) and its QEMU driver modes.

A pyvirtd runs in *system* mode (as root, or with ``--prefix``): it serves
``qemu:///system`` from libvirt's system directories, relocated under the prefix
when one is given; or in *session* mode (``--session``, or any non-root user
without a prefix): it serves ``qemu:///session`` from the user's directories and
listens on ``$XDG_RUNTIME_DIR/libvirt/libvirt-sock``, where libvirt's clients
(and pyvirt's) look for, and autostart, a per-user daemon.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import fcntl
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Sequence

from pathlib import Path

from ..errors import LibvirtError
from .config import DaemonConfig, load_config
from .server import Server

if TYPE_CHECKING:
    from ..drivers.qemu.state import DaemonService

__all__ = ["main", "VERSION"]

VERSION = "9.0.0"
log = logging.getLogger("pyvirt.daemon")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pyvirtd", add_help=False,
        description="pyvirt's management daemon, speaking libvirt's remote protocol.")
    p.add_argument("-h", "--help", action="help", help="display this help and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="verbose messages")
    p.add_argument("-d", "--daemon", action="store_true", help="run as a daemon & write PID file")
    p.add_argument("-l", "--listen", action="store_true", help="listen for TCP/IP connections")
    p.add_argument("-t", "--timeout", type=int, default=0, metavar="SECS",
                   help="exit after timeout period")
    p.add_argument("-f", "--config", metavar="FILE", help="configuration file")
    p.add_argument("-p", "--pid-file", metavar="FILE", help="change name of PID file")
    p.add_argument("-V", "--version", action="store_true", help="display version information and exit")
    p.add_argument("--prefix", metavar="DIR",
                   help="system mode with every directory under DIR (DIR/etc/libvirt, DIR/run/libvirt, DIR/var/...)")
    p.add_argument("--session", action="store_true",
                   help="per-user session mode (qemu:///session), even as root")
    return p


def _user_runtime_dir() -> str:
    runtime = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(runtime, "libvirt")


def default_pidfile(mode: str | None = None, prefix: str | None = None) -> str:
    """libvirtd's pid file location, named pyvirtd.pid (under the prefix in relocated system mode)."""
    if mode is None:
        mode = "system" if os.geteuid() == 0 else "session"
    if mode == "session":
        return os.path.join(_user_runtime_dir(), "pyvirtd.pid")
    return os.path.join(prefix or "/", "run", "pyvirtd.pid")


def daemon_mode(session: bool, prefix: str | None) -> str:
    """system as root or with a prefix; session with --session or as an ordinary user."""
    if session:
        return "session"
    return "system" if os.geteuid() == 0 or prefix else "session"


def apply_mode(cfg: DaemonConfig, mode: str, prefix: str | None) -> None:
    """Default socket directory of the mode, unless the configuration names one."""
    if "unix_sock_dir" in cfg.given:
        return
    if mode == "session":
        cfg.unix_sock_dir = _user_runtime_dir()
    elif prefix:
        cfg.unix_sock_dir = os.path.join(prefix, "run", "libvirt")


def default_daemon_log(mode: str, prefix: str | None) -> str | None:
    """Where a detached daemon logs without log_outputs (libvirt: a file when there is no
    journald): ~/.cache/libvirt/pyvirtd.log in session mode, PREFIX/var/log/libvirt/pyvirtd.log
    with --prefix; a plain system daemon keeps stderr."""
    if mode == "session":
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(cache, "libvirt", "pyvirtd.log")
    elif prefix:
        path = os.path.join(prefix, "var", "log", "libvirt", "pyvirtd.log")
    else:
        return None
    old = os.umask(0o077)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError:
        return None
    finally:
        os.umask(old)
    return f"3:file:{path}"


class DaemonServer(Server):
    """The server plus libvirt's auto-shutdown rule: ``--timeout`` counts only while there are
    no clients *and* no running guests (the QEMU driver inhibits shutdown while guests run)."""

    active_guests = 0

    def guests_changed(self, count: int) -> None:
        """Called by the QEMU driver (any thread) when the number of running guests changes."""
        self.active_guests = count
        loop = self.loop
        if loop is not None and self._activity is not None:
            try:
                loop.call_soon_threadsafe(self._activity.set)
            except RuntimeError:
                pass  # loop closed: the daemon is stopping

    qemu: "DaemonService | None" = None

    def _reload(self) -> None:
        """SIGHUP: the QEMU driver reads its config directory again, as libvirtd's drivers do."""
        st = self.qemu.state if self.qemu is not None else None
        if st is None:
            log.info("SIGHUP received: nothing to reload")
            return
        log.info("SIGHUP received: reloading the QEMU driver's configs")
        # off the loop thread: parsing many configs must not stall the clients
        self.loop.run_in_executor(self.executor, st.reload)

    async def _idle_watch(self) -> None:
        assert self._activity is not None
        while True:
            self._activity.clear()
            if self.clients or self.active_guests:
                await self._activity.wait()
                continue
            try:
                await asyncio.wait_for(self._activity.wait(), self.timeout)
            except asyncio.TimeoutError:
                if not self.clients and not self.active_guests:
                    log.info("no clients and no running guests for %d seconds, exiting", self.timeout)
                    self.stop()
                    return


def _start_qemu(server: DaemonServer, mode: str, prefix: str | None) -> "DaemonService | None":
    """Make this process serve qemu:///system or /session; load the state now if it exists."""
    try:
        from ..drivers.qemu import DaemonService, set_daemon_service
    except ImportError as exc:  # QEMU driver dependencies missing: serve the other drivers
        log.warning("QEMU driver unavailable: %s", exc)
        return None
    service = DaemonService(mode, Path(prefix) if prefix else None, on_active_change=server.guests_changed)
    set_daemon_service(service)
    if service.should_load_at_start():
        try:
            service.get()
        except LibvirtError as exc:
            # libvirtd would exit; pyvirtd keeps serving its other drivers and retries on open
            log.error("Initialization of QEMU state driver failed: %s", exc.message)
    return service


def _acquire_pidfile(path: str) -> int:
    """Create and lock the pid file like virPidFileAcquirePath; returns its fd."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            raise RuntimeError(f"Failed to acquire pid file '{path}': Resource temporarily unavailable") from None
        raise
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _daemonize() -> None:
    """Classic double fork; the parent exits once the child is detached."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _setup_logging(cfg: DaemonConfig, verbose: bool) -> None:
    # libvirt levels: 1 debug, 2 info, 3 warning, 4 error
    levels = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
    level = logging.INFO if verbose else levels.get(cfg.log_level, logging.WARNING)
    handler: logging.Handler
    outputs = (cfg.log_outputs or "").split()
    target = next((o.split(":", 2)[2] for o in outputs if ":file:" in o), None)
    handler = logging.FileHandler(target) if target else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s: %(process)d: %(levelname)s : %(message)s"))
    root = logging.getLogger("pyvirt")
    root.handlers[:] = [handler]
    root.setLevel(level)


def _exit_early(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pyvirtd`` command."""
    args = _parser().parse_args(argv)
    if args.version:
        print(f"pyvirtd (libvirt) {VERSION}")
        return 0
    try:
        cfg = load_config(args.config)
    except LibvirtError as exc:
        print(f"pyvirtd: error: Can't load config file: {exc.message}: {args.config}", file=sys.stderr)
        return 1
    prefix = args.prefix or cfg.prefix
    if prefix:
        if not os.path.isabs(prefix):
            print(f"pyvirtd: error: --prefix must be an absolute path: {prefix}", file=sys.stderr)
            return 1
        if args.session:
            print("pyvirtd: error: --prefix relocates the system mode; session mode follows $HOME "
                  "and $XDG_* like libvirt", file=sys.stderr)
            return 1
    mode = daemon_mode(args.session, prefix)
    apply_mode(cfg, mode, prefix)
    if args.daemon and not cfg.log_outputs:
        cfg.log_outputs = default_daemon_log(mode, prefix)
    _setup_logging(cfg, args.verbose)
    # Until the event loop takes the signals over: no death by SIGHUP, clean exit on SIGTERM/SIGINT.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_early)
    from ..drivers.remote import set_inside_daemon
    set_inside_daemon()  # local URIs here are this daemon's drivers, never a connection to a daemon
    server = DaemonServer(cfg, listen=args.listen, timeout=args.timeout)
    try:
        server.open_listeners()
    except LibvirtError as exc:
        print(f"pyvirtd: error: {exc.message}", file=sys.stderr)
        return 1
    if args.daemon:
        _daemonize()
    pidfile = args.pid_file or (default_pidfile(mode, prefix) if args.daemon else None)
    pid_fd = None
    qemu: "DaemonService | None" = None
    try:
        if pidfile:
            try:
                pid_fd = _acquire_pidfile(pidfile)
            except (RuntimeError, OSError) as exc:
                print(f"pyvirtd: error: {exc}", file=sys.stderr)
                server.close_listeners()
                return 1
        qemu = _start_qemu(server, mode, prefix)
        server.qemu = qemu
        asyncio.run(server.serve())
    except SystemExit:
        pass
    finally:
        server.close_listeners()
        if qemu is not None:
            qemu.close()  # monitors only: the guests keep running
        if pid_fd is not None and pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
            os.close(pid_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
