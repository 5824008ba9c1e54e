"""pyvirt-certs: layout, SANs, chain, key usage, DN matching."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from pyvirt.daemon.certs import PkiLayout, cert_dn, main
from pyvirt.daemon.listeners import dn_allowed


def _load(path: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def test_system_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--root", str(tmp_path), "--host", "example.org", "--host", "127.0.0.1"]) == 0
    lay = PkiLayout.system(str(tmp_path))
    for p in ("etc/pki/CA/cacert.pem", "etc/pki/libvirt/servercert.pem",
              "etc/pki/libvirt/private/serverkey.pem", "etc/pki/libvirt/clientcert.pem",
              "etc/pki/libvirt/private/clientkey.pem"):
        assert (tmp_path / p).is_file()
    assert os.stat(lay.serverkey).st_mode & 0o077 == 0
    server = _load(lay.servercert)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["example.org"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    client = _load(lay.clientcert)
    assert cert_dn(client) == "C=GB,ST=London,L=London,O=pyvirt,CN=client"
    assert "client DN:          C=GB,ST=London,L=London,O=pyvirt,CN=client" in capsys.readouterr().out
    # the chain verifies with an independent implementation
    if shutil.which("openssl") is None:
        pytest.skip("openssl (Debian openssl) is not installed")
    out = subprocess.run(["openssl", "verify", "-CAfile", lay.cacert, lay.servercert, lay.clientcert],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_flat_dir_and_ca_reuse(tmp_path: Path) -> None:
    d = tmp_path / "pki"
    assert main(["--dir", str(d)]) == 0
    ca1 = (d / "cacert.pem").read_bytes()
    assert main(["--dir", str(d), "client", "--client-cn", "other"]) == 0
    assert (d / "cacert.pem").read_bytes() == ca1
    assert cert_dn(_load(str(d / "clientcert.pem"))).endswith("CN=other")
    assert main(["--dir", str(d), "--force"]) == 0
    assert (d / "cacert.pem").read_bytes() != ca1


def test_server_without_ca_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dir", str(tmp_path), "server"]) == 1
    assert "create the CA first" in capsys.readouterr().err


@pytest.mark.parametrize("patterns,ok", [
    (None, True),
    (["C=GB,ST=London,L=London,O=pyvirt,CN=client"], True),
    (["C=GB,*,CN=client"], True),
    (["C=GB,ST=London,L=London,O=pyvirt,CN=clien?"], True),
    (["*CN=other"], False),
    (["C=GB,ST=London,L=London,O=pyvirt,CN=[c]lient"], False),  # no character classes in GLib
    ([], False),
])
def test_dn_wildcards(patterns: list[str] | None, ok: bool) -> None:
    assert dn_allowed("C=GB,ST=London,L=London,O=pyvirt,CN=client", patterns) is ok
