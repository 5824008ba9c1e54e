"""Event registration over RPC and delivery of the daemon's event MESSAGE packets.

Each local registration is one server-side callback (``*_EVENT_*REGISTER_ANY``
returns its callbackID); event messages carry that callbackID and are decoded
generically from the table: the object handle, then the event's fields in
libvirt-python's callback order (typed parameters as dicts). Callbacks run on
the connection's event thread, or are queued when pyvirt's queued delivery
(libvirt-python's event loop emulation) is on.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from ... import constants as c
from ...errors import make_error
from ...events import EventBus
from ...rpc import REMOTE_PROGRAM, Header, procedure, procedure_by_name, procedures
from ...rpc.protocol import Procedure
from ...rpc.values import params_from_wire

__all__ = ["EventsMixin", "MESSAGE_EVENTS"]

log = logging.getLogger("pyvirt.remote")

# family -> (register procedure, deregister procedure)
_REGISTER = {
    "domain": ("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY"),
    "network": ("CONNECT_NETWORK_EVENT_REGISTER_ANY", "CONNECT_NETWORK_EVENT_DEREGISTER_ANY"),
    "storage_pool": ("CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY", "CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY"),
    "node_device": ("CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY", "CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY"),
    "secret": ("CONNECT_SECRET_EVENT_REGISTER_ANY", "CONNECT_SECRET_EVENT_DEREGISTER_ANY"),
}
_PREFIX = (("DOMAIN_EVENT_CALLBACK_", "domain"), ("DOMAIN_EVENT_", "domain"), ("NETWORK_EVENT_", "network"),
           ("STORAGE_POOL_EVENT_", "storage_pool"), ("NODE_DEVICE_EVENT_", "node_device"),
           ("SECRET_EVENT_", "secret"))


def _message_events() -> dict[int, tuple[str, int]]:
    """REMOTE message procedure number -> (family, event id), for messages carrying a callbackID."""
    out: dict[int, tuple[str, int]] = {}
    for p in procedures("REMOTE"):
        if p.kind != "message" or not p.args_type:
            continue
        cls: Any = p.args.cls
        if cls is None or cls._fields[0] != "callbackID":
            continue
        for prefix, family in _PREFIX:
            if p.name.startswith(prefix):
                const = f"VIR_{family.upper()}_EVENT_ID_{p.name[len(prefix):]}"
                if hasattr(c, const):
                    out[p.number] = (family, getattr(c, const))
                break
    return out


MESSAGE_EVENTS = _message_events()


def _legacy_events() -> dict[int, int]:
    """Old-style domain event messages (no callbackID; servers without REMOTE_EVENT_CALLBACK)."""
    out: dict[int, int] = {}
    for p in procedures("REMOTE"):
        if p.kind != "message" or not p.args_type or not p.name.startswith("DOMAIN_EVENT_") \
                or p.name.startswith("DOMAIN_EVENT_CALLBACK_"):
            continue
        cls: Any = p.args.cls
        const = "VIR_DOMAIN_EVENT_ID_" + p.name[len("DOMAIN_EVENT_"):]
        if cls is not None and cls._fields[0] == "dom" and hasattr(c, const):
            out[p.number] = getattr(c, const)
    return out


LEGACY_EVENTS = _legacy_events()
# Legacy PM messages carry no reason; libvirt's client reports 0.
_LEGACY_ZERO_REASON = {c.VIR_DOMAIN_EVENT_ID_PMWAKEUP, c.VIR_DOMAIN_EVENT_ID_PMSUSPEND,
                       c.VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK}


def _graphics_address(addr: Any) -> dict[str, Any]:
    return {"family": addr.family, "node": addr.node, "service": addr.service}


class _Wrapped(tuple):  # type: ignore[type-arg,unused-ignore]
    _fields = ("callbackID", "msg")


def _with_callback_id(msg: Any) -> Any:
    """A legacy message shaped like a callback one (callbackID -1) for :func:`_event_args`."""
    return _Wrapped((-1, msg))


def _event_args(proc: Procedure, msg: Any) -> tuple[int, Any, list[Any]]:
    """(callbackID, object ref, callback arguments) of a decoded event message."""
    fields = list(zip(msg._fields, msg))
    cb_id = fields[0][1]
    rest = fields[1:]
    if len(rest) == 1 and rest[0][0] == "msg":  # {callbackID; legacy message struct}
        inner = rest[0][1]
        rest = list(zip(inner._fields, inner))
    ref = rest[0][1]
    args: list[Any] = []
    for name, value in rest[1:]:
        if isinstance(value, list) and value and isinstance(value[0], tuple) and len(value[0]) == 2 \
                and isinstance(value[0][1], tuple):
            value = params_from_wire(value)  # typed parameters
        elif name in ("local", "remote") and hasattr(value, "service"):
            value = _graphics_address(value)
        elif name == "subject":
            value = [(s.type, s.name) for s in value]
        args.append(value)
    return cb_id, ref, args


class EventsMixin:
    """Event methods of :class:`~pyvirt.drivers.remote.driver.RemoteDriver`."""

    _call: Callable[..., Any]
    # class defaults: the client can report a close (e.g. a refused TLS handshake) before
    # _init_events has run
    close_reason: int | None = None
    _close_cb: Callable[[int], None] | None = None

    def _init_events(self) -> None:
        self._bus = EventBus()
        self._ev_lock = threading.Lock()
        self._ev_local: dict[int, tuple[str, int]] = {}  # local id -> (family, server callbackID)
        self._ev_server: dict[tuple[str, int], int] = {}  # (family, server callbackID) -> event id
        self._legacy_count: dict[int, int] = {}  # event id -> local callbacks (legacy registration)
        self.close_reason: int | None = None
        self._close_cb: Callable[[int], None] | None = None
        self.callback_events = True

    def _register_any(self, family: str, obj: Any, event_id: int, callback: Any) -> int:
        reg, _ = _REGISTER[family]
        if family == "domain" and not self.callback_events:
            return self._register_legacy(obj, event_id, callback)
        server_id = self._call(procedure_by_name(reg), (event_id, obj)).callbackID
        local = self._bus.subscribe(family, event_id, (family, server_id), callback)
        with self._ev_lock:
            self._ev_local[local] = (family, server_id)
            self._ev_server[(family, server_id)] = event_id
        return local

    def _register_legacy(self, dom: Any, event_id: int, callback: Any) -> int:
        """One server registration per event id (CONNECT_DOMAIN_EVENT_REGISTER_ANY), filtered here."""
        with self._ev_lock:
            first = self._legacy_count.get(event_id, 0) == 0
        if first:
            self._call(procedure_by_name("CONNECT_DOMAIN_EVENT_REGISTER_ANY"), (event_id,))
        local = self._bus.subscribe("domain", event_id, dom.uuid if dom is not None else None, callback)
        with self._ev_lock:
            self._legacy_count[event_id] = self._legacy_count.get(event_id, 0) + 1
            self._ev_local[local] = ("domain", -1 - event_id)  # no server callbackID: mark the event id
        return local

    def _deregister_any(self, family: str, callback_id: int) -> None:
        with self._ev_lock:
            entry = self._ev_local.get(callback_id)
        if entry is not None and entry[0] == "domain" and entry[1] < 0:
            event_id = -1 - entry[1]
            with self._ev_lock:
                self._ev_local.pop(callback_id, None)
                self._legacy_count[event_id] -= 1
                last = self._legacy_count[event_id] == 0
            self._bus.unsubscribe(callback_id)
            if last:
                self._call(procedure_by_name("CONNECT_DOMAIN_EVENT_DEREGISTER_ANY"), (event_id,))
            return
        if entry is None or entry[0] != family:
            raise make_error(c.VIR_ERR_INVALID_ARG, f"callback ID {callback_id} not registered", c.VIR_FROM_REMOTE)
        _, dereg = _REGISTER[family]
        self._call(procedure_by_name(dereg), (entry[1],))
        with self._ev_lock:
            self._ev_local.pop(callback_id, None)
            self._ev_server.pop(entry, None)
        self._bus.unsubscribe(callback_id)

    def _close_events(self) -> None:
        with self._ev_lock:
            ids = list(self._ev_local)
            self._ev_local.clear()
            self._ev_server.clear()
        for local in ids:
            self._bus.unsubscribe(local)

    # called on the client's event thread
    def _on_message(self, hdr: Header, payload: bytes) -> None:
        if hdr.prog != REMOTE_PROGRAM:
            return
        if hdr.proc == procedure_by_name("CONNECT_EVENT_CONNECTION_CLOSED").number:
            try:
                reason = procedure(hdr.prog, hdr.proc).decode_args(payload).reason  # type: ignore[union-attr]
            except Exception:
                return
            self._on_close(reason)
            return
        proc = procedure(hdr.prog, hdr.proc)
        legacy = LEGACY_EVENTS.get(hdr.proc)
        if legacy is not None and proc is not None:
            try:
                msg = proc.decode_args(payload)
            except Exception:
                log.exception("undecodable event message %d", hdr.proc)
                return
            _cb, ref, args = _event_args(proc, _with_callback_id(msg))
            if legacy in _LEGACY_ZERO_REASON and not args:
                args = [0]
            self._bus.emit("domain", legacy, ref.uuid, ref, *args)
            return
        target = MESSAGE_EVENTS.get(hdr.proc)
        if target is None or proc is None:
            log.debug("ignoring event message %d", hdr.proc)
            return
        try:
            cb_id, ref, args = _event_args(proc, proc.decode_args(payload))
        except Exception:
            log.exception("undecodable event message %d", hdr.proc)
            return
        family, event_id = target
        self._bus.emit(family, event_id, (family, cb_id), ref, *args)

    def _on_close(self, reason: int) -> None:
        self.close_reason = reason
        cb = self._close_cb
        if cb is not None:
            cb(reason)

    # --- connection close callbacks -------------------------------------------------------
    def connect_register_close_callback(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(reason)`` (VIR_CONNECT_CLOSE_REASON_*) when the connection dies.

        Like libvirt's client, also asks the daemon (when it offers the close-callback
        feature) to report its own hypervisor connection closing.
        """
        if self._close_cb is not None:
            raise make_error(c.VIR_ERR_OPERATION_INVALID, "A close callback is already registered",
                             c.VIR_FROM_REMOTE)
        if getattr(self, "close_callback", False):
            self._call(procedure_by_name("CONNECT_REGISTER_CLOSE_CALLBACK"))
        self._close_cb = callback

    def connect_unregister_close_callback(self, callback: Callable[[int], None] | None = None) -> None:
        if self._close_cb is None or (callback is not None and callback is not self._close_cb):
            raise make_error(c.VIR_ERR_OPERATION_INVALID, "A different callback was requested",
                             c.VIR_FROM_REMOTE)
        if getattr(self, "close_callback", False):
            self._call(procedure_by_name("CONNECT_UNREGISTER_CLOSE_CALLBACK"))
        self._close_cb = None

    # --- the driver API ---------------------------------------------------------------
    def connect_domain_event_register_any(self, dom: Any, event_id: int, callback: Any) -> int:
        return self._register_any("domain", dom, event_id, callback)

    def connect_domain_event_deregister_any(self, callback_id: int) -> None:
        self._deregister_any("domain", callback_id)

    def connect_network_event_register_any(self, net: Any, event_id: int, callback: Any) -> int:
        return self._register_any("network", net, event_id, callback)

    def connect_network_event_deregister_any(self, callback_id: int) -> None:
        self._deregister_any("network", callback_id)

    def connect_storage_pool_event_register_any(self, pool: Any, event_id: int, callback: Any) -> int:
        return self._register_any("storage_pool", pool, event_id, callback)

    def connect_storage_pool_event_deregister_any(self, callback_id: int) -> None:
        self._deregister_any("storage_pool", callback_id)

    def connect_node_device_event_register_any(self, dev: Any, event_id: int, callback: Any) -> int:
        return self._register_any("node_device", dev, event_id, callback)

    def connect_node_device_event_deregister_any(self, callback_id: int) -> None:
        self._deregister_any("node_device", callback_id)

    def connect_secret_event_register_any(self, secret: Any, event_id: int, callback: Any) -> int:
        return self._register_any("secret", secret, event_id, callback)

    def connect_secret_event_deregister_any(self, callback_id: int) -> None:
        self._deregister_any("secret", callback_id)

