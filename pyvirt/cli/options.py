"""Command and option definitions, and virsh's command-line parser.

The facts about every virsh command (names, option types and order, help text) are in
cmddefs.json, regenerated from the reference virsh by tests/cli/gen_cmddefs.py.
"""
from __future__ import annotations

import importlib
import marshal
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

BOOL, INT, STRING, DATA, ARGV = "bool", "int", "string", "data", "argv"


class CmdError(Exception):
    """A command failed; the message (if any) was already printed."""


class ParseError(Exception):
    """A command line could not be parsed; the message (if any) was already printed."""


@dataclass(frozen=True)
class OptDef:
    """One option of a command (vshCmdOptDef)."""

    name: str
    type: str
    required: bool = False
    req_opt: bool = False
    empty_ok: bool = False
    help: str = ""


Handler = Callable[[Any, "Cmd"], bool]


@dataclass
class CmdDef:
    """One command (vshCmdDef)."""

    name: str
    help: str
    desc: str | None
    opts: list[OptDef]
    text: str
    aliases: dict[str, str] = field(default_factory=dict)
    noconnect: bool = False
    hidden: bool = False
    handler: Handler | None = None

    def need_arg(self) -> list[int]:
        """Indexes of options that can be given positionally, in order."""
        return [i for i, o in enumerate(self.opts) if o.type != BOOL and not o.req_opt]


@dataclass
class Group:
    name: str
    keyword: str
    commands: list[str]


def _make_cmd(name: str, d: dict[str, Any]) -> CmdDef:
    opts = [OptDef(o["name"], o["type"], o["required"], o.get("req_opt", False),
                   o.get("empty_ok", False), o["help"]) for o in d["opts"]]
    return CmdDef(name, d["help"], d["desc"], opts, d["text"], d["opt_aliases"],
                  d.get("noconnect", False), d.get("hidden", False))


class CommandTable(Mapping[str, CmdDef]):
    """name -> CmdDef, each built from cmddefs.json the first time it is asked for.

    A one-shot pyvirsh run touches one or two of ~250 commands; building them all
    cost more than the command itself.
    """

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw
        self._built: dict[str, CmdDef] = {}

    def __getitem__(self, name: str) -> CmdDef:
        df = self._built.get(name)
        if df is None:
            raw = self._raw[name]
            if isinstance(raw, bytes):  # from the marshal cache
                raw = marshal.loads(raw)
            df = self._built[name] = _make_cmd(name, raw)
        return df

    def __contains__(self, name: object) -> bool:
        return name in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


_DEFS = os.path.join(os.path.dirname(__file__), "cmddefs.json")
_CACHE = os.path.join(os.path.dirname(__file__), "__pycache__",
                      f"cmddefs.{sys.implementation.cache_tag}.marshal")


def write_defs_cache() -> bool:
    """Write the marshal copy of cmddefs.json that start-up reads instead (like a .pyc).

    Returns False where the package directory is not writable (the JSON is read then).
    """
    import json

    st = os.stat(_DEFS)
    with open(_DEFS, encoding="utf-8") as fh:
        raw = json.load(fh)
    tmp = f"{_CACHE}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(_CACHE), exist_ok=True)
        # each command stays marshalled until asked for: a run decodes one or two, and
        # thousands of decoded dicts would also slow every garbage collection down
        packed = dict(raw, commands={k: marshal.dumps(v) for k, v in raw["commands"].items()})
        with open(tmp, "wb") as out:
            marshal.dump(((st.st_mtime_ns, st.st_size), packed), out)
        os.replace(tmp, _CACHE)
    except OSError:
        return False
    return True


def _read_defs() -> dict[str, Any]:
    """cmddefs.json's content, from its marshal copy when that is current (half the cost)."""
    st = os.stat(_DEFS)
    try:
        with open(_CACHE, "rb") as fh:
            key, raw = marshal.load(fh)
        if key == (st.st_mtime_ns, st.st_size):
            return raw
    except (OSError, EOFError, ValueError, TypeError):
        pass
    if not sys.dont_write_bytecode:
        write_defs_cache()  # for the next run
    import json

    with open(_DEFS, encoding="utf-8") as fh:
        return json.load(fh)


def _load() -> tuple[list[Group], CommandTable, dict[str, str]]:
    # a plain file next to this module: importlib.resources costs more to import than the read
    raw = _read_defs()
    groups = [Group(g["name"], g["keyword"], g["commands"]) for g in raw["groups"]]
    return groups, CommandTable(raw["commands"]), raw["command_aliases"]


GROUPS, COMMANDS, COMMAND_ALIASES = _load()


def command(name: str) -> Callable[[Handler], Handler]:
    """Register the handler of a virsh command."""

    def deco(fn: Handler) -> Handler:
        COMMANDS[name].handler = fn
        return fn

    return deco


def handler_of(df: CmdDef) -> Handler | None:
    """The handler of *df*, importing the module that defines it on first use."""
    if df.handler is None:
        from .handlers import HANDLER_MODULES

        mod = HANDLER_MODULES.get(df.name)
        if mod is not None:
            importlib.import_module(f"{__package__}.{mod}")
        else:  # a command the generated map does not know yet: load every module
            importlib.import_module(f"{__package__}.commands")
    return df.handler


def lookup_command(name: str) -> CmdDef | None:
    """Find a command by name or alias."""
    if name in COMMAND_ALIASES:
        name = COMMAND_ALIASES[name]
    return COMMANDS.get(name)


@dataclass
class Cmd:
    """A parsed command: its definition and the options given, in order."""

    df: CmdDef
    opts: list[tuple[OptDef, str | None]]

    def _get(self, name: str) -> tuple[OptDef, str | None] | None:
        for o, v in self.opts:
            if o.name == name:
                return o, v
        return None

    def has(self, name: str) -> bool:
        return self._get(name) is not None

    def bool(self, name: str) -> bool:
        return self.has(name)

    def argv(self, name: str) -> list[str]:
        return [v for o, v in self.opts if o.name == name and v is not None]


# --- tokenizers -------------------------------------------------------------------------

ARG, END_CMD, END = "arg", "subcmd_end", "end"


class ArgvTokens:
    """Tokens taken from an argv list, one command (vshCommandArgvGetArg)."""

    def __init__(self, args: list[str]) -> None:
        self.args = list(args)
        self.pos = 0

    def next(self, err: Callable[[str], None] | None) -> tuple[str, str | None]:
        if self.pos >= len(self.args):
            return END, None
        self.pos += 1
        return ARG, self.args[self.pos - 1]


class StringTokens:
    """Tokens taken from a command string with shell-like quoting (vshCommandStringGetArg)."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.pos = 0

    def next(self, err: Callable[[str], None] | None) -> tuple[str, str | None]:
        s, p = self.s, self.pos
        while p < len(s) and (s[p] in " \t" or (s[p] == "\\" and s[p + 1:p + 2] == "\n")):
            p += 1 + (s[p] == "\\")
        if p >= len(s):
            self.pos = p
            return END, None
        if s[p] in ";\n":
            self.pos = p + 1
            return END_CMD, None
        if s[p] == "#":
            while p < len(s) and s[p] != "\n":
                p += 1
            self.pos = p + (1 if p < len(s) else 0)
            return END_CMD, None
        sq = dq = False
        out: list[str] = []
        while p < len(s):
            ch = s[p]
            if not dq and not sq and ch in " \t;\n":
                break
            if not dq and ch == "'":
                sq = not sq
                p += 1
                continue
            if not sq and ch == "\\":
                p += 1
                if p >= len(s):
                    if err:
                        err("dangling \\")
                    raise ParseError()
                if s[p] == "\n":
                    p += 1
                    continue
            elif not sq and ch == '"':
                dq = not dq
                p += 1
                continue
            out.append(s[p])
            p += 1
        if dq and err:
            err('missing "')
            raise ParseError()
        self.pos = p
        return ARG, "".join(out)


# --- parser -----------------------------------------------------------------------------


def _get_option(df: CmdDef, name: str, seen: set[int], optstr: str | None,
                err: Callable[[str], None] | None) -> tuple[int, OptDef, str | None] | None:
    if name == "help":
        return -1, OptDef("help", BOOL), optstr
    if name in df.aliases:
        target = df.aliases[name]
        if "=" in target:
            if optstr is not None:
                if err:
                    err(f"invalid '=' after option --{name}")
                return None
            target, optstr = target.split("=", 1)
        name = target
    for i, o in enumerate(df.opts):
        if o.name == name:
            if i in seen and o.type != ARGV:
                if err:
                    err(f"option --{name} already seen")
                return None
            seen.add(i)
            return i, o, optstr
    if df.name != "help" and err:
        err(f"command '{df.name}' doesn't support option --{name}")
    return None


def parse(tokens: ArgvTokens | StringTokens, err: Callable[[str], None]) -> list[Cmd]:
    """Parse all commands from tokens, or raise ParseError (after reporting it)."""
    cmds: list[Cmd] = []
    while True:
        df: CmdDef | None = None
        opts: list[tuple[OptDef, str | None]] = []
        need: list[int] = []
        seen: set[int] = set()
        data_only = False
        tk = END
        while True:
            tk, data = tokens.next(err)
            if tk != ARG:
                break
            assert data is not None
            if df is None:
                if data.startswith("#"):
                    while tk == ARG:
                        tk, data = tokens.next(None)
                    break
                found = lookup_command(data)
                if found is None:
                    err(f"unknown command: '{data}'")
                    raise ParseError()
                df = found
                need = df.need_arg()
                continue
            if not data_only and data.startswith("--") and len(data) > 2 and (
                    data[2].isascii() and data[2].isalnum()):
                name, eq, val = data[2:].partition("=")
                got = _get_option(df, name, seen, val if eq else None, err)
                if got is None:
                    if df.name == "help":
                        continue
                    raise ParseError()
                idx, opt, optstr = got
                if opt.type != BOOL:
                    if optstr is not None:
                        value: str | None = optstr
                    else:
                        tk, value = tokens.next(err)
                        if tk != ARG:
                            kind = "number" if opt.type == INT else "string"
                            err(f"expected syntax: --{opt.name} <{kind}>")
                            raise ParseError()
                    if opt.type != ARGV and idx in need:
                        need.remove(idx)
                    opts.append((opt, value))
                else:
                    if optstr is not None:
                        err(f"invalid '=' after option --{opt.name}")
                        raise ParseError()
                    opts.append((opt, None))
                continue
            if not data_only and data == "--":
                data_only = True
                continue
            if not need:
                if df.name != "help":
                    err(f"unexpected data '{data}'")
                    raise ParseError()
                continue
            idx = need[0]
            opt = df.opts[idx]
            if opt.type != ARGV:
                need.pop(0)
            seen.add(idx)
            opts.append((opt, data))
        if df is not None:
            if any(o.name == "help" for o, _ in opts):
                hdf = COMMANDS["help"]
                cmds.append(Cmd(hdf, [(hdf.opts[0], df.name)]))
            else:
                missing = [i for i, o in enumerate(df.opts) if o.required and i not in seen]
                for i in missing:
                    o = df.opts[i]
                    if o.type in (DATA, ARGV):
                        err(f"command '{df.name}' requires <{o.name}> option")
                    else:
                        err(f"command '{df.name}' requires --{o.name} option")
                if missing:
                    raise ParseError()
                cmds.append(Cmd(df, opts))
        if tk == END:
            return cmds


def iter_visible(group: Group) -> Iterator[CmdDef]:
    for name in group.commands:
        df = COMMANDS[name]
        if not df.hidden:
            yield df


_WS = re.compile(r"\s")
