"""Listening sockets: UNIX rw/ro (libvirt's names and modes), TCP and TLS.

Each :class:`Service` describes one listener the way libvirtd's
virNetServerService does: its auth scheme, whether clients are read-only and
whether the transport is TLS.
"""

from __future__ import annotations

import grp
import os
import socket
import ssl
import stat
from dataclasses import dataclass, field

from .. import constants as c
from ..errors import LibvirtError, make_error
from .config import AUTH_NONE, DaemonConfig

__all__ = ["Service", "unix_services", "tcp_services", "make_tls_context", "peer_dn",
           "dn_allowed", "SOCK_RW", "SOCK_RO", "SOCK_ADMIN"]

SOCK_RW = "libvirt-sock"
SOCK_RO = "libvirt-sock-ro"
SOCK_ADMIN = "libvirt-admin-sock"


@dataclass
class Service:
    """One listener: its sockets and the properties its clients inherit."""

    name: str
    auth: int
    read_only: bool
    sockets: list[socket.socket]
    tls: ssl.SSLContext | None = None
    path: str | None = None  # UNIX socket path, removed on shutdown
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def is_unix(self) -> bool:
        return self.path is not None


def _system_error(detail: str) -> LibvirtError:
    return make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_RPC, message=detail)


def _unix_listener(path: str, mode: int, gid: int | None) -> socket.socket:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISSOCK(st.st_mode):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
            except OSError:
                os.unlink(path)  # stale socket of a dead daemon
            else:
                raise _system_error(f"Failed to bind socket to '{path}': Address already in use")
            finally:
                probe.close()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # umask so the socket is never briefly wider than requested
    old = os.umask(0o777 & ~mode)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise _system_error(f"Failed to bind socket to '{path}': {exc.strerror}") from None
    finally:
        os.umask(old)
    os.chmod(path, mode)
    if gid is not None:
        os.chown(path, -1, gid)
    sock.listen(128)
    sock.setblocking(False)
    return sock


def unix_services(cfg: DaemonConfig) -> list[Service]:
    """The rw and ro UNIX sockets in unix_sock_dir."""
    os.makedirs(cfg.unix_sock_dir, mode=0o755, exist_ok=True)
    gid = None
    if cfg.unix_sock_group:
        try:
            gid = grp.getgrnam(cfg.unix_sock_group).gr_gid
        except KeyError:
            raise make_error(c.VIR_ERR_CONFIG_UNSUPPORTED, None, c.VIR_FROM_NONE,
                             message=f"Failed to lookup group '{cfg.unix_sock_group}'") from None
    rw_path = os.path.join(cfg.unix_sock_dir, SOCK_RW)
    ro_path = os.path.join(cfg.unix_sock_dir, SOCK_RO)
    rw = _unix_listener(rw_path, int(cfg.unix_sock_rw_perms, 8), gid)
    try:
        ro = _unix_listener(ro_path, int(cfg.unix_sock_ro_perms, 8), gid)
    except BaseException:
        rw.close()
        os.unlink(rw_path)
        raise
    return [Service("unix-rw", cfg.auth_unix_rw, False, [rw], path=rw_path),
            Service("unix-ro", cfg.auth_unix_ro, True, [ro], path=ro_path)]


def _inet_listeners(addr: str | None, port: str) -> list[socket.socket]:
    """Bind every address *addr* resolves to (all addresses when None), like libvirtd."""
    try:
        infos = socket.getaddrinfo(addr, int(port), socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                   socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise _system_error(f"Unable to resolve address '{addr}' service '{port}': {exc.strerror}") from None
    socks: list[socket.socket] = []
    errors: list[str] = []
    for family, kind, proto, _canon, sockaddr in infos:
        s = socket.socket(family, kind, proto)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind(sockaddr)
        except OSError as exc:
            s.close()
            errors.append(exc.strerror or str(exc))
            continue
        s.listen(128)
        s.setblocking(False)
        socks.append(s)
    if not socks:
        for s in socks:
            s.close()
        raise _system_error(f"Unable to bind to port {port}: {', '.join(errors) or 'no address'}")
    return socks


def tcp_services(cfg: DaemonConfig) -> list[Service]:
    """The TCP and TLS listeners enabled by listen_tcp / listen_tls."""
    out: list[Service] = []
    if cfg.listen_tls:
        ctx = make_tls_context(cfg)
        out.append(Service("tls", cfg.auth_tls, False, _inet_listeners(cfg.listen_addr, cfg.tls_port), ctx,
                           extra={"allowed_dn": cfg.tls_allowed_dn_list}))
    if cfg.listen_tcp:
        try:
            out.append(Service("tcp", cfg.auth_tcp, False, _inet_listeners(cfg.listen_addr, cfg.tcp_port)))
        except BaseException:
            for svc in out:
                for s in svc.sockets:
                    s.close()
            raise
    return out


def make_tls_context(cfg: DaemonConfig) -> ssl.SSLContext:
    """A server context with the configured key, certificate, CA and CRL."""
    for what, path in (("CA certificate", cfg.ca_file), ("server certificate", cfg.cert_file),
                       ("server key", cfg.key_file)):
        if not os.path.exists(path):
            raise _system_error(f"Cannot read {what} '{path}': No such file or directory")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # GnuTLS clients read the confirmation byte right after the handshake; a TLS 1.3 session
    # ticket arriving first makes that read fail with EAGAIN, so send none.
    ctx.num_tickets = 0
    try:
        ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
        ctx.load_verify_locations(cafile=cfg.ca_file)
        if cfg.crl_file:
            ctx.load_verify_locations(cafile=cfg.crl_file)
            ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    except (ssl.SSLError, OSError) as exc:
        raise _system_error(f"Unable to load TLS credentials: {exc}") from None
    ctx.verify_mode = ssl.CERT_NONE if cfg.tls_no_verify_certificate else ssl.CERT_REQUIRED
    return ctx


def peer_dn(ssl_object: ssl.SSLObject | None) -> str | None:
    """The client certificate's subject DN in libvirt's form ("C=GB,O=x,CN=client")."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    from cryptography import x509  # only TLS clients need it: ~4 MiB the daemon need not carry

    cert = x509.load_der_x509_certificate(der)
    return ",".join(rdn.rfc4514_string() for rdn in cert.subject.rdns)


def _glob_match(pattern: str, text: str) -> bool:
    """GLib's g_pattern_match_simple: '*' any run, '?' one char, nothing else special."""
    pi = ti = 0
    star_p, star_t = -1, 0
    while ti < len(text):
        if pi < len(pattern) and (pattern[pi] == "?" or pattern[pi] == text[ti]):
            pi += 1
            ti += 1
        elif pi < len(pattern) and pattern[pi] == "*":
            star_p, star_t = pi, ti
            pi += 1
        elif star_p >= 0:
            pi = star_p + 1
            star_t += 1
            ti = star_t
        else:
            return False
    while pi < len(pattern) and pattern[pi] == "*":
        pi += 1
    return pi == len(pattern)


def dn_allowed(dn: str | None, allowed: list[str] | None) -> bool:
    """libvirt's tls_allowed_dn_list check: no list allows all, else any wildcard match."""
    if allowed is None or dn is None:
        return True
    return any(_glob_match(p, dn) for p in allowed)


def auth_name(auth: int) -> str:
    return {AUTH_NONE: "none", 1: "sasl", 2: "polkit"}.get(auth, str(auth))
