"""Isolation for the test-driver tests: a fresh test:///default state per test.

Other tests in the same process may keep test:///default connections open; the
shared state would then carry their changes into ours. Each test here starts
from an empty registry (connections opened elsewhere keep their own state).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from pyvirt import events
from pyvirt.drivers.test import state as test_state


@pytest.fixture(autouse=True)
def fresh_default_state() -> Iterator[None]:
    with test_state._default_lock:
        saved = test_state._default_state
        test_state._default_state = None
    queued = events.queued_delivery()
    events.set_queued_delivery(False)  # other tests may have switched to libvirt-python's queued model
    try:
        yield
    finally:
        events.set_queued_delivery(queued)
        with test_state._default_lock:
            test_state._default_state = saved
