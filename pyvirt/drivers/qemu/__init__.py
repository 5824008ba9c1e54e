"""The QEMU driver: domains as QEMU processes managed over QMP.

- ``qemu:///embed?root=DIR``: a driver in this process whose configs, status
  files and logs all live under DIR (libvirt's embedded mode);
- ``qemu:///system`` and ``qemu:///session``: served by this driver only inside
  a pyvirtd (which calls :func:`.state.set_daemon_service`); in any other process
  the opener declines and the remote driver connects to the daemon's socket,
  as libvirt's client library does.
"""

from __future__ import annotations

from ... import constants as c
from ...errors import make_error
from ...uri import URI
from .. import register_driver
from .driver import QemuDriver, open_embed
from .state import DaemonService, daemon_service, set_daemon_service

__all__ = ["QemuDriver", "open_qemu", "DaemonService", "set_daemon_service", "daemon_service"]


def open_qemu(uri: URI, read_only: bool, auth: object) -> QemuDriver | None:
    """Opener for local qemu:// URIs (embed everywhere; system/session inside pyvirtd)."""
    if uri.is_remote:
        return None
    if uri.path == "/embed":
        root = uri.param("root")
        if not root:
            raise make_error(c.VIR_ERR_INVALID_ARG, "URI must be qemu:///embed?root=/some/path", c.VIR_FROM_QEMU)
        drv = open_embed(root)
        drv.uri = str(uri)
        drv.read_only = read_only
        return drv
    service = daemon_service()
    if service is None:
        return None  # not a daemon: qemu:///system and /session belong to the remote driver
    service.check_path(uri.path)
    st = service.acquire()
    return QemuDriver(st.layout.uri, read_only, st)


register_driver("qemu", open_qemu)
