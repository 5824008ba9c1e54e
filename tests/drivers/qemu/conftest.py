"""Fixtures for tests that run real QEMU (TCG): the tiny test guest and a driver root."""

from __future__ import annotations

import importlib.util
import os
import signal
import time
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

QEMU = shutil.which("qemu-system-x86_64")


def _guest_module() -> ModuleType:
    path = Path(__file__).parents[2] / "guest" / "build.py"
    spec = importlib.util.spec_from_file_location("pyvirt_test_guest", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def qemu_bin() -> str:
    if QEMU is None:
        pytest.skip("qemu-system-x86_64 is not installed (Debian: qemu-system-x86)")
    return QEMU


@pytest.fixture(scope="session")
def guest(qemu_bin: str) -> Any:
    """The tiny guest (kernel, initrd, cmdline, ready_line), built once and cached."""
    return _guest_module().build_guest()


@pytest.fixture(autouse=True)
def direct_event_delivery() -> Iterator[None]:
    """Deliver events at once: another test in this worker may have switched to queued delivery."""
    from pyvirt.events import queued_delivery, set_queued_delivery
    before = queued_delivery()
    set_queued_delivery(False)
    yield
    set_queued_delivery(before)


def _qemus_under(path: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
            with open(f"/proc/{entry}/stat", "rb") as fh:
                zombie = fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
        except OSError:
            continue
        if not zombie and argv and argv[0].endswith(b"qemu-system-x86_64") and any(path.encode() in a for a in argv):
            pids.append(int(entry))
    return pids


@pytest.fixture(autouse=True)
def no_guest_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test must not leave QEMU processes running under its tmp_path (they would pile up)."""
    yield
    tmp = request.node.funcargs.get("tmp_path")
    if tmp is None:
        return
    left = _qemus_under(str(tmp))
    deadline = time.monotonic() + 10  # a destroy may still be finishing
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _qemus_under(str(tmp))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"QEMU processes left running by the test: {left}"
