"""The identity of the caller, visible to every driver call.

The daemon sets it per request (UNIX peer credentials, TLS distinguished name,
SASL user); in process it is the local user. Drivers and access control read
:func:`current_identity` instead of taking an extra argument on every call.
"""

from __future__ import annotations

import os
import pwd
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["Identity", "current_identity", "local_identity", "caller"]


@dataclass(frozen=True)
class Identity:
    """Who is making a call (the fields of libvirt's virIdentity that pyvirt uses)."""

    user_name: str
    uid: int
    gid: int
    pid: int
    x509_dn: str | None = None
    sasl_user: str | None = None
    read_only: bool = False


def local_identity() -> Identity:
    """The identity of this process."""
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    return Identity(name, uid, os.getgid(), os.getpid())


_LOCAL = local_identity()
caller: ContextVar[Identity] = ContextVar("pyvirt_caller", default=_LOCAL)


def current_identity() -> Identity:
    """The identity of the caller of the driver call being served."""
    return caller.get()
