"""QMP monitor connections over the ``qemu.qmp`` library, usable from synchronous code.

One asyncio loop runs in a daemon thread for the whole process; every
:class:`Monitor` talks to QEMU on it. Commands are called synchronously
(:meth:`Monitor.execute`) from any thread but the loop's own. QMP events are
handed, in order, to a callback that runs on the monitor's own *event thread*
(never the loop's), so a handler may run monitor commands, and a user's event
callback may call back into the driver. QMP errors become libvirt errors here,
at the edge.

Every task the loop runs is awaited or cancelled and awaited when its monitor
closes, and the loop is stopped cleanly at interpreter exit, so asyncio never
has to report a task destroyed while pending; anything the loop does report
goes to :func:`loop_errors` (tests check that it stays empty).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import queue
import threading
import time
import weakref
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Coroutine, TypeVar

from qemu.qmp import ExecuteError, QMPClient, Runstate
from qemu.qmp.error import QMPError

from ... import constants as c
from ...errors import make_error

__all__ = ["Monitor", "EventHandler", "run_coro", "loop_errors", "in_loop_thread"]

#: Callback for a QMP event: (event name, data dict, timestamp in seconds).
EventHandler = Callable[[str, dict[str, Any], float], None]
T = TypeVar("T")

# qemu.qmp logs every failed connection attempt at ERROR; we retry and report failures ourselves.
logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)
log = logging.getLogger(__name__)

_loop: asyncio.AbstractEventLoop | None = None
_loop_thread: threading.Thread | None = None
_loop_lock = threading.Lock()
_loop_errors: list[str] = []
_monitors: "weakref.WeakSet[Monitor]" = weakref.WeakSet()


def _exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    msg = str(context.get("message", "")) + (f": {context['exception']!r}" if "exception" in context else "")
    _loop_errors.append(msg)
    log.debug("QMP event loop: %s", msg)


def _get_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_thread
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            loop.set_exception_handler(_exception_handler)
            _loop_thread = threading.Thread(target=loop.run_forever, name="pyvirt-qmp", daemon=True)
            _loop_thread.start()
            _loop = loop
        return _loop


def loop_errors() -> list[str]:
    """What the monitor loop reported so far (tasks destroyed while pending, unretrieved errors)."""
    return list(_loop_errors)


def in_loop_thread() -> bool:
    return _loop_thread is not None and threading.current_thread() is _loop_thread


def run_coro(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run *coro* on the monitor loop and wait for its result."""
    if in_loop_thread():
        coro.close()
        raise RuntimeError("a QMP command cannot wait on the monitor loop's own thread")
    fut = asyncio.run_coroutine_threadsafe(coro, _get_loop())
    try:
        return fut.result(timeout)
    except FutureTimeout:
        fut.cancel()
        raise


@atexit.register
def _shutdown() -> None:
    """Disconnect every monitor (the guests keep running) and stop the loop."""
    global _loop
    with _loop_lock:
        loop = _loop
    if loop is None:
        return
    for mon in list(_monitors):
        mon.close(timeout=1.0)
    with _loop_lock:
        _loop = None
    loop.call_soon_threadsafe(loop.stop)
    if _loop_thread is not None:
        _loop_thread.join(2.0)
        if not _loop_thread.is_alive():
            loop.close()


class Monitor:
    """A QMP connection to one QEMU process."""

    def __init__(self, path: str, name: str = "qemu") -> None:
        self.path = path
        self.name = name
        self._client: QMPClient | None = None
        self._handler: EventHandler | None = None
        self._listener: asyncio.Task[None] | None = None
        self._events: "queue.SimpleQueue[tuple[str, dict[str, Any], float] | Callable[[], None] | None]" = \
            queue.SimpleQueue()
        self._event_thread: threading.Thread | None = None
        self._closed = False
        self._close_lock = threading.Lock()

    # --- connecting -------------------------------------------------------
    def connect(self, timeout: float, alive: Callable[[], bool]) -> None:
        """Connect and negotiate, retrying while QEMU creates its socket.

        Raises ProcessLookupError when *alive()* turns false, TimeoutError when *timeout* passes.
        """
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.path):  # connecting earlier only logs errors
            if not alive():
                raise ProcessLookupError("process exited")
            if time.monotonic() > deadline:
                raise TimeoutError("monitor socket did not show up")
            time.sleep(0.005)
        while True:
            try:
                run_coro(self._connect_once(), timeout=max(0.5, deadline - time.monotonic()) + 1.0)
                break
            except (OSError, QMPError, EOFError) as exc:
                if self._client is not None:
                    break  # it connected just as our wait for it timed out
                if not alive():
                    raise ProcessLookupError("process exited") from exc
                if time.monotonic() > deadline:
                    raise TimeoutError(f"monitor socket did not show up: {exc}") from exc
                time.sleep(0.005)
        _monitors.add(self)
        self._event_thread = threading.Thread(target=self._dispatch, name=f"qmp-events-{self.name}",
                                              daemon=True)
        self._event_thread.start()

    async def _connect_once(self) -> None:
        """One attempt: a fresh client; on any failure it is fully torn down before we return."""
        client = QMPClient(self.name)
        try:
            await client.connect(self.path)
        except BaseException:
            await _quiet_disconnect(client)
            raise
        self._client = client
        self._listener = asyncio.get_running_loop().create_task(self._listen(client))

    async def _listen(self, client: QMPClient) -> None:
        """Move QMP events to the event thread's queue until the connection ends."""
        try:
            async for msg in client.events:
                event: dict[str, Any] = dict(msg)
                ts = event.get("timestamp", {})
                when = ts.get("seconds", 0) + ts.get("microseconds", 0) / 1e6
                self._events.put((str(event["event"]), dict(event.get("data", {})), when))
        except asyncio.CancelledError:
            pass

    def _dispatch(self) -> None:
        while True:
            item = self._events.get()
            if item is None:
                return
            try:
                if callable(item):
                    item()
                elif self._handler is not None:
                    self._handler(*item)
            except Exception:  # noqa: BLE001 - a bad handler must not stop the events
                log.exception("QMP event handler failed for %s", self.name)

    def set_event_handler(self, handler: EventHandler | None) -> None:
        self._handler = handler

    def on_event_thread(self) -> bool:
        """Whether the caller runs on this monitor's event thread."""
        return threading.current_thread() is self._event_thread

    def call_after_events(self, func: Callable[[], None]) -> bool:
        """Run *func* on the event thread once the events received so far are handled.

        False (and *func* not queued) when the event thread is gone.
        """
        thread = self._event_thread
        if thread is None or not thread.is_alive():
            return False
        self._events.put(func)
        return True

    # --- commands ---------------------------------------------------------
    def execute(self, cmd: str, args: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
        """Run QMP command *cmd*; libvirt's error on failure."""
        client = self._client
        if client is None or self._closed:
            raise make_error(c.VIR_ERR_OPERATION_INVALID, "domain is not running", c.VIR_FROM_QEMU)
        try:
            return run_coro(client.execute(cmd, args), timeout=timeout)
        except ExecuteError as exc:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                             f"unable to execute QEMU command '{cmd}': {exc}",
                             c.VIR_FROM_QEMU) from exc
        except FutureTimeout as exc:
            raise make_error(c.VIR_ERR_OPERATION_FAILED, "monitor did not answer in time",
                             c.VIR_FROM_QEMU) from exc
        except (QMPError, OSError, EOFError) as exc:
            raise make_error(c.VIR_ERR_OPERATION_FAILED,
                             "Unable to read from monitor: Connection reset by peer",
                             c.VIR_FROM_QEMU) from exc

    def send_fd(self, fd: int, name: str) -> None:
        """Hand *fd* to QEMU (SCM_RIGHTS) and name it *name* (``getfd``)."""
        client = self._client
        if client is None or self._closed:
            raise make_error(c.VIR_ERR_OPERATION_INVALID, "domain is not running", c.VIR_FROM_QEMU)

        async def _send() -> None:
            client.send_fd_scm(fd)
            await client.execute("getfd", {"fdname": name})
        try:
            run_coro(_send(), timeout=30.0)
        except ExecuteError as exc:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"unable to execute QEMU command 'getfd': {exc}",
                             c.VIR_FROM_QEMU) from exc
        except (QMPError, OSError, EOFError) as exc:
            raise make_error(c.VIR_ERR_OPERATION_FAILED, "Unable to read from monitor: Connection reset by peer",
                             c.VIR_FROM_QEMU) from exc

    # --- closing ----------------------------------------------------------
    def close(self, drain: bool = False, timeout: float = 5.0) -> None:
        """Disconnect (safe to call more than once, from any thread but the loop's).

        With *drain* (QEMU has exited), the events QEMU sent before its end are read
        to the end of the stream and handled before this returns (unless called
        from the event thread itself, which then handles them right after).
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        _monitors.discard(self)
        try:
            run_coro(self._close_async(drain), timeout=timeout)
        except Exception:  # noqa: BLE001 - the peer is gone; nothing left to release
            pass
        thread = self._event_thread
        self._events.put(None)
        if thread is not None and drain and thread is not threading.current_thread():
            thread.join(timeout)

    async def _close_async(self, drain: bool) -> None:
        listener, self._listener = self._listener, None
        client, self._client = self._client, None
        if listener is not None:
            if drain and client is not None:
                # QEMU is gone: once the reader has met the end of the stream and the
                # listener has passed on everything before it, nothing more can come.
                end = time.monotonic() + 1.0
                while time.monotonic() < end and not (client.runstate != Runstate.RUNNING
                                                      and client.events.empty()):
                    await asyncio.sleep(0.002)
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        if client is not None:
            await _quiet_disconnect(client)


async def _quiet_disconnect(client: QMPClient) -> None:
    """Disconnect and wait for every task of *client*; its errors are expected (QEMU went away)."""
    try:
        await client.disconnect()
    except Exception:  # noqa: BLE001 - EOF or a reset from a QEMU that exited
        pass
