"""Helpers shared by the test driver's modules: lookups, errors, flag impact, events."""

from __future__ import annotations

from typing import Any, Iterable

from ... import constants as c
from ...errors import LibvirtError, make_error
from ..base import DomainRef, Driver
from .state import DomObj, TestState
from .xmldefs import DomainDef, uuid_str

__all__ = ["TestBase", "err", "conf_err", "api_arg_error", "exclusive", "flags_ok", "Event"]

# (family, event id, key, ref, args)
Event = tuple[str, int, object, object, tuple[Any, ...]]


def err(code: int, detail: str | None = None, message: str | None = None,
        domain: int = c.VIR_FROM_TEST) -> LibvirtError:
    """A libvirt error reported by the test driver (VIR_FROM_TEST unless *domain* says otherwise)."""
    return make_error(code, detail, domain, message=message)


def conf_err(code: int, detail: str | None = None) -> LibvirtError:
    """An error libvirt reports from its shared domain object code (VIR_FROM_DOMAIN)."""
    return make_error(code, detail, c.VIR_FROM_DOMAIN)


def flags_ok(flags: int, allowed: int, func: str) -> None:
    """libvirt's virCheckFlags: the message carries no "invalid argument: " prefix."""
    bad = flags & ~allowed
    if bad:
        raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_TEST,
                         message=f"unsupported flags (0x{bad:x}) in function {func}")


def api_arg_error(text: str) -> LibvirtError:
    """An argument check of libvirt's public API (libvirt-domain.c reports them as VIR_FROM_DOMAIN).

    The driver repeats these checks so that callers going straight to it get libvirt's answers.
    """
    return make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_DOMAIN, message=text)


def exclusive(flags: int, f1: int, n1: str, f2: int, n2: str) -> None:
    if flags & f1 and flags & f2:
        raise api_arg_error(f"Flags '{n1}' and '{n2}' are mutually exclusive")


class TestBase(Driver):
    """State access and event plumbing for the test driver's mixins."""

    type_name = "TEST"
    st: TestState

    def __init__(self, uri: str, read_only: bool, state: TestState, shared: bool) -> None:
        super().__init__(uri, read_only)
        self.st = state
        self._lock = state.lock
        self._shared = shared
        self._my_callbacks: dict[int, str] = {}
        self._old_style: dict[Any, int] = {}
        self._closed = False

    # -- lookups ---------------------------------------------------------
    def _dom(self, ref: DomainRef) -> DomObj:
        d = self.st.dom_uuid.get(ref.uuid)
        if d is None:
            raise err(c.VIR_ERR_NO_DOMAIN, f"no domain with matching uuid '{uuid_str(ref.uuid)}' ({ref.name})")
        return d

    @staticmethod
    def _check_active(d: DomObj) -> None:
        if d.id == -1:
            raise conf_err(c.VIR_ERR_OPERATION_INVALID, "domain is not running")

    def _one_def(self, d: DomObj, flags: int) -> tuple[DomainDef, bool]:
        """libvirt's virDomainObjGetOneDefState: the definition *flags* select, and whether it is live."""
        live_f, conf_f = c.VIR_DOMAIN_AFFECT_LIVE, c.VIR_DOMAIN_AFFECT_CONFIG
        if flags & live_f and flags & conf_f:
            raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_DOMAIN,
                             message="Flags 'VIR_DOMAIN_AFFECT_LIVE' and 'VIR_DOMAIN_AFFECT_CONFIG' are "
                                     "mutually exclusive")
        flags = self._impact(d, flags)
        d.info_cache = None
        live = bool(flags & live_f)
        if d.active() and flags & conf_f:
            return d.persistent_def(), False
        return d.def_, live

    @staticmethod
    def _impact(d: DomObj, flags: int) -> int:
        live_f, conf_f = c.VIR_DOMAIN_AFFECT_LIVE, c.VIR_DOMAIN_AFFECT_CONFIG
        if not flags & (live_f | conf_f):
            flags |= live_f if d.active() else conf_f
        if not d.active() and flags & live_f:
            raise conf_err(c.VIR_ERR_OPERATION_INVALID, "domain is not running")
        if not d.persistent and flags & conf_f:
            raise conf_err(c.VIR_ERR_OPERATION_INVALID, "transient domains do not have any persistent config")
        return flags

    def _defs(self, d: DomObj, flags: int) -> tuple[DomainDef | None, DomainDef | None]:
        """libvirt's virDomainObjGetDefs: (live def or None, persistent def or None)."""
        flags = self._impact(d, flags)
        d.info_cache = None
        live = d.def_ if flags & c.VIR_DOMAIN_AFFECT_LIVE else None
        conf = None
        if flags & c.VIR_DOMAIN_AFFECT_CONFIG:
            conf = d.persistent_def()
        return live, conf

    # -- events ----------------------------------------------------------
    @staticmethod
    def _lifecycle(d: DomObj, event: int, detail: int) -> Event:
        ref = d.ref()
        return ("domain", c.VIR_DOMAIN_EVENT_ID_LIFECYCLE, ref.uuid, ref, (event, detail))

    def _fire(self, events: Iterable[Event | None]) -> None:
        for ev in events:
            if ev is not None:
                family, event_id, key, ref, args = ev
                self.st.bus.emit(family, event_id, key, ref, *args)

    def _register(self, family: str, key: object | None, event_id: int, callback: Any) -> int:
        cid = self.st.bus.subscribe(family, event_id, key, callback)
        self._my_callbacks[cid] = family
        return cid

    def _deregister(self, family: str, callback_id: int) -> None:
        if self._my_callbacks.get(callback_id) != family or not self.st.bus.unsubscribe(callback_id):
            raise err(c.VIR_ERR_INVALID_ARG, f"could not find event callback {callback_id} for deletion")
        del self._my_callbacks[callback_id]
