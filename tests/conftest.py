"""Shared pytest fixtures and switches."""

from __future__ import annotations

import os

import pytest

#: PYVIRT_REGEN=1 rewrites golden files instead of comparing against them.
REGEN = os.environ.get("PYVIRT_REGEN") == "1"


@pytest.fixture
def regen() -> bool:
    return REGEN
