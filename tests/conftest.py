"""Shared pytest fixtures and switches."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from pyvirt import events
from pyvirt.drivers.test import state as test_state

#: PYVIRT_REGEN=1 rewrites golden files instead of comparing against them.
REGEN = os.environ.get("PYVIRT_REGEN") == "1"


@pytest.fixture
def regen() -> bool:
    return REGEN


@pytest.fixture(autouse=True)
def fresh_default_state() -> Iterator[None]:
    """Every test starts with a fresh test:///default and immediate event delivery.

    Tests in one worker process share libvirt's process-wide rules: a test that leaves a
    test:///default connection open (or registers libvirt-python's default event loop)
    would otherwise carry its changes into the next one. Connections opened elsewhere keep
    their own state object.
    """
    with test_state._default_lock:
        saved = test_state._default_state
        test_state._default_state = None
    queued = events.queued_delivery()
    events.set_queued_delivery(False)
    try:
        yield
    finally:
        events.set_queued_delivery(queued)
        with test_state._default_lock:
            test_state._default_state = saved
