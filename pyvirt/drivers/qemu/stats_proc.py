"""Host-side counters of a QEMU process read from /proc, as libvirt reads them.

CPU times and RSS from ``/proc/PID[/task/TID]/stat``, scheduler wait and delay
from ``sched``/``schedstat``, and tap counters from ``/proc/self/net/dev`` (the
caller's network namespace, where the driver created the taps).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["ProcStat", "proc_stat", "sched_wait", "sched_delay", "net_dev_stats"]

_NS_PER_TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
_PAGE_KIB = os.sysconf("SC_PAGESIZE") // 1024


@dataclass(frozen=True)
class ProcStat:
    """CPU times in ns, the last host CPU and the resident set in KiB (virProcessGetStatInfo)."""

    user: int = 0
    system: int = 0
    last_cpu: int = 0
    rss_kib: int = 0

    @property
    def cpu_time(self) -> int:
        return self.user + self.system


def _task(pid: int, tid: int, name: str) -> str:
    return f"/proc/{pid}/task/{tid}/{name}" if tid else f"/proc/{pid}/{name}"


def proc_stat(pid: int, tid: int = 0) -> ProcStat | None:
    """The process's (or one thread's) counters; None when it is gone."""
    try:
        with open(_task(pid, tid, "stat"), "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        # fields[0] is the state (field 3 of proc(5)): utime 14, stime 15, rss 24, processor 39
        return ProcStat(user=int(fields[11]) * _NS_PER_TICK, system=int(fields[12]) * _NS_PER_TICK,
                        last_cpu=int(fields[36]), rss_kib=int(fields[21]) * _PAGE_KIB)
    except (OSError, IndexError, ValueError):
        return None


def sched_wait(pid: int, tid: int) -> int:
    """Time spent waiting for a CPU in ns (``wait_sum`` of /proc/.../sched); 0 when the kernel has none."""
    try:
        with open(_task(pid, tid, "sched")) as fh:
            for line in fh:
                key = line.split(":", 1)[0].strip()
                if key in ("se.statistics.wait_sum", "se.wait_sum", "wait_sum"):
                    return int(float(line.split(":", 1)[1]) * 1_000_000)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def sched_delay(pid: int, tid: int) -> int:
    """Run-queue delay in ns (second field of /proc/.../schedstat); 0 when missing."""
    try:
        with open(_task(pid, tid, "schedstat")) as fh:
            return int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def net_dev_stats(ifname: str) -> tuple[int, int, int, int, int, int, int, int] | None:
    """(rx_bytes, rx_packets, rx_errs, rx_drop, tx_bytes, tx_packets, tx_errs, tx_drop) as the
    host sees *ifname*, or None when there is no such interface in this namespace."""
    try:
        with open("/proc/self/net/dev") as fh:
            lines = fh.readlines()[2:]
    except OSError:
        return None
    for line in lines:
        name, _, rest = line.partition(":")
        if name.strip() != ifname:
            continue
        v = [int(x) for x in rest.split()]
        return (v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11])
    return None
