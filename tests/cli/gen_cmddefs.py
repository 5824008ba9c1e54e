"""Regenerate pyvirt/cli/cmddefs.json from the reference virsh.

Facts come from the installed virsh 9.0 (`virsh help`, `virsh help CMD`) plus a scan of the
option tables in /work/ref/libvirt-9.0.0/tools for the flags that help output does not show
(option aliases, options that cannot be given positionally, options allowed to be empty).
Run: .venv/bin/python tests/cli/gen_cmddefs.py
"""
from __future__ import annotations

import glob
import json
import re
import subprocess
from pathlib import Path
from typing import Any

REF = Path("/work/ref/libvirt-9.0.0/tools")
OUT = Path(__file__).resolve().parents[2] / "pyvirt" / "cli" / "cmddefs.json"
HIDDEN = ["self-test", "complete"]


def virsh_help(*args: str) -> str:
    return subprocess.run(["virsh", "help", *args], capture_output=True, text=True,
                          check=True).stdout


def parse_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for line in virsh_help().splitlines():
        m = re.match(r" (.+) \(help keyword '(\w+)'\):$", line)
        if m:
            groups.append({"name": m.group(1), "keyword": m.group(2), "commands": []})
            continue
        m = re.match(r"    (\S+) +(.*)$", line)
        if m and groups:
            groups[-1]["commands"].append(m.group(1))
    return groups


OPT_RE = [
    (re.compile(r"^--([\w-]+)$"), "bool"),
    (re.compile(r"^\[--([\w-]+)\] <number>$"), "int_req"),
    (re.compile(r"^--([\w-]+) <number>$"), "int"),
    (re.compile(r"^--([\w-]+) <string>$"), "string"),
    (re.compile(r"^\[--([\w-]+)\] <string>$"), "data"),
    (re.compile(r"^<([\w-]+)>$"), "argv"),
]


OPT_LINE = re.compile(r"^    (\[--[\w-]+\] <(?:number|string)>|--[\w-]+ <(?:number|string)>|--[\w-]+|<[\w-]+>) +(.*)$")


def parse_command(name: str) -> dict[str, Any]:
    text = virsh_help(name)
    lines = text.splitlines()
    m = re.match(r"    (\S+) - (.*)$", lines[1])
    assert m, lines[1]
    short = m.group(2)
    synopsis = lines[4].strip()
    argv_names = set(re.findall(r"(?:--|<)([\w-]+)\]?>?\]?(?: <string>)?\]?\}?\.\.\.", synopsis))
    req_names = set(re.findall(r"(?:^| )<([\w-]+)>", synopsis)) | set(
        re.findall(r"\{\[--([\w-]+)\]", synopsis))
    desc = None
    opts: list[dict[str, Any]] = []
    if "  DESCRIPTION" in lines:
        i = lines.index("  DESCRIPTION") + 1
        d: list[str] = []
        while i < len(lines) and lines[i] != "  OPTIONS":
            d.append(lines[i])
            i += 1
        while d and d[-1] == "":
            d.pop()
        desc = "\n".join(d)[4:]
    if "  OPTIONS" in lines:
        for line in lines[lines.index("  OPTIONS") + 1:]:
            if not line.strip():
                continue
            mm = OPT_LINE.match(line)
            if not mm:
                opts[-1]["help"] = f"{opts[-1]['help']}\n{line}"
                continue
            buf, helptext = mm.group(1), mm.group(2)
            for rx, kind in OPT_RE:
                m2 = rx.match(buf)
                if m2:
                    break
            else:
                raise ValueError(f"{name}: cannot parse option line {line!r}")
            oname = m2.group(1)
            typ = kind
            if oname in argv_names:
                typ = "argv"
            req = typ in ("int_req", "data") or (typ == "argv" and oname in req_names)
            typ = {"int_req": "int"}.get(typ, typ)
            opts.append({"name": oname, "type": typ, "required": req, "help": helptext})
    return {"help": short, "desc": desc, "opts": opts, "text": text}


def scan_source() -> tuple[dict[str, dict[str, Any]], dict[str, str], set[str]]:
    """Return per-command extra flags, command aliases and no-connect commands."""
    tables: dict[str, dict[str, Any]] = {}
    cmd_table: dict[str, str] = {}
    aliases: dict[str, str] = {}
    noconnect: set[str] = set()
    for f in sorted(glob.glob(str(REF / "*.c"))) + [str(REF / "vsh.h")]:
        s = Path(f).read_text()
        for m in re.finditer(r"opts_([a-z_0-9]+)\[\] = \{(.*?)\n\};", s, re.S):
            extra: dict[str, Any] = {"aliases": {}, "req_opt": [], "empty_ok": []}
            for b in re.finditer(r"\{(.*?)\}", m.group(2), re.S):
                e = b.group(1)
                n = re.search(r'\.name = "([^"]+)"', e)
                if not n:
                    continue
                if "VSH_OT_ALIAS" in e:
                    h = re.search(r'\.help = "([^"]+)"', e)
                    assert h
                    extra["aliases"][n.group(1)] = h.group(1)
                if "REQ_OPT" in e:
                    extra["req_opt"].append(n.group(1))
                if "EMPTY_OK" in e:
                    extra["empty_ok"].append(n.group(1))
            if "VIRSH_COMMON_OPT_DOMAIN_OT_STRING_FULL(VSH_OFLAG_REQ_OPT" in m.group(2):
                extra["req_opt"].append("domain")
            tables[m.group(1)] = extra
        for m in re.finditer(r'\{\s*\.name = "([\w-]+)",(.*?)\n\s*\}', s, re.S):
            body = m.group(2)
            o = re.search(r"\.opts = opts_([a-z_0-9]+)", body)
            if o:
                cmd_table[m.group(1)] = o.group(1)
            a = re.search(r'\.alias = "([\w-]+)"', body)
            if a:
                aliases[m.group(1)] = a.group(1)
            if "VSH_CMD_FLAG_NOCONNECT" in body:
                noconnect.add(m.group(1))
        for m in re.finditer(r"#define (VSH_CMD_\w+) \\\n(.*?)\n\s*\}", s, re.S):
            n = re.search(r'\.name = "([\w-]+)"', m.group(2))
            o = re.search(r"\.opts = opts_([a-z_0-9]+)", m.group(2))
            if n and o:
                cmd_table[n.group(1)] = o.group(1)
            if n and "NOCONNECT" in m.group(2):
                noconnect.add(n.group(1))
    per_cmd = {c: tables[t] for c, t in cmd_table.items() if t in tables}
    return per_cmd, aliases, noconnect


def main() -> None:
    groups = parse_groups()
    per_cmd, aliases, noconnect = scan_source()
    commands: dict[str, dict[str, Any]] = {}
    for g in groups:
        for c in g["commands"]:
            commands[c] = parse_command(c)
    for c in HIDDEN:
        commands[c] = parse_command(c)
        commands[c]["hidden"] = True
    for c, d in commands.items():
        extra = per_cmd.get(c, {})
        d["opt_aliases"] = extra.get("aliases", {})
        for o in d["opts"]:
            if o["name"] in extra.get("req_opt", []):
                o["req_opt"] = True
            if o["name"] in extra.get("empty_ok", []):
                o["empty_ok"] = True
        if c in noconnect:
            d["noconnect"] = True
    data = {"groups": groups, "commands": commands, "command_aliases": aliases}
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
