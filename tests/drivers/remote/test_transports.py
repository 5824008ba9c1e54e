"""TLS (x509 client certificates, CA checks, pkipath, no_verify) and SSH transports to a real libvirtd."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.remote import RemoteDriver
from pyvirt.rpc.transport import ssh_command, tls_files
from pyvirt.uri import parse_uri

libvirt = pytest.importorskip("libvirt")


def _names(conn: Any) -> list[str]:
    return sorted(d.name() for d in conn.listAllDomains(0))


def test_tls_with_client_certificate(libvirtd: Any) -> None:
    uri = libvirtd.tls_uri()
    ours = pyvirt.open(uri)
    theirs = libvirt.open(uri)
    try:
        assert sorted(d.name() for d in ours.list_all_domains(0)) == _names(theirs)
        assert ours.is_encrypted() == theirs.isEncrypted() == 1
        assert ours.is_secure() == theirs.isSecure() == 1
        assert ours.lookup_by_name("test").xml_desc(0) == theirs.lookupByName("test").XMLDesc(0)
    finally:
        ours.close()
        theirs.close()


def test_tls_server_rejects_certificate_from_another_ca(libvirtd: Any) -> None:
    with pytest.raises(pyvirt.LibvirtError) as info:
        pyvirt.open(libvirtd.tls_uri(libvirtd.stranger_pki))
    with pytest.raises(libvirt.libvirtError):
        libvirt.open(libvirtd.tls_uri(libvirtd.stranger_pki))
    assert info.value.code in (c.VIR_ERR_RPC, c.VIR_ERR_SYSTEM_ERROR, c.VIR_ERR_INTERNAL_ERROR)


def test_tls_client_rejects_unknown_server_ca(libvirtd: Any, tmp_path: Any) -> None:
    # The stranger directory's client cert is fine for this purpose; its CA is the right one,
    # so build a directory whose cacert.pem is a different CA to make the *client* refuse.
    pki = tmp_path / "pki"
    pki.mkdir()
    for name in ("clientcert.pem", "clientkey.pem"):
        shutil.copy(os.path.join(libvirtd.client_pki, name), pki / name)
    shutil.copy(os.path.join(libvirtd.stranger_pki, "clientcert.pem"), pki / "cacert.pem")  # not a CA
    with pytest.raises(pyvirt.LibvirtError) as info:
        pyvirt.open(libvirtd.tls_uri(str(pki)))
    assert "certificate" in info.value.message.lower() or "ssl" in info.value.message.lower()
    # no_verify=1 skips the client's checks of the server (the server still checks us)
    conn = pyvirt.open(libvirtd.tls_uri(str(pki)).replace("?", "?no_verify=1&"))
    try:
        assert conn.lookup_by_name("test").name() == "test"
    finally:
        conn.close()


def test_tls_missing_ca_file(libvirtd: Any, tmp_path: Any) -> None:
    with pytest.raises(pyvirt.LibvirtError) as info:
        pyvirt.open(libvirtd.tls_uri(str(tmp_path)))
    assert info.value.message == f"Cannot read CA certificate '{tmp_path}/cacert.pem': No such file or directory"


def test_tls_default_file_locations(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    assert tls_files("/x") == ("/x/cacert.pem", "/x/clientcert.pem", "/x/clientkey.pem")
    if os.geteuid() == 0:
        assert tls_files(None) == ("/etc/pki/CA/cacert.pem", "/etc/pki/libvirt/clientcert.pem",
                                   "/etc/pki/libvirt/private/clientkey.pem")


def test_ssh_command_line_matches_libvirt() -> None:
    uri = parse_uri("qemu+ssh://joe@host:2222/system?keyfile=/k&no_tty=1&no_verify=1")
    argv = ssh_command(uri, "/var/run/libvirt/libvirt-sock", "qemu:///system", False)
    assert argv[:14] == ["ssh", "-p", "2222", "-l", "joe", "-i", "/k", "-T", "-e", "none", "-o", "BatchMode=yes",
                         "-o", "StrictHostKeyChecking=no"]
    assert argv[14:16] == ["--", "host"]
    assert argv[16].startswith("sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then "
                               "    virt-ssh-helper 'qemu:///system'; else")
    assert argv[16].endswith("'nc' $ARG -U /var/run/libvirt/libvirt-sock; fi'")
    ro = ssh_command(parse_uri("qemu+ssh://host/system?netcat=/bin/nc"), "/s", "qemu:///system", True)
    assert ro[-1].startswith("sh -c 'if ''/bin/nc'' -q") or ro[-1].startswith("sh -c 'if '/bin/nc' -q")


def test_ssh_transport_through_sshd(libvirtd: Any, sshd: Any) -> None:
    uri = (f"test+ssh://{sshd.user}@127.0.0.1:{sshd.port}/default?socket={libvirtd.sock}"
           f"&keyfile={sshd.key}&no_verify=1&no_tty=1&command={sshd.ssh}")
    drv = RemoteDriver(parse_uri(uri))
    try:
        assert drv.connect_get_type() == "TEST"
        ref = drv.domain_lookup_by_name("test")
        assert drv.domain_get_state(ref, 0)[0] == c.VIR_DOMAIN_RUNNING
        assert drv.connect_is_encrypted() == 0 and drv.connect_is_secure() == 1
        theirs = libvirt.open(uri)
        try:
            assert drv.domain_get_xml_desc(ref, 0) == theirs.lookupByName("test").XMLDesc(0)
        finally:
            theirs.close()
    finally:
        drv.connect_close()
    assert drv._client.endpoint.process is None  # ssh was reaped


def test_ssh_failure_reports_ssh_error(libvirtd: Any, sshd: Any, tmp_path: Any) -> None:
    badkey = tmp_path / "nokey"
    badkey.write_text("")
    uri = (f"test+ssh://nobody-here@127.0.0.1:{sshd.port}/default?socket={libvirtd.sock}"
           f"&keyfile={badkey}&no_verify=1&no_tty=1&known_hosts=/dev/null")
    with pytest.raises(pyvirt.LibvirtError) as info:
        RemoteDriver(parse_uri(uri))
    assert "Permission denied" in info.value.message or "closed" in info.value.message


def test_ext_transport_runs_a_command(libvirtd: Any, tmp_path: Any) -> None:
    if not shutil.which("nc"):
        pytest.skip("netcat-openbsd is not installed")
    script = tmp_path / "bridge"
    script.write_text(f"#!/bin/sh\nexec nc -U {libvirtd.sock}\n")
    script.chmod(0o755)
    drv = RemoteDriver(parse_uri(f"test+ext:///default?command={script}"))
    try:
        assert [r.name for r in drv.connect_list_all_domains(0)] == ["test"]
    finally:
        drv.connect_close()


def test_close_callback_reports_eof(libvirtd: Any, tmp_path: Any) -> None:
    if not shutil.which("nc"):
        pytest.skip("netcat-openbsd is not installed")
    import threading

    script = tmp_path / "bridge"
    script.write_text(f"#!/bin/sh\nexec nc -U {libvirtd.sock}\n")
    script.chmod(0o755)
    drv = RemoteDriver(parse_uri(f"test+ext:///default?command={script}"))
    reasons: list[int] = []
    fired = threading.Event()
    try:
        def on_close(reason: int) -> None:
            reasons.append(reason)
            fired.set()

        drv.connect_register_close_callback(on_close)
        assert drv.connect_set_keep_alive(5, 3) == 0
        proc = drv._client.endpoint.process
        assert proc is not None
        proc.kill()  # the transport dies under the connection
        assert fired.wait(20)
        assert reasons == [c.VIR_CONNECT_CLOSE_REASON_EOF]
        assert drv.connect_is_alive() == 0
        with pytest.raises(pyvirt.LibvirtError) as info:
            drv.connect_get_hostname()
        assert info.value.message == "internal error: client socket is closed"
    finally:
        drv.connect_close()
