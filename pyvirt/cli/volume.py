"""Storage volume commands (vol-*)."""
from __future__ import annotations

from typing import Any

from lxml import etree

from .options import Cmd, command
from .pool import cap, lookup_pool, lookup_pool_name
from .shell import Ctl, scale_integer
from .table import print_table
from .util import read_file, xpath_print

VOL_TYPES = ["file", "block", "dir", "network", "netdir", "ploop"]


def vol_type(t: int) -> str:
    return VOL_TYPES[t] if 0 <= t < len(VOL_TYPES) else "unknown"


def lookup_vol(ctl: Ctl, cmd: Cmd, optname: str = "vol", poolopt: str | None = "pool",
               by_name: bool = True) -> tuple[Any, str]:
    """virshCommandOptVolBy: by name in --pool, else by key, then by path."""
    lv = ctl.lv
    n = ctl.opt_string(cmd, optname)
    if n is None:
        raise ctl.fail(f"Failed to get option '{optname}': Mandatory option not present")
    p = ctl.opt_string(cmd, poolopt) if poolopt else None
    pool = None
    if p is not None:
        pool = lookup_pool_name(ctl, p)
        if pool.isActive() != 1:
            raise ctl.fail(f"pool '{p}' is not active")
    vol = None
    if pool is not None and by_name:
        try:
            vol = pool.storageVolLookupByName(n)
        except lv.libvirtError as exc:
            ctl.save_error(exc)
    if vol is None:
        try:
            vol = ctl.conn.storageVolLookupByKey(n)
        except lv.libvirtError as exc:
            ctl.save_error(exc)
    if vol is None:
        try:
            vol = ctl.conn.storageVolLookupByPath(n)
        except lv.libvirtError as exc:
            ctl.save_error(exc)
    if vol is None:
        if pool is not None or not poolopt:
            raise ctl.fail(f"failed to get vol '{n}'")
        raise ctl.fail(f"failed to get vol '{n}', specifying --{poolopt} might help")
    ctl.reset_error()
    if pool is not None:
        try:
            volpool = vol.storagePoolLookupByVolume()
            if volpool.name() != pool.name():
                raise ctl.fail(f"Requested volume '{n}' is not in pool '{pool.name()}'")
        except lv.libvirtError:
            pass
    return vol, n


def _size(ctl: Ctl, text: str) -> int:
    val = scale_integer(text, 1, 2**64 - 1)
    if isinstance(val, str):
        ctl.last_error = val
    if not isinstance(val, int):
        raise ctl.fail(f"Malformed size {text}")
    return val


@command("vol-create-as")
def cmd_vol_create_as(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    flags = lv.VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA if cmd.bool("prealloc-metadata") \
        else 0
    pool, _ = lookup_pool(ctl, cmd)
    name = ctl.opt_string(cmd, "name")
    capstr = ctl.opt_string(cmd, "capacity")
    assert capstr is not None
    capacity = _size(ctl, capstr)
    allocstr = ctl.opt_string_quiet(cmd, "allocation")
    alloc = _size(ctl, allocstr) if allocstr else 0
    fmt = ctl.opt_string(cmd, "format")
    backing = ctl.opt_string(cmd, "backing-vol")
    backing_fmt = ctl.opt_string(cmd, "backing-vol-format")
    out = ["<volume>\n", f"  <name>{name}</name>\n", f"  <capacity>{capacity}</capacity>\n"]
    if allocstr:
        out.append(f"  <allocation>{alloc}</allocation>\n")
    if fmt:
        out.append(f"  <target>\n    <format type='{fmt}'/>\n  </target>\n")
    if backing:
        snap = None
        for how in ("name", "key", "path"):
            try:
                if how == "name":
                    snap = pool.storageVolLookupByName(backing)
                elif how == "key":
                    snap = ctl.conn.storageVolLookupByKey(backing)
                else:
                    snap = ctl.conn.storageVolLookupByPath(backing)
                break
            except lv.libvirtError:
                continue
        if snap is None:
            raise ctl.fail(f"failed to get vol '{backing}'")
        out.append(f"  <backingStore>\n    <path>{snap.path()}</path>\n")
        if backing_fmt:
            out.append(f"    <format type='{backing_fmt}'/>\n")
        out.append("  </backingStore>\n")
    out.append("</volume>\n")
    xml = "".join(out)
    if cmd.bool("print-xml"):
        ctl.print(xml)
        return True
    with ctl.failing(f"Failed to create vol {name}"):
        pool.createXML(xml, flags)
    ctl.print_extra(f"Vol {name} created\n")
    return True


def _create_flags(ctl: Ctl, cmd: Cmd) -> int:
    lv = ctl.lv
    flags = 0
    if cmd.bool("prealloc-metadata"):
        flags |= lv.VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA
    if cmd.has("reflink") and cmd.bool("reflink"):
        flags |= lv.VIR_STORAGE_VOL_CREATE_REFLINK
    if cmd.has("validate") and cmd.bool("validate"):
        flags |= lv.VIR_STORAGE_VOL_CREATE_VALIDATE
    return int(flags)


@command("vol-create")
def cmd_vol_create(ctl: Ctl, cmd: Cmd) -> bool:
    flags = _create_flags(ctl, cmd)
    pool, _ = lookup_pool(ctl, cmd)
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    xml = read_file(ctl, path)
    with ctl.failing(f"Failed to create vol from {path}"):
        vol = pool.createXML(xml, flags)
    ctl.print_extra(f"Vol {vol.name()} created from {path}\n")
    return True


@command("vol-create-from")
def cmd_vol_create_from(ctl: Ctl, cmd: Cmd) -> bool:
    flags = _create_flags(ctl, cmd)
    pool, _ = lookup_pool(ctl, cmd)
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    invol, _ = lookup_vol(ctl, cmd, "vol", "inputpool")
    xml = read_file(ctl, path)
    with ctl.failing(f"Failed to create vol from {path}"):
        vol = pool.createXMLFrom(xml, invol, flags)
    ctl.print_extra(f"Vol {vol.name()} created from input vol {invol.name()}\n")
    return True


@command("vol-clone")
def cmd_vol_clone(ctl: Ctl, cmd: Cmd) -> bool:
    flags = _create_flags(ctl, cmd)
    orig, _ = lookup_vol(ctl, cmd)
    with ctl.failing("failed to get parent pool"):
        pool = orig.storagePoolLookupByVolume()
    name = ctl.opt_string(cmd, "newname")
    doc = etree.fromstring(orig.XMLDesc(0).encode())
    node = doc.find("name")
    if node is not None:
        node.text = name
    newxml = etree.tostring(doc, encoding="unicode") + "\n"
    if cmd.bool("print-xml"):
        ctl.print(newxml)
        return True
    with ctl.failing(f"Failed to clone vol from {orig.name()}"):
        vol = pool.createXMLFrom(newxml, orig, flags)
    ctl.print_extra(f"Vol {vol.name()} cloned from {orig.name()}\n")
    return True


@command("vol-delete")
def cmd_vol_delete(ctl: Ctl, cmd: Cmd) -> bool:
    vol, name = lookup_vol(ctl, cmd)
    flags = ctl.lv.VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS if cmd.bool("delete-snapshots") \
        else 0
    with ctl.failing(f"Failed to delete vol {name}"):
        vol.delete(flags)
    ctl.print_extra(f"Vol {name} deleted\n")
    return True


@command("vol-dumpxml")
def cmd_vol_dumpxml(ctl: Ctl, cmd: Cmd) -> bool:
    vol, _ = lookup_vol(ctl, cmd)
    return xpath_print(ctl, vol.XMLDesc(0), ctl.opt_string_quiet(cmd, "xpath"),
                       cmd.bool("wrap"))


@command("vol-info")
def cmd_vol_info(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    vol, _ = lookup_vol(ctl, cmd)
    ctl.print(f"{'Name:':<15} {vol.name()}\n")
    physical = cmd.bool("physical")
    if physical:
        t, capacity, alloc = vol.infoFlags(lv.VIR_STORAGE_VOL_GET_PHYSICAL)
    else:
        t, capacity, alloc = vol.info()
    label = "Physical:" if physical else "Allocation:"
    out = [f"{'Type:':<15} {vol_type(t)}\n"]
    if cmd.bool("bytes"):
        out += [f"{'Capacity:':<15} {capacity} bytes\n", f"{label:<15} {alloc} bytes\n"]
    else:
        out += [f"{'Capacity:':<15} {cap(capacity)}\n", f"{label:<15} {cap(alloc)}\n"]
    ctl.print("".join(out))
    return True


@command("vol-list")
def cmd_vol_list(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    details = cmd.bool("details")
    pool, _ = lookup_pool(ctl, cmd)
    with ctl.failing("Failed to list volumes"):
        vols = sorted(pool.listAllVolumes(0), key=lambda v: v.name())
    rows = []
    for v in vols:
        try:
            path = v.path()
        except lv.libvirtError:
            path = "unknown"
        if not details:
            rows.append([v.name(), path])
            continue
        try:
            t, capacity, alloc = v.info()
            rows.append([v.name(), path, vol_type(t), cap(capacity), cap(alloc)])
        except lv.libvirtError:
            rows.append([v.name(), path, "unknown", "unknown", "unknown"])
    if details:
        print_table(ctl, ["Name", "Path", "Type", "Capacity", "Allocation"], rows)
    else:
        print_table(ctl, ["Name", "Path"], rows)
    return True


@command("vol-name")
def cmd_vol_name(ctl: Ctl, cmd: Cmd) -> bool:
    vol, _ = lookup_vol(ctl, cmd, poolopt=None, by_name=False)
    ctl.print(f"{vol.name()}\n")
    return True


@command("vol-key")
def cmd_vol_key(ctl: Ctl, cmd: Cmd) -> bool:
    vol, _ = lookup_vol(ctl, cmd)
    ctl.print(f"{vol.key()}\n")
    return True


@command("vol-path")
def cmd_vol_path(ctl: Ctl, cmd: Cmd) -> bool:
    vol, _ = lookup_vol(ctl, cmd)
    ctl.print(f"{vol.path()}\n")
    return True


@command("vol-pool")
def cmd_vol_pool(ctl: Ctl, cmd: Cmd) -> bool:
    vol, _ = lookup_vol(ctl, cmd, poolopt=None, by_name=False)
    with ctl.failing("failed to get parent pool"):
        pool = vol.storagePoolLookupByVolume()
    ctl.print(f"{pool.UUIDString()}\n" if cmd.bool("uuid") else f"{pool.name()}\n")
    return True
