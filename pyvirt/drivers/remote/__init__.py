"""The remote driver: libvirt's RPC protocol to a daemon (libvirtd or pyvirtd).

Serves URIs with a transport or a host (``test+unix:///default``,
``qemu+tls://host/system``, ``qemu+ssh://user@host/system``) and local URIs no
local driver takes (``qemu:///system`` -> the daemon's UNIX socket; inside
pyvirtd the QEMU driver takes them, so the daemon never loops back here). For
``qemu:///session`` an ordinary user's client starts the session daemon when
none listens, as libvirt's does (:mod:`.autostart`). Every
driver method is derived from the procedure table in :mod:`pyvirt.rpc`
(see :mod:`.generic`); :mod:`.special` shapes the few calls whose libvirt API
differs from the wire; :mod:`.events` registers and delivers events.

Opening follows libvirt's client: AUTH_LIST (NONE, POLKIT; SASL is refused with
a clear error), SUPPORTS_FEATURE(PROGRAM_KEEPALIVE) then keepalive 5 s x 5,
CONNECT_OPEN with the URI's local part, SUPPORTS_FEATURE(REMOTE_EVENT_CALLBACK,
REMOTE_CLOSE_CALLBACK). Extra methods beyond the driver table: stream openers
(``storage_vol_upload``/``storage_vol_download``/``domain_open_console``/
``domain_screenshot`` return a :class:`pyvirt.rpc.client.Stream`),
``connect_register_close_callback(fn(reason))``, ``connect_set_keep_alive``.
"""

from __future__ import annotations

from ...uri import URI
from .. import register_driver
from .driver import RemoteDriver, driver_uri_for

__all__ = ["RemoteDriver", "open_remote", "driver_uri_for", "set_inside_daemon"]

_inside_daemon = False


def set_inside_daemon(inside: bool = True) -> None:
    """pyvirtd calls this at start-up: from then on local URIs are never sent to a daemon."""
    global _inside_daemon
    _inside_daemon = inside


def open_remote(uri: URI, read_only: bool, auth: object = None) -> RemoteDriver | None:
    """The opener registered for "remote": connect, authenticate and CONNECT_OPEN.

    Inside a daemon it declines URIs without a host or an explicit ``socket=`` (libvirt's
    rule for a monolithic daemon): those belong to the daemon's own drivers.
    """
    if _inside_daemon and not uri.server and uri.param("socket") is None:
        return None
    return RemoteDriver(uri, read_only)


register_driver("remote", open_remote)
