"""libvirt-python compatibility: ``import pyvirt.libvirt as libvirt``.

The names, constants, classes and camelCase methods of libvirt-python 9.0, on
top of pyvirt's typed API: ``virConnect`` is a :class:`pyvirt.Connection`,
``virDomain`` a :class:`pyvirt.Domain`, ``libvirtError`` is
:class:`pyvirt.LibvirtError`. Results come back in libvirt-python's shapes
(lists where it returns lists, MiB in ``getInfo``). A method libvirt-python has
and pyvirt's driver lacks raises libvirtError with VIR_ERR_NO_SUPPORT.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from . import eventloop as _loop
from .connection import Connection as _Connection
from .connection import open as _open
from .connection import open_auth as _open_auth
from .connection import open_read_only as _open_read_only
from .constants import *  # noqa: F401,F403 - libvirt's VIR_* names
from .checkpoint import DomainCheckpoint as _DomainCheckpoint
from .domain import Domain as _Domain
from .errors import LibvirtError as libvirtError  # noqa: N812 - libvirt-python's name
from .errors import make_error as _make_error
from .interface import Interface as _Interface
from .network import Network as _Network
from .nodedev import NodeDevice as _NodeDevice
from .snapshot import DomainSnapshot as _DomainSnapshot
from .storage import StoragePool as _StoragePool
from .storage import StorageVolume as _StorageVolume
from .stream import STREAM_BUF_SIZE as _STREAM_BUF_SIZE
from .stream import Stream as _Stream
from . import constants as _c

# libvirt-python 9.0's public methods per class (facts about its interface).
_METHODS: dict[str, tuple[str, ...]] = {
    "virDomainCheckpoint": (
        "connect", "domain", "delete", "getName", "getParent", "getXMLDesc", "getConnect", "getDomain",
        "listAllChildren",
    ),
    "virConnect": (
        "allocPages", "baselineCPU", "baselineHypervisorCPU", "changeBegin", "changeCommit",
        "changeRollback", "close", "compareCPU", "compareHypervisorCPU", "createLinux", "createXML",
        "defineXML", "defineXMLFlags", "domainXMLFromNative", "domainXMLToNative",
        "findStoragePoolSources", "getCPUMap", "getCPUModelNames", "getCPUStats", "getCapabilities",
        "getCellsFreeMemory", "getDomainCapabilities", "getFreeMemory", "getFreePages",
        "getHostname", "getInfo", "getLibVersion", "getMaxVcpus", "getMemoryParameters",
        "getMemoryStats", "getSEVInfo", "getSecurityModel", "getStoragePoolCapabilities",
        "getSysinfo", "getType", "getURI", "getVersion", "interfaceDefineXML",
        "interfaceLookupByMACString", "interfaceLookupByName", "isAlive", "isEncrypted", "isSecure",
        "listDefinedDomains", "listDefinedInterfaces", "listDefinedNetworks",
        "listDefinedStoragePools", "listDevices", "listDomainsID", "listInterfaces",
        "listNWFilters", "listNetworks", "listSecrets", "listStoragePools", "lookupByID",
        "lookupByName", "lookupByUUID", "lookupByUUIDString", "networkCreateXML",
        "networkCreateXMLFlags", "networkDefineXML", "networkDefineXMLFlags", "networkLookupByName",
        "networkLookupByUUID", "networkLookupByUUIDString", "newStream", "nodeDeviceCreateXML",
        "nodeDeviceDefineXML", "nodeDeviceLookupByName", "nodeDeviceLookupSCSIHostByWWN",
        "numOfDefinedDomains", "numOfDefinedInterfaces", "numOfDefinedNetworks",
        "numOfDefinedStoragePools", "numOfDevices", "numOfDomains", "numOfInterfaces",
        "numOfNWFilters", "numOfNetworks", "numOfSecrets", "numOfStoragePools",
        "nwfilterBindingCreateXML", "nwfilterBindingLookupByPortDev", "nwfilterDefineXML",
        "nwfilterDefineXMLFlags", "nwfilterLookupByName", "nwfilterLookupByUUID",
        "nwfilterLookupByUUIDString", "restore", "restoreFlags", "restoreParams",
        "saveImageDefineXML", "saveImageGetXMLDesc", "secretDefineXML", "secretLookupByUUID",
        "secretLookupByUUIDString", "secretLookupByUsage", "setIdentity", "setKeepAlive",
        "setMemoryParameters", "storagePoolCreateXML", "storagePoolDefineXML",
        "storagePoolLookupByName", "storagePoolLookupByTargetPath", "storagePoolLookupByUUID",
        "storagePoolLookupByUUIDString", "storageVolLookupByKey", "storageVolLookupByPath",
        "suspendForDuration", "virConnGetLastError", "virConnResetLastError",
        "domainEventDeregister", "domainEventRegister", "domainEventDeregisterAny",
        "networkEventDeregisterAny", "networkEventRegisterAny", "domainEventRegisterAny",
        "storagePoolEventDeregisterAny", "storagePoolEventRegisterAny",
        "nodeDeviceEventDeregisterAny", "nodeDeviceEventRegisterAny", "secretEventDeregisterAny",
        "secretEventRegisterAny", "listAllDomains", "listAllStoragePools", "listAllNetworks",
        "listAllInterfaces", "listAllDevices", "listAllNWFilters", "listAllNWFilterBindings",
        "listAllSecrets", "unregisterCloseCallback", "registerCloseCallback", "createXMLWithFiles",
        "getAllDomainStats", "domainListGetStats",
    ),
    "virDomain": (
        "connect", "ID", "OSType", "UUID", "UUIDString", "XMLDesc", "abortJob", "abortJobFlags",
        "addIOThread", "agentSetResponseTimeout", "attachDevice", "attachDeviceFlags",
        "authorizedSSHKeysGet", "authorizedSSHKeysSet", "autostart", "backupBegin",
        "backupGetXMLDesc", "blkioParameters", "blockCommit", "blockCopy", "blockInfo",
        "blockIoTune", "blockJobAbort", "blockJobInfo", "blockJobSetSpeed", "blockPeek",
        "blockPull", "blockRebase", "blockResize", "blockStats", "blockStatsFlags",
        "checkpointCreateXML", "checkpointLookupByName", "controlInfo", "coreDump",
        "coreDumpWithFormat", "create", "createWithFlags", "delIOThread", "destroy", "destroyFlags",
        "detachDevice", "detachDeviceAlias", "detachDeviceFlags", "diskErrors", "emulatorPinInfo",
        "fSTrim", "fsInfo", "getCPUStats", "guestInfo", "guestVcpus", "hasCurrentSnapshot",
        "hasManagedSaveImage", "hostname", "info", "injectNMI", "interfaceAddresses",
        "interfaceParameters", "interfaceStats", "ioThreadInfo", "isActive", "isPersistent",
        "isUpdated", "jobInfo", "jobStats", "launchSecurityInfo", "managedSave",
        "managedSaveDefineXML", "managedSaveGetXMLDesc", "managedSaveRemove", "maxMemory",
        "maxVcpus", "memoryParameters", "memoryPeek", "memoryStats", "messages", "metadata",
        "migrate", "migrate2", "migrate3", "migrateGetCompressionCache", "migrateGetMaxDowntime",
        "migrateGetMaxSpeed", "migrateSetCompressionCache", "migrateSetMaxDowntime",
        "migrateSetMaxSpeed", "migrateStartPostCopy", "migrateToURI", "migrateToURI2",
        "migrateToURI3", "name", "numaParameters", "openChannel", "openConsole", "openGraphics",
        "openGraphicsFD", "pMSuspendForDuration", "pMWakeup", "perfEvents", "pinEmulator",
        "pinIOThread", "pinVcpu", "pinVcpuFlags", "reboot", "rename", "reset", "resume",
        "revertToSnapshot", "save", "saveFlags", "saveParams", "schedulerParameters",
        "schedulerParametersFlags", "schedulerType", "screenshot", "securityLabel",
        "securityLabelList", "sendKey", "sendProcessSignal", "setAutostart", "setBlkioParameters",
        "setBlockIoTune", "setBlockThreshold", "setGuestVcpus", "setIOThreadParams",
        "setInterfaceParameters", "setLaunchSecurityState", "setLifecycleAction", "setMaxMemory",
        "setMemory", "setMemoryFlags", "setMemoryParameters", "setMemoryStatsPeriod", "setMetadata",
        "setNumaParameters", "setPerfEvents", "setSchedulerParameters",
        "setSchedulerParametersFlags", "setUserPassword", "setVcpu", "setVcpus", "setVcpusFlags",
        "shutdown", "shutdownFlags", "snapshotCreateXML", "snapshotCurrent", "snapshotListNames",
        "snapshotLookupByName", "snapshotNum", "startDirtyRateCalc", "state", "suspend", "undefine",
        "undefineFlags", "updateDeviceFlags", "vcpuPinInfo", "vcpus", "vcpusFlags",
        "listAllSnapshots", "listAllCheckpoints", "createWithFiles", "fsFreeze", "fsThaw",
        "getTime", "setTime", "FDAssociate",
    ),
    "virNetwork": (
        "connect", "DHCPLeases", "UUID", "UUIDString", "XMLDesc", "autostart", "bridgeName",
        "create", "destroy", "isActive", "isPersistent", "name", "portCreateXML",
        "portLookupByUUID", "portLookupByUUIDString", "setAutostart", "undefine", "update",
        "listAllPorts",
    ),
    "virStoragePool": (
        "connect", "UUID", "UUIDString", "XMLDesc", "autostart", "build", "create", "createXML",
        "createXMLFrom", "delete", "destroy", "info", "isActive", "isPersistent", "listVolumes",
        "name", "numOfVolumes", "refresh", "setAutostart", "storageVolLookupByName", "undefine",
        "listAllVolumes",
    ),
    "virStorageVol": (
        "connect", "XMLDesc", "delete", "download", "info", "infoFlags", "key", "name", "path",
        "resize", "storagePoolLookupByVolume", "upload", "wipe", "wipePattern",
    ),
    "virNodeDevice": (
        "connect", "XMLDesc", "autostart", "create", "destroy", "detachFlags", "dettach",
        "isActive", "isPersistent", "listCaps", "name", "numOfCaps", "parent", "reAttach", "reset",
        "setAutostart", "undefine",
    ),
    "virInterface": (
        "connect", "MACString", "XMLDesc", "create", "destroy", "isActive", "name", "undefine",
    ),
    "virStream": (
        "connect", "abort", "eventAddCallback", "eventRemoveCallback", "eventUpdateCallback", "finish",
        "recv", "recvAll", "recvFlags", "recvHole", "send", "sendAll", "sendHole", "sparseRecvAll",
        "sparseSendAll",
    ),
    "virDomainSnapshot": (
        "connect", "domain", "delete", "getName", "getParent", "getXMLDesc", "hasMetadata",
        "isCurrent", "listChildrenNames", "numChildren", "getConnect", "getDomain",
        "listAllChildren",
    ),
}

# camelCase names whose snake_case form does not follow the general rule.
_SPECIAL = {
    "fSTrim": "fs_trim", "pMSuspendForDuration": "pm_suspend_for_duration", "pMWakeup": "pm_wakeup",
    "DHCPLeases": "dhcp_leases", "MACString": "mac_string", "ID": "id", "UUID": "uuid",
    "dettach": "dettach", "reAttach": "re_attach", "getConnect": "get_connect",
    "ioThreadInfo": "io_thread_info", "addIOThread": "add_io_thread", "delIOThread": "del_io_thread",
    "pinIOThread": "pin_io_thread", "setIOThreadParams": "set_io_thread_params",
}


def snake_name(camel: str) -> str:
    """libvirt-python's method name in pyvirt's snake_case: ``lookupByUUIDString`` -> ``lookup_by_uuid_string``."""
    if camel in _SPECIAL:
        return _SPECIAL[camel]
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", camel)
    s = re.sub(r"([a-z\d])([A-Z])", r"\1_\2", s)
    return s.lower()


def _unsupported(camel: str) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise _make_error(_c.VIR_ERR_NO_SUPPORT, camel)
    method.__name__ = camel
    method.__doc__ = f"{camel}: not implemented by pyvirt yet (raises VIR_ERR_NO_SUPPORT)."
    return method


def _c_name(cls_name: str, camel: str) -> str:
    """libvirt's C name for a libvirt-python method: ``virConnect.setKeepAlive`` -> ``virConnectSetKeepAlive``."""
    return cls_name + camel[0].upper() + camel[1:]


def _fill(cls: type, name: str) -> type:
    """Give *cls* every libvirt-python method of *name*, aliasing the snake_case ones."""
    for camel in _METHODS[name]:
        if camel in vars(cls):
            continue
        target = getattr(cls, snake_name(camel), None)
        setattr(cls, camel, target if callable(target) else _unsupported(_c_name(name, camel)))
    return cls


def _as_list(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        return list(method(self, *args, **kwargs))
    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


class virDomain(_Domain):  # noqa: N801 - libvirt-python's names
    """libvirt-python's virDomain."""

    __slots__ = ()
    info = _as_list(_Domain.info)
    state = _as_list(_Domain.state)
    blockInfo = _as_list(_Domain.block_info)
    controlInfo = _as_list(_Domain.control_info)
    securityLabel = _as_list(_Domain.security_label)

    def schedulerType(self) -> tuple[Any, ...]:  # noqa: N802
        return tuple(self.scheduler_type())


class virNetwork(_Network):  # noqa: N801
    """libvirt-python's virNetwork."""

    __slots__ = ()


class virStoragePool(_StoragePool):  # noqa: N801
    """libvirt-python's virStoragePool."""

    __slots__ = ()
    info = _as_list(_StoragePool.info)


class virStorageVol(_StorageVolume):  # noqa: N801
    """libvirt-python's virStorageVol."""

    __slots__ = ()
    #: libvirt-python's buffer size for recvAll/sendAll
    streamBufSize = _STREAM_BUF_SIZE
    info = _as_list(_StorageVolume.info)
    infoFlags = _as_list(_StorageVolume.info_flags)


class virNodeDevice(_NodeDevice):  # noqa: N801
    """libvirt-python's virNodeDevice."""

    __slots__ = ()


class virInterface(_Interface):  # noqa: N801
    """libvirt-python's virInterface."""

    __slots__ = ()


class virDomainSnapshot(_DomainSnapshot):  # noqa: N801
    """libvirt-python's virDomainSnapshot."""

    __slots__ = ()


class virDomainCheckpoint(_DomainCheckpoint):  # noqa: N801
    """libvirt-python's virDomainCheckpoint."""

    __slots__ = ()


class virStream(_Stream):  # noqa: N801
    """libvirt-python's virStream (``conn.newStream(flags)``)."""

    def recvFlags(self, nbytes: int, flags: int = 0) -> Any:  # noqa: N802
        """recv() with flags; pyvirt's streams carry no holes, so STOP_AT_HOLE changes nothing."""
        return self.recv(nbytes)


class virConnect(_Connection):  # noqa: N801
    """libvirt-python's virConnect."""

    _domain_cls = virDomain
    _network_cls = virNetwork
    _pool_cls = virStoragePool
    _vol_cls = virStorageVol
    _nodedev_cls = virNodeDevice
    _iface_cls = virInterface
    _snapshot_cls = virDomainSnapshot
    _checkpoint_cls = virDomainCheckpoint
    _stream_cls = virStream

    def getInfo(self) -> list[Any]:  # noqa: N802
        """Host facts with memory in MiB, as libvirt-python returns them."""
        info: list[Any] = list(self.get_info())
        info[1] = info[1] >> 10
        return info

    getSecurityModel = _as_list(_Connection.get_security_model)


for _cls, _name in ((virConnect, "virConnect"), (virDomain, "virDomain"), (virNetwork, "virNetwork"),
                    (virStoragePool, "virStoragePool"), (virStorageVol, "virStorageVol"),
                    (virNodeDevice, "virNodeDevice"), (virInterface, "virInterface"),
                    (virDomainSnapshot, "virDomainSnapshot"), (virDomainCheckpoint, "virDomainCheckpoint"),
                    (virStream, "virStream")):
    _fill(_cls, _name)


def _wrap(conn: _Connection) -> virConnect:
    # Re-class the connection so that handles come back as the vir* classes.
    conn.__class__ = virConnect
    return conn  # type: ignore[return-value]


def open(name: str | None = None) -> virConnect:  # noqa: A001
    """libvirt.open(): a read-write connection."""
    return _wrap(_open(name))


def openReadOnly(name: str | None = None) -> virConnect:  # noqa: N802
    """libvirt.openReadOnly(): a read-only connection."""
    return _wrap(_open_read_only(name))


def openAuth(uri: str | None, auth: Any = None, flags: int = 0) -> virConnect:  # noqa: N802
    """libvirt.openAuth()."""
    return _wrap(_open_auth(uri, auth, flags))


def getVersion(name: str | None = None) -> int:  # noqa: N802
    """The libvirt library version pyvirt implements (9.0.0 -> 9000000)."""
    from . import __libvirt_version__
    return __libvirt_version__


_error_handler: tuple[Callable[..., Any], Any] | None = None
_last_error: libvirtError | None = None


def registerErrorHandler(f: Callable[..., Any] | None, ctx: Any) -> int:  # noqa: N802
    """Register a global error callback ``f(ctx, err_tuple)`` (None restores the default)."""
    global _error_handler
    _error_handler = (f, ctx) if f is not None else None
    return 1


def virGetLastError() -> tuple[Any, ...] | None:  # noqa: N802
    return _last_error.err if _last_error is not None else None


def virGetLastErrorCode() -> int:  # noqa: N802
    return (_last_error.code or 0) if _last_error is not None else 0


def virGetLastErrorDomain() -> int:  # noqa: N802
    return (_last_error.domain or 0) if _last_error is not None else 0


def virGetLastErrorMessage() -> str:  # noqa: N802
    return _last_error.message if _last_error is not None else "no error"


def virResetLastError() -> None:  # noqa: N802
    global _last_error
    _last_error = None


def virInitialize() -> None:  # noqa: N802
    """Nothing to do: pyvirt initialises itself on import."""


def virEventRegisterDefaultImpl() -> int:  # noqa: N802
    """Use the default event loop: events are delivered by virEventRunDefaultImpl()."""
    _loop.register_default_impl()
    return 0


def virEventRunDefaultImpl() -> int:  # noqa: N802
    """Run one iteration of the default event loop."""
    return _loop.run_default_impl()


virEventAddHandle = _loop.add_handle
virEventUpdateHandle = _loop.update_handle
virEventRemoveHandle = _loop.remove_handle
virEventAddTimeout = _loop.add_timeout
virEventUpdateTimeout = _loop.update_timeout
virEventRemoveTimeout = _loop.remove_timeout


def virEventRegisterImpl(*_args: Any) -> None:  # noqa: N802
    """Custom event loop implementations are not supported; use the default loop."""
    raise _make_error(_c.VIR_ERR_NO_SUPPORT, "virEventRegisterImpl: use virEventRegisterDefaultImpl")
