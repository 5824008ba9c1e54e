"""libvirtd.conf: the virConf syntax and the daemon's settings.

The syntax is libvirt's virConf: ``name = value`` statements separated by
newlines or ``;``, ``#`` comments, values that are strings (``"..."``,
``'...'`` or ``\"\"\"...\"\"\"``), integers (with an optional sign) or lists
``[ v1, v2 ]``. Errors are worded like libvirt's and name the file and line.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Union

from .. import constants as c
from ..errors import LibvirtError, make_error

__all__ = ["ConfError", "DaemonConfig", "parse_conf", "load_config", "config_from_text", "default_sock_dir",
           "AUTH_NONE", "AUTH_SASL", "AUTH_POLKIT"]

log = logging.getLogger("pyvirt.daemon")

AUTH_NONE = 0
AUTH_SASL = 1
AUTH_POLKIT = 2

ConfValue = Union[str, int, list["ConfValue"]]


class ConfError(LibvirtError):
    """A libvirtd.conf that cannot be used."""


def _err(code: int, text: str) -> ConfError:
    base = make_error(code, text, c.VIR_FROM_CONF)
    return ConfError(base.message, code, c.VIR_FROM_CONF, str1=base.message)


class _Parser:
    """A direct port of the virConf grammar (not of its code)."""

    def __init__(self, text: str, filename: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.filename = filename
        self.entries: dict[str, tuple[ConfValue, int]] = {}

    def error(self, info: str) -> ConfError:
        return _err(c.VIR_ERR_CONF_SYNTAX, f"{self.filename}:{self.line}: {info}")

    @property
    def cur(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_blanks(self) -> None:
        while self.cur in (" ", "\t"):
            self.i += 1

    def skip_blanks_eol(self) -> None:
        while self.cur and self.cur in " \t\r\n":
            if self.cur == "\n":
                self.line += 1
            self.i += 1

    def parse(self) -> dict[str, tuple[ConfValue, int]]:
        while self.i < len(self.s):
            self.statement()
            self.separator()
        return self.entries

    def statement(self) -> None:
        self.skip_blanks_eol()
        if self.cur == "#":
            self.skip_comment()
            return
        if not self.cur:
            return
        line = self.line
        name = self.name()
        self.skip_blanks()
        if self.cur != "=":
            raise self.error("expecting an assignment")
        self.i += 1
        self.skip_blanks()
        value = self.value()
        self.skip_blanks()
        if self.cur == "#":
            self.skip_comment()
        self.entries[name] = (value, line)

    def skip_comment(self) -> None:
        while self.cur and self.cur not in "\r\n":
            self.i += 1

    def separator(self) -> None:
        self.skip_blanks()
        if not self.cur:
            return
        if self.cur in "\r\n":
            self.skip_blanks_eol()
        elif self.cur == ";":
            self.i += 1
            self.skip_blanks_eol()
        else:
            raise self.error("expecting a separator")

    def name(self) -> str:
        self.skip_blanks()
        start = self.i
        if not (self.cur.isascii() and self.cur.isalpha()):
            raise self.error("expecting a name")
        while self.cur and self.cur.isascii() and (self.cur.isalnum() or self.cur == "_"):
            self.i += 1
        return self.s[start:self.i]

    def value(self) -> ConfValue:
        self.skip_blanks()
        ch = self.cur
        if not ch:
            raise self.error("expecting a value")
        if ch in "\"'":
            return self.string()
        if ch == "[":
            return self.list_()
        if ch.isdigit() or ch in "+-":
            return self.number()
        raise self.error("expecting a value")

    def string(self) -> str:
        if self.s.startswith('"""', self.i) and self.i + 6 < len(self.s):
            end = self.s.find('"""', self.i + 3)
            if end < 0:
                raise self.error("unterminated string")
            text = self.s[self.i + 3:end]
            self.line += text.count("\n")
            self.i = end + 3
            return text
        quote = self.cur
        self.i += 1
        start = self.i
        while self.cur and self.cur != quote and self.cur not in "\r\n":
            self.i += 1
        if self.cur != quote:
            raise self.error("unterminated string")
        self.i += 1
        return self.s[start:self.i - 1]

    def number(self) -> int:
        neg = self.cur == "-"
        if self.cur in "+-":
            self.i += 1
        start = self.i
        while self.cur and self.cur.isascii() and self.cur.isdigit():
            self.i += 1
        if start == self.i:
            raise self.error("unterminated number")
        n = int(self.s[start:self.i])
        return -n if neg else n

    def list_(self) -> list[ConfValue]:
        self.i += 1
        self.skip_blanks_eol()
        items: list[ConfValue] = []
        if self.cur and self.cur != "]":
            items.append(self.value())
            self.skip_blanks_eol()
        while self.cur and self.cur != "]":
            if self.cur != ",":
                raise self.error("expecting a separator in list")
            self.i += 1
            self.skip_blanks_eol()
            if self.cur == "]":
                break
            items.append(self.value())
            self.skip_blanks_eol()
        if self.cur != "]":
            raise self.error("list is not closed with ]")
        self.i += 1
        return items


def parse_conf(text: str, filename: str = "<string>") -> dict[str, tuple[ConfValue, int]]:
    """Parse virConf *text*: ``{name: (value, line)}`` (the last assignment wins)."""
    return _Parser(text, filename).parse()


def default_sock_dir() -> str:
    """Where libvirtd puts its sockets: /run/libvirt as root, else $XDG_RUNTIME_DIR/libvirt."""
    if os.geteuid() == 0:
        return "/run/libvirt"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache")
    return os.path.join(runtime, "libvirt")


@dataclass
class DaemonConfig:
    """The libvirtd.conf settings pyvirtd uses, with libvirtd's defaults."""

    unix_sock_dir: str = field(default_factory=default_sock_dir)
    unix_sock_group: str | None = None
    unix_sock_rw_perms: str = "0700"
    unix_sock_ro_perms: str = "0777"
    unix_sock_admin_perms: str = "0700"
    auth_unix_rw: int = AUTH_NONE
    auth_unix_ro: int = AUTH_NONE
    auth_tcp: int = AUTH_NONE
    auth_tls: int = AUTH_NONE
    listen_tcp: bool = False
    listen_tls: bool = True
    listen_addr: str | None = None
    tcp_port: str = "16509"
    tls_port: str = "16514"
    key_file: str = "/etc/pki/libvirt/private/serverkey.pem"
    cert_file: str = "/etc/pki/libvirt/servercert.pem"
    ca_file: str = "/etc/pki/CA/cacert.pem"
    crl_file: str | None = None
    tls_no_verify_certificate: bool = False
    tls_no_sanity_certificate: bool = False
    tls_allowed_dn_list: list[str] | None = None
    max_clients: int = 5000
    max_anonymous_clients: int = 20
    max_workers: int = 20
    min_workers: int = 5
    max_client_requests: int = 5
    keepalive_interval: int = 5
    keepalive_count: int = 5
    log_level: int = 3
    log_outputs: str | None = None
    log_filters: str | None = None
    prefix: str | None = None  # pyvirtd's own key: relocate the system layout (--prefix)
    filename: str | None = None
    given: set[str] = field(default_factory=set)  # keys the file set explicitly


_STR = "string"
_BOOL = "bool"
_UINT = "uint"
_INT = "int"
_LIST = "list"
_AUTH = "auth"

_KEYS: dict[str, str] = {
    "unix_sock_dir": _STR, "unix_sock_group": _STR, "unix_sock_rw_perms": _STR,
    "unix_sock_ro_perms": _STR, "unix_sock_admin_perms": _STR,
    "auth_unix_rw": _AUTH, "auth_unix_ro": _AUTH, "auth_tcp": _AUTH, "auth_tls": _AUTH,
    "listen_tcp": _BOOL, "listen_tls": _BOOL, "listen_addr": _STR,
    "tcp_port": _STR, "tls_port": _STR,
    "key_file": _STR, "cert_file": _STR, "ca_file": _STR, "crl_file": _STR,
    "tls_no_verify_certificate": _BOOL, "tls_no_sanity_certificate": _BOOL,
    "tls_allowed_dn_list": _LIST,
    "max_clients": _UINT, "max_anonymous_clients": _UINT, "max_workers": _UINT,
    "min_workers": _UINT, "max_client_requests": _UINT,
    "keepalive_interval": _INT, "keepalive_count": _UINT,
    "log_level": _UINT, "log_outputs": _STR, "log_filters": _STR,
    "prefix": _STR,
}

# libvirtd.conf keys pyvirtd accepts but does not act on.
_IGNORED: dict[str, str] = {
    "admin_min_workers": _UINT, "admin_max_workers": _UINT, "admin_max_clients": _UINT,
    "admin_max_queued_clients": _UINT, "admin_max_client_requests": _UINT,
    "admin_keepalive_interval": _INT, "admin_keepalive_count": _UINT,
    "max_queued_clients": _UINT, "prio_workers": _UINT, "access_drivers": _LIST,
    "sasl_allowed_username_list": _LIST, "tls_priority": _STR, "tcp_min_ssf": _UINT,
    "audit_level": _UINT, "audit_logging": _BOOL, "host_uuid": _STR, "host_uuid_source": _STR,
    "ovs_timeout": _UINT, "mdns_adv": _BOOL, "mdns_name": _STR, "log_buffer_size": _UINT,
}


def _check(kind: str, key: str, value: ConfValue, where: str) -> object:
    """Type-check *value* like virConfGetValue*(), returning the Python value."""
    internal = c.VIR_ERR_INTERNAL_ERROR
    if kind in (_STR, _AUTH):
        if not isinstance(value, str):
            raise _err(internal, f"{where}: expected a string for '{key}' parameter")
        if kind == _AUTH:
            # "sasl" is refused the way a libvirtd built without SASL refuses it
            auth = {"none": AUTH_NONE, "polkit": AUTH_POLKIT}.get(value)
            if auth is None:
                raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, f"{where}: {key}: unsupported auth {value}")
            return auth
        return value
    if kind == _LIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _err(c.VIR_ERR_CONF_SYNTAX if isinstance(value, list) else internal,
                       f"{where}: expected a string list for '{key}' parameter")
        return list(value)
    if kind == _BOOL:
        if not isinstance(value, int) or value < 0:
            raise _err(internal, f"{where}: expected a bool for '{key}' parameter")
        if value > 1:
            raise _err(internal, f"{where}: value for '{key}' parameter must be 0 or 1")
        return bool(value)
    if kind == _UINT:
        if not isinstance(value, int) or value < 0:
            raise _err(internal, f"{where}: expected an unsigned integer for '{key}' parameter")
        if value > 0xFFFFFFFF:
            raise _err(internal, f"{where}: value for '{key}' parameter must be in range 0:4294967295")
        return value
    if not isinstance(value, int):
        raise _err(internal, f"{where}: expected a signed integer for '{key}' parameter")
    if not -2**31 <= value < 2**31:
        raise _err(internal, f"{where}: value for '{key}' parameter must be in range "
                   "-2147483648:2147483647")
    return value


def config_from_text(text: str, filename: str = "<string>") -> DaemonConfig:
    """Build a :class:`DaemonConfig` from libvirtd.conf text."""
    cfg = DaemonConfig(filename=filename)
    rw_perms_set = False
    for key, (value, line) in parse_conf(text, filename).items():
        where = f"{filename}:{line}"
        if key in _IGNORED:
            _check(_IGNORED[key], key, value, where)
            log.warning("%s: setting '%s' is not supported by pyvirtd and is ignored", where, key)
            continue
        kind = _KEYS.get(key)
        if kind is None:
            raise _err(c.VIR_ERR_CONF_SYNTAX, f"{where}: unknown setting '{key}'")
        if key in ("tcp_port", "tls_port") and isinstance(value, int) and value >= 0:
            value = str(value)  # libvirt wants a string; a bare number is an obvious intent
        setattr(cfg, key, _check(kind, key, value, where))
        cfg.given.add(key)
        if key == "prefix" and not os.path.isabs(str(value)):
            raise _err(c.VIR_ERR_CONF_SYNTAX, f"{where}: 'prefix' must be an absolute path")
        rw_perms_set |= key == "unix_sock_rw_perms"
    if cfg.auth_unix_rw == AUTH_POLKIT and not rw_perms_set:
        cfg.unix_sock_rw_perms = "0777"
    if cfg.max_workers < 1:
        raise _err(c.VIR_ERR_INTERNAL_ERROR, "'max_workers' must be greater than 0")
    for key in ("unix_sock_rw_perms", "unix_sock_ro_perms", "unix_sock_admin_perms"):
        try:
            int(getattr(cfg, key), 8)
        except ValueError:
            raise _err(c.VIR_ERR_INTERNAL_ERROR,
                       f"Failed to parse mode '{getattr(cfg, key)}'") from None
    for key in ("tcp_port", "tls_port"):
        if not getattr(cfg, key).isdigit() or not 0 < int(getattr(cfg, key)) < 65536:
            raise _err(c.VIR_ERR_INTERNAL_ERROR, f"{filename}: invalid port '{getattr(cfg, key)}' for '{key}'")
    return cfg


def load_config(path: str | None) -> DaemonConfig:
    """Read libvirtd.conf from *path* (None: the defaults)."""
    if path is None:
        return DaemonConfig()
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise _err(c.VIR_ERR_SYSTEM_ERROR,
                   f"Failed to open file '{path}': {exc.strerror}") from None
    return config_from_text(text, os.path.abspath(path))
