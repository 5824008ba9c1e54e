"""Host and QEMU capabilities: capabilities XML, domcapabilities, node information; QEMU probed once per binary."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .driver import QemuState

__all__ = ["CapsMixin"]


class CapsMixin:
    """Entries of :class:`~.driver.QemuDriver` (mixed in)."""

    st: "QemuState"
