"""Block statistics: QEMU's counters per disk (QMP) and image sizes read from the files.

:func:`gather` runs libvirt's three queries (``query-blockstats`` for the
frontends, ``query-blockstats`` with ``query-nodes`` and
``query-named-block-nodes``) and returns one :class:`DiskStats` per guest
disk, with the backing chain QEMU opened. :func:`file_limits` gives the
capacity, allocation and physical size of an image of a stopped guest.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from dataclasses import dataclass, field
from typing import Any

from ...conf.xmlutil import Element

__all__ = ["NodeStats", "DiskStats", "gather", "file_limits", "disk_source", "find_disk"]


@dataclass
class NodeStats:
    """One image of a disk's chain: path, libvirt index and sizes (None when QEMU did not say)."""

    path: str | None
    index: int | None = None
    allocation: int | None = None  # QEMU's wr_highest_offset
    capacity: int = 0
    physical: int = 0
    threshold: int = 0


@dataclass
class DiskStats:
    """A disk's frontend counters (None when QEMU has none for it) and its chain, top first."""

    counters: dict[str, int] | None = None
    chain: list[NodeStats] = field(default_factory=list)


def disk_source(disk: Element) -> str | None:
    """The local path of a disk's source (file or block), or None."""
    src = disk.find("source")
    if src is None:
        return None
    return src.get("file") if disk.get("type", "file") == "file" else src.get("dev")


def find_disk(disks: list[Element], path: str) -> Element | None:
    """virDomainDiskByName: a disk by target name or source path."""
    for disk in disks:
        tgt = disk.find("target")
        if tgt is not None and tgt.get("dev") == path:
            return disk
    for disk in disks:
        if path and disk_source(disk) == path:
            return disk
    return None


def _counters(stats: dict[str, Any]) -> dict[str, int]:
    return {"rd_req": int(stats.get("rd_operations", 0)), "rd_bytes": int(stats.get("rd_bytes", 0)),
            "rd_times": int(stats.get("rd_total_time_ns", 0)), "wr_req": int(stats.get("wr_operations", 0)),
            "wr_bytes": int(stats.get("wr_bytes", 0)), "wr_times": int(stats.get("wr_total_time_ns", 0)),
            "fl_req": int(stats.get("flush_operations", 0)),
            "fl_times": int(stats.get("flush_total_time_ns", 0))}


def _highest(entry: dict[str, Any]) -> int | None:
    parent = entry.get("parent") or {}
    value = (parent.get("stats") or {}).get("wr_highest_offset")
    return int(value) if value is not None else None


def _index(node_name: str) -> int | None:
    m = re.fullmatch(r"libvirt-(\d+)-format", node_name)
    return int(m.group(1)) if m else None


def _matches(qdev: str, alias: str) -> bool:
    return bool(alias) and (qdev == alias or qdev.startswith(f"/machine/peripheral/{alias}/"))


def gather(execute: Any, disks: list[Element]) -> dict[str, DiskStats]:
    """Per disk target: QEMU's counters and chain. *execute* runs one QMP command."""
    frontends = execute("query-blockstats")
    nodes = {str(n.get("node-name")): n for n in execute("query-blockstats", {"query-nodes": True})
             if n.get("node-name")}
    named = {str(n.get("node-name")): n for n in execute("query-named-block-nodes", {"flat": True})}
    out: dict[str, DiskStats] = {}
    for disk in disks:
        tgt = disk.find("target")
        alias_el = disk.find("alias")
        alias = alias_el.get("name", "") if alias_el is not None else ""
        dst = tgt.get("dev", "") if tgt is not None else ""
        entry = next((e for e in frontends if _matches(str(e.get("qdev", "")), alias)), None)
        ds = DiskStats()
        out[dst] = ds
        if entry is None:
            continue
        ds.counters = _counters(entry.get("stats", {}))
        top_index = None
        depth = 0
        layer: dict[str, Any] | None = entry
        while layer is not None and layer.get("node-name"):
            name = str(layer["node-name"])
            info = named.get(name, {})
            image = info.get("image", {})
            node_entry = nodes.get(name, layer)
            if depth == 0:
                top_index = _index(name)
            index = _index(name) if depth == 0 else (top_index + depth if top_index is not None else None)
            capacity = int(image.get("virtual-size", 0))
            storage = named.get(str((layer.get("parent") or {}).get("node-name", "")), {})
            ds.chain.append(NodeStats(
                path=str(info.get("file") or image.get("filename") or "") or None,
                index=index, allocation=_highest(node_entry), capacity=capacity,
                physical=int(image.get("actual-size", capacity)),
                threshold=int(storage.get("write_threshold", 0) or 0)))
            layer = layer.get("backing")
            depth += 1
    return out


def _qcow2_size(path: str) -> int | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
    except OSError:
        return None
    if len(head) < 32 or head[:4] != b"QFI\xfb":
        return None
    return int(struct.unpack(">Q", head[24:32])[0])


def file_limits(path: str, fmt: str | None) -> tuple[int, int, int] | None:
    """(capacity, allocation, physical) of an image on disk (qemuStorageLimitsRefresh); None if unreadable."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if stat.S_ISBLK(st.st_mode):
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
        finally:
            os.close(fd)
        allocation, physical = size, size
    else:
        allocation, physical = st.st_blocks * 512, st.st_size
    capacity = physical
    if fmt == "qcow2":
        capacity = _qcow2_size(path) or physical
    return capacity, allocation, physical
