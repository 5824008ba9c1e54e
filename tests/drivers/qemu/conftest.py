"""Fixtures for tests that run real QEMU (TCG): the tiny test guest and a driver root."""

from __future__ import annotations

import importlib.util
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
