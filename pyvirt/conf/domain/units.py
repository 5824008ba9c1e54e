"""Scaled integers as libvirt reads them (``<memory unit='MiB'>``)."""

from __future__ import annotations

from ... import constants as c
from ...errors import make_error

__all__ = ["scale_to_kib", "scale_bytes", "UNITS"]

UNITS: dict[str, int] = {
    "b": 1, "bytes": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024 ** 2, "mib": 1024 ** 2, "mb": 1000 ** 2,
    "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3,
    "t": 1024 ** 4, "tib": 1024 ** 4, "tb": 1000 ** 4,
    "p": 1024 ** 5, "pib": 1024 ** 5, "pb": 1000 ** 5,
    "e": 1024 ** 6, "eib": 1024 ** 6, "eb": 1000 ** 6,
}

ULLONG_MAX = 2 ** 64 - 1


def scale_bytes(text: str | None, unit: str | None, what: str, default_unit: str = "b") -> int:
    """*text* in *unit* as bytes; errors are libvirt's."""
    return scale_to_kib(text, unit, what, default_unit, _exact=True)


def scale_to_kib(text: str | None, unit: str | None, what: str, default_unit: str = "KiB",
                 limit: int = ULLONG_MAX, _exact: bool = False) -> int:
    """*text* in *unit* as KiB, rounded up; errors are libvirt's."""
    raw = text or ""
    try:
        if not raw.isdigit() or not raw.isascii():
            raise ValueError
        value = int(raw)
    except ValueError:
        raise make_error(c.VIR_ERR_XML_ERROR, f"Invalid value '{raw}' for element or attribute '{what}'",
                         c.VIR_FROM_XML) from None
    name = (unit or default_unit).lower()
    if name not in UNITS:
        raise make_error(c.VIR_ERR_INVALID_ARG, f"unknown suffix '{unit}'", c.VIR_FROM_NONE)
    scale = UNITS[name]
    if value > limit // scale:
        raise make_error(c.VIR_ERR_OVERFLOW, f"value too large: {raw}{unit or ''}", c.VIR_FROM_NONE)
    total = value * scale
    return total if _exact else (total + 1023) // 1024
