"""Write a definition's tunables (kept by the driver) into its XML, where libvirt shows them."""

from __future__ import annotations

from typing import Any

from lxml import etree

__all__ = ["sync_tunables"]

UNLIMITED = 9007199254740991
_IOTUNE_ORDER = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec", "read_iops_sec",
                 "write_iops_sec", "total_bytes_sec_max", "read_bytes_sec_max", "write_bytes_sec_max",
                 "total_iops_sec_max", "read_iops_sec_max", "write_iops_sec_max", "size_iops_sec", "group_name",
                 "total_bytes_sec_max_length", "read_bytes_sec_max_length", "write_bytes_sec_max_length",
                 "total_iops_sec_max_length", "read_iops_sec_max_length", "write_iops_sec_max_length")
_NUMA_MODES = ("strict", "preferred", "interleave", "restrictive")


def _replace(parent: Any, tag: str) -> Any:
    for old in parent.findall(tag):
        parent.remove(old)
    el = etree.SubElement(parent, tag)
    return el


def _drop(parent: Any, tag: str) -> None:
    for old in parent.findall(tag):
        parent.remove(old)


def cpuset(cpumap: list[bool]) -> str:
    """libvirt's CPU list syntax for a map: "0-2,5"."""
    cpus = [i for i, on in enumerate(cpumap) if on]
    parts: list[str] = []
    start = prev = None
    for cpu in [*cpus, None]:
        if cpu is not None and prev is not None and cpu == prev + 1:
            prev = cpu
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = cpu
    return ",".join(parts)


def sync_tunables(root: Any, tun: dict[str, Any]) -> None:
    """Reflect *tun* (the driver's per-definition tunables) in the domain tree *root*."""
    blk = tun.get("blkio", {})
    if blk.get("weight"):
        el = _replace(root, "blkiotune")
        etree.SubElement(el, "weight").text = str(blk["weight"])
    mem = {k: v for k, v in tun.get("memparams", {}).items() if v != UNLIMITED}
    if mem:
        el = _replace(root, "memtune")
        for key in ("hard_limit", "soft_limit", "swap_hard_limit"):
            if key in mem:
                etree.SubElement(el, key, unit="KiB").text = str(mem[key])
    elif "memparams" in tun:
        _drop(root, "memtune")
    numa = tun.get("numa", {})
    if numa.get("numa_nodeset"):
        el = _replace(root, "numatune")
        mode = numa.get("numa_mode", 0)
        etree.SubElement(el, "memory", mode=_NUMA_MODES[mode] if 0 <= mode < 4 else "strict",
                         nodeset=str(numa["numa_nodeset"]))
    perf = tun.get("perf", {})
    if perf:
        el = _replace(root, "perf")
        for name, on in perf.items():
            etree.SubElement(el, "event", name=name, enabled="yes" if on else "no")
    io = tun.get("iothreads")
    if io is not None and "ids" in io:
        from .iothreads import write_iothreads
        write_iothreads(root, io)
    vpins = tun.get("vcpupin", {})
    epin = tun.get("emulatorpin", {}).get("map")
    iopins = io.get("pins", {}) if io is not None else {}
    if vpins or epin or iopins:
        el = root.find("cputune")
        if el is None:
            el = etree.SubElement(root, "cputune")
        for tag in ("vcpupin", "emulatorpin", "iothreadpin"):
            _drop(el, tag)
        anchor = 0
        for vcpu in sorted(vpins):
            node = etree.Element("vcpupin", vcpu=str(vcpu), cpuset=cpuset(vpins[vcpu]))
            el.insert(anchor, node)
            anchor += 1
        if epin:
            el.insert(anchor, etree.Element("emulatorpin", cpuset=cpuset(epin)))
            anchor += 1
        for tid in (i for i in io["ids"] if i in iopins) if io is not None else ():
            el.insert(anchor, etree.Element("iothreadpin", iothread=str(tid), cpuset=cpuset(iopins[tid])))
            anchor += 1
    disks = root.findall("devices/disk")
    for target, values in tun.get("iotune", {}).items():
        for disk in disks:
            t, s = disk.find("target"), disk.find("source")
            if target in ((t.get("dev") if t is not None else None),
                          (s.get("file") or s.get("dev") if s is not None else None)):
                set_values = {k: v for k, v in values.items() if v}
                if not set_values:
                    _drop(disk, "iotune")
                    continue
                el = _replace(disk, "iotune")
                for key in _IOTUNE_ORDER:
                    if key in set_values:
                        etree.SubElement(el, key).text = str(set_values[key])
    nets = root.findall("devices/interface")
    for index, values in tun.get("ifparams", {}).items():
        net = nets[int(index)]
        inbound = {k.split(".")[1]: v for k, v in values.items() if k.startswith("inbound.") and v}
        outbound = {k.split(".")[1]: v for k, v in values.items() if k.startswith("outbound.") and v}
        if not inbound and not outbound:
            _drop(net, "bandwidth")
            continue
        el = _replace(net, "bandwidth")
        for tag, vals in (("inbound", inbound), ("outbound", outbound)):
            if vals.get("average") or vals.get("floor"):
                etree.SubElement(el, tag, {k: str(v) for k, v in vals.items()})
