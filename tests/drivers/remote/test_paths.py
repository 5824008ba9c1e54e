"""Which socket, which CONNECT_OPEN name: libvirt's rules (remote_sockets.c, remote_driver.c)."""

from __future__ import annotations

import pytest

from pyvirt.drivers.remote import driver_uri_for
from pyvirt.rpc import transport
from pyvirt.uri import parse_uri


@pytest.mark.parametrize("uri,name", [
    ("test+unix:///default", "test:///default"),
    ("test+unix:///default?socket=/x/sock&foo=bar", "test:///default?foo=bar"),
    ("qemu+ssh://root@host:2222/system?keyfile=/k&no_verify=1", "qemu:///system"),
    ("qemu+tls://host/system?pkipath=/p", "qemu:///system"),
    ("test+tcp://h/default?name=test:///custom", "test:///custom"),
    ("remote+unix:///", ""),
    ("qemu:///session", "qemu:///session"),
])
def test_connect_open_name(uri: str, name: str) -> None:
    assert driver_uri_for(parse_uri(uri)) == name


def test_missing_system_socket_error_matches_virsh(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyvirt
    from pyvirt import constants as c

    monkeypatch.setattr(transport.os, "geteuid", lambda: 0)
    if transport.os.path.exists("/var/run/libvirt/libvirt-sock"):
        pytest.skip("a system libvirtd is running here")
    with pytest.raises(pyvirt.LibvirtError) as info:
        pyvirt.open("xen:///system")  # no local xen driver: libvirt asks the system daemon
    assert (info.value.code, info.value.message) == (
        c.VIR_ERR_SYSTEM_ERROR, "Failed to connect socket to '/var/run/libvirt/libvirt-sock': No such file or directory")


def test_system_sockets_for_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport.os, "geteuid", lambda: 0)
    monkeypatch.setattr(transport.os.path, "exists", lambda p: False)
    assert transport.default_unix_socket(parse_uri("qemu:///system"), False) == "/var/run/libvirt/libvirt-sock"
    assert transport.default_unix_socket(parse_uri("qemu:///system"), True) == "/var/run/libvirt/libvirt-sock-ro"
    assert transport.default_unix_socket(parse_uri("test+unix:///default"), False) == "/var/run/libvirt/libvirt-sock"
    # a modular daemon's socket wins when it exists
    monkeypatch.setattr(transport.os.path, "exists", lambda p: p == "/var/run/libvirt/virtqemud-sock")
    assert transport.default_unix_socket(parse_uri("qemu:///system"), False) == "/var/run/libvirt/virtqemud-sock"
    # over ssh the far side's legacy path
    assert transport.default_unix_socket(parse_uri("qemu+ssh://h/system"), False, remote_host=True) == \
        "/var/run/libvirt/libvirt-sock"


def test_session_sockets_for_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(transport.os.path, "exists", lambda p: False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert transport.default_unix_socket(parse_uri("qemu:///session"), False) == \
        "/run/user/1000/libvirt/libvirt-sock"
    assert transport.default_unix_socket(parse_uri("test+unix:///default"), False) == \
        "/run/user/1000/libvirt/libvirt-sock"
    # qemu:///system stays the system daemon even for users
    assert transport.default_unix_socket(parse_uri("qemu:///system"), True) == "/var/run/libvirt/libvirt-sock-ro"


def test_user_pki_files(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    home = tmp_path
    pki = home / ".pki" / "libvirt"  # type: ignore[operator]
    pki.mkdir(parents=True)
    for f in ("cacert.pem", "clientcert.pem", "clientkey.pem"):
        (pki / f).write_text("x")
    monkeypatch.setattr(transport.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("HOME", str(home))
    assert transport.tls_files(None) == (str(pki / "cacert.pem"), str(pki / "clientcert.pem"),
                                         str(pki / "clientkey.pem"))
    (pki / "clientkey.pem").unlink()  # cert and key go as a pair: back to the system files
    assert transport.tls_files(None)[1:] == ("/etc/pki/libvirt/clientcert.pem",
                                             "/etc/pki/libvirt/private/clientkey.pem")
