"""The Python examples in README.md and docs/ run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCKS = [(page, i, block) for page in PAGES
          for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))]


@pytest.mark.parametrize("page, index, code", BLOCKS,
                         ids=[f"{p.relative_to(ROOT)}#{i}" for p, i, _ in BLOCKS])
def test_example_runs(page: Path, index: int, code: str) -> None:
    # A fresh process per example, as a reader would run it: no state shared with other tests.
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, f"{page.name} example {index} failed:\n{proc.stderr}"
    out = proc.stdout
    # Where the page shows a result in a trailing comment, the example must print it.
    for expected in re.findall(r"print\(.*\)\s+#\s*(\[.*\]|\d+ .+)$", code, re.M):
        shown = expected.split(":")[0].strip()
        assert shown in out, f"{page.name} example {index} should print {shown!r}; printed {out!r}"
