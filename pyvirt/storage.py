"""Storage pools and volumes: libvirt-python's ``virStoragePool``/``virStorageVol`` in snake_case."""

from __future__ import annotations

import uuid as _uuid
from typing import TYPE_CHECKING, NamedTuple

from .handle import Handle
from .drivers.base import StoragePoolRef, StorageVolRef

if TYPE_CHECKING:
    from .stream import Stream

__all__ = ["StoragePool", "StorageVolume", "StoragePoolInfo", "StorageVolumeInfo"]


class StoragePoolInfo(NamedTuple):
    """virStoragePoolInfo: state, capacity, allocation, available (bytes)."""

    state: int
    capacity: int
    allocation: int
    available: int


class StorageVolumeInfo(NamedTuple):
    """virStorageVolInfo: type, capacity, allocation (bytes)."""

    type: int
    capacity: int
    allocation: int


class StoragePool(Handle):
    """A storage pool known to a connection."""

    __slots__ = ()
    _ref: StoragePoolRef

    def uuid(self) -> bytes:
        return self._ref.uuid

    def uuid_string(self) -> str:
        return str(_uuid.UUID(bytes=self._ref.uuid))

    def info(self) -> StoragePoolInfo:
        return StoragePoolInfo._make(self._drv.storage_pool_get_info(self._ref))

    def xml_desc(self, flags: int = 0) -> str:
        return self._drv.storage_pool_get_xml_desc(self._ref, flags)

    def autostart(self) -> int:
        return self._drv.storage_pool_get_autostart(self._ref)

    def set_autostart(self, autostart: int) -> int:
        self._drv.storage_pool_set_autostart(self._ref, int(bool(autostart)))
        return 0

    def is_active(self) -> int:
        return self._drv.storage_pool_is_active(self._ref)

    def is_persistent(self) -> int:
        return self._drv.storage_pool_is_persistent(self._ref)

    def build(self, flags: int = 0) -> int:
        self._drv.storage_pool_build(self._ref, flags)
        return 0

    def create(self, flags: int = 0) -> int:
        self._drv.storage_pool_create(self._ref, flags)
        return 0

    def destroy(self) -> int:
        self._drv.storage_pool_destroy(self._ref)
        return 0

    def delete(self, flags: int = 0) -> int:
        self._drv.storage_pool_delete(self._ref, flags)
        return 0

    def undefine(self) -> int:
        self._drv.storage_pool_undefine(self._ref)
        return 0

    def refresh(self, flags: int = 0) -> int:
        self._drv.storage_pool_refresh(self._ref, flags)
        return 0

    def num_of_volumes(self) -> int:
        return self._drv.storage_pool_num_of_volumes(self._ref)

    def list_volumes(self) -> list[str]:
        return list(self._drv.storage_pool_list_volumes(self._ref, self._drv.storage_pool_num_of_volumes(self._ref)))

    def list_all_volumes(self, flags: int = 0) -> list["StorageVolume"]:
        return [self._conn._vol(r) for r in self._drv.storage_pool_list_all_volumes(self._ref, flags)]

    def storage_vol_lookup_by_name(self, name: str) -> "StorageVolume":
        return self._conn._vol(self._drv.storage_vol_lookup_by_name(self._ref, name))

    def create_xml(self, xml_desc: str, flags: int = 0) -> "StorageVolume":
        return self._conn._vol(self._drv.storage_vol_create_xml(self._ref, xml_desc, flags))

    def create_xml_from(self, xml_desc: str, clonevol: "StorageVolume", flags: int = 0) -> "StorageVolume":
        return self._conn._vol(self._drv.storage_vol_create_xml_from(self._ref, xml_desc, clonevol._ref, flags))


class StorageVolume(Handle):
    """A storage volume in a pool."""

    __slots__ = ()
    _ref: StorageVolRef

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._ref.pool!r}/{self._ref.name!r}>"

    def key(self) -> str:
        return self._ref.key

    def path(self) -> str:
        return self._drv.storage_vol_get_path(self._ref)

    def info(self) -> StorageVolumeInfo:
        return StorageVolumeInfo._make(self._drv.storage_vol_get_info(self._ref))

    def info_flags(self, flags: int = 0) -> StorageVolumeInfo:
        return StorageVolumeInfo._make(self._drv.storage_vol_get_info_flags(self._ref, flags))

    def xml_desc(self, flags: int = 0) -> str:
        return self._drv.storage_vol_get_xml_desc(self._ref, flags)

    def delete(self, flags: int = 0) -> int:
        self._drv.storage_vol_delete(self._ref, flags)
        return 0

    def wipe(self, flags: int = 0) -> int:
        self._drv.storage_vol_wipe(self._ref, flags)
        return 0

    def wipe_pattern(self, algorithm: int, flags: int = 0) -> int:
        self._drv.storage_vol_wipe_pattern(self._ref, algorithm, flags)
        return 0

    def resize(self, capacity: int, flags: int = 0) -> int:
        self._drv.storage_vol_resize(self._ref, capacity, flags)
        return 0

    def storage_pool_lookup_by_volume(self) -> StoragePool:
        return self._conn._pool(self._drv.storage_pool_lookup_by_volume(self._ref))

    def upload(self, stream: "Stream", offset: int, length: int, flags: int = 0) -> int:
        """Attach *stream* for writing the volume's contents from *offset* (*length* 0: to the end)."""
        stream._attach(self._drv.storage_vol_upload(self._ref, offset, length, flags))
        return 0

    def download(self, stream: "Stream", offset: int, length: int, flags: int = 0) -> int:
        """Attach *stream* for reading the volume's contents from *offset* (*length* 0: to the end)."""
        stream._attach(self._drv.storage_vol_download(self._ref, offset, length, flags))
        return 0
