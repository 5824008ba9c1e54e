"""Host facts for the node calls: nodeinfo, free memory, CPU and memory statistics.

Read from procfs and sysfs the way libvirt's virhostcpu.c and virhostmem.c do
(NUMA cell memory from /sys/devices/system/node when present).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from ... import constants as c
from ...errors import make_error

__all__ = ["node_info", "free_memory", "cells_free_memory", "cpu_stats", "memory_stats", "cpu_vendor_info"]

_NODE = Path("/sys/devices/system/node")
_TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _meminfo(text: str) -> dict[str, int]:
    """KiB values of a meminfo file (node files prefix each line with 'Node N')."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            out[key.split()[-1]] = int(parts[0])
    return out


def _nodes() -> list[int]:
    if not _NODE.exists():
        return []
    return sorted(int(p.name[4:]) for p in _NODE.glob("node[0-9]*"))


def _online_cpus() -> list[int]:
    from ...conf.capabilities import _parse_list  # libvirt's CPU list syntax
    text = _read("/sys/devices/system/cpu/online").strip()
    return _parse_list(text) if text else list(range(os.cpu_count() or 1))


def _topology(cpus: list[int]) -> tuple[int, int, int]:
    """(sockets, cores per socket, threads per core) over the online CPUs."""
    sockets: set[str] = set()
    cores: set[tuple[str, str]] = set()
    for cpu in cpus:
        base = f"/sys/devices/system/cpu/cpu{cpu}/topology"
        sock = _read(f"{base}/physical_package_id").strip() or "0"
        sockets.add(sock)
        cores.add((sock, _read(f"{base}/core_id").strip() or str(cpu)))
    nsock = max(1, len(sockets))
    ncores = max(1, len(cores) // nsock)
    threads = max(1, len(cpus) // (nsock * ncores))
    return nsock, ncores, threads


def node_info() -> tuple[str, int, int, int, int, int, int, int]:
    """(model, memory KiB, cpus, MHz, NUMA nodes, sockets per node, cores, threads) as virNodeGetInfo."""
    cpus = _online_cpus()
    mhz = 0
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("cpu MHz"):
            try:
                mhz = int(float(line.split(":", 1)[1]))
            except ValueError:
                pass
            break
    nodes = _nodes()
    if nodes:
        memory = sum(_meminfo(_read(_NODE / f"node{n}" / "meminfo")).get("MemTotal", 0) for n in nodes)
    else:
        memory = _meminfo(_read("/proc/meminfo")).get("MemTotal", 0)
    sockets, cores, threads = _topology(cpus)
    nnodes = max(1, len(nodes))
    return (platform.machine(), memory, len(cpus), mhz, nnodes, max(1, sockets // nnodes), cores, threads)


def cells_free_memory(start: int, count: int) -> list[int]:
    """Free bytes of NUMA cells start..start+count-1 (virNodeGetCellsFreeMemory)."""
    nodes = _nodes() or [0]
    last = nodes[-1]
    if start < 0 or start > last:
        raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                         f"start cell {start} out of range (0-{last})", c.VIR_FROM_NONE)
    out = []
    for n in range(start, min(start + count, last + 1)):
        if _NODE.exists():
            info = _meminfo(_read(_NODE / f"node{n}" / "meminfo"))
        else:
            info = _meminfo(_read("/proc/meminfo"))
        out.append(info.get("MemFree", 0) * 1024)
    return out


def free_memory() -> int:
    """Free bytes on the host (the sum over NUMA cells, as libvirt counts it)."""
    nodes = _nodes()
    if not nodes:
        return _meminfo(_read("/proc/meminfo")).get("MemFree", 0) * 1024
    return sum(cells_free_memory(nodes[0], len(nodes)))


def cpu_stats(cpu: int) -> dict[str, int]:
    """kernel/user/idle/iowait in ns for one CPU or all (-1), from /proc/stat."""
    header = "cpu " if cpu == c.VIR_NODE_CPU_STATS_ALL_CPUS else f"cpu{cpu} "
    for line in _read("/proc/stat").splitlines():
        if line.startswith(header):
            v = [int(x) for x in line.split()[1:]] + [0] * 10
            return {"kernel": (v[2] + v[5] + v[6]) * _TICK_NS, "user": (v[0] + v[1]) * _TICK_NS,
                    "idle": v[3] * _TICK_NS, "iowait": v[4] * _TICK_NS}
    raise make_error(c.VIR_ERR_INVALID_ARG, f"Invalid cpuNum in {'virHostCPUGetStatsLinux'}", c.VIR_FROM_NONE)


def memory_stats(cell: int) -> dict[str, int]:
    """total/free/buffers/cached KiB of the host (-1) or total/free of a NUMA cell."""
    if cell == c.VIR_NODE_MEMORY_STATS_ALL_CELLS:
        info = _meminfo(_read("/proc/meminfo"))
        return {"total": info.get("MemTotal", 0), "free": info.get("MemFree", 0),
                "buffers": info.get("Buffers", 0), "cached": info.get("Cached", 0)}
    nodes = _nodes()
    if cell not in nodes:
        raise make_error(c.VIR_ERR_INVALID_ARG, f"cellNum in virHostMemGetStats must be less than or equal to "
                         f"{nodes[-1] if nodes else 0}", c.VIR_FROM_NONE)
    info = _meminfo(_read(_NODE / f"node{cell}" / "meminfo"))
    return {"total": info.get("MemTotal", 0), "free": info.get("MemFree", 0)}


def cpu_vendor_info() -> tuple[str | None, int | None, tuple[int, int, int] | None]:
    """(vendor, microcode, (family, model, stepping)) of the first CPU in /proc/cpuinfo."""
    fields: dict[str, str] = {}
    for line in _read("/proc/cpuinfo").splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    vendor = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}.get(fields.get("vendor_id", ""))
    try:
        microcode = int(fields["microcode"], 0)
    except (KeyError, ValueError):
        microcode = None
    try:
        sig = (int(fields["cpu family"]), int(fields["model"]), int(fields["stepping"]))
    except (KeyError, ValueError):
        sig = None
    return vendor, microcode, sig
