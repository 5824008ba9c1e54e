"""Errors raised by the QEMU driver (libvirt's VIR_FROM_QEMU domain)."""

from __future__ import annotations

from ... import constants as c
from ...errors import LibvirtError, make_error

__all__ = ["qemu_error"]


def qemu_error(code: int, detail: str | None = None) -> LibvirtError:
    """A libvirt error of *code* from the QEMU driver, worded as libvirt words it."""
    return make_error(code, detail, c.VIR_FROM_QEMU)
