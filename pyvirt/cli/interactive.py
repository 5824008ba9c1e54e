"""The interactive shell: prompt, history and tab completion (prompt_toolkit)."""
from __future__ import annotations

import os
from typing import IO, Any, Iterable

from .options import COMMANDS, ParseError, StringTokens, lookup_command, parse
from .shell import Ctl


def _history_path(progname: str) -> str:
    """$XDG_CACHE_HOME/<program>/history, like virsh's (but not virsh's own file, whose
    readline format differs from prompt_toolkit's)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, progname if progname != "virsh" else "pyvirsh", "history")


def _object_names(ctl: Ctl, kind: str) -> list[str]:
    """Names for completing a domain, network, pool, ... argument."""
    conn = ctl.conn
    if conn is None:
        return []
    try:
        if kind == "domain":
            return [d.name() for d in conn.listAllDomains(0)]
        if kind == "network":
            return [n.name() for n in conn.listAllNetworks(0)]
        if kind == "pool":
            return [p.name() for p in conn.listAllStoragePools(0)]
        if kind == "interface":
            return [i.name() for i in conn.listAllInterfaces(0)]
    except ctl.lv.libvirtError:
        return []
    return []


def complete_line(ctl: Ctl, line: str) -> list[str]:
    """Candidates for the last word of LINE: command names, options or object names."""
    segment = line.rsplit(";", 1)[-1]
    words = segment.split()
    if segment.endswith((" ", "\t")) or not words:
        words.append("")
    cur = words[-1]
    if len(words) == 1:
        return sorted(n for n, d in COMMANDS.items() if not d.hidden and n.startswith(cur))
    df = lookup_command(words[0])
    if df is None:
        return []
    if cur.startswith("-"):
        used = {w[2:] for w in words[1:-1] if w.startswith("--")}
        return [f"--{o.name}" for o in df.opts
                if f"--{o.name}".startswith(cur) and o.name not in used]
    prev = words[-2]
    kind = None
    if prev.startswith("--"):
        kind = prev[2:]
    else:
        kind = next((o.name for o in df.opts if o.type == "data"), None)
    if kind in ("domain", "network", "pool", "interface"):
        if ctl.conn is None:
            ctl.connection()
        return sorted(n for n in _object_names(ctl, kind) if n.startswith(cur))
    return []


def _run_line(ctl: Ctl, line: str) -> None:
    try:
        cmds = parse(StringTokens(line), ctl.error)
    except ParseError:
        return
    ctl.run(cmds)


def interact(ctl: Ctl, inp: IO[str]) -> None:
    """Read commands until EOF or quit, like virsh's interactive mode."""
    if not ctl.quiet:
        ctl.print(f"Welcome to {ctl.progname}, the virtualization interactive terminal.\n\n"
                  "Type:  'help' for help with commands\n"
                  "       'quit' to quit\n\n")
    try:
        tty = inp.isatty() and ctl.out.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty:
        _interact_tty(ctl)
        return
    while ctl.imode:
        prompt = f"{ctl.progname} {'>' if ctl.readonly else '#'} "
        ctl.print(prompt)
        line = inp.readline()
        if not line:
            break
        line = line.rstrip("\n")
        ctl.print(f"{line}\n")
        if line:
            _run_line(ctl, line)
    # virsh ends with a line break both at EOF and after quit
    ctl.print("\n")


def _interact_tty(ctl: Ctl) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer, Completion
    from prompt_toolkit.document import Document
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    class VirshCompleter(Completer):
        def get_completions(self, document: Document,
                            complete_event: Any) -> Iterable[Completion]:
            text = document.text_before_cursor
            cur = "" if text.endswith((" ", "\t")) or not text else text.split()[-1]
            for cand in complete_line(ctl, text):
                yield Completion(cand, start_position=-len(cur))

    path = _history_path(ctl.progname)
    history: Any
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        history = FileHistory(path)
    except OSError:
        history = InMemoryHistory()
    session: PromptSession[str] = PromptSession(history=history, completer=VirshCompleter(),
                                                complete_while_typing=False)
    while ctl.imode:
        prompt = f"{ctl.progname} {'>' if ctl.readonly else '#'} "
        try:
            line = session.prompt(prompt)
        except EOFError:
            break
        except KeyboardInterrupt:
            continue
        if line.strip():
            _run_line(ctl, line)
    ctl.print("\n")


