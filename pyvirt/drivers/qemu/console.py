"""Consoles and screenshots of running QEMU guests (streams)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .driver import QemuState

__all__ = ["ConsoleMixin"]


class ConsoleMixin:
    """Entries of :class:`~.driver.QemuDriver` (mixed in)."""

    st: "QemuState"
