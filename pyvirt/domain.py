"""Domains (guests): libvirt-python's ``virDomain`` methods in snake_case."""

from __future__ import annotations

import uuid as _uuid
from typing import TYPE_CHECKING, Any, NamedTuple

from . import constants as c
from .handle import Handle
from .drivers.base import DomainRef

if TYPE_CHECKING:
    from .checkpoint import DomainCheckpoint
    from .stream import Stream
    from .snapshot import DomainSnapshot

__all__ = ["Domain", "DomainInfo", "DomainState", "BlockInfo", "ControlInfo"]


class DomainInfo(NamedTuple):
    """virDomainInfo: state, max memory (KiB), memory (KiB), vCPUs, CPU time (ns)."""

    state: int
    max_memory: int
    memory: int
    nr_virt_cpu: int
    cpu_time: int


class DomainState(NamedTuple):
    """A domain state with the reason for it (VIR_DOMAIN_* and VIR_DOMAIN_<STATE>_* numbers)."""

    state: int
    reason: int


class BlockInfo(NamedTuple):
    capacity: int
    allocation: int
    physical: int


class ControlInfo(NamedTuple):
    state: int
    details: int
    state_time: int


class Domain(Handle):
    """A guest known to a connection. Holds a handle; every call asks the driver."""

    __slots__ = ()
    _ref: DomainRef

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._ref.name!r} id={self._ref.id}>"

    def id(self) -> int:  # noqa: A003
        """The domain's id when this handle was obtained or last started; -1 when not running."""
        return self._ref.id

    def uuid(self) -> bytes:
        return self._ref.uuid

    def uuid_string(self) -> str:
        return str(_uuid.UUID(bytes=self._ref.uuid))

    # --- facts and state -----------------------------------------------------
    def info(self) -> DomainInfo:
        return DomainInfo._make(self._conn._driver.domain_get_info(self._ref))

    def state(self, flags: int = 0) -> DomainState:
        return DomainState._make(self._conn._driver.domain_get_state(self._ref, flags))

    def control_info(self, flags: int = 0) -> ControlInfo:
        return ControlInfo._make(self._drv.domain_get_control_info(self._ref, flags))

    def xml_desc(self, flags: int = 0) -> str:
        return self._conn._driver.domain_get_xml_desc(self._ref, flags)

    def os_type(self) -> str:
        return self._drv.domain_get_os_type(self._ref)

    def max_memory(self) -> int:
        return self._drv.domain_get_max_memory(self._ref)

    def max_vcpus(self) -> int:
        return self._drv.domain_get_max_vcpus(self._ref)

    def is_active(self) -> int:
        return self._drv.domain_is_active(self._ref)

    def is_persistent(self) -> int:
        return self._drv.domain_is_persistent(self._ref)

    def is_updated(self) -> int:
        return self._drv.domain_is_updated(self._ref)

    def autostart(self) -> int:
        return self._drv.domain_get_autostart(self._ref)

    def set_autostart(self, autostart: int) -> int:
        self._drv.domain_set_autostart(self._ref, int(bool(autostart)))
        return 0

    def hostname(self, flags: int = 0) -> str:
        return self._drv.domain_get_hostname(self._ref, flags)

    def get_time(self, flags: int = 0) -> dict[str, int]:
        seconds, nseconds = self._drv.domain_get_time(self._ref, flags)
        return {"seconds": seconds, "nseconds": nseconds}

    def set_time(self, time: dict[str, int] | None = None, flags: int = 0) -> int:
        t = time or {}
        self._drv.domain_set_time(self._ref, t.get("seconds", 0), t.get("nseconds", 0), flags)
        return 0

    def security_label(self) -> list[Any]:
        """[label, enforcing] as libvirt-python returns it."""
        label, enforcing = self._drv.domain_get_security_label(self._ref)
        return [label, bool(enforcing)]

    def messages(self, flags: int = 0) -> list[str]:
        return list(self._drv.domain_get_messages(self._ref, flags))

    def metadata(self, type: int, uri: str | None = None, flags: int = 0) -> str:  # noqa: A002
        return self._drv.domain_get_metadata(self._ref, type, uri, flags)

    def set_metadata(self, type: int, metadata: str | None, key: str | None = None,  # noqa: A002
                     uri: str | None = None, flags: int = 0) -> int:
        self._drv.domain_set_metadata(self._ref, type, metadata, key, uri, flags)
        return 0

    # --- lifecycle -----------------------------------------------------------
    def _started(self, ref: object) -> int:
        # Like libvirt, a handle learns the id its domain got when it started.
        self._ref = ref if isinstance(ref, DomainRef) else self._drv.domain_lookup_by_uuid(self._ref.uuid)
        return 0

    def create(self) -> int:
        return self._started(self._drv.domain_create(self._ref))

    def create_with_flags(self, flags: int = 0) -> int:
        return self._started(self._drv.domain_create_with_flags(self._ref, flags))

    def destroy(self) -> int:
        self._drv.domain_destroy(self._ref)
        self._ref = self._ref._replace(id=-1)
        return 0

    def destroy_flags(self, flags: int = 0) -> int:
        self._drv.domain_destroy_flags(self._ref, flags)
        self._ref = self._ref._replace(id=-1)
        return 0

    def _maybe_stopped(self) -> int:
        # A driver may stop the domain at once (test) or later (a guest OS shutting down):
        # the handle's id follows what the driver now says, as libvirt's handles do.
        try:
            self._ref = self._drv.domain_lookup_by_uuid(self._ref.uuid)
        except Exception:
            self._ref = self._ref._replace(id=-1)
        return 0

    def shutdown(self) -> int:
        self._drv.domain_shutdown(self._ref)
        return self._maybe_stopped()

    def shutdown_flags(self, flags: int = 0) -> int:
        self._drv.domain_shutdown_flags(self._ref, flags)
        return self._maybe_stopped()

    def reboot(self, flags: int = 0) -> int:
        self._drv.domain_reboot(self._ref, flags)
        return 0

    def reset(self, flags: int = 0) -> int:
        self._drv.domain_reset(self._ref, flags)
        return 0

    def suspend(self) -> int:
        self._drv.domain_suspend(self._ref)
        return 0

    def resume(self) -> int:
        self._drv.domain_resume(self._ref)
        return 0

    def undefine(self) -> int:
        self._drv.domain_undefine(self._ref)
        return 0

    def undefine_flags(self, flags: int = 0) -> int:
        self._drv.domain_undefine_flags(self._ref, flags)
        return 0

    def rename(self, new_name: str, flags: int = 0) -> int:
        ref = self._drv.domain_rename(self._ref, new_name, flags)
        self._ref = ref if isinstance(ref, DomainRef) else self._ref._replace(name=new_name)
        return 0

    def save(self, to: str) -> int:
        self._drv.domain_save(self._ref, to)
        return self._maybe_stopped()

    def save_flags(self, to: str, dxml: str | None = None, flags: int = 0) -> int:
        self._drv.domain_save_flags(self._ref, to, dxml, flags)
        return self._maybe_stopped()

    def managed_save(self, flags: int = 0) -> int:
        self._drv.domain_managed_save(self._ref, flags)
        return self._maybe_stopped()

    def has_managed_save_image(self, flags: int = 0) -> int:
        return self._drv.domain_has_managed_save_image(self._ref, flags)

    def managed_save_remove(self, flags: int = 0) -> int:
        self._drv.domain_managed_save_remove(self._ref, flags)
        return 0

    def managed_save_get_xml_desc(self, flags: int = 0) -> str:
        return self._drv.domain_managed_save_get_xml_desc(self._ref, flags)

    def managed_save_define_xml(self, dxml: str, flags: int = 0) -> int:
        self._drv.domain_managed_save_define_xml(self._ref, dxml, flags)
        return 0

    def core_dump(self, to: str, flags: int = 0) -> int:
        self._drv.domain_core_dump(self._ref, to, flags)
        return 0

    def core_dump_with_format(self, to: str, dumpformat: int, flags: int = 0) -> int:
        self._drv.domain_core_dump_with_format(self._ref, to, dumpformat, flags)
        return 0

    def inject_nmi(self, flags: int = 0) -> int:
        self._drv.domain_inject_nmi(self._ref, flags)
        return 0

    def send_key(self, codeset: int, holdtime: int, keycodes: list[int], nkeycodes: int | None = None,
                 flags: int = 0) -> int:
        self._drv.domain_send_key(self._ref, codeset, holdtime, list(keycodes), flags)
        return 0

    def send_process_signal(self, pid_value: int, signum: int, flags: int = 0) -> int:
        self._drv.domain_send_process_signal(self._ref, pid_value, signum, flags)
        return 0

    def set_lifecycle_action(self, type: int, action: int, flags: int = 0) -> int:  # noqa: A002
        self._drv.domain_set_lifecycle_action(self._ref, type, action, flags)
        return 0

    # --- memory and vCPUs ----------------------------------------------------
    def set_memory(self, memory: int) -> int:
        self._drv.domain_set_memory(self._ref, memory)
        return 0

    def set_max_memory(self, memory: int) -> int:
        self._drv.domain_set_max_memory(self._ref, memory)
        return 0

    def set_memory_flags(self, memory: int, flags: int = 0) -> int:
        self._drv.domain_set_memory_flags(self._ref, memory, flags)
        return 0

    def set_memory_stats_period(self, period: int, flags: int = 0) -> int:
        self._drv.domain_set_memory_stats_period(self._ref, period, flags)
        return 0

    def memory_stats(self) -> dict[str, int]:
        return self._drv.domain_memory_stats(self._ref, c.VIR_DOMAIN_MEMORY_STAT_NR, 0)

    def memory_parameters(self, flags: int = 0) -> dict[str, Any]:
        return self._drv.domain_get_memory_parameters(self._ref, flags)

    def set_memory_parameters(self, params: dict[str, Any], flags: int = 0) -> int:
        self._drv.domain_set_memory_parameters(self._ref, params, flags)
        return 0

    def numa_parameters(self, flags: int = 0) -> dict[str, Any]:
        return self._drv.domain_get_numa_parameters(self._ref, flags)

    def set_numa_parameters(self, params: dict[str, Any], flags: int = 0) -> int:
        self._drv.domain_set_numa_parameters(self._ref, params, flags)
        return 0

    def set_vcpus(self, nvcpus: int) -> int:
        self._drv.domain_set_vcpus(self._ref, nvcpus)
        return 0

    def set_vcpus_flags(self, nvcpus: int, flags: int = 0) -> int:
        self._drv.domain_set_vcpus_flags(self._ref, nvcpus, flags)
        return 0

    def vcpus_flags(self, flags: int = 0) -> int:
        return self._drv.domain_get_vcpus_flags(self._ref, flags)

    def vcpus(self) -> tuple[list[tuple[int, int, int, int]], list[tuple[bool, ...]]]:
        return self._drv.domain_get_vcpus(self._ref)

    def pin_vcpu(self, vcpu: int, cpumap: tuple[bool, ...]) -> int:
        self._drv.domain_pin_vcpu(self._ref, vcpu, tuple(cpumap))
        return 0

    def pin_vcpu_flags(self, vcpu: int, cpumap: tuple[bool, ...], flags: int = 0) -> int:
        self._drv.domain_pin_vcpu_flags(self._ref, vcpu, tuple(cpumap), flags)
        return 0

    def vcpu_pin_info(self, flags: int = 0) -> list[tuple[bool, ...]]:
        return self._drv.domain_get_vcpu_pin_info(self._ref, flags)

    def emulator_pin_info(self, flags: int = 0) -> tuple[bool, ...]:
        return self._drv.domain_get_emulator_pin_info(self._ref, flags)

    def pin_emulator(self, cpumap: tuple[bool, ...], flags: int = 0) -> int:
        self._drv.domain_pin_emulator(self._ref, tuple(cpumap), flags)
        return 0

    def io_thread_info(self, flags: int = 0) -> list[tuple[int, list[bool]]]:
        return self._drv.domain_get_iothread_info(self._ref, flags)

    def add_io_thread(self, iothread_id: int, flags: int = 0) -> int:
        self._drv.domain_add_iothread(self._ref, iothread_id, flags)
        return 0

    def del_io_thread(self, iothread_id: int, flags: int = 0) -> int:
        self._drv.domain_del_iothread(self._ref, iothread_id, flags)
        return 0

    def pin_io_thread(self, iothread_id: int, cpumap: tuple[bool, ...], flags: int = 0) -> int:
        self._drv.domain_pin_iothread(self._ref, iothread_id, tuple(cpumap), flags)
        return 0

    def set_io_thread_params(self, iothread_id: int, params: dict[str, Any], flags: int = 0) -> int:
        self._drv.domain_set_iothread_params(self._ref, iothread_id, params, flags)
        return 0

    def get_cpu_stats(self, total: bool, flags: int = 0) -> list[dict[str, int]]:
        return self._drv.domain_get_cpu_stats(self._ref, bool(total), flags)

    # --- scheduler, tuning ---------------------------------------------------
    def scheduler_type(self) -> list[Any]:
        return list(self._drv.domain_get_scheduler_type(self._ref))

    def scheduler_parameters(self) -> dict[str, Any]:
        return self._drv.domain_get_scheduler_parameters(self._ref)

    def scheduler_parameters_flags(self, flags: int = 0) -> dict[str, Any]:
        return self._drv.domain_get_scheduler_parameters_flags(self._ref, flags)

    def set_scheduler_parameters(self, params: dict[str, Any]) -> int:
        self._drv.domain_set_scheduler_parameters(self._ref, params)
        return 0

    def set_scheduler_parameters_flags(self, params: dict[str, Any], flags: int = 0) -> int:
        self._drv.domain_set_scheduler_parameters_flags(self._ref, params, flags)
        return 0

    def blkio_parameters(self, flags: int = 0) -> dict[str, Any]:
        return self._drv.domain_get_blkio_parameters(self._ref, flags)

    def set_blkio_parameters(self, params: dict[str, Any], flags: int = 0) -> int:
        self._drv.domain_set_blkio_parameters(self._ref, params, flags)
        return 0

    def interface_parameters(self, device: str, flags: int = 0) -> dict[str, Any]:
        return self._drv.domain_get_interface_parameters(self._ref, device, flags)

    def set_interface_parameters(self, device: str, params: dict[str, Any], flags: int = 0) -> int:
        self._drv.domain_set_interface_parameters(self._ref, device, params, flags)
        return 0

    def block_io_tune(self, disk: str | None, flags: int = 0) -> dict[str, Any]:
        return self._drv.domain_get_block_io_tune(self._ref, disk, flags)

    def set_block_io_tune(self, disk: str, params: dict[str, Any], flags: int = 0) -> int:
        self._drv.domain_set_block_io_tune(self._ref, disk, params, flags)
        return 0

    def perf_events(self, flags: int = 0) -> dict[str, Any]:
        return self._drv.domain_get_perf_events(self._ref, flags)

    def set_perf_events(self, params: dict[str, Any], flags: int = 0) -> int:
        self._drv.domain_set_perf_events(self._ref, params, flags)
        return 0

    def launch_security_info(self, flags: int = 0) -> dict[str, Any]:
        return self._drv.domain_get_launch_security_info(self._ref, flags)

    # --- devices and monitoring ----------------------------------------------
    def attach_device(self, xml: str) -> int:
        self._drv.domain_attach_device(self._ref, xml)
        return 0

    def attach_device_flags(self, xml: str, flags: int = 0) -> int:
        self._drv.domain_attach_device_flags(self._ref, xml, flags)
        return 0

    def detach_device(self, xml: str) -> int:
        self._drv.domain_detach_device(self._ref, xml)
        return 0

    def detach_device_flags(self, xml: str, flags: int = 0) -> int:
        self._drv.domain_detach_device_flags(self._ref, xml, flags)
        return 0

    def detach_device_alias(self, alias: str, flags: int = 0) -> int:
        self._drv.domain_detach_device_alias(self._ref, alias, flags)
        return 0

    def update_device_flags(self, xml: str, flags: int = 0) -> int:
        self._drv.domain_update_device_flags(self._ref, xml, flags)
        return 0

    def block_stats(self, path: str) -> tuple[int, int, int, int, int]:
        return tuple(self._drv.domain_block_stats(self._ref, path))

    def block_stats_flags(self, path: str, flags: int = 0) -> dict[str, int]:
        return self._drv.domain_block_stats_flags(self._ref, path, flags)

    def block_info(self, path: str, flags: int = 0) -> BlockInfo:
        return BlockInfo._make(self._drv.domain_get_block_info(self._ref, path, flags))

    def interface_stats(self, path: str) -> tuple[int, int, int, int, int, int, int, int]:
        return tuple(self._drv.domain_interface_stats(self._ref, path))

    def interface_addresses(self, source: int, flags: int = 0) -> dict[str, dict[str, Any]]:
        return self._drv.domain_interface_addresses(self._ref, source, flags)

    def disk_errors(self, flags: int = 0) -> dict[str, int]:
        return self._drv.domain_get_disk_errors(self._ref, flags)

    def fs_info(self, flags: int = 0) -> list[tuple[str, str, str, list[str]]]:
        return self._drv.domain_get_fs_info(self._ref, flags)

    def fs_freeze(self, mountpoints: list[str] | None = None, flags: int = 0) -> int:
        return self._drv.domain_fs_freeze(self._ref, mountpoints or [], flags)

    def fs_thaw(self, mountpoints: list[str] | None = None, flags: int = 0) -> int:
        return self._drv.domain_fs_thaw(self._ref, mountpoints or [], flags)

    def fs_trim(self, mount_point: str | None, minimum: int, flags: int = 0) -> int:
        self._drv.domain_fs_trim(self._ref, mount_point, minimum, flags)
        return 0

    def memory_peek(self, start: int, size: int, flags: int) -> bytes:
        return self._drv.domain_memory_peek(self._ref, start, size, flags)

    def set_user_password(self, user: str, password: str, flags: int = 0) -> int:
        self._drv.domain_set_user_password(self._ref, user, password, flags)
        return 0

    # --- snapshots -----------------------------------------------------------
    def _snap(self, ref: Any) -> "DomainSnapshot":
        return self._conn._snapshot_cls(self, ref)

    def snapshot_create_xml(self, xml_desc: str, flags: int = 0) -> "DomainSnapshot":
        return self._snap(self._drv.domain_snapshot_create_xml(self._ref, xml_desc, flags))

    def snapshot_lookup_by_name(self, name: str, flags: int = 0) -> "DomainSnapshot":
        return self._snap(self._drv.domain_snapshot_lookup_by_name(self._ref, name, flags))

    def snapshot_current(self, flags: int = 0) -> "DomainSnapshot":
        return self._snap(self._drv.domain_snapshot_current(self._ref, flags))

    def has_current_snapshot(self, flags: int = 0) -> int:
        return self._drv.domain_has_current_snapshot(self._ref, flags)

    def snapshot_num(self, flags: int = 0) -> int:
        return self._drv.domain_snapshot_num(self._ref, flags)

    def snapshot_list_names(self, flags: int = 0) -> list[str]:
        return list(self._drv.domain_snapshot_list_names(
            self._ref, self._drv.domain_snapshot_num(self._ref, flags), flags))

    def list_all_snapshots(self, flags: int = 0) -> list["DomainSnapshot"]:
        return [self._snap(r) for r in self._drv.domain_list_all_snapshots(self._ref, flags)]

    def revert_to_snapshot(self, snap: "DomainSnapshot", flags: int = 0) -> int:
        self._drv.domain_revert_to_snapshot(snap._ref, flags)
        return 0

    # --- checkpoints ---------------------------------------------------------
    def _checkpoint(self, ref: Any) -> "DomainCheckpoint":
        return self._conn._checkpoint_cls(self, ref)

    def checkpoint_create_xml(self, xml_desc: str, flags: int = 0) -> "DomainCheckpoint":
        return self._checkpoint(self._drv.domain_checkpoint_create_xml(self._ref, xml_desc, flags))

    def checkpoint_lookup_by_name(self, name: str, flags: int = 0) -> "DomainCheckpoint":
        return self._checkpoint(self._drv.domain_checkpoint_lookup_by_name(self._ref, name, flags))

    def list_all_checkpoints(self, flags: int = 0) -> list["DomainCheckpoint"]:
        return [self._checkpoint(r) for r in self._drv.domain_list_all_checkpoints(self._ref, flags)]

    # --- streams -------------------------------------------------------------
    def open_console(self, dev_name: str | None, stream: "Stream", flags: int = 0) -> int:
        """Join *stream* to the guest's console (serial/console device *dev_name*, None: the first).

        ``VIR_DOMAIN_CONSOLE_FORCE`` takes over a console another session holds (that session
        ends); without it a busy console fails. ``VIR_DOMAIN_CONSOLE_SAFE`` insists on drivers
        that guard against concurrent access (all of pyvirt's do).
        """
        stream._attach(self._drv.domain_open_console(self._ref, dev_name, flags))
        return 0

    def open_channel(self, name: str | None, stream: "Stream", flags: int = 0) -> int:
        """Join *stream* to a guest channel (virDomainOpenChannel)."""
        stream._attach(self._drv.domain_open_channel(self._ref, name, flags))
        return 0

    def screenshot(self, stream: "Stream", screen: int = 0, flags: int = 0) -> str:
        """Take a screenshot of *screen* into *stream*; returns the image's MIME type."""
        mime, data = self._drv.domain_screenshot(self._ref, screen, flags)
        stream._attach(data)
        return str(mime) if mime is not None else ""
