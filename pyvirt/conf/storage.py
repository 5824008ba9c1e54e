"""Storage pool and volume XML models (see :mod:`.storage_pool` and :mod:`.storage_vol`)."""

from __future__ import annotations

from .storage_pool import POOL_TYPES, StoragePoolDef
from .storage_vol import FILE_FORMATS, VOL_TYPES, StorageVolDef

__all__ = ["StoragePoolDef", "StorageVolDef", "POOL_TYPES", "VOL_TYPES", "FILE_FORMATS"]
