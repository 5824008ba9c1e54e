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
    """libvirt's fake authentication for files with an <auth> section.

    *auth* is libvirt-python's ``[credtypes, callback, opaque]`` (the callback fills
    ``cred[4]`` of each ``[type, prompt, challenge, defresult, result]``) or, for pyvirt
    callers, a dict with username/password, a (username, password) pair or a callable
    returning that pair.
    """
    users = drv.st.auths
    if not users:
        return
    if _is_cred_list(auth):
        _authenticate_creds(users, auth)
        return
    username = password = None
    if isinstance(auth, dict):
        username, password = auth.get("username"), auth.get("password")
    elif isinstance(auth, (tuple, list)) and len(auth) == 2 and all(isinstance(x, (str, type(None))) for x in auth):
        username, password = auth
    elif callable(auth):
        username, password = auth()
    elif auth is None:
        raise make_error(c.VIR_ERR_INVALID_ARG, "Missing authentication credentials", c.VIR_FROM_AUTH)
    if username is None:
        raise make_error(c.VIR_ERR_AUTH_FAILED, "Missing or invalid auth pointer", c.VIR_FROM_AUTH)
    _check_user(users, username, password)


def _check_user(users: list[tuple[str, str | None]], username: str, password: str | None) -> None:
    for name, pw in users:
        if name == username and (pw is None or pw == password):
            return
    raise make_error(c.VIR_ERR_AUTH_FAILED,
                     "authentication failed, see test XML for the correct username/password", c.VIR_FROM_TEST)


def _is_cred_list(auth: Any) -> bool:
    return (isinstance(auth, (list, tuple)) and len(auth) == 3 and isinstance(auth[0], (list, tuple))
            and (auth[1] is None or callable(auth[1])))


def _ask(auth: Any, wanted: tuple[int, ...], prompt: str, missing: str, failed: str) -> str:
    """One credential through the callback, as libvirt's virAuthGet{Username,Password}."""
    types, callback, opaque = auth
    for ctype in types:
        if ctype not in wanted:
            continue
        if callback is None:
            raise make_error(c.VIR_ERR_INVALID_ARG, "Missing authentication callback", c.VIR_FROM_AUTH)
        cred: list[Any] = [ctype, prompt, "localhost", None, None]
        if callback([cred], opaque) < 0:
            raise make_error(c.VIR_ERR_AUTH_FAILED, failed, c.VIR_FROM_AUTH)
        if cred[4] is None:
            # libvirt reports nothing for an empty answer, hence its generic message
            raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                             message="An error occurred, but the cause is unknown")
        return str(cred[4])
    raise make_error(c.VIR_ERR_AUTH_FAILED, missing, c.VIR_FROM_AUTH)


def _authenticate_creds(users: list[tuple[str, str | None]], auth: Any) -> None:
    username = _ask(auth, (c.VIR_CRED_AUTHNAME,), "Enter username for localhost",
                    "Missing VIR_CRED_AUTHNAME credential type", "Username request failed")
    known = [pw for name, pw in users if name == username]
    password = None
    # an unknown user is still asked for a password, like libvirt
    if not known or known[0] is not None:
        password = _ask(auth, (c.VIR_CRED_PASSPHRASE, c.VIR_CRED_NOECHOPROMPT),
                        f"Enter {username}'s password for localhost",
                        "Missing VIR_CRED_PASSPHRASE or VIR_CRED_NOECHOPROMPT credential type",
                        "Password request failed")
    _check_user(users, username, password)


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
