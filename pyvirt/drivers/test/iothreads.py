"""IOThreads of the test driver: ids kept per definition (with libvirt's autofill rule) and poll data."""

from __future__ import annotations

from typing import Any

from lxml import etree

from ... import constants as c
from ..base import DomainRef
from .common import TestBase, conf_err, err, flags_ok
from .domconfig import _sync, _tun
from .xmldefs import DomainDef

__all__ = ["IOThreadsMixin", "iothread_state", "initial_poll_info"]

_LF = c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG
_POLL = ("poll_max_ns", "poll_grow", "poll_shrink")


def iothread_state(df: DomainDef) -> dict[str, Any]:
    """{"ids": [...], "autofill": {...}, "pins": {id: map}} for *df*, built from its XML on first use.

    Like libvirt, ids given in <iothreadids> come first; missing ones up to <iothreads> are
    filled with the lowest free numbers and marked "autofill" (not printed back on their own).
    """
    st = _tun(df, "iothreads")
    if "ids" not in st:
        root = df.root
        ids = [int(e.get("id")) for e in root.findall("iothreadids/iothread") if e.get("id")]
        count = int((root.findtext("iothreads") or "0").strip() or 0)
        autofill: set[int] = set()
        n = 1
        while len(ids) < count:
            if n not in ids:
                ids.append(n)
                autofill.add(n)
            n += 1
        st.update(ids=ids, autofill=autofill, pins={})
    return st


def write_iothreads(root: Any, st: dict[str, Any]) -> None:
    """Put the IOThread ids (and pins) back into the domain tree *root*."""
    for tag in ("iothreads", "iothreadids"):
        for old in root.findall(tag):
            root.remove(old)
    ids = st["ids"]
    if ids:
        etree.SubElement(root, "iothreads").text = str(len(ids))
        if any(i not in st["autofill"] for i in ids):
            lst = etree.SubElement(root, "iothreadids")
            for i in ids:
                etree.SubElement(lst, "iothread", id=str(i))


def initial_poll_info(df: DomainDef) -> list[list[int]]:
    """The test driver's private poll data for a started domain: one entry per IOThread."""
    return [[i, 32768, 0, 0] for i in iothread_state(df)["ids"]]


class IOThreadsMixin(TestBase):
    """virDomain*IOThread* calls."""

    def domain_get_iothread_info(self, dom: DomainRef, flags: int = 0) -> list[tuple[int, list[bool]]]:
        """[(iothread id, cpumap)] like libvirt-python's ioThreadInfo()."""
        flags_ok(flags, _LF, "testDomainGetIOThreadInfo")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags)
            st = iothread_state(df)
            # libvirt sizes the default map by the vCPU count; python widens it to the 8-CPU node map
            cmap = [j < df.vcpus for j in range(8)]
            return [(i, list((st["pins"].get(i, cmap) + [False] * 8)[:8])) for i in st["ids"]]

    def _chg(self, dom: DomainRef, iothread_id: int, flags: int) -> tuple[Any, DomainDef, dict[str, Any]]:
        d = self._dom(dom)
        df, _ = self._one_def(d, flags)
        return d, df, iothread_state(df)

    def domain_add_iothread(self, dom: DomainRef, iothread_id: int, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainAddIOThread")
        if iothread_id == 0:
            raise err(c.VIR_ERR_INVALID_ARG, "invalid value of 0 for iothread_id")
        with self._lock:
            d, df, st = self._chg(dom, iothread_id, flags)
            if iothread_id in st["ids"]:
                raise conf_err(c.VIR_ERR_INVALID_ARG, f"an IOThread is already using iothread_id '{iothread_id}'")
            st["ids"].append(iothread_id)
            _sync(df)
            # libvirt records poll data whichever definition changed
            d.iothreads.append([iothread_id, 32768, 0, 0])

    def domain_del_iothread(self, dom: DomainRef, iothread_id: int, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainDelIOThread")
        if iothread_id == 0:
            raise err(c.VIR_ERR_INVALID_ARG, "invalid value of 0 for iothread_id")
        with self._lock:
            d, df, st = self._chg(dom, iothread_id, flags)
            if iothread_id not in st["ids"]:
                raise conf_err(c.VIR_ERR_INVALID_ARG, f"cannot find IOThread '{iothread_id}' in iothreadids list")
            pos = st["ids"].index(iothread_id)
            for later in st["ids"][pos + 1:]:
                st["autofill"].discard(later)
            st["ids"].remove(iothread_id)
            st["autofill"].discard(iothread_id)
            st["pins"].pop(iothread_id, None)
            _sync(df)
            for entry in d.iothreads:
                if entry[0] == iothread_id:
                    d.iothreads.remove(entry)
                    break

    def domain_pin_iothread(self, dom: DomainRef, iothread_id: int, cpumap: Any, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainPinIOThread")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags)
            st = iothread_state(df)
            if not any(cpumap):
                raise err(c.VIR_ERR_INVALID_ARG, "Empty iothread cpumap list for pinning")
            if iothread_id not in st["ids"]:
                raise err(c.VIR_ERR_INVALID_ARG, f"iothreadid {iothread_id} not found")
            st["pins"][iothread_id] = [bool(b) for b in cpumap]
            st["autofill"].discard(iothread_id)
            _sync(df)

    def domain_set_iothread_params(self, dom: DomainRef, iothread_id: int, params: dict[str, Any],
                                   flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_AFFECT_LIVE, "testDomainSetIOThreadParams")
        if iothread_id == 0:
            raise err(c.VIR_ERR_INVALID_ARG, "invalid value of 0 for iothread_id")
        for k in params:
            if k not in _POLL:
                raise err(c.VIR_ERR_INVALID_ARG, f"parameter '{k}' not supported")
        with self._lock:
            d, df, st = self._chg(dom, iothread_id, flags)
            if iothread_id not in st["ids"]:
                raise err(c.VIR_ERR_INVALID_ARG, f"cannot find IOThread '{iothread_id}' in iothreadids")
            for entry in d.iothreads:
                if entry[0] == iothread_id:
                    for idx, key in enumerate(_POLL):
                        if key in params:
                            entry[idx + 1] = int(params[key])
                    break
