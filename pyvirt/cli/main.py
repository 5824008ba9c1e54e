"""pyvirsh entry point: global options, one-shot commands and the interactive shell."""
from __future__ import annotations

import os
import sys
from typing import IO

from .options import GROUPS, ArgvTokens, Cmd, ParseError, StringTokens, iter_visible, parse
from .shell import Ctl, load_backend

VERSION = "9.0.0"

_LONG = {
    "connect": ("c", True), "debug": ("d", True), "escape": ("e", True),
    "help": ("h", False), "keepalive-interval": ("k", True),
    "keepalive-count": ("K", True), "log": ("l", True), "quiet": ("q", False),
    "readonly": ("r", False), "timing": ("t", False), "version": ("v", None),
}
_SHORT_ARG = set("cdekKl")
_SHORT_FLAG = set("hqrtvV")


class Exit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def usage(ctl: Ctl) -> None:
    p = ctl.progname
    out = [f"\n{p} [options]... [<command_string>]\n{p} [options]... <command> [args...]\n\n"
           "  options:\n"
           "    -c | --connect=URI      hypervisor connection URI\n"
           "    -d | --debug=NUM        debug level [0-4]\n"
           "    -e | --escape <char>    set escape sequence for console\n"
           "    -h | --help             this help\n"
           "    -k | --keepalive-interval=NUM\n"
           "                            keepalive interval in seconds, 0 for disable\n"
           "    -K | --keepalive-count=NUM\n"
           "                            number of possible missed keepalive messages\n"
           "    -l | --log=FILE         output logging to file\n"
           "    -q | --quiet            quiet mode\n"
           "    -r | --readonly         connect readonly\n"
           "    -t | --timing           print timing information\n"
           "    -v                      short version\n"
           "    -V                      long version\n"
           "         --version[=TYPE]   version, TYPE is short or long (default short)\n"
           "  commands (non interactive mode):\n\n"]
    for g in GROUPS:
        out.append(f" {g.name} (help keyword '{g.keyword}')\n")
        for df in iter_visible(g):
            out.append(f"    {df.name:<30} {df.help}\n")
        out.append("\n")
    out.append("\n  (specify help <group> for details about the commands in the group)\n")
    out.append("\n  (specify help <command> for details about the command)\n\n")
    ctl.print("".join(out))


def show_version(ctl: Ctl) -> None:
    ctl.print(f"Virsh command line tool of libvirt {VERSION}\n"
              "See web site at https://libvirt.org/\n\n"
              "Compiled with support for:\n"
              " Hypervisors: QEMU/KVM LXC LibXL OpenVZ VMware VirtualBox ESX Test\n"
              " Networking: Remote Network Bridging Interface udev Nwfilter\n"
              " Storage: Dir Disk Filesystem SCSI Multipath iSCSI iSCSI-direct LVM RBD "
              "Gluster ZFS\n"
              " Miscellaneous: Daemon Nodedev AppArmor SELinux Secrets Debug DTrace "
              "Readline\n")


def _cint(text: str, base: int = 10) -> int | None:
    try:
        return int(text.strip(), base if base else 0)
    except ValueError:
        return None


def _apply(ctl: Ctl, opt: str, arg: str | None, long_used: bool) -> None:
    names = {"d": "--debug", "k": "--keepalive-interval", "K": "--keepalive-count"}
    label = names.get(opt, "") if long_used else f"-{opt}"
    if opt == "c":
        ctl.connname = arg
    elif opt == "d":
        assert arg is not None
        val = _cint(arg)
        if val is None:
            ctl.error(f"option {label} takes a numeric argument")
            raise Exit(1)
        if val < 0 or val > 4:
            ctl.error(f"ignoring debug level {val} out of range [0-4]")
        else:
            ctl.debug = val
    elif opt == "e":
        assert arg is not None
        if not ((len(arg) == 2 and arg[0] == "^" and (arg[1].islower() or "@" <= arg[1] <= "_"))
                or (len(arg) == 1 and arg != "^")):
            ctl.error(f"Invalid string '{arg}' for escape sequence")
            raise Exit(1)
        ctl.escape_char = arg
    elif opt == "h":
        usage(ctl)
        raise Exit(0)
    elif opt in "kK":
        assert arg is not None
        val = _cint(arg, 0)
        if val is None or val > 2**31 - 1:
            ctl.error(f"Invalid value for option {label}")
            raise Exit(1)
        if val < 0:
            ctl.error(f"option {label} requires a positive integer argument")
            raise Exit(1)
        if opt == "k":
            ctl.keepalive_interval = val
        else:
            ctl.keepalive_count = val
    elif opt == "l":
        pass
    elif opt == "q":
        ctl.quiet = True
    elif opt == "t":
        ctl.timing = True
    elif opt == "r":
        ctl.readonly = True
    elif opt == "v":
        if arg != "long":
            ctl.print(f"{VERSION}\n")
            raise Exit(0)
        show_version(ctl)
        raise Exit(0)
    elif opt == "V":
        show_version(ctl)
        raise Exit(0)


def parse_global(ctl: Ctl, argv: list[str]) -> int:
    """getopt_long("+:c:d:e:hk:K:l:qrtvV"); returns the index of the first command word."""
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return i + 1
        if a.startswith("--"):
            name, eq, val = a[2:].partition("=")
            matches = [n for n in _LONG if n.startswith(name)]
            if name in _LONG:
                matches = [name]
            if len(matches) != 1:
                ctl.error(f"unsupported option '{a}'. See --help.")
                raise Exit(1)
            short, takes = _LONG[matches[0]]
            i += 1
            if takes is True and not eq:
                if i >= len(argv):
                    ctl.error(f"option '-{short}'/'--{matches[0]}' requires an argument")
                    raise Exit(1)
                val = argv[i]
                i += 1
            elif takes is False and eq:
                ctl.error(f"unsupported option '{a}'. See --help.")
                raise Exit(1)
            _apply(ctl, short, val if (eq or takes) else None, True)
            continue
        if a.startswith("-") and len(a) > 1:
            j = 1
            i += 1
            while j < len(a):
                ch = a[j]
                if ch in _SHORT_ARG:
                    if j + 1 < len(a):
                        val = a[j + 1:]
                    elif i < len(argv):
                        val = argv[i]
                        i += 1
                    else:
                        long_name = next((n for n, v in _LONG.items() if v[0] == ch), None)
                        ctl.error(f"option '-{ch}'/'--{long_name}' requires an argument")
                        raise Exit(1)
                    _apply(ctl, ch, val, False)
                    break
                if ch in _SHORT_FLAG:
                    _apply(ctl, ch, None, False)
                    j += 1
                    continue
                ctl.error(f"unsupported option '-{ch}'. See --help.")
                raise Exit(1)
            continue
        return i
    return i


def main(argv: list[str] | None = None, stdin: IO[str] | None = None,
         stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Run pyvirsh with ARGV (argv[0] is the program name); return the exit status.

    Called as the program (no arguments), a one-shot run that left nothing behind (no
    thread, no exit handler) ends the process at once: tearing down the interpreter's
    modules and objects took longer than a simple command itself (~10 ms).
    """
    as_program = argv is None and stdin is None and stdout is None and stderr is None
    try:
        status, interactive = _run(argv, stdin, stdout, stderr)
        if as_program:
            if not interactive:
                _quick_exit(status)
            sys.stdout.flush()
    except BrokenPipeError:
        if not as_program:
            raise
        _die_of_sigpipe()
    return status


def _die_of_sigpipe() -> None:
    """Stdout's reader went away: end silently through SIGPIPE, as virsh does (status 141)."""
    import signal

    try:
        # the interpreter's last flush must not find the closed pipe again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGPIPE)
    os._exit(128 + signal.SIGPIPE)


def _quick_exit(status: int) -> None:
    import atexit
    import threading

    if threading.active_count() != 1 or atexit._ncallbacks() != 0:
        return  # something still needs the normal shutdown
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        raise
    except Exception:  # noqa: BLE001 - let the normal shutdown report it
        return
    os._exit(status)


def _run(argv: list[str] | None, stdin: IO[str] | None, stdout: IO[str] | None,
         stderr: IO[str] | None) -> tuple[int, bool]:
    if argv is None:
        argv = list(sys.argv)
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    inp = stdin if stdin is not None else sys.stdin
    progname = os.path.basename(argv[0]) if argv else "pyvirsh"
    ctl = Ctl(load_backend(), out, err, progname)
    try:
        first = parse_global(ctl, argv)
        rest = argv[first:]
        cmds: list[Cmd] = []
        ctl.imode = not rest
        if rest:
            try:
                toks = StringTokens(rest[0]) if len(rest) == 1 else ArgvTokens(rest)
                cmds = parse(toks, ctl.error)
            except ParseError:
                return 1, False
        if ctl.connname is not None:
            if not ctl.reconnect(None, False, False):
                ctl.report_error()
                return 1, ctl.imode
        if ctl.connname is None:
            ctl.connname = os.environ.get("VIRSH_DEFAULT_CONNECT_URI")
        if not ctl.imode:
            return (0 if ctl.run(cmds) else 1), False
        from .interactive import interact
        interact(ctl, inp)
        return 0, True
    except Exit as e:
        return e.code, ctl.imode
    finally:
        if ctl.conn is not None:
            try:
                ctl.conn.close()
            except Exception:  # noqa: BLE001 - closing at exit must not fail the run
                pass


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
