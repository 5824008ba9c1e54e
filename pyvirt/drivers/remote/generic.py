"""Driver methods derived from the procedure table.

A procedure ``REMOTE_PROC_DOMAIN_GET_INFO`` becomes the method
``domain_get_info``: positional arguments fill the wire args struct in order
(``need_results`` is set for the caller, trailing ``flags`` default to 0,
``max*`` counts to the reply's array limit), typed parameter lists go in as
dicts and come out as dicts, and the reply struct comes back as its only
field, as the list of a ``list_all`` call, or as a tuple of its fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ... import constants as c
from ...errors import make_error
from ...rpc import _table
from ...rpc.protocol import Procedure
from ...rpc.values import params_from_wire, params_to_wire
from ..base import NodeDeviceRef

if TYPE_CHECKING:
    from .driver import RemoteDriver

__all__ = ["make_method", "is_typed_params", "ret_to_value"]

TYPED_PARAM = "remote_typed_param"
FEATURE_TYPED_PARAM_STRING = 9
# Getters whose libvirt API adds VIR_TYPED_PARAM_STRING_OKAY after asking the driver for
# feature TYPED_PARAM_STRING (libvirt-domain.c / libvirt-host.c), which the remote driver
# forwards to the daemon on every call.
STRING_OKAY_PROCS = frozenset({
    "DOMAIN_GET_MEMORY_PARAMETERS", "DOMAIN_GET_NUMA_PARAMETERS", "DOMAIN_GET_BLKIO_PARAMETERS",
    "DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS", "DOMAIN_BLOCK_STATS_FLAGS", "DOMAIN_GET_INTERFACE_PARAMETERS",
    "DOMAIN_GET_BLOCK_IO_TUNE", "DOMAIN_GET_CPU_STATS", "DOMAIN_GET_LAUNCH_SECURITY_INFO",
    "NODE_GET_MEMORY_PARAMETERS", "NODE_GET_SEV_INFO",
})
# Wire fields the caller never passes: filled in by the stub.
_IMPLIED = frozenset({"need_results", "nparams"})


def _resolve(t: Any) -> Any:
    while isinstance(t, str) and _table.TYPES.get(t, ("",))[0] == "alias":
        t = _table.TYPES[t][1]
    return t


def is_typed_params(t: Any) -> bool:
    t = _resolve(t)
    return isinstance(t, tuple) and t[0] == "array" and t[1] == TYPED_PARAM


def _is_string(t: Any) -> bool:
    t = _resolve(t)
    return isinstance(t, tuple) and t[0] == "string"


def _fields(type_name: str | None) -> tuple[tuple[str, Any], ...]:
    if type_name is None:
        return ()
    return tuple(_table.TYPES[type_name][1])


def _array_limit(type_name: str | None) -> int:
    for _f, t in _fields(type_name):
        t = _resolve(t)
        if isinstance(t, tuple) and t[0] in ("array", "opaque", "string") and t[-1] is not None:
            return int(t[-1])
    return 0


def _is_pairs(t: Any) -> bool:
    """An array of {field; value} structs (node cpu/memory stats)."""
    t = _resolve(t)
    return (isinstance(t, tuple) and t[0] == "array" and isinstance(t[1], str)
            and _table.TYPES.get(t[1], ("",))[0] == "struct"
            and tuple(f for f, _ in _table.TYPES[t[1]][1]) == ("field", "value"))


def _value(t: Any, v: Any) -> Any:
    if is_typed_params(t):
        return params_from_wire(v)
    if _is_pairs(t):
        return {f: x for f, x in v}
    return v


def ret_to_value(proc: Procedure, ret: Any) -> Any:
    """The driver-level value of a decoded reply."""
    if ret is None:
        return None
    fields = _fields(proc.ret_type)
    values = [_value(t, v) for (_f, t), v in zip(fields, ret)]
    names = [f for f, _t in fields]
    if len(values) == 1:
        return values[0]
    if names[-1] == "ret" and len(values) == 2:  # list_all: {objects<>; ret}
        return values[0]
    if len(values) == 2 and names[1] == "nparams" and (is_typed_params(fields[0][1]) or _is_pairs(fields[0][1])):
        return values[0]
    return tuple(values)


def make_method(drv: "RemoteDriver", proc: Procedure) -> Callable[..., Any]:
    """A bound-style function calling *proc* on *drv*'s connection."""
    fields = _fields(proc.args_type)
    user_fields = [(i, f, t) for i, (f, t) in enumerate(fields) if f not in _IMPLIED]
    nfields = len(fields)
    ret_limit = _array_limit(proc.ret_type)
    two_step = (any(f == "nparams" for f, _ in fields)
                and any(f == "nparams" for f, _ in _fields(proc.ret_type)))

    names = [f for f, _ in fields]
    string_okay = proc.name in STRING_OKAY_PROCS and "flags" in names
    flags_at = names.index("flags") if "flags" in names else -1

    def defaults(name: str, t: Any) -> Any:
        if name == "flags":
            return 0
        if name.startswith("max") or name in ("nparams", "ncpumaps", "maplen", "nr_stats"):
            return ret_limit
        t = _resolve(t)
        if isinstance(t, tuple) and t[0] == "optional":
            return None
        if isinstance(t, tuple) and t[0] == "array":
            return []
        if is_typed_params(t):
            return []
        raise make_error(c.VIR_ERR_INVALID_ARG, f"missing argument '{name}' for {proc.method}")

    def method(*args: Any) -> Any:
        if len(args) > len(user_fields):
            raise make_error(c.VIR_ERR_INVALID_ARG,
                             f"{proc.method} takes at most {len(user_fields)} arguments ({len(args)} given)")
        wire: list[Any] = [None] * nfields
        for i, (f, t) in enumerate(fields):
            if f == "need_results":
                wire[i] = 1
            elif f == "nparams":
                wire[i] = ret_limit
        for pos, (i, f, t) in enumerate(user_fields):
            if pos < len(args):
                v = args[pos]
                if is_typed_params(t):
                    v = drv._params_for(proc, v)
                elif isinstance(v, NodeDeviceRef) and _is_string(t):
                    v = v.name  # node device calls carry the device name, not a handle
                elif v is None and f in ("maxids", "maxnames", "maxuuids", "maxcells", "nparams"):
                    v = ret_limit
                wire[i] = v
            else:
                wire[i] = defaults(f, t)
        if string_okay and drv._supports(FEATURE_TYPED_PARAM_STRING):
            wire[flags_at] |= c.VIR_TYPED_PARAM_STRING_OKAY
        if two_step:
            # libvirt's two calls: ask how many parameters there are, then fetch them
            k = [f for f, _ in fields].index("nparams")
            wire[k] = 0
            first = drv._call(proc, tuple(wire))
            wire[k] = first[[f for f, _ in _fields(proc.ret_type)].index("nparams")]
            if wire[k] == 0:
                return ret_to_value(proc, first)
        ret = drv._call(proc, tuple(wire) if fields else None)
        return ret_to_value(proc, ret)

    method.__name__ = proc.method
    method.__doc__ = f"libvirt {proc.program} procedure {proc.number} ({proc.name}), derived from the table."
    return method
