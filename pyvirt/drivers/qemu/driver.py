"""The QEMU driver's connection: one per ``virConnect``, on a shared :class:`~.state.QemuState`.

The state (directory layout, domains, re-attach, autostart) is :mod:`.state`;
this module holds the driver-table entries for the domain lifecycle. The other
areas are mixins (save, hotplug, live, snapshot, stats, console, caps).
"""

from __future__ import annotations

import os
import socket
import uuid as uuidlib
from pathlib import Path
from typing import Any

from ... import constants as c
from ...conf.domain import DomainDef
from ...errors import LibvirtError, check_flags, make_error
from .errors import qemu_error as _err
from ..base import DomainRef, Driver
from .command import build_command, prepare_live
from .domain import DEFAULT_EMULATOR, apply_defaults
from .kvm import kvm_usable
from .process import QemuVM, atomic_write
from .caps import CapsMixin
from .console import ConsoleMixin
from .hotplug import HotplugMixin
from .live import LiveMixin
from .save import SaveMixin
from .snapshot import SnapshotMixin
from .state import _STATES, Dom, QemuState, StatusVM, acquire_state, foreign_status, release_state
from .stats import StatsMixin, apply_stats_period
from .tap import create_taps
from .validate import validate

__all__ = ["QemuDriver", "QemuState", "Dom", "acquire_state", "release_state", "open_embed", "_STATES"]


class QemuDriver(SaveMixin, HotplugMixin, LiveMixin, SnapshotMixin, StatsMixin, ConsoleMixin, CapsMixin,
                 Driver):
    """One connection to a QEMU driver state (embed, system or session)."""

    type_name = "QEMU"

    def __init__(self, uri: str, read_only: bool, state: QemuState, counted: bool = True) -> None:
        super().__init__(uri, read_only)
        self.st = state
        self._callbacks: set[int] = set()
        self._old_style: dict[Any, int] = {}
        self._closed = not counted  # an uncounted (internal) connection has no state reference to drop
        self._autodestroy: dict[bytes, QemuVM] = {}  # guests started with VIR_DOMAIN_START_AUTODESTROY

    # --- connection --------------------------------------------------------
    def connect_close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for cid in self._callbacks:
            self.st.bus.unsubscribe(cid)
        for vm in self._autodestroy.values():  # libvirt's autodestroy: they die with this connection
            if vm.alive():
                try:
                    vm.destroy()
                except LibvirtError:
                    pass
        self._autodestroy.clear()
        release_state(self.st)

    def connect_get_type(self) -> str:
        return "QEMU"

    def connect_get_uri(self) -> str:
        return self.st.layout.uri

    def connect_is_secure(self) -> int:
        return 1

    def connect_is_encrypted(self) -> int:
        return 0

    def _managed_path(self, name: str) -> Path:
        return self.st.layout.save_dir / f"{name}.save"

    def connect_get_version(self) -> int:
        """The default emulator's version (from the cached capability probe; 0 if it cannot run)."""
        try:
            return self._caps().version
        except LibvirtError:
            return 0

    def connect_get_hostname(self) -> str:
        return socket.gethostname()

    # --- lookups and lists -------------------------------------------------
    def _dom(self, ref: DomainRef) -> Dom:
        for dom in self.st.doms.values():
            if dom.uuid == bytes(ref.uuid):
                return dom
        raise _err(c.VIR_ERR_NO_DOMAIN,
                   f"no domain with matching uuid '{uuidlib.UUID(bytes=bytes(ref.uuid))}' ({ref.name})")

    def domain_lookup_by_name(self, name: str) -> DomainRef:
        with self.st.lock:
            dom = self.st.doms.get(name)
            if dom is None:
                raise _err(c.VIR_ERR_NO_DOMAIN, f"no domain with matching name '{name}'")
            return dom.ref()

    def domain_lookup_by_uuid(self, uuid: bytes) -> DomainRef:
        with self.st.lock:
            for dom in self.st.doms.values():
                if dom.uuid == bytes(uuid):
                    return dom.ref()
        raise _err(c.VIR_ERR_NO_DOMAIN, f"no domain with matching uuid '{uuidlib.UUID(bytes=bytes(uuid))}'")

    def domain_lookup_by_id(self, id: int) -> DomainRef:  # noqa: A002
        with self.st.lock:
            for dom in self.st.doms.values():
                if dom.id == id and dom.active():
                    return dom.ref()
        raise _err(c.VIR_ERR_NO_DOMAIN, f"no domain with matching id {id}")

    def connect_list_all_domains(self, flags: int = 0) -> list[DomainRef]:
        with self.st.lock:
            return [d.ref() for d in self.st.doms.values()
                    if _matches(d, flags, lambda d: self._managed_path(d.name).exists(), self._snapshot_count)]

    def connect_num_of_domains(self) -> int:
        with self.st.lock:
            return sum(1 for d in self.st.doms.values() if d.active())

    def connect_list_domains(self, maxids: int = -1) -> list[int]:
        with self.st.lock:
            ids = sorted(d.id for d in self.st.doms.values() if d.active())
        return ids if maxids < 0 else ids[:maxids]

    def connect_num_of_defined_domains(self) -> int:
        with self.st.lock:
            return sum(1 for d in self.st.doms.values() if not d.active())

    def connect_list_defined_domains(self, maxnames: int = -1) -> list[str]:
        with self.st.lock:
            names = sorted(d.name for d in self.st.doms.values() if not d.active())
        return names if maxnames < 0 else names[:maxnames]

    # --- define / undefine ---------------------------------------------------
    def _parse(self, xml: str) -> DomainDef:
        defn = DomainDef.parse(xml, default_arch="x86_64")
        apply_defaults(defn)
        validate(defn)
        return defn

    def _check_clash(self, defn: DomainDef) -> Dom | None:
        same_name = self.st.doms.get(defn.name)
        for dom in self.st.doms.values():
            if dom.uuid == defn.uuid_bytes and dom.name != defn.name:
                raise make_error(c.VIR_ERR_OPERATION_FAILED,
                                 f"domain '{dom.name}' is already defined with uuid {defn.uuid}",
                                 c.VIR_FROM_DOMAIN)
        if same_name is not None and same_name.uuid != defn.uuid_bytes:
            raise make_error(c.VIR_ERR_OPERATION_FAILED,
                             f"domain '{defn.name}' already exists with uuid {same_name.definition.uuid}",
                             c.VIR_FROM_DOMAIN)
        return same_name

    def domain_define_xml_flags(self, xml: str, flags: int = 0) -> DomainRef:
        self.check_writable()
        check_flags(flags, c.VIR_DOMAIN_DEFINE_VALIDATE, "qemuDomainDefineXMLFlags", c.VIR_FROM_QEMU)
        defn = self._parse(xml)
        with self.st.lock:
            existing = self._check_clash(defn)
            atomic_write(self.st.config_file(defn.name), defn.to_xml(inactive=True))
            if existing is None:
                existing = Dom(defn)
                self.st.doms[defn.name] = existing
                detail = c.VIR_DOMAIN_EVENT_DEFINED_ADDED
            else:
                detail = c.VIR_DOMAIN_EVENT_DEFINED_UPDATED
                existing.config = defn
            ref = existing.ref()
        self.st.emit(ref, c.VIR_DOMAIN_EVENT_DEFINED, detail)
        return ref

    def domain_define_xml(self, xml: str) -> DomainRef:
        return self.domain_define_xml_flags(xml, 0)

    _UNDEFINE_FLAGS = (c.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | c.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                       | c.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | c.VIR_DOMAIN_UNDEFINE_NVRAM
                       | c.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM | c.VIR_DOMAIN_UNDEFINE_TPM
                       | c.VIR_DOMAIN_UNDEFINE_KEEP_TPM)

    def domain_undefine_flags(self, dom: DomainRef, flags: int = 0) -> None:
        """qemuDomainUndefineFlags: config, autostart link, managed save, snapshot metadata."""
        self.check_writable()
        check_flags(flags, self._UNDEFINE_FLAGS, "qemuDomainUndefineFlags", c.VIR_FROM_QEMU)
        if flags & c.VIR_DOMAIN_UNDEFINE_NVRAM and flags & c.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM:
            raise _err(c.VIR_ERR_OPERATION_INVALID, "cannot both keep and delete nvram")
        if flags & c.VIR_DOMAIN_UNDEFINE_TPM and flags & c.VIR_DOMAIN_UNDEFINE_KEEP_TPM:
            raise _err(c.VIR_ERR_OPERATION_INVALID, "cannot both keep and delete TPM")
        with self.st.lock:
            d = self._dom(dom)
            if d.config is None:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "cannot undefine transient domain")
            if not d.active():
                # Hook for snapshot.py: ``_snapshot_count(d)`` and ``_snapshot_discard_all_metadata(d)``.
                nsnap = self._undefine_hook("_snapshot_count", d) or 0
                if nsnap:
                    if not flags & c.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA:
                        raise _err(c.VIR_ERR_OPERATION_INVALID,
                                   f"cannot delete inactive domain with {nsnap} snapshots")
                    self._undefine_hook("_snapshot_discard_all_metadata", d)
                nchk = self._undefine_hook("_checkpoint_count", d) or 0
                if nchk:
                    if not flags & c.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA:
                        raise _err(c.VIR_ERR_OPERATION_INVALID,
                                   f"cannot delete inactive domain with {nchk} checkpoints")
                    self._undefine_hook("_checkpoint_discard_all_metadata", d)
            managed = self._managed_path(d.name)
            if managed.exists():
                if not flags & c.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE:
                    raise _err(c.VIR_ERR_OPERATION_INVALID,
                               "Refusing to undefine while domain managed save image exists")
                try:
                    managed.unlink()
                except OSError:
                    raise _err(c.VIR_ERR_INTERNAL_ERROR, "Failed to remove domain managed save image") from None
            # No <loader>/<nvram> passes validation, so there is never an NVRAM file to keep or delete.
            try:
                self.st.autostart_link(d.name).unlink()  # not fatal if this does not work (libvirt)
            except OSError:
                pass
            d.autostart = False
            try:
                self.st.config_file(d.name).unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_QEMU,
                                 message=f"cannot remove config {self.st.config_file(d.name)}: "
                                         f"{exc.strerror}") from exc
            ref = d.ref()
            d.config = None
            if not d.active():
                self.st.doms.pop(ref.name, None)
        self.st.emit(ref, c.VIR_DOMAIN_EVENT_UNDEFINED, c.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED)

    def _undefine_hook(self, name: str, d: Dom) -> Any:
        fn = getattr(type(self), name, None)
        return fn(self, d) if fn is not None else None

    def domain_undefine(self, dom: DomainRef) -> None:
        self.domain_undefine_flags(dom, 0)

    # --- start / stop -----------------------------------------------------------
    def _start(self, d: Dom, defn: DomainDef, flags: int, restore_fd: int | None = None) -> None:
        if d.active():
            raise _err(c.VIR_ERR_OPERATION_INVALID, "domain is already running")
        accel = "tcg"
        if defn.type == "kvm":
            if not kvm_usable(defn.emulator or DEFAULT_EMULATOR):
                raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                           "Domain requires KVM, but it is not available. Check that virtualization "
                           "is enabled in the host BIOS, and host configuration is setup to load "
                           "the kvm modules.")
            accel = "kvm"
        if d.foreign and not foreign_status(self.st.paths(defn.name).status):
            d.foreign = False  # that daemon's guest is gone
        if d.foreign:
            raise _err(c.VIR_ERR_OPERATION_INVALID,
                       f"domain '{defn.name}' has a status file in {self.st.layout.state_dir} written by "
                       "another daemon (libvirtd?); stop it there first")
        live = prepare_live(defn, vnc_port=_free_vnc_port)
        paths = self.st.paths(defn.name)
        taps = create_taps(live)
        try:
            cmd = build_command(live, monitor_path=str(paths.monitor), accel=accel,
                                tap_fds={i: t.fd for i, t in taps.items()})
            if restore_fd is not None:
                cmd.argv += ["-incoming", "defer"]
                cmd.pass_fds = sorted({*cmd.pass_fds, restore_fd})
            vm = StatusVM(live, paths)
            events: list[tuple[int, int]] = []
            vm.on_lifecycle = lambda ev, detail: events.append((ev, detail))
            vm.start(cmd, paused=bool(flags & c.VIR_DOMAIN_START_PAUSED), incoming_fd=restore_fd)
            apply_stats_period(vm)
        finally:
            for tap in taps.values():
                tap.close()  # QEMU holds its own copy; the tap lives as long as QEMU
        self.st.bind(d, vm)
        ref = d.ref()
        for ev, detail in events:
            self.st.emit(ref, ev, detail)

    def domain_create_with_flags(self, dom: DomainRef, flags: int = 0) -> DomainRef:
        self.check_writable()
        check_flags(flags, c.VIR_DOMAIN_START_PAUSED | c.VIR_DOMAIN_START_AUTODESTROY
                    | c.VIR_DOMAIN_START_BYPASS_CACHE | c.VIR_DOMAIN_START_FORCE_BOOT
                    | c.VIR_DOMAIN_START_RESET_NVRAM, "qemuDomainCreateWithFlags", c.VIR_FROM_QEMU)
        with self.st.lock:
            d = self._dom(dom)
            self.start_domain(d, flags)
            self._note_autodestroy(d, flags)
            return d.ref()

    def _note_autodestroy(self, d: Dom, flags: int) -> None:
        if flags & c.VIR_DOMAIN_START_AUTODESTROY and d.vm is not None:
            self._autodestroy[d.uuid] = d.vm

    def start_domain(self, d: Dom, flags: int) -> None:
        """Start a defined domain (from its managed save image if it has one); lock held."""
        if d.active():
            raise _err(c.VIR_ERR_OPERATION_INVALID, "domain is already running")
        assert d.config is not None  # an inactive domain is persistent
        if not self._start_managed(d, flags):
            self._start(d, d.config, flags)

    def domain_create(self, dom: DomainRef) -> DomainRef:
        return self.domain_create_with_flags(dom, 0)

    def domain_create_xml(self, xml: str, flags: int = 0) -> DomainRef:
        self.check_writable()
        check_flags(flags, c.VIR_DOMAIN_START_PAUSED | c.VIR_DOMAIN_START_AUTODESTROY
                    | c.VIR_DOMAIN_START_VALIDATE | c.VIR_DOMAIN_START_RESET_NVRAM,
                    "qemuDomainCreateXML", c.VIR_FROM_QEMU)
        defn = self._parse(xml)
        with self.st.lock:
            existing = self._check_clash(defn)
            if existing is not None and existing.active():
                raise make_error(c.VIR_ERR_OPERATION_INVALID, f"domain '{defn.name}' is already active",
                                 c.VIR_FROM_DOMAIN)
            d = existing or Dom(None)
            self.st.doms[defn.name] = d
            try:
                self._start(d, defn, flags)
            except BaseException:
                if existing is None:
                    self.st.doms.pop(defn.name, None)
                raise
            self._note_autodestroy(d, flags)
            return d.ref()

    def _running(self, dom: DomainRef) -> tuple[Dom, QemuVM]:
        d = self._dom(dom)
        if d.vm is None:
            raise _err(c.VIR_ERR_OPERATION_INVALID, "domain is not running")
        return d, d.vm

    def domain_destroy_flags(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        with self.st.lock:
            _d, vm = self._running(dom)
        vm.destroy(graceful=bool(flags & c.VIR_DOMAIN_DESTROY_GRACEFUL))

    def domain_destroy(self, dom: DomainRef) -> None:
        self.domain_destroy_flags(dom, 0)

    def domain_shutdown_flags(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        with self.st.lock:
            _d, vm = self._running(dom)
        vm.shutdown()

    def domain_shutdown(self, dom: DomainRef) -> None:
        self.domain_shutdown_flags(dom, 0)

    def domain_reboot(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        if flags & ~c.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN:
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, "only the ACPI power button reboot is supported")
        with self.st.lock:
            _d, vm = self._running(dom)
        vm.reboot()

    def domain_reset(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        with self.st.lock:
            _d, vm = self._running(dom)
        vm.execute("system_reset")

    def domain_suspend(self, dom: DomainRef) -> None:
        self.check_writable()
        with self.st.lock:
            d, vm = self._running(dom)
        vm.suspend()
        d.state, d.reason = vm.state, vm.reason

    def domain_resume(self, dom: DomainRef) -> None:
        self.check_writable()
        with self.st.lock:
            d, vm = self._running(dom)
        vm.resume()
        d.state, d.reason = vm.state, vm.reason

    # --- state and info -----------------------------------------------------------
    def domain_get_state(self, dom: DomainRef, flags: int = 0) -> tuple[int, int]:
        with self.st.lock:
            d = self._dom(dom)
            if d.vm is not None:
                return d.vm.state, d.vm.reason
            return d.state, d.reason

    def domain_get_info(self, dom: DomainRef) -> tuple[int, int, int, int, int]:
        with self.st.lock:
            d = self._dom(dom)
            defn, vm = d.definition, d.vm
            state = vm.state if vm is not None else d.state
        if vm is None:
            return (state, defn.memory, defn.current_memory, defn.vcpus, 0)
        mem = defn.current_memory
        if defn.devices_elem.find("memballoon[@model='virtio']") is not None:
            try:
                mem = vm.balloon_kib()
            except LibvirtError:
                pass
        return (state, defn.memory, mem, defn.vcpus, vm.cpu_time_ns())

    def domain_is_active(self, dom: DomainRef) -> int:
        with self.st.lock:
            return int(self._dom(dom).active())

    def domain_is_persistent(self, dom: DomainRef) -> int:
        with self.st.lock:
            return int(self._dom(dom).config is not None)

    def domain_is_updated(self, dom: DomainRef) -> int:
        return 0

    def domain_get_autostart(self, dom: DomainRef) -> int:
        with self.st.lock:
            return int(self._dom(dom).autostart)

    def domain_set_autostart(self, dom: DomainRef, autostart: int) -> None:
        """qemuDomainSetAutostart: a symlink autostart/NAME.xml -> the config file."""
        self.check_writable()
        with self.st.lock:
            d = self._dom(dom)
            if d.config is None:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "cannot set autostart for transient domain")
            want = bool(autostart)
            if d.autostart == want:
                return
            link, target = self.st.autostart_link(d.name), self.st.config_file(d.name)
            if want:
                try:
                    link.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_QEMU,
                                     message=f"cannot create autostart directory {link.parent}: "
                                             f"{exc.strerror}") from exc
                try:
                    os.symlink(target, link)
                except OSError as exc:
                    raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_QEMU,
                                     message=f"Failed to create symlink '{link} to '{target}': "
                                             f"{exc.strerror}") from exc
            else:
                try:
                    link.unlink()
                except (FileNotFoundError, NotADirectoryError):
                    pass
                except OSError as exc:
                    raise make_error(c.VIR_ERR_SYSTEM_ERROR, None, c.VIR_FROM_QEMU,
                                     message=f"Failed to delete symlink '{link}': {exc.strerror}") from exc
            d.autostart = want

    def domain_get_os_type(self, dom: DomainRef) -> str:
        with self.st.lock:
            return self._dom(dom).definition.os_type or "hvm"

    def domain_get_xml_desc(self, dom: DomainRef, flags: int = 0) -> str:
        with self.st.lock:
            d = self._dom(dom)
            inactive = bool(flags & c.VIR_DOMAIN_XML_INACTIVE)
            if d.vm is not None and not (inactive and d.config is not None):
                return d.vm.live.to_xml(id=d.id, secure=bool(flags & c.VIR_DOMAIN_XML_SECURE))
            defn = d.config if d.config is not None else d.definition
            return defn.to_xml(inactive=True, secure=bool(flags & c.VIR_DOMAIN_XML_SECURE))

    def domain_get_max_memory(self, dom: DomainRef) -> int:
        with self.st.lock:
            return self._dom(dom).definition.memory

    def domain_get_vcpus_flags(self, dom: DomainRef, flags: int = 0) -> int:
        with self.st.lock:
            d = self._dom(dom)
            defn = d.config if flags & c.VIR_DOMAIN_AFFECT_CONFIG and d.config is not None else d.definition
            return defn.max_vcpus if flags & c.VIR_DOMAIN_VCPU_MAXIMUM else defn.vcpus

    def domain_get_max_vcpus(self, dom: DomainRef) -> int:
        return self.domain_get_vcpus_flags(dom, c.VIR_DOMAIN_VCPU_MAXIMUM)

    def domain_get_control_info(self, dom: DomainRef, flags: int = 0) -> tuple[int, int, int]:
        with self.st.lock:
            self._running(dom)
        return (c.VIR_DOMAIN_CONTROL_OK, 0, 0)

    # --- events ---------------------------------------------------------------------
    def connect_domain_event_register_any(self, dom: DomainRef | None, event_id: int, callback: Any) -> int:
        if event_id < 0 or event_id > c.VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE:
            raise _err(c.VIR_ERR_INVALID_ARG, f"unsupported event ID {event_id}")
        cid = self.st.bus.subscribe("domain", event_id, dom.uuid if dom is not None else None, callback)
        self._callbacks.add(cid)
        return cid

    def connect_domain_event_deregister_any(self, callback_id: int) -> None:
        if callback_id not in self._callbacks:
            raise _err(c.VIR_ERR_INVALID_ARG, f"could not find event callback {callback_id} for deletion")
        self._callbacks.discard(callback_id)
        self.st.bus.unsubscribe(callback_id)

    def connect_domain_event_register(self, callback: Any) -> None:
        self._old_style[callback] = self.connect_domain_event_register_any(
            None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE, callback)

    def connect_domain_event_deregister(self, callback: Any) -> None:
        cid = self._old_style.pop(callback, None)
        if cid is None:
            raise _err(c.VIR_ERR_INVALID_ARG, "event callback function not registered")
        self.connect_domain_event_deregister_any(cid)


def _matches(d: Dom, flags: int, managed: Any = None, snapshots: Any = None) -> bool:
    """Whether *d* passes libvirt's list filters in *flags*; *managed(d)*: has a managed save image,
    *snapshots(d)*: its number of snapshots."""
    if not flags:
        return True
    active = d.active()
    state = d.vm.state if d.vm is not None else c.VIR_DOMAIN_SHUTOFF
    groups = [
        (c.VIR_CONNECT_LIST_DOMAINS_ACTIVE | c.VIR_CONNECT_LIST_DOMAINS_INACTIVE,
         (c.VIR_CONNECT_LIST_DOMAINS_ACTIVE if active else c.VIR_CONNECT_LIST_DOMAINS_INACTIVE)),
        (c.VIR_CONNECT_LIST_DOMAINS_PERSISTENT | c.VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
         (c.VIR_CONNECT_LIST_DOMAINS_PERSISTENT if d.config is not None
          else c.VIR_CONNECT_LIST_DOMAINS_TRANSIENT)),
        (c.VIR_CONNECT_LIST_DOMAINS_RUNNING | c.VIR_CONNECT_LIST_DOMAINS_PAUSED
         | c.VIR_CONNECT_LIST_DOMAINS_SHUTOFF | c.VIR_CONNECT_LIST_DOMAINS_OTHER,
         {c.VIR_DOMAIN_RUNNING: c.VIR_CONNECT_LIST_DOMAINS_RUNNING,
          c.VIR_DOMAIN_PAUSED: c.VIR_CONNECT_LIST_DOMAINS_PAUSED,
          c.VIR_DOMAIN_SHUTOFF: c.VIR_CONNECT_LIST_DOMAINS_SHUTOFF}.get(
             state, c.VIR_CONNECT_LIST_DOMAINS_OTHER)),
    ]
    if flags & (c.VIR_CONNECT_LIST_DOMAINS_AUTOSTART | c.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART):
        groups.append((c.VIR_CONNECT_LIST_DOMAINS_AUTOSTART | c.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART,
                       c.VIR_CONNECT_LIST_DOMAINS_AUTOSTART if d.autostart
                       else c.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART))
    if flags & (c.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE | c.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE):
        groups.append((c.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE | c.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE,
                       c.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE if managed is not None and not d.active() and managed(d)
                       else c.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE))
    if flags & (c.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT | c.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT):
        groups.append((c.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT | c.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT,
                       c.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT if snapshots is not None and snapshots(d)
                       else c.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT))
    for mask, bit in groups:
        if flags & mask and not flags & bit:
            return False
    return True


def _free_vnc_port() -> int:
    """The first free TCP port from 5900 on loopback (libvirt's VNC port allocator range)."""
    for port in range(5900, 65536):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise _err(c.VIR_ERR_INTERNAL_ERROR, "Unable to find an unused port in range 'display' (5900-65535)")


def open_embed(root: str) -> QemuDriver:
    """A connection to the driver state rooted at *root* (created if needed)."""
    path = Path(root)
    if not path.is_absolute():
        raise _err(c.VIR_ERR_INVALID_ARG, "root path must be absolute")
    st = acquire_state(path)
    return QemuDriver(st.layout.uri, False, st)

