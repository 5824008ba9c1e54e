"""virsh network commands."""
from __future__ import annotations
