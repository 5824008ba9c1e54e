"""pyvirt.Stream and the driver-side FDStream, without QEMU: the test driver's screenshot,
libvirt's NONBLOCK semantics, event callbacks on the default event loop, a pty's hang-up."""

from __future__ import annotations

import os
import pty
import struct
import time
from typing import Any, Iterator

import pytest

import pyvirt
import pyvirt.libvirt as libvirt
from pyvirt import constants as c
from pyvirt import eventloop, events
from pyvirt.stream import FDStream, Stream

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def default_loop() -> Iterator[None]:
    """libvirt's default event loop for this test; pyvirt's delivery mode restored after it."""
    before = (events.queued_delivery(), eventloop._registered)
    libvirt.virEventRegisterDefaultImpl()
    yield
    events.set_queued_delivery(before[0])
    eventloop._registered = before[1]


def run_loop_until(pred: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "the event loop never delivered"
        libvirt.virEventRunDefaultImpl()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_screenshot_stream_blocking_and_nonblocking() -> None:
    with pyvirt.open("test:///default") as conn:
        dom = conn.lookup_by_name("test")
        st = conn.new_stream()
        assert isinstance(st, Stream) and st.connect() is conn
        assert dom.screenshot(st, 0) == "image/png"
        parts: list[bytes] = []
        st.recv_all(lambda s, data, acc: acc.append(data), parts)
        assert png_size(b"".join(parts)) == (1, 1)
        assert st.finish() == 0
        with pytest.raises(pyvirt.LibvirtError) as closed:
            st.recv(10)
        assert closed.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID

        nb = conn.new_stream(c.VIR_STREAM_NONBLOCK)
        dom.screenshot(nb, 0)
        data = nb.recv(4)
        assert data == PNG_MAGIC[:4]
        with pytest.raises(pyvirt.LibvirtError):
            nb.send(b"x")  # a screenshot is read-only
        nb.abort()


def test_stream_errors() -> None:
    with pyvirt.open("test:///default") as conn:
        with pytest.raises(pyvirt.LibvirtError) as bad:
            conn.new_stream(0x10)
        assert bad.value.get_error_code() == c.VIR_ERR_INVALID_ARG
        st = conn.new_stream()
        with pytest.raises(pyvirt.LibvirtError) as unattached:
            st.recv(1)
        assert "stream is not open" in str(unattached.value)
        dom = conn.lookup_by_name("test")
        dom.screenshot(st, 0)
        with pytest.raises(pyvirt.LibvirtError) as twice:
            dom.screenshot(st, 0)
        assert twice.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID
        with pytest.raises(pyvirt.LibvirtError) as no_console:
            dom.open_console(None, conn.new_stream(), 0)
        assert no_console.value.get_error_code() == c.VIR_ERR_NO_SUPPORT
        with pytest.raises(pyvirt.LibvirtError) as bad_flags:
            dom.screenshot(conn.new_stream(), 0, 1)
        assert bad_flags.value.get_error_code() == c.VIR_ERR_INVALID_ARG


def test_compat_virstream() -> None:
    conn: Any = libvirt.open("test:///default")
    try:
        st: Any = conn.newStream(0)
        assert type(st).__name__ == "virStream" and type(st).__module__ == "pyvirt.libvirt"
        assert conn.lookupByName("test").screenshot(st, 0, 0) == "image/png"
        got: list[bytes] = []
        st.recvAll(lambda s, buf, o: o.append(buf), got)
        st.finish()
        assert b"".join(got).startswith(PNG_MAGIC)
        nb = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        conn.lookupByName("test").screenshot(nb, 0, 0)
        with pytest.raises(libvirt.libvirtError) as err:
            nb.sendAll(lambda s, n, o: b"x", None)  # a screenshot cannot be written to
        assert err.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID
        assert libvirt.virStorageVol.streamBufSize == 262120
        for name in ("recv", "send", "recvAll", "sendAll", "finish", "abort", "eventAddCallback",
                     "eventUpdateCallback", "eventRemoveCallback", "recvFlags", "sendHole"):
            assert callable(getattr(libvirt.virStream, name)), name
    finally:
        conn.close()


def _pty_pair() -> tuple[int, FDStream]:
    """A pty: the master plays the guest, the FDStream is the host side of its console."""
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    stream = FDStream.open_pty(path)
    os.close(slave)
    return master, stream


def test_fdstream_nonblocking_and_hangup() -> None:
    master, fst = _pty_pair()
    try:
        assert fst.recv(100) == -2
        os.write(master, b"from the guest")
        assert fst.wait(timeout=10)
        assert fst.recv(100) == b"from the guest"  # raw mode: no echo, no line editing
        assert fst.send(b"to the guest") == 12
        assert os.read(master, 100) == b"to the guest"
    finally:
        os.close(master)
    assert fst.wait(timeout=10)
    assert fst.recv(100) == b""  # EIO from a hung-up pty is the end of the stream
    aborted: list[bool] = []
    fst.on_abort(lambda: aborted.append(True))
    fst.abort()
    assert aborted == [True] and fst.closed
    with pytest.raises(pyvirt.LibvirtError) as err:
        fst.recv(1)
    assert "aborted" in str(err.value)


def test_stream_event_callbacks_on_the_default_loop(default_loop: None) -> None:
    master, fst = _pty_pair()
    conn: Any = libvirt.open("test:///default")
    try:
        st = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        st._attach(fst)
        seen: list[tuple[int, bytes | int]] = []

        def on_event(s: Any, ev: int, opaque: list[tuple[int, bytes | int]]) -> None:
            got = s.recv(1024) if ev & libvirt.VIR_STREAM_EVENT_READABLE else b""
            opaque.append((ev, got))
            if ev & libvirt.VIR_STREAM_EVENT_WRITABLE:
                s.send(b"pong\n")
                s.eventUpdateCallback(libvirt.VIR_STREAM_EVENT_READABLE)

        st.eventAddCallback(libvirt.VIR_STREAM_EVENT_READABLE, on_event, seen)
        assert st.recv(10) == -2
        os.write(master, b"ping")
        run_loop_until(lambda: any(got == b"ping" for _ev, got in seen))
        st.eventUpdateCallback(libvirt.VIR_STREAM_EVENT_READABLE | libvirt.VIR_STREAM_EVENT_WRITABLE)
        run_loop_until(lambda: any(ev & libvirt.VIR_STREAM_EVENT_WRITABLE for ev, _g in seen))
        assert os.read(master, 100) == b"pong\n"
        st.eventRemoveCallback()
        with pytest.raises(libvirt.libvirtError):
            st.eventRemoveCallback()
        st.finish()
    finally:
        os.close(master)
        conn.close()


def test_stream_aborted_elsewhere_reports_error(default_loop: None) -> None:
    """A console taken over ends the old stream: its callback gets VIR_STREAM_EVENT_ERROR once."""
    master, fst = _pty_pair()
    try:
        with pyvirt.open("test:///default") as conn:
            st = conn.new_stream(c.VIR_STREAM_NONBLOCK)
            st._attach(fst)
            seen: list[int] = []
            st.event_add_callback(c.VIR_STREAM_EVENT_READABLE, lambda s, ev, acc: acc.append(ev), seen)
            fst.abort()  # what the QEMU driver does to the old session on FORCE
            run_loop_until(lambda: bool(seen))
            assert seen == [c.VIR_STREAM_EVENT_ERROR]
            ticks: list[int] = []
            tick = libvirt.virEventAddTimeout(10, lambda t, o: ticks.append(t), None)  # the loop never idles
            run_loop_until(lambda: len(ticks) >= 5)
            libvirt.virEventRemoveTimeout(tick)
            assert seen == [c.VIR_STREAM_EVENT_ERROR]  # once, not on every iteration
            with pytest.raises(pyvirt.LibvirtError):
                st.recv(10)
            st.event_remove_callback()
    finally:
        os.close(master)


def test_event_callback_needs_the_event_loop() -> None:
    before = eventloop._registered
    eventloop._registered = False
    try:
        with pyvirt.open("test:///default") as conn:
            st = conn.new_stream(c.VIR_STREAM_NONBLOCK)
            conn.lookup_by_name("test").screenshot(st, 0)
            with pytest.raises(pyvirt.LibvirtError) as err:
                st.event_add_callback(c.VIR_STREAM_EVENT_READABLE, lambda *a: None)
            assert "virEventRegisterDefaultImpl" in str(err.value)
    finally:
        eventloop._registered = before
