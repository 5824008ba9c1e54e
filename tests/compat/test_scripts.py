"""libvirt-python scripts run unchanged on pyvirt.libvirt and print what they print on libvirt."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SCRIPTS = sorted((HERE / "scripts").glob("*.py"))
REAL_PYTHON = "/usr/bin/python3"


def _run(script: Path, shim: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("LIBVIRT_DEFAULT_URI", None)
    if shim:
        env["PYTHONPATH"] = os.pathsep.join([str(HERE / "shim"), str(HERE.parent.parent)])
        python = sys.executable
    else:
        env.pop("PYTHONPATH", None)
        python = REAL_PYTHON
    return subprocess.run([python, str(script)], capture_output=True, text=True, env=env, timeout=60)


def _normalise(text: str) -> str:
    # CPU time and wall-clock derived values move between two runs; nothing else may differ.
    text = re.sub(r"cpu(_?time|\.time)?\W+\d+", "cpu-time", text)
    return re.sub(r"\b1[6-9]\d{17}\b", "NS", text)


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_script_output_matches_libvirt(script: Path) -> None:
    if not os.path.exists(REAL_PYTHON):
        pytest.skip("Debian's python3 with python3-libvirt is not installed")
    real = _run(script, shim=False)
    assert real.returncode == 0, real.stderr
    ours = _run(script, shim=True)
    assert ours.returncode == 0, ours.stderr
    assert _normalise(ours.stdout) == _normalise(real.stdout)
