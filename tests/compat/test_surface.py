"""pyvirt.libvirt offers libvirt-python's names: module functions, classes, methods, constants."""

from __future__ import annotations

import pytest

import pyvirt
import pyvirt.libvirt as compat

libvirt = pytest.importorskip("libvirt")

CLASSES = ["virConnect", "virDomain", "virNetwork", "virStoragePool", "virStorageVol",
           "virNodeDevice", "virInterface", "virDomainSnapshot", "virDomainCheckpoint"]


@pytest.mark.parametrize("name", CLASSES)
def test_every_libvirt_python_method_exists(name: str) -> None:
    theirs = {n for n, v in vars(getattr(libvirt, name)).items()
              if callable(v) and not n.startswith("_") and n != "c_pointer"}
    ours = getattr(compat, name)
    assert sorted(n for n in theirs if not callable(getattr(ours, n, None))) == []


def test_module_functions_exist() -> None:
    for name in ("open", "openReadOnly", "openAuth", "getVersion", "registerErrorHandler",
                 "virEventRegisterDefaultImpl", "virEventRunDefaultImpl", "virEventAddTimeout",
                 "virEventRemoveTimeout", "virEventAddHandle", "virEventRemoveHandle",
                 "virGetLastError", "virGetLastErrorMessage"):
        assert callable(getattr(compat, name)), name
    assert compat.libvirtError is pyvirt.LibvirtError
    assert compat.getVersion() == libvirt.getVersion()


def test_constants_are_libvirts() -> None:
    names = [n for n in dir(libvirt) if n.startswith("VIR_")]
    assert {n: getattr(compat, n) for n in names} == {n: getattr(libvirt, n) for n in names}


@pytest.mark.parametrize("camel, snake", [
    ("lookupByUUIDString", "lookup_by_uuid_string"), ("XMLDesc", "xml_desc"),
    ("listDomainsID", "list_domains_id"), ("getCPUStats", "get_cpu_stats"), ("OSType", "os_type"),
    ("interfaceLookupByMACString", "interface_lookup_by_mac_string"), ("UUIDString", "uuid_string"),
    ("fSTrim", "fs_trim"), ("ID", "id"), ("defineXMLFlags", "define_xml_flags"),
    ("storagePoolLookupByUUID", "storage_pool_lookup_by_uuid"), ("getInfo", "get_info"),
])
def test_snake_name(camel: str, snake: str) -> None:
    assert compat.snake_name(camel) == snake


def test_public_methods_are_aliased_not_stubbed() -> None:
    # Each snake_case public method that libvirt-python has under a camelCase name must be the
    # same function, so the two APIs cannot drift apart.
    assert compat.virConnect.numOfDomains is pyvirt.Connection.num_of_domains
    assert compat.virDomain.UUIDString is pyvirt.Domain.uuid_string
    assert compat.virStoragePool.listVolumes is pyvirt.StoragePool.list_volumes


def test_unimplemented_method_raises_no_support() -> None:
    with pytest.raises(compat.libvirtError) as info:
        compat.virDomain.migrate(object())
    assert info.value.get_error_code() == compat.VIR_ERR_NO_SUPPORT
