"""Authentication negotiation (AUTH_LIST, then NONE / POLKIT; SASL refused with a clear error)."""

from __future__ import annotations

from typing import Any

import pytest

from pyvirt import constants as c
from pyvirt import rpc
from pyvirt.drivers.remote.driver import RemoteDriver
from pyvirt.errors import LibvirtError

AUTH_LIST = rpc.procedure_by_name("AUTH_LIST")
AUTH_POLKIT = rpc.procedure_by_name("AUTH_POLKIT")


class FakeClient:
    """Answers AUTH_LIST with *types*; records the procedures called."""

    def __init__(self, types: list[int] | LibvirtError) -> None:
        self.types = types
        self.calls: list[str] = []

    def call(self, proc: rpc.Procedure, args: Any = None, timeout: float | None = None) -> Any:
        self.calls.append(proc.name)
        if proc is AUTH_LIST:
            if isinstance(self.types, LibvirtError):
                raise self.types
            return AUTH_LIST.ret.cls(self.types)  # type: ignore[misc]
        if proc is AUTH_POLKIT:
            return AUTH_POLKIT.ret.cls(1)  # type: ignore[misc]
        raise AssertionError(proc.name)


def _driver(types: list[int] | LibvirtError) -> tuple[RemoteDriver, FakeClient]:
    drv = object.__new__(RemoteDriver)
    fake = FakeClient(types)
    drv.__dict__["_client"] = fake
    return drv, fake


def test_none_and_empty_lists_need_nothing_more() -> None:
    for types in ([0], [], LibvirtError("unknown procedure", c.VIR_ERR_NO_SUPPORT, c.VIR_FROM_REMOTE)):
        drv, fake = _driver(types)
        drv._authenticate(None)
        assert fake.calls == ["AUTH_LIST"]


def test_polkit_is_answered_with_auth_polkit() -> None:
    drv, fake = _driver([2])
    drv._authenticate(None)
    assert fake.calls == ["AUTH_LIST", "AUTH_POLKIT"]


def test_sasl_is_refused_clearly() -> None:
    drv, _ = _driver([1])
    with pytest.raises(LibvirtError) as info:
        drv._authenticate(None)
    assert info.value.code == c.VIR_ERR_AUTH_FAILED and "SASL" in info.value.message


def test_forced_auth_type_must_be_offered() -> None:
    drv, _ = _driver([0])
    with pytest.raises(LibvirtError) as info:
        drv._authenticate("polkit")
    assert info.value.message.endswith("requested authentication type polkit rejected")
    drv, _ = _driver([0])
    with pytest.raises(LibvirtError) as info:
        drv._authenticate("kerberos")
    assert info.value.message.endswith("unknown authentication type kerberos")
