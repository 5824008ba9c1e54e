"""The undefine command, with its storage removal."""
from __future__ import annotations

from typing import Any

from lxml import etree

from .builtin import split_commas
from .options import Cmd, command
from .shell import Ctl
from .util import opt_domain


def _count(ctl: Ctl, fn: Any, *args: Any) -> int:
    """Call a counting API; NO_SUPPORT counts as 0, other errors fail the command."""
    try:
        return int(fn(*args))
    except ctl.lv.libvirtError as exc:
        if exc.get_error_code() != ctl.lv.VIR_ERR_NO_SUPPORT:
            ctl.save_error(exc)
            raise ctl.fail_quiet() from exc
        return 0


def _volumes(ctl: Ctl, dom: Any, vol_string: str | None) -> list[tuple[str, str, Any]]:
    """The (target, source, volume) triples to delete, reporting unmanaged ones."""
    lv = ctl.lv
    doc = etree.fromstring(dom.XMLDesc(0).encode())
    wanted: list[str | None] = list(split_commas(vol_string)) if vol_string else []
    vols = []
    for disk in doc.findall("./devices/disk"):
        tnode = disk.find("target")
        target = tnode.get("dev", "") if tnode is not None else ""
        src = disk.find("source")
        source = ""
        if src is not None:
            source = next((src.get(a, "") for a in ("file", "dir", "name", "dev", "volume")
                           if src.get(a)), "")
        if not source:
            continue
        if vol_string:
            if target in wanted:
                wanted[wanted.index(target)] = None
            elif source in wanted:
                wanted[wanted.index(source)] = None
            else:
                continue
        pool_name = src.get("pool") if src is not None else None
        vol = None
        try:
            if pool_name:
                try:
                    pool = ctl.conn.storagePoolLookupByName(pool_name)
                except lv.libvirtError:
                    ctl.error(f"Storage pool '{pool_name}' for volume '{target}' not found.")
                    continue
                vol = pool.storageVolLookupByName(source)
            else:
                vol = ctl.conn.storageVolLookupByPath(source)
        except lv.libvirtError:
            vol = None
        if vol is None:
            ctl.error(f"Storage volume '{target}'({source}) is not managed by libvirt. "
                      "Remove it manually.\n")
            continue
        vols.append((target, source, vol))
    missing = [w for w in wanted if w is not None]
    for w in missing:
        ctl.error(f"Volume '{w}' was not found in domain's definition.\n")
    if missing:
        raise ctl.fail_quiet()
    return vols


@command("undefine")
def cmd_undefine(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    b = cmd.bool
    ctl.requires(cmd, "delete-storage-volume-snapshots", "remove-all-storage")
    ctl.exclusive(cmd, "nvram", "keep-nvram")
    ctl.exclusive(cmd, "tpm", "keep-tpm")
    vol_string = ctl.opt_string_quiet(cmd, "storage")
    remove_all, wipe = b("remove-all-storage"), b("wipe-storage")
    if not (vol_string or remove_all) and wipe:
        raise ctl.fail("'--wipe-storage' requires '--storage <string>' or "
                       "'--remove-all-storage'")
    vol_flags = lv.VIR_STORAGE_VOL_DELETE_WITH_SNAPSHOTS if \
        b("delete-storage-volume-snapshots") else 0
    flags = 0
    managed_save, snaps_meta, nvram = b("managed-save"), b("snapshots-metadata"), b("nvram")
    managed_safe, snaps_safe = managed_save, snaps_meta
    for opt, flag in [("managed-save", "MANAGED_SAVE"),
                      ("snapshots-metadata", "SNAPSHOTS_METADATA"),
                      ("checkpoints-metadata", "CHECKPOINTS_METADATA"),
                      ("nvram", "NVRAM"), ("keep-nvram", "KEEP_NVRAM"), ("tpm", "TPM"),
                      ("keep-tpm", "KEEP_TPM")]:
        if b(opt):
            flags |= getattr(lv, f"VIR_DOMAIN_UNDEFINE_{flag}")
    dom, name = opt_domain(ctl, cmd)
    running = dom.isActive()
    has_save = has_snaps = has_snaps_meta = 0
    if not running:
        has_save = _count(ctl, dom.hasManagedSaveImage, 0)
        has_snaps = _count(ctl, dom.snapshotNum, 0)
        if has_snaps:
            try:
                has_snaps_meta = dom.snapshotNum(lv.VIR_DOMAIN_SNAPSHOT_LIST_METADATA)
                managed_safe = snaps_safe = True
            except lv.libvirtError:
                has_snaps_meta = has_snaps
    if not has_save:
        flags &= ~lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        managed_safe = True
    if has_snaps == 0:
        snaps_safe = True
    if has_snaps_meta == 0:
        flags &= ~lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        snaps_safe = True
    vols: list[tuple[str, str, Any]] = []
    if vol_string or remove_all:
        if running:
            raise ctl.fail("Storage volume deletion is supported only on stopped domains")
        if vol_string and remove_all:
            raise ctl.fail("Specified both --storage and --remove-all-storage")
        vols = _volumes(ctl, dom, vol_string)
    ok = False
    if (managed_safe and snaps_safe) or nvram:
        try:
            dom.undefineFlags(flags)
            ok = True
        except lv.libvirtError as exc:
            ctl.save_error(exc)
            if nvram or exc.get_error_code() not in (lv.VIR_ERR_NO_SUPPORT,
                                                     lv.VIR_ERR_INVALID_ARG):
                raise ctl.fail(f"Failed to undefine domain '{name}'") from exc
            ctl.reset_error()
    if not ok:
        if has_save:
            if not managed_save:
                raise ctl.fail("Refusing to undefine while domain managed save image exists")
            try:
                dom.managedSaveRemove(0)
            except lv.libvirtError as exc:
                ctl.save_error(exc)
                ctl.report_error()
                raise ctl.fail_quiet() from exc
        if has_snaps_meta:
            if snaps_meta:
                raise ctl.fail(f"Unable to remove metadata of {has_snaps_meta} snapshots")
            raise ctl.fail(f"Refusing to undefine while {has_snaps_meta} snapshots exist")
        try:
            dom.undefine()
        except lv.libvirtError as exc:
            ctl.save_error(exc)
            raise ctl.fail(f"Failed to undefine domain '{name}'") from exc
    ctl.print_extra(f"Domain '{name}' has been undefined\n")
    ret = True
    for target, source, vol in vols:
        if wipe:
            ctl.print_extra(f"Wiping volume '{target}'({source}) ... ")
            try:
                vol.wipe(0)
            except lv.libvirtError as exc:
                ctl.save_error(exc)
                ctl.error("Failed! Volume not removed.")
                ret = False
                continue
            ctl.print_extra("Done.\n")
        try:
            vol.delete(vol_flags)
        except lv.libvirtError as exc:
            ctl.save_error(exc)
            ctl.error(f"Failed to remove storage volume '{target}'({source})")
            ret = False
        else:
            ctl.print_extra(f"Volume '{target}'({source}) removed.\n")
    return ret
