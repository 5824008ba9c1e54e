"""Driver calls whose libvirt API shape differs from the wire structs.

Buffers sized by the caller (vCPU info, CPU maps, per-CPU stats), bitmaps as
bool tuples, memory statistics keyed by name, and DOMAIN_CREATE's void reply.
"""

from __future__ import annotations

from typing import Any, Callable

from ... import constants as c
from ...rpc.protocol import procedure_by_name
from ...rpc.values import params_from_wire
from ..base import DomainRef

__all__ = ["SpecialMixin", "cpumap_to_bytes", "bytes_to_cpumap", "MEMORY_STAT_NAMES"]

#: libvirt-python's memoryStats() keys by VIR_DOMAIN_MEMORY_STAT_* tag.
MEMORY_STAT_NAMES = {
    c.VIR_DOMAIN_MEMORY_STAT_SWAP_IN: "swap_in", c.VIR_DOMAIN_MEMORY_STAT_SWAP_OUT: "swap_out",
    c.VIR_DOMAIN_MEMORY_STAT_MAJOR_FAULT: "major_fault", c.VIR_DOMAIN_MEMORY_STAT_MINOR_FAULT: "minor_fault",
    c.VIR_DOMAIN_MEMORY_STAT_UNUSED: "unused", c.VIR_DOMAIN_MEMORY_STAT_AVAILABLE: "available",
    c.VIR_DOMAIN_MEMORY_STAT_ACTUAL_BALLOON: "actual", c.VIR_DOMAIN_MEMORY_STAT_RSS: "rss",
    c.VIR_DOMAIN_MEMORY_STAT_USABLE: "usable", c.VIR_DOMAIN_MEMORY_STAT_LAST_UPDATE: "last_update",
    c.VIR_DOMAIN_MEMORY_STAT_DISK_CACHES: "disk_caches",
    c.VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGALLOC: "hugetlb_pgalloc",
    c.VIR_DOMAIN_MEMORY_STAT_HUGETLB_PGFAIL: "hugetlb_pgfail",
}


def cpumap_to_bytes(cpumap: Any) -> bytes:
    """libvirt's cpumap bytes from a sequence of bools (bytes pass through)."""
    if isinstance(cpumap, (bytes, bytearray)):
        return bytes(cpumap)
    out = bytearray((len(cpumap) + 7) // 8)
    for i, on in enumerate(cpumap):
        if on:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)


def bytes_to_cpumap(data: bytes, ncpus: int) -> tuple[bool, ...]:
    return tuple(bool(data[i // 8] & (1 << (i % 8))) if i // 8 < len(data) else False for i in range(ncpus))


class SpecialMixin:
    """Hand-shaped methods of :class:`~pyvirt.drivers.remote.driver.RemoteDriver`."""

    _call: Callable[..., Any]
    _supports: Callable[[int], bool]

    def _p(self, name: str, args: Any = None) -> Any:
        return self._call(procedure_by_name(name), args)

    def _host_cpus(self) -> int:
        """Host CPU count as libvirt-python sizes CPU maps: virNodeGetCPUMap's answer."""
        return int(self._p("NODE_GET_CPU_MAP", (0, 0, 0)).ret)

    # --- domains ----------------------------------------------------------------------
    def domain_create(self, dom: DomainRef) -> DomainRef:
        """Start *dom*; like libvirt's client, look it up again to learn its new id."""
        self._p("DOMAIN_CREATE", (dom,))
        ref: DomainRef = self._p("DOMAIN_LOOKUP_BY_UUID", (dom.uuid,)).dom
        return ref

    def domain_get_block_info(self, dom: DomainRef, path: str, flags: int = 0) -> tuple[int, int, int]:
        """(capacity, allocation, physical) like libvirt-python's blockInfo()."""
        r = self._p("DOMAIN_GET_BLOCK_INFO", (dom, path, flags))
        return (r.capacity, r.allocation, r.physical)

    def domain_memory_stats(self, dom: DomainRef, nr_stats: int = c.VIR_DOMAIN_MEMORY_STAT_NR,
                            flags: int = 0) -> dict[str, int]:
        r = self._p("DOMAIN_MEMORY_STATS", (dom, nr_stats, flags))
        return {MEMORY_STAT_NAMES.get(s.tag, str(s.tag)): s.val for s in r.stats}

    def domain_get_vcpus(self, dom: DomainRef, maxinfo: int = -1) -> tuple[list[tuple[int, int, int, int]],
                                                                           list[tuple[bool, ...]]]:
        """([(number, state, cpu_time, cpu)], [cpumap per vCPU]) like libvirt-python's vcpus()."""
        if maxinfo < 0:
            maxinfo = int(self._p("DOMAIN_GET_INFO", (dom,)).nrVirtCpu)
        ncpus = self._host_cpus()
        maplen = (ncpus + 7) // 8
        r = self._p("DOMAIN_GET_VCPUS", (dom, maxinfo, maplen))
        info = [(v.number, v.state, v.cpu_time, v.cpu) for v in r.info]
        maps = [bytes_to_cpumap(r.cpumaps[i * maplen:(i + 1) * maplen], ncpus) for i in range(len(info))]
        return info, maps

    def domain_get_vcpu_pin_info(self, dom: DomainRef, flags: int = 0) -> list[tuple[bool, ...]]:
        nvcpus = int(self._p("DOMAIN_GET_INFO", (dom,)).nrVirtCpu)
        ncpus = self._host_cpus()
        maplen = (ncpus + 7) // 8
        r = self._p("DOMAIN_GET_VCPU_PIN_INFO", (dom, nvcpus, maplen, flags))
        return [bytes_to_cpumap(r.cpumaps[i * maplen:(i + 1) * maplen], ncpus) for i in range(r.num)]

    def domain_get_emulator_pin_info(self, dom: DomainRef, flags: int = 0) -> tuple[bool, ...]:
        ncpus = self._host_cpus()
        r = self._p("DOMAIN_GET_EMULATOR_PIN_INFO", (dom, (ncpus + 7) // 8, flags))
        return bytes_to_cpumap(r.cpumaps, ncpus)

    def domain_pin_vcpu(self, dom: DomainRef, vcpu: int, cpumap: Any) -> None:
        self._p("DOMAIN_PIN_VCPU", (dom, vcpu, cpumap_to_bytes(cpumap)))

    def domain_pin_vcpu_flags(self, dom: DomainRef, vcpu: int, cpumap: Any, flags: int = 0) -> None:
        self._p("DOMAIN_PIN_VCPU_FLAGS", (dom, vcpu, cpumap_to_bytes(cpumap), flags))

    def domain_pin_emulator(self, dom: DomainRef, cpumap: Any, flags: int = 0) -> None:
        self._p("DOMAIN_PIN_EMULATOR", (dom, cpumap_to_bytes(cpumap), flags))

    def domain_pin_iothread(self, dom: DomainRef, iothread_id: int, cpumap: Any, flags: int = 0) -> None:
        self._p("DOMAIN_PIN_IOTHREAD", (dom, iothread_id, cpumap_to_bytes(cpumap), flags))

    def domain_get_iothread_info(self, dom: DomainRef, flags: int = 0) -> list[tuple[int, list[bool]]]:
        ncpus = self._host_cpus()
        r = self._p("DOMAIN_GET_IOTHREAD_INFO", (dom, flags))
        return [(i.iothread_id, list(bytes_to_cpumap(i.cpumap, ncpus))) for i in r.info]

    def domain_get_cpu_stats(self, dom: DomainRef, total: bool, flags: int = 0) -> list[dict[str, Any]]:
        """libvirt-python's getCPUStats(): one dict for the total, or one per host CPU."""
        proc = "DOMAIN_GET_CPU_STATS"
        if self._supports(9):  # TYPED_PARAM_STRING, as libvirt's virDomainGetCPUStats asks
            flags |= c.VIR_TYPED_PARAM_STRING_OKAY
        if total:
            n = self._p(proc, (dom, 0, -1, 1, flags)).nparams
            r = self._p(proc, (dom, n, -1, 1, flags))
            return [params_from_wire(r.params)]
        ncpus = self._p(proc, (dom, 0, 0, 0, flags)).nparams  # number of CPUs
        n = self._p(proc, (dom, 0, 0, 1, flags)).nparams  # params per CPU
        out: list[dict[str, Any]] = []
        start = 0
        while start < ncpus:
            count = min(ncpus - start, 128)
            r = self._p(proc, (dom, n, start, count, flags))
            for i in range(count):
                out.append(params_from_wire(r.params[i * n:(i + 1) * n]))
            start += count
        return out

    def domain_get_time(self, dom: DomainRef, flags: int = 0) -> tuple[int, int]:
        r = self._p("DOMAIN_GET_TIME", (dom, flags))
        return (r.seconds, r.nseconds)

    def domain_get_security_label(self, dom: DomainRef) -> tuple[str, int]:
        r = self._p("DOMAIN_GET_SECURITY_LABEL", (dom,))
        return (r.label, r.enforcing)

    # --- host -------------------------------------------------------------------------
    def node_get_cpu_map(self, flags: int = 0) -> tuple[int, list[bool], int]:
        """(number of CPUs, online map, online count) like libvirt-python's getCPUMap()."""
        r = self._p("NODE_GET_CPU_MAP", (1, 1, flags))
        return (r.ret, list(bytes_to_cpumap(r.cpumap, r.ret)), r.online)

    def connect_get_all_domain_stats(self, stats: int = 0, flags: int = 0) -> list[tuple[DomainRef, dict[str, Any]]]:
        r = self._p("CONNECT_GET_ALL_DOMAIN_STATS", ([], stats, flags))
        return [(rec.dom, params_from_wire(rec.params)) for rec in r.retStats]

    def domain_list_get_stats(self, doms: list[DomainRef], stats: int = 0,
                              flags: int = 0) -> list[tuple[DomainRef, dict[str, Any]]]:
        r = self._p("CONNECT_GET_ALL_DOMAIN_STATS", (list(doms), stats, flags))
        return [(rec.dom, params_from_wire(rec.params)) for rec in r.retStats]

    def domain_get_disk_errors(self, dom: DomainRef, flags: int = 0) -> dict[str, int]:
        """{disk: VIR_DOMAIN_DISK_ERROR_*} like libvirt-python's diskErrors() (count first, then fetch)."""
        count = self._p("DOMAIN_GET_DISK_ERRORS", (dom, 0, flags)).nerrors
        if count <= 0:
            return {}
        r = self._p("DOMAIN_GET_DISK_ERRORS", (dom, count, flags))
        return {e.disk: e.error for e in r.errors}

    def domain_interface_addresses(self, dom: DomainRef, source: int, flags: int = 0) -> dict[str, dict[str, Any]]:
        """{name: {"hwaddr": mac, "addrs": [{"type", "addr", "prefix"}]}} like libvirt-python."""
        r = self._p("DOMAIN_INTERFACE_ADDRESSES", (dom, source, flags))
        return {i.name: {"hwaddr": i.hwaddr,
                         "addrs": [{"type": a.type, "addr": a.addr, "prefix": a.prefix} for a in i.addrs]}
                for i in r.ifaces}
