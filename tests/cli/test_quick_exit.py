"""pyvirsh run as a program ends quickly (os._exit) yet loses no output and keeps its exit status."""

from __future__ import annotations

import subprocess
import sys

import pytest

QUICK = "import sys; from pyvirt.cli.main import main; sys.exit(main())"
# explicit argv: main() returns and the interpreter shuts down normally
NORMAL = "import sys; from pyvirt.cli.main import main; sys.exit(main(list(sys.argv)))"


@pytest.mark.parametrize("command, status", [("list --all; domstate test --reason", 0), ("domstate test; dominfo nosuch", 1)])
def test_quick_exit_keeps_output_and_status(command: str, status: int) -> None:
    runs = [subprocess.run([sys.executable, "-c", code, "-c", "test:///default", command],
                           capture_output=True, text=True) for code in (QUICK, NORMAL)]
    quick, normal = runs
    assert quick.returncode == normal.returncode == status
    assert quick.stdout == normal.stdout
    assert quick.stderr == normal.stderr
    assert "running" in quick.stdout
