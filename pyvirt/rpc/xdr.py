"""An XDR (RFC 4506) codec compiler for the types in :mod:`pyvirt.rpc._table`.

Each named type compiles, on first use, to a pair of plain Python functions
generated as source and ``exec``-ed once: runs of fixed-size fields become a
single precompiled ``struct.Struct`` call, strings and arrays are inlined, and
no per-field helper objects exist at run time. Values are:

* struct -> a NamedTuple (fields in wire order; the ``remote_nonnull_*`` handles
  map to the Ref tuples of :mod:`pyvirt.drivers.base`), encoded from any tuple
* union -> ``(discriminant, value)``; optional (``T *``) -> value or None
* string -> str (UTF-8, undecodable bytes kept as surrogates); opaque -> bytes
* char arrays -> str without the NUL (binary SASL data -> bytes)
* arrays -> list; int/uint/hyper/enum -> int; double -> float

Every decoding failure (truncated data, bad lengths, limits, bad UTF-8 in
opaque-to-str, unknown union arms) raises :class:`ProtocolError`; decoders
check counts against the bytes that remain before allocating anything.
"""

from __future__ import annotations

import collections
import itertools
import keyword
import struct
import threading
from typing import Any, Callable

from .. import constants as c
from ..errors import ConnectionError_, format_message
from . import _table

__all__ = ["ProtocolError", "Codec", "codec", "VOID", "type_names", "field_names", "register_class"]

UNBOUNDED = 0xFFFFFFFF


class ProtocolError(ConnectionError_):
    """Malformed or oversized wire data (VIR_ERR_RPC from VIR_FROM_RPC)."""

    def __init__(self, detail: str) -> None:
        msg = format_message(c.VIR_ERR_RPC, detail)
        super().__init__(msg, c.VIR_ERR_RPC, c.VIR_FROM_RPC, str1=msg)


_DECODE_ERRORS = (struct.error, IndexError, ValueError, TypeError, UnicodeError, OverflowError, KeyError)
_ENCODE_ERRORS = (struct.error, IndexError, ValueError, TypeError, UnicodeError, OverflowError,
                  AttributeError)


class Codec:
    """Encoder and decoder of one XDR type."""

    __slots__ = ("name", "cls", "min_size", "_enc", "_dec")

    def __init__(self, name: str, enc: Callable[[Any, bytearray], None],
                 dec: Callable[[bytes, int], tuple[Any, int]], cls: type | None, min_size: int) -> None:
        self.name = name
        self.cls = cls
        self.min_size = min_size
        self._enc = enc
        self._dec = dec

    def encode(self, value: Any) -> bytes:
        """XDR bytes of *value*; ProtocolError when it does not fit the type."""
        out = bytearray()
        try:
            self._enc(value, out)
        except ProtocolError:
            raise
        except _ENCODE_ERRORS as exc:
            raise ProtocolError(f"Unable to encode message payload ({self.name}: {exc})") from None
        return bytes(out)

    def encode_into(self, value: Any, out: bytearray) -> None:
        """Append the XDR bytes of *value* to *out*."""
        try:
            self._enc(value, out)
        except ProtocolError:
            raise
        except _ENCODE_ERRORS as exc:
            raise ProtocolError(f"Unable to encode message payload ({self.name}: {exc})") from None

    def decode(self, data: bytes, offset: int = 0) -> Any:
        """Decode one value from *data* at *offset*; trailing bytes are ignored (as libvirt does)."""
        return self.decode_from(data, offset)[0]

    def decode_from(self, data: bytes, offset: int = 0) -> tuple[Any, int]:
        """Decode one value; returns it and the offset after it."""
        if not isinstance(data, bytes):
            data = bytes(data)
        try:
            return self._dec(data, offset)
        except ProtocolError:
            raise
        except RecursionError:
            raise ProtocolError("Unable to decode message payload (nesting too deep)") from None
        except _DECODE_ERRORS:
            raise ProtocolError("Unable to decode message payload") from None

    def __repr__(self) -> str:
        return f"Codec({self.name!r})"


# ---------------------------------------------------------------------------------------------
# The compiler

_PRIM = {"int": "i", "uint": "I", "hyper": "q", "uhyper": "Q", "double": "d", "float": "f",
         "bool": "I"}
_PRIM_SIZE = {"i": 4, "I": 4, "q": 8, "Q": 8, "d": 8, "f": 4}
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")

_types: dict[str, Any] = _table.TYPES
_lock = threading.RLock()
_codecs: dict[str, Codec] = {}
# Classes used for decoded structs instead of generated NamedTuples: name -> (class, order),
# where order lists, for each constructor argument of the class, the wire field index.
_class_overrides: dict[str, tuple[type, tuple[int, ...]]] = {}


def _err(msg: str) -> ProtocolError:
    return ProtocolError(msg)


def _bad_enc(what: str) -> ProtocolError:
    return ProtocolError(f"Unable to encode message payload ({what})")


def _chars_dec(vals: tuple[int, ...], text: bool) -> Any:
    raw = bytes([v & 0xFF for v in vals])
    if not text:
        return raw
    cut = raw.find(b"\0")
    if cut >= 0:
        raw = raw[:cut]
    return raw.decode("utf-8", "surrogateescape")


def _chars_enc(v: Any, fixed: int | None, limit: int | None) -> tuple[int, ...]:
    if isinstance(v, str):
        raw = v.encode("utf-8", "surrogateescape") + b"\0"
    else:
        raw = bytes(v)
    if fixed is not None:
        if len(raw) > fixed:
            if isinstance(v, str) and len(raw) == fixed + 1:
                raw = raw[:fixed]  # no room for the NUL: libvirt copies at most N bytes
            else:
                raise _bad_enc(f"char[{fixed}] value too long")
        raw = raw.ljust(fixed, b"\0")
    elif limit is not None and len(raw) > limit:
        raise _bad_enc(f"char<{limit}> value too long")
    return tuple(b - 256 if b > 127 else b for b in raw)


_counter = itertools.count()
_struct_names: dict[str, str] = {}  # struct format -> its name in _NS
_NS: dict[str, Any] = {
    "_S": struct.Struct, "_unpack_from": struct.unpack_from, "_pack": struct.pack,
    "_U32": struct.Struct(">I"), "_I32": struct.Struct(">i"),
    "_PAD": _PAD, "_err": _err, "_bad_enc": _bad_enc, "_tn": tuple.__new__,
    "_chars_dec": _chars_dec, "_chars_enc": _chars_enc, "_ProtocolError": ProtocolError,
}


def _resolve(t: Any) -> Any:
    """Follow aliases and enums to the underlying type expression."""
    while isinstance(t, str) and t not in _PRIM and t in _types:
        kind = _types[t][0]
        if kind == "alias":
            t = _types[t][1]
        elif kind == "enum":
            t = "int"
        else:
            break
    return t


def _min_size(t: Any, depth: int = 0) -> int:
    t = _resolve(t)
    if depth > 50:
        return 0
    if isinstance(t, str):
        if t in _PRIM:
            return _PRIM_SIZE[_PRIM[t]]
        if t == "void":
            return 0
        kind = _types[t][0]
        if kind == "struct":
            return sum(_min_size(ft, depth + 1) for _, ft in _types[t][1])
        if kind == "union":
            arms = [_min_size(at, depth + 1) if at is not None else 0 for _, _, at in _types[t][2]]
            return 4 + (min(arms) if arms else 0)
        raise KeyError(t)
    kind = t[0]
    if kind in ("string", "opaque", "chars", "opaque_chars", "array", "optional"):
        return 4
    if kind == "fopaque":
        return (t[1] + 3) & ~3
    if kind == "fchars":
        return 4 * t[1]
    if kind == "farray":
        return t[2] * _min_size(t[1], depth + 1)
    raise KeyError(repr(t))


def _fixed_code(t: Any) -> str | None:
    """The struct format of a fixed-size type that packs without conversion, else None."""
    t = _resolve(t)
    if isinstance(t, str) and t in _PRIM and t != "bool":
        return _PRIM[t]
    if isinstance(t, tuple) and t[0] == "fopaque":
        n = t[1]
        return f"{n}s" + ("x" * ((4 - n % 4) % 4))
    return None


def _fixed_size(code: str) -> int:
    return struct.calcsize(">" + code)


class _Gen:
    """Emits the source of one encoder and one decoder."""

    def __init__(self) -> None:
        self.enc: list[str] = []
        self.dec: list[str] = []
        self.n = 0
        self.consts: dict[str, Any] = {}
        self.deps: set[str] = set()

    def tmp(self, base: str = "t") -> str:
        self.n += 1
        return f"{base}{self.n}"

    def const(self, value: Any, base: str = "K") -> str:
        name = f"_{base}{next(_counter)}"
        self.consts[name] = value
        return name

    def struct_const(self, fmt: str) -> str:
        name = _struct_names.get(fmt)
        if name is None:
            name = f"_S{next(_counter)}"
            _NS[name] = struct.Struct(fmt)
            _struct_names[fmt] = name
        return name

    # --- encoding -----------------------------------------------------------------
    def e(self, t: Any, v: str, ind: str) -> None:
        """Append code encoding expression *v* of type *t*."""
        t = _resolve(t)
        out = self.enc
        if isinstance(t, str):
            if t == "bool":
                out.append(f"{ind}o += _U32.pack(1 if {v} else 0)")
            elif t in _PRIM:
                s = self.struct_const(">" + _PRIM[t])
                out.append(f"{ind}o += {s}.pack({v})")
            else:
                self.deps.add(t)
                out.append(f"{ind}_e_{t}({v}, o)")
            return
        kind = t[0]
        if kind in ("string", "opaque"):
            lim = t[1] if t[1] is not None else UNBOUNDED
            x, n = self.tmp("x"), self.tmp("n")
            if kind == "string":
                out.append(f"{ind}{x} = {v}.encode('utf-8', 'surrogateescape')")
            else:
                out.append(f"{ind}{x} = {v}")
            out.append(f"{ind}{n} = len({x})")
            out.append(f"{ind}if {n} > {lim}: raise _bad_enc('{kind} longer than {lim}')")
            out.append(f"{ind}o += _U32.pack({n}); o += {x}; o += _PAD[{n} & 3]")
        elif kind == "fopaque":
            n = t[1]
            out.append(f"{ind}if len({v}) != {n}: raise _bad_enc('opaque[{n}] of wrong length')")
            out.append(f"{ind}o += {v}")
            if n % 4:
                out.append(f"{ind}o += {_PAD[n % 4]!r}")
        elif kind in ("chars", "opaque_chars", "fchars"):
            x = self.tmp("x")
            if kind == "fchars":
                out.append(f"{ind}{x} = _chars_enc({v}, {t[1]}, None)")
                out.append(f"{ind}o += _pack('>{t[1]}i', *{x})")
            else:
                out.append(f"{ind}{x} = _chars_enc({v}, None, {t[1]})")
                out.append(f"{ind}o += _U32.pack(len({x})); o += _pack('>%di' % len({x}), *{x})")
        elif kind in ("array", "farray"):
            elem = t[1]
            lim = t[2] if t[2] is not None else UNBOUNDED
            n = self.tmp("n")
            out.append(f"{ind}{n} = len({v})")
            if kind == "array":
                out.append(f"{ind}if {n} > {lim}: raise _bad_enc('array longer than {lim}')")
                out.append(f"{ind}o += _U32.pack({n})")
            else:
                out.append(f"{ind}if {n} != {lim}: raise _bad_enc('array[{lim}] of wrong length')")
            code = _fixed_code(elem)
            if code is not None and not code.endswith(("s", "x")):
                out.append(f"{ind}o += _pack('>%d{code}' % {n}, *{v})")
            else:
                it = self.tmp("i")
                out.append(f"{ind}for {it} in {v}:")
                self.e(elem, it, ind + "    ")
        elif kind == "optional":
            out.append(f"{ind}if {v} is None: o += b'\\0\\0\\0\\0'")
            out.append(f"{ind}else:")
            out.append(f"{ind}    o += b'\\0\\0\\0\\1'")
            self.e(t[1], v, ind + "    ")
        else:
            raise KeyError(repr(t))

    # --- decoding -----------------------------------------------------------------
    def d(self, t: Any, target: str, ind: str) -> None:
        """Append code decoding one value of type *t* at b[p:] into *target*, advancing p."""
        t = _resolve(t)
        out = self.dec
        if isinstance(t, str):
            if t in _PRIM:
                code = _PRIM[t]
                s = self.struct_const(">" + code)
                size = _PRIM_SIZE[code]
                if t == "bool":
                    out.append(f"{ind}{target} = {s}.unpack_from(b, p)[0] != 0; p += 4")
                else:
                    out.append(f"{ind}{target} = {s}.unpack_from(b, p)[0]; p += {size}")
            else:
                self.deps.add(t)
                out.append(f"{ind}{target}, p = _d_{t}(b, p)")
            return
        kind = t[0]
        if kind in ("string", "opaque"):
            lim = t[1] if t[1] is not None else UNBOUNDED
            n = self.tmp("n")
            out.append(f"{ind}{n} = _U32.unpack_from(b, p)[0]; p += 4")
            out.append(f"{ind}if {n} > {lim} or p + (({n} + 3) & ~3) > len(b): "
                       f"raise _err('Unable to decode message payload ({kind} length %d)' % {n})")
            if kind == "string":
                out.append(f"{ind}{target} = b[p:p + {n}].decode('utf-8', 'surrogateescape')")
            else:
                out.append(f"{ind}{target} = b[p:p + {n}]")
            out.append(f"{ind}p += ({n} + 3) & ~3")
        elif kind == "fopaque":
            n = t[1]
            out.append(f"{ind}if p + {(n + 3) & ~3} > len(b): raise _err('Unable to decode message payload')")
            out.append(f"{ind}{target} = b[p:p + {n}]; p += {(n + 3) & ~3}")
        elif kind in ("chars", "opaque_chars", "fchars"):
            text = kind != "opaque_chars"
            if kind == "fchars":
                out.append(f"{ind}{target} = _chars_dec(_unpack_from('>{t[1]}i', b, p), True); p += {4 * t[1]}")
            else:
                lim = t[1] if t[1] is not None else UNBOUNDED
                n = self.tmp("n")
                out.append(f"{ind}{n} = _U32.unpack_from(b, p)[0]; p += 4")
                out.append(f"{ind}if {n} > {lim} or p + 4 * {n} > len(b): "
                           f"raise _err('Unable to decode message payload (char array length %d)' % {n})")
                out.append(f"{ind}{target} = _chars_dec(_unpack_from('>%di' % {n}, b, p), {text}); p += 4 * {n}")
        elif kind in ("array", "farray"):
            elem = t[1]
            lim = t[2] if t[2] is not None else UNBOUNDED
            msz = max(_min_size(elem), 1)
            n = self.tmp("n")
            if kind == "array":
                out.append(f"{ind}{n} = _U32.unpack_from(b, p)[0]; p += 4")
                out.append(f"{ind}if {n} > {lim} or {n} * {msz} > len(b) - p: "
                           f"raise _err('Unable to decode message payload (array length %d)' % {n})")
            else:
                out.append(f"{ind}{n} = {lim}")
            ecode = _fixed_code(elem)
            if ecode is not None and not ecode.endswith(("s", "x")):
                size = _PRIM_SIZE[ecode]
                out.append(f"{ind}{target} = list(_unpack_from('>%d{ecode}' % {n}, b, p)); p += {size} * {n}")
            else:
                lst, it = self.tmp("l"), self.tmp("v")
                out.append(f"{ind}{lst} = []")
                out.append(f"{ind}for _ in range({n}):")
                self.d(elem, it, ind + "    ")
                out.append(f"{ind}    {lst}.append({it})")
                out.append(f"{ind}{target} = {lst}")
        elif kind == "optional":
            out.append(f"{ind}if _U32.unpack_from(b, p)[0]:")
            out.append(f"{ind}    p += 4")
            self.d(t[1], target, ind + "    ")
            out.append(f"{ind}else:")
            out.append(f"{ind}    p += 4; {target} = None")
        else:
            raise KeyError(repr(t))


def _py_field(name: str) -> str:
    if keyword.iskeyword(name) or not name.isidentifier() or name.startswith("_"):
        return name.lstrip("_") + "_"
    return name


def field_names(type_name: str) -> tuple[str, ...]:
    """Python field names of struct *type_name* (keywords get a trailing ``_``: ``from_``)."""
    return tuple(_py_field(f) for f, _ in _types[type_name][1])


def register_class(type_name: str, cls: type, order: tuple[int, ...] | None = None) -> None:
    """Decode struct *type_name* into *cls* (a tuple subclass); *order*: wire index per class field."""
    n = len(_types[type_name][1])
    _class_overrides[type_name] = (cls, tuple(order) if order is not None else tuple(range(n)))
    _codecs.pop(type_name, None)


def _compile_struct(name: str, fields: tuple[tuple[str, Any], ...], g: _Gen) -> type:
    override = _class_overrides.get(name)
    cls: type
    if override is not None:
        cls, order = override
    else:
        cls = collections.namedtuple(name, [_py_field(f) for f, _ in fields])  # type: ignore[misc,no-redef]
        order = tuple(range(len(fields)))
    cname = g.const(cls, "C")
    nf = len(fields)
    fvars = [f"f{i}" for i in range(nf)]
    # encoder: take the wire-order values out of the value
    g.enc.append(f"def _e_{name}(v, o):")
    if nf == 0:
        g.enc.append("    pass")
    else:
        inv = {wire: pos for pos, wire in enumerate(order)}
        if order == tuple(range(nf)):
            g.enc.append(f"    {', '.join(fvars)}{',' if nf == 1 else ''} = v")
        else:
            for i in range(nf):
                g.enc.append(f"    f{i} = v[{inv[i]}]")
    # decoder
    g.dec.append(f"def _d_{name}(b, p):")
    i = 0
    while i < nf:
        code = _fixed_code(fields[i][1])
        if code is not None:
            j = i
            codes = []
            while j < nf and _fixed_code(fields[j][1]) is not None:
                codes.append(_fixed_code(fields[j][1]))
                j += 1
            fmt = ">" + "".join(codes)  # type: ignore[arg-type]
            s = g.struct_const(fmt)
            names = fvars[i:j]
            lhs = ", ".join(names) + ("," if len(names) == 1 else "")
            for k in range(i, j):
                ft = _resolve(fields[k][1])
                if isinstance(ft, tuple) and ft[0] == "fopaque":
                    g.enc.append(f"    if len(f{k}) != {ft[1]}: raise _bad_enc('opaque[{ft[1]}] of wrong length')")
            g.enc.append(f"    o += {s}.pack({', '.join(names)})")
            g.dec.append(f"    {lhs} = {s}.unpack_from(b, p); p += {_fixed_size(fmt[1:])}")
            i = j
        else:
            g.e(fields[i][1], fvars[i], "    ")
            g.d(fields[i][1], fvars[i], "    ")
            i += 1
    args = ", ".join(fvars[w] for w in order)
    g.dec.append(f"    return _tn({cname}, ({args}{',' if nf == 1 else ''})), p")
    return cls


def _compile_union(name: str, spec: tuple[Any, ...], g: _Gen) -> None:
    _, dtype, arms = spec
    dcode = _PRIM.get(_resolve(dtype), "i")
    ds = g.struct_const(">" + dcode)
    g.enc.append(f"def _e_{name}(v, o):")
    g.enc.append("    d, x = v")
    g.enc.append(f"    o += {ds}.pack(d)")
    g.dec.append(f"def _d_{name}(b, p):")
    g.dec.append(f"    d = {ds}.unpack_from(b, p)[0]; p += 4")
    kw = "if"
    for val, _fname, atype in arms:
        g.enc.append(f"    {kw} d == {val}:")
        g.dec.append(f"    {kw} d == {val}:")
        if atype is None:
            g.enc.append("        pass")
            g.dec.append("        x = None")
        else:
            g.e(atype, "x", "        ")
            g.d(atype, "x", "        ")
        kw = "elif"
    g.enc.append("    else: raise _bad_enc('unknown union discriminant %r' % (d,))")
    g.dec.append("    else: raise _err('Unable to decode message payload (union discriminant %d)' % d)")
    g.dec.append("    return (d, x), p")


def _compile_expr(name: str, t: Any, g: _Gen) -> None:
    g.enc.append(f"def _e_{name}(v, o):")
    g.e(t, "v", "    ")
    g.enc.append("    return")
    g.dec.append(f"def _d_{name}(b, p):")
    g.d(t, "x", "    ")
    g.dec.append("    return x, p")


def codec(name: str) -> Codec:
    """The codec of the named XDR type (struct, union, typedef or enum), compiled on first use."""
    found = _codecs.get(name)
    if found is not None:
        return found
    with _lock:
        found = _codecs.get(name)
        if found is not None:
            return found
        if name not in _types:
            raise KeyError(f"unknown XDR type {name!r}")
        spec = _types[name]
        g = _Gen()
        cls = None
        if spec[0] == "struct":
            cls = _compile_struct(name, spec[1], g)
        elif spec[0] == "union":
            _compile_union(name, spec, g)
        elif spec[0] == "alias":
            _compile_expr(name, spec[1], g)
        elif spec[0] == "enum":
            _compile_expr(name, "int", g)
        else:
            raise KeyError(name)
        for dep in sorted(g.deps):
            if dep != name:
                codec(dep)
        _NS.update(g.consts)
        src = "\n".join(g.enc) + "\n\n" + "\n".join(g.dec) + "\n"
        exec(compile(src, f"<xdr {name}>", "exec"), _NS)  # noqa: S102 - generated from the table
        made = Codec(name, _NS[f"_e_{name}"], _NS[f"_d_{name}"], cls, _min_size(name))
        _codecs[name] = made
        return made


def _void_enc(v: Any, o: bytearray) -> None:
    if v not in (None, ()):
        raise _bad_enc("void takes no value")


def _void_dec(b: bytes, p: int) -> tuple[Any, int]:
    return None, p


#: The codec of an empty payload (procedures without args or ret).
VOID = Codec("void", _void_enc, _void_dec, None, 0)


def type_names() -> list[str]:
    """Every named type in the table."""
    return sorted(_types)
