"""Statistics of QEMU guests: domstats groups, block, interface, memory, vCPU and CPU counters.

The entries of :class:`~.driver.QemuDriver` that read counters from QEMU (over
QMP) and from the host (/proc). The bulk call (``virsh domstats``) returns
libvirt 9.0's groups with its field names, in its order
(``qemuDomainGetStats*`` of libvirt's qemu_driver.c).
"""

from __future__ import annotations

import os
import weakref
from typing import TYPE_CHECKING, Any, Callable

from ... import constants as c
from ...errors import LibvirtError, check_flags, make_error
from ..base import DomainRef
from .errors import qemu_error as _err
from .process import atomic_write
from .stats_block import DiskStats, disk_source, file_limits, find_disk, gather
from .stats_proc import net_dev_stats, proc_stat, sched_delay, sched_wait

if TYPE_CHECKING:
    from ...conf.domain import DomainDef
    from .driver import Dom, QemuState
    from .process import QemuVM

__all__ = ["StatsMixin", "STATS_LIST_FILTERS", "apply_stats_period"]

#: the domain-list filters accepted by the bulk stats calls
STATS_LIST_FILTERS = (c.VIR_CONNECT_LIST_DOMAINS_ACTIVE | c.VIR_CONNECT_LIST_DOMAINS_INACTIVE
                      | c.VIR_CONNECT_LIST_DOMAINS_PERSISTENT | c.VIR_CONNECT_LIST_DOMAINS_TRANSIENT
                      | c.VIR_CONNECT_LIST_DOMAINS_RUNNING | c.VIR_CONNECT_LIST_DOMAINS_PAUSED
                      | c.VIR_CONNECT_LIST_DOMAINS_SHUTOFF | c.VIR_CONNECT_LIST_DOMAINS_OTHER)
_STATS_FLAGS = (STATS_LIST_FILTERS | c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
                | c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING
                | c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS)
#: groups every domain supports; the others need QEMU's support (and a running guest)
_ALWAYS = (c.VIR_DOMAIN_STATS_STATE | c.VIR_DOMAIN_STATS_CPU_TOTAL | c.VIR_DOMAIN_STATS_BALLOON
           | c.VIR_DOMAIN_STATS_VCPU | c.VIR_DOMAIN_STATS_INTERFACE | c.VIR_DOMAIN_STATS_BLOCK
           | c.VIR_DOMAIN_STATS_PERF | c.VIR_DOMAIN_STATS_MEMORY)
#: balloon guest-stats field -> (memoryStats key, divisor), in libvirt's order
_GUEST_STATS = (("stat-swap-in", "swap_in", 1024), ("stat-swap-out", "swap_out", 1024),
                ("stat-major-faults", "major_fault", 1), ("stat-minor-faults", "minor_fault", 1),
                ("stat-free-memory", "unused", 1024), ("stat-total-memory", "available", 1024),
                ("stat-available-memory", "usable", 1024), ("last-update", "last_update", 1),
                ("stat-disk-caches", "disk_caches", 1024), ("stat-htlb-pgalloc", "hugetlb_pgalloc", 1),
                ("stat-htlb-pgfail", "hugetlb_pgfail", 1))
_U64_UNSET = 2**64 - 1
_DIRTYRATE_STATUS = {"unstarted": 0, "measuring": 1, "measured": 2}
ProcStatLike = Any  # stats_proc.ProcStat | None
_SCHEMAS: "weakref.WeakKeyDictionary[QemuVM, dict[str, tuple[str, str]]]" = weakref.WeakKeyDictionary()


def apply_stats_period(vm: "QemuVM") -> None:
    """At start, set the balloon's statistics period from ``<memballoon><stats period=N/>`` (as
    libvirt does after launching QEMU); a QEMU that refuses it leaves the guest running without."""
    node = vm.live.devices_elem.find("memballoon/stats")
    period = int(node.get("period", "0")) if node is not None else 0
    if period > 0 and _has_balloon(vm.live):
        try:
            vm.execute("qom-set", {"path": _balloon_path(vm.live),
                                   "property": "guest-stats-polling-interval", "value": period})
        except LibvirtError:
            pass


def _has_balloon(defn: "DomainDef") -> bool:
    bal = defn.devices_elem.find("memballoon")
    return bal is not None and bal.get("model", "virtio") != "none"


def _balloon_path(defn: "DomainDef") -> str:
    alias = defn.devices_elem.find("memballoon/alias")
    return f"/machine/peripheral/{alias.get('name') if alias is not None else 'balloon0'}"


def _quiet(fn: Callable[[], Any], default: Any = None) -> Any:
    """Run a monitor query, mapping a failure (guest gone, command missing) to *default*."""
    try:
        return fn()
    except LibvirtError:
        return default


class StatsMixin:
    """Counters of domains (mixed into :class:`~.driver.QemuDriver`)."""

    st: "QemuState"

    if TYPE_CHECKING:  # provided by QemuDriver / Driver / CapsMixin
        def _dom(self, ref: DomainRef) -> "Dom": ...
        def _running(self, ref: DomainRef) -> "tuple[Dom, QemuVM]": ...
        def check_writable(self) -> None: ...
        def _qemu_has_command(self, emulator: str | None, command: str) -> bool: ...

    # --- memory ------------------------------------------------------------------------
    def _memory_stats(self, defn: "DomainDef", vm: "QemuVM") -> list[tuple[str, int]]:
        """qemuDomainMemoryStatsInternal: balloon size, the guest's own stats, QEMU's RSS."""
        out: list[tuple[str, int]] = []
        if _has_balloon(defn):
            actual = _quiet(lambda: vm.execute("query-balloon"))
            if actual is not None:
                out.append(("actual", int(actual["actual"]) // 1024))
            data = _quiet(lambda: vm.execute("qom-get", {"path": _balloon_path(defn),
                                                         "property": "guest-stats"}))
            if isinstance(data, dict):
                stats = data.get("stats") or {}
                for field, key, div in _GUEST_STATS:
                    src = data if field == "last-update" else stats
                    value = src.get(field)
                    if value is not None and int(value) not in (_U64_UNSET, -1):
                        out.append((key, int(value) // div))
        ps = proc_stat(vm.pid)
        if ps is not None:
            out.append(("rss", ps.rss_kib))
        return out

    def domain_memory_stats(self, dom: DomainRef, nr_stats: int = c.VIR_DOMAIN_MEMORY_STAT_NR,
                            flags: int = 0) -> dict[str, int]:
        """Balloon size, the guest's memory statistics (with a stats period set) and QEMU's RSS."""
        check_flags(flags, 0, "qemuDomainMemoryStats")
        with self.st.lock:
            _d, vm = self._running(dom)
        return dict(self._memory_stats(vm.live, vm)[:nr_stats])

    def domain_set_memory_stats_period(self, dom: DomainRef, period: int, flags: int = 0) -> None:
        """Ask the balloon driver for guest statistics every *period* seconds (0 stops it)."""
        check_flags(flags, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG, "qemuDomainSetMemoryStatsPeriod")
        self.check_writable()
        with self.st.lock:
            d = self._dom(dom)
            live, config = bool(flags & c.VIR_DOMAIN_AFFECT_LIVE), bool(flags & c.VIR_DOMAIN_AFFECT_CONFIG)
            if not live and not config:
                live, config = d.active(), not d.active()
            if live and not d.active():
                raise _err(c.VIR_ERR_OPERATION_INVALID, "domain is not running")
            if config and d.config is None:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "transient domains do not have any persistent config")
            vm = d.vm if live else None
        no_balloon = "No memory balloon device configured, can not set the collection period"
        if vm is not None:
            if not _has_balloon(vm.live):
                raise _err(c.VIR_ERR_INTERNAL_ERROR, no_balloon)
            try:
                vm.execute("qom-set", {"path": _balloon_path(vm.live),
                                       "property": "guest-stats-polling-interval", "value": period})
            except LibvirtError as exc:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "unable to set balloon driver collection period") from exc
            with vm.lock:
                new = vm.live.copy()
                _set_period(new, period)
                vm.live = new
            vm.write_status()
        if config:
            with self.st.lock:
                assert d.config is not None
                if not _has_balloon(d.config):
                    raise _err(c.VIR_ERR_INTERNAL_ERROR, no_balloon)
                new = d.config.copy()
                _set_period(new, period)
                d.config = new
                atomic_write(self.st.config_dir / f"{new.name}.xml", new.to_xml(inactive=True))

    # --- vCPUs and CPU --------------------------------------------------------------------
    def _vcpu_rows(self, vm: "QemuVM") -> list[tuple[int, int, ProcStatLike]]:
        """(vcpu number, thread id, its /proc counters) per online vCPU."""
        rows: list[tuple[int, int, ProcStatLike]] = []
        for entry in sorted(vm.vcpu_info(), key=lambda e: int(e.get("cpu-index", 0))):
            tid = int(entry.get("thread-id", 0))
            rows.append((int(entry.get("cpu-index", len(rows))), tid, proc_stat(vm.pid, tid)))
        return rows

    def domain_get_vcpus(self, dom: DomainRef, maxinfo: int = -1) -> tuple[list[tuple[int, int, int, int]],
                                                                             list[tuple[bool, ...]]]:
        """([(number, state, cpu_time_ns, host cpu)], [cpumap per vcpu]) from QEMU's vCPU threads."""
        with self.st.lock:
            d = self._dom(dom)
            if d.vm is None:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "cannot list vcpus for an inactive domain")
            vm = d.vm
        ncpus = os.cpu_count() or 1
        info: list[tuple[int, int, int, int]] = []
        maps: list[tuple[bool, ...]] = []
        rows = self._vcpu_rows(vm)
        for number, tid, ps in rows if maxinfo < 0 else rows[:maxinfo]:
            try:
                affinity = os.sched_getaffinity(tid)
            except OSError:
                affinity = set(range(ncpus))
            info.append((number, c.VIR_VCPU_RUNNING, ps.cpu_time if ps else 0, ps.last_cpu if ps else -1))
            maps.append(tuple(i in affinity for i in range(ncpus)))
        return info, maps

    def domain_get_cpu_stats(self, dom: DomainRef, start_cpu: int, ncpus: int = 0,
                             flags: int = 0) -> list[dict[str, int]]:
        """Total CPU time of the QEMU process (start_cpu -1); per host CPU needs cgroups (refused).

        Also accepts libvirt-python's shape ``(dom, total: bool, flags)``.
        """
        if isinstance(start_cpu, bool):
            total, flags = start_cpu, ncpus
            start_cpu = -1 if total else 0
        check_flags(flags, c.VIR_TYPED_PARAM_STRING_OKAY, "qemuDomainGetCPUStats")
        with self.st.lock:
            _d, vm = self._running(dom)
        if start_cpu != -1:
            raise _err(c.VIR_ERR_OPERATION_INVALID, "cgroup CPUACCT controller is not mounted")
        ps = proc_stat(vm.pid)
        if ps is None:
            raise _err(c.VIR_ERR_OPERATION_FAILED, "cannot get CPU statistics of the QEMU process")
        return [{"cpu_time": ps.cpu_time, "user_time": ps.user, "system_time": ps.system}]

    # --- block -----------------------------------------------------------------------------
    def _disk_stats(self, vm: "QemuVM") -> dict[str, DiskStats]:
        return gather(vm.execute, vm.live.devices_elem.findall("disk"))

    def _block_totals(self, dom: DomainRef, path: str) -> dict[str, int]:
        with self.st.lock:
            _d, vm = self._running(dom)
        disks = vm.live.devices_elem.findall("disk")
        if path:
            disk = find_disk(disks, path)
            if disk is None:
                raise _err(c.VIR_ERR_INVALID_ARG, f"invalid path: {path}")
            disks = [disk]
        stats = gather(vm.execute, disks)
        total: dict[str, int] = {}
        for disk in disks:
            tgt = disk.find("target")
            counters = stats[tgt.get("dev", "") if tgt is not None else ""].counters
            if counters is None:
                alias = disk.find("alias")
                raise _err(c.VIR_ERR_INTERNAL_ERROR, "cannot find statistics for device "
                           f"'{alias.get('name') if alias is not None else ''}'")
            for key, value in counters.items():
                total[key] = total.get(key, 0) + value
        return total

    def domain_block_stats(self, dom: DomainRef, path: str) -> tuple[int, int, int, int, int]:
        """(rd_req, rd_bytes, wr_req, wr_bytes, errs) of one disk, or summed over all with path ''."""
        t = self._block_totals(dom, path)
        return (t.get("rd_req", 0), t.get("rd_bytes", 0), t.get("wr_req", 0), t.get("wr_bytes", 0), -1)

    def domain_block_stats_flags(self, dom: DomainRef, path: str, flags: int = 0) -> dict[str, int]:
        """The counters QEMU keeps for a disk, named and ordered as libvirt's QEMU driver returns them."""
        check_flags(flags, c.VIR_TYPED_PARAM_STRING_OKAY, "qemuDomainBlockStatsFlags")
        t = self._block_totals(dom, path)
        return {"wr_bytes": t.get("wr_bytes", 0), "wr_operations": t.get("wr_req", 0),
                "rd_bytes": t.get("rd_bytes", 0), "rd_operations": t.get("rd_req", 0),
                "flush_operations": t.get("fl_req", 0), "wr_total_times": t.get("wr_times", 0),
                "rd_total_times": t.get("rd_times", 0), "flush_total_times": t.get("fl_times", 0)}

    def domain_get_block_info(self, dom: DomainRef, path: str, flags: int = 0) -> tuple[int, int, int]:
        """(capacity, allocation, physical) of a disk, from QEMU when running, else from the image."""
        check_flags(flags, 0, "qemuDomainGetBlockInfo")
        with self.st.lock:
            d = self._dom(dom)
            defn, vm = d.definition, d.vm
        disk = find_disk(defn.devices_elem.findall("disk"), path)
        if disk is None:
            raise _err(c.VIR_ERR_INVALID_ARG, f"invalid path {path} not assigned to domain")
        source = disk_source(disk)
        if not source:
            raise _err(c.VIR_ERR_INVALID_ARG, f"disk '{path}' does not currently have a source assigned")
        drv = disk.find("driver")
        fmt = drv.get("type") if drv is not None else None
        limits = file_limits(source, fmt)
        if vm is None:
            if limits is None:
                raise _err(c.VIR_ERR_INTERNAL_ERROR, f"cannot stat file '{source}'")
            return limits
        tgt = disk.find("target")
        stats = gather(vm.execute, [disk])[tgt.get("dev", "") if tgt is not None else ""]
        if not stats.chain:
            raise _err(c.VIR_ERR_INTERNAL_ERROR, f"cannot find statistics for device '{path}'")
        top = stats.chain[0]
        if top.allocation is None or (disk.get("type", "file") == "file" and fmt == "qcow2"):
            allocation = top.physical
        else:
            allocation = top.allocation
        physical = top.physical
        if top.physical == 0 or allocation == 0 or allocation == top.physical:
            if allocation == 0:
                allocation = top.physical
            if limits is not None:
                physical = limits[2]
        return (top.capacity, allocation, physical)

    # --- interfaces --------------------------------------------------------------------------
    def domain_interface_stats(self, dom: DomainRef, device: str) -> tuple[int, ...]:
        """(rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop) of a tap.

        The host side of a tap sees the guest's traffic mirrored, so rx and tx swap (as in libvirt).
        """
        with self.st.lock:
            _d, vm = self._running(dom)
        iface = next((i for i in vm.live.interfaces if device in (i.target_dev, i.mac)), None)
        if iface is None:
            raise make_error(c.VIR_ERR_INVALID_ARG, f"'{device}' is not a known interface", c.VIR_FROM_DOMAIN)
        if not iface.target_dev:
            raise _err(c.VIR_ERR_OPERATION_INVALID, f"interface '{device}' has no host device (type "
                       f"'{iface.xml.get('type', '')}'): no statistics")
        stats = net_dev_stats(str(iface.target_dev))
        if stats is None:
            raise _err(c.VIR_ERR_INTERNAL_ERROR, f"Interface not found: {iface.target_dev}")
        return stats[4:] + stats[:4]

    # --- bulk stats (virsh domstats) -------------------------------------------------------------
    def _supported_stats(self, d: "Dom") -> int:
        out = _ALWAYS
        if d.vm is not None:
            emulator = d.vm.live.emulator
            out |= c.VIR_DOMAIN_STATS_IOTHREAD
            for bit, cmd in ((c.VIR_DOMAIN_STATS_DIRTYRATE, "query-dirty-rate"),
                             (c.VIR_DOMAIN_STATS_VM, "query-stats")):
                if self._qemu_has_command(emulator, cmd):
                    out |= bit
        return out

    def _domain_stats(self, d: "Dom", stats: int, flags: int) -> dict[str, Any]:
        supported = self._supported_stats(d)
        if not stats:
            stats = supported
        elif flags & c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS and stats & ~supported:
            raise _err(c.VIR_ERR_ARGUMENT_UNSUPPORTED,
                       f"Stats types bits 0x{stats & ~supported:x} are not supported by this daemon or QEMU")
        stats &= supported
        out: dict[str, Any] = {}
        with self.st.lock:
            vm = d.vm
            defn = d.definition
            state, reason = (vm.state, vm.reason) if vm is not None else (d.state, d.reason)
        backing = bool(flags & c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING)
        groups: list[tuple[int, Callable[[], None]]] = [
            (c.VIR_DOMAIN_STATS_STATE, lambda: out.update({"state.state": state, "state.reason": reason})),
            (c.VIR_DOMAIN_STATS_CPU_TOTAL, lambda: _cpu_group(out, vm)),
            (c.VIR_DOMAIN_STATS_BALLOON, lambda: self._balloon_group(out, defn, vm)),
            (c.VIR_DOMAIN_STATS_VCPU, lambda: self._vcpu_group(out, defn, vm)),
            (c.VIR_DOMAIN_STATS_INTERFACE, lambda: _interface_group(out, defn, vm)),
            (c.VIR_DOMAIN_STATS_BLOCK, lambda: self._block_group(out, defn, vm, backing)),
            (c.VIR_DOMAIN_STATS_IOTHREAD, lambda: _iothread_group(out, vm)),
            (c.VIR_DOMAIN_STATS_DIRTYRATE, lambda: _dirtyrate_group(out, vm)),
            (c.VIR_DOMAIN_STATS_VM, lambda: _vm_group(out, vm)),
        ]
        for bit, fill in groups:
            if stats & bit:
                fill()
        return out

    def _balloon_group(self, out: dict[str, Any], defn: "DomainDef", vm: "QemuVM | None") -> None:
        out["balloon.current"] = defn.current_memory if _has_balloon(defn) else defn.memory
        out["balloon.maximum"] = defn.memory
        if vm is None:
            return
        names = {"last_update": "last-update"}
        for key, value in self._memory_stats(defn, vm):
            if key != "actual":
                out[f"balloon.{names.get(key, key)}"] = value

    def _vcpu_group(self, out: dict[str, Any], defn: "DomainDef", vm: "QemuVM | None") -> None:
        out["vcpu.current"] = defn.vcpus
        out["vcpu.maximum"] = defn.max_vcpus
        if vm is None:
            return  # libvirt has no vCPU threads to read for a stopped guest
        rows = _quiet(lambda: self._vcpu_rows(vm), [])
        extra = _query_stats(vm, "vcpu")
        by_path = {str(e.get("qom-path")): e for e in (_quiet(vm.vcpu_info, []) or [])}
        for number, tid, ps in rows:
            out[f"vcpu.{number}.state"] = c.VIR_VCPU_RUNNING
            out[f"vcpu.{number}.time"] = ps.cpu_time if ps else 0
            out[f"vcpu.{number}.wait"] = sched_wait(vm.pid, tid)
            out[f"vcpu.{number}.delay"] = sched_delay(vm.pid, tid)
            for path, entry in by_path.items():
                if int(entry.get("cpu-index", -1)) == number and path in extra:
                    out.update({f"vcpu.{number}.{k}": v for k, v in extra[path].items()})

    def _block_group(self, out: dict[str, Any], defn: "DomainDef", vm: "QemuVM | None", backing: bool) -> None:
        disks = defn.devices_elem.findall("disk")
        live: dict[str, DiskStats] = {}
        if vm is not None:
            live = _quiet(lambda: gather(vm.execute, disks), {}) or {}
        out["block.count"] = 0
        n = 0
        for disk in disks:
            tgt = disk.find("target")
            dst = tgt.get("dev", "") if tgt is not None else ""
            source = disk_source(disk)
            if vm is None:
                out[f"block.{n}.name"] = dst
                if source:
                    out[f"block.{n}.path"] = source
                    drv = disk.find("driver")
                    limits = file_limits(source, drv.get("type") if drv is not None else None)
                    if limits is not None:
                        capacity, allocation, physical = limits
                        for key, value in (("allocation", allocation), ("capacity", capacity),
                                           ("physical", physical)):
                            if value:
                                out[f"block.{n}.{key}"] = value
                n += 1
                continue
            ds = live.get(dst)
            chain = ds.chain if ds is not None and ds.chain else []
            if not chain:
                out[f"block.{n}.name"] = dst
                if source:
                    out[f"block.{n}.path"] = source
                if ds is not None and ds.counters is not None:
                    _frontend(out, n, ds.counters)
                n += 1
                continue
            for depth, node in enumerate(chain if backing else chain[:1]):
                out[f"block.{n}.name"] = dst
                path = source if depth == 0 else node.path
                if path:
                    out[f"block.{n}.path"] = path
                if node.index is not None:
                    out[f"block.{n}.backingIndex"] = node.index
                if depth == 0 and ds is not None and ds.counters is not None:
                    _frontend(out, n, ds.counters)
                if node.allocation is not None:
                    out[f"block.{n}.allocation"] = node.allocation
                if node.capacity:
                    out[f"block.{n}.capacity"] = node.capacity
                physical = node.physical
                if not physical and path:
                    limits = file_limits(path, None)
                    physical = limits[2] if limits else 0
                if physical:
                    out[f"block.{n}.physical"] = physical
                if node.threshold:
                    out[f"block.{n}.threshold"] = node.threshold
                n += 1
        out["block.count"] = n

    def _stats_domains(self, refs: list[DomainRef] | None, flags: int) -> list["Dom"]:
        from .driver import _matches  # the driver's list filter (driver.py imports this module)
        lflags = flags & STATS_LIST_FILTERS
        with self.st.lock:
            if refs is None:
                doms = list(self.st.doms.values())
            else:
                doms = []
                for ref in refs:
                    try:
                        doms.append(self._dom(ref))
                    except LibvirtError:
                        continue  # libvirt skips domains that vanished meanwhile
            return [d for d in doms if not lflags or _matches(d, lflags)]

    def connect_get_all_domain_stats(self, stats: int = 0, flags: int = 0) -> list[tuple[DomainRef, dict[str, Any]]]:
        """virConnectGetAllDomainStats: one record per domain matching the list filters in *flags*."""
        check_flags(flags, _STATS_FLAGS, "qemuConnectGetAllDomainStats")
        return [(d.ref(), self._domain_stats(d, stats, flags)) for d in self._stats_domains(None, flags)]

    def domain_list_get_stats(self, doms: list[DomainRef], stats: int = 0,
                              flags: int = 0) -> list[tuple[DomainRef, dict[str, Any]]]:
        """virDomainListGetStats: records for the given domains (those matching the filters)."""
        check_flags(flags, _STATS_FLAGS, "qemuConnectGetAllDomainStats")
        return [(d.ref(), self._domain_stats(d, stats, flags)) for d in self._stats_domains(list(doms), flags)]




def _set_period(defn: "DomainDef", period: int) -> None:
    bal = defn.devices_elem.find("memballoon")
    assert bal is not None
    node = bal.find("stats")
    if period <= 0:
        if node is not None:
            bal.remove(node)
        return
    if node is None:
        node = bal.makeelement("stats", {})
        bal.insert(0, node)  # libvirt formats <stats> before the alias and address
    node.set("period", str(period))


def _frontend(out: dict[str, Any], n: int, t: dict[str, int]) -> None:
    for key, name in (("rd_req", "rd.reqs"), ("rd_bytes", "rd.bytes"), ("rd_times", "rd.times"),
                      ("wr_req", "wr.reqs"), ("wr_bytes", "wr.bytes"), ("wr_times", "wr.times"),
                      ("fl_req", "fl.reqs"), ("fl_times", "fl.times")):
        out[f"block.{n}.{name}"] = t[key]


def _cpu_group(out: dict[str, Any], vm: "QemuVM | None") -> None:
    # A stopped guest has used no CPU (libvirt reads its own process's times here: a bug).
    ps = proc_stat(vm.pid) if vm is not None else None
    out["cpu.time"] = ps.cpu_time if ps else 0
    out["cpu.user"] = ps.user if ps else 0
    out["cpu.system"] = ps.system if ps else 0
    if vm is None:
        return
    out["cpu.cache.monitor.count"] = 0  # no resctrl cache monitors
    halt = _halt_poll(vm)
    if halt is not None:
        out["cpu.haltpoll.success.time"], out["cpu.haltpoll.fail.time"] = halt


def _halt_poll(vm: "QemuVM") -> tuple[int, int] | None:
    """KVM's halt-polling times summed over the vCPUs (query-stats; 0 under TCG)."""
    names = ["halt_poll_success_ns", "halt_poll_fail_ns"]
    res = _quiet(lambda: vm.execute("query-stats", {"target": "vcpu",
                                                    "providers": [{"provider": "kvm", "names": names}]}))
    if res is None:
        return None
    success = fail = 0
    for entry in res:
        values = {s.get("name"): s.get("value") for s in entry.get("stats", [])}
        if set(names) - set(values):
            return None
        success += int(values[names[0]])
        fail += int(values[names[1]])
    return success, fail


def _interface_group(out: dict[str, Any], defn: "DomainDef", vm: "QemuVM | None") -> None:
    if vm is None:
        return
    ifaces = defn.interfaces
    out["net.count"] = len(ifaces)
    for i, iface in enumerate(ifaces):
        if not iface.target_dev:
            continue
        out[f"net.{i}.name"] = iface.target_dev
        stats = net_dev_stats(iface.target_dev)
        if stats is None:
            continue
        # the host's view of a tap is the guest's mirrored: its rx is the guest's tx
        swapped = stats[4:] + stats[:4]
        for key, value in zip(("rx.bytes", "rx.pkts", "rx.errs", "rx.drop",
                               "tx.bytes", "tx.pkts", "tx.errs", "tx.drop"), swapped):
            if value >= 0:
                out[f"net.{i}.{key}"] = value


def _iothread_group(out: dict[str, Any], vm: "QemuVM | None") -> None:
    if vm is None:
        return
    threads = _quiet(lambda: vm.execute("query-iothreads"), []) or []
    if not threads:
        return
    out["iothread.count"] = len(threads)
    for t in threads:
        ident = "".join(ch for ch in str(t.get("id", "")) if ch.isdigit()) or "0"
        if "poll-max-ns" in t:
            out[f"iothread.{ident}.poll-max-ns"] = int(t["poll-max-ns"])
            out[f"iothread.{ident}.poll-grow"] = int(t.get("poll-grow", 0))
            out[f"iothread.{ident}.poll-shrink"] = int(t.get("poll-shrink", 0))


def _dirtyrate_group(out: dict[str, Any], vm: "QemuVM | None") -> None:
    if vm is None:
        return
    info = _quiet(lambda: vm.execute("query-dirty-rate"))
    if not isinstance(info, dict):
        return
    status = _DIRTYRATE_STATUS.get(str(info.get("status")), 0)
    out["dirtyrate.calc_status"] = status
    out["dirtyrate.calc_start_time"] = int(info.get("start-time", 0))
    out["dirtyrate.calc_period"] = int(info.get("calc-time", 0))
    out["dirtyrate.calc_mode"] = str(info.get("mode", "page-sampling"))
    if status == _DIRTYRATE_STATUS["measured"]:
        out["dirtyrate.megabytes_per_second"] = int(info.get("dirty-rate", 0))
        if info.get("mode") == "dirty-ring":
            for v in info.get("vcpu-dirty-rate", []):
                out[f"dirtyrate.vcpu.{v.get('id')}.megabytes_per_second"] = int(v.get("dirty-rate", 0))


def _schema(vm: "QemuVM") -> dict[str, tuple[str, str]]:
    """Stat name -> (type, unit) from query-stats-schemas, once per guest."""
    known = _SCHEMAS.get(vm)
    if known is None:
        known = {}
        for provider in _quiet(lambda: vm.execute("query-stats-schemas"), []) or []:
            for s in provider.get("stats", []):
                known[str(s.get("name"))] = (str(s.get("type", "")), str(s.get("unit", "")))
        _SCHEMAS[vm] = known
    return known


def _query_stats(vm: "QemuVM", target: str) -> dict[str | None, dict[str, Any]]:
    """query-stats for *target*: per QOM path (None for the VM) the stats named as libvirt names
    them (``NAME.sum``, ``NAME.cur``, ``NAME.max``; histograms left out)."""
    entries = _quiet(lambda: vm.execute("query-stats", {"target": target}), []) or []
    if not entries:
        return {}
    schema = _schema(vm)
    suffix = {"cumulative": "sum", "instant": "cur", "peak": "max"}
    out: dict[str | None, dict[str, Any]] = {}
    for entry in entries:
        rec = out.setdefault(entry.get("qom-path"), {})
        for s in entry.get("stats", []):
            name = str(s.get("name"))
            kind, unit = schema.get(name, ("", ""))
            value = s.get("value")
            if kind not in suffix or isinstance(value, list):
                continue
            rec[f"{name}.{suffix[kind]}"] = bool(value) if unit == "boolean" else int(value)
    return out


def _vm_group(out: dict[str, Any], vm: "QemuVM | None") -> None:
    if vm is None:
        return
    stats = _query_stats(vm, "vm")
    if len(stats) == 1:
        out.update({f"vm.{k}": v for k, v in next(iter(stats.values())).items()})
