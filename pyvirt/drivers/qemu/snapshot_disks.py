"""Disk work of QEMU snapshots: qemu-img on shut-off disks, savevm/delvm and blockdev-snapshot on running ones.

As libvirt 9.0: internal snapshots of a running guest go through HMP ``savevm``/
``delvm`` (libvirt reverts by starting QEMU again and loading the state, which we do
with HMP ``loadvm`` on the new, still paused QEMU); shut-off disks through
``qemu-img snapshot -c/-a/-d``. External disk snapshots of a shut-off domain are
``qemu-img create -f qcow2 -o backing_fmt=…,backing_file=…``; of a running one, the
overlay is created, opened with ``blockdev-add`` and made the disk's active layer
with a ``transaction`` of ``blockdev-snapshot``.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import subprocess
import time
from typing import Any

from ... import constants as c
from ...conf.domain import DomainDef
from ...conf.snapshot import SnapshotDiskDef
from ...conf.xmlutil import Element
from ...errors import LibvirtError
from .errors import qemu_error as _err
from .process import QemuVM

__all__ = ["qemu_img", "remove_files", "for_each_qcow2", "hmp_savevm", "hmp_delvm", "hmp_loadvm", "create_external_inactive",
           "create_external_active", "commit_external_inactive", "commit_external_active", "disk_format",
           "disk_source", "push_backing"]

QEMU_IMG_TIMEOUT = 120.0
BLOCK_JOB_TIMEOUT = 120.0


def qemu_img(*args: str) -> str:
    """Run qemu-img; libvirt's virCommandRun error when it fails."""
    binary = shutil.which("qemu-img")
    if binary is None:
        raise _err(c.VIR_ERR_INTERNAL_ERROR, "unable to find qemu-img")
    argv = [binary, *args]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=QEMU_IMG_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _err(c.VIR_ERR_INTERNAL_ERROR, f"Child process ({shlex.join(argv)}) failed: {exc}") from exc
    if proc.returncode != 0:
        raise _err(c.VIR_ERR_INTERNAL_ERROR,
                   f"Child process ({shlex.join(argv)}) unexpected exit status {proc.returncode}: "
                   f"{proc.stderr.strip()}")
    return proc.stdout


def disk_format(disk: Element) -> str:
    drv = disk.find("driver")
    return (drv.get("type") if drv is not None else None) or "raw"


def disk_source(disk: Element) -> str | None:
    src = disk.find("source")
    if src is None:
        return None
    return src.get("dev") if disk.get("type") == "block" else src.get("file")


def for_each_qcow2(defn: DomainDef, disks: list[SnapshotDiskDef], op: str, name: str, try_all: bool) -> bool:
    """qemuDomainSnapshotForEachQcow2: ``qemu-img snapshot OP NAME`` on each internal disk.

    Returns False when *try_all* skipped a disk; a failed ``-c`` rolls back the disks done before.
    """
    skipped = False
    ddisks = defn.devices_elem.findall("disk")
    for i, disk in enumerate(ddisks):
        if i >= len(disks) or disk.get("device", "disk") != "disk" or disks[i].snapshot != "internal":
            continue
        target = disk.find("target").get("dev", "")  # type: ignore[union-attr]
        fmt = disk_format(disk)
        try:
            if fmt != "qcow2":
                raise _err(c.VIR_ERR_OPERATION_INVALID, f"Disk device '{target}' does not support snapshotting")
            qemu_img("snapshot", op, name, disk_source(disk) or "")
        except LibvirtError:
            if try_all:
                skipped = True
                continue
            if op == "-c" and i:
                sub = DomainDef(copy.deepcopy(defn.xml))
                for extra in sub.devices_elem.findall("disk")[i:]:
                    sub.devices_elem.remove(extra)
                for_each_qcow2(sub, disks, "-d", name, True)
            raise
    return not skipped


def _hmp(vm: QemuVM, line: str) -> str:
    return str(vm.execute("human-monitor-command", {"command-line": line}) or "")


def hmp_savevm(vm: QemuVM, name: str) -> None:
    """qemuMonitorTextCreateSnapshot."""
    reply = _hmp(vm, f'savevm "{name}"')
    if ("Error while creating snapshot" in reply or "Could not open VM state file" in reply
            or "State blocked by non-migratable device" in reply or "Error: " in reply
            or ("Error" in reply and "while writing VM" in reply)):
        raise _err(c.VIR_ERR_OPERATION_FAILED, f"Failed to take snapshot: {reply}")
    if "No block device can accept snapshots" in reply:
        raise _err(c.VIR_ERR_OPERATION_INVALID, "this domain does not have a device to take snapshots")


def hmp_delvm(vm: QemuVM, name: str) -> None:
    """qemuMonitorTextDeleteSnapshot."""
    reply = _hmp(vm, f'delvm "{name}"')
    if "No block device supports snapshots" in reply:
        raise _err(c.VIR_ERR_OPERATION_INVALID, "this domain does not have a device to delete snapshots")
    if "Snapshots not supported on device" in reply:
        raise _err(c.VIR_ERR_OPERATION_INVALID, reply)
    if "Error: " in reply or ("Error" in reply and "while deleting snapshot" in reply):
        raise _err(c.VIR_ERR_OPERATION_FAILED, f"Failed to delete snapshot: {reply}")


def hmp_loadvm(vm: QemuVM, name: str) -> None:
    """What ``-loadvm NAME`` does at start: load the snapshot's state into the paused QEMU."""
    reply = _hmp(vm, f'loadvm "{name}"')
    if "Error" in reply or "error" in reply:
        raise _err(c.VIR_ERR_OPERATION_FAILED, f"Failed to load snapshot: {reply.strip()}")


# --- external snapshots -------------------------------------------------------------
def push_backing(disk: Element, new_source: str, new_format: str, live: bool) -> None:
    """qemuSnapshotDiskUpdateSource: *new_source* becomes the disk's source, the old one its backing.

    The live XML ends the chain with an empty ``<backingStore/>``, as libvirt's.
    """
    old_src = disk.find("source")
    old_backing = disk.find("backingStore")
    backing = disk.makeelement("backingStore", {"type": disk.get("type", "file")})
    fmt = backing.makeelement("format", {"type": disk_format(disk)})
    backing.append(fmt)
    if old_src is not None:
        src_copy = copy.deepcopy(old_src)
        if "index" in src_copy.attrib:
            del src_copy.attrib["index"]
        backing.append(src_copy)
    if old_backing is not None:
        disk.remove(old_backing)
        backing.append(old_backing)
    elif live:
        backing.append(backing.makeelement("backingStore", {}))
    new_src = disk.makeelement("source", {"dev" if disk.get("type") == "block" else "file": new_source})
    if old_src is not None:
        old_src.addprevious(new_src)
        disk.remove(old_src)
    else:
        tgt = disk.find("target")
        if tgt is not None:
            tgt.addprevious(new_src)
        else:
            disk.append(new_src)
    new_src.addnext(backing)
    disk.set("type", "file")
    drv = disk.find("driver")
    if drv is None:
        drv = disk.makeelement("driver", {"name": "qemu"})
        disk.insert(0, drv)
    drv.set("type", new_format)


def pop_backing(disk: Element) -> None:
    """The inverse of :func:`push_backing`: the disk's backing becomes its source again."""
    backing = disk.find("backingStore")
    src = disk.find("source")
    if backing is None or backing.find("source") is None:
        return
    new_src = copy.deepcopy(backing.find("source"))
    assert new_src is not None
    fmt = backing.find("format")
    inner = backing.find("backingStore")
    if src is not None:
        src.addprevious(new_src)
        disk.remove(src)
    disk.set("type", backing.get("type", "file"))
    drv = disk.find("driver")
    if drv is not None and fmt is not None:
        drv.set("type", fmt.get("type", "raw"))
    disk.remove(backing)
    if inner is not None and (inner.find("source") is not None or len(inner.attrib)):
        new_src.addnext(inner)


def create_external_inactive(defn: DomainDef, disks: list[SnapshotDiskDef], reuse: bool) -> list[str]:
    """qemuSnapshotCreateInactiveExternal: overlays made with qemu-img; *defn*'s disks switched to them.

    Returns the files created (removed again by the caller if a later step fails).
    """
    created: list[str] = []
    ddisks = defn.devices_elem.findall("disk")
    try:
        for i, sdisk in enumerate(disks):
            if sdisk.snapshot != "external" or reuse:
                continue
            sdisk.driver_type = sdisk.driver_type or "qcow2"
            base = disk_source(ddisks[i]) or ""
            existed = _exists(sdisk.source or "")
            qemu_img("create", "-f", sdisk.driver_type, "-o",
                     f"backing_fmt={disk_format(ddisks[i])},backing_file={base.replace(',', ',,')}",
                     (sdisk.source or "").replace(",", ",,"))
            if not existed:
                created.append(sdisk.source or "")
    except LibvirtError:
        remove_files(created)
        raise
    for i, sdisk in enumerate(disks):
        if sdisk.snapshot != "external":
            continue
        disk = ddisks[i]
        src = disk.find("source")
        new_src = disk.makeelement("source", {"file": sdisk.source or ""})
        if src is not None:
            src.addprevious(new_src)
            disk.remove(src)
        disk.set("type", sdisk.type)
        drv = disk.find("driver")
        if drv is not None:
            drv.set("type", sdisk.driver_type or "qcow2")
    return created


def _exists(path: str) -> bool:
    return os.path.exists(path)


def remove_files(paths: list[str]) -> None:
    """Delete *paths*, ignoring the ones already gone (overlays of a failed or undone step)."""
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


def _format_node(vm: QemuVM, target: str, alias: str) -> dict[str, Any]:
    """query-named-block-nodes entry of the active (format) layer of the disk *alias*."""
    node = None
    for entry in vm.execute("query-block"):
        qdev = str(entry.get("qdev", ""))
        if qdev == alias or qdev.endswith(f"/{alias}") or qdev.startswith(f"/machine/peripheral/{alias}/"):
            node = entry.get("inserted", {}).get("node-name")
    if not node:
        raise _err(c.VIR_ERR_OPERATION_FAILED, f"unable to find the block node of disk '{target}'")
    for entry in vm.execute("query-named-block-nodes"):
        if entry.get("node-name") == node:
            return dict(entry)
    raise _err(c.VIR_ERR_OPERATION_FAILED, f"unable to find the block node of disk '{target}'")


def _next_index(vm: QemuVM) -> int:
    used = [int(m.group(1)) for e in vm.execute("query-named-block-nodes")
            if (m := re.match(r"libvirt-(\d+)-", str(e.get("node-name", ""))))]
    return max(used, default=0) + 1


def create_external_active(vm: QemuVM, disks: list[SnapshotDiskDef], reuse: bool) -> list[str]:
    """qemuSnapshotCreateActiveExternal (disk-only): overlays switched in by one transaction.

    Updates ``vm.live`` (new sources, old ones as ``<backingStore>``); returns the files created.
    """
    live_disks = vm.live.devices_elem.findall("disk")
    created: list[str] = []
    added: list[str] = []
    actions: list[dict[str, Any]] = []
    try:
        for i, sdisk in enumerate(disks):
            if sdisk.snapshot != "external":
                continue
            disk = live_disks[i]
            target = disk.find("target").get("dev", "")  # type: ignore[union-attr]
            alias_el = disk.find("alias")
            alias = alias_el.get("name", "") if alias_el is not None else ""
            top = _format_node(vm, target, alias)
            sdisk.driver_type = sdisk.driver_type or "qcow2"
            path = sdisk.source or ""
            if not reuse:
                existed = _exists(path)
                size = int(top.get("image", {}).get("virtual-size", 0))
                qemu_img("create", "-f", sdisk.driver_type, "-F", str(top.get("drv") or disk_format(disk)),
                         "-b", disk_source(disk) or "", "-u", path, str(size))
                if not existed:
                    created.append(path)
            n = _next_index(vm)
            storage, fmt = f"libvirt-{n}-storage", f"libvirt-{n}-format"
            vm.execute("blockdev-add", {"driver": "file", "filename": path, "node-name": storage,
                                        "auto-read-only": True, "discard": "unmap"})
            added.append(storage)
            vm.execute("blockdev-add", {"node-name": fmt, "read-only": False, "driver": sdisk.driver_type,
                                        "file": storage, "backing": None})
            added.append(fmt)
            actions.append({"type": "blockdev-snapshot",
                            "data": {"node": str(top.get("node-name")), "overlay": fmt}})
        if actions:
            vm.execute("transaction", {"actions": actions})
    except LibvirtError:
        for node in reversed(added):
            try:
                vm.execute("blockdev-del", {"node-name": node})
            except LibvirtError:
                pass
        remove_files(created)
        raise
    with vm.lock:
        live = vm.live.copy()
        for i, sdisk in enumerate(disks):
            if sdisk.snapshot == "external":
                push_backing(live.devices_elem.findall("disk")[i], sdisk.source or "",
                             sdisk.driver_type or "qcow2", live=True)
        vm.live = live
    vm.write_status()
    return created


def commit_external_inactive(top: str, base_disk: Element) -> None:
    """Merge overlay *top* into its backing file and remove it (a shut-off disk's external snapshot delete)."""
    qemu_img("commit", "-q", top)
    remove_files([top])


def commit_external_active(vm: QemuVM, disk_index: int) -> str:
    """Block-commit the active layer of the *disk_index*-th disk into its backing; returns the old top file.

    Drives QMP ``block-commit`` to ``ready``, ``job-complete``s it (QEMU switches the
    disk to the backing node), then drops the overlay's nodes.
    """
    disk = vm.live.devices_elem.findall("disk")[disk_index]
    target = disk.find("target").get("dev", "")  # type: ignore[union-attr]
    alias_el = disk.find("alias")
    top = _format_node(vm, target, alias_el.get("name", "") if alias_el is not None else "")
    top_node = str(top.get("node-name"))
    backing = top.get("image", {}).get("backing-image")
    base_node = None
    for entry in vm.execute("query-named-block-nodes"):
        if backing and entry.get("file") == backing.get("filename") and entry.get("drv") != "file":
            base_node = entry.get("node-name")
    if base_node is None:
        raise _err(c.VIR_ERR_OPERATION_FAILED, "failed to find parent disk source in backing chain")
    job = f"commit-{target}-{top_node}"
    vm.execute("block-commit", {"job-id": job, "device": top_node, "base-node": base_node,
                                "auto-finalize": True, "auto-dismiss": False})
    deadline = time.monotonic() + BLOCK_JOB_TIMEOUT
    completed = False
    while True:
        jobs = {j.get("id"): j for j in vm.execute("query-jobs")}
        info = jobs.get(job)
        status = info.get("status") if info else "concluded"
        if status == "ready" and not completed:
            vm.execute("job-complete", {"id": job})
            completed = True
        elif status == "concluded":
            if info is not None:
                vm.execute("job-dismiss", {"id": job})
            if info is not None and info.get("error"):
                raise _err(c.VIR_ERR_INTERNAL_ERROR, f"block commit failed while deleting disk '{target}' "
                           f"snapshot: '{info.get('error')}'")
            break
        if time.monotonic() > deadline:
            raise _err(c.VIR_ERR_OPERATION_FAILED, f"block commit of disk '{target}' did not finish")
        time.sleep(0.02)
    top_file = str(top.get("file", ""))
    storage = top_node.replace("-format", "-storage")
    for node in (top_node, storage):
        try:
            vm.execute("blockdev-del", {"node-name": node})
        except LibvirtError:
            pass
    with vm.lock:
        live = vm.live.copy()
        pop_backing(live.devices_elem.findall("disk")[disk_index])
        vm.live = live
    vm.write_status()
    return top_file
