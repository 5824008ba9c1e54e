"""QMP monitor connections over the ``qemu.qmp`` library, usable from synchronous code.

One asyncio loop runs in a daemon thread for the whole process; every
:class:`Monitor` lives on it. Commands are called synchronously
(:meth:`Monitor.execute`); QMP events are handed to a callback, called in the
loop's thread. QMP errors become libvirt errors here, at the edge.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable, Coroutine, TypeVar

from qemu.qmp import ExecuteError, QMPClient
from qemu.qmp.error import QMPError

from ... import constants as c
from ...errors import make_error

__all__ = ["Monitor", "EventHandler", "run_coro"]

#: Callback for a QMP event: (event name, data dict, timestamp in seconds).
EventHandler = Callable[[str, dict[str, Any], float], None]
T = TypeVar("T")

# qemu.qmp logs every failed connection attempt at ERROR; we retry and report failures ourselves.
logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _get_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="pyvirt-qmp", daemon=True).start()
            _loop = loop
        return _loop


def run_coro(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run *coro* on the monitor loop and wait for its result."""
    fut = asyncio.run_coroutine_threadsafe(coro, _get_loop())
    try:
        return fut.result(timeout)
    except FutureTimeout:
        fut.cancel()
        raise


class Monitor:
    """A QMP connection to one QEMU process."""

    def __init__(self, path: str, name: str = "qemu") -> None:
        self.path = path
        self.name = name
        self._client = QMPClient(name)
        self._handler: EventHandler | None = None
        self._listener: asyncio.Task[None] | None = None

    def connect(self, timeout: float, alive: Callable[[], bool]) -> None:
        """Connect and negotiate, retrying while QEMU creates its socket.

        Raises OSError/TimeoutError if *alive()* turns false or *timeout* passes.
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
                run_coro(self._client.connect(self.path), timeout=max(0.1, deadline - time.monotonic()))
                break
            except (OSError, QMPError) as exc:
                self._client = QMPClient(self.name)
                if not alive():
                    raise ProcessLookupError("process exited") from exc
                if time.monotonic() > deadline:
                    raise TimeoutError(f"monitor socket did not show up: {exc}") from exc
                time.sleep(0.005)
        run_coro(self._start_listener())

    async def _start_listener(self) -> None:
        self._listener = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        try:
            async for msg in self._client.events:
                event: dict[str, Any] = dict(msg)
                ts = event.get("timestamp", {})
                when = ts.get("seconds", 0) + ts.get("microseconds", 0) / 1e6
                handler = self._handler
                if handler is not None:
                    try:
                        handler(str(event["event"]), dict(event.get("data", {})), when)
                    except Exception:  # noqa: BLE001 - a bad handler must not kill the listener
                        pass
        except asyncio.CancelledError:
            pass

    def set_event_handler(self, handler: EventHandler | None) -> None:
        self._handler = handler

    def execute(self, cmd: str, args: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
        """Run QMP command *cmd*; libvirt's error on failure."""
        try:
            return run_coro(self._client.execute(cmd, args), timeout=timeout)
        except ExecuteError as exc:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                             f"unable to execute QEMU command '{cmd}': {exc}",
                             c.VIR_FROM_QEMU) from exc
        except (QMPError, OSError, EOFError, FutureTimeout) as exc:
            raise make_error(c.VIR_ERR_OPERATION_FAILED,
                             "Unable to read from monitor: Connection reset by peer"
                             if not isinstance(exc, FutureTimeout) else
                             "monitor did not answer in time", c.VIR_FROM_QEMU) from exc

    def send_fd(self, fd: int, name: str) -> None:
        """Hand *fd* to QEMU (SCM_RIGHTS) and name it *name* (``getfd``)."""
        async def _send() -> None:
            self._client.send_fd_scm(fd)
            await self._client.execute("getfd", {"fdname": name})
        try:
            run_coro(_send(), timeout=30.0)
        except ExecuteError as exc:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"unable to execute QEMU command 'getfd': {exc}",
                             c.VIR_FROM_QEMU) from exc
        except (QMPError, OSError, EOFError, FutureTimeout) as exc:
            raise make_error(c.VIR_ERR_OPERATION_FAILED, "Unable to read from monitor: Connection reset by peer",
                             c.VIR_FROM_QEMU) from exc

    def close(self) -> None:
        """Disconnect (safe to call more than once)."""
        async def _close() -> None:
            if self._listener is not None:
                self._listener.cancel()
                self._listener = None
            await self._client.disconnect()
        try:
            run_coro(_close(), timeout=5)
        except Exception:  # noqa: BLE001 - the peer is gone; nothing left to release
            pass
