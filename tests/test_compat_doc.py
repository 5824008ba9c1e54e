"""docs/compat.md is generated from the code and must be current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_compat_doc_is_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_compat.py"), "--check"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr + "\nregenerate with: .venv/bin/python tools/gen_compat.py"
