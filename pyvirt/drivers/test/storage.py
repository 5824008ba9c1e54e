"""Storage pools and volumes of the test driver (bookkeeping only, no real storage)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ... import constants as c
from ...conf.xmlutil import parse_xml
from ..base import StoragePoolRef, StorageVolRef
from .common import Event, TestBase, err, flags_ok
from .defaults import POOL_SOURCES_LOGICAL, POOL_SOURCES_NETFS
from .loader import pool_defaults
from .state import PoolObj, VolObj
from . import xmldefs
from .xmldefs import uuid_str

if TYPE_CHECKING:
    from .xmldefs import StoragePoolDef, StorageVolDef

__all__ = ["StorageMixin"]

_POOL_TYPES = ("dir", "fs", "netfs", "logical", "disk", "iscsi", "iscsi-direct", "scsi", "mpath", "rbd",
               "sheepdog", "gluster", "zfs", "vstorage")
_VOL_TYPE = {"dir": c.VIR_STORAGE_VOL_FILE, "fs": c.VIR_STORAGE_VOL_FILE, "netfs": c.VIR_STORAGE_VOL_FILE,
             "vstorage": c.VIR_STORAGE_VOL_FILE, "sheepdog": c.VIR_STORAGE_VOL_NETWORK,
             "iscsi-direct": c.VIR_STORAGE_VOL_NETWORK, "gluster": c.VIR_STORAGE_VOL_NETWORK,
             "rbd": c.VIR_STORAGE_VOL_NETWORK}
_VOL_TYPE_NAME = {c.VIR_STORAGE_VOL_FILE: "file", c.VIR_STORAGE_VOL_BLOCK: "block",
                  c.VIR_STORAGE_VOL_NETWORK: "network"}


class StorageMixin(TestBase):
    """virStoragePool* and virStorageVol* calls."""

    # -- lookup helpers ------------------------------------------------------
    def _pool(self, name: str) -> PoolObj:
        p = self.st.pools.get(name)
        if p is None:
            raise err(c.VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching name '{name}'")
        return p

    def _pool_uuid(self, uuid: bytes) -> PoolObj:
        p = self.st.pool_uuid.get(bytes(uuid))
        if p is None:
            raise err(c.VIR_ERR_NO_STORAGE_POOL, f"no storage pool with matching uuid '{uuid_str(uuid)}'")
        return p

    def _active_pool(self, name: str) -> PoolObj:
        p = self._pool(name)
        if not p.active:
            raise err(c.VIR_ERR_OPERATION_INVALID, f"storage pool '{name}' is not active")
        return p

    def _inactive_pool(self, name: str) -> PoolObj:
        p = self._pool(name)
        if p.active:
            raise err(c.VIR_ERR_OPERATION_INVALID, f"storage pool '{name}' is active")
        return p

    @staticmethod
    def _pref(p: PoolObj) -> StoragePoolRef:
        return StoragePoolRef(p.def_.name, p.def_.uuid_bytes)

    @staticmethod
    def _vol(p: PoolObj, name: str) -> VolObj:
        v = p.volumes.get(name)
        if v is None:
            raise err(c.VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name '{name}'")
        return v

    @staticmethod
    def _pool_event(ref: StoragePoolRef, event: int, event_id: int = c.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE) -> Event:
        args = (event, 0) if event_id == c.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE else ()
        return ("storage_pool", event_id, ref.uuid, ref, args)

    # -- pools ------------------------------------------------------------------
    def _pool_names(self, active: bool) -> list[str]:
        with self._lock:
            return sorted(n for n, p in self.st.pools.items() if p.active == active)

    def connect_num_of_storage_pools(self) -> int:
        return len(self._pool_names(True))

    def connect_list_storage_pools(self, maxnames: int = -1) -> list[str]:
        names = self._pool_names(True)
        return names if maxnames < 0 else names[:maxnames]

    def connect_num_of_defined_storage_pools(self) -> int:
        return len(self._pool_names(False))

    def connect_list_defined_storage_pools(self, maxnames: int = -1) -> list[str]:
        names = self._pool_names(False)
        return names if maxnames < 0 else names[:maxnames]

    def connect_list_all_storage_pools(self, flags: int = 0) -> list[StoragePoolRef]:
        flags_ok(flags, 0x3FFFF, "testConnectListAllStoragePools")
        out = []
        with self._lock:
            for p in self.st.pools.values():
                if flags & 3 and not ((flags & 2 and p.active) or (flags & 1 and not p.active)):
                    continue
                if flags & 0xC and not ((flags & 4 and p.persistent) or (flags & 8 and not p.persistent)):
                    continue
                if flags & 0x30 and not ((flags & 0x10 and p.autostart) or (flags & 0x20 and not p.autostart)):
                    continue
                type_bits = flags & ~0x3F
                if type_bits:
                    bit = {"dir": 1 << 6, "fs": 1 << 7, "netfs": 1 << 8, "logical": 1 << 9, "disk": 1 << 10,
                           "iscsi": 1 << 11, "scsi": 1 << 12, "mpath": 1 << 13, "rbd": 1 << 14,
                           "sheepdog": 1 << 15, "gluster": 1 << 16, "zfs": 1 << 17}.get(p.def_.type, 0)
                    if not type_bits & bit:
                        continue
                out.append(self._pref(p))
        return out

    def connect_find_storage_pool_sources(self, type: str, src_spec: str | None, flags: int = 0) -> str:
        flags_ok(flags, 0, "testConnectFindStoragePoolSources")
        if type == "dir":  # libvirt: "dir" is enum 0, which its check takes for "unknown"
            raise err(c.VIR_ERR_INTERNAL_ERROR, f"unknown storage pool type {type}")
        host = None
        if src_spec:
            src = parse_xml(src_spec, "source", "srcSpec")
            h = src.find("host")
            host = h.get("name") if h is not None else None
        if type == "logical":
            return POOL_SOURCES_LOGICAL
        if type == "netfs":
            if not host:
                raise err(c.VIR_ERR_INVALID_ARG, "hostname must be specified for netfs sources")
            return POOL_SOURCES_NETFS % host
        raise err(c.VIR_ERR_NO_SUPPORT, None,
                  f"this function is not supported by the connection driver: "
                  f"pool type '{type}' does not support source discovery")

    def storage_pool_lookup_by_name(self, name: str) -> StoragePoolRef:
        with self._lock:
            return self._pref(self._pool(name))

    def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePoolRef:
        with self._lock:
            return self._pref(self._pool_uuid(uuid))

    def storage_pool_lookup_by_volume(self, vol: StorageVolRef) -> StoragePoolRef:
        return self.storage_pool_lookup_by_name(vol.pool)

    def storage_pool_is_active(self, pool: StoragePoolRef) -> int:
        with self._lock:
            return int(self._pool_uuid(pool.uuid).active)

    def storage_pool_is_persistent(self, pool: StoragePoolRef) -> int:
        with self._lock:
            return int(self._pool_uuid(pool.uuid).persistent)

    def _add_pool(self, pdef: StoragePoolDef, check_live: bool) -> PoolObj:
        st = self.st
        p = st.pool_uuid.get(pdef.uuid_bytes)
        if p is not None:
            if p.def_.name != pdef.name:
                raise err(c.VIR_ERR_OPERATION_FAILED,
                          f"pool '{p.def_.name}' is already defined with uuid {p.def_.uuid}",
                          domain=c.VIR_FROM_STORAGE)
            if check_live and p.active:
                raise err(c.VIR_ERR_OPERATION_INVALID, f"pool is already active as '{p.def_.name}'",
                          domain=c.VIR_FROM_STORAGE)
            p.def_ = pdef
            return p
        other = st.pools.get(pdef.name)
        if other is not None:
            raise err(c.VIR_ERR_OPERATION_FAILED,
                      f"pool '{pdef.name}' already exists with uuid {other.def_.uuid}", domain=c.VIR_FROM_STORAGE)
        for q in st.pools.values():
            if pdef.type in ("dir", "fs", "netfs") and q.def_.type == pdef.type \
                    and q.def_.target_path == pdef.target_path and pdef.target_path:
                raise err(c.VIR_ERR_OPERATION_FAILED,
                          f"Storage source conflict with pool: '{q.def_.name}'", domain=c.VIR_FROM_STORAGE)
        p = PoolObj(pdef)
        st.add_pool(p)
        return p

    def storage_pool_create_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        self.check_writable()
        flags_ok(flags, 0, "testStoragePoolCreateXML")
        pdef = xmldefs.StoragePoolDef.parse(xml)
        events: list[Event] = []
        with self._lock:
            p = self._add_pool(pdef, True)
            adapter = pdef.source_adapter
            if adapter is not None and adapter.get("type") == "fc_host":
                try:
                    events.append(self._mock_create_vport(adapter.get("wwnn", ""), adapter.get("wwpn", "")))
                except Exception:
                    self.st.remove_pool(p)
                    raise
            pool_defaults(p)
            p.persistent = False
            p.active = True
            ref = self._pref(p)
            events.append(self._pool_event(ref, c.VIR_STORAGE_POOL_EVENT_STARTED))
        self._fire(events)
        return ref

    def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePoolRef:
        self.check_writable()
        flags_ok(flags, c.VIR_STORAGE_POOL_DEFINE_VALIDATE, "testStoragePoolDefineXML")
        pdef = xmldefs.StoragePoolDef.parse(xml)
        with self._lock:
            p = self._add_pool(pdef, False)
            ref = self._pref(p)
            ev = self._pool_event(ref, c.VIR_STORAGE_POOL_EVENT_DEFINED)
            pool_defaults(p)
            p.persistent = True
        self._fire([ev])
        return ref

    def storage_pool_undefine(self, pool: StoragePoolRef) -> None:
        self.check_writable()
        with self._lock:
            p = self._inactive_pool(pool.name)
            ev = self._pool_event(pool, c.VIR_STORAGE_POOL_EVENT_UNDEFINED)
            self.st.remove_pool(p)
        self._fire([ev])

    def storage_pool_build(self, pool: StoragePoolRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testStoragePoolBuild")
        with self._lock:
            self._inactive_pool(pool.name)
            ev = self._pool_event(pool, c.VIR_STORAGE_POOL_EVENT_CREATED)
        self._fire([ev])

    def storage_pool_create(self, pool: StoragePoolRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testStoragePoolCreate")
        with self._lock:
            p = self._inactive_pool(pool.name)
            p.active = True
            ev = self._pool_event(pool, c.VIR_STORAGE_POOL_EVENT_STARTED)
        self._fire([ev])

    def storage_pool_destroy(self, pool: StoragePoolRef) -> None:
        self.check_writable()
        events: list[Event] = []
        with self._lock:
            p = self._active_pool(pool.name)
            p.active = False
            adapter = p.def_.source_adapter
            if adapter is not None and adapter.get("type") == "fc_host":
                dev = self.st.devs.pop("scsi_host12", None)
                if dev is None:
                    raise err(c.VIR_ERR_NO_NODE_DEVICE, "no node device with matching name 'scsi_host12'")
                events.append(("node_device", c.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, "scsi_host12",
                               _devref("scsi_host12"), (c.VIR_NODE_DEVICE_EVENT_DELETED, 0)))
            events.append(self._pool_event(self._pref(p), c.VIR_STORAGE_POOL_EVENT_STOPPED))
            if not p.persistent:
                self.st.remove_pool(p)
        self._fire(events)

    def storage_pool_delete(self, pool: StoragePoolRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testStoragePoolDelete")
        with self._lock:
            self._inactive_pool(pool.name)
            ev = self._pool_event(pool, c.VIR_STORAGE_POOL_EVENT_DELETED)
        self._fire([ev])

    def storage_pool_refresh(self, pool: StoragePoolRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testStoragePoolRefresh")
        with self._lock:
            self._active_pool(pool.name)
            ev = self._pool_event(pool, 0, c.VIR_STORAGE_POOL_EVENT_ID_REFRESH)
        self._fire([ev])

    def storage_pool_get_info(self, pool: StoragePoolRef) -> tuple[int, int, int, int]:
        with self._lock:
            p = self._pool(pool.name)
            state = c.VIR_STORAGE_POOL_RUNNING if p.active else c.VIR_STORAGE_POOL_INACTIVE
            return state, p.capacity, p.allocation, p.available

    def storage_pool_get_xml_desc(self, pool: StoragePoolRef, flags: int = 0) -> str:
        flags_ok(flags, 0, "testStoragePoolGetXMLDesc")
        with self._lock:
            p = self._pool(pool.name)
            return p.def_.to_xml(capacity=p.capacity, allocation=p.allocation, available=p.available)

    def storage_pool_get_autostart(self, pool: StoragePoolRef) -> int:
        with self._lock:
            p = self._pool(pool.name)
            return int(p.persistent and p.autostart)

    def storage_pool_set_autostart(self, pool: StoragePoolRef, autostart: int) -> None:
        self.check_writable()
        with self._lock:
            p = self._pool(pool.name)
            if not p.persistent:
                raise err(c.VIR_ERR_INVALID_ARG, "pool has no config file")
            p.autostart = bool(autostart)

    def storage_pool_num_of_volumes(self, pool: StoragePoolRef) -> int:
        with self._lock:
            return len(self._active_pool(pool.name).volumes)

    def storage_pool_list_volumes(self, pool: StoragePoolRef, maxnames: int = -1) -> list[str]:
        with self._lock:
            names = list(self._active_pool(pool.name).volumes)
        return names if maxnames < 0 else names[:maxnames]

    def storage_pool_list_all_volumes(self, pool: StoragePoolRef, flags: int = 0) -> list[StorageVolRef]:
        flags_ok(flags, 0, "testStoragePoolListAllVolumes")
        with self._lock:
            p = self._pool_uuid(pool.uuid)
            if not p.active:
                raise err(c.VIR_ERR_OPERATION_INVALID, "storage pool is not active")
            return [StorageVolRef(p.def_.name, v.def_.name, v.def_.key or "") for v in p.volumes.values()]

    # -- volumes ----------------------------------------------------------------------
    def storage_vol_lookup_by_name(self, pool: StoragePoolRef, name: str) -> StorageVolRef:
        with self._lock:
            p = self._active_pool(pool.name)
            v = self._vol(p, name)
            return StorageVolRef(p.def_.name, v.def_.name, v.def_.key or "")

    def _vol_search(self, attr: str, value: str, what: str) -> StorageVolRef:
        with self._lock:
            for p in self.st.pools.values():
                if not p.active:
                    continue
                for v in p.volumes.values():
                    if getattr(v.def_, attr) == value:
                        return StorageVolRef(p.def_.name, v.def_.name, v.def_.key or "")
        raise err(c.VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching {what} '{value}'")

    def storage_vol_lookup_by_key(self, key: str) -> StorageVolRef:
        return self._vol_search("key", key, "key")

    def storage_vol_lookup_by_path(self, path: str) -> StorageVolRef:
        return self._vol_search("target_path", path, "path")

    def _new_vol(self, p: PoolObj, xml: str) -> StorageVolDef:
        vdef = xmldefs.StorageVolDef.parse(xml, pool_type=p.def_.type)
        if vdef.name in p.volumes:
            raise err(c.VIR_ERR_OPERATION_FAILED, "storage vol already exists")
        if p.allocation + vdef.allocation > p.capacity:
            raise err(c.VIR_ERR_INTERNAL_ERROR, f"Not enough free space in pool for volume '{vdef.name}'")
        vdef.target_path = f"{p.def_.target_path}/{vdef.name}"
        vdef.key = vdef.target_path
        return vdef

    def _add_vol(self, p: PoolObj, vdef: StorageVolDef) -> StorageVolRef:
        p.volumes[vdef.name] = VolObj(vdef)
        p.allocation += vdef.allocation
        p.available = p.capacity - p.allocation
        return StorageVolRef(p.def_.name, vdef.name, vdef.key or "")

    def storage_vol_create_xml(self, pool: StoragePoolRef, xml: str, flags: int = 0) -> StorageVolRef:
        self.check_writable()
        flags_ok(flags, c.VIR_STORAGE_VOL_CREATE_VALIDATE, "testStorageVolCreateXML")
        with self._lock:
            p = self._active_pool(pool.name)
            return self._add_vol(p, self._new_vol(p, xml))

    def storage_vol_create_xml_from(self, pool: StoragePoolRef, xml: str, clonevol: StorageVolRef,
                                    flags: int = 0) -> StorageVolRef:
        self.check_writable()
        flags_ok(flags, c.VIR_STORAGE_VOL_CREATE_VALIDATE, "testStorageVolCreateXMLFrom")
        with self._lock:
            p = self._active_pool(pool.name)
            vdef = xmldefs.StorageVolDef.parse(xml, pool_type=p.def_.type)
            if vdef.name in p.volumes:
                raise err(c.VIR_ERR_OPERATION_FAILED, "storage vol already exists")
            if clonevol.name not in p.volumes:
                raise err(c.VIR_ERR_NO_STORAGE_VOL, f"no storage vol with matching name '{clonevol.name}'")
            if p.allocation + vdef.allocation > p.capacity:
                raise err(c.VIR_ERR_INTERNAL_ERROR, f"Not enough free space in pool for volume '{vdef.name}'")
            vdef.target_path = f"{p.def_.target_path}/{vdef.name}"
            vdef.key = vdef.target_path
            return self._add_vol(p, vdef)

    def storage_vol_delete(self, vol: StorageVolRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testStorageVolDelete")
        with self._lock:
            p = self._active_pool(vol.pool)
            v = self._vol(p, vol.name)
            p.allocation -= v.def_.allocation
            p.available = p.capacity - p.allocation
            del p.volumes[vol.name]

    def storage_vol_get_info(self, vol: StorageVolRef) -> tuple[int, int, int]:
        with self._lock:
            p = self._active_pool(vol.pool)
            v = self._vol(p, vol.name)
            return _VOL_TYPE.get(p.def_.type, c.VIR_STORAGE_VOL_BLOCK), v.def_.capacity, v.def_.allocation

    def storage_vol_get_xml_desc(self, vol: StorageVolRef, flags: int = 0) -> str:
        flags_ok(flags, 0, "testStorageVolGetXMLDesc")
        with self._lock:
            p = self._active_pool(vol.pool)
            v = self._vol(p, vol.name)
            return v.def_.to_xml(vol_type=_VOL_TYPE_NAME[_VOL_TYPE.get(p.def_.type, c.VIR_STORAGE_VOL_BLOCK)])

    def storage_vol_get_path(self, vol: StorageVolRef) -> str:
        with self._lock:
            p = self._active_pool(vol.pool)
            return self._vol(p, vol.name).def_.target_path or ""


def _devref(name: str) -> object:
    from ..base import NodeDeviceRef
    return NodeDeviceRef(name)

