"""Errors carry libvirt's codes and are worded like libvirt's."""

from __future__ import annotations

import pytest

from pyvirt import constants as c
from pyvirt import errors


def test_message_with_and_without_detail() -> None:
    e = errors.make_error(c.VIR_ERR_NO_DOMAIN, "no domain with matching name 'x'", c.VIR_FROM_QEMU)
    assert str(e) == "Domain not found: no domain with matching name 'x'"
    assert (e.get_error_code(), e.get_error_domain()) == (c.VIR_ERR_NO_DOMAIN, c.VIR_FROM_QEMU)
    assert isinstance(e, errors.NotFoundError)
    assert str(errors.make_error(c.VIR_ERR_NO_DOMAIN)) == "Domain not found"
    assert str(errors.make_error(c.VIR_ERR_OPERATION_INVALID, "domain is not running")) == \
        "Requested operation is not valid: domain is not running"


@pytest.mark.parametrize("code, cls", [
    (c.VIR_ERR_NO_NETWORK, errors.NotFoundError),
    (c.VIR_ERR_OPERATION_INVALID, errors.InvalidOperationError),
    (c.VIR_ERR_NO_SUPPORT, errors.NotSupportedError),
    (c.VIR_ERR_XML_ERROR, errors.XMLError),
    (c.VIR_ERR_OPERATION_DENIED, errors.AccessDeniedError),
    (c.VIR_ERR_DOM_EXIST, errors.AlreadyExistsError),
    (c.VIR_ERR_INTERNAL_ERROR, errors.OperationFailedError),
])
def test_families(code: int, cls: type) -> None:
    assert isinstance(errors.make_error(code, "x"), cls)


def test_every_libvirt_code_has_a_message() -> None:
    libvirt = pytest.importorskip("libvirt")
    codes = [getattr(libvirt, n) for n in dir(libvirt)
             if n.startswith("VIR_ERR_") and n not in ("VIR_ERR_NONE", "VIR_ERR_WARNING", "VIR_ERR_ERROR", "VIR_ERR_OK")]
    from pyvirt._errmsgs import MESSAGES
    assert sorted(set(codes) - set(MESSAGES)) == []


def test_check_flags() -> None:
    errors.check_flags(0x3, 0x7, "testDomainFoo")
    with pytest.raises(errors.InvalidArgumentError) as info:
        errors.check_flags(0x80000000 | 1, 0x1, "testConnectListAllNodeDevices")
    assert str(info.value) == "unsupported flags (0x80000000) in function testConnectListAllNodeDevices"


def test_libvirt_python_accessors() -> None:
    e = errors.make_error(c.VIR_ERR_NO_STORAGE_POOL, "no pool", c.VIR_FROM_STORAGE)
    assert e.err[:3] == (c.VIR_ERR_NO_STORAGE_POOL, c.VIR_FROM_STORAGE, "Storage pool not found: no pool")
    assert e.get_error_level() == c.VIR_ERR_ERROR


def test_constants_match_libvirt_python() -> None:
    libvirt = pytest.importorskip("libvirt")
    names = [n for n in dir(libvirt) if n.startswith("VIR_") and isinstance(getattr(libvirt, n), (int, str))]
    assert len(names) > 1000
    assert {n: getattr(c, n, None) for n in names} == {n: getattr(libvirt, n) for n in names}
