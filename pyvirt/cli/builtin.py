"""virsh's own commands: help, echo, quit/exit, pwd, cd, connect."""
from __future__ import annotations

import os

from .options import COMMANDS, GROUPS, Cmd, iter_visible, lookup_command, command
from .shell import Ctl


@command("help")
def cmd_help(ctl: Ctl, cmd: Cmd) -> bool:
    name = ctl.opt_string_quiet(cmd, "command")
    if name is None:
        out = ["Grouped commands:\n\n"]
        for g in GROUPS:
            out.append(f" {g.name} (help keyword '{g.keyword}'):\n")
            out.extend(f"    {df.name:<30} {df.help}\n" for df in iter_visible(g))
            out.append("\n")
        ctl.print("".join(out))
        return True
    df = lookup_command(name)
    if df is not None:
        ctl.print(df.text[:-1])
        return True
    for g in GROUPS:
        if name in (g.name, g.keyword):
            out = [f" {g.name} (help keyword '{g.keyword}'):\n"]
            out.extend(f"    {d.name:<30} {d.help}\n" for d in iter_visible(g))
            ctl.print("".join(out))
            return True
    ctl.error(f"command or command group '{name}' doesn't exist")
    return False


def _shell_escape(s: str) -> str:
    """virBufferEscapeShell: quote only when needed, with single quotes."""
    if s and all(c.isalnum() or c in "@%+=:,./-_" for c in s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def _xml_escape(s: str) -> str:
    rep = {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;"}
    return "".join(rep.get(c, c) for c in s)


def split_commas(s: str) -> list[str]:
    """vshStringToArray: split on ',', with ',,' standing for a literal comma."""
    out: list[str] = []
    cur: list[str] = []
    i = 0
    while i < len(s):
        if s[i] == ",":
            if s[i + 1:i + 2] == ",":
                cur.append(",")
                i += 2
                continue
            out.append("".join(cur))
            cur = []
        else:
            cur.append(s[i])
        i += 1
    out.append("".join(cur))
    return out


@command("echo")
def cmd_echo(ctl: Ctl, cmd: Cmd) -> bool:
    shell, xml, err, split = (cmd.bool(n) for n in ("shell", "xml", "err", "split"))
    ctl.exclusive_var(shell, "shell", xml, "xml")
    ctl.exclusive_var(shell, "shell", split, "split")
    ctl.exclusive_var(xml, "xml", split, "split")
    parts: list[str] = []
    for arg in cmd.argv("string"):
        if xml:
            parts.append(_xml_escape(arg))
        elif shell:
            parts.append(_shell_escape(arg))
        elif split:
            parts.append("".join(f"{p}\n" for p in split_commas(arg)))
        else:
            parts.append(arg)
    if parts:
        text = " ".join(parts).rstrip(" ")
        if err:
            ctl.error(text)
        else:
            ctl.print(text)
    return True


@command("quit")
def cmd_quit(ctl: Ctl, cmd: Cmd) -> bool:
    ctl.imode = False
    return True


COMMANDS["exit"].handler = cmd_quit


@command("pwd")
def cmd_pwd(ctl: Ctl, cmd: Cmd) -> bool:
    ctl.print(f"{os.getcwd()}\n")
    return True


@command("cd")
def cmd_cd(ctl: Ctl, cmd: Cmd) -> bool:
    if not ctl.imode:
        ctl.error("cd: command valid only in interactive mode")
        return False
    d = ctl.opt_string_quiet(cmd, "dir") or os.path.expanduser("~") or "/"
    try:
        os.chdir(d)
    except OSError as exc:
        ctl.error(f"cd: {exc.strerror}: {d}")
        return False
    return True


@command("connect")
def cmd_connect(ctl: Ctl, cmd: Cmd) -> bool:
    ro = cmd.bool("readonly")
    name = ctl.opt_string(cmd, "name")
    return ctl.reconnect(name, ro, True)

