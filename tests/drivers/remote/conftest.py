"""A real libvirtd 9.0 (Debian's libvirt-daemon) serving test:///default, plus TLS certificates and sshd.

libvirtd started by root insists on /run/libvirt and loads every driver as
root, so the fixture runs it unprivileged: as ``nobody`` through ``setpriv``
when the tests run as root (as the current user otherwise), with its own
HOME/XDG_* directories and a config file whose ``unix_sock_dir`` points into a
temporary directory. It listens on a UNIX socket, TCP (auth none) and TLS
(certificates made here with ``cryptography``), all on 127.0.0.1.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import pytest

LIBVIRTD = shutil.which("libvirtd") or "/usr/sbin/libvirtd"
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(check: Callable[[], bool], what: str, proc: subprocess.Popen[bytes], log: str,
              timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    try:
        with open(log, encoding="utf-8", errors="replace") as fh:
            tail = fh.read()[-3000:]
    except OSError:
        tail = ""
    raise RuntimeError(f"{what} did not come up:\n{tail}")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# --- certificates ---------------------------------------------------------------------------

def make_pki(base: str) -> tuple[str, str, str]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate.

    Returns (server dir, client dir, other-CA client dir) laid out the way libvirt expects
    (``cacert.pem``, ``servercert.pem``/``serverkey.pem``, ``clientcert.pem``/``clientkey.pem``).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pyvirt tests"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def ca(cn: str) -> tuple[object, object]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False,
                                             key_agreement=False, key_cert_sign=True, crl_sign=True,
                                             encipher_only=False, decipher_only=False), critical=True)
                .sign(key, hashes.SHA256()))
        return key, cert

    def leaf(ca_key: object, ca_cert: object, cn: str, server: bool) -> tuple[object, object]:
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca_cert.subject)  # type: ignore[attr-defined]
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=True, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=False, crl_sign=False,
                                          encipher_only=False, decipher_only=False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                   else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=True))
        if server:
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                             x509.DNSName("localhost")]), critical=False)
        return key, b.sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]

    def write(path: str, obj: object) -> None:
        if hasattr(obj, "private_bytes"):
            data = obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        else:
            data = obj.public_bytes(serialization.Encoding.PEM)  # type: ignore[attr-defined]
        with open(path, "wb") as fh:
            fh.write(data)

    ca_key, ca_cert = ca("pyvirt test CA")
    other_key, other_cert = ca("some other CA")
    srv_key, srv_cert = leaf(ca_key, ca_cert, "127.0.0.1", True)
    cli_key, cli_cert = leaf(ca_key, ca_cert, "pyvirt client", False)
    bad_key, bad_cert = leaf(other_key, other_cert, "stranger", False)
    dirs = []
    for sub, files in (("server", (("cacert.pem", ca_cert), ("servercert.pem", srv_cert),
                                   ("serverkey.pem", srv_key))),
                       ("client", (("cacert.pem", ca_cert), ("clientcert.pem", cli_cert),
                                   ("clientkey.pem", cli_key))),
                       ("stranger", (("cacert.pem", ca_cert), ("clientcert.pem", bad_cert),
                                     ("clientkey.pem", bad_key)))):
        d = os.path.join(base, sub)
        os.makedirs(d)
        for fname, obj in files:
            write(os.path.join(d, fname), obj)
        dirs.append(d)
    return dirs[0], dirs[1], dirs[2]


# --- libvirtd -----------------------------------------------------------------------------

@dataclass
class Libvirtd:
    sock: str
    tcp_port: int
    tls_port: int
    client_pki: str
    stranger_pki: str
    base: str

    @property
    def unix_uri(self) -> str:
        return f"test+unix:///default?socket={self.sock}"

    @property
    def tcp_uri(self) -> str:
        return f"test+tcp://127.0.0.1:{self.tcp_port}/default"

    def tls_uri(self, pki: str | None = None) -> str:
        return f"test+tls://127.0.0.1:{self.tls_port}/default?pkipath={pki or self.client_pki}"


@pytest.fixture(scope="session")
def libvirtd() -> Iterator[Libvirtd]:
    if not os.path.exists(LIBVIRTD):
        pytest.skip("libvirtd (Debian's libvirt-daemon) is not installed")
    os.makedirs("/tmp/pyvirt-tests", exist_ok=True)
    os.chmod("/tmp/pyvirt-tests", 0o755)
    base = tempfile.mkdtemp(prefix="libvirtd-", dir="/tmp/pyvirt-tests")
    os.chmod(base, 0o755)
    server_pki, client_pki, stranger_pki = make_pki(os.path.join(base, "pki"))
    for sub in ("run", "config", "cache", "home", "sock"):
        os.makedirs(os.path.join(base, sub))
    tcp_port, tls_port = free_port(), free_port()
    conf = os.path.join(base, "libvirtd.conf")
    with open(conf, "w", encoding="utf-8") as fh:
        fh.write(f"""unix_sock_dir = "{base}/sock"
unix_sock_rw_perms = "0777"
auth_unix_rw = "none"
auth_unix_ro = "none"
listen_tls = 1
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "{tcp_port}"
tls_port = "{tls_port}"
auth_tcp = "none"
auth_tls = "none"
key_file = "{server_pki}/serverkey.pem"
cert_file = "{server_pki}/servercert.pem"
ca_file = "{server_pki}/cacert.pem"
keepalive_interval = 5
log_outputs = "3:stderr"
""")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": f"{base}/home", "XDG_RUNTIME_DIR": f"{base}/run",
           "XDG_CONFIG_HOME": f"{base}/config", "XDG_CACHE_HOME": f"{base}/cache", "LC_ALL": "C"}
    argv = [LIBVIRTD, "--listen", "-f", conf, "--timeout", "1800"]  # exits if a crashed run leaks it
    if os.geteuid() == 0:
        for root, dirs, files in os.walk(base):
            for n in dirs + files:
                os.chown(os.path.join(root, n), 65534, 65534)
        os.chown(base, 65534, 65534)
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
    log = os.path.join(base, "libvirtd.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, cwd=base, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    sock = os.path.join(base, "sock", "libvirt-sock")
    try:
        _wait_for(lambda: os.path.exists(sock) and _port_open(tls_port) and _port_open(tcp_port),
                  "libvirtd", proc, log)
        yield Libvirtd(sock, tcp_port, tls_port, client_pki, stranger_pki, base)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


# --- sshd ---------------------------------------------------------------------------------

@dataclass
class Sshd:
    port: int
    key: str
    user: str
    ssh: str  # an ssh wrapper that keeps host keys out of ~/.ssh/known_hosts


@pytest.fixture(scope="session")
def sshd(libvirtd: Libvirtd) -> Iterator[Sshd]:
    """Debian's openssh-server on 127.0.0.1 with a throwaway host key and an authorized key."""
    if not os.path.exists(SSHD) or not shutil.which("ssh-keygen") or not shutil.which("ssh"):
        pytest.skip("openssh-server / openssh-client are not installed")
    if os.geteuid() != 0:
        pytest.skip("sshd for the test needs root")
    base = tempfile.mkdtemp(prefix="sshd-", dir="/tmp/pyvirt-tests")
    hostkey, userkey = os.path.join(base, "hostkey"), os.path.join(base, "userkey")
    for k in (hostkey, userkey):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k], check=True)
    auth = os.path.join(base, "authorized_keys")
    shutil.copy(userkey + ".pub", auth)
    os.chmod(auth, 0o600)
    port = free_port()
    conf = os.path.join(base, "sshd_config")
    with open(conf, "w", encoding="utf-8") as fh:
        fh.write(f"""ListenAddress 127.0.0.1
Port {port}
HostKey {hostkey}
AuthorizedKeysFile {auth}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile {base}/sshd.pid
""")
    # sshd needs its privilege separation directory
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    log = os.path.join(base, "sshd.log")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", conf], stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        _wait_for(lambda: _port_open(port), "sshd", proc, log)
        wrapper = os.path.join(base, "ssh")
        with open(wrapper, "w", encoding="utf-8") as fh:
            fh.write('#!/bin/sh\nexec ssh -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null '
                     '-o LogLevel=ERROR "$@"\n')
        os.chmod(wrapper, 0o755)
        yield Sshd(port, userkey, "root", wrapper)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def _immediate_event_delivery() -> Iterator[None]:
    """Events run their callbacks at once here, whatever another test left behind (libvirt-python's
    event loop emulation switches pyvirt to queued delivery process-wide)."""
    from pyvirt import events

    before = events.queued_delivery()
    events.set_queued_delivery(False)
    yield
    events.set_queued_delivery(before)


# --- pyvirtd --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pyvirtd() -> Iterator[str]:
    """pyvirt's own daemon (``python -m pyvirt.daemon``) on a private UNIX socket; yields its URI."""
    import sys

    base = tempfile.mkdtemp(prefix="pyvirtd-", dir="/tmp/pyvirt-tests")
    conf = os.path.join(base, "pyvirtd.conf")
    with open(conf, "w", encoding="utf-8") as fh:
        fh.write(f'unix_sock_dir = "{base}/sock"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n')
    log = os.path.join(base, "pyvirtd.log")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env = dict(os.environ, PYTHONPATH=root)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pyvirt.daemon", "-f", conf, "-p", f"{base}/pid"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=base)
    sock = os.path.join(base, "sock", "libvirt-sock")
    try:
        _wait_for(lambda: os.path.exists(sock + "-ro"), "pyvirtd", proc, log)
        yield f"test+unix:///default?socket={sock}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)
