"""What every driver provides, and the handles that cross the driver boundary.

A driver is one object per connection. Its methods are libvirt's driver-table
entries in snake_case (``domainGetInfo`` -> ``domain_get_info``), taking the
arguments of libvirt's C API in order, with object handles passed as the
reference tuples below (the same fields as the wire protocol's
``remote_nonnull_*`` structs) and results returned as plain Python values
(tuples where the C API fills a struct). A call a driver lacks raises
libvirt's VIR_ERR_NO_SUPPORT, never AttributeError.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, NamedTuple

from .. import constants as c
from ..errors import make_error

__all__ = [
    "DomainRef", "NetworkRef", "StoragePoolRef", "StorageVolRef", "NodeDeviceRef",
    "InterfaceRef", "SnapshotRef", "Driver", "EventCallback", "api_name",
]


class DomainRef(NamedTuple):
    """A domain handle: name, 16-byte UUID and id (-1 when not running)."""

    name: str
    uuid: bytes
    id: int


class NetworkRef(NamedTuple):
    name: str
    uuid: bytes


class StoragePoolRef(NamedTuple):
    name: str
    uuid: bytes


class StorageVolRef(NamedTuple):
    pool: str
    name: str
    key: str


class NodeDeviceRef(NamedTuple):
    name: str


class InterfaceRef(NamedTuple):
    name: str
    mac: str


class SnapshotRef(NamedTuple):
    domain: DomainRef
    name: str


# A driver event callback receives the object's ref then the event's own
# arguments in libvirt-python's callback order (without conn, dom and opaque).
EventCallback = Callable[..., None]


_ERROR_DOMAINS = (
    ("domain_snapshot_", c.VIR_FROM_DOMAIN_SNAPSHOT), ("domain_checkpoint_", c.VIR_FROM_DOMAIN_CHECKPOINT),
    ("domain_", c.VIR_FROM_DOMAIN), ("connect_list_all_domains", c.VIR_FROM_DOMAIN),
    ("network_", c.VIR_FROM_NETWORK), ("storage_", c.VIR_FROM_STORAGE),
    ("node_device_", c.VIR_FROM_NODEDEV), ("interface_", c.VIR_FROM_INTERFACE),
    ("secret_", c.VIR_FROM_SECRET), ("nwfilter_", c.VIR_FROM_NWFILTER),
)


def _error_domain(method: str) -> int:
    """The error domain libvirt's public API file for *method* reports with."""
    for prefix, domain in _ERROR_DOMAINS:
        if method.startswith(prefix):
            return domain
    return c.VIR_FROM_NONE


def api_name(method: str) -> str:
    """libvirt's C name for a driver method: ``domain_get_xml_desc`` -> ``virDomainGetXMLDesc``."""
    return "vir" + "".join(_ACRONYMS.get(p, p.title()) for p in method.split("_"))


_ACRONYMS = {
    "xml": "XML", "uuid": "UUID", "id": "ID", "cpu": "CPU", "mac": "MAC", "nwfilter": "NWFilter",
    "pm": "PM", "dhcp": "DHCP", "iothread": "IOThread", "fs": "FS", "nmi": "NMI", "os": "OS",
    "sev": "SEV", "scsi": "SCSI", "wwn": "WWN", "vcpu": "Vcpu", "io": "IO",
}


class Driver:
    """Base of every driver. Subclasses implement the calls they support."""

    #: libvirt's connection type name (virConnectGetType), e.g. "TEST" or "QEMU".
    type_name = "unknown"

    def __init__(self, uri: str, read_only: bool = False) -> None:
        self.uri = uri
        self.read_only = read_only

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        api = api_name(name)

        def unsupported(*_args: Any, **_kwargs: Any) -> Any:
            raise make_error(c.VIR_ERR_NO_SUPPORT, api, _error_domain(name))

        return unsupported

    def check_writable(self) -> None:
        """Refuse a change on a read-only connection, as libvirt does.

        The error names the API the caller used ("read only access prevents
        virDomainDestroy"): the outermost method of this driver on the stack.
        """
        if not self.read_only:
            return
        method = None
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_locals.get("self") is self:
                method = frame.f_code.co_name
            frame = frame.f_back  # type: ignore[assignment]
        api = api_name(method) if method else "this operation"
        raise make_error(c.VIR_ERR_OPERATION_DENIED, f"read only access prevents {api}",
                         _error_domain(method or ""))

    # Plain calls that libvirt defines as their *Flags variant with flags=0. Drivers that
    # implement only the Flags variant get the plain one for free.
    def domain_define_xml(self, xml: str) -> DomainRef:
        return self.domain_define_xml_flags(xml, 0)

    def domain_create(self, dom: DomainRef) -> Any:
        return self.domain_create_with_flags(dom, 0)

    def domain_destroy(self, dom: DomainRef) -> None:
        self.domain_destroy_flags(dom, 0)

    def domain_shutdown(self, dom: DomainRef) -> None:
        self.domain_shutdown_flags(dom, 0)

    def domain_undefine(self, dom: DomainRef) -> None:
        self.domain_undefine_flags(dom, 0)

    def domain_set_memory(self, dom: DomainRef, memory: int) -> None:
        self.domain_set_memory_flags(dom, memory, c.VIR_DOMAIN_AFFECT_LIVE)

    def domain_set_vcpus(self, dom: DomainRef, nvcpus: int) -> None:
        self.domain_set_vcpus_flags(dom, nvcpus, c.VIR_DOMAIN_AFFECT_LIVE)

    def domain_save(self, dom: DomainRef, to: str) -> None:
        self.domain_save_flags(dom, to, None, 0)

    def domain_restore(self, frm: str) -> None:
        self.domain_restore_flags(frm, None, 0)

    def domain_attach_device(self, dom: DomainRef, xml: str) -> None:
        self.domain_attach_device_flags(dom, xml, c.VIR_DOMAIN_AFFECT_LIVE)

    def domain_detach_device(self, dom: DomainRef, xml: str) -> None:
        self.domain_detach_device_flags(dom, xml, c.VIR_DOMAIN_AFFECT_LIVE)

    def domain_pin_vcpu(self, dom: DomainRef, vcpu: int, cpumap: Any) -> None:
        self.domain_pin_vcpu_flags(dom, vcpu, cpumap, c.VIR_DOMAIN_AFFECT_LIVE)

    def domain_get_scheduler_parameters(self, dom: DomainRef) -> Any:
        return self.domain_get_scheduler_parameters_flags(dom, 0)

    def domain_set_scheduler_parameters(self, dom: DomainRef, params: dict[str, Any]) -> None:
        self.domain_set_scheduler_parameters_flags(dom, params, 0)

    def network_define_xml(self, xml: str) -> NetworkRef:
        return self.network_define_xml_flags(xml, 0)

    def network_create_xml(self, xml: str) -> NetworkRef:
        return self.network_create_xml_flags(xml, 0)

    def connect_close(self) -> None:
        """Release this connection's resources (event callbacks, shared state references)."""

    def connect_get_uri(self) -> str:
        return self.uri

    def connect_is_alive(self) -> int:
        return 1
