"""pyvirt's error hierarchy: one root carrying libvirt's (code, domain, message).

Every failure a caller can see is a :class:`LibvirtError` (also exported as
``pyvirt.libvirt.libvirtError``). Subclasses group libvirt's numeric codes into
families a Python caller can catch::

    LibvirtError
    ├── NotFoundError          no such domain, network, pool, volume, ...
    ├── InvalidOperationError  wrong state for the call (VIR_ERR_OPERATION_INVALID)
    ├── InvalidArgumentError   bad arguments or flags
    ├── NotSupportedError      the driver does not implement the call
    ├── XMLError               malformed or invalid XML
    ├── AlreadyExistsError     the object exists already
    ├── AccessDeniedError      read-only connection or access control
    ├── ConnectionError_       RPC, transport, authentication
    └── OperationFailedError   everything that was tried and failed

Messages are worded like libvirt's: the code's generic text, then the detail
("Domain not found: no domain with matching name 'x'").
"""

from __future__ import annotations

from typing import NoReturn

from . import constants as c
from ._errmsgs import MESSAGES

__all__ = [
    "LibvirtError",
    "NotFoundError",
    "InvalidOperationError",
    "InvalidArgumentError",
    "NotSupportedError",
    "XMLError",
    "AlreadyExistsError",
    "AccessDeniedError",
    "ConnectionError_",
    "OperationFailedError",
    "make_error",
    "raise_error",
    "format_message",
]


class LibvirtError(Exception):
    """Root of every pyvirt error; carries libvirt's code, domain and message."""

    def __init__(
        self,
        message: str,
        code: int | None = None,
        domain: int | None = None,
        level: int = c.VIR_ERR_ERROR,
        str1: str | None = None,
        str2: str | None = None,
        str3: str | None = None,
        int1: int = -1,
        int2: int = -1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.domain = domain
        self.level = level
        self.str1 = str1
        self.str2 = str2
        self.str3 = str3
        self.int1 = int1
        self.int2 = int2

    # libvirt-python's accessors
    def get_error_code(self) -> int | None:
        return self.code

    def get_error_domain(self) -> int | None:
        return self.domain

    def get_error_message(self) -> str:
        return self.message

    def get_error_level(self) -> int:
        return self.level

    def get_str1(self) -> str | None:
        return self.str1

    def get_str2(self) -> str | None:
        return self.str2

    def get_str3(self) -> str | None:
        return self.str3

    def get_int1(self) -> int:
        return self.int1

    def get_int2(self) -> int:
        return self.int2

    @property
    def err(self) -> tuple[int | None, int | None, str, int, str | None, str | None, str | None, int, int]:
        """The tuple libvirt-python exposes as ``libvirtError.err``."""
        return (self.code, self.domain, self.message, self.level,
                self.str1, self.str2, self.str3, self.int1, self.int2)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code}, domain={self.domain}, message={self.message!r})"


class NotFoundError(LibvirtError):
    """The named object does not exist."""


class InvalidOperationError(LibvirtError):
    """The object is in the wrong state for this call."""


class InvalidArgumentError(LibvirtError):
    """An argument or flag is invalid."""


class NotSupportedError(LibvirtError):
    """The connection's driver does not implement this call or option."""


class XMLError(LibvirtError):
    """The XML is malformed or does not describe a valid object."""


class AlreadyExistsError(LibvirtError):
    """An object with this name or UUID exists already."""


class AccessDeniedError(LibvirtError):
    """The connection may not do this (read-only, or denied by access control)."""


class ConnectionError_(LibvirtError):  # noqa: N801 - avoid shadowing the builtin
    """Transport, RPC or authentication failure."""


class OperationFailedError(LibvirtError):
    """The operation was attempted and failed."""


_FAMILY: dict[int, type[LibvirtError]] = {}
for _code in (c.VIR_ERR_NO_DOMAIN, c.VIR_ERR_NO_NETWORK, c.VIR_ERR_NO_STORAGE_POOL,
              c.VIR_ERR_NO_STORAGE_VOL, c.VIR_ERR_NO_NODE_DEVICE, c.VIR_ERR_NO_INTERFACE,
              c.VIR_ERR_NO_DOMAIN_SNAPSHOT, c.VIR_ERR_NO_SECRET, c.VIR_ERR_NO_NWFILTER,
              c.VIR_ERR_NO_DOMAIN_METADATA, c.VIR_ERR_NO_DOMAIN_CHECKPOINT,
              c.VIR_ERR_NO_NETWORK_PORT, c.VIR_ERR_NO_NWFILTER_BINDING, c.VIR_ERR_NO_SECURITY_MODEL,
              c.VIR_ERR_NO_DOMAIN_BACKUP, c.VIR_ERR_NO_CLIENT, c.VIR_ERR_NO_SERVER):
    _FAMILY[_code] = NotFoundError
for _code in (c.VIR_ERR_OPERATION_INVALID,):
    _FAMILY[_code] = InvalidOperationError
for _code in (c.VIR_ERR_INVALID_ARG, c.VIR_ERR_INVALID_DOMAIN, c.VIR_ERR_INVALID_CONN,
              c.VIR_ERR_INVALID_NETWORK, c.VIR_ERR_INVALID_STORAGE_POOL,
              c.VIR_ERR_INVALID_STORAGE_VOL, c.VIR_ERR_INVALID_NODE_DEVICE,
              c.VIR_ERR_INVALID_INTERFACE, c.VIR_ERR_INVALID_DOMAIN_SNAPSHOT,
              c.VIR_ERR_INVALID_MAC):
    _FAMILY[_code] = InvalidArgumentError
for _code in (c.VIR_ERR_NO_SUPPORT, c.VIR_ERR_CONFIG_UNSUPPORTED, c.VIR_ERR_ARGUMENT_UNSUPPORTED,
              c.VIR_ERR_OPERATION_UNSUPPORTED):
    _FAMILY[_code] = NotSupportedError
for _code in (c.VIR_ERR_XML_ERROR, c.VIR_ERR_XML_DETAIL, c.VIR_ERR_XML_INVALID_SCHEMA):
    _FAMILY[_code] = XMLError
for _code in (c.VIR_ERR_DOM_EXIST, c.VIR_ERR_NETWORK_EXIST, c.VIR_ERR_STORAGE_POOL_BUILT,
              c.VIR_ERR_STORAGE_VOL_EXIST):
    _FAMILY[_code] = AlreadyExistsError
for _code in (c.VIR_ERR_OPERATION_DENIED, c.VIR_ERR_ACCESS_DENIED):
    _FAMILY[_code] = AccessDeniedError
for _code in (c.VIR_ERR_RPC, c.VIR_ERR_NO_CONNECT, c.VIR_ERR_AUTH_FAILED, c.VIR_ERR_AUTH_CANCELLED,
              c.VIR_ERR_AUTH_UNAVAILABLE, c.VIR_ERR_GNUTLS_ERROR, c.VIR_ERR_SYSTEM_ERROR):
    _FAMILY[_code] = ConnectionError_


def format_message(code: int, detail: str | None = None) -> str:
    """libvirt's message for *code*, with *detail* substituted like virErrorMsg()."""
    plain, with_info = MESSAGES.get(code, ("unknown error", "unknown error: %s"))
    if detail is None:
        return plain
    return with_info.replace("%s", detail, 1)


def error_class(code: int) -> type[LibvirtError]:
    """The pyvirt exception class used for libvirt error *code*."""
    return _FAMILY.get(code, OperationFailedError)


def make_error(code: int, detail: str | None = None, domain: int = c.VIR_FROM_NONE,
               message: str | None = None, **extra: object) -> LibvirtError:
    """Build the error libvirt would raise for *code*, worded like libvirt's."""
    text = message if message is not None else format_message(code, detail)
    cls = error_class(code)
    err = cls(text, code, domain)
    err.str1 = text
    for key, value in extra.items():
        setattr(err, key, value)
    return err


def raise_error(code: int, detail: str | None = None, domain: int = c.VIR_FROM_NONE) -> NoReturn:
    """Raise :func:`make_error` (*code*, *detail*, *domain*)."""
    raise make_error(code, detail, domain)


def no_support(what: str) -> LibvirtError:
    """The VIR_ERR_NO_SUPPORT error libvirt gives for an API the driver lacks."""
    return make_error(c.VIR_ERR_NO_SUPPORT, what)


def check_flags(flags: int, allowed: int, func: str, domain: int = c.VIR_FROM_NONE) -> None:
    """Raise libvirt's 'unsupported flags' error when *flags* has bits outside *allowed*."""
    bad = flags & ~allowed
    if bad:
        # libvirt reports these without the code's generic "invalid argument" prefix.
        raise make_error(c.VIR_ERR_INVALID_ARG, None, domain,
                         message=f"unsupported flags (0x{bad:x}) in function {func}")
