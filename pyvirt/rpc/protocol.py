"""The procedure table: every procedure of REMOTE, QEMU, LXC and KEEPALIVE with its codecs.

Built at import time from the generated :mod:`pyvirt.rpc._table`. A
:class:`Procedure` knows its program, number, name, driver method name, payload
codecs, priority, ACL rules and whether a read-only connection may call it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from .. import constants as c
from ..drivers import base as _base
from . import _table
from .xdr import VOID, Codec, codec, field_names, register_class

__all__ = [
    "Procedure", "PROGRAMS", "REMOTE_PROGRAM", "QEMU_PROGRAM", "LXC_PROGRAM", "KEEPALIVE_PROGRAM",
    "PROTOCOL_VERSION", "KEEPALIVE_PING", "KEEPALIVE_PONG", "procedure", "procedure_by_name",
    "procedure_by_method", "procedures", "READ_PERMISSIONS",
]

PROGRAMS: dict[str, tuple[int, int]] = dict(_table.PROGRAMS)
REMOTE_PROGRAM = PROGRAMS["REMOTE"][0]
QEMU_PROGRAM = PROGRAMS["QEMU"][0]
LXC_PROGRAM = PROGRAMS["LXC"][0]
KEEPALIVE_PROGRAM = PROGRAMS["KEEPALIVE"][0]
PROTOCOL_VERSION = 1
KEEPALIVE_PING = 1
KEEPALIVE_PONG = 2

#: ACL permissions that only read state: allowed on a read-only connection.
READ_PERMISSIONS = frozenset({"none", "getattr", "read"})

# remote_nonnull_* structs decode to the driver layer's Ref tuples.
_REF_CLASSES = {
    "remote_nonnull_domain": "DomainRef",
    "remote_nonnull_network": "NetworkRef",
    "remote_nonnull_storage_pool": "StoragePoolRef",
    "remote_nonnull_storage_vol": "StorageVolRef",
    "remote_nonnull_node_device": "NodeDeviceRef",
    "remote_nonnull_interface": "InterfaceRef",
    "remote_nonnull_domain_snapshot": "SnapshotRef",
    "remote_nonnull_domain_checkpoint": "CheckpointRef",
    "remote_nonnull_secret": "SecretRef",
    "remote_nonnull_nwfilter": "NWFilterRef",
    "remote_nonnull_nwfilter_binding": "NWFilterBindingRef",
    "remote_nonnull_network_port": "NetworkPortRef",
}
_FIELD_ALIASES = {"dom": "domain", "domain": "dom", "net": "network", "network": "net",
                  "usageID": "usage_id", "usage_id": "usageID", "usageType": "usage_type",
                  "usage_type": "usageType"}


def _register_refs() -> None:
    for sname, cname in _REF_CLASSES.items():
        cls = getattr(_base, cname, None)
        if cls is None:
            continue
        wire = list(field_names(sname))
        order = []
        for f in cls._fields:
            if f in wire:
                order.append(wire.index(f))
            elif _FIELD_ALIASES.get(f) in wire:
                order.append(wire.index(_FIELD_ALIASES[f]))
            else:
                break
        if len(order) == len(wire) and sorted(order) == list(range(len(wire))):
            register_class(sname, cls, tuple(order))


_register_refs()


def _flag_value(expr: str) -> int:
    value = 0
    for name in expr.split("|"):
        value |= int(getattr(c, name.strip(), 0))
    return value


@dataclass(frozen=True, eq=False)
class Procedure:
    """One procedure of one program."""

    program: str            # "REMOTE", "QEMU", "LXC", "KEEPALIVE"
    prog: int               # program number on the wire
    vers: int
    number: int
    name: str               # e.g. "DOMAIN_GET_INFO" (without REMOTE_PROC_)
    method: str             # driver method, e.g. "domain_get_info" / "domain_qemu_monitor_command"
    kind: str               # "call" or "message" (server->client events, keepalive)
    args_type: str | None   # XDR struct of the call's args (or of the message body)
    ret_type: str | None    # XDR struct of the reply
    priority: str           # "high" or "low" (libvirt's @priority)
    acl: tuple[tuple[Any, ...], ...]  # (object, permission, flags expr, param, value)
    aclfilter: tuple[str, ...]
    stream: tuple[str, int] | None    # ("read"|"write", param position) for stream procedures
    sparse: bool
    _write_rules: tuple[tuple[int, bool, str | None, int], ...] = field(default=(), repr=False)
    always_write: bool = field(default=False, repr=False)

    @property
    def args(self) -> Codec:
        """Codec of the call arguments / message body (VOID when there is none)."""
        return codec(self.args_type) if self.args_type else VOID

    @property
    def ret(self) -> Codec:
        """Codec of the reply (VOID when the reply is empty)."""
        return codec(self.ret_type) if self.ret_type else VOID

    @property
    def readonly(self) -> bool:
        """True when a read-only connection may call this (with some flags it may still not)."""
        return not self.always_write

    def is_write(self, args: Any = None) -> bool:
        """Whether this call, with decoded *args*, changes something (refused when read-only).

        Derived from libvirt's ``@acl`` annotations: every permission other than
        getattr/read/search_* is a change; rules tied to a flag (``domain:write:FLAG``)
        or a parameter value apply only when the call sets it.
        """
        if self.always_write:
            return True
        if not self._write_rules or args is None:
            return False
        names = field_names(self.args_type) if self.args_type else ()
        for flagval, negate, param, pvalue in self._write_rules:
            if param is not None:
                if param in names and args[names.index(param)] == pvalue:
                    return True
                continue
            flags = args[names.index("flags")] if "flags" in names else 0
            if negate:
                if flags & flagval == 0:
                    return True
            elif flags & flagval == flagval:
                return True
        return False

    def encode_args(self, args: Any) -> bytes:
        return self.args.encode(args)

    def decode_args(self, payload: bytes, offset: int = 0) -> Any:
        return self.args.decode(payload, offset)

    def encode_ret(self, ret: Any) -> bytes:
        return self.ret.encode(ret)

    def decode_ret(self, payload: bytes, offset: int = 0) -> Any:
        return self.ret.decode(payload, offset)


# libvirt's API spells these FS* (virDomainGetFSInfo -> domain_get_fs_info), not Fsinfo.
_METHOD_FIXES = (("fsinfo", "fs_info"), ("fsfreeze", "fs_freeze"), ("fsthaw", "fs_thaw"), ("fstrim", "fs_trim"))


def _method_name(program: str, name: str) -> str:
    low = name.lower()
    for old, new in _METHOD_FIXES:
        if low.endswith(old):
            low = low[: -len(old)] + new
    if program in ("QEMU", "LXC"):
        return low.replace("domain_", f"domain_{program.lower()}_", 1)
    if program == "KEEPALIVE":
        return "keepalive_" + low
    return low


def _is_read_perm(perm: str) -> bool:
    return perm in READ_PERMISSIONS or perm.startswith("search_")


def _build(row: tuple[Any, ...]) -> Procedure:
    program, number, name, args_t, ret_t, kind, prio, acl, aclfilter, stream, sparse = row
    always = False
    rules: list[tuple[int, bool, str | None, int]] = []
    for obj, perm, flags, param, pvalue in acl:
        if _is_read_perm(perm):
            continue
        if perm == "read_secure":
            # libvirt refuses only the *_SECURE flags on read-only connections.
            if flags and "SECURE" in flags:
                rules.append((_flag_value(flags), False, None, 0))
            continue
        if param is not None:
            rules.append((0, False, param, _flag_value(pvalue)))
        elif flags:
            negate = flags.startswith("!")
            rules.append((_flag_value(flags.lstrip("!")), negate, None, 0))
        else:
            always = True
    prog, vers = PROGRAMS[program]
    return Procedure(program, prog, vers, number, name, _method_name(program, name), kind, args_t, ret_t,
                     prio, acl, aclfilter, stream, sparse, tuple(rules), always)


_ALL: dict[tuple[int, int], Procedure] = {}
_BY_NAME: dict[tuple[str, str], Procedure] = {}
_BY_METHOD: dict[str, Procedure] = {}
for _row in _table.PROCEDURES:
    _p = _build(_row)
    _ALL[(_p.prog, _p.number)] = _p
    _BY_NAME[(_p.program, _p.name)] = _p
    _BY_METHOD.setdefault(_p.method, _p)


def procedure(prog: int, number: int) -> Procedure | None:
    """The procedure *number* of program *prog* (wire numbers), or None."""
    return _ALL.get((prog, number))


@functools.lru_cache(maxsize=None)
def procedure_by_name(name: str, program: str = "REMOTE") -> Procedure:
    """By libvirt name, with or without the ``REMOTE_PROC_`` prefix; KeyError if unknown."""
    short = name.split("_PROC_", 1)[1] if "_PROC_" in name else name
    return _BY_NAME[(program, short)]


def procedure_by_method(method: str) -> Procedure | None:
    """By driver method name (``domain_get_info``), or None."""
    return _BY_METHOD.get(method)


def procedures(program: str | None = None) -> list[Procedure]:
    """All procedures, optionally of one program, ordered by program and number."""
    return sorted((p for p in _ALL.values() if program is None or p.program == program),
                  key=lambda p: (p.program, p.number))
