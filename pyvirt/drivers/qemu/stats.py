"""Statistics of running QEMU guests: block, interface, memory and vCPU counters.

The entries of :class:`~.driver.QemuDriver` that read counters from QEMU (over QMP)
and from the host (/proc, iproute2).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING

from ... import constants as c
from ..base import DomainRef
from .errors import qemu_error as _err

if TYPE_CHECKING:
    from .driver import Dom, QemuState
    from .process import QemuVM

__all__ = ["StatsMixin"]


class StatsMixin:
    """Counters of running domains (mixed into :class:`~.driver.QemuDriver`)."""

    st: "QemuState"

    if TYPE_CHECKING:  # provided by QemuDriver
        def _dom(self, ref: DomainRef) -> "Dom": ...
        def _running(self, ref: DomainRef) -> "tuple[Dom, QemuVM]": ...

    def domain_block_stats(self, dom: DomainRef, path: str) -> tuple[int, int, int, int, int]:
        with self.st.lock:
            _d, vm = self._running(dom)
        disk = next((x for x in vm.live.disks if path in (x.target, x.source)), None)
        if disk is None:
            raise _err(c.VIR_ERR_INVALID_ARG, f"invalid path: {path}")
        s = vm.block_stats().get(disk.alias or "", {})
        return (s.get("rd_req", 0), s.get("rd_bytes", 0), s.get("wr_req", 0), s.get("wr_bytes", 0), -1)

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
        cpus = vm.vcpu_info()
        for entry in cpus if maxinfo < 0 else cpus[:maxinfo]:
            tid = int(entry.get("thread-id", 0))
            cpu_time, last_cpu = _thread_times(vm.pid, tid)
            try:
                affinity = os.sched_getaffinity(tid)
            except OSError:
                affinity = set(range(ncpus))
            info.append((int(entry.get("cpu-index", len(info))), c.VIR_VCPU_RUNNING, cpu_time, last_cpu))
            maps.append(tuple(i in affinity for i in range(ncpus)))
        return info, maps

    def domain_memory_stats(self, dom: DomainRef, nr_stats: int = 13, flags: int = 0) -> dict[str, int]:
        """The balloon's size and QEMU's resident set, as libvirt reports without a stats period."""
        with self.st.lock:
            d, vm = self._running(dom)
        out: dict[str, int] = {}
        if d.definition.devices_elem.find("memballoon[@model='virtio']") is not None:
            out["actual"] = vm.balloon_kib()
        rss = _proc_status_kib(vm.pid, "VmRSS")
        if rss is not None:
            out["rss"] = rss
        return dict(list(out.items())[:nr_stats])

    def domain_interface_stats(self, dom: DomainRef, device: str) -> tuple[int, ...]:
        """(rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop) of a tap.

        The host side of a tap sees the guest's traffic mirrored, so rx and tx swap (as in libvirt).
        """
        with self.st.lock:
            _d, vm = self._running(dom)
        iface = next((i for i in vm.live.interfaces if device in (i.target_dev, i.mac) and i.target_dev), None)
        if iface is None:
            raise _err(c.VIR_ERR_INVALID_ARG, f"invalid path, '{device}' is not a known interface")
        # iproute2 answers for the caller's network namespace (sysfs may show another one)
        proc = subprocess.run(["ip", "-j", "-s", "link", "show", "dev", str(iface.target_dev)],
                              capture_output=True, text=True)
        try:
            stats = json.loads(proc.stdout)[0]["stats64"]
        except (ValueError, IndexError, KeyError) as exc:
            raise _err(c.VIR_ERR_OPERATION_FAILED,
                       f"interface {iface.target_dev} statistics unavailable: {proc.stderr.strip()}") from exc
        rx, tx = stats.get("rx", {}), stats.get("tx", {})
        return (tx.get("bytes", -1), tx.get("packets", -1), tx.get("errors", -1), tx.get("dropped", -1),
                rx.get("bytes", -1), rx.get("packets", -1), rx.get("errors", -1), rx.get("dropped", -1))


def _thread_times(pid: int, tid: int) -> tuple[int, int]:
    """(CPU time in ns, last host CPU) of one thread of *pid*."""
    try:
        with open(f"/proc/{pid}/task/{tid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK"), int(fields[36])
    except (OSError, IndexError, ValueError):
        return 0, -1


def _proc_status_kib(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None
