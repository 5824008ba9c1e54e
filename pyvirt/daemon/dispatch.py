"""Call dispatch: REMOTE (and QEMU, LXC) procedures -> driver methods, from the procedure table.

Every procedure is served generically: decode the args struct, turn
handles into the driver's Ref tuples, call ``driver.<proc name in snake_case>``
with the fields in order, and build the ret struct from the result. Only what
must be special is special (opening, auth, features, events, close, list
calls with ``need_results``/``maxnames``, typed parameters).
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from .. import constants as c
from .. import drivers as _drivers
from ..drivers.base import NodeDeviceRef
from ..errors import LibvirtError, make_error
from ..rpc import CALL, CALL_WITH_FDS, CONTINUE, LEGACY_PAYLOAD_MAX, OK, STREAM, Header, pack_packet
from ..uri import parse_uri
from . import events, shapes, wire
from .client import Client
from .config import AUTH_NONE, AUTH_POLKIT

__all__ = ["dispatch_call"]

log = logging.getLogger("pyvirt.daemon")

# Procedures allowed before authentication (remote_daemon.c), and before CONNECT_OPEN.
_AUTH_PROCS = frozenset({66, 67, 68, 69, 70})


def api_error_domain(proc_name: str) -> int:
    """VIR_FROM_* of libvirt's public API behind *proc_name* (the source file it lives in)."""
    n = proc_name
    if n in ("CONNECT_OPEN", "CONNECT_CLOSE") or "_QEMU_" in n or "_LXC_" in n:
        return c.VIR_FROM_NONE  # libvirt.c, libvirt-qemu.c, libvirt-lxc.c
    if "SNAPSHOT" in n:
        return c.VIR_FROM_DOMAIN_SNAPSHOT
    if "CHECKPOINT" in n:
        return c.VIR_FROM_DOMAIN_CHECKPOINT
    if n.startswith("DOMAIN_"):
        return c.VIR_FROM_DOMAIN
    for word, dom in (("NWFILTER", c.VIR_FROM_NWFILTER), ("NETWORK", c.VIR_FROM_NETWORK),
                      ("STORAGE", c.VIR_FROM_STORAGE), ("INTERFACE", c.VIR_FROM_INTERFACE),
                      ("SECRET", c.VIR_FROM_SECRET), ("NODE_DEVICE", c.VIR_FROM_NODEDEV),
                      ("DEVICES", c.VIR_FROM_NODEDEV)):
        if word in n:
            return dom
    return c.VIR_FROM_DOMAIN  # libvirt-host.c and libvirt-domain.c both report as DOMAIN


# How libvirt capitalises words in its API names (virNWFilterLookupByName, virDomainFSFreeze...).
_API_WORDS = {"nwfilter": "NWFilter", "nwfilters": "NWFilters", "pm": "PM", "dhcp": "DHCP", "fsinfo": "FSInfo",
              "fs": "FS", "fstrim": "FSTrim", "fsfreeze": "FSFreeze", "fsthaw": "FSThaw", "iothread": "IOThread",
              "uri": "URI", "scsi": "SCSI", "wwn": "WWN", "sev": "SEV", "xml": "XML", "uuid": "UUID", "id": "ID",
              "cpu": "CPU", "mac": "MAC", "os": "OS", "nmi": "NMI", "ssh": "SSH", "fd": "FD"}


def libvirt_api_name(proc_name: str) -> str:
    """The public API behind a procedure: ``NETWORK_GET_DHCP_LEASES`` -> ``virNetworkGetDHCPLeases``."""
    return "vir" + "".join(_API_WORDS.get(w, w.title()) for w in proc_name.lower().split("_"))


def rpc_error(message: str, code: int = c.VIR_ERR_RPC) -> LibvirtError:
    """An error from the RPC layer itself (VIR_FROM_RPC), worded by the caller."""
    return make_error(code, None, c.VIR_FROM_RPC, message=message)


def _error_reply(hdr: Header, err: LibvirtError) -> bytes:
    return wire.reply_error(hdr, err)


def dispatch_call(client: Client, hdr: Header, payload: bytes) -> bytes | None:
    """Serve one CALL packet on a worker thread; the reply frame, or None for no reply."""
    try:
        if not wire.is_remote_program(hdr.prog, hdr.vers):
            raise rpc_error(f"Cannot find program {hdr.prog} version {hdr.vers}")
        if hdr.status != OK:
            raise rpc_error(f"Unexpected message status {hdr.status}")
        if hdr.type == CALL_WITH_FDS:
            raise rpc_error("file descriptor passing is not supported by pyvirtd")
        assert hdr.type == CALL
        spec = wire.procedure(hdr.proc, hdr.prog)
        if spec is None:
            raise rpc_error(f"unknown procedure: {hdr.proc}")
        if not client.authenticated and (spec.program != "REMOTE" or hdr.proc not in _AUTH_PROCS):
            raise rpc_error("authentication required")
        try:
            args = wire.decode_args(spec, payload)
        except Exception as exc:  # malformed XDR from the peer
            log.info("client %d: bad payload for proc %d: %s", client.id, hdr.proc, exc)
            raise rpc_error("Unable to decode message payload") from None
        try:
            ret = _serve(client, spec, args)
        except LibvirtError as err:
            if err.code == c.VIR_ERR_NO_SUPPORT and err.domain in (None, c.VIR_FROM_NONE):
                # libvirt's API layer reports a missing driver entry from its own file's domain
                err.domain = api_error_domain(wire.api_key(spec))
            raise
        if isinstance(ret, shapes.StreamOut):
            return _stream_out(client, hdr, spec, ret)
        if isinstance(ret, shapes.StreamDuplex):
            _stream_duplex(client, hdr, spec, ret)
            return None
        if isinstance(ret, shapes.StreamIn):
            with client.lock:
                client.streams[hdr.serial] = (hdr.proc, ret.sink)
            return wire.reply_ok(hdr, spec, ret.ret)
        return wire.reply_ok(hdr, spec, ret)
    except LibvirtError as err:
        return _error_reply(hdr, err)
    except Exception as exc:  # a driver bug must not kill the connection
        log.exception("client %d: proc %d failed", client.id, hdr.proc)
        return _error_reply(hdr, make_error(c.VIR_ERR_INTERNAL_ERROR, f"pyvirtd: {type(exc).__name__}: {exc}",
                                            c.VIR_FROM_RPC))


def _stream_out(client: Client, hdr: Header, spec: wire.ProcSpec, out: shapes.StreamOut) -> bytes:
    """The reply, the data as STREAM/CONTINUE packets and the empty one that means EOF."""
    with client.lock:
        client.streams[hdr.serial] = (hdr.proc, None)
    frames = [wire.reply_ok(hdr, spec, out.ret)]
    for i in range(0, len(out.data), LEGACY_PAYLOAD_MAX):
        frames.append(pack_packet(hdr.prog, hdr.vers, hdr.proc, STREAM, hdr.serial, CONTINUE,
                                  out.data[i:i + LEGACY_PAYLOAD_MAX]))
    frames.append(pack_packet(hdr.prog, hdr.vers, hdr.proc, STREAM, hdr.serial, CONTINUE))
    return b"".join(frames)


def _stream_duplex(client: Client, hdr: Header, spec: wire.ProcSpec, out: shapes.StreamDuplex) -> None:
    """Hand the stream to the client's loop, which sends the REPLY and then serves the stream.

    No reply goes back through the normal path: the loop must send the REPLY before the
    stream's first data, and only the loop knows when that is.
    """
    stream = out.stream
    if not callable(getattr(stream, "fileno", None)):
        getattr(stream, "abort", lambda: None)()
        raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"pyvirtd cannot serve a {type(stream).__name__} as a live "
                         "stream", c.VIR_FROM_STREAMS)
    reply = wire.reply_ok(hdr, spec, out.ret)
    try:
        client.server.loop.call_soon_threadsafe(client.start_duplex, hdr, reply, stream)
    except RuntimeError:  # the daemon is stopping
        stream.abort()


def _serve(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> Any:
    remote = spec.program == "REMOTE"
    special = _SPECIAL.get(spec.number) if remote else None
    if special is not None:
        return special(client, spec, args)
    driver = _driver(client)
    if remote and spec.name.endswith("REGISTER_ANY") and "_EVENT_" in spec.name:
        return events.register_or_deregister(client, driver, spec, args)
    if spec.name in ("CONNECT_DOMAIN_EVENT_REGISTER", "CONNECT_DOMAIN_EVENT_DEREGISTER"):
        return events.old_style(client, driver, spec)
    if client.read_only:
        if spec.name == "DOMAIN_GET_XML_DESC" and args["flags"] & c.VIR_DOMAIN_XML_SECURE:
            raise make_error(c.VIR_ERR_OPERATION_DENIED, None, c.VIR_FROM_DOMAIN,
                             message="operation forbidden: virDomainGetXMLDesc with secure flag")
        if wire.is_write(spec, args):
            raise read_only_error(spec)
    adapter = shapes.ADAPTERS.get(spec.name) if remote else None
    if adapter is not None:
        return adapter(driver, args)
    return call_generic(driver, spec, args)


def read_only_error(spec: wire.ProcSpec) -> LibvirtError:
    """libvirt's refusal of a changing call on a read-only connection."""
    api = libvirt_api_name(wire.api_key(spec))
    return make_error(c.VIR_ERR_OPERATION_DENIED, f"read only access prevents {api}",
                      api_error_domain(wire.api_key(spec)))


def _driver(client: Client) -> Any:
    driver = client.driver
    if driver is None:
        raise make_error(c.VIR_ERR_INTERNAL_ERROR, "hypervisor connection not open", c.VIR_FROM_RPC)
    return driver


# --- the generic path ---------------------------------------------------------------
def _has(driver: Any, name: str) -> bool:
    return callable(getattr(type(driver), name, None))


def _method(driver: Any, spec: wire.ProcSpec, argv: list[Any]) -> tuple[Callable[..., Any], list[Any]]:
    """The driver method for *spec*, falling back between the plain and ``_flags`` variants."""
    name = shapes.METHOD_NAMES.get(spec.name, spec.method)
    if _has(driver, name):
        return getattr(driver, name), argv
    if _has(driver, name + "_flags"):
        return getattr(driver, name + "_flags"), argv + [0]
    if name.endswith("_flags") and _has(driver, name[:-6]) and argv and argv[-1] == 0:
        return getattr(driver, name[:-6]), argv[:-1]
    # what libvirt's API layer says when the driver table has no entry
    key = wire.api_key(spec)
    raise make_error(c.VIR_ERR_NO_SUPPORT, libvirt_api_name(key), api_error_domain(key))


def call_generic(driver: Any, spec: wire.ProcSpec, args: dict[str, Any]) -> Any:
    """Call ``driver.<snake name>(*args)`` and shape the result as the ret struct."""
    fields = wire.arg_fields(spec)
    # node devices travel by name; the driver takes a NodeDeviceRef (except for the lookup itself)
    dev_by_name = spec.name.startswith("NODE_DEVICE_") and "LOOKUP" not in spec.name and "CREATE" not in \
        spec.name and "DEFINE" not in spec.name
    argv: list[Any] = []
    need_results: int | None = None
    limit: int | None = None
    nparams: int | None = None
    for fname, ftype in fields:
        value = args[fname]
        if fname == "need_results":
            need_results = value
            continue
        if fname in ("maxnames", "maxids", "maxdomains"):
            # passed on (the C API takes it, so drivers do), and enforced on the result
            limit = value
            if value < 0:
                raise make_error(c.VIR_ERR_RPC, None, c.VIR_FROM_RPC, message=f"{fname} must be positive")
        if fname == "nparams" and wire.has_typed_params(spec, "ret"):
            nparams = value
            continue
        if dev_by_name and fname == "name":
            argv.append(NodeDeviceRef(value))
            continue
        argv.append(wire.to_driver(ftype, value))
    method, argv = _method(driver, spec, argv)
    result = method(*argv)
    ret_fields = wire.ret_fields(spec)
    if not ret_fields:
        return None
    if need_results is not None:
        items = list(result)
        first, _ftype = ret_fields[0]
        return {first: wire.from_driver(_ftype, items) if need_results else [], "ret": len(items)}
    if limit is not None:
        result = list(result)[:limit]
    if nparams is not None:
        return _typed_params_ret(ret_fields, result, nparams)
    if len(ret_fields) == 1:
        fname, ftype = ret_fields[0]
        return {fname: wire.from_driver(ftype, result)}
    if len(ret_fields) == 2 and ret_fields[1][0] in ("ret", "num", "nerrors") and isinstance(result, list):
        # a list plus its length, the C API's "fill this array, return the count"
        (fname, ftype), (cname, _ct) = ret_fields
        return {fname: wire.from_driver(ftype, result), cname: len(result)}
    if isinstance(result, dict) and all(f in result for f, _ in ret_fields):
        return {f: wire.from_driver(t, result[f]) for f, t in ret_fields}
    values = list(result)
    if len(values) != len(ret_fields):
        raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                         f"{spec.name}: the driver returned {len(values)} values for {len(ret_fields)} fields")
    return {f: wire.from_driver(t, v) for (f, t), v in zip(ret_fields, values)}


def _typed_params_ret(ret_fields: list[tuple[str, str]], result: Any, nparams: int) -> dict[str, Any]:
    """Getters with libvirt's two-step protocol: nparams=0 asks for the count only."""
    params = wire.to_typed_params(result)
    out: dict[str, Any] = {}
    for fname, ftype in ret_fields:
        if fname == "params":
            out[fname] = params[:nparams] if nparams else []
        elif fname == "nparams":
            out[fname] = len(params)
        else:
            out[fname] = 0
    return out


# --- the special cases ---------------------------------------------------------------
def _connect_open(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> None:
    with client.lock:
        if client.driver is not None:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, "connection already open", c.VIR_FROM_RPC)
        name = args.get("name") or ""
        read_only = client.read_only or bool(args.get("flags", 0) & c.VIR_CONNECT_RO)
        if not name:
            return _probe_open(client, read_only)
        client.driver = open_local_driver(name, read_only)
        client.read_only = read_only


def open_local_driver(name: str, read_only: bool) -> Any:
    """Open a driver of this process for *name*, never the remote driver.

    pyvirt.drivers.open_driver falls back to the remote driver for URIs no local
    driver takes; inside the daemon that would connect to a daemon socket, maybe
    our own, and deadlock the worker pool. libvirtd answers "no connection driver
    available" in that case, and so do we.
    """
    uri = parse_uri(name)
    opener = None if uri.is_remote else _drivers._opener_for(uri.driver)
    driver = opener(uri, read_only, None) if opener is not None else None
    if driver is None or type(driver).__module__.startswith("pyvirt.drivers.remote"):
        if driver is not None:
            driver.connect_close()
        raise make_error(c.VIR_ERR_NO_CONNECT, name)
    return driver


def _probe_open(client: Client, read_only: bool) -> None:
    """No URI given: like libvirtd, take the first local driver that accepts its default URI."""
    import os
    qemu = "qemu:///system" if os.geteuid() == 0 else "qemu:///session"
    last: LibvirtError | None = None
    for candidate in (qemu, "test:///default"):
        try:
            driver = open_local_driver(candidate, read_only)
        except LibvirtError as err:
            last = err
            continue
        client.driver = driver
        client.read_only = read_only
        return
    raise last if last is not None else make_error(c.VIR_ERR_NO_CONNECT, "")


def _connect_close(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> None:
    client.release_driver()


def _auth_list(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> dict[str, Any]:
    auth = client.service.auth
    if auth == AUTH_POLKIT and client.identity.uid == 0:
        client.authenticated = True  # libvirtd lets root bypass polkit here
        auth = AUTH_NONE
    return {"types": [auth]}


def _auth_polkit(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> dict[str, Any]:
    if client.service.auth != AUTH_POLKIT:
        raise make_error(c.VIR_ERR_AUTH_FAILED, None, c.VIR_FROM_RPC, message="authentication failed")
    import os
    # No polkit daemon is consulted: the daemon's own user and root are allowed.
    if client.identity.uid in (0, os.geteuid()):
        client.authenticated = True
        return {"complete": 1}
    raise make_error(c.VIR_ERR_AUTH_FAILED, None, c.VIR_FROM_RPC, message="authentication failed")


def _auth_sasl(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> None:
    raise make_error(c.VIR_ERR_AUTH_FAILED, None, c.VIR_FROM_RPC, message="authentication failed")


def _supports_feature(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> dict[str, Any]:
    feature = args["feature"]
    if feature == 10:  # PROGRAM_KEEPALIVE: asked before CONNECT_OPEN
        client.keepalive_wanted = True
        client.server.loop.call_soon_threadsafe(client.start_keepalive)
        return {"supported": 1}
    driver = _driver(client)
    if feature in (14, 15):  # REMOTE_EVENT_CALLBACK, REMOTE_CLOSE_CALLBACK
        return {"supported": 1}
    if feature == 8:  # FD_PASSING: not implemented here
        return {"supported": 0}
    if _has(driver, "connect_supports_feature"):
        try:
            return {"supported": int(driver.connect_supports_feature(feature))}
        except LibvirtError as err:
            if err.code != c.VIR_ERR_NO_SUPPORT:
                raise
    return {"supported": 1 if feature == 9 else 0}  # TYPED_PARAM_STRING: the daemon carries strings


def _close_callback(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> None:
    _driver(client)
    client.close_callback = spec.number == 360


def _get_type(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> dict[str, Any]:
    return {"type": _driver(client).type_name}


def _lib_version(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> dict[str, Any]:
    driver = _driver(client)
    if _has(driver, "connect_get_lib_version"):
        return {"lib_ver": driver.connect_get_lib_version()}
    return {"lib_ver": 9000000}


def _is_secure(client: Client, spec: wire.ProcSpec, args: dict[str, Any]) -> dict[str, Any]:
    driver = _driver(client)
    return {"secure": int(driver.connect_is_secure()) if _has(driver, "connect_is_secure") else 1}


_SPECIAL: dict[int, Callable[[Client, wire.ProcSpec, dict[str, Any]], Any]] = {
    1: _connect_open, 2: _connect_close, 3: _get_type, 60: _supports_feature, 66: _auth_list,
    67: _auth_sasl, 68: _auth_sasl, 69: _auth_sasl, 70: _auth_polkit, 149: _is_secure, 157: _lib_version,
    360: _close_callback, 361: _close_callback,
}
