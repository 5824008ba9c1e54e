#!/usr/bin/env python3
"""Generate pyvirt/rpc/_table.py from libvirt's XDR protocol definitions.

Reads the rpcgen ``.x`` files of a libvirt source tree (remote, qemu, lxc,
keepalive and the virnet framing) and writes one Python module of facts:
constants, every type as a nested tuple of field names and type expressions,
and every procedure with its argument/reply/message struct names and the
``@priority``, ``@acl``, ``@aclfilter``, ``@readstream``/``@writestream``
annotations. pyvirt.rpc builds its encoders and decoders from that module at
import time.

Usage: tools/gen_protocol.py [LIBVIRT_SRC_DIR] [-o OUTPUT]
(defaults: /work/ref/libvirt-9.0.0 and pyvirt/rpc/_table.py)

Type expressions in the output:
  "int" "uint" "hyper" "uhyper" "double" "float" "bool"   primitives (char/short widen to int/uint)
  "NAME"                        a named type (struct, union, typedef) from TYPES
  ("string", MAX)               XDR string, MAX None = unbounded
  ("opaque", MAX)  ("fopaque", N)   variable / fixed opaque data
  ("chars", MAX)   ("fchars", N)    char arrays: one char per 4-byte word
  ("array", T, MAX) ("farray", T, N)
  ("optional", T)               XDR pointer (``T *x``)
  TYPES entries: ("struct", ((field, T), ...)), ("union", T_discriminant,
  ((case_value, field, T), ...)), ("alias", T), ("enum", ((NAME, value), ...)).
"""

from __future__ import annotations

import argparse
import os
import pprint
import re
import sys
from typing import Any

FILES = [
    ("rpc/virnetprotocol.x", None),
    ("rpc/virkeepaliveprotocol.x", "KEEPALIVE"),
    ("remote/remote_protocol.x", "REMOTE"),
    ("remote/qemu_protocol.x", "QEMU"),
    ("remote/lxc_protocol.x", "LXC"),
]

# Constants the .x files take from C headers (values from libvirt's public headers).
EXTERNAL_CONSTS = {
    "VIR_UUID_BUFLEN": 16,
    "VIR_SECURITY_MODEL_BUFLEN": 257,
    "VIR_SECURITY_LABEL_BUFLEN": 4097,
    "VIR_SECURITY_DOI_BUFLEN": 257,
    "VIR_TYPED_PARAM_INT": 1,
    "VIR_TYPED_PARAM_UINT": 2,
    "VIR_TYPED_PARAM_LLONG": 3,
    "VIR_TYPED_PARAM_ULLONG": 4,
    "VIR_TYPED_PARAM_DOUBLE": 5,
    "VIR_TYPED_PARAM_BOOLEAN": 6,
    "VIR_TYPED_PARAM_STRING": 7,
}

# Char arrays that carry binary data rather than NUL-terminated text.
BINARY_CHAR_FIELDS = {
    ("remote_auth_sasl_start_args", "data"), ("remote_auth_sasl_start_ret", "data"),
    ("remote_auth_sasl_step_args", "data"), ("remote_auth_sasl_step_ret", "data"),
}

TOKEN_RE = re.compile(r"""
    (?P<comment>/\*.*?\*/)
  | (?P<line>//[^\n]*|%[^\n]*)
  | (?P<ws>\s+)
  | (?P<num>-?0[xX][0-9a-fA-F]+|-?\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}()<>\[\];:,=*])
""", re.VERBOSE | re.DOTALL)


class Parser:
    """A small recursive-descent parser for the rpcgen subset libvirt uses."""

    def __init__(self, text: str, consts: dict[str, int]) -> None:
        self.toks: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = TOKEN_RE.match(text, pos)
            if m is None:
                raise SyntaxError(f"bad input at {text[pos:pos + 40]!r}")
            pos = m.end()
            kind = m.lastgroup
            assert kind is not None
            if kind in ("ws", "line"):
                continue
            self.toks.append((kind, m.group()))
        self.i = 0
        self.consts = consts
        self.types: dict[str, Any] = {}
        self.enums: list[tuple[str, list[tuple[str, int, str | None]]]] = []

    # --- token helpers ---------------------------------------------------
    def _skip_comments(self) -> str | None:
        last = None
        while self.i < len(self.toks) and self.toks[self.i][0] == "comment":
            last = self.toks[self.i][1]
            self.i += 1
        return last

    def peek(self) -> str | None:
        self._skip_comments()
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def next(self) -> str:
        self._skip_comments()
        tok = self.toks[self.i][1]
        self.i += 1
        return tok

    def expect(self, want: str) -> None:
        tok = self.next()
        if tok != want:
            raise SyntaxError(f"expected {want!r}, got {tok!r} near token {self.i}")

    def value(self, tok: str) -> int:
        if re.fullmatch(r"-?0[xX][0-9a-fA-F]+|-?\d+", tok):
            return int(tok, 0)
        if tok in self.consts:
            return self.consts[tok]
        raise SyntaxError(f"unknown constant {tok}")

    # --- grammar ---------------------------------------------------------------
    def parse(self) -> None:
        while self.peek() is not None:
            kw = self.next()
            if kw == "const":
                name = self.next()
                self.expect("=")
                self.consts[name] = self.value(self.next())
                self.expect(";")
            elif kw == "typedef":
                name, texpr = self.declaration()
                self.types[name] = ("alias", texpr)
                self.expect(";")
            elif kw == "struct":
                name = self.next()
                self.types[name] = ("struct", self.struct_body(name))
                self.expect(";")
            elif kw == "union":
                name = self.next()
                self.types[name] = self.union_body()
                self.expect(";")
            elif kw == "enum":
                name = self.next()
                members = self.enum_body()
                self.enums.append((name, members))
                if not name.endswith("_procedure"):
                    self.types[name] = ("enum", tuple((m, v) for m, v, _ in members))
                self.expect(";")
            else:
                raise SyntaxError(f"unexpected {kw!r}")

    def struct_body(self, sname: str) -> tuple[tuple[str, Any], ...]:
        self.expect("{")
        fields = []
        while self.peek() != "}":
            fname, texpr = self.declaration()
            self.expect(";")
            if (sname, fname) in BINARY_CHAR_FIELDS and isinstance(texpr, tuple) and texpr[0] == "chars":
                texpr = ("opaque_chars", texpr[1])
            fields.append((fname, texpr))
        self.expect("}")
        return tuple(fields)

    def union_body(self) -> tuple[Any, ...]:
        self.expect("switch")
        self.expect("(")
        dtype = self.base_type()
        self.next()  # discriminant name
        self.expect(")")
        self.expect("{")
        arms: list[tuple[int, str | None, Any]] = []
        while self.peek() != "}":
            self.expect("case")
            val = self.value(self.next())
            self.expect(":")
            if self.peek() == "void":
                self.next()
                arms.append((val, None, None))
            else:
                fname, texpr = self.declaration()
                arms.append((val, fname, texpr))
            self.expect(";")
        self.expect("}")
        return ("union", dtype, tuple(arms))

    def enum_body(self) -> list[tuple[str, int, str | None]]:
        self.expect("{")
        members = []
        nxt = 0
        while True:
            comment = self._skip_comments()
            tok = self.next()
            if tok == "}":
                break
            val = nxt
            if self.peek() == "=":
                self.next()
                val = self.value(self.next())
            members.append((tok, val, comment))
            self.consts[tok] = val
            nxt = val + 1
            if self.peek() == ",":
                self.next()
        return members

    def base_type(self) -> str:
        tok = self.next()
        if tok == "unsigned":
            nxt = self.peek()
            if nxt in ("int", "hyper", "char", "short", "long"):
                self.next()
                return {"int": "uint", "hyper": "uhyper", "char": "uchar", "short": "ushort",
                        "long": "uint"}[nxt]
            return "uint"
        if tok == "struct":
            return self.next()
        return {"long": "int"}.get(tok, tok)

    def declaration(self) -> tuple[str, Any]:
        t = self.base_type()
        pointer = False
        if self.peek() == "*":
            self.next()
            pointer = True
        name = self.next()
        texpr: Any
        if self.peek() == "<":
            self.next()
            limit = None
            if self.peek() != ">":
                limit = self.value(self.next())
            self.expect(">")
            if t == "string":
                texpr = ("string", limit)
            elif t == "opaque":
                texpr = ("opaque", limit)
            elif t in ("char", "uchar"):
                texpr = ("chars", limit)
            else:
                texpr = ("array", self.prim(t), limit)
        elif self.peek() == "[":
            self.next()
            n = self.value(self.next())
            self.expect("]")
            if t == "opaque":
                texpr = ("fopaque", n)
            elif t in ("char", "uchar"):
                texpr = ("fchars", n)
            else:
                texpr = ("farray", self.prim(t), n)
        else:
            texpr = self.prim(t)
        if pointer:
            texpr = ("optional", texpr)
        return name, texpr

    @staticmethod
    def prim(t: str) -> str:
        # XDR has no narrow integers: rpcgen encodes char/short as 4-byte words.
        return {"char": "int", "short": "int", "uchar": "uint", "ushort": "uint"}.get(t, t)


ANNOT_RE = re.compile(r"@(\w+):\s*([^\n*]*)")


def parse_annotations(comment: str | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if comment:
        for key, val in ANNOT_RE.findall(comment):
            out.setdefault(key, []).append(val.strip())
    return out


def parse_acl(rule: str) -> tuple[Any, ...]:
    """'domain:write:FLAG' -> ('domain', 'write', 'FLAG', None, None); '::param:VALUE' too."""
    if rule == "none":
        return ("none", "none", None, None, None)
    parts = rule.split(":")
    obj, perm = parts[0], parts[1]
    flag = parts[2] if len(parts) > 2 and parts[2] else None
    param = parts[3] if len(parts) > 4 else None
    pval = parts[4] if len(parts) > 4 else None
    return (obj, perm, flag, param, pval)


# Typed-parameter fields whose header comment does not name their type.
EXTRA_PARAM_TYPES = {
    "poll_max_ns": "ULLONG", "poll_grow": "UINT", "poll_shrink": "UINT", "listen_address": "STRING",
    "migrate_disks": "STRING", "compression": "STRING", "file": "STRING", "dxml": "STRING",
    "bandwidth": "ULLONG", "errmsg": "STRING",
}
_PARAM_WORDS = {"unsigned long long": "ULLONG", "unsigned int": "UINT", "long long": "LLONG",
                "ullong": "ULLONG", "llong": "LLONG", "uint": "UINT", "int": "INT",
                "boolean": "BOOLEAN", "string": "STRING", "double": "DOUBLE"}


def param_types(src: str) -> dict[str, int]:
    """Typed-parameter field name -> VIR_TYPED_PARAM_* from the comments of libvirt's headers."""
    import glob
    text = ""
    for path in sorted(glob.glob(os.path.join(src, "include", "libvirt", "*.h"))):
        with open(path, encoding="utf-8") as fh:
            text += fh.read()
    found: dict[str, str] = {}
    for m in re.finditer(r'/\*\*(.*?)\*/\s*#\s*define\s+VIR_(\w+)\s+"([^"]*)"', text, re.S):
        comment, macro, name = m.groups()
        if macro.startswith("PERF_PARAM_"):
            found[name] = "BOOLEAN"
            continue
        tm = re.search(r"VIR_TYPED_PARAM_(INT|UINT|LLONG|ULLONG|DOUBLE|BOOLEAN|STRING)\b", comment)
        if tm:
            found[name] = tm.group(1)
            continue
        w = re.search(r"\bas (?:an? )?(unsigned long long|unsigned int|long long|ullong|llong|uint|int|"
                      r"boolean|string|double)\b", comment.lower())
        if w:
            found[name] = _PARAM_WORDS[w.group(1)]
    for name, kind in EXTRA_PARAM_TYPES.items():
        found.setdefault(name, kind)
    return {name: EXTERNAL_CONSTS["VIR_TYPED_PARAM_" + kind] for name, kind in sorted(found.items())}


def generate(src: str) -> str:
    consts: dict[str, int] = dict(EXTERNAL_CONSTS)
    types: dict[str, Any] = {}
    programs: dict[str, tuple[int, int]] = {}
    procs: list[tuple[Any, ...]] = []
    for rel, prog in FILES:
        with open(os.path.join(src, "src", rel), encoding="utf-8") as fh:
            p = Parser(fh.read(), consts)
        p.parse()
        types.update(p.types)
        if prog is None:
            continue
        programs[prog] = (consts[f"{prog}_PROGRAM"], consts[f"{prog}_PROTOCOL_VERSION"])
        prefix = prog.lower() + "_"
        for ename, members in p.enums:
            if not ename.endswith("_procedure"):
                continue
            for mname, num, comment in members:
                short = mname[len(prog) + len("_PROC_"):]
                base = prefix + short.lower()
                ann = parse_annotations(comment)
                msg = base + "_msg" in types or prog == "KEEPALIVE"
                args = base + "_args" if base + "_args" in types else None
                ret = base + "_ret" if base + "_ret" in types else None
                stream = None
                if ann.get("readstream"):
                    stream = ("read", int(ann["readstream"][0]))
                elif ann.get("writestream"):
                    stream = ("write", int(ann["writestream"][0]))
                procs.append((
                    prog, num, short,
                    (base + "_msg" if base + "_msg" in types else None) if msg else args,
                    None if msg else ret,
                    "message" if msg else "call",
                    (ann.get("priority") or ["low"])[0],
                    tuple(parse_acl(a) for a in ann.get("acl", [])),
                    tuple(ann.get("aclfilter", [])),
                    stream,
                    bool(ann.get("sparseflag")),
                ))
    used_consts = {k: v for k, v in consts.items()
                   if k.endswith(("_MAX", "_PROGRAM", "_VERSION", "_LEN", "_INITIAL", "_BUFLEN"))
                   or k.startswith(("VIR_NET_", "REMOTE_AUTH_"))}
    out = [
        '"""libvirt 9.0 wire protocol facts, generated by tools/gen_protocol.py. Do not edit.',
        "",
        "Format: see tools/gen_protocol.py. PROCEDURES rows are (program, number, name,",
        "payload struct (args, or the message body for kind 'message'), reply struct, kind,",
        "priority, acl rules (object, permission, flag, param, value), aclfilters, stream, sparse).",
        '"""',
        "# fmt: off",
        "# mypy: ignore-errors",
        "from typing import Any",
        "",
        "CONSTS: dict[str, int] = " + pprint.pformat(used_consts, width=100, sort_dicts=True),
        "",
        "PROGRAMS: dict[str, tuple[int, int]] = " + pprint.pformat(programs, width=100),
        "",
        "TYPES: dict[str, Any] = {",
    ]
    for name in sorted(types):
        out.append(f"    {name!r}: {types[name]!r},")
    out.append("}")
    out.append("")
    out.append("# Typed-parameter field -> VIR_TYPED_PARAM_* (from libvirt's header comments).")
    out.append("PARAM_TYPES: dict[str, int] = " + pprint.pformat(param_types(src), width=100, compact=True))
    out.append("")
    out.append("PROCEDURES: tuple[tuple[Any, ...], ...] = (")
    for row in procs:
        out.append(f"    {row!r},")
    out.append(")")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", nargs="?", default="/work/ref/libvirt-9.0.0")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("-o", "--output", default=os.path.join(here, "..", "pyvirt", "rpc", "_table.py"))
    args = ap.parse_args(argv)
    text = generate(args.src)
    with open(args.output, "w", encoding="utf-8") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
