"""One connected client: frame I/O, request limits, keepalive, event delivery.

Reading and writing happen on the daemon's asyncio loop; calls run on the
server's worker pool. Writes are whole frames from the loop thread only, so
frames never interleave. Driver calls started before a disconnect finish; their
replies are dropped.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from typing import TYPE_CHECKING, Any

from .. import constants as c
from ..errors import LibvirtError, make_error
from ..identity import Identity
from ..rpc import (CALL, CALL_WITH_FDS, CONTINUE, ERROR, KEEPALIVE_PING, KEEPALIVE_PONG, KEEPALIVE_PROGRAM,
                   LEGACY_PAYLOAD_MAX, MESSAGE, OK, STREAM, Header, ProtocolError, encode_error, pack_packet,
                   parse_header, parse_length)
from .listeners import Service

if TYPE_CHECKING:
    from .server import Server

__all__ = ["Client"]

log = logging.getLogger("pyvirt.daemon")

#: bytes queued to a client above which a live stream stops reading its source until they drain
DUPLEX_HIGH_WATER = 256 * 1024


class Duplex:
    """A long-lived two-way stream (a console) served on the loop thread.

    Data from the driver's stream (a non-blocking descriptor) goes to the client as it
    comes, while the client's socket drains; data from the client is written as the
    stream takes it, each packet holding one of the client's request slots until then
    (libvirtd's throttling), so a stalled guest stalls its client, not the daemon.
    """

    def __init__(self, hdr: Header, stream: Any) -> None:
        self.prog, self.vers, self.proc, self.serial = hdr.prog, hdr.vers, hdr.proc, hdr.serial
        self.stream = stream
        self.fd: int = stream.fileno()
        self.closed = False      # ended by us (finish, abort, error, disconnect)
        self.eof = False         # the stream's end was sent to the client
        self.reading = False
        self.writing = False
        self.inbox: collections.deque[list[Any]] = collections.deque()  # [memoryview, holds slot]
        self.finish_hdr: Header | None = None  # a finish waiting for the inbox to drain

    def frame(self, status: int, data: bytes = b"") -> bytes:
        return pack_packet(self.prog, self.vers, self.proc, STREAM, self.serial, status, data)


class Client:
    """Server-side state of one client connection."""

    def __init__(self, server: "Server", service: Service, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, identity: Identity, client_id: int) -> None:
        self.server = server
        self.service = service
        self.reader = reader
        self.writer = writer
        self.identity = identity
        self.id = client_id
        self.read_only = service.read_only
        self.authenticated = service.auth == 0
        self.closed = False
        self.lock = threading.Lock()  # guards driver and the callback tables (worker threads)
        self.driver: Any = None  # the hypervisor connection after CONNECT_OPEN
        self.callbacks: dict[int, tuple[str, int, int]] = {}  # client cb id -> (family, event, driver sub id)
        self.legacy_callbacks: dict[tuple[str, int], int] = {}  # (family, event) -> driver sub id
        # serial -> (proc, sink) of open streams; sink is the driver's upload stream (None: download)
        self.streams: dict[int, tuple[int, Any]] = {}
        self._stream_tail: dict[int, "asyncio.Future[Any]"] = {}
        self.duplex: dict[int, Duplex] = {}  # serial -> live two-way stream (loop thread only)
        self.keepalive_wanted = False
        self.close_callback = False
        self._requests = asyncio.Semaphore(max(1, server.config.max_client_requests))
        self._pending = 0
        self._idle_done = asyncio.Event()
        self._idle_done.set()
        self._last_rx = asyncio.get_running_loop().time()
        self._ka_task: asyncio.Task[None] | None = None
        self._ka_unanswered = 0
        self.deferred: list[bytes] | None = None  # frames held back while a call runs on the loop

    # --- sending -------------------------------------------------------------
    def send(self, frame: bytes) -> None:
        """Queue *frame* from the loop thread."""
        if not self.closed and not self.writer.is_closing():
            self.writer.write(frame)

    def send_threadsafe(self, frame: bytes) -> None:
        """Queue *frame* from any thread (events, replies from workers)."""
        if threading.get_ident() == self.server.loop_thread:  # a call served on the loop itself
            if self.deferred is not None:
                self.deferred.append(frame)
            else:
                self.send(frame)
            return
        try:
            self.server.loop.call_soon_threadsafe(self.send, frame)
        except RuntimeError:  # loop already closed: the daemon is stopping
            pass

    # --- the read loop ----------------------------------------------------------
    async def run(self) -> None:
        """Read frames until EOF, a framing error or shutdown."""
        try:
            while not self.closed:
                await self._requests.acquire()
                frame = await self._read_frame()
                if frame is None:
                    self._requests.release()
                    break
                self._last_rx = self.server.loop.time()
                self._ka_unanswered = 0
                hdr, payload = frame
                if not self._handle(hdr, payload):
                    self._requests.release()
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        except asyncio.CancelledError:
            raise
        except Exception:  # never let one client take the daemon down
            log.exception("client %d: unexpected error", self.id)
        finally:
            await self.close()

    async def _read_frame(self) -> tuple[Header, bytes] | None:
        try:
            head = await self.reader.readexactly(4)
        except asyncio.IncompleteReadError:
            return None
        try:
            size = parse_length(head)
        except ProtocolError as exc:
            log.info("client %d: %s, closing", self.id, exc)
            return None
        return parse_header(await self.reader.readexactly(size))

    def _handle(self, hdr: Header, payload: bytes) -> bool:
        """Route one frame. Returns True when a worker owns the request slot."""
        if hdr.prog == KEEPALIVE_PROGRAM:
            if hdr.type == MESSAGE and hdr.proc == KEEPALIVE_PING:
                self.send(pack_packet(KEEPALIVE_PROGRAM, 1, KEEPALIVE_PONG, MESSAGE, 0, OK))
            return False  # a PONG (or anything else) just proves the peer is alive
        if hdr.type == STREAM:
            dx = self.duplex.get(hdr.serial)
            if dx is not None and dx.proc == hdr.proc:
                return self._duplex_packet(dx, hdr, payload)
            self._stream_packet(hdr, payload)
            return False
        if hdr.type not in (CALL, CALL_WITH_FDS):
            return False  # stray replies and messages: dropped like libvirtd does
        self._pending += 1
        self._idle_done.clear()
        self.server.submit(self, hdr, payload)
        return True

    def _stream_packet(self, hdr: Header, payload: bytes) -> None:
        """Stream data, finish (OK) or abort (ERROR) from the client, for a stream the daemon opened."""
        with self.lock:
            entry = self.streams.get(hdr.serial)
        if entry is None or entry[0] != hdr.proc:
            return  # a stream already closed, or never opened: dropped like libvirtd does
        sink = entry[1]
        if hdr.status == CONTINUE:
            if sink is not None and payload:
                self._stream_step(hdr.serial, sink.send, payload)
            return
        with self.lock:
            self.streams.pop(hdr.serial, None)
        confirm = pack_packet(hdr.prog, hdr.vers, hdr.proc, STREAM, hdr.serial, OK)
        if sink is None:
            self.send(confirm)
            return
        end = sink.finish if hdr.status == OK else getattr(sink, "abort", sink.finish)

        def done(fut: "asyncio.Future[Any]") -> None:
            exc = fut.exception()
            if exc is None or hdr.status != OK:
                self.send(confirm)
            else:  # libvirtd answers a failed finish with STREAM / ERROR
                self.send(pack_packet(hdr.prog, hdr.vers, hdr.proc, STREAM, hdr.serial, ERROR, encode_error(exc)))
        self._stream_step(hdr.serial, end).add_done_callback(done)
        self._stream_tail.pop(hdr.serial, None)

    def _stream_step(self, serial: int, fn: Any, *args: Any) -> "asyncio.Future[Any]":
        """Run *fn* on the worker pool after the previous step of the same stream (data stays in order)."""
        prev = self._stream_tail.get(serial)
        loop = self.server.loop

        async def step() -> Any:
            if prev is not None:
                try:
                    await prev
                except Exception:
                    pass
            return await loop.run_in_executor(self.server.executor, fn, *args)
        fut = asyncio.ensure_future(step())
        self._stream_tail[serial] = fut
        return fut

    # --- live two-way streams (loop thread) -------------------------------------------
    def start_duplex(self, hdr: Header, reply: bytes, stream: Any) -> None:
        """Send the REPLY that opened *stream*, then serve it until either side ends it."""
        if self.closed:
            self._safe(stream.abort)
            return
        self.send(reply)
        dx = Duplex(hdr, stream)
        self.duplex[dx.serial] = dx
        on_abort = getattr(stream, "on_abort", None)
        if on_abort is not None:  # someone else ended it (a console taken over with FORCE)
            loop = self.server.loop

            def aborted() -> None:
                try:
                    loop.call_soon_threadsafe(self._duplex_lost, dx)
                except RuntimeError:  # the daemon is stopping
                    pass
            on_abort(aborted)
        self._duplex_read_on(dx)

    @staticmethod
    def _safe(fn: Any) -> None:
        try:
            fn()
        except Exception:
            log.debug("closing a stream failed", exc_info=True)

    def _duplex_read_on(self, dx: Duplex) -> None:
        if not dx.reading and not dx.closed and not dx.eof:
            dx.reading = True
            self.server.loop.add_reader(dx.fd, self._duplex_readable, dx)

    def _duplex_read_off(self, dx: Duplex) -> None:
        if dx.reading:
            dx.reading = False
            self.server.loop.remove_reader(dx.fd)

    def _duplex_readable(self, dx: Duplex) -> None:
        if dx.closed:
            self._duplex_read_off(dx)
            return
        try:
            data = dx.stream.recv(LEGACY_PAYLOAD_MAX)
        except Exception as exc:
            self._duplex_fail(dx, exc)
            return
        if isinstance(data, int):  # -2: nothing after all
            return
        if not data:  # the end: an empty packet, then wait for the client's finish
            dx.eof = True
            self._duplex_read_off(dx)
            self.send(dx.frame(CONTINUE))
            return
        self.send(dx.frame(CONTINUE, data))
        transport = self.writer.transport
        if transport is not None and transport.get_write_buffer_size() > DUPLEX_HIGH_WATER:
            self._duplex_read_off(dx)  # a slow client: wait until its socket drains
            asyncio.ensure_future(self._duplex_drain(dx))

    async def _duplex_drain(self, dx: Duplex) -> None:
        try:
            await self.writer.drain()
        except (ConnectionError, OSError):
            return
        if self.duplex.get(dx.serial) is dx:
            self._duplex_read_on(dx)

    def _duplex_packet(self, dx: Duplex, hdr: Header, payload: bytes) -> bool:
        """Data, finish (OK) or abort (ERROR) from the client. True: the packet holds a request slot."""
        if hdr.status == CONTINUE:
            if not payload or dx.finish_hdr is not None:
                return False
            self._pending += 1
            self._idle_done.clear()
            dx.inbox.append([memoryview(payload), True])
            self._duplex_flush(dx)
            return True
        if hdr.status == OK:
            dx.finish_hdr = hdr
            self._duplex_flush(dx)  # finishes once everything before it is written
            return False
        self._duplex_end(dx, abort=True)  # libvirtd drops pending data on abort
        self.send(dx.frame(OK))
        return False

    def _duplex_flush(self, dx: Duplex) -> None:
        while dx.inbox and not dx.closed:
            item = dx.inbox[0]
            try:
                n = dx.stream.send(bytes(item[0]))
            except Exception as exc:
                self._duplex_fail(dx, exc)
                return
            if n < 0:  # -2: the guest is not reading; wait until it does
                if not dx.writing:
                    dx.writing = True
                    self.server.loop.add_writer(dx.fd, self._duplex_flush, dx)
                return
            item[0] = item[0][n:]
            if not len(item[0]):
                dx.inbox.popleft()
                if item[1]:
                    self.request_done()
        if dx.writing:
            dx.writing = False
            self.server.loop.remove_writer(dx.fd)
        if dx.finish_hdr is not None and not dx.closed:
            try:
                self._duplex_end(dx, abort=False)
            except Exception as exc:  # libvirtd answers a failed finish with an error
                self.send(dx.frame(ERROR, encode_error(exc)))
                return
            self.send(dx.frame(OK))

    def _duplex_end(self, dx: Duplex, abort: bool) -> None:
        """Stop serving *dx* and close its stream (finish raises the stream's error)."""
        if dx.closed:
            return
        dx.closed = True
        self._duplex_read_off(dx)
        if dx.writing:
            dx.writing = False
            self.server.loop.remove_writer(dx.fd)
        if self.duplex.get(dx.serial) is dx:
            del self.duplex[dx.serial]
        held = sum(1 for item in dx.inbox if item[1])
        dx.inbox.clear()
        for _ in range(held):
            self.request_done()
        if abort:
            self._safe(dx.stream.abort)
        else:
            dx.stream.finish()

    def _duplex_fail(self, dx: Duplex, exc: BaseException) -> None:
        """An I/O error on the stream: the client gets it as a stream error."""
        self._duplex_end(dx, abort=True)
        self.send(dx.frame(ERROR, encode_error(exc)))

    def _duplex_lost(self, dx: Duplex) -> None:
        """The stream was aborted from elsewhere: libvirtd's "stream had I/O failure"."""
        if dx.closed:
            return
        self._duplex_fail(dx, make_error(c.VIR_ERR_RPC, None, c.VIR_FROM_STREAMS, message="stream had I/O failure"))

    def _duplex_close_all(self) -> None:
        """The client left: abort its live streams (the console is free again)."""
        for dx in list(self.duplex.values()):
            self._duplex_end(dx, abort=True)

    def request_done(self) -> None:
        """Called on the loop when a worker finished a call of this client."""
        self._pending -= 1
        if self._pending == 0:
            self._idle_done.set()
        self._requests.release()

    # --- keepalive ----------------------------------------------------------------
    def start_keepalive(self) -> None:
        """Begin sending PINGs (after the client asked for PROGRAM_KEEPALIVE); loop thread."""
        interval = self.server.config.keepalive_interval
        if self._ka_task is None and interval > 0 and not self.closed:
            self._ka_task = asyncio.ensure_future(self._keepalive(interval, self.server.config.keepalive_count))

    async def _keepalive(self, interval: int, count: int) -> None:
        loop = self.server.loop
        while not self.closed:
            await asyncio.sleep(interval)
            if loop.time() - self._last_rx < interval:
                continue
            if count and self._ka_unanswered >= count:
                log.info("client %d: keepalive timeout, closing", self.id)
                await self.close()
                return
            self._ka_unanswered += 1
            self.send(pack_packet(KEEPALIVE_PROGRAM, 1, KEEPALIVE_PING, MESSAGE, 0, OK))

    # --- teardown -----------------------------------------------------------------
    async def close(self) -> None:
        """Disconnect; running calls finish on their workers, then the hypervisor connection closes."""
        if self.closed:
            return
        self.closed = True
        if self._ka_task is not None and self._ka_task is not asyncio.current_task():
            self._ka_task.cancel()
        try:
            self.writer.close()
        except Exception:
            pass
        self._duplex_close_all()
        self.server.client_gone(self)
        await self._idle_done.wait()
        await self.server.loop.run_in_executor(self.server.executor, self.release_driver)

    def release_driver(self) -> None:
        """Deregister events and close the hypervisor connection (worker thread)."""
        with self.lock:
            sinks = [sink for (_proc, sink) in self.streams.values() if sink is not None]
            self.streams.clear()
            driver, self.driver = self.driver, None
            subs = [sub for (_f, _e, sub) in self.callbacks.values()] + list(self.legacy_callbacks.values())
            fams = [f for (f, _e, _s) in self.callbacks.values()] + [f for (f, _e) in self.legacy_callbacks]
            self.callbacks.clear()
            self.legacy_callbacks.clear()
        for sink in sinks:  # uploads the client never finished are aborted, as libvirtd does
            try:
                getattr(sink, "abort", lambda: None)()
            except Exception:
                pass
        if driver is None:
            return
        for family, sub in zip(fams, subs):
            try:
                getattr(driver, f"connect_{family}_event_deregister_any")(sub)
            except Exception:
                pass
        try:
            driver.connect_close()
        except Exception:
            log.exception("client %d: closing the hypervisor connection failed", self.id)
