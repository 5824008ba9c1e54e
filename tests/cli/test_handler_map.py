"""pyvirt/cli/handlers.py must name, for every command with a handler, the module registering it.

pyvirsh imports only that module for a command (lazy start-up); a stale map would make a
command report "not implemented". PYVIRT_REGEN=1 rewrites the map from the registrations.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyvirt.cli.commands  # noqa: F401  (registers every handler)
from pyvirt.cli import handlers
from pyvirt.cli.options import COMMANDS

HEADER = '''"""Which pyvirt.cli module registers each command's handler, so a run imports only what it needs.

Generated from the registrations (see tests/cli/test_handler_map.py, which checks it is current):
    PYVIRT_REGEN=1 .venv/bin/pytest tests/cli/test_handler_map.py
"""

HANDLER_MODULES: dict[str, str] = {
'''


def _registered() -> dict[str, str]:
    out = {}
    for name in COMMANDS:
        h = COMMANDS[name].handler
        if h is not None:
            out[name] = h.__module__.rsplit(".", 1)[1]
    return out


def test_map_matches_registrations() -> None:
    actual = _registered()
    if os.environ.get("PYVIRT_REGEN"):
        body = "".join(f"    {n!r}: {actual[n]!r},\n" for n in sorted(actual))
        Path(handlers.__file__).write_text(HEADER + body + "}\n")
        return
    assert actual, "no handlers registered"
    assert handlers.HANDLER_MODULES == actual


def test_fresh_process_resolves_each_command_lazily() -> None:
    code = (
        "from pyvirt.cli.options import COMMANDS, handler_of\n"
        "from pyvirt.cli.handlers import HANDLER_MODULES\n"
        "import sys\n"
        "assert 'pyvirt.cli.domain_more' not in sys.modules\n"
        "bad = [n for n in HANDLER_MODULES if handler_of(COMMANDS[n]) is None]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
