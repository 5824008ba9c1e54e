"""The driver table: which driver serves which connection URI.

Drivers register an opener per URI scheme. ``open_driver`` picks the remote
driver for URIs with a transport or a host, otherwise the local driver named by
the scheme. Driver packages are imported lazily so that opening
``test:///default`` does not import QEMU or RPC code.
"""

from __future__ import annotations

import importlib
from typing import Callable

from .. import constants as c
from ..errors import make_error
from ..uri import URI, parse_uri
from .base import Driver

__all__ = ["register_driver", "open_driver", "Opener"]

# An opener gets the parsed URI, the read-only flag and the auth callback data;
# it returns a driver, or None when the URI is not for it.
Opener = Callable[[URI, bool, object], "Driver | None"]

_OPENERS: dict[str, Opener] = {}

# scheme -> module that registers it when imported
_LAZY = {
    "test": "pyvirt.drivers.test",
    "qemu": "pyvirt.drivers.qemu",
    "lxc": "pyvirt.drivers.lxc",
    "remote": "pyvirt.drivers.remote",
}


def register_driver(scheme: str, opener: Opener) -> None:
    """Make *opener* serve URIs whose driver part is *scheme*."""
    _OPENERS[scheme] = opener


def _opener_for(scheme: str) -> Opener | None:
    if scheme not in _OPENERS and scheme in _LAZY:
        try:
            importlib.import_module(_LAZY[scheme])
        except ModuleNotFoundError:
            return None
    return _OPENERS.get(scheme)


def open_driver(uri_text: str, read_only: bool = False, auth: object = None,
                local_only: bool = False) -> Driver:
    """Open the driver that serves *uri_text*, or raise libvirt's 'no connection driver'.

    *local_only* refuses the remote driver (a daemon must never connect to itself).
    """
    uri = parse_uri(uri_text)
    if uri.is_remote:
        opener = None if local_only else _opener_for("remote")
    else:
        opener = _opener_for(uri.driver)
    driver = opener(uri, read_only, auth) if opener is not None else None
    if driver is None and not uri.is_remote and not local_only:
        # A local URI no local driver takes may still be served by a daemon's socket.
        remote = _opener_for("remote")
        driver = remote(uri, read_only, auth) if remote is not None else None
    if driver is None:
        raise make_error(c.VIR_ERR_NO_CONNECT, uri_text)
    return driver
