"""qemu:///session: the client autostarts a per-user pyvirtd (libvirt's rules), the session
layout under $HOME and $XDG_RUNTIME_DIR, real virsh reaching the same daemon, and the
daemon's idle timeout that waits for running guests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

import pyvirt
from pyvirt import constants as c

ROOT = Path(__file__).resolve().parents[3]
PYTHON = ROOT / ".venv" / "bin" / "python"
PYVIRTD = ROOT / ".venv" / "bin" / "pyvirtd"
XML = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os></domain>"""


def wait_until(pred: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def user_home() -> Iterator[Path]:
    """A HOME (with an XDG_RUNTIME_DIR inside) an ordinary user can use: pytest's tmp dirs are
    private to root, and as root the test runs its clients as ``nobody``."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("needs setpriv to run the client as an ordinary user")
    base = Path(tempfile.mkdtemp(prefix="pyvirt-session-"))
    base.chmod(0o755)
    home = base / "home"
    (home / "xdg").mkdir(parents=True)
    if os.geteuid() == 0:
        for p in (home, home / "xdg"):
            os.chown(p, 65534, 65534)
    (home / "xdg").chmod(0o700)
    try:
        yield home
    finally:
        pidfile = home / "xdg" / "libvirt" / "pyvirtd.pid"
        if pidfile.exists():  # the session daemon our client started
            try:
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGTERM)
            except (ValueError, ProcessLookupError):
                pass
            wait_until(lambda: not pidfile.exists(), "the session daemon to stop")
        shutil.rmtree(base, ignore_errors=True)


def run_as_user(home: Path, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    full = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "xdg"), **env}
    return subprocess.run([*prefix, "env", "-i", *(f"{k}={v}" for k, v in full.items()), *argv],
                          capture_output=True, text=True, timeout=120, cwd="/")


CLIENT = textwrap.dedent("""
    import pyvirt, sys
    conn = pyvirt.open("qemu:///session")
    print(conn.get_uri(), conn.get_type())
    dom = conn.define_xml(sys.argv[1])
    dom.set_autostart(1)
    print(sorted(d.name() for d in conn.list_all_domains()))
    conn.close()
""")


def test_session_client_autostarts_daemon(user_home: Path) -> None:
    xdg = user_home / "xdg" / "libvirt"
    # LIBVIRT_AUTOSTART=0: no daemon, and libvirt's error
    done = run_as_user(user_home, [str(PYTHON), "-c", CLIENT, XML.format(name="s1")], LIBVIRT_AUTOSTART="0")
    assert done.returncode != 0
    assert f"Failed to connect socket to '{xdg / 'libvirt-sock'}': No such file or directory" in done.stderr
    done = run_as_user(user_home, [str(PYTHON), "-c", CLIENT, XML.format(name="s1")])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["qemu:///session QEMU", "['s1']"]
    # libvirt's session layout, and a daemon that keeps running for the next client
    assert (user_home / ".config" / "libvirt" / "qemu" / "s1.xml").exists()
    assert (user_home / ".config" / "libvirt" / "qemu" / "autostart" / "s1.xml").is_symlink()
    assert (xdg / "qemu" / "run" / "driver.pid").exists()
    assert (user_home / ".cache" / "libvirt" / "qemu" / "log").is_dir()
    pid = int((xdg / "pyvirtd.pid").read_text())
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"--timeout=120" in cmdline
    assert (user_home / ".cache" / "libvirt" / "pyvirtd.log").exists()  # a detached session daemon's log
    done = run_as_user(user_home, [str(PYTHON), "-c", CLIENT, XML.format(name="s2")])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "['s1', 's2']"
    assert int((xdg / "pyvirtd.pid").read_text()) == pid  # the same daemon served it
    if shutil.which("virsh"):  # libvirt's own client finds the same daemon on the same socket
        out = run_as_user(user_home, ["virsh", "-c", "qemu:///session", "list", "--all", "--name"])
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["s1", "s2"]


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short directory: QMP socket paths under it must fit in 107 bytes (pytest's are long)."""
    path = Path(tempfile.mkdtemp(prefix="pvs-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_session_daemon_idle_timeout_waits_for_guests(short_tmp: Path, qemu_bin: str) -> None:
    """``--timeout``: exit once there are no clients and no running guests (libvirt's rule)."""
    tmp_path = short_tmp
    home = tmp_path / "home"
    (home / "xdg").mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "xdg")}
    sock = home / "xdg" / "libvirt" / "libvirt-sock"
    log = open(tmp_path / "d.log", "wb")
    proc = subprocess.Popen([str(PYVIRTD), "--session", "--timeout=1", "-v"], env=env, stdout=log, stderr=log)
    try:
        wait_until(lambda: sock.exists() or proc.poll() is not None, "the daemon's socket")
        uri = f"qemu+unix:///session?socket={sock}"
        with pyvirt.open(uri) as conn:
            dom = conn.create_xml(XML.format(name="idle1"))
            assert dom.is_active() == 1
        time.sleep(3)  # three idle timeouts without clients, but a guest runs
        assert proc.poll() is None, (tmp_path / "d.log").read_text()
        with pyvirt.open(uri) as conn:
            conn.lookup_by_name("idle1").destroy()
        wait_until(lambda: proc.poll() is not None, "the idle daemon to exit")
        assert proc.returncode == 0
        assert "no clients and no running guests" in (tmp_path / "d.log").read_text()
        assert not sock.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def test_session_daemon_refuses_system_uri(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "xdg").mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "xdg")}
    sock = home / "xdg" / "libvirt" / "libvirt-sock"
    proc = subprocess.Popen([str(PYVIRTD), "--session"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: sock.exists(), "the daemon's socket")
        with pytest.raises(pyvirt.LibvirtError, match="unexpected qemu URI path '/system', try qemu:///session"):
            pyvirt.open(f"qemu+unix:///system?socket={sock}")
        with pyvirt.open(f"qemu+unix:///session?socket={sock}") as conn:
            assert conn.get_uri().startswith("qemu+unix:///session")
            assert conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def test_prefix_and_session_conflict() -> None:
    done = subprocess.run([str(PYVIRTD), "--session", "--prefix", "/tmp/x"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1 and "--prefix relocates the system mode" in done.stderr
