"""libvirt's ``test`` driver: an in-memory mock hypervisor.

``test:///default`` opens the built-in configuration, shared by every such
connection in the process; ``test:///ABS/PATH.xml`` reads a ``<node>`` file into
a state private to the connection.

Behaviour follows libvirt 9.0's ``src/test/test_driver.c``, quirks included
(they are what applications' test suites see), e.g. network destroy keeps the
live definition, interface change rollback leaves every interface inactive,
reverting to an inactive snapshot with RUNNING only emits events, node device
destroy of a non-FC device silently succeeds, ``findStoragePoolSources("dir")``
is an "unknown pool type", ``<volume>`` children of ``<pool file=...>`` are
ignored. Deliberate differences:

* ``connectListAllNodeDevices`` accepts the ACTIVE/INACTIVE flags (libvirt 9.0
  refuses them, which breaks ``virsh nodedev-list``); every device is active;
* ``<test:domainsnapshot file=...>`` works (libvirt 9.0 crashes with a double free);
* the screenshot is a built-in 1x1 PNG; baseline CPU has no feature database.

Module map: state (objects, shared-state registry), loader (``<node>`` files),
domains/domconfig/iothreads/stats/snapshots/checkpoints (domain calls), networks,
interfaces, storage, nodedev, host (connection, node, events).
"""

from __future__ import annotations

from typing import Any

from ... import constants as c
from ...errors import make_error
from ...uri import URI
from .. import register_driver
from ..base import DomainRef
from .checkpoints import CheckpointsMixin
from .domains import DomainsMixin
from .domconfig import DomainConfigMixin
from .host import HostMixin
from .interfaces import InterfacesMixin
from .iothreads import IOThreadsMixin
from .loader import build_default, build_from_file
from .networks import NetworksMixin
from .nodedev import NodeDevMixin
from .snapshots import SnapshotsMixin
from .state import acquire_default, release_default
from .stats import StatsMixin
from .storage import StorageMixin

__all__ = ["TestDriver", "open_test"]


class TestDriver(HostMixin, DomainsMixin, DomainConfigMixin, StatsMixin, IOThreadsMixin, SnapshotsMixin, CheckpointsMixin,
                 NetworksMixin, InterfacesMixin, StorageMixin, NodeDevMixin):
    """One connection to a test driver state."""

    type_name = "TEST"

    def domain_get_ostype(self, dom: DomainRef) -> str:
        """Alias: libvirt's field is domainGetOSType."""
        return self.domain_get_os_type(dom)


def _authenticate(drv: TestDriver, auth: Any) -> None:
    """libvirt's fake authentication for files with an <auth> section."""
    users = drv.st.auths
    if not users:
        return
    username = password = None
    if isinstance(auth, dict):
        username, password = auth.get("username"), auth.get("password")
    elif isinstance(auth, (tuple, list)) and len(auth) == 2 and all(isinstance(x, (str, type(None))) for x in auth):
        username, password = auth
    elif callable(auth):
        username, password = auth()
    if username is None:
        raise make_error(c.VIR_ERR_AUTH_FAILED, "Missing or invalid auth pointer", c.VIR_FROM_AUTH)
    for name, pw in users:
        if name == username and (pw is None or pw == password):
            return
    raise make_error(c.VIR_ERR_AUTH_FAILED,
                     "authentication failed, see test XML for the correct username/password", c.VIR_FROM_TEST)


def open_test(uri: URI, read_only: bool, auth: object) -> TestDriver | None:
    """Opener for local test:// URIs."""
    if uri.is_remote:
        return None
    path = uri.path
    if path in ("", "/"):
        raise make_error(c.VIR_ERR_INVALID_ARG, "testOpen: supply a path or use test:///default", c.VIR_FROM_TEST)
    text = str(uri)
    if path == "/default":
        st = acquire_default(build_default)
        drv = TestDriver(text, read_only, st, shared=True)
    else:
        st = build_from_file(path)
        drv = TestDriver(text, read_only, st, shared=False)
    try:
        _authenticate(drv, auth)
    except Exception:
        if drv._shared:
            release_default(st)
        raise
    return drv


register_driver("test", open_test)
