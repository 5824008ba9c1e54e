"""Snapshots of QEMU guests: internal qcow2 snapshots (with memory) and external disk snapshots."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .driver import QemuState

__all__ = ["SnapshotMixin"]


class SnapshotMixin:
    """Entries of :class:`~.driver.QemuDriver` (mixed in)."""

    st: "QemuState"
