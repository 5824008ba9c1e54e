"""Thin adapter over :mod:`pyvirt.rpc.xdr` for the daemon.

The daemon works with dicts keyed by the wire field names at the top level of
args/ret structs (convenient for the generic dispatcher); nested values are
whatever the codec uses (tuples, NamedTuples, Ref tuples, ``(disc, value)``
unions). This module converts at that one boundary; all XDR work is the
codec's.
"""

from __future__ import annotations

from typing import Any

from ..rpc import _table as T
from ..rpc import xdr

__all__ = ["decode", "encode", "union_value", "union_parts", "struct_class", "ProtocolError"]

ProtocolError = xdr.ProtocolError


def _fields(type_name: str) -> list[tuple[str, Any]]:
    return list(T.TYPES[type_name][1])


def _to_wire(t: Any, v: Any) -> Any:
    """Dicts (keyed by wire names) -> tuples in wire order, recursively."""
    while isinstance(t, str) and T.TYPES.get(t, ("",))[0] == "alias":
        t = T.TYPES[t][1]
    if v is None:
        return None
    if isinstance(t, str) and t in T.TYPES and T.TYPES[t][0] == "struct":
        if isinstance(v, dict):
            return tuple(_to_wire(ft, v.get(f)) for f, ft in _fields(t))
        return v
    if isinstance(t, tuple):
        if t[0] == "optional":
            return _to_wire(t[1], v)
        if t[0] in ("array", "farray") and isinstance(v, list):
            kind = _element_kind(t[1])
            if kind == "plain":
                return v
            if kind == "struct":  # tuples are already in wire order; only dicts need building
                return [_to_wire(t[1], x) if isinstance(x, dict) else x for x in v]
            return [_to_wire(t[1], x) for x in v]
    return v


_KINDS: dict[Any, str] = {}


def _element_kind(t: Any) -> str:
    """How array elements of type *t* convert: "plain" (as they are), "struct" (only dicts), "walk"."""
    kind = _KINDS.get(t)
    if kind is None:
        r = t
        while isinstance(r, str) and T.TYPES.get(r, ("",))[0] == "alias":
            r = T.TYPES[r][1]
        if isinstance(r, str) and r in T.TYPES and T.TYPES[r][0] == "struct":
            kind = "struct"
        elif isinstance(r, str) and (r not in T.TYPES or T.TYPES[r][0] not in ("struct", "union")):
            kind = "plain"
        else:
            kind = "walk"
        _KINDS[t] = kind
    return kind


def decode(type_name: str, payload: bytes) -> dict[str, Any]:
    """Decode a struct payload into ``{wire field name: value}``."""
    value = xdr.codec(type_name).decode(payload)
    return {f: v for (f, _t), v in zip(_fields(type_name), value)}


def encode(type_name: str, value: Any) -> bytes:
    """Encode *value* (a dict keyed by wire names, or a tuple in wire order)."""
    return xdr.codec(type_name).encode(_to_wire(type_name, value))


def struct_class(type_name: str) -> type | None:
    """The class the codec decodes *type_name* into."""
    return xdr.codec(type_name).cls


def union_value(disc: int, _arm: str, value: Any) -> Any:
    return (disc, value)


def union_parts(value: Any) -> tuple[int, Any]:
    return value[0], value[1]
