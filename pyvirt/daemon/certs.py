"""pyvirt-certs: make a CA, server and client certificates for libvirt's TLS transport.

Files are written in libvirt's layout (the paths libvirtd and the remote driver
read by default)::

    /etc/pki/CA/cacert.pem                 CA certificate (clients and servers)
    /etc/pki/CA/private/cakey.pem          CA key (kept to sign more certificates)
    /etc/pki/libvirt/servercert.pem        server certificate, hostnames/IPs as SANs
    /etc/pki/libvirt/private/serverkey.pem
    /etc/pki/libvirt/clientcert.pem        client certificate
    /etc/pki/libvirt/private/clientkey.pem

or, with ``--dir DIR``, all in one flat directory (cacert.pem, cakey.pem,
servercert.pem, serverkey.pem, clientcert.pem, clientkey.pem), which is what a
client's ``?pkipath=DIR`` expects.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass
from typing import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["PkiLayout", "make_ca", "make_server", "make_client", "make_all", "main", "cert_dn"]


@dataclass(frozen=True)
class PkiLayout:
    """Where each file goes."""

    cacert: str
    cakey: str
    servercert: str
    serverkey: str
    clientcert: str
    clientkey: str

    @classmethod
    def system(cls, root: str = "/") -> "PkiLayout":
        """libvirt's default paths (under *root*)."""
        j = os.path.join
        return cls(j(root, "etc/pki/CA/cacert.pem"), j(root, "etc/pki/CA/private/cakey.pem"),
                   j(root, "etc/pki/libvirt/servercert.pem"),
                   j(root, "etc/pki/libvirt/private/serverkey.pem"),
                   j(root, "etc/pki/libvirt/clientcert.pem"),
                   j(root, "etc/pki/libvirt/private/clientkey.pem"))

    @classmethod
    def flat(cls, directory: str) -> "PkiLayout":
        """Everything in *directory*, usable as a client's ``pkipath``."""
        j = os.path.join
        return cls(*(j(directory, n + ".pem") for n in
                     ("cacert", "cakey", "servercert", "serverkey", "clientcert", "clientkey")))


def _name(org: str, cn: str, country: str = "GB", state: str = "London",
          locality: str = "London") -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, country),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, state),
        x509.NameAttribute(NameOID.LOCALITY_NAME, locality),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def cert_dn(cert: x509.Certificate) -> str:
    """The subject DN the way libvirt shows and matches it ("C=GB,ST=...,CN=x", in certificate order)."""
    return ",".join(rdn.rfc4514_string() for rdn in cert.subject.rdns)


def _write(path: str, data: bytes, private: bool) -> None:
    os.makedirs(os.path.dirname(path) or ".", mode=0o700 if private else 0o755, exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _save_key(path: str, key: rsa.RSAPrivateKey) -> None:
    _write(path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()), True)


def _save_cert(path: str, cert: x509.Certificate) -> None:
    _write(path, cert.public_bytes(serialization.Encoding.PEM), False)


def _validity(days: int) -> tuple[datetime.datetime, datetime.datetime]:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now - datetime.timedelta(hours=1), now + datetime.timedelta(days=days)


def make_ca(layout: PkiLayout, org: str = "pyvirt", cn: str = "pyvirt CA", days: int = 3650) -> None:
    """Create the CA key and self-signed certificate."""
    key = _key()
    name = _name(org, cn)
    start, end = _validity(days)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _save_key(layout.cakey, key)
    _save_cert(layout.cacert, cert)


def _load_ca(layout: PkiLayout) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    with open(layout.cacert, "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    with open(layout.cakey, "rb") as fh:
        key = serialization.load_pem_private_key(fh.read(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return cert, key


def _issue(layout: PkiLayout, subject: x509.Name, purpose: x509.ObjectIdentifier,
           sans: list[x509.GeneralName], days: int) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    ca_cert, ca_key = _load_ca(layout)
    key = _key()
    start, end = _validity(days)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False),
                              critical=True)
               .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def _sans(hosts: Sequence[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for h in hosts:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            out.append(x509.DNSName(h))
    return out


def default_hosts() -> list[str]:
    """This host's names and loopback addresses."""
    names = [socket.gethostname(), socket.getfqdn(), "localhost", "127.0.0.1", "::1"]
    return list(dict.fromkeys(n for n in names if n))


def make_server(layout: PkiLayout, hosts: Sequence[str], org: str = "pyvirt", days: int = 3650) -> None:
    """Create the server key and certificate; the first host is the CN, all hosts are SANs."""
    hosts = list(hosts) or default_hosts()
    cert, key = _issue(layout, _name(org, hosts[0]), ExtendedKeyUsageOID.SERVER_AUTH,
                       _sans(hosts), days)
    _save_key(layout.serverkey, key)
    _save_cert(layout.servercert, cert)


def make_client(layout: PkiLayout, cn: str = "client", org: str = "pyvirt", days: int = 3650) -> str:
    """Create the client key and certificate; returns its DN (for tls_allowed_dn_list)."""
    cert, key = _issue(layout, _name(org, cn), ExtendedKeyUsageOID.CLIENT_AUTH, [], days)
    _save_key(layout.clientkey, key)
    _save_cert(layout.clientcert, cert)
    return cert_dn(cert)


def make_all(layout: PkiLayout, hosts: Sequence[str] = (), client_cn: str = "client",
             org: str = "pyvirt", days: int = 3650, force: bool = False) -> str:
    """CA (unless one exists and not *force*), server and client: returns the client DN."""
    if force or not (os.path.exists(layout.cacert) and os.path.exists(layout.cakey)):
        make_ca(layout, org=org, days=days)
    make_server(layout, hosts, org=org, days=days)
    return make_client(layout, client_cn, org=org, days=days)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``pyvirt-certs`` command."""
    p = argparse.ArgumentParser(
        prog="pyvirt-certs",
        description="Create a CA, server and client certificates for libvirt TLS (pyvirtd or libvirtd).")
    p.add_argument("what", nargs="?", choices=("all", "ca", "server", "client"), default="all",
                   help="what to create (default: all; an existing CA is reused unless --force)")
    p.add_argument("--dir", help="write every file flat into DIR (a client's pkipath) "
                   "instead of /etc/pki")
    p.add_argument("--root", default="/", help="prefix for libvirt's /etc/pki layout (default /)")
    p.add_argument("--host", action="append", default=[], metavar="NAME_OR_IP",
                   help="server hostname or IP address (repeat; default: this host and loopback)")
    p.add_argument("--client-cn", default="client", help="client certificate common name")
    p.add_argument("--org", default="pyvirt", help="organisation (O=) of every certificate")
    p.add_argument("--days", type=int, default=3650, help="validity in days")
    p.add_argument("--force", action="store_true", help="replace an existing CA")
    args = p.parse_args(argv)
    layout = PkiLayout.flat(args.dir) if args.dir else PkiLayout.system(args.root)
    try:
        if args.what == "ca":
            make_ca(layout, org=args.org, days=args.days)
        elif args.what == "server":
            make_server(layout, args.host, org=args.org, days=args.days)
        elif args.what == "client":
            print(make_client(layout, args.client_cn, org=args.org, days=args.days))
        else:
            dn = make_all(layout, args.host, args.client_cn, args.org, args.days, args.force)
            print(f"CA certificate:     {layout.cacert}")
            print(f"server certificate: {layout.servercert}")
            print(f"client certificate: {layout.clientcert}")
            print(f"client DN:          {dn}")
    except FileNotFoundError as exc:
        print(f"pyvirt-certs: error: {exc.filename}: no such file (create the CA first)", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"pyvirt-certs: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
