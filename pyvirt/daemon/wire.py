"""The daemon's view of pyvirt.rpc: procedure specs, payload codec, value conversion.

Everything about the wire format comes from :mod:`pyvirt.rpc` (the table
generated from libvirt's .x files and its XDR codec); this module only adds
what the daemon needs on top: which calls change state (for read-only
clients), handle <-> driver Ref conversion and typed parameters.
"""

from __future__ import annotations

import re
from typing import Any

from .. import constants as c
from ..drivers.base import (DomainRef, InterfaceRef, NetworkRef, NodeDeviceRef, SnapshotRef,
                            StoragePoolRef, StorageVolRef)
from ..errors import LibvirtError
from ..rpc import (LXC_PROGRAM, MESSAGE, OK, QEMU_PROGRAM, REMOTE_PROGRAM, Header, Procedure, error_packet,
                   pack_packet, params_from_wire, params_to_wire, procedures, reply_packet)
from ..rpc import procedure as _rpc_procedure
from ..rpc import _table as T
from . import codec

__all__ = ["ProcSpec", "procedure", "is_remote_program", "decode_args", "reply_ok", "reply_error",
           "message_frame", "arg_fields", "ret_fields", "to_driver", "from_driver", "is_write",
           "to_typed_params", "from_typed_params", "REMOTE_PROGRAM", "PROC_BY_NAME"]

REMOTE_VERSION = 1
ProcSpec = Procedure

PROC_BY_NAME: dict[str, Procedure] = {p.name: p for p in procedures("REMOTE")}

# Where libvirt's public API (virCheckReadOnlyGoto) and the @acl-derived rule of
# pyvirt.rpc disagree: these refuse read-only callers although their ACL is a read,
# or the other way round.
_WRITE_ANYWAY = frozenset({"DOMAIN_SET_SCHEDULER_PARAMETERS", "SECRET_GET_VALUE", "NODE_GET_SEV_INFO",
                           "NODE_DEVICE_GET_AUTOSTART"})
_READ_ANYWAY = frozenset({"DOMAIN_MIGRATE_GET_COMPRESSION_CACHE", "DOMAIN_MIGRATE_GET_MAX_DOWNTIME",
                          "DOMAIN_GET_GUEST_INFO", "CONNECT_SET_IDENTITY"})


def is_write(spec: Procedure, args: dict[str, Any] | None = None) -> bool:
    """True when a read-only connection must refuse *spec* called with *args*."""
    if spec.name in _WRITE_ANYWAY:
        return True
    if spec.name in _READ_ANYWAY:
        return False
    raw = tuple(args[f] for f, _t in arg_fields(spec)) if args is not None and spec.args_type else None
    return spec.is_write(raw)


def procedure(number: int, prog: int = REMOTE_PROGRAM) -> Procedure | None:
    """Procedure *number* of *prog* when it is a call the client may make, else None."""
    spec = _rpc_procedure(prog, number)
    return spec if spec is not None and spec.kind == "call" else None


def is_remote_program(prog: int, vers: int) -> bool:
    """The programs pyvirtd serves, like libvirtd: REMOTE, QEMU and LXC."""
    return prog in (REMOTE_PROGRAM, QEMU_PROGRAM, LXC_PROGRAM) and vers == REMOTE_VERSION


def api_key(spec: Procedure) -> str:
    """The procedure's name as libvirt's API sees it (QEMU calls are virDomainQemu*)."""
    return spec.name if spec.program == "REMOTE" else spec.method.upper()


def _struct_fields(type_name: str | None) -> list[tuple[str, Any]]:
    if type_name is None:
        return []
    kind, body = T.TYPES[type_name]
    assert kind == "struct", type_name
    return list(body)


def arg_fields(spec: Procedure) -> list[tuple[str, Any]]:
    return _struct_fields(spec.args_type)


def ret_fields(spec: Procedure) -> list[tuple[str, Any]]:
    return _struct_fields(spec.ret_type)


def has_typed_params(spec: Procedure, which: str) -> bool:
    fields = ret_fields(spec) if which == "ret" else arg_fields(spec)
    return any(_is_typed_params(t) for _f, t in fields)


def decode_args(spec: Procedure, payload: bytes) -> dict[str, Any]:
    if spec.args_type is None:
        return {}
    return codec.decode(spec.args_type, payload)


def reply_ok(hdr: Header, spec: Procedure, ret: Any) -> bytes:
    body = codec.encode(spec.ret_type, ret) if spec.ret_type is not None else b""
    return reply_packet(hdr, body)


def reply_error(hdr: Header, err: LibvirtError) -> bytes:
    return error_packet(hdr, err)


def message_frame(proc_name: str, body: dict[str, Any]) -> bytes:
    """An asynchronous MESSAGE packet (events); libvirtd uses serial 1."""
    spec = PROC_BY_NAME[proc_name]
    assert spec.args_type is not None
    return pack_packet(REMOTE_PROGRAM, REMOTE_VERSION, spec.number, MESSAGE, 1, OK,
                       codec.encode(spec.args_type, body))


# --- handles ----------------------------------------------------------------------------
_REFS: dict[str, Any] = {
    "remote_nonnull_domain": DomainRef, "remote_nonnull_network": NetworkRef,
    "remote_nonnull_storage_pool": StoragePoolRef, "remote_nonnull_storage_vol": StorageVolRef,
    "remote_nonnull_node_device": NodeDeviceRef, "remote_nonnull_interface": InterfaceRef,
}


def _resolve(ftype: Any) -> Any:
    """Follow aliases to the underlying type form."""
    while isinstance(ftype, str) and ftype in T.TYPES and T.TYPES[ftype][0] == "alias":
        ftype = T.TYPES[ftype][1]
    return ftype


def _is_typed_params(ftype: Any) -> bool:
    ftype = _resolve(ftype)
    return isinstance(ftype, tuple) and ftype[0] == "array" and ftype[1] == "remote_typed_param"


def to_driver(ftype: Any, value: Any) -> Any:
    """Convert a decoded wire value of *ftype* into what a driver method takes."""
    if value is None:
        return None
    if isinstance(ftype, str) and ftype in _REFS:
        return _REFS[ftype](*value)
    if ftype == "remote_nonnull_domain_snapshot" or ftype == "remote_nonnull_domain_checkpoint":
        if isinstance(value, SnapshotRef):
            return value
        return SnapshotRef(DomainRef(*value[1]), value[0])
    if _is_typed_params(ftype):
        return from_typed_params(value)
    rt = _resolve(ftype)
    if isinstance(rt, tuple):
        if rt[0] == "optional":
            return to_driver(rt[1], value)
        if rt[0] == "array" and isinstance(value, list):
            return [to_driver(rt[1], v) for v in value]
    if isinstance(ftype, str) and ftype in T.TYPES and T.TYPES[ftype][0] == "struct" and isinstance(value, tuple):
        return tuple(to_driver(t, v) for (_f, t), v in zip(_struct_fields(ftype), value))
    return value


def from_driver(ftype: Any, value: Any) -> Any:
    """Convert a driver result into the wire value of *ftype*."""
    if value is None:
        return None
    if isinstance(ftype, str) and ftype in _REFS:
        return tuple(value)
    if ftype in ("remote_nonnull_domain_snapshot", "remote_nonnull_domain_checkpoint"):
        dom, name = value if isinstance(value, SnapshotRef) else (value[1], value[0])
        if codec.struct_class(ftype) is SnapshotRef:
            return SnapshotRef(DomainRef(*dom), name)
        return (name, tuple(dom))
    if _is_typed_params(ftype):
        return to_typed_params(value)
    rt = _resolve(ftype)
    if isinstance(rt, tuple):
        if rt[0] == "optional":
            return from_driver(rt[1], value)
        if rt[0] == "array":
            if isinstance(rt[1], str) and rt[1] in _REFS:  # handle lists (listAllDomains...): hot
                return [v if isinstance(v, tuple) else tuple(v) for v in value]
            return [from_driver(rt[1], v) for v in value]
        if rt[0] in ("fopaque", "opaque") and isinstance(value, (list, tuple)):
            return bytes(value)
        if rt[0] in ("fchars", "opaque_chars") and isinstance(value, str):
            return value
    if isinstance(ftype, str) and ftype in T.TYPES and T.TYPES[ftype][0] == "struct":
        fields = _struct_fields(ftype)
        if isinstance(value, dict):
            return {f: from_driver(t, value.get(f)) for f, t in fields}
        return {f: from_driver(t, v) for (f, t), v in zip(fields, value)}
    if isinstance(value, bool):
        return int(value)
    return value


# --- typed parameters ---------------------------------------------------------------------
# libvirt's type for well-known parameter names (the drivers hand out plain Python values).
_PARAM_TYPES: dict[str, int] = {}
for _n in ("cpu_shares", "vcpu_period", "emulator_period", "global_period", "iothread_period",
           "hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee",
           "total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec", "read_iops_sec",
           "write_iops_sec", "total_bytes_sec_max", "read_bytes_sec_max", "write_bytes_sec_max",
           "total_iops_sec_max", "read_iops_sec_max", "write_iops_sec_max", "size_iops_sec",
           "total_bytes_sec_max_length", "read_bytes_sec_max_length", "write_bytes_sec_max_length",
           "total_iops_sec_max_length", "read_iops_sec_max_length", "write_iops_sec_max_length",
           "cpu_time", "user_time", "system_time", "vcpu_time"):
    _PARAM_TYPES[_n] = c.VIR_TYPED_PARAM_ULLONG
for _n in ("vcpu_quota", "emulator_quota", "global_quota", "iothread_quota",
           "rd_req", "rd_bytes", "wr_req", "wr_bytes", "errs", "flush_operations",
           "rd_total_times", "wr_total_times", "flush_total_times"):
    _PARAM_TYPES[_n] = c.VIR_TYPED_PARAM_LLONG
for _n in ("weight", "inbound.average", "inbound.peak", "inbound.burst", "inbound.floor",
           "outbound.average", "outbound.peak", "outbound.burst", "reservation", "limit", "shares"):
    _PARAM_TYPES[_n] = c.VIR_TYPED_PARAM_UINT
for _n in ("numa_mode",):
    _PARAM_TYPES[_n] = c.VIR_TYPED_PARAM_INT

def to_typed_params(params: Any) -> list[tuple[str, Any]]:
    """Driver parameters (a dict, or (name, type, value) triples) -> remote_typed_param list."""
    if isinstance(params, dict):
        types = {k: _PARAM_TYPES.get(k) or _PARAM_TYPES.get(k.rsplit(".", 1)[-1]) for k in params}
        return params_to_wire(params, {k: t for k, t in types.items() if t is not None})
    return params_to_wire(list(params))


def from_typed_params(params: list[Any]) -> dict[str, Any]:
    """remote_typed_param list -> {name: value} (booleans as bool)."""
    return params_from_wire(params)


# libvirt's typed-parameter types of domain stats fields (virConnectGetAllDomainStats)
_INT_FIELDS = re.compile(r"state\.(state|reason)|vcpu\.\d+\.state|dirtyrate\.calc_(status|period)")
_UINT_FIELDS = re.compile(r"(net|block|iothread|cpu\.cache\.monitor)\.count|vcpu\.(current|maximum)"
                          r"|block\.\d+\.backingIndex|iothread\.\d+\.poll-(grow|shrink)"
                          r"|cpu\.cache\.monitor\.\d+\.(bank\.count|bank\.\d+\.(id|bytes))")
_LLONG_FIELDS = re.compile(r"dirtyrate\.(calc_start_time|megabytes_per_second)")


def stats_param_type(name: str, value: Any) -> int:
    """libvirt's typed-parameter type of a domstats field (for the wire): INT for states,
    UINT for counts and indexes, LLONG for dirty-rate times, STRING/BOOLEAN by value, else ULLONG."""
    if isinstance(value, bool):
        return c.VIR_TYPED_PARAM_BOOLEAN
    if isinstance(value, str):
        return c.VIR_TYPED_PARAM_STRING
    if _INT_FIELDS.fullmatch(name):
        return c.VIR_TYPED_PARAM_INT
    if _UINT_FIELDS.fullmatch(name):
        return c.VIR_TYPED_PARAM_UINT
    if _LLONG_FIELDS.fullmatch(name):
        return c.VIR_TYPED_PARAM_LLONG
    return c.VIR_TYPED_PARAM_ULLONG


def domain_stats_to_wire(params: dict[str, Any]) -> list[tuple[str, Any]]:
    """One domain's stats record -> remote_typed_param list, each field with libvirt's type."""
    return params_to_wire([(k, stats_param_type(k, v), v) for k, v in params.items()])
