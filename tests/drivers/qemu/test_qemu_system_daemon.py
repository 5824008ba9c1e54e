"""qemu:///system served by pyvirtd (in a tmp prefix): autostart at daemon start, and the
daemon-restart guarantee — a pyvirtd killed with SIGKILL and restarted re-attaches to the
running guest (same ID, state, console, statistics; events flow again), never starts an
autostarted guest twice, and real virsh sees the same thing."""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import tty
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import pyvirt
from pyvirt import constants as c

ROOT = Path(__file__).resolve().parents[3]
PYVIRTD = ROOT / ".venv" / "bin" / "pyvirtd"


def wait_until(pred: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _connectable(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


class Pyvirtd:
    """One pyvirtd process in system mode under *prefix*."""

    def __init__(self, prefix: Path, log: Path) -> None:
        self.prefix = prefix
        self.sock = prefix / "run" / "libvirt" / "libvirt-sock"
        with open(log, "ab") as fh:
            self.proc = subprocess.Popen([str(PYVIRTD), "--prefix", str(prefix), "-v"], stdin=subprocess.DEVNULL,
                                         stdout=fh, stderr=fh)
        wait_until(lambda: _connectable(self.sock) or self.proc.poll() is not None, "pyvirtd's socket")
        assert self.proc.poll() is None, log.read_text()

    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.sock}"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(60)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


class Console:
    """The guest's serial console through its pty: send a shell command, wait for the answer."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.seen = ""

    def ask(self, a: int, b: int, timeout: float = 120.0) -> None:
        """Run ``echo M-$((a*b))`` until the guest prints the product (its shell is alive)."""
        want = f"M-{a * b}"
        deadline = time.monotonic() + timeout
        next_send = 0.0
        while want not in self.seen:
            now = time.monotonic()
            if now > deadline:
                raise AssertionError(f"no answer from the guest's shell: {self.seen[-500:]!r}")
            if now >= next_send:
                os.write(self.fd, f"echo M-$(({a}*{b}))\n".encode())
                next_send = now + 5.0
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if ready:
                try:
                    self.seen += os.read(self.fd, 4096).decode(errors="replace")
                except BlockingIOError:
                    pass

    def reboot(self, done: Callable[[], bool], timeout: float = 120.0) -> None:
        """Type ``reboot -f`` (again every 10 s: input typed while QEMU reconnects the pty may be
        late) until *done*."""
        deadline = time.monotonic() + timeout
        next_send = 0.0
        while not done():
            now = time.monotonic()
            if now > deadline:
                raise AssertionError(f"the guest did not reboot: {self.seen[-500:]!r}")
            if now >= next_send:
                os.write(self.fd, b"reboot -f\n")
                next_send = now + 10.0
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.fd, 4096).decode(errors="replace")
                except BlockingIOError:
                    pass
        self.seen = ""

    def close(self) -> None:
        os.close(self.fd)


def guest_xml(guest: Any) -> str:
    return f"""<domain type='qemu'><name>sys1</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<devices><serial type='pty'/><console type='pty'/></devices></domain>"""


def _pty(dom: Any) -> str:
    from lxml import etree
    source = etree.fromstring(dom.xml_desc().encode()).find("devices/serial/source")
    assert source is not None
    path = source.get("path")
    assert path and path.startswith("/dev/pts/")
    return str(path)


def _qemu_pid(prefix: Path) -> int:
    from lxml import etree
    return int(etree.parse(str(prefix / "run" / "libvirt" / "qemu" / "sys1.xml")).getroot().get("pid", "0"))


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short directory: QMP socket paths under it must fit in 107 bytes (pytest's are long)."""
    path = Path(tempfile.mkdtemp(prefix="pvd-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_system_daemon_autostart_and_restart(guest: Any, short_tmp: Path) -> None:
    tmp_path = short_tmp
    prefix = tmp_path / "p"
    log = tmp_path / "pyvirtd.log"
    daemons: list[Pyvirtd] = []
    qemu_pid = 0
    try:
        # 1. define and mark autostart; the daemon stops with the guest off
        d1 = Pyvirtd(prefix, log)
        daemons.append(d1)
        with pyvirt.open(d1.uri) as conn:
            assert conn.get_type() == "QEMU"
            dom = conn.define_xml(guest_xml(guest))
            dom.set_autostart(1)
            assert dom.autostart() == 1 and not dom.is_active()
        assert (prefix / "etc" / "libvirt" / "qemu" / "sys1.xml").exists()
        assert os.readlink(prefix / "etc" / "libvirt" / "qemu" / "autostart" / "sys1.xml") == \
            str(prefix / "etc" / "libvirt" / "qemu" / "sys1.xml")
        d1.stop()
        # 2. a "host reboot" (/run is empty again): the next daemon autostarts the guest
        (prefix / "run" / "libvirt" / "qemu" / "autostarted").unlink()
        d2 = Pyvirtd(prefix, log)
        daemons.append(d2)
        with pyvirt.open(d2.uri) as conn:
            dom = conn.lookup_by_name("sys1")
            assert dom.is_active() == 1
            assert tuple(dom.state()) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_BOOTED)
            dom_id, pty = dom.id(), _pty(dom)
            console = Console(pty)
            try:
                console.ask(6, 7)
            finally:
                console.close()
        qemu_pid = _qemu_pid(prefix)
        # 3. SIGKILL the daemon: the guest runs on
        d2.kill()
        assert _alive(qemu_pid)
        d3 = Pyvirtd(prefix, log)
        daemons.append(d3)
        with pyvirt.open(d3.uri) as conn:
            dom = conn.lookup_by_name("sys1")
            assert _qemu_pid(prefix) == qemu_pid  # re-attached, not started again
            qemu_log = prefix / "var" / "log" / "libvirt" / "qemu" / "sys1.log"
            assert qemu_log.read_text().count("starting up") == 1
            assert dom.id() == dom_id and conn.list_domains_id() == [dom_id]
            assert tuple(dom.state()) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_BOOTED)
            assert dom.autostart() == 1 and _pty(dom) == pty
            info = dom.info()
            assert info[0] == c.VIR_DOMAIN_RUNNING and info[1] == 128 * 1024 and info[4] > 0
            assert dom.memory_stats()["rss"] > 0
            console = Console(pty)
            try:
                console.ask(7, 8)  # the same guest, unharmed: its shell still answers
            finally:
                console.close()
            events: list[tuple[int, int]] = []
            lock = threading.Lock()

            def on_event(_c: Any, _d: Any, event: int, detail: int, _o: Any) -> None:
                with lock:
                    events.append((event, detail))

            conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_event, None)
            dom.suspend()
            dom.resume()
            wait_until(lambda: (c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED) in events,
                       "the resumed event")
            assert events[0] == (c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)
            # an event the guest itself causes comes through the re-attached monitor: it reboots
            reboots: list[str] = []
            conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_REBOOT,
                                           lambda _c, d, _o: reboots.append(d.name()), None)
            console = Console(pty)
            try:
                console.reboot(lambda: bool(reboots))
                assert set(reboots) == {"sys1"}  # (a guest reset may be reported more than once)
                console.ask(8, 9)  # and it came back up
            finally:
                console.close()
            assert dom.id() == dom_id and dom.is_active() == 1
            if shutil.which("virsh"):
                out = subprocess.run(["virsh", "-c", d3.uri, "list"], capture_output=True, text=True,
                                     timeout=60)
                assert out.returncode == 0, out.stderr
                rows = [ln.split() for ln in out.stdout.splitlines()[2:] if ln.strip()]
                assert rows == [[str(dom_id), "sys1", "running"]]
                info_out = subprocess.run(["virsh", "-c", d3.uri, "dominfo", "sys1"], capture_output=True,
                                          text=True, timeout=60).stdout
                assert "Autostart:      enable" in info_out and f"Id:             {dom_id}" in info_out
            try:
                import libvirt  # Debian's libvirt-python: libvirt's own client library
            except ImportError:
                libvirt = None
            if libvirt is not None:
                lv = libvirt.open(d3.uri)
                try:
                    ldom = lv.lookupByName("sys1")
                    assert ldom.ID() == dom_id and ldom.state() == [c.VIR_DOMAIN_RUNNING,
                                                                    c.VIR_DOMAIN_RUNNING_UNPAUSED]
                    assert ldom.autostart() == 1 and lv.getURI().startswith("qemu+unix:///system")
                finally:
                    lv.close()
            # 4. SIGTERM and start again while it runs: still no second start
            d3.stop()
        d4 = Pyvirtd(prefix, log)
        daemons.append(d4)
        with pyvirt.open(d4.uri) as conn:
            dom = conn.lookup_by_name("sys1")
            assert dom.id() == dom_id and _qemu_pid(prefix) == qemu_pid
            assert qemu_log.read_text().count("starting up") == 1
            dom.destroy()
            assert not _alive(qemu_pid)
            dom.undefine()
            assert not (prefix / "etc" / "libvirt" / "qemu" / "autostart" / "sys1.xml").is_symlink()
            assert conn.list_all_domains() == []
    finally:
        for d in daemons:
            d.stop()
        if qemu_pid and _alive(qemu_pid):
            os.kill(qemu_pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_system_daemon_refuses_second_driver_on_same_dirs(tmp_path: Path) -> None:
    """Two daemons on the same directories (pyvirtd or libvirtd: the same driver.pid lock):
    the second serves no qemu:///system rather than fight over the guests."""
    prefix = tmp_path / "p"
    d1 = Pyvirtd(prefix, tmp_path / "d1.log")
    with pyvirt.open(d1.uri) as first:  # d1's QEMU state is loaded: it holds driver.pid before d2 starts
        assert first.list_all_domains() == []
    conf = tmp_path / "d2.conf"
    conf.write_text(f'unix_sock_dir = "{tmp_path / "s2"}"\n')
    with open(tmp_path / "d2.log", "wb") as fh:
        p2 = subprocess.Popen([str(PYVIRTD), "--prefix", str(prefix), "-f", str(conf)], stdout=fh, stderr=fh)
    try:
        sock2 = tmp_path / "s2" / "libvirt-sock"
        wait_until(lambda: _connectable(sock2), "the second daemon's socket")
        with pytest.raises(pyvirt.LibvirtError, match="Failed to acquire pid file .*driver.pid"):
            pyvirt.open(f"qemu+unix:///system?socket={sock2}")
        assert "Initialization of QEMU state driver failed" in (tmp_path / "d2.log").read_text()
        with pyvirt.open(d1.uri) as conn:
            assert conn.list_all_domains() == []
    finally:
        p2.send_signal(signal.SIGTERM)
        p2.wait(60)
        d1.stop()


def test_sighup_reloads_configs(tmp_path: Path) -> None:
    """SIGHUP: a config file copied into the config dir becomes a domain (with a DEFINED event),
    its autostart link is read, and nothing is started (qemuStateReload)."""
    prefix = tmp_path / "p"
    d = Pyvirtd(prefix, tmp_path / "d.log")
    try:
        with pyvirt.open(d.uri) as conn:
            events: list[tuple[str, int, int]] = []
            conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                           lambda _c, dom, ev, det, _o: events.append((dom.name(), ev, det)), None)
            cfg = prefix / "etc" / "libvirt" / "qemu"
            (cfg / "h1.xml").write_text("<domain type='qemu'><name>h1</name><memory unit='MiB'>64</memory>"
                                        "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>")
            (cfg / "autostart").mkdir(exist_ok=True)
            (cfg / "autostart" / "h1.xml").symlink_to(cfg / "h1.xml")
            d.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: ("h1", c.VIR_DOMAIN_EVENT_DEFINED, c.VIR_DOMAIN_EVENT_DEFINED_ADDED) in events,
                       "the DEFINED event", timeout=60)
            dom = conn.lookup_by_name("h1")
            assert dom.autostart() == 1 and dom.is_active() == 0
        assert d.proc.poll() is None
    finally:
        d.stop()
