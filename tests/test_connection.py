"""Connection life: close, close callbacks, read-only refusal, handles after close."""

from __future__ import annotations

from typing import Callable

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.base import Driver


class DroppingDriver(Driver):
    """A fake driver whose transport can drop, like the remote driver's."""

    type_name = "FAKE"

    def __init__(self) -> None:
        super().__init__("fake:///")
        self.close_cb: Callable[[int], None] | None = None

    def connect_register_close_callback(self, cb: Callable[[int], None]) -> None:
        self.close_cb = cb

    def connect_unregister_close_callback(self, cb: object = None) -> None:
        self.close_cb = None

    def drop(self) -> None:
        assert self.close_cb is not None
        self.close_cb(c.VIR_CONNECT_CLOSE_REASON_EOF)


def test_close_callback_reports_a_dropped_connection_once_registered() -> None:
    drv = DroppingDriver()
    conn = pyvirt.Connection(drv)
    seen: list[tuple[object, int, object]] = []
    conn.register_close_callback(lambda cn, reason, op: seen.append((cn, reason, op)), "x")
    with pytest.raises(pyvirt.InvalidOperationError):
        conn.register_close_callback(lambda *a: None)
    drv.drop()
    assert seen == [(conn, c.VIR_CONNECT_CLOSE_REASON_EOF, "x")]
    conn.unregister_close_callback()
    assert drv.close_cb is None
    with pytest.raises(pyvirt.InvalidOperationError):
        conn.unregister_close_callback()


def test_explicit_close_is_not_reported_and_later_calls_fail() -> None:
    conn = pyvirt.open("test:///default")
    seen: list[int] = []
    conn.register_close_callback(lambda cn, reason, op: seen.append(reason))
    dom = conn.lookup_by_name("test")
    assert conn.close() == 0 and conn.is_alive() == 0
    assert seen == []
    with pytest.raises(pyvirt.LibvirtError) as info:
        dom.info()
    assert info.value.get_error_code() == c.VIR_ERR_INVALID_CONN
    assert "virDomainGetInfo" in str(info.value)


def test_missing_driver_call_is_no_support_not_attribute_error() -> None:
    conn = pyvirt.Connection(DroppingDriver())
    with pytest.raises(pyvirt.NotSupportedError) as info:
        conn.lookup_by_name("x")
    assert str(info.value) == ("this function is not supported by the connection driver: "
                               "virDomainLookupByName")
    assert info.value.get_error_domain() == c.VIR_FROM_DOMAIN


def test_read_only_connection_refuses_changes_naming_the_api() -> None:
    with pyvirt.open_read_only("test:///default") as ro:
        dom = ro.lookup_by_name("test")
        with pytest.raises(pyvirt.AccessDeniedError) as info:
            dom.suspend()
        assert str(info.value) == "operation forbidden: read only access prevents virDomainSuspend"
        assert dom.state().state == c.VIR_DOMAIN_RUNNING


def test_handles_follow_start_and_stop() -> None:
    with pyvirt.open("test:///default") as conn:
        dom = conn.lookup_by_name("test")
        assert dom.id() == 1
        dom.destroy()
        assert dom.id() == -1
        dom.create()
        assert dom.id() > 1 and conn.lookup_by_id(dom.id()) == dom
        dom.shutdown()
        assert dom.id() == -1


def test_unreferenced_connection_releases_shared_state() -> None:
    conn = pyvirt.open("test:///default")
    conn.lookup_by_name("test").destroy()
    del conn
    with pyvirt.open("test:///default") as fresh:
        assert fresh.lookup_by_name("test").is_active() == 1
