"""Consoles and screenshots through pyvirtd: a real guest under an embedded QEMU root served
by pyvirtd, reached by pyvirt's remote driver, by Debian's libvirt-python, by real virsh
(console in a pty, left with ^]) and by pyvirsh; streams of the test driver with events."""

from __future__ import annotations

import importlib.util
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt import eventloop, events
from pyvirt.errors import LibvirtError

from .conftest import Daemon, start_pyvirtd

ROOT = Path(__file__).resolve().parents[2]
PYVIRSH = [sys.executable, "-m", "pyvirt.cli"] if not (ROOT / ".venv" / "bin" / "pyvirsh").exists() \
    else [str(ROOT / ".venv" / "bin" / "pyvirsh")]
HELLO = re.compile(rb"(?m)^hello-42\r*$")  # a cooked host pty may add a CR of its own
ECHO = b"echo hello-$((6*7))\n"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BANNER = "Connected to domain 'con2'\r\nEscape character is ^] (Ctrl + ])\r\n"


def _guest() -> Any:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed (Debian: qemu-system-x86)")
    path = ROOT / "tests" / "guest" / "build.py"
    spec = importlib.util.spec_from_file_location("pyvirt_test_guest", path)
    assert spec is not None and spec.loader is not None
    mod = sys.modules.get(spec.name)
    if mod is None:
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
    return mod.build_guest()


def domain_xml(guest: Any, name: str, vnc_dir: Path) -> str:
    """The test guest with a pty console and a VNC display on a UNIX socket (no TCP port to race for)."""
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os>
<devices><serial type='pty'/><console type='pty'/>
<graphics type='vnc'><listen type='socket' socket='{vnc_dir / (name + "-vnc.sock")}'/></graphics>
</devices></domain>"""


def read_until(st: Any, pattern: re.Pattern[bytes], timeout: float = 90.0, send: bytes | None = None) -> bytes:
    """Poll a NONBLOCK stream (pyvirt's or libvirt-python's) until *pattern* shows up."""
    buf = b""
    deadline = time.monotonic() + timeout
    next_send = 0.0
    while not pattern.search(buf):
        now = time.monotonic()
        assert now < deadline, f"never saw {pattern.pattern!r}: {buf[-400:]!r}"
        if send is not None and now >= next_send:
            st.send(send)
            next_send = now + 5.0
        got = st.recv(4096)
        if got == -2:
            time.sleep(0.02)  # polling a non-blocking stream; the deadline bounds it
            continue
        assert isinstance(got, bytes) and got, "the console ended"
        buf += got
    return buf


def read_until_blocking(st: Any, pattern: re.Pattern[bytes], timeout: float = 90.0, send: bytes | None = None) -> bytes:
    """The same for a blocking libvirt-python stream: its recv() runs on a helper thread.

    (libvirt's client reads a NONBLOCK stream's data only from its event loop; a blocking
    stream reads it in recv() itself.)
    """
    import threading
    buf = bytearray()
    failure: list[BaseException] = []

    def reader() -> None:
        try:
            while not pattern.search(bytes(buf)):
                got = st.recv(4096)
                if not got:
                    return
                buf.extend(got)
        except BaseException as exc:  # reported by the caller
            failure.append(exc)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive():
        assert time.monotonic() < deadline, f"never saw {pattern.pattern!r}: {bytes(buf[-400:])!r}"
        if send is not None:
            st.send(send)
        thread.join(5.0)
    if failure:
        raise failure[0]
    assert pattern.search(bytes(buf)), bytes(buf[-400:])
    return bytes(buf)


class Setup:
    def __init__(self, daemon: Daemon, root: Path, conn: pyvirt.Connection, dom: pyvirt.Domain, boot: bytes) -> None:
        self.daemon, self.root, self.conn, self.dom, self.boot = daemon, root, conn, dom, boot

    def console(self, flags: int = 0) -> pyvirt.Stream:
        st = self.conn.new_stream(c.VIR_STREAM_NONBLOCK)
        self.dom.open_console(None, st, flags)
        return st

    @property
    def pyvirt_uri(self) -> str:
        return f"qemu+unix:///embed?root={self.root}&socket={self.daemon.rw}"

    @property
    def libvirt_uri(self) -> str:
        """What real virsh and libvirt-python use: the embed URI in name= (their client refuses embed+unix)."""
        return f"qemu+unix:///system?socket={self.daemon.rw}&name={quote(f'qemu:///embed?root={self.root}', safe='/:')}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    guest = _guest()
    tmp = tmp_path_factory.mktemp("console-daemon")
    daemon = start_pyvirtd(tmp / "pyvirtd")
    try:
        root = tmp / "root"
        conn = pyvirt.open(f"qemu+unix:///embed?root={root}&socket={daemon.rw}")
        try:
            dom = conn.create_xml(domain_xml(guest, "con2", tmp), 0)
            try:
                st = conn.new_stream(c.VIR_STREAM_NONBLOCK)
                dom.open_console(None, st, 0)
                boot = read_until(st, re.compile(re.escape(guest.ready_line.encode())))
                st.finish()  # every test starts (and leaves) with the console free
                yield Setup(daemon, root, conn, dom, boot)
            finally:
                dom.destroy()
        finally:
            conn.close()
    finally:
        daemon.stop()


def test_remote_console_boot_and_shell(setup: Setup) -> None:
    assert b"PYVIRT-TEST-GUEST-READY" in setup.boot
    st = setup.console()
    read_until(st, HELLO, send=ECHO)
    st.finish()


def test_large_input_waits_for_the_guest(setup: Setup) -> None:
    """80 kB typed at once: more than a pty holds (64 KiB), so the daemon writes it as the guest
    takes it (holding the client's request slots meanwhile); every byte arrives."""
    st = setup.console()
    read_until(st, HELLO, send=ECHO)  # the shell is reading
    # sent once: anything sent again would become data for head
    st.send(b"stty -echo; echo go; head -c 80000 | wc -c; stty echo\n")
    read_until(st, re.compile(rb"(?m)^go\r?$"))
    assert st.send((b"a" * 99 + b"\n") * 800) == 80000
    read_until(st, re.compile(rb"(?m)^\s*80000\r?$"), timeout=150)
    read_until(st, HELLO, send=ECHO)  # and the console still works both ways
    st.finish()


def test_libvirt_python_takes_over(setup: Setup) -> None:
    libvirt = pytest.importorskip("libvirt")
    mine = setup.console()
    lconn = libvirt.open(setup.libvirt_uri)
    try:
        ldom = lconn.lookupByName("con2")
        st = lconn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        with pytest.raises(libvirt.libvirtError) as busy:
            ldom.openConsole(None, st, 0)
        assert busy.value.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED
        assert "Active console session exists for this domain" in busy.value.get_error_message()
        st = lconn.newStream(0)
        ldom.openConsole("serial0", st, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        # the pyvirt session ends with libvirtd's error for an aborted stream
        with pytest.raises(LibvirtError) as ended:
            read_until(mine, re.compile(b"(?!)"), timeout=60)
        assert ended.value.get_error_code() == c.VIR_ERR_RPC
        assert ended.value.get_error_domain() == c.VIR_FROM_STREAMS
        assert str(ended.value) == "stream had I/O failure"
        read_until_blocking(st, HELLO, send=ECHO)
        st.finish()
    finally:
        lconn.close()


def test_disconnect_frees_the_console(setup: Setup) -> None:
    other = pyvirt.open(setup.pyvirt_uri)
    st = other.new_stream(c.VIR_STREAM_NONBLOCK)
    other.lookup_by_name("con2").open_console(None, st, 0)
    read_until(st, HELLO, send=ECHO)
    other.close()  # no finish: the daemon ends the session when the client goes
    deadline = time.monotonic() + 60
    while True:
        again = setup.conn.new_stream(c.VIR_STREAM_NONBLOCK)
        try:
            setup.dom.open_console(None, again, 0)
            break
        except LibvirtError as exc:
            assert "Active console session" in str(exc) and time.monotonic() < deadline
            time.sleep(0.05)  # the daemon notices the disconnect on its own loop
    read_until(again, HELLO, send=ECHO)
    again.finish()


def run_in_pty(argv: list[str], timeout: float = 90.0, escape: bytes = b"\x1d") -> tuple[int, bytes]:
    """Run a console client on a pty: wait for the banner, type the command until the guest
    answers, leave with the *escape* byte (^]) and return (exit status, everything it wrote)."""
    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, env=env)
    os.close(slave)
    buf = b""
    try:
        deadline = time.monotonic() + timeout
        next_send = 0.0
        while not HELLO.search(buf):
            now = time.monotonic()
            assert now < deadline and proc.poll() is None, buf[-500:]
            if b"Escape character" in buf and now >= next_send:
                os.write(master, ECHO)
                next_send = now + 5.0
            if select.select([master], [], [], 0.5)[0]:
                try:
                    buf += os.read(master, 4096)
                except OSError:  # the client exited: the pty hung up
                    raise AssertionError(f"exited with {proc.wait(10)}: {buf[-500:]!r}") from None
        os.write(master, escape)
        rc = proc.wait(30)
        while True:
            try:
                if not select.select([master], [], [], 0.2)[0]:
                    break
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        return rc, buf
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_real_virsh_console(setup: Setup) -> None:
    if shutil.which("virsh") is None:
        pytest.skip("virsh (Debian libvirt-clients) is not installed")
    rc, out = run_in_pty(["virsh", "-c", setup.libvirt_uri, "console", "con2"])
    assert rc == 0, out
    assert out.startswith(BANNER.encode()), out[:200]
    assert b"echo hello-$((6*7))" in out


def test_force_ends_a_virsh_session(setup: Setup) -> None:
    """Real virsh in a console session; pyvirt takes the console over: virsh reports libvirtd's error."""
    if shutil.which("virsh") is None:
        pytest.skip("virsh (Debian libvirt-clients) is not installed")
    master, slave = pty.openpty()
    proc = subprocess.Popen(["virsh", "-c", setup.libvirt_uri, "console", "con2"], stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True)
    os.close(slave)
    buf = b""
    try:
        deadline = time.monotonic() + 90
        next_send = 0.0
        while not HELLO.search(buf):  # the guest answers through virsh: its session is open
            now = time.monotonic()
            assert now < deadline and proc.poll() is None, buf
            if b"Escape character" in buf and now >= next_send:
                os.write(master, ECHO)
                next_send = now + 5.0
            if select.select([master], [], [], 0.5)[0]:
                buf += os.read(master, 4096)
        st = setup.conn.new_stream(c.VIR_STREAM_NONBLOCK)
        setup.dom.open_console(None, st, c.VIR_DOMAIN_CONSOLE_FORCE)
        assert proc.wait(60) == 1
        while select.select([master], [], [], 0.5)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
        assert b"error: stream had I/O failure" in buf, buf
        read_until(st, HELLO, send=ECHO)
        st.finish()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def test_pyvirsh_console(setup: Setup) -> None:
    rc, out = run_in_pty([*PYVIRSH, "-c", setup.pyvirt_uri, "console", "con2", "--safe"])
    assert rc == 0, out
    assert out.startswith(BANNER.encode()), out[:200]
    assert HELLO.search(out)


def test_pyvirsh_console_escape_option(setup: Setup) -> None:
    """virsh -e ^a: the banner names it and Ctrl+A (not Ctrl+]) ends the session."""
    rc, out = run_in_pty([*PYVIRSH, "-e", "^a", "-c", setup.pyvirt_uri, "console", "con2"], escape=b"\x01")
    assert rc == 0, out
    assert out.startswith(BANNER.replace("^] (Ctrl + ])", "^a (Ctrl + a)").encode()), out[:200]


def test_pyvirsh_console_refusals(setup: Setup) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    notty = subprocess.run([*PYVIRSH, "-c", setup.pyvirt_uri, "console", "con2"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, env=env, timeout=60)
    assert notty.returncode == 1
    assert notty.stderr == "error: Cannot run interactive console without a controlling TTY\n"


def test_screenshot_virsh_and_pyvirsh(setup: Setup, tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    outputs = {}
    tools = {"pyvirsh": [*PYVIRSH, "-c", setup.pyvirt_uri]}
    if shutil.which("virsh"):
        tools["virsh"] = ["virsh", "-c", setup.libvirt_uri]
    for tool, argv in tools.items():
        target = tmp_path / f"{tool}.png"
        res = subprocess.run([*argv, "screenshot", "con2", "--file", str(target)], capture_output=True, text=True,
                             env=env, timeout=60)
        assert res.returncode == 0, res.stderr
        outputs[tool] = res.stdout.replace(str(target), "FILE")
        data = target.read_bytes()
        assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
        width, height = struct.unpack(">II", data[16:24])
        assert width >= 320 and height >= 200
    assert outputs["pyvirsh"] == "Screenshot saved to FILE, with type of image/png\n"
    assert len(set(outputs.values())) == 1, outputs
    # the public API over the wire
    st = setup.conn.new_stream()
    assert setup.dom.screenshot(st, 0) == "image/png"
    parts: list[bytes] = []
    st.recv_all(lambda _s, data, acc: acc.append(data), parts)
    st.finish()
    assert b"".join(parts).startswith(PNG_MAGIC)


def test_remote_stream_events_test_driver(tmp_path: Path) -> None:
    """A remote NONBLOCK stream reports data and its end through the default event loop."""
    import pyvirt.libvirt as libvirt
    daemon = start_pyvirtd(tmp_path / "d")
    before = (events.queued_delivery(), eventloop._registered)
    libvirt.virEventRegisterDefaultImpl()
    conn: Any = None
    try:
        conn = libvirt.open(daemon.uri())
        st = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        assert conn.lookupByName("test").screenshot(st, 0, 0) == "image/png"
        got = bytearray()
        ended: list[bool] = []

        def on_event(s: Any, ev: int, _o: Any) -> None:
            if ev & libvirt.VIR_STREAM_EVENT_READABLE:
                data = s.recv(1024)
                if data == b"":
                    ended.append(True)
                    s.eventRemoveCallback()
                elif isinstance(data, bytes):
                    got.extend(data)

        st.eventAddCallback(libvirt.VIR_STREAM_EVENT_READABLE, on_event, None)
        deadline = time.monotonic() + 30
        while not ended:
            assert time.monotonic() < deadline
            libvirt.virEventRunDefaultImpl()
        st.finish()
        assert bytes(got).startswith(PNG_MAGIC)
    finally:
        if conn is not None:
            conn.close()
        events.set_queued_delivery(before[0])
        eventloop._registered = before[1]
        daemon.stop()
