"""Live changes of running QEMU guests other than device hot-plug: vCPU counts, media change, device update."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .driver import QemuState

__all__ = ["LiveMixin"]


class LiveMixin:
    """Entries of :class:`~.driver.QemuDriver` (mixed in)."""

    st: "QemuState"
