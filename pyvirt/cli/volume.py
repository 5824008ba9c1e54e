"""virsh volume commands."""
from __future__ import annotations
