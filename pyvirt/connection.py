"""Connections: the entry point of the public API.

``pyvirt.open(uri)`` returns a :class:`Connection`; its methods are
libvirt-python's ``virConnect`` methods in snake_case (``lookupByName`` ->
``lookup_by_name``), each a thin dispatch to the connection's driver.
"""

from __future__ import annotations

import uuid as _uuid
from typing import Any, Callable, NamedTuple

from . import constants as c
from .drivers import open_driver
from .drivers.base import (DomainRef, Driver, api_name, InterfaceRef, NetworkRef, NodeDeviceRef,
                           StoragePoolRef, StorageVolRef)
from .errors import make_error
from .uri import default_uri
from .domain import Domain
from .network import Network
from .storage import StoragePool, StorageVolume
from .nodedev import NodeDevice
from .interface import Interface
from .snapshot import DomainSnapshot
from .checkpoint import DomainCheckpoint
from .stream import Stream

__all__ = ["Connection", "NodeInfo", "open", "open_read_only", "open_auth"]


class NodeInfo(NamedTuple):
    """virNodeInfo: the host's model, memory (KiB), CPUs, MHz and topology."""

    model: str
    memory: int
    cpus: int
    mhz: int
    nodes: int
    sockets: int
    cores: int
    threads: int


def _uuid_bytes(text: str) -> bytes:
    try:
        return _uuid.UUID(text).bytes
    except (ValueError, AttributeError, TypeError):
        raise make_error(c.VIR_ERR_INVALID_ARG, f"uuidstr in {text!r} is not a valid UUID") from None


class _ClosedDriver(Driver):
    """Stands in for the driver of a closed connection: every call fails."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)

        def closed(*_args: Any, **_kwargs: Any) -> Any:
            raise make_error(c.VIR_ERR_INVALID_CONN, f"{api_name(name)} (the connection is closed)")

        return closed

    def connect_close(self) -> None:
        pass

    def connect_is_alive(self) -> int:
        return 0


class Connection:
    """An open connection to a hypervisor driver. Use it as a context manager."""

    # Classes used to wrap handles; pyvirt.libvirt substitutes its own.
    _domain_cls: type[Domain] = Domain
    _network_cls: type[Network] = Network
    _pool_cls: type[StoragePool] = StoragePool
    _vol_cls: type[StorageVolume] = StorageVolume
    _nodedev_cls: type[NodeDevice] = NodeDevice
    _iface_cls: type[Interface] = Interface
    _snapshot_cls: type[DomainSnapshot] = DomainSnapshot
    _checkpoint_cls: type[DomainCheckpoint] = DomainCheckpoint
    _stream_cls: type[Stream] = Stream

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._closed = False
        self._callbacks: dict[int, tuple[str, int]] = {}
        self._legacy_callbacks: dict[Callable[..., Any], int] = {}
        self._close_callbacks: list[tuple[Callable[..., Any], Any]] = []

    # --- life ----------------------------------------------------------------
    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # Like libvirt-python, a connection nobody references any more is closed, so that
        # shared driver state (test:///default) does not outlive its last user.
        try:
            if not self._closed:
                self.close()
        except Exception:  # interpreter shutdown or a driver already gone
            pass

    def close(self) -> int:
        """Close the connection; further calls fail. Returns 0 like libvirt."""
        if not self._closed:
            self._closed = True
            for cb_id, (family, _) in list(self._callbacks.items()):
                try:
                    getattr(self._driver, f"connect_{family}_event_deregister_any")(cb_id)
                except Exception:  # the driver may already be gone
                    pass
            self._callbacks.clear()
            driver, self._driver = self._driver, _ClosedDriver(self._driver.uri)
            self._close_callbacks.clear()  # an explicit close is not reported, as in libvirt
            driver.connect_close()
        return 0

    @property
    def driver(self) -> Driver:
        """The driver serving this connection."""
        return self._driver

    def register_close_callback(self, cb: Callable[..., Any], opaque: Any = None) -> int:
        """Call ``cb(conn, reason, opaque)`` when the connection drops (VIR_CONNECT_CLOSE_REASON_*).

        One callback per connection, as in libvirt. Drivers that can lose their connection
        (remote) report it; local drivers never drop.
        """
        if self._close_callbacks:
            raise make_error(c.VIR_ERR_OPERATION_INVALID, "A close callback is already registered")
        self._close_callbacks.append((cb, opaque))
        if getattr(type(self._driver), "connect_register_close_callback", None) is not None:
            self._driver.connect_register_close_callback(self._closed_by_driver)
        return 0

    def unregister_close_callback(self) -> int:
        if not self._close_callbacks:
            raise make_error(c.VIR_ERR_OPERATION_INVALID, "A different callback was requested")
        self._close_callbacks.clear()
        if getattr(type(self._driver), "connect_unregister_close_callback", None) is not None:
            self._driver.connect_unregister_close_callback(None)
        return 0

    def _closed_by_driver(self, reason: int) -> None:
        for cb, opaque in list(self._close_callbacks):
            cb(self, reason, opaque)

    # --- wrapping ------------------------------------------------------------
    def new_stream(self, flags: int = 0) -> Stream:
        """A new, unattached stream (virStreamNew); ``VIR_STREAM_NONBLOCK`` makes it non-blocking."""
        if self._closed:
            raise make_error(c.VIR_ERR_INVALID_CONN, "virStreamNew (the connection is closed)")
        return self._stream_cls(self, flags)

    def _dom(self, ref: DomainRef) -> Domain:
        return self._domain_cls(self, ref)

    def _net(self, ref: NetworkRef) -> Network:
        return self._network_cls(self, ref)

    def _pool(self, ref: StoragePoolRef) -> StoragePool:
        return self._pool_cls(self, ref)

    def _vol(self, ref: StorageVolRef) -> StorageVolume:
        return self._vol_cls(self, ref)

    def _nodedev(self, ref: NodeDeviceRef) -> NodeDevice:
        return self._nodedev_cls(self, ref)

    def _iface(self, ref: InterfaceRef) -> Interface:
        return self._iface_cls(self, ref)

    # --- connection facts ----------------------------------------------------
    def get_uri(self) -> str:
        return self._driver.connect_get_uri()

    def get_type(self) -> str:
        return self._driver.type_name

    def get_version(self) -> int:
        return self._driver.connect_get_version()

    def get_lib_version(self) -> int:
        from . import __libvirt_version__
        return __libvirt_version__

    def get_hostname(self) -> str:
        return self._driver.connect_get_hostname()

    def get_max_vcpus(self, type: str | None = None) -> int:  # noqa: A002 - libvirt's name
        return self._driver.connect_get_max_vcpus(type)

    def get_capabilities(self) -> str:
        return self._driver.connect_get_capabilities()

    def get_domain_capabilities(self, emulatorbin: str | None = None, arch: str | None = None,
                                machine: str | None = None, virttype: str | None = None,
                                flags: int = 0) -> str:
        return self._driver.connect_get_domain_capabilities(emulatorbin, arch, machine, virttype, flags)

    def get_sysinfo(self, flags: int = 0) -> str:
        return self._driver.connect_get_sysinfo(flags)

    def is_alive(self) -> int:
        return 0 if self._closed else self._driver.connect_is_alive()

    def is_secure(self) -> int:
        return self._driver.connect_is_secure()

    def is_encrypted(self) -> int:
        return self._driver.connect_is_encrypted()

    def get_info(self) -> NodeInfo:
        """Host facts (virNodeGetInfo)."""
        return NodeInfo._make(self._driver.node_get_info())

    def get_free_memory(self) -> int:
        return self._driver.node_get_free_memory()

    def get_cells_free_memory(self, start_cell: int, max_cells: int) -> list[int]:
        return self._driver.node_get_cells_free_memory(start_cell, max_cells)

    def get_memory_stats(self, cell_num: int = c.VIR_NODE_MEMORY_STATS_ALL_CELLS, flags: int = 0) -> dict[str, int]:
        return self._driver.node_get_memory_stats(cell_num, flags)

    def get_cpu_stats(self, cpu_num: int = c.VIR_NODE_CPU_STATS_ALL_CPUS, flags: int = 0) -> dict[str, int]:
        return self._driver.node_get_cpu_stats(cpu_num, flags)

    def get_cpu_map(self, flags: int = 0) -> tuple[int, list[bool], int]:
        return self._driver.node_get_cpu_map(flags)

    def get_free_pages(self, pages: list[int], start_cell: int, cell_count: int, flags: int = 0) -> dict[int, dict[int, int]]:
        return self._driver.node_get_free_pages(pages, start_cell, cell_count, flags)

    def get_cpu_model_names(self, arch: str, flags: int = 0) -> list[str]:
        return self._driver.connect_get_cpu_model_names(arch, flags)

    def baseline_cpu(self, xml_cpus: list[str], flags: int = 0) -> str:
        return self._driver.connect_baseline_cpu(xml_cpus, flags)

    def compare_cpu(self, xml_desc: str, flags: int = 0) -> int:
        return self._driver.connect_compare_cpu(xml_desc, flags)

    def get_security_model(self) -> list[str]:
        return list(self._driver.node_get_security_model())

    def set_keep_alive(self, interval: int, count: int) -> int:
        """Ping the peer every *interval* s; drop after *count* unanswered (remote only, like libvirt)."""
        self._driver.connect_set_keep_alive(interval, count)
        return 0

    def get_memory_parameters(self, flags: int = 0) -> dict[str, Any]:
        return self._driver.node_get_memory_parameters(flags)

    def suspend_for_duration(self, target: int, duration: int, flags: int = 0) -> int:
        return self._driver.node_suspend_for_duration(target, duration, flags)

    # --- domains -------------------------------------------------------------
    def lookup_by_name(self, name: str) -> Domain:
        return self._domain_cls(self, self._driver.domain_lookup_by_name(name))

    def lookup_by_id(self, id: int) -> Domain:  # noqa: A002
        return self._domain_cls(self, self._driver.domain_lookup_by_id(id))

    def lookup_by_uuid(self, uuid: bytes) -> Domain:
        return self._domain_cls(self, self._driver.domain_lookup_by_uuid(bytes(uuid)))

    def lookup_by_uuid_string(self, uuidstr: str) -> Domain:
        return self.lookup_by_uuid(_uuid_bytes(uuidstr))

    def list_all_domains(self, flags: int = 0) -> list[Domain]:
        cls = self._domain_cls
        return [cls(self, ref) for ref in self._driver.connect_list_all_domains(flags)]

    def list_domains_id(self) -> list[int]:
        return list(self._driver.connect_list_domains(self._driver.connect_num_of_domains()))

    def list_defined_domains(self) -> list[str]:
        return list(self._driver.connect_list_defined_domains(self._driver.connect_num_of_defined_domains()))

    def num_of_domains(self) -> int:
        return self._driver.connect_num_of_domains()

    def num_of_defined_domains(self) -> int:
        return self._driver.connect_num_of_defined_domains()

    def define_xml(self, xml: str) -> Domain:
        return self._dom(self._driver.domain_define_xml(xml))

    def define_xml_flags(self, xml: str, flags: int = 0) -> Domain:
        return self._dom(self._driver.domain_define_xml_flags(xml, flags))

    def create_xml(self, xml_desc: str, flags: int = 0) -> Domain:
        return self._dom(self._driver.domain_create_xml(xml_desc, flags))

    def create_linux(self, xml_desc: str, flags: int = 0) -> Domain:
        return self.create_xml(xml_desc, flags)

    def restore(self, frm: str) -> int:
        self._driver.domain_restore(frm)
        return 0

    def restore_flags(self, frm: str, dxml: str | None = None, flags: int = 0) -> int:
        self._driver.domain_restore_flags(frm, dxml, flags)
        return 0

    def save_image_get_xml_desc(self, file: str, flags: int = 0) -> str:
        return self._driver.domain_save_image_get_xml_desc(file, flags)

    def save_image_define_xml(self, file: str, dxml: str, flags: int = 0) -> int:
        self._driver.domain_save_image_define_xml(file, dxml, flags)
        return 0

    def get_all_domain_stats(self, stats: int = 0, flags: int = 0) -> list[tuple[Domain, dict[str, Any]]]:
        return [(self._dom(ref), rec) for ref, rec in self._driver.connect_get_all_domain_stats(stats, flags)]

    def domain_list_get_stats(self, doms: list[Domain], stats: int = 0, flags: int = 0) -> list[tuple[Domain, dict[str, Any]]]:
        refs = [d._ref for d in doms]
        return [(self._dom(ref), rec) for ref, rec in self._driver.domain_list_get_stats(refs, stats, flags)]

    # --- networks ------------------------------------------------------------
    def network_lookup_by_name(self, name: str) -> Network:
        return self._net(self._driver.network_lookup_by_name(name))

    def network_lookup_by_uuid(self, uuid: bytes) -> Network:
        return self._net(self._driver.network_lookup_by_uuid(bytes(uuid)))

    def network_lookup_by_uuid_string(self, uuidstr: str) -> Network:
        return self.network_lookup_by_uuid(_uuid_bytes(uuidstr))

    def list_all_networks(self, flags: int = 0) -> list[Network]:
        return [self._net(r) for r in self._driver.connect_list_all_networks(flags)]

    def list_networks(self) -> list[str]:
        return list(self._driver.connect_list_networks(self._driver.connect_num_of_networks()))

    def list_defined_networks(self) -> list[str]:
        return list(self._driver.connect_list_defined_networks(self._driver.connect_num_of_defined_networks()))

    def num_of_networks(self) -> int:
        return self._driver.connect_num_of_networks()

    def num_of_defined_networks(self) -> int:
        return self._driver.connect_num_of_defined_networks()

    def network_define_xml(self, xml: str) -> Network:
        return self._net(self._driver.network_define_xml(xml))

    def network_define_xml_flags(self, xml: str, flags: int = 0) -> Network:
        return self._net(self._driver.network_define_xml_flags(xml, flags))

    def network_create_xml(self, xml_desc: str) -> Network:
        return self._net(self._driver.network_create_xml(xml_desc))

    def network_create_xml_flags(self, xml_desc: str, flags: int = 0) -> Network:
        return self._net(self._driver.network_create_xml_flags(xml_desc, flags))

    # --- storage -------------------------------------------------------------
    def storage_pool_lookup_by_name(self, name: str) -> StoragePool:
        return self._pool(self._driver.storage_pool_lookup_by_name(name))

    def storage_pool_lookup_by_uuid(self, uuid: bytes) -> StoragePool:
        return self._pool(self._driver.storage_pool_lookup_by_uuid(bytes(uuid)))

    def storage_pool_lookup_by_uuid_string(self, uuidstr: str) -> StoragePool:
        return self.storage_pool_lookup_by_uuid(_uuid_bytes(uuidstr))

    def storage_pool_lookup_by_target_path(self, path: str) -> StoragePool:
        return self._pool(self._driver.storage_pool_lookup_by_target_path(path))

    def storage_vol_lookup_by_key(self, key: str) -> StorageVolume:
        return self._vol(self._driver.storage_vol_lookup_by_key(key))

    def storage_vol_lookup_by_path(self, path: str) -> StorageVolume:
        return self._vol(self._driver.storage_vol_lookup_by_path(path))

    def list_all_storage_pools(self, flags: int = 0) -> list[StoragePool]:
        return [self._pool(r) for r in self._driver.connect_list_all_storage_pools(flags)]

    def list_storage_pools(self) -> list[str]:
        return list(self._driver.connect_list_storage_pools(self._driver.connect_num_of_storage_pools()))

    def list_defined_storage_pools(self) -> list[str]:
        return list(self._driver.connect_list_defined_storage_pools(
            self._driver.connect_num_of_defined_storage_pools()))

    def num_of_storage_pools(self) -> int:
        return self._driver.connect_num_of_storage_pools()

    def num_of_defined_storage_pools(self) -> int:
        return self._driver.connect_num_of_defined_storage_pools()

    def storage_pool_define_xml(self, xml: str, flags: int = 0) -> StoragePool:
        return self._pool(self._driver.storage_pool_define_xml(xml, flags))

    def storage_pool_create_xml(self, xml_desc: str, flags: int = 0) -> StoragePool:
        return self._pool(self._driver.storage_pool_create_xml(xml_desc, flags))

    def find_storage_pool_sources(self, type: str, src_spec: str | None = None, flags: int = 0) -> str:  # noqa: A002
        return self._driver.connect_find_storage_pool_sources(type, src_spec, flags)

    def get_storage_pool_capabilities(self, flags: int = 0) -> str:
        return self._driver.connect_get_storage_pool_capabilities(flags)

    # --- node devices --------------------------------------------------------
    def node_device_lookup_by_name(self, name: str) -> NodeDevice:
        return self._nodedev(self._driver.node_device_lookup_by_name(name))

    def node_device_lookup_scsi_host_by_wwn(self, wwnn: str, wwpn: str, flags: int = 0) -> NodeDevice:
        return self._nodedev(self._driver.node_device_lookup_scsi_host_by_wwn(wwnn, wwpn, flags))

    def list_all_devices(self, flags: int = 0) -> list[NodeDevice]:
        return [self._nodedev(r) for r in self._driver.connect_list_all_node_devices(flags)]

    def list_devices(self, cap: str | None = None, flags: int = 0) -> list[str]:
        return list(self._driver.node_list_devices(cap, self._driver.node_num_of_devices(cap, flags), flags))

    def num_of_devices(self, cap: str | None = None, flags: int = 0) -> int:
        return self._driver.node_num_of_devices(cap, flags)

    def node_device_create_xml(self, xml_desc: str, flags: int = 0) -> NodeDevice:
        return self._nodedev(self._driver.node_device_create_xml(xml_desc, flags))

    def node_device_define_xml(self, xml_desc: str, flags: int = 0) -> NodeDevice:
        return self._nodedev(self._driver.node_device_define_xml(xml_desc, flags))

    # --- host interfaces -----------------------------------------------------
    def interface_lookup_by_name(self, name: str) -> Interface:
        return self._iface(self._driver.interface_lookup_by_name(name))

    def interface_lookup_by_mac_string(self, mac: str) -> Interface:
        return self._iface(self._driver.interface_lookup_by_mac_string(mac))

    def list_all_interfaces(self, flags: int = 0) -> list[Interface]:
        return [self._iface(r) for r in self._driver.connect_list_all_interfaces(flags)]

    def list_interfaces(self) -> list[str]:
        return list(self._driver.connect_list_interfaces(self._driver.connect_num_of_interfaces()))

    def list_defined_interfaces(self) -> list[str]:
        return list(self._driver.connect_list_defined_interfaces(self._driver.connect_num_of_defined_interfaces()))

    def num_of_interfaces(self) -> int:
        return self._driver.connect_num_of_interfaces()

    def num_of_defined_interfaces(self) -> int:
        return self._driver.connect_num_of_defined_interfaces()

    def interface_define_xml(self, xml: str, flags: int = 0) -> Interface:
        return self._iface(self._driver.interface_define_xml(xml, flags))

    def change_begin(self, flags: int = 0) -> int:
        self._driver.interface_change_begin(flags)
        return 0

    def change_commit(self, flags: int = 0) -> int:
        self._driver.interface_change_commit(flags)
        return 0

    def change_rollback(self, flags: int = 0) -> int:
        self._driver.interface_change_rollback(flags)
        return 0

    # --- events --------------------------------------------------------------
    def _register(self, family: str, obj: Any, event_id: int, cb: Callable[..., Any],
                  opaque: Any, wrap: Callable[[Any], Any]) -> int:
        def deliver(ref: Any, *args: Any) -> None:
            cb(self, wrap(ref), *args, opaque)

        register = getattr(self.driver, f"connect_{family}_event_register_any")
        cb_id = register(obj._ref if obj is not None else None, event_id, deliver)
        self._callbacks[cb_id] = (family, event_id)
        return cb_id

    def _deregister(self, family: str, cb_id: int) -> int:
        if self._callbacks.get(cb_id, (None,))[0] != family:
            raise make_error(c.VIR_ERR_INVALID_ARG, f"callback ID {cb_id} not registered")
        getattr(self.driver, f"connect_{family}_event_deregister_any")(cb_id)
        del self._callbacks[cb_id]
        return 0

    def domain_event_register_any(self, dom: Domain | None, event_id: int,
                                  cb: Callable[..., Any], opaque: Any = None) -> int:
        """Call ``cb(conn, dom, *event_args, opaque)`` on each *event_id* event; returns its id."""
        return self._register("domain", dom, event_id, cb, opaque, self._dom)

    def domain_event_deregister_any(self, callback_id: int) -> int:
        return self._deregister("domain", callback_id)

    def domain_event_register(self, cb: Callable[..., Any], opaque: Any = None) -> int:
        """The old lifecycle-only registration: ``cb(conn, dom, event, detail, opaque)``."""
        self._legacy_callbacks[cb] = self.domain_event_register_any(
            None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, opaque)
        return 0

    def domain_event_deregister(self, cb: Callable[..., Any]) -> int:
        cb_id = self._legacy_callbacks.pop(cb, None)
        if cb_id is None:
            raise make_error(c.VIR_ERR_INVALID_ARG, "callback function is not registered")
        return self.domain_event_deregister_any(cb_id)

    def network_event_register_any(self, net: Network | None, event_id: int,
                                   cb: Callable[..., Any], opaque: Any = None) -> int:
        return self._register("network", net, event_id, cb, opaque, self._net)

    def network_event_deregister_any(self, callback_id: int) -> int:
        return self._deregister("network", callback_id)

    def storage_pool_event_register_any(self, pool: StoragePool | None, event_id: int,
                                        cb: Callable[..., Any], opaque: Any = None) -> int:
        return self._register("storage_pool", pool, event_id, cb, opaque, self._pool)

    def storage_pool_event_deregister_any(self, callback_id: int) -> int:
        return self._deregister("storage_pool", callback_id)

    def node_device_event_register_any(self, dev: NodeDevice | None, event_id: int,
                                       cb: Callable[..., Any], opaque: Any = None) -> int:
        return self._register("node_device", dev, event_id, cb, opaque, self._nodedev)

    def node_device_event_deregister_any(self, callback_id: int) -> int:
        return self._deregister("node_device", callback_id)


def _resolve(uri: str | None) -> str:
    if uri:
        return uri
    found = default_uri()
    if found:
        return found
    import os
    return "qemu:///system" if os.geteuid() == 0 else "qemu:///session"


def open(uri: str | None = None) -> Connection:  # noqa: A001 - libvirt's name
    """Open a read-write connection to *uri* (or ``LIBVIRT_DEFAULT_URI``)."""
    return Connection(open_driver(_resolve(uri), read_only=False))


def open_read_only(uri: str | None = None) -> Connection:
    """Open a read-only connection: every call that changes something is refused."""
    return Connection(open_driver(_resolve(uri), read_only=True))


def open_auth(uri: str | None, auth: object = None, flags: int = 0) -> Connection:
    """Open with credentials callbacks (libvirt's virConnectOpenAuth)."""
    read_only = bool(flags & c.VIR_CONNECT_RO)
    return Connection(open_driver(_resolve(uri), read_only=read_only, auth=auth))
