"""The client end of one libvirt RPC connection.

All socket I/O happens on one private asyncio loop thread per connection (so
TLS needs no locking); callers block on their own thread until the reply with
their serial arrives. Calls may overlap. Asynchronous MESSAGE packets (events)
go to a separate event thread, so callbacks may themselves make calls.
Keepalive PINGs are answered at once; with :meth:`Client.start_keepalive` the
client also PINGs an idle server and drops the connection after *count*
unanswered PINGs, which fails every waiting call instead of hanging.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import queue
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import constants as c
from ..errors import LibvirtError, make_error
from .packet import (
    CALL, CONTINUE, ERROR, FRAME_PREFIX, LEGACY_PAYLOAD_MAX, MESSAGE, OK, REPLY, STREAM, STREAM_HOLE,
    Header, PacketReader, pack_packet,
)
from .protocol import KEEPALIVE_PING, KEEPALIVE_PONG, KEEPALIVE_PROGRAM, Procedure
from .values import decode_error
from .xdr import ProtocolError

__all__ = ["Client", "Endpoint", "Stream", "client_error"]

log = logging.getLogger("pyvirt.rpc")

#: Stream data buffered for a slow reader before the connection stops reading the socket.
STREAM_HIGH_WATER = 8 * 1024 * 1024


def client_error(code: int, detail: str, domain: int = c.VIR_FROM_RPC) -> LibvirtError:
    return make_error(code, detail, domain)


def _closed_error() -> LibvirtError:
    return make_error(c.VIR_ERR_INTERNAL_ERROR, "client socket is closed", c.VIR_FROM_RPC)


def _fix_error(err: LibvirtError) -> LibvirtError:
    """libvirt's client-side rewrites of errors from (older) daemons."""
    if err.code == c.VIR_ERR_RPC and err.message.startswith("unknown procedure"):
        fixed = make_error(c.VIR_ERR_NO_SUPPORT, None, err.domain or c.VIR_FROM_REMOTE, message=err.message)
        fixed.level, fixed.str1, fixed.str2, fixed.str3 = err.level, err.str1, err.str2, err.str3
        fixed.int1, fixed.int2 = err.int1, err.int2
        return fixed
    return err


@dataclass
class Endpoint:
    """A connected transport: a socket (UNIX, TCP, or a socketpair to ssh/ext) plus TLS settings."""

    sock: socket.socket
    description: str
    ssl_context: ssl.SSLContext | None = None
    server_hostname: str | None = None
    process: subprocess.Popen[bytes] | None = None
    stderr_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def process_error(self) -> str:
        """What the helper process (ssh) said on stderr, for error messages."""
        if self.stderr_path is None:
            return ""
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as fh:
                return fh.read().strip()
        except OSError:
            return ""

    def cleanup(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                try:
                    self.process.terminate()
                    self.process.wait(5)
                except (OSError, subprocess.TimeoutExpired):
                    self.process.kill()
                    self.process.wait()
            self.process = None
        if self.stderr_path is not None:
            try:
                os.unlink(self.stderr_path)
            except OSError:
                pass
            self.stderr_path = None


class _Pending:
    """One outstanding call."""

    __slots__ = ("done", "status", "payload", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.status = OK
        self.payload = b""
        self.error: LibvirtError | None = None


class _Protocol(asyncio.Protocol):
    def __init__(self, client: "Client", tls_confirm: bool) -> None:
        self.client = client
        self.reader = PacketReader()
        self.need_confirm = tls_confirm
        self.confirmed = asyncio.get_running_loop().create_future()
        if not tls_confirm:
            self.confirmed.set_result(True)
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.client._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.need_confirm:
            self.need_confirm = False
            ok = data[:1] == b"\x01"
            if not self.confirmed.done():
                self.confirmed.set_result(ok)
            if not ok:
                return
            data = data[1:]
            if not data:
                return
        try:
            packets = self.reader.feed(data)
        except ProtocolError as exc:
            self.client._fail(exc)
            return
        for hdr, payload in packets:
            self.client._packet(hdr, payload)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.confirmed.done():
            self.confirmed.set_result(False)
        said = self.client.endpoint.process_error()  # ssh's complaint, like libvirt's errfd
        text = f"End of file while reading data: {said + ': ' if said else ''}Input/output error"
        detail = make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_RPC, message=text)
        self.client._fail(detail, eof=True)

    def pause_writing(self) -> None:
        self.paused = True
        self.client._can_write.clear()

    def resume_writing(self) -> None:
        self.paused = False
        self.client._can_write.set()


class Stream:
    """A data stream tied to the serial of the call that opened it (upload, download, console)."""

    def __init__(self, client: "Client", proc: Procedure, serial: int) -> None:
        self.client = client
        self.proc = proc
        self.serial = serial
        # data, a hole length (int), an error, or None for the end
        self._chunks: queue.SimpleQueue[bytes | int | LibvirtError | None] = queue.SimpleQueue()
        self._leftover = b""
        self._hole_left = 0
        self._eof = False
        self._finish: _Pending | None = None
        self.closed = False
        self.holes: list[int] = []
        self._queued = 0  # bytes received and not yet read
        self._paused = False
        self._flow_lock = threading.Lock()

    # called on the loop thread
    def _incoming(self, hdr: Header, payload: bytes) -> None:
        if hdr.type == STREAM_HOLE:
            try:
                from .xdr import codec
                length, _flags = codec("virNetStreamHole").decode(payload)
            except ProtocolError:
                return
            self.holes.append(length)
            if length > 0:
                self._chunks.put(length)  # read back as zeros, a bounded piece at a time
            return
        if hdr.status == ERROR:
            try:
                err = _fix_error(decode_error(payload))
            except ProtocolError as exc:
                err = exc
            if self._finish is not None:
                self._finish.error = err
                self._finish.done.set()
            self._chunks.put(err)
            return
        if hdr.status == CONTINUE:
            if self.closed:
                return  # data after our finish/abort: nobody will read it
            with self._flow_lock:
                self._queued += len(payload)
                self._chunks.put(payload)
                pause = self._queued > STREAM_HIGH_WATER and not self._paused
                if pause:
                    self._paused = True  # a slow reader: stop reading the socket until it catches up
            if pause:
                self.client._set_reading(self)
            return
        # status OK: end of data from the server, or the confirmation of our finish/abort
        if self._finish is not None:
            self._finish.done.set()
            return
        self._chunks.put(None)

    def _lost(self, err: LibvirtError) -> None:
        if self._finish is not None and not self._finish.done.is_set():
            self._finish.error = err
            self._finish.done.set()
        self._chunks.put(err)

    # --- caller side ---------------------------------------------------------------
    def send(self, data: bytes) -> int:
        """Send *data* (any size; split into protocol-sized chunks). Returns len(data)."""
        if self.closed:
            raise _closed_error()
        view = memoryview(data)
        for off in range(0, len(view), LEGACY_PAYLOAD_MAX):
            chunk = bytes(view[off:off + LEGACY_PAYLOAD_MAX])
            self.client._send_stream(self.proc, self.serial, CONTINUE, chunk)
        return len(data)

    def send_hole(self, length: int) -> None:
        """Announce *length* bytes of zeros without sending them (sparse upload streams)."""
        if self.closed:
            raise _closed_error()
        from .xdr import codec
        self.client._send_stream(self.proc, self.serial, CONTINUE, codec("virNetStreamHole").encode((length, 0)),
                                 STREAM_HOLE)

    def recv(self, nbytes: int = LEGACY_PAYLOAD_MAX, timeout: float | None = None) -> bytes:
        """Up to *nbytes* of data; b"" at the end of the stream. Raises the server's error."""
        if self._leftover:
            out, self._leftover = self._leftover[:nbytes], self._leftover[nbytes:]
            return out
        if self._hole_left:
            n = min(nbytes, self._hole_left)
            self._hole_left -= n
            return bytes(n)
        if self._eof:
            return b""
        try:
            item = self._chunks.get(timeout=timeout)
        except queue.Empty:
            raise make_error(c.VIR_ERR_OPERATION_TIMEOUT, "timed out waiting for stream data",
                             c.VIR_FROM_STREAMS) from None
        if item is None:
            self._eof = True
            return b""
        if isinstance(item, LibvirtError):
            self._eof = True
            raise item
        if isinstance(item, int):  # a hole of a sparse stream
            self._hole_left = item
            return self.recv(nbytes)
        with self._flow_lock:
            self._queued -= len(item)
            resume = self._paused and self._queued < STREAM_HIGH_WATER // 4
            if resume:
                self._paused = False
        if resume:
            self.client._set_reading(self)
        out, self._leftover = item[:nbytes], item[nbytes:]
        return out

    def recv_all(self) -> bytes:
        """Everything until the end of the stream."""
        parts: list[bytes] = []
        while True:
            chunk = self.recv(1 << 22)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    def finish(self, timeout: float | None = None) -> None:
        """Finish the stream (libvirt's virStreamFinish) and wait for the server's confirmation."""
        self._close(OK, timeout)

    def abort(self, timeout: float | None = None) -> None:
        """Abort the stream (virStreamAbort)."""
        self._close(ERROR, timeout)

    def _close(self, status: int, timeout: float | None) -> None:
        if self.closed:
            return
        self.closed = True
        with self._flow_lock:
            was_paused, self._paused = self._paused, False
        if was_paused:  # whatever is still buffered will not be read: let replies through again
            self.client._set_reading(self)
        pend = _Pending()
        self._finish = pend
        try:
            self.client._send_stream(self.proc, self.serial, status, b"")
            if not self.client._wait(pend, timeout):
                raise make_error(c.VIR_ERR_OPERATION_TIMEOUT, "timed out finishing the stream", c.VIR_FROM_STREAMS)
        finally:
            self.client._streams.pop(self.serial, None)
        if pend.error is not None and status == OK:
            raise pend.error


class Client:
    """One RPC connection. Use :meth:`call` for procedures, :meth:`open_stream` for streams."""

    def __init__(self, endpoint: Endpoint, on_message: Callable[[Header, bytes], None] | None = None,
                 on_close: Callable[[int], None] | None = None, connect_timeout: float = 30.0) -> None:
        self.endpoint = endpoint
        self.on_message = on_message
        self.on_close = on_close
        self._serials = itertools.count(0)  # libvirt's client starts at 0
        self._pending: dict[int, _Pending] = {}
        self._abandoned: set[int] = set()
        self._streams: dict[int, Stream] = {}
        self._lock = threading.Lock()
        self._closed_error: LibvirtError | None = None
        self._transport: asyncio.Transport | None = None
        self._can_write = threading.Event()
        self._can_write.set()
        self._last_rx = time.monotonic()
        self._ka_unanswered = 0
        self._ka_task: asyncio.Task[None] | None = None
        self._events: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._event_thread: threading.Thread | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name=f"pyvirt-rpc {endpoint.description}",
                                         daemon=True)
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._connect(), self.loop)
        try:
            ok = fut.result(connect_timeout)
        except Exception as exc:
            fut.cancel()
            self.close()
            if isinstance(exc, LibvirtError):
                raise
            detail = endpoint.process_error() or str(exc) or type(exc).__name__
            raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_RPC,
                             message=f"Cannot connect to {endpoint.description}: {detail}") from exc
        if not ok:
            self.close()
            if self.endpoint.ssl_context is not None:
                raise make_error(c.VIR_ERR_RPC, None, c.VIR_FROM_RPC,
                                 message="server verification (of our certificate or IP address) failed")
            raise _closed_error()

    # --- loop thread -----------------------------------------------------------------
    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    async def _connect(self) -> bool:
        ep = self.endpoint
        loop = asyncio.get_running_loop()
        ep.sock.setblocking(False)
        factory = lambda: _Protocol(self, ep.ssl_context is not None)  # noqa: E731
        if ep.sock.family == socket.AF_UNIX:
            _tr, proto = await loop.create_unix_connection(factory, sock=ep.sock, ssl=ep.ssl_context,
                                                           server_hostname=ep.server_hostname)
        else:
            _tr, proto = await loop.create_connection(factory, sock=ep.sock, ssl=ep.ssl_context,
                                                      server_hostname=ep.server_hostname,
                                                      ssl_handshake_timeout=30 if ep.ssl_context else None)
        assert isinstance(proto, _Protocol)
        return await proto.confirmed

    def _packet(self, hdr: Header, payload: bytes) -> None:
        self._last_rx = time.monotonic()
        self._ka_unanswered = 0
        if hdr.prog == KEEPALIVE_PROGRAM:
            if hdr.type == MESSAGE and hdr.proc == KEEPALIVE_PING:
                self._write(pack_packet(KEEPALIVE_PROGRAM, 1, KEEPALIVE_PONG, MESSAGE, 0, OK))
            return
        t = hdr.type
        if t == REPLY or t == 5:  # REPLY, REPLY_WITH_FDS
            with self._lock:
                pend = self._pending.pop(hdr.serial, None)
            if pend is None:
                stream = self._streams.get(hdr.serial)
                if stream is not None:
                    stream._incoming(hdr, payload)
                    return
                if hdr.serial in self._abandoned:
                    self._abandoned.discard(hdr.serial)
                    return
                self._fail(make_error(c.VIR_ERR_RPC, None, c.VIR_FROM_RPC,
                                      message=f"no call waiting for reply with prog {hdr.prog} "
                                              f"vers {hdr.vers} serial {hdr.serial}"))
                return
            pend.status = hdr.status
            if t == 5:
                payload = payload[4:]  # fd count; fds themselves are not received
            if hdr.status == ERROR:
                try:
                    pend.error = _fix_error(decode_error(payload))
                except ProtocolError as exc:
                    pend.error = exc
            else:
                pend.payload = payload
            pend.done.set()
        elif t == MESSAGE:
            if self.on_message is not None:
                self._queue_event(self.on_message, (hdr, payload))
        elif t == STREAM or t == STREAM_HOLE:
            stream = self._streams.get(hdr.serial)
            if stream is not None:
                stream._incoming(hdr, payload)
        else:
            self._fail(make_error(c.VIR_ERR_RPC, None, c.VIR_FROM_RPC,
                                  message=f"got unexpected RPC call prog {hdr.prog} vers {hdr.vers} "
                                          f"proc {hdr.proc} type {hdr.type}"))

    def _set_reading(self, stream: Stream) -> None:
        """Make the socket's reading state follow *stream*'s paused flag (read when applied)."""
        def apply() -> None:
            tr = self._transport
            if tr is not None and not tr.is_closing():
                if stream._paused:
                    tr.pause_reading()
                else:
                    tr.resume_reading()
        if threading.current_thread() is self._thread:
            apply()
        else:
            try:
                self.loop.call_soon_threadsafe(apply)
            except RuntimeError:
                pass

    def _write(self, data: bytes) -> None:
        tr = self._transport
        if tr is not None and not tr.is_closing():
            tr.write(data)

    def _fail(self, err: LibvirtError, eof: bool = False) -> None:
        """The connection is dead: fail every waiter (loop thread)."""
        with self._lock:  # the same lock callers register under: no call can slip past
            first = self._closed_error is None
            if first:
                self._closed_error = err
            pending = list(self._pending.values())
            self._pending.clear()
        for pend in pending:
            pend.error = err
            pend.done.set()
        for stream in list(self._streams.values()):
            stream._lost(err)
        self._can_write.set()
        if self._ka_task is not None:
            self._ka_task.cancel()
            self._ka_task = None
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()
        if first and self.on_close is not None:
            reason = c.VIR_CONNECT_CLOSE_REASON_EOF if eof else c.VIR_CONNECT_CLOSE_REASON_ERROR
            if "keepalive" in err.message:
                reason = c.VIR_CONNECT_CLOSE_REASON_KEEPALIVE
            self._queue_event(self.on_close, (reason,))

    def _queue_event(self, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        if self._event_thread is None:
            self._event_thread = threading.Thread(target=self._event_main, daemon=True,
                                                  name=f"pyvirt-rpc-events {self.endpoint.description}")
            self._event_thread.start()
        self._events.put((fn, args))

    def _event_main(self) -> None:
        while True:
            item = self._events.get()
            if item is None:
                return
            fn, args = item
            try:
                fn(*args)
            except Exception:  # a broken callback must not kill event delivery
                log.exception("event handler failed")

    async def _keepalive(self, interval: float, count: int) -> None:
        while True:
            await asyncio.sleep(interval / 4 if interval > 1 else interval)
            if time.monotonic() - self._last_rx < interval * (self._ka_unanswered + 1):
                continue
            if self._ka_unanswered >= count:
                self._fail(make_error(c.VIR_ERR_INTERNAL_ERROR, None, c.VIR_FROM_RPC,
                                      message="connection closed due to keepalive timeout"))
                return
            self._ka_unanswered += 1
            self._write(pack_packet(KEEPALIVE_PROGRAM, 1, KEEPALIVE_PING, MESSAGE, 0, OK))

    # --- caller side -------------------------------------------------------------------
    def start_keepalive(self, interval: float = 5.0, count: int = 5) -> None:
        """PING the server after *interval* idle seconds; give up after *count* lost PONGs."""
        def start() -> None:
            if self._ka_task is None and self._closed_error is None and interval > 0:
                self._ka_task = asyncio.ensure_future(self._keepalive(interval, count))
        self.loop.call_soon_threadsafe(start)

    def stop_keepalive(self) -> None:
        """Stop sending PINGs (PINGs from the peer are still answered)."""
        def stop() -> None:
            if self._ka_task is not None:
                self._ka_task.cancel()
                self._ka_task = None
        try:
            asyncio.run_coroutine_threadsafe(self._run_sync(stop), self.loop).result(10)
        except (RuntimeError, TimeoutError):
            pass

    @staticmethod
    async def _run_sync(fn: Callable[[], None]) -> None:
        fn()

    @property
    def is_open(self) -> bool:
        return self._closed_error is None

    def _send(self, data: bytes) -> None:
        if self._closed_error is not None:
            raise _closed_error()
        try:
            self.loop.call_soon_threadsafe(self._write, data)
        except RuntimeError:  # loop closed
            raise _closed_error() from None

    def _wait(self, pend: _Pending, timeout: float | None) -> bool:
        return pend.done.wait(timeout)

    def call_raw(self, prog: int, vers: int, proc: int, payload: bytes = b"",
                 timeout: float | None = None) -> bytes:
        """Send a CALL and return the reply payload; raise the server's error."""
        pend = _Pending()
        with self._lock:
            if self._closed_error is not None:
                raise _closed_error()
            serial = next(self._serials) & 0xFFFFFFFF
            self._pending[serial] = pend
        self._send(FRAME_PREFIX.pack(28 + len(payload), prog, vers, proc, CALL, serial, OK) + payload)
        if not pend.done.wait(timeout):
            with self._lock:
                if self._pending.pop(serial, None) is not None:
                    self._abandoned.add(serial)
            if not pend.done.is_set():
                raise make_error(c.VIR_ERR_OPERATION_TIMEOUT, None, c.VIR_FROM_RPC,
                                 message=f"operation timed out: no reply to procedure {proc} "
                                         f"within {timeout} seconds")
        if pend.error is not None:
            raise pend.error
        return pend.payload

    def call(self, proc: Procedure, args: Any = None, timeout: float | None = None) -> Any:
        """Call *proc* with *args* (a tuple in wire order, or None) and return the decoded reply."""
        payload = proc.args.encode(args) if proc.args_type else b""
        reply = self.call_raw(proc.prog, proc.vers, proc.number, payload, timeout)
        return proc.ret.decode(reply) if proc.ret_type else None

    def open_stream(self, proc: Procedure, args: Any = None, timeout: float | None = None) -> tuple[Stream, Any]:
        """Call a stream-opening procedure; returns the stream and the decoded reply."""
        pend = _Pending()
        with self._lock:
            if self._closed_error is not None:
                raise _closed_error()
            serial = next(self._serials) & 0xFFFFFFFF
            self._pending[serial] = pend
            stream = Stream(self, proc, serial)
            self._streams[serial] = stream
        payload = proc.args.encode(args) if proc.args_type else b""
        self._send(FRAME_PREFIX.pack(28 + len(payload), proc.prog, proc.vers, proc.number, CALL, serial, OK)
                   + payload)
        if not pend.done.wait(timeout) or pend.error is not None:
            self._streams.pop(serial, None)
            with self._lock:
                self._pending.pop(serial, None)
            if pend.error is not None:
                raise pend.error
            raise make_error(c.VIR_ERR_OPERATION_TIMEOUT, None, c.VIR_FROM_RPC,
                             message="operation timed out opening the stream")
        ret = proc.ret.decode(pend.payload) if proc.ret_type else None
        return stream, ret

    def _send_stream(self, proc: Procedure, serial: int, status: int, data: bytes, type_: int = STREAM) -> None:
        # Simple flow control: wait while the transport's buffer is above its high-water mark.
        while not self._can_write.wait(1.0):
            if self._closed_error is not None:
                break
        self._send(FRAME_PREFIX.pack(28 + len(data), proc.prog, proc.vers, proc.number, type_, serial, status)
                   + data)

    def send_message(self, prog: int, vers: int, proc: int, payload: bytes = b"") -> None:
        """Send an asynchronous MESSAGE packet (no reply)."""
        self._send(pack_packet(prog, vers, proc, MESSAGE, 0, OK, payload))

    def close(self) -> None:
        """Drop the connection and stop its threads (waiting calls fail)."""
        def shut() -> None:
            with self._lock:
                was_open = self._closed_error is None
                if was_open:
                    self._closed_error = _closed_error()
                pending = list(self._pending.values())
                self._pending.clear()
            err = self._closed_error
            assert err is not None
            for pend in pending:
                pend.error = err
                pend.done.set()
            if was_open:
                for stream in list(self._streams.values()):
                    stream._lost(err)
            if self._ka_task is not None:
                self._ka_task.cancel()
            if self._transport is not None:
                self._transport.close()
            else:
                try:
                    self.endpoint.sock.close()
                except OSError:
                    pass
            self.loop.call_later(0.05, self.loop.stop)
        if self.loop.is_closed():
            return
        try:
            self.loop.call_soon_threadsafe(shut)
        except RuntimeError:
            pass
        if threading.current_thread() is not self._thread:
            self._thread.join(5)
        if self._event_thread is not None:
            self._events.put(None)
        self.endpoint.cleanup()
