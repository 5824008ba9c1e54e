"""The Python examples in README.md and docs/ run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCKS = [(page, i, block) for page in PAGES
          for i, block in enumerate(re.findall(r"```python\n(.*?)```", page.read_text(), re.S))]


@pytest.mark.parametrize("page, index, code", BLOCKS,
                         ids=[f"{p.relative_to(ROOT)}#{i}" for p, i, _ in BLOCKS])
def test_example_runs(page: Path, index: int, code: str, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(code, f"{page.name}#{index}", "exec"), {"__name__": "__doc_example__"})
    out = capsys.readouterr().out
    # Where the page shows a result in a trailing comment, the example must print it.
    for expected in re.findall(r"print\(.*\)\s+#\s*(\[.*\]|\d+ .+)$", code, re.M):
        shown = expected.split(":")[0].strip()
        assert shown in out, f"{page.name} example {index} should print {shown!r}; printed {out!r}"
