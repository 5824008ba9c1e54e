"""The QEMU driver: domains as QEMU processes managed over QMP.

``qemu:///embed?root=DIR`` opens a driver whose configs, status files and logs
all live under DIR (libvirt's embedded mode). Other qemu:// URIs are left to
the remote driver (a daemon).
"""

from __future__ import annotations

from ... import constants as c
from ...errors import make_error
from ...uri import URI
from .. import register_driver
from .driver import QemuDriver, open_embed

__all__ = ["QemuDriver", "open_qemu"]


def open_qemu(uri: URI, read_only: bool, auth: object) -> QemuDriver | None:
    """Opener for local qemu:///embed URIs."""
    if uri.is_remote or uri.path != "/embed":
        return None
    root = uri.param("root")
    if not root:
        raise make_error(c.VIR_ERR_INVALID_ARG, "URI must be qemu:///embed?root=/some/path", c.VIR_FROM_QEMU)
    drv = open_embed(root)
    drv.uri = str(uri)
    drv.read_only = read_only
    return drv


register_driver("qemu", open_qemu)
