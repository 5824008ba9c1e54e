"""Fixtures: a pyvirtd subprocess with its own sockets, a real libvirtd to compare with, raw RPC."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pyvirt.rpc import pack_packet as pack_frame, parse_header

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "daemon"
REGEN = os.environ.get("PYVIRT_REGEN") == "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(pred: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


@dataclass
class Daemon:
    """A running daemon process and how to reach it."""

    proc: subprocess.Popen[bytes]
    sock_dir: Path
    pidfile: Path
    log: Path
    tcp_port: int | None = None
    tls_port: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rw(self) -> str:
        return str(self.sock_dir / "libvirt-sock")

    @property
    def ro(self) -> str:
        return str(self.sock_dir / "libvirt-sock-ro")

    def uri(self, ro: bool = False) -> str:
        return f"test+unix:///default?socket={self.ro if ro else self.rw}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return int(self.proc.returncode)


def write_conf(path: Path, **settings: Any) -> None:
    lines = []
    for k, v in settings.items():
        if isinstance(v, bool):
            lines.append(f"{k} = {int(v)}")
        elif isinstance(v, int):
            lines.append(f"{k} = {v}")
        elif isinstance(v, list):
            lines.append(f"{k} = [" + ", ".join(f'"{x}"' for x in v) + "]")
        else:
            lines.append(f'{k} = "{v}"')
    path.write_text("\n".join(lines) + "\n")


def start_pyvirtd(tmp: Path, listen: bool = False, args: tuple[str, ...] = (), wait: bool = True,
                  **settings: Any) -> Daemon:
    """Start ``python -m pyvirt.daemon`` with its own socket dir (and TCP on loopback)."""
    tmp.mkdir(parents=True, exist_ok=True)
    sock_dir = tmp / "sock"
    conf = {"unix_sock_dir": str(sock_dir), "listen_addr": "127.0.0.1", **settings}
    tcp_port = tls_port = None
    if listen:
        conf.setdefault("listen_tcp", True)
        conf.setdefault("auth_tcp", "none")
        conf.setdefault("listen_tls", False)
        if conf["listen_tcp"]:
            tcp_port = free_port()
            conf["tcp_port"] = str(tcp_port)
        if conf["listen_tls"]:
            tls_port = free_port()
            conf["tls_port"] = str(tls_port)
    write_conf(tmp / "pyvirtd.conf", **conf)
    pidfile = tmp / "pyvirtd.pid"
    log = tmp / "pyvirtd.log"
    cmd = [sys.executable, "-m", "pyvirt.daemon", "-f", str(tmp / "pyvirtd.conf"), "-p", str(pidfile), *args]
    if listen:
        cmd.append("-l")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=str(tmp), env=env)
    d = Daemon(proc, sock_dir, pidfile, log, tcp_port, tls_port)
    if wait:
        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"pyvirtd exited: {log.read_text()}")
            return (sock_dir / "libvirt-sock-ro").exists() and _nonempty(pidfile) and (
                tcp_port is None or _port_open(tcp_port)) and (tls_port is None or _port_open(tls_port))
        try:
            wait_for(up, "pyvirtd to start")
        except BaseException:
            d.stop()
            raise
    return d


def _nonempty(path: Path) -> bool:
    try:
        return path.read_text().strip() != ""
    except FileNotFoundError:
        return False


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.fixture
def pyvirtd(tmp_path: Path) -> Iterator[Daemon]:
    d = start_pyvirtd(tmp_path / "pyvirtd", listen=True)
    yield d
    d.stop()


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    made: list[Daemon] = []
    counter = iter(range(1000))

    def make(**kw: Any) -> Daemon:
        d = start_pyvirtd(tmp_path / f"d{next(counter)}", **kw)
        made.append(d)
        return d

    yield make
    for d in made:
        d.stop()


# --- a real libvirtd, the oracle -----------------------------------------------------------
def start_libvirtd(tmp: Path) -> Daemon:
    """A real libvirtd serving test:///default on its own sockets.

    As root, libvirtd's QEMU driver refuses to initialise without the libvirt-qemu
    user, so the daemon runs unprivileged (as 'nobody', i.e. in session mode, which
    has no read-only socket) with HOME and XDG_RUNTIME_DIR inside *tmp*.
    """
    binary = shutil.which("libvirtd") or "/usr/sbin/libvirtd"
    if not os.path.exists(binary):
        pytest.skip("libvirtd (Debian libvirt-daemon) is not installed")
    tmp.mkdir(parents=True, exist_ok=True)
    sock_dir = tmp / "sock"
    for sub in ("sock", "home", "run"):
        (tmp / sub).mkdir(exist_ok=True)
    port = free_port()
    write_conf(tmp / "libvirtd.conf", unix_sock_dir=str(sock_dir), auth_unix_rw="none", auth_unix_ro="none",
               listen_tls=False, listen_tcp=True, tcp_port=str(port), listen_addr="127.0.0.1", auth_tcp="none")
    env = dict(os.environ, HOME=str(tmp / "home"), XDG_RUNTIME_DIR=str(tmp / "run"))
    cmd = [binary, "-f", str(tmp / "libvirtd.conf"), "-p", str(tmp / "libvirtd.pid"), "-l", "-t", "120"]
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for p in [tmp, *tmp.iterdir()]:
            os.chown(p, nobody.pw_uid, nobody.pw_gid)
        cmd = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups", *cmd]
    log = tmp / "libvirtd.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=str(tmp))
    d = Daemon(proc, sock_dir, tmp / "libvirtd.pid", log, port)

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"libvirtd exited: {log.read_text()}")
        return (sock_dir / "libvirt-sock").exists()
    try:
        wait_for(up, "libvirtd to start")
    except BaseException:
        d.stop()
        raise
    return d


@pytest.fixture
def libvirtd() -> Iterator[Daemon]:
    # pytest's tmp dirs are private to root; the unprivileged daemon needs its own
    tmp = Path(tempfile.mkdtemp(prefix="pyvirt-libvirtd-"))
    try:
        d = start_libvirtd(tmp)
        yield d
        d.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def virsh(uri: str, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    if not shutil.which("virsh"):
        pytest.skip("virsh (Debian libvirt-clients) is not installed")
    out = subprocess.run(["virsh", "-c", uri, *args], capture_output=True, text=True, timeout=60)
    if check:
        assert out.returncode == 0, out.stderr
    return out


# --- raw RPC -----------------------------------------------------------------------------
REMOTE = 0x20008086


class RawClient:
    """Bytes on a socket: for malformed-input tests and protocol details."""

    def __init__(self, path: str | None = None, port: int | None = None) -> None:
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port or 0))
        self.sock.settimeout(20)
        self.serial = 0

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def call(self, proc: int, payload: bytes = b"", prog: int = REMOTE, vers: int = 1,
             type_: int = 0, status: int = 0) -> tuple[tuple[int, ...], bytes]:
        serial = self.serial
        self.serial += 1
        self.send_raw(pack_frame(prog, vers, proc, type_, serial, status, payload))
        return self.recv()

    def recv(self) -> tuple[tuple[int, ...], bytes]:
        head = self._exact(4)
        if not head:
            raise EOFError("connection closed")
        (length,) = struct.unpack(">I", head)
        body = self._exact(length - 4)
        hdr, payload = parse_header(body)
        return tuple(hdr), payload

    def eof(self) -> bool:
        """True when the daemon closed the connection (reads nothing more)."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return b""
            buf += chunk
        return buf
