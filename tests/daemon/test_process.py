"""pyvirtd as a process: options, pid file, signals, idle timeout, daemon mode, socket modes."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, start_pyvirtd, virsh, wait_for


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyvirt.daemon", *args], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))


def test_version_and_help() -> None:
    assert _run("--version").stdout == "pyvirtd (libvirt) 9.0.0\n"
    out = _run("-h").stdout
    for opt in ("--listen", "--timeout", "--daemon", "--pid-file", "--config", "--verbose"):
        assert opt in out


def test_bad_config_is_reported(tmp_path: Path) -> None:
    conf = tmp_path / "bad.conf"
    conf.write_text("listen_tcp = 1\nmax_clients = \"many\"\n")
    r = _run("-f", str(conf))
    assert r.returncode == 1
    assert r.stderr == (f"pyvirtd: error: Can't load config file: internal error: {conf}:2: expected an unsigned "
                        f"integer for 'max_clients' parameter: {conf}\n")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_cleans_up_and_leaves_guests(tmp_path: Path, sig: signal.Signals) -> None:
    d = start_pyvirtd(tmp_path / "d", listen=True)
    try:
        assert int(d.pidfile.read_text()) == d.proc.pid
        rw, ro = Path(d.rw), Path(d.ro)
        assert stat.S_IMODE(rw.stat().st_mode) == 0o700 and stat.S_IMODE(ro.stat().st_mode) == 0o777
        assert stat.S_ISSOCK(rw.stat().st_mode)
        virsh(d.uri(), "start", "test")  # fails: already running; the client is connected and gone
        d.proc.send_signal(sig)
        assert d.proc.wait(20) == 0
        assert not rw.exists() and not ro.exists() and not d.pidfile.exists()
    finally:
        d.stop()


def test_sighup_does_not_stop_the_daemon(tmp_path: Path) -> None:
    d = start_pyvirtd(tmp_path / "d")
    try:
        d.proc.send_signal(signal.SIGHUP)
        assert virsh(d.uri(), "domstate", "test").stdout == "running\n\n"
        assert d.proc.poll() is None
    finally:
        assert d.stop() == 0


def test_second_daemon_refuses_busy_socket(tmp_path: Path) -> None:
    d = start_pyvirtd(tmp_path / "d")
    try:
        conf = tmp_path / "d" / "pyvirtd.conf"
        r = _run("-f", str(conf), "-p", str(tmp_path / "other.pid"))
        assert r.returncode == 1
        assert f"Failed to bind socket to '{d.rw}': Address already in use" in r.stderr
        assert Path(d.rw).exists()  # the first daemon's socket is untouched
    finally:
        d.stop()


def test_stale_socket_is_replaced(tmp_path: Path) -> None:
    import socket
    sock_dir = tmp_path / "d" / "sock"
    sock_dir.mkdir(parents=True)
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock_dir / "libvirt-sock"))
    stale.close()  # a socket file nobody listens on
    d = start_pyvirtd(tmp_path / "d")
    try:
        assert virsh(d.uri(), "domstate", "test").stdout == "running\n\n"
    finally:
        d.stop()


def test_idle_timeout(tmp_path: Path) -> None:
    d = start_pyvirtd(tmp_path / "d", args=("-t", "1"))
    try:
        assert virsh(d.uri(), "domstate", "test").returncode == 0
        assert d.proc.wait(30) == 0  # exits by itself once no client is left
        assert not Path(d.rw).exists()
    finally:
        d.stop()


def test_daemon_mode(tmp_path: Path) -> None:
    d = start_pyvirtd(tmp_path / "d", args=("-d",), wait=False)
    assert d.proc.wait(20) == 0  # the launcher returns; the daemon lives on
    wait_for(lambda: d.pidfile.exists() and d.pidfile.read_text().strip() != "" and Path(d.ro).exists(),
             "daemonized pyvirtd")
    pid = int(d.pidfile.read_text())
    try:
        assert pid != d.proc.pid
        assert virsh(d.uri(), "domstate", "test").stdout == "running\n\n"
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not d.pidfile.exists(), "daemon to exit")
