"""Autostart of the per-user session daemon, as libvirt's client does it.

libvirt's rule (remoteGetURIDaemonInfo, virNetSocketNewConnectUNIX): for a
non-root user, a ``…/session`` URI (or a ``test+…`` URI) without a host, over
the UNIX transport, with no ``socket=`` parameter and ``LIBVIRT_AUTOSTART`` not
``0``, a missing or dead socket ($XDG_RUNTIME_DIR/libvirt/libvirt-sock) makes
the client start the daemon with ``--timeout=120``, under a lock file in the
same directory so that concurrent clients start only one.

pyvirt's client starts ``pyvirtd`` (``$PYVIRTD_PATH``, else the ``pyvirtd``
next to this Python, else ``python -m pyvirt.daemon``). Whatever daemon already
listens on that socket — pyvirtd or a real libvirtd — is used as it is.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time

from ... import constants as c
from ...errors import make_error
from ...rpc.client import Endpoint
from ...rpc.transport import default_unix_socket, open_endpoint, uses_user_daemon
from ...uri import URI

__all__ = ["wants_autostart", "daemon_command", "open_endpoint_autostart", "IDLE_TIMEOUT"]

IDLE_TIMEOUT = 120  # seconds, the --timeout libvirt's client gives the daemon it starts
SPAWN_TIMEOUT = 120.0


def wants_autostart(uri: URI) -> bool:
    """libvirt's REMOTE_DRIVER_OPEN_AUTOSTART for this URI and process."""
    transport = uri.transport or ("tls" if uri.server else "unix")
    return (uses_user_daemon(uri) and not uri.server and transport == "unix"
            and uri.param("socket") is None and os.environ.get("LIBVIRT_AUTOSTART") != "0")


def daemon_command() -> list[str]:
    """How to run pyvirtd: $PYVIRTD_PATH, the pyvirtd beside this interpreter, or ``-m``."""
    env = os.environ.get("PYVIRTD_PATH")
    if env:
        return [env]
    found = shutil.which("pyvirtd", path=os.path.dirname(sys.executable))
    if found:
        return [found]
    return [sys.executable, "-m", "pyvirt.daemon"]


def _probe(path: str) -> int:
    """0 when something accepts connections on *path*, else the connect errno."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return 0
    except OSError as exc:
        return exc.errno or errno.EIO
    finally:
        s.close()


def open_endpoint_autostart(uri: URI, read_only: bool, driver_uri: str) -> Endpoint:
    """:func:`open_endpoint`, starting the session daemon first when libvirt's client would."""
    if not wants_autostart(uri):
        return open_endpoint(uri, read_only, driver_uri)
    path = default_unix_socket(uri, read_only)
    rundir = os.path.dirname(path)
    try:
        os.makedirs(rundir, mode=0o700, exist_ok=True)
        lock_fd = os.open(os.path.join(rundir, "pyvirtd.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_RPC,
                         message=f"Cannot create user runtime directory '{rundir}': {exc.strerror}") from exc
    try:
        fcntl.lockf(lock_fd, fcntl.LOCK_EX)  # concurrent clients: one starts the daemon, the others wait
        err = _probe(path)
        if err in (errno.ENOENT, errno.ECONNREFUSED):
            _spawn(path, err)
        return open_endpoint(uri, read_only, driver_uri)
    finally:
        os.close(lock_fd)


def _spawn(path: str, err: int) -> None:
    argv = [*daemon_command(), f"--timeout={IDLE_TIMEOUT}", "--daemon"]
    try:
        # --daemon: the command returns once the daemon's sockets listen and it has detached
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=SPAWN_TIMEOUT, close_fds=True, cwd="/")
        why = done.stderr.decode(errors="replace").strip() if done.returncode else ""
    except (OSError, subprocess.TimeoutExpired) as exc:
        why = str(exc)
    deadline = time.monotonic() + 5.0
    while not why and _probe(path) != 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if why or _probe(path) != 0:
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_RPC,
                         message=f"Failed to connect socket to '{path}': {os.strerror(err)}"
                                 + (f" (starting the session daemon failed: {why})" if why else ""))
