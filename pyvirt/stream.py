"""Data streams: libvirt's ``virStream`` (consoles, screenshots, volume upload/download).

Two layers live here:

* :class:`FDStream` is what a *local* driver hands out (libvirt's virFDStream):
  a non-blocking file descriptor (a guest's pty, a screenshot file) with
  ``recv``/``send`` returning ``-2`` when they would block, ``finish``/``abort``,
  and an abort notification so that a console taken over with FORCE ends the
  old session. The daemon serves these on its event loop.
* :class:`Stream` is the public object (``conn.new_stream(flags)``): it is
  created empty and attached to a driver stream by the call that opens it
  (``dom.open_console(dev, st)``, ``dom.screenshot(st, 0)``, ``vol.upload(st, ...)``),
  like libvirt. It speaks libvirt's semantics whatever is behind it: a local
  FDStream, a remote RPC stream, or plain bytes.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import select
import threading
from typing import TYPE_CHECKING, Any, Callable

from . import constants as c
from .errors import LibvirtError, make_error

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["Stream", "FDStream", "STREAM_BUF_SIZE", "WOULD_BLOCK"]

log = logging.getLogger("pyvirt.stream")

#: libvirt-python's virStorageVol.streamBufSize (what recvAll/sendAll move per call).
STREAM_BUF_SIZE = 262120
#: what recv/send return on a non-blocking stream with nothing to do (libvirt's -2).
WOULD_BLOCK = -2


def _stream_error(code: int, message: str) -> LibvirtError:
    return make_error(code, None, c.VIR_FROM_STREAMS, message=message)


# --- the driver side -------------------------------------------------------------------------
class FDStream:
    """A driver stream over a file descriptor (libvirt's virFDStream).

    The descriptor is non-blocking; :meth:`recv` and :meth:`send` return -2
    when they would block. A pty hung up by QEMU (EIO) reads as end of file.
    """

    def __init__(self, fd: int, path: str = "", readable: bool = True, writable: bool = True) -> None:
        self.fd = fd
        self.path = path
        self.readable = readable
        self.writable = writable
        self.closed = False
        self.aborted = False
        self._lock = threading.Lock()
        self._abort_listeners: list[Callable[[], None]] = []
        self._close_listeners: list[Callable[["FDStream"], None]] = []
        os.set_blocking(fd, False)

    @classmethod
    def open_pty(cls, path: str) -> "FDStream":
        """The host side of a guest's pty in raw mode (virFDStreamOpenPTY)."""
        import tty
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError as exc:
            raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_STREAMS,
                             message=f"Unable to open stream for '{path}': {exc.strerror}") from exc
        try:
            tty.setraw(fd)
        except OSError:
            pass
        return cls(fd, path)

    @classmethod
    def open_file(cls, path: str, unlink: bool = False) -> "FDStream":
        """A read-only stream of a file's contents (virFDStreamOpenFile); *unlink* it once open."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_STREAMS,
                             message=f"Unable to open stream for '{path}': {exc.strerror}") from exc
        if unlink:
            try:
                os.unlink(path)
            except OSError:
                pass
        return cls(fd, path, writable=False)

    def fileno(self) -> int:
        return self.fd

    def recv(self, nbytes: int = STREAM_BUF_SIZE) -> bytes | int:
        """Up to *nbytes*; b"" at the end; -2 when nothing is there yet."""
        if self.closed:
            raise _stream_error(c.VIR_ERR_OPERATION_INVALID,
                                "stream is not open" if not self.aborted else "stream has been aborted")
        try:
            return os.read(self.fd, nbytes)
        except BlockingIOError:
            return WOULD_BLOCK
        except OSError as exc:
            if exc.errno == errno.EIO:  # the other side of the pty is gone: end of stream
                return b""
            raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_STREAMS,
                             message=f"cannot read from stream: {exc.strerror}") from exc

    def send(self, data: bytes) -> int:
        """Write what fits now; the count written, or -2 when nothing fits."""
        if self.closed:
            raise _stream_error(c.VIR_ERR_OPERATION_INVALID,
                                "stream is not open" if not self.aborted else "stream has been aborted")
        if not self.writable:
            raise _stream_error(c.VIR_ERR_OPERATION_INVALID, "stream is not open for writing")
        try:
            return os.write(self.fd, data)
        except BlockingIOError:
            return WOULD_BLOCK
        except OSError as exc:
            raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_STREAMS,
                             message=f"cannot write to stream: {exc.strerror}") from exc

    def wait(self, write: bool = False, timeout: float | None = None) -> bool:
        """Block until the descriptor is readable (or writable); False on timeout or close."""
        if self.closed:
            return False
        try:
            r, w, _x = select.select([] if write else [self.fd], [self.fd] if write else [], [], timeout)
        except (OSError, ValueError):
            return False
        return bool(r or w)

    def on_abort(self, fn: Callable[[], None]) -> None:
        """Call *fn* when someone else aborts this stream (a console taken over)."""
        with self._lock:
            self._abort_listeners.append(fn)

    def on_close(self, fn: Callable[["FDStream"], None]) -> None:
        """Call ``fn(stream)`` once the stream is closed, however (the console registry)."""
        with self._lock:
            self._close_listeners.append(fn)

    def finish(self) -> None:
        self._close(False)

    def abort(self) -> None:
        self._close(True)

    def _close(self, aborted: bool) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self.aborted = aborted
            listeners = list(self._close_listeners)
            abort_listeners = list(self._abort_listeners) if aborted else []
        try:
            os.close(self.fd)
        except OSError:
            pass
        for fn in [functools.partial(f, self) for f in listeners] + abort_listeners:
            try:
                fn()
            except Exception:  # one listener's failure must not hide the close from the others
                log.exception("stream close listener failed")


class _BytesStream:
    """Data a driver returned whole (the test driver's screenshot)."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def recv(self, nbytes: int = STREAM_BUF_SIZE) -> bytes:
        out = self.data[self.pos:self.pos + nbytes]
        self.pos += len(out)
        return out

    def finish(self) -> None:
        pass

    def abort(self) -> None:
        pass


# --- the public object -----------------------------------------------------------------------
class Stream:
    """libvirt-python's ``virStream`` in snake_case: ``conn.new_stream(flags)``.

    Attach it with an opening call (``Domain.open_console``, ``Domain.screenshot``,
    ``StorageVolume.upload``/``download``), then move data with :meth:`recv`/:meth:`send`
    and end it with :meth:`finish` or :meth:`abort`. With ``VIR_STREAM_NONBLOCK`` the
    calls return -2 instead of waiting, and :meth:`event_add_callback` reports
    readiness through the default event loop (``virEventRunDefaultImpl``).
    """

    def __init__(self, conn: "Connection", flags: int = 0) -> None:
        if flags & ~c.VIR_STREAM_NONBLOCK:
            raise make_error(c.VIR_ERR_INVALID_ARG, f"unsupported flags (0x{flags & ~c.VIR_STREAM_NONBLOCK:x}) "
                             "in function virStreamNew")
        self._conn = conn
        self.flags = flags
        self._backend: Any = None
        self._lock = threading.RLock()
        self._cb: tuple[Callable[..., Any], Any] | None = None
        self._cb_events = 0
        self._watch: int | None = None   # event-loop handle (fd backends)
        self._timer: int | None = None   # event-loop timer (other backends)
        self._done = False
        self._errored = False  # aborted by someone else: one ERROR event is due

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {type(self._backend).__name__ if self._backend else 'unattached'}>"

    def connect(self) -> "Connection":
        return self._conn

    # --- attaching (called by the opening APIs) ----------------------------------------
    def _attach(self, backend: Any) -> None:
        if isinstance(backend, (bytes, bytearray, memoryview)):
            backend = _BytesStream(bytes(backend))
        with self._lock:
            if self._backend is not None:
                raise make_error(c.VIR_ERR_OPERATION_INVALID, "stream is already in use", c.VIR_FROM_STREAMS)
            self._backend = backend
            notify = getattr(backend, "set_notify", None)
            if notify is not None:
                notify(self._kick)
            on_abort = getattr(backend, "on_abort", None)
            if on_abort is not None:
                on_abort(self._aborted_elsewhere)

    def _aborted_elsewhere(self) -> None:
        """The driver ended the stream (a console taken over): the callback gets ERROR, as in libvirt."""
        from . import eventloop
        with self._lock:
            if self._done or self._cb is None:
                return
            watch, self._watch = self._watch, None
            self._errored = True
            if self._timer is None:
                self._timer = eventloop.add_timeout(0, self._on_timer, None)
        if watch is not None:
            eventloop.remove_handle(watch)
        self._kick()

    def _be(self) -> Any:
        if self._backend is None:
            raise _stream_error(c.VIR_ERR_OPERATION_INVALID, "stream is not open")
        if self._done:
            raise _stream_error(c.VIR_ERR_OPERATION_INVALID, "stream is closed")
        return self._backend

    @property
    def nonblock(self) -> bool:
        return bool(self.flags & c.VIR_STREAM_NONBLOCK)

    # --- data ----------------------------------------------------------------------------
    def recv(self, nbytes: int = STREAM_BUF_SIZE) -> bytes | int:
        """Up to *nbytes* of data; b"" at the end of the stream; -2 on a NONBLOCK stream with none yet."""
        be = self._be()
        if isinstance(be, FDStream):
            while True:
                got = be.recv(nbytes)
                if got != WOULD_BLOCK or self.nonblock:
                    return got
                be.wait()
        if isinstance(be, _BytesStream):
            return be.recv(nbytes)
        if self.nonblock:
            got = be.recv_nonblock(nbytes) if hasattr(be, "recv_nonblock") else be.recv(nbytes)
            return WOULD_BLOCK if got is None else got
        return bytes(be.recv(nbytes))

    def send(self, data: bytes) -> int:
        """Send *data*; the number of bytes taken (-2: a NONBLOCK stream that cannot take any now)."""
        be = self._be()
        if isinstance(be, _BytesStream):
            raise _stream_error(c.VIR_ERR_OPERATION_INVALID, "stream is not open for writing")
        if isinstance(be, FDStream):
            if self.nonblock:
                return be.send(data)
            view = memoryview(bytes(data))
            done = 0
            while done < len(view):
                n = be.send(bytes(view[done:]))
                if n == WOULD_BLOCK:
                    be.wait(write=True)
                    continue
                done += n
            return done
        return int(be.send(bytes(data)))

    def recv_all(self, handler: Callable[["Stream", bytes, Any], Any], opaque: Any = None) -> None:
        """Receive everything, giving each piece to ``handler(stream, data, opaque)`` (blocking streams)."""
        while True:
            got = self.recv(STREAM_BUF_SIZE)
            if isinstance(got, int):
                raise make_error(c.VIR_ERR_OPERATION_INVALID, None, c.VIR_FROM_STREAMS,
                                 message="cannot use recvAll with nonblocking stream")
            if not got:
                return
            try:
                ret = handler(self, got, opaque)
                if isinstance(ret, int) and ret < 0:
                    raise RuntimeError(f"recvAll handler returned {ret}")
            except BaseException:
                try:
                    self.abort()
                except Exception:
                    pass
                raise

    def send_all(self, handler: Callable[["Stream", int, Any], bytes], opaque: Any = None) -> None:
        """Send what ``handler(stream, nbytes, opaque)`` returns until it returns b"" (blocking streams)."""
        while True:
            try:
                got = handler(self, STREAM_BUF_SIZE, opaque)
            except BaseException:
                try:
                    self.abort()
                except Exception:
                    pass
                raise
            if not got:
                return
            if self.send(got) == WOULD_BLOCK:
                raise make_error(c.VIR_ERR_OPERATION_INVALID, None, c.VIR_FROM_STREAMS,
                                 message="cannot use sendAll with nonblocking stream")

    def send_hole(self, length: int, flags: int = 0) -> int:
        be = self._be()
        if not hasattr(be, "send_hole"):
            raise make_error(c.VIR_ERR_NO_SUPPORT, "virStreamSendHole")
        be.send_hole(length)
        return 0

    # --- the end ---------------------------------------------------------------------------
    def finish(self) -> int:
        """No more data: wait for the other side to confirm everything was processed."""
        be = self._be()
        self._done = True
        self._drop_events()
        be.finish()
        return 0

    def abort(self) -> int:
        """End the transfer early."""
        be = self._be()
        self._done = True
        self._drop_events()
        be.abort()
        return 0

    # --- events ------------------------------------------------------------------------------
    def event_add_callback(self, events: int, cb: Callable[["Stream", int, Any], Any], opaque: Any = None) -> int:
        """Call ``cb(stream, events, opaque)`` from the default event loop when the stream is ready."""
        from . import eventloop
        be = self._be()
        if not getattr(eventloop, "_registered", False):
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, "no event loop is registered; call "
                             "virEventRegisterDefaultImpl() first", c.VIR_FROM_STREAMS)
        with self._lock:
            if self._cb is not None:
                raise _stream_error(c.VIR_ERR_INTERNAL_ERROR, "stream already has a callback registered")
            self._cb = (cb, opaque)
            self._cb_events = events
            if isinstance(be, FDStream):
                self._watch = eventloop.add_handle(be.fd, self._fd_mask(events), self._on_fd, None)
            else:
                self._timer = eventloop.add_timeout(-1, self._on_timer, None)
        self._kick()
        return 0

    def event_update_callback(self, events: int) -> int:
        from . import eventloop
        with self._lock:
            if self._cb is None:
                raise _stream_error(c.VIR_ERR_INTERNAL_ERROR, "stream does not have a callback registered")
            self._cb_events = events
            if self._watch is not None:
                eventloop.update_handle(self._watch, self._fd_mask(events))
        self._kick()
        return 0

    def event_remove_callback(self) -> int:
        with self._lock:
            if self._cb is None:
                raise _stream_error(c.VIR_ERR_INTERNAL_ERROR, "stream does not have a callback registered")
        self._drop_events()
        return 0

    def _drop_events(self) -> None:
        from . import eventloop
        with self._lock:
            self._cb = None
            watch, self._watch = self._watch, None
            timer, self._timer = self._timer, None
        if watch is not None:
            eventloop.remove_handle(watch)
        if timer is not None:
            eventloop.remove_timeout(timer)

    @staticmethod
    def _fd_mask(events: int) -> int:
        return events & (c.VIR_EVENT_HANDLE_READABLE | c.VIR_EVENT_HANDLE_WRITABLE)

    def _on_fd(self, _watch: int, _fd: int, events: int, _opaque: Any) -> None:
        with self._lock:
            cb = self._cb
            wanted = self._cb_events
        if cb is None:
            return
        # VIR_EVENT_HANDLE_* and VIR_STREAM_EVENT_* share their values
        got = events & (wanted | c.VIR_STREAM_EVENT_ERROR | c.VIR_STREAM_EVENT_HANGUP)
        if got:
            cb[0](self, got, cb[1])

    def _ready(self) -> int:
        """Events a non-fd backend could deliver right now."""
        if self._errored:
            return c.VIR_STREAM_EVENT_ERROR
        be = self._backend
        got = 0
        if self._cb_events & c.VIR_STREAM_EVENT_WRITABLE:
            got |= c.VIR_STREAM_EVENT_WRITABLE  # like libvirt's remote streams: always writable
        if self._cb_events & c.VIR_STREAM_EVENT_READABLE:
            pending = getattr(be, "has_pending", None)
            if pending is None or pending():
                got |= c.VIR_STREAM_EVENT_READABLE
        return got

    def _kick(self) -> None:
        """Something changed (data arrived, callback updated): re-check on the event loop."""
        from . import eventloop
        with self._lock:
            if self._timer is not None and self._cb is not None:
                eventloop.update_timeout(self._timer, 0 if self._ready() else -1)

    def _on_timer(self, timer: int, _opaque: Any) -> None:
        from . import eventloop
        with self._lock:
            cb = self._cb
            events = self._ready() if cb is not None else 0
            again = bool(events)
            if events == c.VIR_STREAM_EVENT_ERROR:
                self._errored = again = False  # reported once
            if self._timer is not None:
                eventloop.update_timeout(self._timer, 0 if again else -1)
        if cb is not None and events:
            cb[0](self, events, cb[1])
