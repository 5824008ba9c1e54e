"""Replaceable generators for values libvirt invents while parsing.

Drivers and tests may swap these for deterministic ones, e.g.
``hooks.generate_mac = lambda: "52:54:00:00:00:01"``.
"""

from __future__ import annotations

import os
import uuid as uuidlib
from typing import Callable

__all__ = ["generate_mac", "generate_uuid", "default_mac", "default_uuid"]


def default_mac() -> str:
    """A random MAC in libvirt's default 52:54:00 prefix."""
    tail = os.urandom(3)
    return "52:54:00:" + ":".join(f"{b:02x}" for b in tail)


def default_uuid() -> str:
    """A random (version 4) UUID in canonical form."""
    return str(uuidlib.uuid4())


generate_mac: Callable[[], str] = default_mac
generate_uuid: Callable[[], str] = default_uuid
