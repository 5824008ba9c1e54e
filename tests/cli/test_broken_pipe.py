"""pyvirsh writing to a closed pipe ends quietly through SIGPIPE, like virsh."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

QUICK = "import sys; from pyvirt.cli.main import main; sys.exit(main())"


def _run_into_closed_pipe(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    rfd, wfd = os.pipe()
    os.close(rfd)  # nobody will ever read: the first write fails with EPIPE
    try:
        # the child must start with SIGPIPE at its default action, as under a shell
        return subprocess.run(cmd, stdout=wfd, stderr=subprocess.PIPE, text=True,
                              restore_signals=True)
    finally:
        os.close(wfd)


def test_closed_stdout_no_traceback() -> None:
    res = _run_into_closed_pipe([sys.executable, "-c", QUICK, "-c", "test:///default",
                                 "list --all"])
    assert "Traceback" not in res.stderr
    assert "BrokenPipeError" not in res.stderr
    assert res.stderr == ""
    assert res.returncode == -signal.SIGPIPE


@pytest.mark.skipif(shutil.which("virsh") is None, reason="real virsh not installed")
def test_closed_stdout_matches_virsh() -> None:
    ours = _run_into_closed_pipe([sys.executable, "-c", QUICK, "-c", "test:///default",
                                  "list --all"])
    real = _run_into_closed_pipe(["virsh", "-c", "test:///default", "list", "--all"])
    assert (ours.returncode, ours.stderr) == (real.returncode, real.stderr)
