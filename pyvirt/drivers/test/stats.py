"""Statistics, IOThreads and guest addresses for the test driver."""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from ... import constants as c
from ..base import DomainRef
from .common import TestBase, conf_err, err, flags_ok
from .domains import _matches
from .state import DomObj

__all__ = ["StatsMixin"]

TOTAL_CPUTIME = 48772617035

_LF = c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG
_LIST_FILTERS = 0x3FFF
_STATS_SUPPORTED = c.VIR_DOMAIN_STATS_STATE | c.VIR_DOMAIN_STATS_IOTHREAD


def _now_us() -> int:
    return time.time_ns() // 1000


class StatsMixin(TestBase):
    """Domain statistics and IOThreads."""

    def domain_memory_stats(self, dom: DomainRef, nr_stats: int = 13, flags: int = 0) -> dict[str, int]:
        """Memory statistics keyed like libvirt-python's memoryStats()."""
        flags_ok(flags, 0, "testDomainMemoryStats")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            bal = d.def_.root.find("devices/memballoon")
            if bal is None or bal.get("model") == "none":
                return {}
            cur = d.def_.current_memory
        items = [("actual", cur), ("swap_in", 0), ("swap_out", 0), ("major_fault", 0), ("minor_fault", 0),
                 ("unused", cur // 2), ("available", cur), ("usable", cur // 2), ("last_update", 627319920),
                 ("disk_caches", cur // 8), ("hugetlb_pgalloc", 0), ("hugetlb_pgfail", 0), ("rss", cur // 2)]
        return dict(items[:nr_stats])

    def domain_block_stats(self, dom: DomainRef, path: str) -> tuple[int, int, int, int, int]:
        """(rd_req, rd_bytes, wr_req, wr_bytes, errs)."""
        if not path:
            raise err(c.VIR_ERR_OPERATION_UNSUPPORTED, "summary statistics are not supported yet")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            if not any(path in (disk.target_dev, disk.source_path) for disk in d.def_.disks):
                raise err(c.VIR_ERR_INVALID_ARG, f"invalid path: {path}")
        b = _now_us()
        return (b // 10, b // 20, b // 30, b // 40, b // 2000000)

    def domain_block_stats_flags(self, dom: DomainRef, path: str, flags: int = 0) -> dict[str, int]:
        rd_req, rd_bytes, wr_req, wr_bytes, errs = self.domain_block_stats(dom, path)
        return {"rd_operations": rd_req, "rd_bytes": rd_bytes, "wr_operations": wr_req, "wr_bytes": wr_bytes,
                "errs": errs}

    def domain_interface_stats(self, dom: DomainRef, device: str) -> tuple[int, ...]:
        """(rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop)."""
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            if not any(device in (i.target_dev, i.mac) for i in d.def_.interfaces):
                raise conf_err(c.VIR_ERR_INVALID_ARG, f"'{device}' is not a known interface")
        b = _now_us()
        return (b // 10, b // 100, b // 1000000, b // 2000000, b // 20, b // 110, b // 3000000, b // 4000000)

    def domain_get_cpu_stats(self, dom: DomainRef, start_cpu: int, ncpus: int = 0,
                             flags: int = 0) -> list[dict[str, int]]:
        """Total (start_cpu=-1) or per-CPU statistics as libvirt-python's getCPUStats() lists them.

        Also accepts libvirt-python's shape ``(dom, total: bool, flags)``.
        """
        if isinstance(start_cpu, bool):
            total, flags = start_cpu, ncpus
            start_cpu, ncpus = (-1, 1) if total else (0, self.st.node_info[6])
        flags_ok(flags, c.VIR_TYPED_PARAM_STRING_OKAY, "testDomainGetCPUStats")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            total = self.st.node_info[6]
        if start_cpu == -1:
            return [{"cpu_time": TOTAL_CPUTIME, "user_time": 5540000000, "system_time": 6460000000}]
        if start_cpu >= total:
            raise err(c.VIR_ERR_INVALID_ARG, f"start_cpu {start_cpu} larger than maximum of {total - 1}")
        per = TOTAL_CPUTIME // total
        end = min(total, start_cpu + ncpus)
        return [{"cpu_time": per + i, "vcpu_time": per + i - 1234567890} for i in range(start_cpu, end)]

    def domain_interface_addresses(self, dom: DomainRef, source: int, flags: int = 0) -> dict[str, Any]:
        """Addresses keyed by interface name, shaped like libvirt-python's interfaceAddresses()."""
        flags_ok(flags, 0, "testDomainInterfaceAddresses")
        if source > c.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP:
            raise err(c.VIR_ERR_ARGUMENT_UNSUPPORTED, f"Unknown IP address data source {source}")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            out: dict[str, Any] = {}
            for i, iface in enumerate(d.def_.interfaces):
                if iface.type == "network":
                    offset = 20 * (d.id - 1) + i + 1
                    net = self.st.networks.get(iface.source_network or "")
                    if net is None:
                        raise err(c.VIR_ERR_NO_NETWORK, f"no network with matching name '{iface.source_network}'")
                    addr = _net_addr(net.def_.root, offset)
                else:
                    addr = {"addr": f"192.168.0.{1 + i}", "prefix": 24, "type": c.VIR_IP_ADDR_TYPE_IPV4}
                out[iface.target_dev or ""] = {"addrs": [addr], "hwaddr": iface.mac}
            return out

    # -- bulk stats ---------------------------------------------------------------------------
    def _stats_for(self, d: DomObj, stats: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if stats & c.VIR_DOMAIN_STATS_STATE:
            out["state.state"] = d.state
            out["state.reason"] = d.reason
        if stats & c.VIR_DOMAIN_STATS_IOTHREAD and d.active() and d.iothreads:
            out["iothread.count"] = len(d.iothreads)
            for tid, mx, grow, shrink in d.iothreads:
                out[f"iothread.{tid}.poll-max-ns"] = mx
                out[f"iothread.{tid}.poll-grow"] = grow
                out[f"iothread.{tid}.poll-shrink"] = shrink
        return out

    def _stats_args(self, stats: int, flags: int, func: str) -> int:
        flags_ok(flags, _LIST_FILTERS & ~(c.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE
                                          | c.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE
                                          | c.VIR_CONNECT_LIST_DOMAINS_AUTOSTART
                                          | c.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART
                                          | c.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT
                                          | c.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT)
                 | c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT | c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING
                 | c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS, func)
        if not stats:
            return _STATS_SUPPORTED
        if flags & c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS and stats & ~_STATS_SUPPORTED:
            raise err(c.VIR_ERR_ARGUMENT_UNSUPPORTED,
                      f"Stats types bits 0x{stats & ~_STATS_SUPPORTED:x} are not supported by this daemon")
        return stats

    def connect_get_all_domain_stats(self, stats: int = 0, flags: int = 0) -> list[tuple[DomainRef, dict[str, Any]]]:
        stats = self._stats_args(stats, flags, "testConnectGetAllDomainStats")
        lflags = flags & _LIST_FILTERS
        with self._lock:
            return [(d.ref(), self._stats_for(d, stats)) for d in self.st.domains.values()
                    if not lflags or _matches(d, lflags)]

    def domain_list_get_stats(self, doms: list[DomainRef], stats: int = 0,
                              flags: int = 0) -> list[tuple[DomainRef, dict[str, Any]]]:
        stats = self._stats_args(stats, flags, "testConnectGetAllDomainStats")
        lflags = flags & _LIST_FILTERS
        out = []
        with self._lock:
            for ref in doms:
                d = self._dom(ref)
                if lflags and not _matches(d, lflags):
                    continue
                out.append((d.ref(), self._stats_for(d, stats)))
        return out


def _net_addr(root: Any, offset: int) -> dict[str, Any]:
    ip = root.find("ip")
    if ip is None:
        raise err(c.VIR_ERR_INTERNAL_ERROR, "network has no IP address")
    family = ip.get("family", "ipv4")
    address = ip.get("address", "0.0.0.0")
    if ip.get("prefix"):
        prefix = int(ip.get("prefix"))
    elif ip.get("netmask"):
        prefix = ipaddress.IPv4Network(f"0.0.0.0/{ip.get('netmask')}").prefixlen
    else:
        prefix = 64 if family == "ipv6" else 24
    rng = ip.find("dhcp/range")
    start = rng.get("start") if rng is not None else address
    base = ipaddress.ip_address(start)
    if family == "ipv6":
        packed = bytearray(base.packed)
        packed[15] = (packed[15] + offset) & 0xFF
        return {"addr": str(ipaddress.IPv6Address(bytes(packed))), "prefix": prefix,
                "type": c.VIR_IP_ADDR_TYPE_IPV6}
    return {"addr": str(ipaddress.IPv4Address(int(base) + offset)), "prefix": prefix,
            "type": c.VIR_IP_ADDR_TYPE_IPV4}
