"""virsh console and screenshot of a real guest under qemu:///embed: the pty console as a
stream (ready line, a shell command and its answer), one session at a time and FORCE
takeover, stream events on the default loop, a PNG screenshot through QMP screendump."""

from __future__ import annotations

import re
import struct
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import pyvirt
import pyvirt.libvirt as libvirt
from pyvirt import constants as c
from pyvirt import eventloop, events
from pyvirt.errors import LibvirtError

HELLO = re.compile(rb"(?m)^hello-42\r?$")
ECHO = b"echo hello-$((6*7))\n"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def domain_xml(guest: Any, name: str, vnc_dir: Path) -> str:
    """The test guest with a pty console and a VNC display on a UNIX socket (no TCP port to race for)."""
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os>
<devices><serial type='pty'/><console type='pty'/>
<graphics type='vnc'><listen type='socket' socket='{vnc_dir / (name + "-vnc.sock")}'/></graphics>
</devices></domain>"""


def read_until(st: pyvirt.Stream, pattern: re.Pattern[bytes], timeout: float = 90.0,
               send: bytes | None = None) -> bytes:
    """Read a NONBLOCK stream until *pattern* shows; re-send *send* every few seconds
    (a command typed while the shell is still starting can be lost)."""
    buf = b""
    deadline = time.monotonic() + timeout
    next_send = 0.0
    while not pattern.search(buf):
        now = time.monotonic()
        assert now < deadline, f"never saw {pattern.pattern!r}: {buf[-400:]!r}"
        if send is not None and now >= next_send:
            assert st.send(send) == len(send)
            next_send = now + 5.0
        got = st.recv(4096)
        if got == -2:
            backend = st._backend
            backend.wait(timeout=0.5)
            continue
        assert isinstance(got, bytes) and got, "the console ended"
        buf += got
    return buf


class Booted:
    def __init__(self, conn: pyvirt.Connection, dom: pyvirt.Domain, root: Path, first: pyvirt.Stream,
                 boot_output: bytes) -> None:
        self.conn, self.dom, self.root, self.first, self.boot_output = conn, dom, root, first, boot_output


@pytest.fixture(scope="module")
def booted(guest: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    root = tmp_path_factory.mktemp("console") / "root"
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    try:
        dom = conn.create_xml(domain_xml(guest, "con1", root.parent), 0)
        try:
            st = conn.new_stream(c.VIR_STREAM_NONBLOCK)
            dom.open_console(None, st, 0)  # at once: the guest prints its ready line only at boot
            out = read_until(st, re.compile(re.escape(guest.ready_line.encode())))
            yield Booted(conn, dom, root, st, out)
        finally:
            dom.destroy()
    finally:
        conn.close()


def test_console_reads_boot_and_runs_a_command(booted: Booted) -> None:
    assert b"PYVIRT-TEST-GUEST-READY" in booted.boot_output
    out = read_until(booted.first, HELLO, send=ECHO)
    assert b"echo hello-$((6*7))" in out  # the shell echoes what we typed


def test_one_session_at_a_time_and_force(booted: Booted) -> None:
    dom, conn = booted.dom, booted.conn
    second = conn.new_stream(c.VIR_STREAM_NONBLOCK)
    with pytest.raises(LibvirtError) as busy:
        dom.open_console("serial0", second, c.VIR_DOMAIN_CONSOLE_SAFE)
    assert busy.value.get_error_code() == c.VIR_ERR_OPERATION_FAILED
    assert busy.value.get_error_domain() == c.VIR_FROM_QEMU
    assert str(busy.value) == "operation failed: Active console session exists for this domain"

    dom.open_console("serial0", second, c.VIR_DOMAIN_CONSOLE_FORCE)
    with pytest.raises(LibvirtError) as gone:
        booted.first.recv(10)  # the old session was ended
    assert "aborted" in str(gone.value)
    read_until(second, HELLO, send=ECHO)
    second.finish()

    # a finished session frees the console: no FORCE needed
    third = conn.new_stream(c.VIR_STREAM_NONBLOCK)
    dom.open_console(None, third, 0)
    read_until(third, HELLO, send=ECHO)
    third.abort()


def test_console_errors(booted: Booted, guest: Any) -> None:
    dom, conn = booted.dom, booted.conn
    with pytest.raises(LibvirtError) as nodev:
        dom.open_console("nosuch0", conn.new_stream(), 0)
    assert nodev.value.get_error_code() == c.VIR_ERR_INTERNAL_ERROR
    assert str(nodev.value) == "internal error: cannot find character device nosuch0"
    with pytest.raises(LibvirtError) as flags:
        dom.open_console(None, conn.new_stream(), 0x100)
    assert flags.value.get_error_code() == c.VIR_ERR_INVALID_ARG
    off = conn.define_xml(domain_xml(guest, "con-off", booted.root.parent))
    try:
        with pytest.raises(LibvirtError) as inactive:
            off.open_console(None, conn.new_stream(), 0)
        assert inactive.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID
        with pytest.raises(LibvirtError) as shot_inactive:
            off.screenshot(conn.new_stream(), 0)
        assert shot_inactive.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID
    finally:
        off.undefine()
    ro = pyvirt.open_read_only(f"qemu:///embed?root={booted.root}")
    try:
        with pytest.raises(LibvirtError) as denied:
            ro.lookup_by_name("con1").open_console(None, ro.new_stream(), 0)
        assert denied.value.get_error_code() == c.VIR_ERR_OPERATION_DENIED
        assert "read only access prevents virDomainOpenConsole" in str(denied.value)
    finally:
        ro.close()


def test_console_stream_events(booted: Booted) -> None:
    """libvirt-python's model: a NONBLOCK stream whose callback runs from virEventRunDefaultImpl."""
    before = (events.queued_delivery(), eventloop._registered)
    libvirt.virEventRegisterDefaultImpl()
    conn: Any = libvirt.open(f"qemu:///embed?root={booted.root}")
    try:
        st = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        conn.lookupByName("con1").openConsole(None, st, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        received = bytearray()
        outbox = bytearray(ECHO)

        def on_event(s: Any, ev: int, _opaque: Any) -> None:
            if ev & libvirt.VIR_STREAM_EVENT_READABLE:
                got = s.recv(1024)
                if isinstance(got, bytes):
                    received.extend(got)
            if ev & libvirt.VIR_STREAM_EVENT_WRITABLE and outbox:
                del outbox[:s.send(bytes(outbox))]
                if not outbox:
                    s.eventUpdateCallback(libvirt.VIR_STREAM_EVENT_READABLE)

        st.eventAddCallback(libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_WRITABLE, on_event, None)
        deadline = time.monotonic() + 90
        resend = time.monotonic() + 5
        while not HELLO.search(bytes(received)):
            assert time.monotonic() < deadline, bytes(received[-300:])
            if time.monotonic() > resend and not outbox:  # typed too early: again
                outbox.extend(ECHO)
                st.eventUpdateCallback(libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_WRITABLE)
                resend = time.monotonic() + 5
            libvirt.virEventRunDefaultImpl()
        st.eventRemoveCallback()
        st.finish()
    finally:
        conn.close()
        events.set_queued_delivery(before[0])
        eventloop._registered = before[1]


def test_screenshot_png(booted: Booted) -> None:
    st = booted.conn.new_stream()
    assert booted.dom.screenshot(st, 0) == "image/png"
    parts: list[bytes] = []
    st.recv_all(lambda _s, data, acc: acc.append(data), parts)
    st.finish()
    png = b"".join(parts)
    assert png[:8] == PNG_MAGIC and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 320 and height >= 200  # the VGA console's size
    assert png.endswith(b"IEND\xaeB`\x82")
    scratch = booted.root / "lib" / "qemu" / "domain-con1"
    assert not list(scratch.glob("qemu.screendump.*"))  # the temporary file is gone
    with pytest.raises(LibvirtError) as screen:
        booted.dom.screenshot(booted.conn.new_stream(), 1)
    assert str(screen.value) == "Requested operation is not valid: no such screen ID"
