"""TLS: certificates from pyvirt-certs, real virsh with pkipath, client DN checks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from pyvirt.daemon.certs import main as certs_main

from .conftest import Daemon, start_pyvirtd, virsh


def _pki(tmp: Path) -> Path:
    pki = tmp / "pki"
    assert certs_main(["--dir", str(pki), "--host", "localhost", "--host", "127.0.0.1"]) == 0
    return pki


def _tls_daemon(tmp: Path, pki: Path, **settings: Any) -> Daemon:
    return start_pyvirtd(tmp / "d", listen=True, listen_tcp=False, listen_tls=True,
                         key_file=str(pki / "serverkey.pem"), cert_file=str(pki / "servercert.pem"),
                         ca_file=str(pki / "cacert.pem"), **settings)


def test_tls_with_generated_certs(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    d = _tls_daemon(tmp_path, pki, tls_allowed_dn_list=["C=GB,ST=London,L=London,O=pyvirt,CN=*"])
    try:
        for host in ("127.0.0.1", "localhost"):
            r = virsh(f"test+tls://{host}:{d.tls_port}/default?pkipath={pki}", "list", "--all")
            assert r.returncode == 0, r.stderr
            assert " 1    test   running" in r.stdout
    finally:
        assert d.stop() == 0


def test_tls_dn_not_allowed(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    for f in ("cacert.pem", "cakey.pem"):
        shutil.copy(pki / f, other / f)
    assert certs_main(["--dir", str(other), "client", "--client-cn", "intruder"]) == 0
    d = _tls_daemon(tmp_path, pki, tls_allowed_dn_list=["*CN=client"])
    try:
        bad = virsh(f"test+tls://127.0.0.1:{d.tls_port}/default?pkipath={other}", "list")
        assert bad.returncode == 1
        assert "server verification (of our certificate or IP address) failed" in bad.stderr
        good = virsh(f"test+tls://127.0.0.1:{d.tls_port}/default?pkipath={pki}", "list")
        assert good.returncode == 0, good.stderr
    finally:
        d.stop()
    assert "not on the list of allowed clients" in d.log.read_text()


def test_tls_untrusted_client_certificate(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    stranger = tmp_path / "stranger"
    assert certs_main(["--dir", str(stranger)]) == 0  # another CA entirely
    shutil.copy(pki / "cacert.pem", stranger / "cacert.pem")  # trusts our server, but its cert is foreign
    d = _tls_daemon(tmp_path, pki)
    try:
        bad = virsh(f"test+tls://127.0.0.1:{d.tls_port}/default?pkipath={stranger}", "list")
        assert bad.returncode == 1
        ok = virsh(f"test+tls://127.0.0.1:{d.tls_port}/default?pkipath={pki}", "list")
        assert ok.returncode == 0, ok.stderr  # the daemon survived the failed handshake
    finally:
        d.stop()


def test_tls_no_verify_certificate_accepts_clients_without_one(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(pki / "cacert.pem", bare / "cacert.pem")  # trusts the server, has no client cert
    strict = _tls_daemon(tmp_path / "strict", pki)
    try:
        assert virsh(f"test+tls://127.0.0.1:{strict.tls_port}/default?pkipath={bare}", "list").returncode == 1
    finally:
        strict.stop()
    lax = _tls_daemon(tmp_path / "lax", pki, tls_no_verify_certificate=True)
    try:
        r = virsh(f"test+tls://127.0.0.1:{lax.tls_port}/default?pkipath={bare}", "list")
        assert r.returncode == 0, r.stderr
    finally:
        lax.stop()
