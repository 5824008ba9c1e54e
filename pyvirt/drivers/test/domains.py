"""Domain lifecycle, lookups and listing for the test driver."""

from __future__ import annotations

import os
import struct
from typing import Any

from ... import constants as c
from ...errors import make_error
from ..base import DomainRef
from .common import Event, TestBase, conf_err, err, flags_ok
from .loader import generate_ifnames, start_domain
from .state import DomObj
from .xmldefs import DomainDef

__all__ = ["DomainsMixin", "SAVE_MAGIC"]

SAVE_MAGIC = b"TestGuestMagic\0"

_E = c  # short alias for event constants


class DomainsMixin(TestBase):
    """virDomain* calls about existence, state and lookups."""

    # -- helpers ---------------------------------------------------------
    def _shutdown_state(self, d: DomObj, reason: int) -> None:
        if d.new_def is not None:
            d.def_ = d.new_def
            d.new_def = None
        d.state, d.reason = c.VIR_DOMAIN_SHUTOFF, reason
        self.st.set_id(d, -1)

    def _remove_if_transient(self, d: DomObj) -> None:
        if not d.persistent:
            self.st.remove_domain(d)

    def _parse_def(self, xml: str, check_name: bool = False) -> DomainDef:
        d = DomainDef.parse(xml)
        if check_name and "\n" in d.name:  # only defineXML checks (virXMLCheckIllegalChars)
            raise make_error(c.VIR_ERR_XML_DETAIL, None, c.VIR_FROM_XML, message="invalid char in name: \n")
        generate_ifnames(d)
        return d

    def _add(self, new: DomainDef, live: bool, check_live: bool) -> tuple[DomObj, DomainDef | None, bool]:
        """libvirt's virDomainObjListAdd: returns (obj, old def, created)."""
        st = self.st
        d = st.dom_uuid.get(new.uuid_bytes)
        if d is not None:
            if d.name != new.name:
                raise conf_err(c.VIR_ERR_OPERATION_FAILED, f"domain '{d.name}' is already defined with uuid {d.def_.uuid}")
            if check_live:
                if d.active():
                    raise conf_err(c.VIR_ERR_OPERATION_INVALID, f"domain '{d.name}' is already active")
                if not d.persistent:
                    raise conf_err(c.VIR_ERR_OPERATION_INVALID, f"domain '{d.name}' is already being started")
            old: DomainDef | None
            if d.active():
                old = d.new_def
                d.new_def = new
            elif live:
                if d.new_def is None:
                    d.new_def = d.def_
                d.def_ = new
                old = None
            else:
                old = d.def_
                d.def_ = new
            return d, old, False
        other = st.domains.get(new.name)
        if other is not None:
            raise conf_err(c.VIR_ERR_OPERATION_FAILED, f"domain '{new.name}' already exists with uuid {other.def_.uuid}")
        d = DomObj(new)
        st.add_domain(d)
        return d, None, True

    # -- connection-level domain calls ------------------------------------
    def connect_num_of_domains(self) -> int:
        with self._lock:
            return len(self.st.dom_id)

    def connect_list_domains(self, maxids: int = -1) -> list[int]:
        with self._lock:
            ids = sorted(self.st.dom_id)
        return ids if maxids < 0 else ids[:maxids]

    def connect_num_of_defined_domains(self) -> int:
        with self._lock:
            return sum(1 for d in self.st.domains.values() if d.id == -1)

    def connect_list_defined_domains(self, maxnames: int = -1) -> list[str]:
        with self._lock:
            names = sorted(d.name for d in self.st.domains.values() if d.id == -1)
        return names if maxnames < 0 else names[:maxnames]

    def connect_list_all_domains(self, flags: int = 0) -> list[DomainRef]:
        flags_ok(flags, 0x3FFF, "testConnectListAllDomains")
        with self._lock:
            # The table is keyed by name, kept in step with every rename (remove, rename, add),
            # so a cached ref is checked against the key instead of re-reading the XML.
            out: list[DomainRef] = []
            append = out.append
            for name, d in self.st.domains.items():
                if flags and not _matches(d, flags):
                    continue
                r = d.ref_cache
                if r is None or r.id != d.id or r.name != name:
                    r = d.ref()
                append(r)
            return out

    def domain_lookup_by_id(self, id: int) -> DomainRef:
        with self._lock:
            d = self.st.dom_id.get(id)
            if d is None:
                raise err(c.VIR_ERR_NO_DOMAIN)
            return d.ref()

    def domain_lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        with self._lock:
            d = self.st.dom_uuid.get(bytes(uuid))
            if d is None:
                raise err(c.VIR_ERR_NO_DOMAIN)
            return d.ref()

    def domain_lookup_by_name(self, name: str) -> DomainRef:
        with self._lock:
            d = self.st.domains.get(name)
            if d is None:
                raise err(c.VIR_ERR_NO_DOMAIN)
            r = d.ref_cache
            if r is None or r.id != d.id or r.name != name:
                r = d.ref()
            return r

    # -- define / undefine -------------------------------------------------
    def domain_define_xml_flags(self, xml: str, flags: int = 0) -> DomainRef:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_DEFINE_VALIDATE, "testDomainDefineXMLFlags")
        new = self._parse_def(xml, check_name=True)
        with self._lock:
            d, old, _ = self._add(new, False, False)
            d.persistent = True
            ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_DEFINED,
                                 c.VIR_DOMAIN_EVENT_DEFINED_UPDATED if old is not None
                                 else c.VIR_DOMAIN_EVENT_DEFINED_ADDED)
            ref = d.ref()
        self._fire([ev])
        return ref

    def domain_define_xml(self, xml: str) -> DomainRef:
        return self.domain_define_xml_flags(xml, 0)

    def domain_undefine_flags(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | c.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
                 "testDomainUndefineFlags")
        with self._lock:
            d = self._dom(dom)
            if d.has_managed_save and not flags & c.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE:
                raise err(c.VIR_ERR_OPERATION_INVALID,
                          "Refusing to undefine while domain managed save image exists")
            if not d.active() and d.snapshots and not flags & c.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA:
                raise err(c.VIR_ERR_OPERATION_INVALID,
                          f"cannot delete inactive domain with {len(d.snapshots)} snapshots")
            ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_UNDEFINED, c.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED)
            d.has_managed_save = False
            if d.active():
                d.persistent = False  # libvirt keeps the (now unused) persistent definition around
            else:
                self.st.remove_domain(d)
        self._fire([ev])

    def domain_undefine(self, dom: DomainRef) -> None:
        self.domain_undefine_flags(dom, 0)

    # -- start -------------------------------------------------------------
    def domain_create_xml(self, xml: str, flags: int = 0) -> DomainRef:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_START_VALIDATE, "testDomainCreateXML")
        new = self._parse_def(xml)
        with self._lock:
            d, _, _ = self._add(new, True, True)
            start_domain(self.st, d, c.VIR_DOMAIN_RUNNING_BOOTED)
            ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_BOOTED)
            ref = d.ref()
        self._fire([ev])
        return ref

    def domain_create_xml_with_files(self, xml: str, files: Any = None, flags: int = 0) -> DomainRef:
        return self.domain_create_xml(xml, flags)

    def domain_create_with_flags(self, dom: DomainRef, flags: int = 0) -> DomainRef:
        self.check_writable()
        flags_ok(flags, 0, "testDomainCreateWithFlags")
        with self._lock:
            d = self._dom(dom)
            if d.state != c.VIR_DOMAIN_SHUTOFF:
                raise err(c.VIR_ERR_INTERNAL_ERROR, f"Domain '{dom.name}' is already running")
            start_domain(self.st, d, c.VIR_DOMAIN_RUNNING_BOOTED)
            ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_BOOTED)
            ref = d.ref()
        self._fire([ev])
        return ref

    def domain_create(self, dom: DomainRef) -> DomainRef:
        return self.domain_create_with_flags(dom, 0)

    def domain_create_with_files(self, dom: DomainRef, files: Any = None, flags: int = 0) -> DomainRef:
        return self.domain_create_with_flags(dom, flags)

    # -- stop ----------------------------------------------------------------
    def domain_destroy_flags(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_DESTROY_GRACEFUL, "testDomainDestroyFlags")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            self._shutdown_state(d, c.VIR_DOMAIN_SHUTOFF_DESTROYED)
            ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
            self._remove_if_transient(d)
        self._fire([ev])

    def domain_destroy(self, dom: DomainRef) -> None:
        self.domain_destroy_flags(dom, 0)

    def _action(self, d: DomObj, action: str) -> None:
        if action in ("restart", "rename-restart"):
            d.state, d.reason = c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_BOOTED
        else:
            d.state, d.reason = c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_SHUTDOWN

    def _after_action(self, d: DomObj) -> Event | None:
        if d.state != c.VIR_DOMAIN_SHUTOFF:
            return None
        self._shutdown_state(d, c.VIR_DOMAIN_SHUTOFF_SHUTDOWN)
        ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)
        self._remove_if_transient(d)
        return ev

    def domain_shutdown_flags(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainShutdownFlags")
        with self._lock:
            d = self._dom(dom)
            if d.state == c.VIR_DOMAIN_SHUTOFF:
                raise err(c.VIR_ERR_INTERNAL_ERROR, f"domain '{dom.name}' not running")
            self._action(d, d.def_.on_poweroff)
            ev = self._after_action(d)
        self._fire([ev])

    def domain_shutdown(self, dom: DomainRef) -> None:
        self.domain_shutdown_flags(dom, 0)

    def domain_reboot(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0x3F, "testDomainReboot")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            self._action(d, d.def_.on_reboot)
            ev = self._after_action(d)
        self._fire([ev])

    def domain_reset(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainReset")
        with self._lock:
            self._check_active(self._dom(dom))

    def domain_suspend(self, dom: DomainRef) -> None:
        self.check_writable()
        with self._lock:
            d = self._dom(dom)
            if d.state in (c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_PAUSED):
                raise err(c.VIR_ERR_INTERNAL_ERROR, f"domain '{dom.name}' not running")
            d.state, d.reason = c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER
            ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)
        self._fire([ev])

    def domain_resume(self, dom: DomainRef) -> None:
        self.check_writable()
        with self._lock:
            d = self._dom(dom)
            if d.state != c.VIR_DOMAIN_PAUSED:
                raise err(c.VIR_ERR_INTERNAL_ERROR, f"domain '{dom.name}' not paused")
            d.state, d.reason = c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_UNPAUSED
            ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)
        self._fire([ev])

    # -- state queries ---------------------------------------------------------
    def domain_get_info(self, dom: DomainRef) -> tuple[int, int, int, int, int]:
        import time
        with self._lock:
            d = self.st.dom_uuid.get(dom.uuid)
            if d is None:
                d = self._dom(dom)
            df = d.def_
            cache = d.info_cache
            if cache is None or cache[0] is not df:
                cache = d.info_cache = (df, (df.memory, df.current_memory, df.vcpus))
            mem, cur, vcpus = cache[1]
            return (d.state, mem, cur, vcpus, time.time_ns())

    def domain_get_state(self, dom: DomainRef, flags: int = 0) -> tuple[int, int]:
        flags_ok(flags, 0, "testDomainGetState")
        with self._lock:
            d = self._dom(dom)
            return d.state, d.reason

    def domain_get_control_info(self, dom: DomainRef, flags: int = 0) -> tuple[int, int, int]:
        flags_ok(flags, 0, "testDomainGetControlInfo")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            s = d.seconds
            if 0 < s < 10000:
                return (c.VIR_DOMAIN_CONTROL_JOB, 0, s)
            if 10000 <= s < 30000:
                return (c.VIR_DOMAIN_CONTROL_OCCUPIED, 0, s - 10000)
            if 30000 <= s < 60000:
                return (c.VIR_DOMAIN_CONTROL_ERROR, s % 4, s - 30000)
            return (c.VIR_DOMAIN_CONTROL_OK, 0, 0)

    def domain_is_active(self, dom: DomainRef) -> int:
        with self._lock:
            return int(self._dom(dom).active())

    def domain_is_persistent(self, dom: DomainRef) -> int:
        with self._lock:
            return int(self._dom(dom).persistent)

    def domain_is_updated(self, dom: DomainRef) -> int:
        return 0

    def domain_get_os_type(self, dom: DomainRef) -> str:
        return "linux"

    def domain_get_xml_desc(self, dom: DomainRef, flags: int = 0) -> str:
        flags_ok(flags, c.VIR_DOMAIN_XML_SECURE | c.VIR_DOMAIN_XML_INACTIVE | c.VIR_DOMAIN_XML_UPDATE_CPU
                 | c.VIR_DOMAIN_XML_MIGRATABLE, "testDomainGetXMLDesc")
        with self._lock:
            d = self._dom(dom)
            inactive = bool(flags & c.VIR_DOMAIN_XML_INACTIVE)
            df = d.new_def if inactive and d.new_def is not None else d.def_
            return df.to_xml(id=d.id if d.active() else None, inactive=inactive or not d.active(),
                             secure=bool(flags & c.VIR_DOMAIN_XML_SECURE),
                             migratable=bool(flags & c.VIR_DOMAIN_XML_MIGRATABLE))

    def domain_get_autostart(self, dom: DomainRef) -> int:
        with self._lock:
            return int(self._dom(dom).autostart)

    def domain_set_autostart(self, dom: DomainRef, autostart: int) -> None:
        self.check_writable()
        with self._lock:
            self._dom(dom).autostart = bool(autostart)

    def domain_rename(self, dom: DomainRef, new_name: str, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainRename")
        with self._lock:
            d = self._dom(dom)
            if d.active():
                raise err(c.VIR_ERR_OPERATION_INVALID, "cannot rename active domain")
            if not d.persistent:
                raise err(c.VIR_ERR_OPERATION_INVALID, "cannot rename a transient domain")
            if d.state != c.VIR_DOMAIN_SHUTOFF:
                raise err(c.VIR_ERR_OPERATION_INVALID, "domain has to be shutoff before renaming")
            if d.name == new_name:
                raise conf_err(c.VIR_ERR_OPERATION_INVALID, "Can't rename domain to itself")
            other = self.st.domains.get(new_name)
            if other is not None:
                raise conf_err(c.VIR_ERR_OPERATION_INVALID, f"domain with name '{new_name}' already exists")
            if "/" in new_name:
                raise err(c.VIR_ERR_XML_ERROR, f"name {new_name} cannot contain '/'")
            ev_old = self._lifecycle(d, c.VIR_DOMAIN_EVENT_UNDEFINED, c.VIR_DOMAIN_EVENT_UNDEFINED_RENAMED)
            self.st.remove_domain(d)
            d.def_.name = new_name
            self.st.add_domain(d)
            ev_new = self._lifecycle(d, c.VIR_DOMAIN_EVENT_DEFINED, c.VIR_DOMAIN_EVENT_DEFINED_RENAMED)
        self._fire([ev_old, ev_new])

    def domain_get_hostname(self, dom: DomainRef, flags: int = 0) -> str:
        flags_ok(flags, 0, "testDomainGetHostname")
        with self._lock:
            self._check_active(self._dom(dom))
        return f"{dom.name}host"

    # -- save / restore ----------------------------------------------------------
    def _write_image(self, path: str, df: DomainDef) -> None:
        xml = df.to_xml(inactive=True, secure=True).encode()
        try:
            fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        except OSError as exc:
            raise err(c.VIR_ERR_SYSTEM_ERROR, None,
                      f"saving domain '{df.name}' to '{path}': open failed: {exc.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(SAVE_MAGIC + struct.pack("=i", len(xml)) + xml)
        except OSError as exc:
            try:
                os.unlink(path)
            except OSError:
                pass
            raise err(c.VIR_ERR_SYSTEM_ERROR, None,
                      f"saving domain '{df.name}' to '{path}': write failed: {exc.strerror}") from None

    def _read_image(self, path: str) -> DomainDef:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise err(c.VIR_ERR_SYSTEM_ERROR, None,
                      f"cannot read domain image '{path}': {exc.strerror}") from None
        if len(data) < len(SAVE_MAGIC):
            raise err(c.VIR_ERR_SYSTEM_ERROR, None, f"incomplete save header in '{path}'")
        if data[:len(SAVE_MAGIC)] != SAVE_MAGIC:
            raise err(c.VIR_ERR_INTERNAL_ERROR, "mismatched header magic")
        rest = data[len(SAVE_MAGIC):]
        if len(rest) < 4:
            raise err(c.VIR_ERR_SYSTEM_ERROR, None, f"failed to read metadata length in '{path}'")
        (length,) = struct.unpack("=i", rest[:4])
        if length < 1 or length > 8192:
            raise err(c.VIR_ERR_INTERNAL_ERROR, "length of metadata out of range")
        if len(rest) - 4 < length:
            raise err(c.VIR_ERR_SYSTEM_ERROR, None, f"incomplete metadata in '{path}'")
        return DomainDef.parse(rest[4:4 + length].decode())

    def domain_save_flags(self, dom: DomainRef, path: str, dxml: str | None = None, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainSaveFlags")
        if dxml:
            raise err(c.VIR_ERR_ARGUMENT_UNSUPPORTED, "xml modification unsupported")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            self._write_image(path, d.def_)
            self._shutdown_state(d, c.VIR_DOMAIN_SHUTOFF_SAVED)
            ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_SAVED)
            self._remove_if_transient(d)
        self._fire([ev])

    def domain_save(self, dom: DomainRef, path: str) -> None:
        self.domain_save_flags(dom, path, None, 0)

    def domain_restore_flags(self, path: str, dxml: str | None = None, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainRestoreFlags")
        if dxml:
            raise err(c.VIR_ERR_ARGUMENT_UNSUPPORTED, "xml modification unsupported")
        with self._lock:
            new = self._read_image(path)
            generate_ifnames(new)
            d, _, _ = self._add(new, True, True)
            start_domain(self.st, d, c.VIR_DOMAIN_RUNNING_RESTORED)
            ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_RESTORED)
        self._fire([ev])

    def domain_restore(self, path: str) -> None:
        self.domain_restore_flags(path, None, 0)

    def domain_save_image_define_xml(self, path: str, dxml: str, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_SAVE_RUNNING | c.VIR_DOMAIN_SAVE_PAUSED, "testDomainSaveImageDefineXML")
        self._read_image(path)
        self._write_image(path, DomainDef.parse(dxml))

    def domain_save_image_get_xml_desc(self, path: str, flags: int = 0) -> str:
        flags_ok(flags, c.VIR_DOMAIN_SAVE_IMAGE_XML_SECURE, "testDomainSaveImageGetXMLDesc")
        return self._read_image(path).to_xml(inactive=True, secure=True)

    def domain_core_dump_with_format(self, dom: DomainRef, to: str, dumpformat: int, flags: int) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_DUMP_CRASH, "testDomainCoreDumpWithFormat")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            try:
                with open(to, "wb") as fh:
                    fh.write(SAVE_MAGIC)
            except OSError as exc:
                raise err(c.VIR_ERR_SYSTEM_ERROR, None,
                          f"domain '{dom.name}' coredump: failed to open {to}: {exc.strerror}") from None
            if dumpformat != c.VIR_DOMAIN_CORE_DUMP_FORMAT_RAW:
                raise err(c.VIR_ERR_OPERATION_UNSUPPORTED, "kdump-compressed format is not supported here")
            ev = None
            if flags & c.VIR_DUMP_CRASH:
                self._shutdown_state(d, c.VIR_DOMAIN_SHUTOFF_CRASHED)
                ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_CRASHED)
                self._remove_if_transient(d)
        self._fire([ev])

    def domain_core_dump(self, dom: DomainRef, to: str, flags: int = 0) -> None:
        self.domain_core_dump_with_format(dom, to, c.VIR_DOMAIN_CORE_DUMP_FORMAT_RAW, flags)

    # -- managed save --------------------------------------------------------------
    def domain_managed_save(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_SAVE_BYPASS_CACHE | c.VIR_DOMAIN_SAVE_RUNNING | c.VIR_DOMAIN_SAVE_PAUSED,
                 "testDomainManagedSave")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            if not d.persistent:
                raise err(c.VIR_ERR_OPERATION_INVALID, "cannot do managed save for transient domain")
            self._shutdown_state(d, c.VIR_DOMAIN_SHUTOFF_SAVED)
            ev = self._lifecycle(d, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_SAVED)
            d.has_managed_save = True
        self._fire([ev])

    def domain_has_managed_save_image(self, dom: DomainRef, flags: int = 0) -> int:
        flags_ok(flags, 0, "testDomainHasManagedSaveImage")
        with self._lock:
            return int(self._dom(dom).has_managed_save)

    def domain_managed_save_remove(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainManagedSaveRemove")
        with self._lock:
            self._dom(dom).has_managed_save = False


def _matches(d: DomObj, flags: int) -> bool:
    """virConnectListAllDomains filter."""
    active = d.id != -1
    if flags & (c.VIR_CONNECT_LIST_DOMAINS_ACTIVE | c.VIR_CONNECT_LIST_DOMAINS_INACTIVE):
        if not ((flags & c.VIR_CONNECT_LIST_DOMAINS_ACTIVE and active)
                or (flags & c.VIR_CONNECT_LIST_DOMAINS_INACTIVE and not active)):
            return False
    if flags & (c.VIR_CONNECT_LIST_DOMAINS_PERSISTENT | c.VIR_CONNECT_LIST_DOMAINS_TRANSIENT):
        if not ((flags & c.VIR_CONNECT_LIST_DOMAINS_PERSISTENT and d.persistent)
                or (flags & c.VIR_CONNECT_LIST_DOMAINS_TRANSIENT and not d.persistent)):
            return False
    state_flags = (c.VIR_CONNECT_LIST_DOMAINS_RUNNING | c.VIR_CONNECT_LIST_DOMAINS_PAUSED
                   | c.VIR_CONNECT_LIST_DOMAINS_SHUTOFF | c.VIR_CONNECT_LIST_DOMAINS_OTHER)
    if flags & state_flags:
        s = d.state
        ok = ((flags & c.VIR_CONNECT_LIST_DOMAINS_RUNNING and s == c.VIR_DOMAIN_RUNNING)
              or (flags & c.VIR_CONNECT_LIST_DOMAINS_PAUSED and s == c.VIR_DOMAIN_PAUSED)
              or (flags & c.VIR_CONNECT_LIST_DOMAINS_SHUTOFF and s == c.VIR_DOMAIN_SHUTOFF)
              or (flags & c.VIR_CONNECT_LIST_DOMAINS_OTHER
                  and s not in (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_SHUTOFF)))
        if not ok:
            return False
    if flags & (c.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE | c.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE):
        if not ((flags & c.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE and d.has_managed_save)
                or (flags & c.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE and not d.has_managed_save)):
            return False
    if flags & (c.VIR_CONNECT_LIST_DOMAINS_AUTOSTART | c.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART):
        if not ((flags & c.VIR_CONNECT_LIST_DOMAINS_AUTOSTART and d.autostart)
                or (flags & c.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART and not d.autostart)):
            return False
    if flags & (c.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT | c.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT):
        if not ((flags & c.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT and d.snapshots)
                or (flags & c.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT and not d.snapshots)):
            return False
    return True
