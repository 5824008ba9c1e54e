"""The virsh control object: connection, output, option accessors, command dispatch."""
from __future__ import annotations

import contextlib
import importlib
import os
import re
import time
from types import ModuleType
from typing import IO, Any, Iterator

from .options import COMMANDS, Cmd, CmdError, OptDef, handler_of

ULONG_MAX = 2**64 - 1
UINT_MAX = 2**32 - 1
INT_MAX = 2**31 - 1
LLONG_MAX = 2**63 - 1


def load_backend() -> ModuleType:
    """The libvirt-python-compatible module: pyvirt's, or Debian's with PYVIRSH_BACKEND=libvirt."""
    name = "libvirt" if os.environ.get("PYVIRSH_BACKEND") == "libvirt" else "pyvirt.libvirt"
    lv = importlib.import_module(name)
    if hasattr(lv, "registerErrorHandler"):
        # errors are reported by the shell itself, not printed by the library
        lv.registerErrorHandler(lambda ctx, err: None, None)
    return lv


_NUM = re.compile(r"^\s*([+-]?)(\d+)$")


def strtol(text: str, lo: int, hi: int, wrap_mod: int = 0) -> int | None:
    """Parse like virStrToLong_*: whole string, base 10; None if malformed or out of range.

    With wrap_mod, negative values wrap like C's unsigned conversion (strtoul).
    """
    m = _NUM.match(text)
    if not m:
        return None
    val = int(m.group(2))
    if m.group(1) == "-":
        val = -val
        if wrap_mod:
            if val < -(wrap_mod - 1):
                return None
            val %= wrap_mod
    if val < lo or val > hi:
        return None
    return val


def scale_integer(text: str, default_scale: int, limit: int) -> int | str | None:
    """Parse a scaled integer like virStrToLong_ullp + virScaleInteger.

    Returns the value, None if the number itself is malformed, or the libvirt error
    message virScaleInteger would report for a bad suffix or an overflow.
    """
    m = re.match(r"^\s*\+?(\d+)(.*)$", text, re.S)
    if not m:
        return None
    val = int(m.group(1))
    if val > 2**64 - 1:
        return None
    suffix = m.group(2)
    if not suffix:
        scale = default_scale
    elif suffix.lower() in ("b", "byte", "bytes"):
        scale = 1
    else:
        if len(suffix) == 1 or suffix[1:].lower() == "ib":
            base = 1024
        elif suffix[1].lower() == "b" and len(suffix) == 2:
            base = 1000
        else:
            return f"invalid argument: unknown suffix '{suffix}'"
        power = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}.get(suffix[0].lower())
        if power is None:
            return f"invalid argument: unknown suffix '{suffix}'"
        scale = base ** power
    if val and val > limit // scale:
        return f"numerical overflow: value too large: {val}{suffix}"
    return val * scale


class Ctl:
    """State of one virsh process (vshControl + virshControl)."""

    def __init__(self, lv: ModuleType, out: IO[str], err: IO[str], progname: str) -> None:
        self.lv = lv
        self.out = out
        self.err = err
        self.progname = progname
        self.connname: str | None = None
        self.conn: Any = None
        self.readonly = False
        self.quiet = False
        self.timing = False
        self.imode = False
        self.debug = 4
        self.keepalive_interval = -1
        self.keepalive_count = -1
        self.last_error: Any = None
        self.disconnected = False
        self.escape_char = "^]"  # -e/--escape: the console's escape sequence

    # --- output -------------------------------------------------------------------------

    def print(self, text: str) -> None:
        """vshPrint."""
        self.out.write(text)
        self.out.flush()

    def print_extra(self, text: str) -> None:
        """vshPrintExtra: suppressed by --quiet."""
        if not self.quiet:
            self.print(text)

    def error(self, msg: str) -> None:
        """vshError: 'error: MSG' on stderr."""
        self.out.flush()
        self.err.write(f"error: {msg}\n")
        self.err.flush()

    def save_error(self, exc: Exception) -> None:
        self.last_error = exc

    def reset_error(self) -> None:
        self.last_error = None

    def report_error(self) -> None:
        """vshReportError: print the saved libvirt error, if any."""
        exc = self.last_error
        self.last_error = None
        if exc is None:
            return
        if isinstance(exc, str):
            msg = exc
        else:
            msg = exc.get_error_message() if hasattr(exc, "get_error_message") else str(exc)
        self.error(msg if msg else "unknown error")

    @contextlib.contextmanager
    def failing(self, msg: str | None = None) -> Iterator[None]:
        """Run libvirt calls; on libvirtError save it, print MSG and fail the command."""
        try:
            yield
        except self.lv.libvirtError as exc:
            self.save_error(exc)
            if msg is not None:
                self.error(msg)
            raise CmdError() from exc

    def fail_quiet(self) -> CmdError:
        """Fail the command without printing anything more."""
        return CmdError()

    def fail(self, msg: str) -> CmdError:
        """Print MSG as an error and return the exception that fails the command."""
        self.error(msg)
        return CmdError()

    # --- option accessors ----------------------------------------------------------------

    def _raw(self, cmd: Cmd, name: str) -> tuple[OptDef, str] | None:
        for o, v in cmd.opts:
            if o.name == name and v is not None:
                return o, v
        return None

    def opt_string(self, cmd: Cmd, name: str) -> str | None:
        """vshCommandOptStringReq: None when absent; error when empty (unless allowed)."""
        got = self._raw(cmd, name)
        if got is None:
            return None
        o, v = got
        if not v and not o.empty_ok:
            raise self.fail(f"Failed to get option '{name}': Option argument is empty")
        return v

    def opt_string_quiet(self, cmd: Cmd, name: str) -> str | None:
        """vshCommandOptStringQuiet: None when absent or empty (unless allowed)."""
        got = self._raw(cmd, name)
        if got is None:
            return None
        o, v = got
        if not v and not o.empty_ok:
            return None
        return v

    def _num(self, cmd: Cmd, name: str, lo: int, hi: int, wrap: int = 0) -> int | None:
        got = self._raw(cmd, name)
        if got is None:
            return None
        val = strtol(got[1], lo, hi, wrap)
        if val is None:
            raise self.fail(f"Numeric value '{got[1]}' for <{name}> option is malformed "
                            "or out of range")
        return val

    def opt_int(self, cmd: Cmd, name: str) -> int | None:
        return self._num(cmd, name, -INT_MAX - 1, INT_MAX)

    def opt_uint(self, cmd: Cmd, name: str, wrap: bool = False) -> int | None:
        return self._num(cmd, name, 0, UINT_MAX, UINT_MAX + 1 if wrap else 0)

    def opt_ul(self, cmd: Cmd, name: str, wrap: bool = False) -> int | None:
        return self._num(cmd, name, 0, ULONG_MAX, ULONG_MAX + 1 if wrap else 0)

    def opt_ll(self, cmd: Cmd, name: str) -> int | None:
        return self._num(cmd, name, -LLONG_MAX - 1, LLONG_MAX)

    def opt_ull(self, cmd: Cmd, name: str, wrap: bool = False) -> int | None:
        return self._num(cmd, name, 0, ULONG_MAX, ULONG_MAX + 1 if wrap else 0)

    def opt_scaled(self, cmd: Cmd, name: str, scale: int, limit: int) -> int | None:
        got = self._raw(cmd, name)
        if got is None:
            return None
        val = scale_integer(got[1], scale, limit)
        if isinstance(val, str):
            self.last_error = val
        if not isinstance(val, int):
            raise self.fail(f"Scaled numeric value '{got[1]}' for <{name}> option is "
                            "malformed or out of range")
        return val

    def exclusive(self, cmd: Cmd, a: str, b: str) -> None:
        """VSH_EXCLUSIVE_OPTIONS."""
        if cmd.has(a) and cmd.has(b):
            raise self.fail(f"Options --{a} and --{b} are mutually exclusive")

    def exclusive_var(self, va: bool, a: str, vb: bool, b: str) -> None:
        if va and vb:
            raise self.fail(f"Options --{a} and --{b} are mutually exclusive")

    def requires(self, cmd: Cmd, a: str, b: str) -> None:
        """VSH_REQUIRE_OPTION: --a needs --b."""
        if cmd.has(a) and not cmd.has(b):
            raise self.fail(f"Option --{b} is required by option --{a}")

    # --- connection ------------------------------------------------------------------------

    def reconnect(self, name: str | None, readonly: bool, force: bool) -> bool:
        """virshReconnect."""
        if not readonly and name is None:
            readonly = self.readonly
        connected = self.conn is not None
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None
        uri = name if name is not None else self.connname
        try:
            self.conn = (self.lv.openReadOnly(uri) if readonly else self.lv.open(uri))
        except self.lv.libvirtError as exc:
            self.save_error(exc)
            self.conn = None
        if self.conn is not None:
            self._keepalive()
        if self.conn is None:
            self.error("Failed to reconnect to the hypervisor" if self.disconnected
                       else "failed to connect to the hypervisor")
            return False
        if name is not None:
            self.connname = name
        self.readonly = readonly
        if connected and not force:
            self.error("Reconnected to the hypervisor")
        self.disconnected = False
        return True

    def _keepalive(self) -> None:
        """virshConnect: set up keepalive; a refusal only matters if -k/-K asked for it."""
        forced = self.keepalive_interval >= 0 or self.keepalive_count >= 0
        interval = self.keepalive_interval if self.keepalive_interval >= 0 else 5
        count = self.keepalive_count if self.keepalive_count >= 0 else 6
        if interval <= 0:
            return
        try:
            ok = self.conn.setKeepAlive(interval, count) == 0
        except self.lv.libvirtError as exc:
            ok = False
            if forced:
                self.save_error(exc)
        if ok:
            return
        if forced:
            self.error("Cannot setup keepalive on connection as requested, disconnecting")
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None
        else:
            self.reset_error()

    def connection(self) -> Any:
        """virshConnectionHandler: a usable connection, or None after reporting why."""
        if (self.conn is None or self.disconnected) and not self.reconnect(None, False, False):
            return None
        try:
            alive = self.conn.isAlive()
        except self.lv.libvirtError:
            alive = 1
        if not alive:
            self.error("no valid connection")
            return None
        return self.conn

    # --- running ---------------------------------------------------------------------------

    def run(self, cmds: list[Cmd]) -> bool:
        """vshCommandRun: run commands in order; the result of the last one counts."""
        ret = True
        for cmd in cmds:
            df = cmd.df
            before = time.monotonic()
            if df.noconnect or self.connection() is not None:
                ret = self.dispatch(cmd)
            else:
                ret = False
            elapsed = time.monotonic() - before
            if not ret:
                self.report_error()
            if df.name in ("quit", "exit"):
                return ret
            if self.timing:
                self.print(f"\n(Time: {elapsed * 1000:.3f} ms)\n\n")
            else:
                self.print_extra("\n")
        return ret

    def dispatch(self, cmd: Cmd) -> bool:
        handler = handler_of(cmd.df)
        if handler is None:
            self.error(f"command '{cmd.df.name}' is not implemented by pyvirsh")
            return False
        try:
            return bool(handler(self, cmd))
        except CmdError:
            return False
        except self.lv.libvirtError as exc:
            self.save_error(exc)
            return False


def all_commands() -> list[str]:
    return [n for n, d in COMMANDS.items() if not d.hidden]
