"""pyvirt: libvirt's virtualization API, rebuilt in Python.

    import pyvirt
    with pyvirt.open("test:///default") as conn:
        for dom in conn.list_all_domains():
            print(dom.name(), dom.info().state)

The methods are libvirt-python's, in snake_case, returning typed tuples; the
errors are :class:`LibvirtError` subclasses carrying libvirt's numeric code.
Scripts written for libvirt-python can use ``import pyvirt.libvirt as libvirt``.
"""

from __future__ import annotations

from . import constants
from .connection import Connection, NodeInfo, open, open_auth, open_read_only
from .domain import BlockInfo, ControlInfo, Domain, DomainInfo, DomainState
from .errors import (AccessDeniedError, AlreadyExistsError, ConnectionError_, InvalidArgumentError,
                     InvalidOperationError, LibvirtError, NotFoundError, NotSupportedError,
                     OperationFailedError, XMLError)
from .interface import Interface
from .network import Network
from .nodedev import NodeDevice
from .snapshot import DomainSnapshot
from .checkpoint import DomainCheckpoint
from .storage import StoragePool, StoragePoolInfo, StorageVolume, StorageVolumeInfo
from .stream import Stream
from .uri import URI, parse_uri

__version__ = "0.1.0"
#: The libvirt API level pyvirt implements (libvirt's version number encoding: 9.0.0).
__libvirt_version__ = 9000000

__all__ = [
    "open", "open_read_only", "open_auth", "Connection", "NodeInfo",
    "Domain", "DomainInfo", "DomainState", "BlockInfo", "ControlInfo", "DomainSnapshot", "DomainCheckpoint",
    "Network", "StoragePool", "StoragePoolInfo", "StorageVolume", "StorageVolumeInfo",
    "NodeDevice", "Interface", "Stream", "URI", "parse_uri", "constants",
    "LibvirtError", "NotFoundError", "InvalidOperationError", "InvalidArgumentError",
    "NotSupportedError", "XMLError", "AlreadyExistsError", "AccessDeniedError",
    "ConnectionError_", "OperationFailedError",
]
