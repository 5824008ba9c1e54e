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


def api_name(method: str) -> str:
    """libvirt's C name for a driver method: ``domain_get_xml_desc`` -> ``virDomainGetXMLDesc``."""
    return "vir" + "".join(p.upper() if p in ("xml", "uuid", "id", "cpu", "mac") else p.title()
                           for p in method.split("_"))


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
            raise make_error(c.VIR_ERR_NO_SUPPORT, api)

        return unsupported

    def check_writable(self) -> None:
        """Refuse a change on a read-only connection, as libvirt does."""
        if self.read_only:
            raise make_error(c.VIR_ERR_OPERATION_DENIED, "read only access prevents this operation")

    def connect_close(self) -> None:
        """Release this connection's resources (event callbacks, shared state references)."""

    def connect_get_uri(self) -> str:
        return self.uri

    def connect_is_alive(self) -> int:
        return 1
