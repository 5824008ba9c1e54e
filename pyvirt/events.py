"""Event delivery: drivers emit, subscribers receive.

Every driver owns an :class:`EventBus` per shared state and calls
:meth:`EventBus.emit` after a change (never while holding its own lock).
Subscribers are callbacks registered for one family ("domain", "network",
"storage_pool", "node_device", "secret"), one event id (libvirt's
``VIR_*_EVENT_ID_*``) and optionally one object (by UUID bytes or name).

Delivery goes through a *dispatcher*: by default callbacks run at once on the
emitting thread. ``pyvirt.libvirt.virEventRegisterDefaultImpl()`` switches to
libvirt-python's model, where events queue up and
``virEventRunDefaultImpl()`` delivers them.
"""

from __future__ import annotations

import itertools
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["EventBus", "Subscription", "set_queued_delivery", "run_queued_events", "queued_delivery"]


@dataclass(frozen=True)
class Subscription:
    """One registered callback."""

    id: int
    family: str
    event_id: int
    key: object | None  # object identity (UUID bytes or name) or None for all objects
    callback: Callable[..., None]


_ids = itertools.count(1)  # libvirt callback ids are positive
_pending: "queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]]]" = queue.SimpleQueue()
_queued = False


def set_queued_delivery(enabled: bool) -> None:
    """Queue events for :func:`run_queued_events` instead of calling callbacks at once."""
    global _queued
    _queued = enabled


def queued_delivery() -> bool:
    """True when events wait for :func:`run_queued_events`."""
    return _queued


def run_queued_events(timeout: float | None = None) -> int:
    """Deliver queued events; wait up to *timeout* seconds for the first one. Returns how many ran."""
    count = 0
    try:
        cb, args = _pending.get(timeout=timeout) if timeout is None or timeout > 0 else _pending.get_nowait()
    except queue.Empty:
        return 0
    while True:
        cb(*args)
        count += 1
        try:
            cb, args = _pending.get_nowait()
        except queue.Empty:
            return count


def wake_queue() -> None:
    """Make a waiting :func:`run_queued_events` return (used by interrupt calls)."""
    _pending.put((lambda: None, ()))


class EventBus:
    """Subscribers of one driver state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[int, Subscription] = {}

    def subscribe(self, family: str, event_id: int, key: object | None,
                  callback: Callable[..., None]) -> int:
        """Register *callback* and return its id (for :meth:`unsubscribe`)."""
        sub = Subscription(next(_ids), family, event_id, key, callback)
        with self._lock:
            self._subs[sub.id] = sub
        return sub.id

    def unsubscribe(self, sub_id: int) -> bool:
        """Remove a subscription; False when the id is unknown."""
        with self._lock:
            return self._subs.pop(sub_id, None) is not None

    def has(self, sub_id: int) -> bool:
        with self._lock:
            return sub_id in self._subs

    def emit(self, family: str, event_id: int, key: object, ref: object, *args: Any) -> None:
        """Deliver an event about *ref* (whose identity is *key*) to matching subscribers.

        Callbacks get ``(ref, *args)``.
        """
        with self._lock:
            targets = [s.callback for s in self._subs.values()
                       if s.family == family and s.event_id == event_id and (s.key is None or s.key == key)]
        for cb in targets:
            if _queued:
                _pending.put((cb, (ref, *args)))
            else:
                try:
                    cb(ref, *args)
                except Exception:  # a broken callback must not break the driver
                    import logging
                    logging.getLogger("pyvirt.events").exception("event callback failed")
