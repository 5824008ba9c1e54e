"""Event registration and delivery: driver callbacks become MESSAGE packets.

The message procedure for an event is found by name in the procedure table
(``DOMAIN_EVENT_CALLBACK_<ID>`` for callback-style registrations, the legacy
``DOMAIN_EVENT_<ID>`` for the old ``REGISTER_ANY`` calls); its struct is
filled with the callback id, the object handle and the event's arguments in
order.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from .. import constants as c
from ..errors import LibvirtError, make_error
from . import wire
from .client import Client

__all__ = ["register_or_deregister"]

log = logging.getLogger("pyvirt.daemon")

# family -> (constants prefix of its event ids, prefix of its message procedures)
_FAMILIES = {
    "DOMAIN": ("domain", "VIR_DOMAIN_EVENT_ID_", "DOMAIN_EVENT_"),
    "NETWORK": ("network", "VIR_NETWORK_EVENT_ID_", "NETWORK_EVENT_"),
    "STORAGE_POOL": ("storage_pool", "VIR_STORAGE_POOL_EVENT_ID_", "STORAGE_POOL_EVENT_"),
    "NODE_DEVICE": ("node_device", "VIR_NODE_DEVICE_EVENT_ID_", "NODE_DEVICE_EVENT_"),
    "SECRET": ("secret", "VIR_SECRET_EVENT_ID_", "SECRET_EVENT_"),
}


def _event_names(prefix: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for name in dir(c):
        if name.startswith(prefix) and name != prefix + "LAST":
            out.setdefault(getattr(c, name), name[len(prefix):])
    return out


_NAMES = {fam: _event_names(p) for fam, (_f, p, _m) in _FAMILIES.items()}


def _message_proc(family: str, event_id: int, callback_style: bool) -> str | None:
    """The MESSAGE procedure that carries *event_id* of *family*."""
    name = _NAMES[family].get(event_id)
    if name is None:
        return None
    base = _FAMILIES[family][2]
    candidates = ([f"{base}CALLBACK_{name}", f"{base}{name}"] if callback_style else [f"{base}{name}"])
    for cand in candidates:
        spec = wire.PROC_BY_NAME.get(cand)
        if spec is None or spec.kind != "message" or spec.args_type is None:
            continue
        has_cb = any(f == "callbackID" for f, _t in wire._struct_fields(spec.args_type))
        if has_cb == callback_style:
            return cand
    return None


def _fill(type_name: str, values: list[Any], callback_id: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fname, ftype in wire._struct_fields(type_name):
        if fname == "callbackID" and callback_id is not None:
            out[fname] = callback_id
        elif fname == "msg" and isinstance(ftype, str):
            out[fname] = _fill(ftype, values, None)
        else:
            out[fname] = wire.from_driver(ftype, values.pop(0) if values else None)
    return out


def _deliver(client: Client, proc_name: str, callback_id: int | None) -> Callable[..., None]:
    spec = wire.PROC_BY_NAME[proc_name]
    assert spec.args_type is not None
    args_type = spec.args_type

    def callback(ref: Any, *args: Any) -> None:
        if client.closed:
            return
        try:
            frame = wire.message_frame(proc_name, _fill(args_type, [ref, *args], callback_id))
        except Exception:
            log.exception("cannot encode %s event", proc_name)
            return
        client.send_threadsafe(frame)

    return callback


def register_or_deregister(client: Client, driver: Any, spec: wire.ProcSpec, args: dict[str, Any]) -> Any:
    """Serve the *_EVENT_(CALLBACK_)REGISTER_ANY / DEREGISTER_ANY calls."""
    name = spec.name  # e.g. CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY
    family = name[len("CONNECT_"):name.index("_EVENT_")]
    if family not in _FAMILIES:
        raise make_error(c.VIR_ERR_NO_SUPPORT, name)
    drv_family = _FAMILIES[family][0]
    deregister = "_DEREGISTER_" in name
    callback_style = family != "DOMAIN" or "_CALLBACK_" in name
    if deregister:
        if callback_style:
            cb_id = args["callbackID"]
            with client.lock:
                entry = client.callbacks.pop(cb_id, None)
            if entry is None:
                raise make_error(c.VIR_ERR_INVALID_ARG, f"callback {cb_id} not registered", c.VIR_FROM_RPC)
            getattr(driver, f"connect_{drv_family}_event_deregister_any")(entry[2])
        else:
            key = (drv_family, args["eventID"])
            with client.lock:
                sub = client.legacy_callbacks.pop(key, None)
            if sub is None:
                raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"domain event {args['eventID']} not registered",
                                 c.VIR_FROM_RPC)
            getattr(driver, f"connect_{drv_family}_event_deregister_any")(sub)
        return None

    event_id = args["eventID"]
    if event_id < 0 or event_id not in _NAMES[family]:
        raise make_error(c.VIR_ERR_INVALID_ARG, f"unsupported event ID {event_id}", c.VIR_FROM_RPC)
    proc = _message_proc(family, event_id, callback_style)
    if proc is None:
        raise make_error(c.VIR_ERR_NO_SUPPORT, f"event {event_id} of {family.lower()} objects")
    obj = None
    obj_fields = [(f, t) for f, t in wire.arg_fields(spec) if f != "eventID"]
    if obj_fields:
        obj = wire.to_driver(obj_fields[0][1], args[obj_fields[0][0]])
    register = getattr(driver, f"connect_{drv_family}_event_register_any")
    if not callback_style:
        key = (drv_family, event_id)
        with client.lock:
            if key in client.legacy_callbacks:
                raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"domain event {event_id} already registered",
                                 c.VIR_FROM_RPC)
        sub = register(obj, event_id, _deliver(client, proc, None))
        with client.lock:
            client.legacy_callbacks[key] = sub
        return None
    # The callback id must be known before the driver gives its subscription id: use a slot.
    holder: dict[str, int] = {}

    def late(ref: Any, *a: Any) -> None:
        cb = holder.get("cb")
        if cb is not None:
            _deliver(client, proc, cb)(ref, *a)

    sub = register(obj, event_id, late)
    with client.lock:
        client.callbacks[sub] = (drv_family, event_id, sub)
    holder["cb"] = sub
    return {"callbackID": sub}


def old_style(client: Client, driver: Any, spec: wire.ProcSpec) -> dict[str, Any]:
    """CONNECT_DOMAIN_EVENT_(DE)REGISTER: the oldest API, lifecycle events as DOMAIN_EVENT_LIFECYCLE."""
    register = spec.name.endswith("_REGISTER")
    fake = wire.PROC_BY_NAME["CONNECT_DOMAIN_EVENT_REGISTER_ANY" if register
                              else "CONNECT_DOMAIN_EVENT_DEREGISTER_ANY"]
    try:
        register_or_deregister(client, driver, fake, {"eventID": c.VIR_DOMAIN_EVENT_ID_LIFECYCLE})
    except LibvirtError:
        if register:
            raise
    return {"cb_registered": 1 if register else 0}
