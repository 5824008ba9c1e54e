"""Connection URI parsing follows libvirt's rules."""

from __future__ import annotations

import pytest

from pyvirt import constants as c
from pyvirt.errors import LibvirtError
from pyvirt.uri import parse_uri


@pytest.mark.parametrize("text, driver, transport, user, server, port, path, remote", [
    ("test:///default", "test", None, None, None, None, "/default", False),
    ("qemu:///system", "qemu", None, None, None, None, "/system", False),
    ("qemu+ssh://root@host.example/system", "qemu", "ssh", "root", "host.example", None, "/system", True),
    ("qemu+tls://[::1]:16514/system", "qemu", "tls", None, "::1", 16514, "/system", True),
    ("test+unix:///default?socket=/tmp/s", "test", "unix", None, None, None, "/default", True),
    ("qemu://host/system", "qemu", None, None, "host", None, "/system", True),
    ("test:///tmp/a%20b.xml", "test", None, None, None, None, "/tmp/a b.xml", False),
    ("QEMU:///session", "qemu", None, None, None, None, "/session", False),
])
def test_parse(text: str, driver: str, transport: str | None, user: str | None,
               server: str | None, port: int | None, path: str, remote: bool) -> None:
    uri = parse_uri(text)
    assert (uri.driver, uri.transport, uri.user, uri.server, uri.port, uri.path, uri.is_remote) == \
        (driver, transport, user, server, port, path, remote)
    assert str(uri) == text


def test_query_params_last_wins_and_local_drops_remote_params() -> None:
    uri = parse_uri("qemu+unix:///system?socket=/a&socket=/b&mode=legacy&root=/x")
    assert uri.param("socket") == "/b"
    assert uri.param("missing", "d") == "d"
    local = uri.local()
    assert local.transport is None and local.params == (("root", "/x"),)
    assert str(local) == "qemu:///system?root=/x"


@pytest.mark.parametrize("text, fragment", [
    ("", "empty"),
    ("not a uri", "Unable to parse URI"),
    ("test:default", "expected '//'"),
    ("qemu+carrier://host/system", "transport in URL not recognised"),
    ("qemu://host:99999/system", "port '99999'"),
    ("qemu://[::1/system", "unterminated"),
])
def test_malformed(text: str, fragment: str) -> None:
    with pytest.raises(LibvirtError) as info:
        parse_uri(text)
    assert fragment in str(info.value)
    assert info.value.get_error_code() in (c.VIR_ERR_INTERNAL_ERROR, c.VIR_ERR_INVALID_ARG)


def test_default_uri_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyvirt.uri import default_uri
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///default")
    assert default_uri() == "test:///default"
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI")
    assert default_uri() is None


def test_unknown_local_driver_falls_back_to_the_daemon_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    # libvirt hands a local URI no driver takes to the remote driver, which then fails to
    # reach a daemon: "Failed to connect socket to '.../libvirt-sock': No such file or directory".
    from pyvirt.drivers import open_driver
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/nonexistent-pyvirt-test")
    with pytest.raises(LibvirtError) as info:
        open_driver("nosuchdriver:///x")
    assert info.value.get_error_code() == c.VIR_ERR_SYSTEM_ERROR
    assert "libvirt-sock" in str(info.value) and "No such file or directory" in str(info.value)
