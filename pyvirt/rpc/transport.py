"""Transports of the remote driver: UNIX socket, TCP, TLS, SSH and ext (a command's stdio).

:func:`open_endpoint` turns a parsed URI into a connected :class:`Endpoint`,
following libvirt's rules for default socket paths, ports, certificate files
and the ssh command line (remote_sockets.c, virnetclient.c, virnetsocket.c,
virnettlscontext.c).
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import tempfile

from .. import constants as c
from ..errors import make_error
from ..uri import URI
from .client import Endpoint

__all__ = ["open_endpoint", "default_unix_socket", "tls_files", "tls_context", "ssh_command",
           "ssh_helper_command", "uses_user_daemon", "TCP_PORT", "TLS_PORT"]

TCP_PORT = 16509
TLS_PORT = 16514
SYSTEM_CACERT = "/etc/pki/CA/cacert.pem"
SYSTEM_CLIENTCERT = "/etc/pki/libvirt/clientcert.pem"
SYSTEM_CLIENTKEY = "/etc/pki/libvirt/private/clientkey.pem"


def _truthy(value: str | None) -> bool:
    if value is None:
        return False
    try:
        return int(value) != 0
    except ValueError:
        return False


def _user_runtime_dir() -> str:
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return os.path.join(xdg, "libvirt")
    return os.path.join(os.path.expanduser("~"), ".cache", "libvirt")


def uses_user_daemon(uri: URI | None) -> bool:
    """libvirt's REMOTE_DRIVER_OPEN_USER: ``/session`` URIs and ``test+...`` for non-root."""
    if os.geteuid() == 0:
        return False
    if uri is None:
        return True
    return uri.path == "/session" or uri.scheme.startswith("test+")


def default_unix_socket(uri: URI | None, read_only: bool, remote_host: bool = False) -> str:
    """The daemon socket libvirt would pick for *uri* (remote_sockets.c)."""
    user = uses_user_daemon(uri)
    driver = uri.driver if uri is not None and uri.driver != "remote" else None

    def path(prefix: str) -> str:
        if user:
            return os.path.join(_user_runtime_dir(), f"{prefix}-sock")
        # libvirt spells it $LOCALSTATEDIR/run (/var/run -> /run), also for local daemons
        return f"/var/run/libvirt/{prefix}-sock{'-ro' if read_only else ''}"

    legacy = path("libvirt")
    if remote_host or driver is None:
        return legacy
    direct = path(f"virt{driver}d")
    if os.path.exists(direct):
        return direct
    return legacy


def _connect_unix(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_RPC,
                         message=f"Failed to connect socket to '{path}': {exc.strerror or exc}") from exc
    return sock


def _connect_tcp(host: str, port: int) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=30)
    except OSError as exc:
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_RPC,
                         message=f"unable to connect to server at '{host}:{port}': "
                                 f"{exc.strerror or exc}") from exc
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # A silent peer (cable pulled, host gone) must not leave calls waiting forever even when
    # the daemon offers no RPC keepalive: let the kernel probe the connection too.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for opt, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 6)):
        if hasattr(socket, opt):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, opt), value)
    return sock


def tls_files(pkipath: str | None) -> tuple[str, str, str]:
    """(cacert, clientcert, clientkey) paths with libvirt's lookup order."""
    if pkipath:
        return (os.path.join(pkipath, "cacert.pem"), os.path.join(pkipath, "clientcert.pem"),
                os.path.join(pkipath, "clientkey.pem"))
    cacert, cert, key = SYSTEM_CACERT, SYSTEM_CLIENTCERT, SYSTEM_CLIENTKEY
    if os.geteuid() != 0:
        user = os.path.join(os.path.expanduser("~"), ".pki", "libvirt")
        if os.path.exists(os.path.join(user, "cacert.pem")):
            cacert = os.path.join(user, "cacert.pem")
        ucert, ukey = os.path.join(user, "clientcert.pem"), os.path.join(user, "clientkey.pem")
        if os.path.exists(ucert) and os.path.exists(ukey):
            cert, key = ucert, ukey
    return cacert, cert, key


def tls_context(pkipath: str | None, verify: bool) -> ssl.SSLContext:
    """A client SSLContext: libvirt's CA, optional client certificate, server checks unless no_verify."""
    cacert, cert, key = tls_files(pkipath)
    if not os.path.exists(cacert):
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_RPC,
                         message=f"Cannot read CA certificate '{cacert}': No such file or directory")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_verify_locations(cacert)
        if os.path.exists(cert) and os.path.exists(key):
            ctx.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as exc:
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_RPC,
                         message=f"Unable to load TLS credentials: {exc}") from exc
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


_SHELL_META = frozenset("\r\t\n !\"#$&'()*;<>?[\\]^`{|}~")


def _escape(text: str) -> str:
    """libvirt's virBufferEscapeShell: quote with '' unless the text is plain."""
    if not text:
        return "''"
    if not any(ch in _SHELL_META for ch in text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def ssh_helper_command(proxy: str, netcat: str | None, socket_path: str, driver_uri: str,
                       read_only: bool) -> str:
    """The remote shell command that joins the daemon socket (virNetClientSSHHelperCommand)."""
    nc = _escape(_escape(netcat or "nc"))
    drv = _escape(_escape(driver_uri))
    nccmd = (f"if '{nc}' -q 2>&1 | grep \"requires an argument\" >/dev/null 2>&1; then ARG=-q0;"
             f"else ARG=;fi;'{nc}' $ARG -U {socket_path}")
    helper = f"virt-ssh-helper{' -r ' if read_only else ' '}'{drv}'"
    if proxy == "auto" and netcat is not None:
        proxy = "netcat"
    if proxy == "netcat":
        return f"sh -c '{nccmd}'"
    if proxy == "native":
        if netcat is not None:
            raise make_error(c.VIR_ERR_INVALID_ARG, "netcat path not valid with native proxy mode",
                             c.VIR_FROM_REMOTE)
        return f"sh -c '{helper}'"
    return (f"sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     {helper}; "
            f"else    {nccmd}; fi'")


def ssh_command(uri: URI, socket_path: str, driver_uri: str, read_only: bool) -> list[str]:
    """The ssh argv libvirt builds (virNetSocketNewConnectSSH)."""
    argv = [uri.param("command") or "ssh"]
    if uri.port is not None:
        argv += ["-p", str(uri.port)]
    if uri.user:
        argv += ["-l", uri.user]
    if uri.param("keyfile"):
        argv += ["-i", uri.param("keyfile") or ""]
    argv += ["-T", "-e", "none"]
    if _truthy(uri.param("no_tty")):
        argv += ["-o", "BatchMode=yes"]
    if _truthy(uri.param("no_verify")):
        argv += ["-o", "StrictHostKeyChecking=no"]
    if uri.param("known_hosts"):
        argv += ["-o", f"UserKnownHostsFile={uri.param('known_hosts')}"]
    proxy = uri.param("proxy") or "auto"
    if proxy not in ("auto", "netcat", "native"):
        raise make_error(c.VIR_ERR_INVALID_ARG, f"Unknown proxy mode '{proxy}'", c.VIR_FROM_REMOTE)
    if uri.param("socket") is not None and proxy == "auto":
        proxy = "netcat"
    argv += ["--", uri.server or "localhost",
             ssh_helper_command(proxy, uri.param("netcat"), socket_path, driver_uri, read_only)]
    return argv


def _spawn(argv: list[str], description: str) -> Endpoint:
    """Run *argv* with its stdin/stdout joined to one end of a socketpair."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    fd, errpath = tempfile.mkstemp(prefix="pyvirt-ssh-", suffix=".err")
    env = dict(os.environ)
    try:
        proc = subprocess.Popen(argv, stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=fd, env=env,
                                start_new_session=True, close_fds=True)
    except OSError as exc:
        ours.close()
        theirs.close()
        os.close(fd)
        os.unlink(errpath)
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_RPC,
                         message=f"Cannot run {argv[0]}: {exc.strerror or exc}") from exc
    theirs.close()
    os.close(fd)
    return Endpoint(ours, description, process=proc, stderr_path=errpath)


def open_endpoint(uri: URI, read_only: bool, driver_uri: str) -> Endpoint:
    """Connect the transport *uri* asks for. *driver_uri* is what CONNECT_OPEN will carry."""
    transport = uri.transport
    if transport is None:
        transport = "tls" if uri.server else "unix"
    if transport == "unix":
        if uri.server:
            raise make_error(c.VIR_ERR_INVALID_ARG, "Using unix socket and remote server "
                             f"'{uri.server}' is not supported.", c.VIR_FROM_REMOTE)
        path = uri.param("socket") or default_unix_socket(uri if uri.scheme != "remote+unix" else None,
                                                          read_only)
        return Endpoint(_connect_unix(path), path)
    if transport == "tcp":
        host = uri.server or "localhost"
        port = uri.port or TCP_PORT
        return Endpoint(_connect_tcp(host, port), f"{host}:{port}")
    if transport == "tls":
        host = uri.server or "localhost"
        port = uri.port or TLS_PORT
        verify = not _truthy(uri.param("no_verify"))
        ctx = tls_context(uri.param("pkipath"), verify)
        return Endpoint(_connect_tcp(host, port), f"{host}:{port}", ssl_context=ctx,
                        server_hostname=host if verify else "")
    if transport in ("ssh", "libssh", "libssh2"):
        sock_path = uri.param("socket") or default_unix_socket(uri, read_only, remote_host=True)
        return _spawn(ssh_command(uri, sock_path, driver_uri, read_only), f"ssh {uri.server}")
    if transport == "ext":
        command = uri.param("command")
        if not command:
            raise make_error(c.VIR_ERR_INVALID_ARG, "remote_open: for 'ext' transport, command is required",
                             c.VIR_FROM_REMOTE)
        return _spawn([command], command)
    raise make_error(c.VIR_ERR_INVALID_ARG, f"transport in URL not recognised (should be "
                     f"tls|unix|ssh|ext|tcp|libssh2|libssh): '{transport}'", c.VIR_FROM_REMOTE)

