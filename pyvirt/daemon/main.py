"""pyvirtd's command line (libvirtd's options)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import fcntl
import logging
import os
import signal
import sys
from typing import Sequence

from ..errors import LibvirtError
from .config import DaemonConfig, load_config
from .server import Server

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
    return p


def default_pidfile() -> str:
    if os.geteuid() == 0:
        return "/run/pyvirtd.pid"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(runtime, "libvirt", "pyvirtd.pid")


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
    _setup_logging(cfg, args.verbose)
    # Until the event loop takes the signals over: no death by SIGHUP, clean exit on SIGTERM/SIGINT.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_early)
    server = Server(cfg, listen=args.listen, timeout=args.timeout)
    try:
        server.open_listeners()
    except LibvirtError as exc:
        print(f"pyvirtd: error: {exc.message}", file=sys.stderr)
        return 1
    if args.daemon:
        _daemonize()
    pidfile = args.pid_file or (default_pidfile() if args.daemon else None)
    pid_fd = None
    try:
        if pidfile:
            try:
                pid_fd = _acquire_pidfile(pidfile)
            except (RuntimeError, OSError) as exc:
                print(f"pyvirtd: error: {exc}", file=sys.stderr)
                server.close_listeners()
                return 1
        asyncio.run(server.serve())
    except SystemExit:
        pass
    finally:
        server.close_listeners()
        if pid_fd is not None and pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
            os.close(pid_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
