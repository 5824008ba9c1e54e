"""Conversions between wire structs and pyvirt values: errors and typed parameters."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .. import constants as c
from ..errors import LibvirtError, error_class, format_message
from .xdr import ProtocolError, codec

__all__ = [
    "error_to_wire", "error_from_wire", "encode_error", "decode_error",
    "params_to_wire", "params_from_wire", "param_type_of", "TYPED_PARAM_NAMES",
]

_ERROR = "remote_error"


def error_to_wire(exc: BaseException) -> tuple[Any, ...]:
    """The ``remote_error`` fields for *exc* (any exception: non-libvirt ones become INTERNAL_ERROR)."""
    if isinstance(exc, LibvirtError):
        code = exc.code if exc.code is not None else c.VIR_ERR_INTERNAL_ERROR
        domain = exc.domain if exc.domain is not None else c.VIR_FROM_NONE
        msg = exc.message
        return (code, domain, msg, exc.level, None, exc.str1 if exc.str1 is not None else msg,
                exc.str2, exc.str3, exc.int1, exc.int2, None)
    msg = format_message(c.VIR_ERR_INTERNAL_ERROR, str(exc) or type(exc).__name__)
    return (c.VIR_ERR_INTERNAL_ERROR, c.VIR_FROM_NONE, msg, c.VIR_ERR_ERROR, None, msg, None, None,
            -1, -1, None)


def error_from_wire(err: Any) -> LibvirtError:
    """A pyvirt error (of the family class for its code) from decoded ``remote_error`` fields."""
    code, domain, message, level, _dom, str1, str2, str3, int1, int2, _net = err
    text = message if message is not None else format_message(code)
    cls = error_class(code)
    return cls(text, code, domain, level, str1, str2, str3, int1, int2)


def encode_error(exc: BaseException) -> bytes:
    """The payload of a REPLY+ERROR packet for *exc*."""
    return codec(_ERROR).encode(error_to_wire(exc))


def decode_error(payload: bytes, offset: int = 0) -> LibvirtError:
    """The error carried by a REPLY+ERROR (or STREAM+ERROR) payload."""
    return error_from_wire(codec(_ERROR).decode(payload, offset))


# --- typed parameters ---------------------------------------------------------------------

TYPED_PARAM_NAMES = {
    c.VIR_TYPED_PARAM_INT: "int", c.VIR_TYPED_PARAM_UINT: "uint", c.VIR_TYPED_PARAM_LLONG: "llong",
    c.VIR_TYPED_PARAM_ULLONG: "ullong", c.VIR_TYPED_PARAM_DOUBLE: "double",
    c.VIR_TYPED_PARAM_BOOLEAN: "boolean", c.VIR_TYPED_PARAM_STRING: "string",
}


def param_type_of(value: Any) -> int:
    """A typed-parameter type for a bare Python value (when nothing better is known)."""
    if isinstance(value, bool):
        return c.VIR_TYPED_PARAM_BOOLEAN
    if isinstance(value, float):
        return c.VIR_TYPED_PARAM_DOUBLE
    if isinstance(value, str):
        return c.VIR_TYPED_PARAM_STRING
    if isinstance(value, int):
        if -2**31 <= value < 0:
            return c.VIR_TYPED_PARAM_INT
        if value < 0:
            return c.VIR_TYPED_PARAM_LLONG
        return c.VIR_TYPED_PARAM_ULLONG if value > 0xFFFFFFFF else c.VIR_TYPED_PARAM_UINT
    raise ProtocolError(f"Unable to encode message payload (typed parameter value {value!r})")


def _coerce(ptype: int, value: Any) -> Any:
    if ptype == c.VIR_TYPED_PARAM_BOOLEAN:
        return 1 if value else 0
    if ptype == c.VIR_TYPED_PARAM_DOUBLE:
        return float(value)
    if ptype == c.VIR_TYPED_PARAM_STRING:
        return str(value)
    return int(value)


def params_to_wire(params: Mapping[str, Any] | Iterable[tuple[str, int, Any]],
                   types: Mapping[str, int] | None = None) -> list[tuple[str, tuple[int, Any]]]:
    """``remote_typed_param`` list from a dict (types from *types*, else guessed from the
    values) or from ``(field, type, value)`` triples. A dict value may itself be a
    ``(type, value)`` pair."""
    out: list[tuple[str, tuple[int, Any]]] = []
    if isinstance(params, Mapping):
        for name, value in params.items():
            if isinstance(value, tuple) and len(value) == 2 and value[0] in TYPED_PARAM_NAMES:
                ptype, value = value
            elif types is not None and name in types:
                ptype = types[name]
            else:
                ptype = param_type_of(value)
            out.append((name, (ptype, _coerce(ptype, value))))
    else:
        for name, ptype, value in params:
            out.append((name, (ptype, _coerce(ptype, value))))
    return out


def params_from_wire(params: Iterable[Any], with_types: bool = False) -> dict[str, Any]:
    """A dict from decoded ``remote_typed_param`` values; booleans become bool.

    With *with_types* the values are ``(type, value)`` pairs. A field seen twice
    keeps its last value (libvirt's lists may repeat fields; use the raw list then).
    """
    out: dict[str, Any] = {}
    for name, (ptype, value) in params:
        if ptype == c.VIR_TYPED_PARAM_BOOLEAN:
            value = bool(value)
        out[name] = (ptype, value) if with_types else value
    return out
