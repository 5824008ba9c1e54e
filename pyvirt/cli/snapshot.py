"""virsh snapshot commands."""
from __future__ import annotations
