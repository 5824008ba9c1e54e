"""A small default event loop with libvirt's virEvent* semantics.

libvirt-python applications call ``virEventRegisterDefaultImpl()`` once and then
``virEventRunDefaultImpl()`` in a loop (often on a thread): each call waits for
file handles, timeouts and queued pyvirt events, then runs their callbacks.
"""

from __future__ import annotations

import itertools
import selectors
import threading
import time
from typing import Any, Callable

from . import constants as c
from . import events

__all__ = ["register_default_impl", "run_default_impl", "add_handle", "update_handle",
           "remove_handle", "add_timeout", "update_timeout", "remove_timeout", "interrupt"]

_lock = threading.Lock()
_ids = itertools.count(1)
# handle id -> [fd, events, callback, opaque]
_handles: dict[int, list[Any]] = {}
# timer id -> [interval_ms, next_due (monotonic s) or None, callback, opaque]
_timers: dict[int, list[Any]] = {}
_registered = False


def register_default_impl() -> None:
    """Switch pyvirt's events to queued delivery through :func:`run_default_impl`."""
    global _registered
    _registered = True
    events.set_queued_delivery(True)


def interrupt() -> None:
    """Wake a :func:`run_default_impl` waiting in another thread."""
    events.wake_queue()


def add_handle(fd: int, event_mask: int, cb: Callable[..., Any], opaque: Any) -> int:
    with _lock:
        hid = next(_ids)
        _handles[hid] = [fd, event_mask, cb, opaque]
    interrupt()
    return hid


def update_handle(watch: int, event_mask: int) -> None:
    with _lock:
        if watch in _handles:
            _handles[watch][1] = event_mask
    interrupt()


def remove_handle(watch: int) -> int:
    with _lock:
        found = _handles.pop(watch, None)
    interrupt()
    return 0 if found is not None else -1


def add_timeout(timeout_ms: int, cb: Callable[..., Any], opaque: Any) -> int:
    """Call ``cb(timer_id, opaque)`` every *timeout_ms* (0: each iteration; -1: disabled)."""
    with _lock:
        tid = next(_ids)
        _timers[tid] = [timeout_ms, _due(timeout_ms), cb, opaque]
    interrupt()
    return tid


def _due(timeout_ms: int) -> float | None:
    return None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0


def update_timeout(timer: int, timeout_ms: int) -> None:
    with _lock:
        if timer in _timers:
            _timers[timer][0] = timeout_ms
            _timers[timer][1] = _due(timeout_ms)
    interrupt()


def remove_timeout(timer: int) -> int:
    with _lock:
        found = _timers.pop(timer, None)
    interrupt()
    return 0 if found is not None else -1


def _mask_to_selector(mask: int) -> int:
    out = 0
    if mask & c.VIR_EVENT_HANDLE_READABLE:
        out |= selectors.EVENT_READ
    if mask & c.VIR_EVENT_HANDLE_WRITABLE:
        out |= selectors.EVENT_WRITE
    return out


def run_default_impl() -> int:
    """Run one iteration: wait for a handle, a timeout or a queued event, then dispatch."""
    with _lock:
        handles = {hid: list(h) for hid, h in _handles.items()}
        timers = {tid: list(t) for tid, t in _timers.items()}
    now = time.monotonic()
    dues = [t[1] for t in timers.values() if t[1] is not None]
    wait = max(0.0, min(dues) - now) if dues else None
    ran = 0
    if handles:
        sel = selectors.DefaultSelector()
        try:
            for hid, (fd, mask, _cb, _op) in handles.items():
                smask = _mask_to_selector(mask)
                if smask:
                    try:
                        sel.register(fd, smask, hid)
                    except (ValueError, KeyError, OSError):
                        continue
            # Poll handles in short slices so queued events are not held up behind them.
            ready = sel.select(0 if events_pending() else (min(wait, 0.05) if wait is not None else 0.05))
        finally:
            sel.close()
        for key, smask in ready:
            hid = key.data
            fd, _mask, cb, opaque = handles[hid]
            vmask = (c.VIR_EVENT_HANDLE_READABLE if smask & selectors.EVENT_READ else 0) | \
                    (c.VIR_EVENT_HANDLE_WRITABLE if smask & selectors.EVENT_WRITE else 0)
            cb(hid, fd, vmask, opaque)
            ran += 1
        ran += events.run_queued_events(0)
    else:
        ran += events.run_queued_events(wait)
    now = time.monotonic()
    for tid, (interval, due, cb, opaque) in timers.items():
        if due is not None and due <= now:
            with _lock:
                if tid in _timers:
                    _timers[tid][1] = _due(_timers[tid][0])
                else:
                    continue
            cb(tid, opaque)
            ran += 1
    return 0


def events_pending() -> bool:
    return not events._pending.empty()

