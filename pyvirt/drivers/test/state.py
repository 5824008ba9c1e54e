"""The test driver's in-memory state: objects and the registry of shared states."""

from __future__ import annotations

import threading
from dataclasses import MISSING, Field, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar, dataclass_transform

from ... import constants as c
from ...events import EventBus
from ..base import DomainRef
from .xmldefs import DomainDef

if TYPE_CHECKING:  # imported on first use at run time (see xmldefs)
    from .xmldefs import InterfaceDef, NetworkDef, NodeDeviceDef, StoragePoolDef, StorageVolDef

__all__ = ["TestState", "DomObj", "SnapObj", "NetObj", "PoolObj", "IfaceObj", "DevObj",
           "acquire_default", "release_default"]


_T = TypeVar("_T")


@dataclass_transform(field_specifiers=(field,), eq_default=False)
def record(cls: type[_T]) -> type[_T]:
    """A light @dataclass for the driver's state objects: only an __init__ (and a repr).

    @dataclass costs ~0.3 ms per class at import (it generates and compiles several
    methods), a visible share of a pyvirsh run; these objects need only the constructor.
    Equality is identity, as befits live state objects.
    """
    params: list[str] = []
    body: list[str] = []
    env: dict[str, Any] = {}
    for name in cls.__dict__.get("__annotations__", {}):
        default = cls.__dict__.get(name, MISSING)
        if isinstance(default, Field):
            env[f"_f_{name}"] = default.default_factory
            params.append(f"{name}=_MISSING")
            body.append(f"    self.{name} = _f_{name}() if {name} is _MISSING else {name}")
            delattr(cls, name)
            continue
        if default is MISSING:
            params.append(name)
        else:
            env[f"_d_{name}"] = default
            params.append(f"{name}=_d_{name}")
        body.append(f"    self.{name} = {name}")
    env["_MISSING"] = MISSING
    src = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["    pass"])
    exec(src, env)  # noqa: S102 - generated from the class's own field names
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    fields = list(cls.__dict__.get("__annotations__", {}))

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"{type(self).__name__}({inner})"

    cls.__repr__ = __repr__  # type: ignore[method-assign]
    return cls


@record
class SnapObj:
    """One snapshot of a domain."""

    name: str
    xml_def: Any
    parent: str | None
    creation_time: int
    state: str  # domain state name at snapshot time ("running", "shutoff", ...)
    dom_xml: str  # the domain definition saved in the snapshot
    memory: str = "no"
    disks: str = ""
    description: str | None = None
    conf: Any = None  # the pyvirt.conf.snapshot definition, when that model made it


@record
class CheckpointObj:
    """One checkpoint of a domain (metadata only)."""

    name: str
    parent: str | None
    creation_time: int
    description: str | None
    disks: list[str]
    dom_xml: str


@record
class DomObj:
    """A domain: definitions, run state and the test driver's private data."""

    def_: DomainDef
    new_def: DomainDef | None = None  # persistent config while running with a live def
    state: int = c.VIR_DOMAIN_SHUTOFF
    reason: int = c.VIR_DOMAIN_SHUTOFF_UNKNOWN
    id: int = -1
    persistent: bool = False
    autostart: bool = False
    has_managed_save: bool = False
    seconds: int = 627319920
    nseconds: int = 0
    iothreads: list[list[int]] = field(default_factory=list)  # [id, poll max ns, grow, shrink]
    snapshots: dict[str, SnapObj] = field(default_factory=dict)
    current_snapshot: str | None = None
    checkpoints: dict[str, "CheckpointObj"] = field(default_factory=dict)
    current_checkpoint: str | None = None
    perf: dict[str, bool] = field(default_factory=dict)
    sched_weight: int = 50
    frozen: set[str] = field(default_factory=set)
    updated: bool = False
    blkio: dict[str, Any] = field(default_factory=dict)
    memparams: dict[str, int] = field(default_factory=dict)
    numa: dict[str, Any] = field(default_factory=dict)
    ifparams: dict[str, dict[str, int]] = field(default_factory=dict)
    iotune: dict[str, dict[str, Any]] = field(default_factory=dict)
    ref_cache: DomainRef | None = None
    taint: int = 0  # bits of virDomainTaintFlags
    deprecations: list[str] = field(default_factory=list)
    # (definition, (max memory, memory, vcpus)): dropped whenever a caller may change a definition
    info_cache: tuple[Any, tuple[int, int, int]] | None = None

    @property
    def name(self) -> str:
        return self.def_.name

    @property
    def uuid(self) -> bytes:
        return self.def_.uuid_bytes

    def active(self) -> bool:
        return self.id != -1

    def ref(self) -> DomainRef:
        r = self.ref_cache
        if r is None or r.id != self.id or r.name != self.def_.name:
            r = self.ref_cache = DomainRef(self.def_.name, self.def_.uuid_bytes, self.id)
        return r

    def persistent_def(self) -> DomainDef:
        """The definition used for the next boot."""
        return self.new_def if self.new_def is not None else self.def_


@record
class NetObj:
    def_: NetworkDef
    new_def: NetworkDef | None = None
    active: bool = False
    persistent: bool = True
    autostart: bool = False


@record
class IfaceObj:
    def_: InterfaceDef
    active: bool = False


@record
class VolObj:
    def_: StorageVolDef


@record
class PoolObj:
    def_: StoragePoolDef
    active: bool = False
    persistent: bool = True
    autostart: bool = False
    capacity: int = 0
    allocation: int = 0
    available: int = 0
    volumes: dict[str, VolObj] = field(default_factory=dict)


@record
class DevObj:
    def_: NodeDeviceDef
    active: bool = True


DEFAULT_NODE_INFO = ("i686", 3 * 1024 * 1024, 16, 1400, 2, 2, 2, 2)


class TestState:
    """Everything one test driver instance knows; guarded by ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.bus = EventBus()
        self.node_info: list[Any] = list(DEFAULT_NODE_INFO)
        self.cells: list[dict[str, Any]] = []
        self._caps_xml: str | None = ""
        # builds caps_xml on first use (the capabilities model is costly to import)
        self.caps_factory: Callable[[], str] | None = None
        self.domains: dict[str, DomObj] = {}  # by name
        self.dom_uuid: dict[bytes, DomObj] = {}
        self.dom_id: dict[int, DomObj] = {}
        self.next_dom_id = 1
        self._networks: dict[str, NetObj] = {}
        self._net_uuid: dict[bytes, NetObj] = {}
        self._ifaces: dict[str, IfaceObj] = {}
        self.iface_backup: dict[str, IfaceObj] | None = None
        self._pools: dict[str, PoolObj] = {}
        self._pool_uuid: dict[bytes, PoolObj] = {}
        self._devs: dict[str, DevObj] = {}
        # loaders of object kinds not built yet (test:///default builds them on first use)
        self._pending: list[Callable[[], None]] = []
        self.auths: list[tuple[str, str | None]] = []
        self.refs = 0
        self.callbacks: dict[int, str] = {}  # callback id -> family (for deregister checks)

    def defer(self, loader: Callable[[], None]) -> None:
        """Run *loader* before networks, interfaces, pools or node devices are first used."""
        self._pending.append(loader)

    def _load_pending(self) -> None:
        with self.lock:  # another thread may be reading the same state
            todo, self._pending = self._pending, []
            for loader in todo:
                loader()

    @property
    def networks(self) -> dict[str, NetObj]:
        if self._pending:
            self._load_pending()
        return self._networks

    @property
    def net_uuid(self) -> dict[bytes, NetObj]:
        if self._pending:
            self._load_pending()
        return self._net_uuid

    @property
    def ifaces(self) -> dict[str, IfaceObj]:
        if self._pending:
            self._load_pending()
        return self._ifaces

    @ifaces.setter
    def ifaces(self, value: dict[str, IfaceObj]) -> None:
        if self._pending:
            self._load_pending()
        self._ifaces = value

    @property
    def pools(self) -> dict[str, PoolObj]:
        if self._pending:
            self._load_pending()
        return self._pools

    @property
    def pool_uuid(self) -> dict[bytes, PoolObj]:
        if self._pending:
            self._load_pending()
        return self._pool_uuid

    @property
    def devs(self) -> dict[str, DevObj]:
        if self._pending:
            self._load_pending()
        return self._devs

    @property
    def caps_xml(self) -> str:
        """The capabilities XML (built on first use)."""
        if self._caps_xml is None:
            assert self.caps_factory is not None
            self._caps_xml = self.caps_factory()
        return self._caps_xml

    @caps_xml.setter
    def caps_xml(self, value: str) -> None:
        self._caps_xml = value

    # domain index maintenance
    def add_domain(self, dom: DomObj) -> None:
        self.domains[dom.name] = dom
        self.dom_uuid[dom.uuid] = dom
        if dom.id != -1:
            self.dom_id[dom.id] = dom

    def remove_domain(self, dom: DomObj) -> None:
        self.domains.pop(dom.name, None)
        self.dom_uuid.pop(dom.uuid, None)
        if dom.id != -1:
            self.dom_id.pop(dom.id, None)

    def set_id(self, dom: DomObj, new_id: int) -> None:
        if dom.id != -1:
            self.dom_id.pop(dom.id, None)
        dom.id = new_id
        if new_id != -1:
            self.dom_id[new_id] = dom

    def alloc_id(self) -> int:
        i = self.next_dom_id
        self.next_dom_id += 1
        return i

    def add_network(self, net: NetObj) -> None:
        self.networks[net.def_.name] = net
        self.net_uuid[net.def_.uuid_bytes] = net

    def remove_network(self, net: NetObj) -> None:
        self.networks.pop(net.def_.name, None)
        self.net_uuid.pop(net.def_.uuid_bytes, None)

    def add_pool(self, pool: PoolObj) -> None:
        self.pools[pool.def_.name] = pool
        self.pool_uuid[pool.def_.uuid_bytes] = pool

    def remove_pool(self, pool: PoolObj) -> None:
        self.pools.pop(pool.def_.name, None)
        self.pool_uuid.pop(pool.def_.uuid_bytes, None)


_default_lock = threading.Lock()
_default_state: TestState | None = None


def acquire_default(build: Any) -> TestState:
    """The shared test:///default state, built by *build()* on first use."""
    global _default_state
    with _default_lock:
        if _default_state is None:
            st = build()
            _default_state = st
        _default_state.refs += 1
        return _default_state


def release_default(state: TestState) -> None:
    """Drop one reference; the shared state dies with the last connection."""
    global _default_state
    with _default_lock:
        state.refs -= 1
        if state.refs <= 0 and state is _default_state:
            _default_state = None
