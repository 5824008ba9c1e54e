"""Connection URIs: ``driver[+transport]://[user@][host][:port]/path[?query]``.

The rules are libvirt's: the scheme names the driver and optionally a transport
(``qemu+ssh``), a URI with a host or a transport goes through the remote driver,
and ``LIBVIRT_DEFAULT_URI`` supplies the URI when none is given.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from . import constants as c
from .errors import make_error

__all__ = ["URI", "parse_uri", "default_uri", "TRANSPORTS"]

TRANSPORTS = ("unix", "tcp", "tls", "ssh", "libssh", "libssh2", "ext")

_URI_RE = re.compile(
    r"""^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):
        (?://(?P<authority>[^/?#]*))?
        (?P<path>[^?#]*)
        (?:\?(?P<query>[^#]*))?
        (?:\#(?P<fragment>.*))?$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class URI:
    """A parsed connection URI."""

    scheme: str
    driver: str
    transport: str | None
    user: str | None
    server: str | None
    port: int | None
    path: str
    query: str | None
    fragment: str | None
    params: tuple[tuple[str, str], ...] = field(default=())
    original: str = ""

    @property
    def is_remote(self) -> bool:
        """True when this URI must be served by the remote driver."""
        return self.transport is not None or bool(self.server)

    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter *name* (libvirt's rule), or *default*."""
        value = default
        for key, val in self.params:
            if key == name:
                value = val
        return value

    def local(self) -> "URI":
        """This URI as the daemon on the far side sees it (no transport, host or port)."""
        return URI(self.driver, self.driver, None, None, None, None, self.path,
                   _strip_remote_params(self.params), None,
                   tuple((k, v) for k, v in self.params if k not in _REMOTE_PARAMS),
                   "")

    def __str__(self) -> str:
        if self.original:
            return self.original
        out = self.scheme + ":"
        if self.server is not None or self.user is not None or self.port is not None or self.path.startswith("/"):
            out += "//"
            if self.user:
                out += quote(self.user, safe="") + "@"
            if self.server:
                out += f"[{self.server}]" if ":" in self.server else self.server
            if self.port is not None:
                out += f":{self.port}"
        out += self.path
        if self.query:
            out += "?" + self.query
        if self.fragment:
            out += "#" + self.fragment
        return out


# Query parameters that the client side of the remote driver consumes (libvirt's list).
_REMOTE_PARAMS = frozenset({
    "name", "command", "socket", "auth", "netcat", "keyfile", "sshauth", "no_verify", "no_tty",
    "pkipath", "known_hosts", "known_hosts_verify", "mode", "proxy", "tls_priority",
})


def _strip_remote_params(params: tuple[tuple[str, str], ...]) -> str | None:
    kept = [f"{quote(k, safe='')}={quote(v, safe='/')}" for k, v in params if k not in _REMOTE_PARAMS]
    return "&".join(kept) or None


def _bad(uri: str, why: str) -> Exception:
    return make_error(c.VIR_ERR_INTERNAL_ERROR, f"Unable to parse URI {uri}: {why}",
                      c.VIR_FROM_URI)


def parse_uri(text: str) -> URI:
    """Parse a connection URI, or raise LibvirtError naming what is wrong with it."""
    if not isinstance(text, str) or not text:
        raise make_error(c.VIR_ERR_INVALID_ARG, "the connection URI is empty: "
                         "give one such as test:///default or qemu:///system", c.VIR_FROM_URI)
    m = _URI_RE.match(text)
    if m is None:
        raise _bad(text, "expected driver[+transport]://[user@][host][:port]/path[?query]")
    scheme = m.group("scheme")
    authority = m.group("authority")
    path = m.group("path") or ""
    if authority is None and path and not path.startswith("/"):
        # "test:default" has no authority: libvirt only accepts hierarchical URIs.
        raise _bad(text, "expected '//' after the scheme")
    driver, _, transport = scheme.partition("+")
    if transport and transport not in TRANSPORTS:
        raise make_error(c.VIR_ERR_INVALID_ARG,
                         f"transport in URL not recognised (should be {'|'.join(TRANSPORTS[:4])}|ext): "
                         f"'{transport}'", c.VIR_FROM_REMOTE)
    user = server = None
    port: int | None = None
    if authority:
        if "@" in authority:
            user_part, _, authority = authority.rpartition("@")
            user = unquote(user_part)
        if authority.startswith("["):
            end = authority.find("]")
            if end < 0:
                raise _bad(text, "unterminated '[' in the IPv6 host")
            server = authority[1:end]
            rest = authority[end + 1:]
        else:
            server, sep, rest = authority.partition(":")
            rest = sep + rest
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit() or int(rest[1:]) > 65535:
                raise _bad(text, f"the port '{rest[1:]}' is not a number from 0 to 65535")
            port = int(rest[1:])
        server = server or None
    query = m.group("query")
    params: list[tuple[str, str]] = []
    if query:
        for item in query.replace(";", "&").split("&"):
            if not item:
                continue
            key, _, value = item.partition("=")
            params.append((unquote(key.replace("+", " ")), unquote(value.replace("+", " "))))
    return URI(scheme, driver.lower(), transport or None, user, server, port, unquote(path), query,
               m.group("fragment"), tuple(params), text)


def default_uri() -> str | None:
    """The URI to use when the caller gives none: ``LIBVIRT_DEFAULT_URI``, else None."""
    value = os.environ.get("LIBVIRT_DEFAULT_URI")
    return value or None
