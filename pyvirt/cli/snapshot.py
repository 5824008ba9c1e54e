"""Domain snapshot commands (snapshot-*)."""
from __future__ import annotations

import time
from typing import Any

from lxml import etree

from .builtin import _xml_escape as esc
from .builtin import split_commas
from .nodedev import _tree
from .options import Cmd, command
from .shell import Ctl
from .table import print_table
from .util import opt_domain, read_file, xpath_print


def _create(ctl: Ctl, dom: Any, xml: str, flags: int, src: str | None) -> bool:
    """virshSnapshotCreate, with its fallbacks for older servers."""
    lv = ctl.lv
    try:
        snap = dom.snapshotCreateXML(xml, flags)
    except lv.libvirtError as exc:
        code = exc.get_error_code()
        snap = None
        if code == lv.VIR_ERR_NO_SUPPORT and src is None and \
                flags & lv.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE:
            flags &= ~lv.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE
            try:
                snap = dom.snapshotCreateXML(xml, flags)
            except lv.libvirtError as exc2:
                exc, code = exc2, exc2.get_error_code()
        if snap is None and code == lv.VIR_ERR_INVALID_ARG and \
                flags & lv.VIR_DOMAIN_SNAPSHOT_CREATE_HALT:
            if not dom.isPersistent():
                raise ctl.fail("cannot halt after snapshot of transient domain")
            halt = dom.isActive() == 1
            flags &= ~lv.VIR_DOMAIN_SNAPSHOT_CREATE_HALT
            snap = dom.snapshotCreateXML(xml, flags)
            if halt:
                dom.destroy()
        if snap is None:
            ctl.save_error(exc)
            return False
    name = snap.getName()
    ctl.print_extra(f"Domain snapshot {name} created from '{src}'" if src
                    else f"Domain snapshot {name} created")
    return True


_CREATE_FLAGS = [("redefine", "REDEFINE"), ("current", "CURRENT"),
                 ("no-metadata", "NO_METADATA"), ("halt", "HALT"), ("disk-only", "DISK_ONLY"),
                 ("reuse-external", "REUSE_EXT"), ("quiesce", "QUIESCE"), ("atomic", "ATOMIC"),
                 ("live", "LIVE"), ("validate", "VALIDATE")]


def _flags(ctl: Ctl, cmd: Cmd) -> int:
    flags = 0
    for opt, flag in _CREATE_FLAGS:
        if cmd.has(opt) and cmd.bool(opt):
            flags |= getattr(ctl.lv, f"VIR_DOMAIN_SNAPSHOT_CREATE_{flag}")
    return flags


@command("snapshot-create")
def cmd_snapshot_create(ctl: Ctl, cmd: Cmd) -> bool:
    flags = _flags(ctl, cmd)
    dom, _ = opt_domain(ctl, cmd)
    src = ctl.opt_string(cmd, "xmlfile")
    xml = read_file(ctl, src) if src else "<domainsnapshot/>"
    return _create(ctl, dom, xml, flags, src)


def _memspec(ctl: Ctl, text: str) -> str:
    snap = file = None
    for item in split_commas(text):
        if snap is None and item.startswith("snapshot="):
            snap = item[len("snapshot="):]
        elif file is None and item.startswith("file="):
            file = item[len("file="):]
        elif file is None and item.startswith("/"):
            file = item
        else:
            raise ctl.fail(f"unable to parse memspec: {text}")
    out = "  <memory"
    if snap is not None:
        out += f" snapshot='{esc(snap)}'"
    if file is not None:
        out += f" file='{esc(file)}'"
    return out + "/>\n"


def _diskspec(ctl: Ctl, text: str) -> str:
    arr = split_commas(text)
    name, opts = arr[0], {}
    for item in arr[1:]:
        key, eq, val = item.partition("=")
        if not eq or key not in ("snapshot", "driver", "stype", "file") or key in opts:
            raise ctl.fail(f"unable to parse diskspec: {text}")
        opts[key] = val
    out = f"    <disk name='{esc(name)}'"
    if "snapshot" in opts:
        out += f" snapshot='{opts['snapshot']}'"
    is_file = True
    if "stype" in opts:
        if opts["stype"] == "block":
            is_file = False
        elif opts["stype"] != "file":
            ctl.error(f"Unknown storage type: '{opts['stype']}'")
            raise ctl.fail(f"unable to parse diskspec: {text}")
        out += f" type='{opts['stype']}'"
    if "driver" in opts or "file" in opts:
        out += ">\n"
        if "driver" in opts:
            out += f"      <driver type='{opts['driver']}'/>\n"
        if "file" in opts:
            attr = "file" if is_file else "dev"
            out += f"      <source {attr}='{esc(opts['file'])}'/>\n"
        return out + "    </disk>\n"
    return out + "/>\n"


@command("snapshot-create-as")
def cmd_snapshot_create_as(ctl: Ctl, cmd: Cmd) -> bool:
    flags = _flags(ctl, cmd)
    dom, _ = opt_domain(ctl, cmd)
    name = ctl.opt_string(cmd, "name")
    desc = ctl.opt_string(cmd, "description")
    out = ["<domainsnapshot>\n"]
    if name is not None:
        out.append(f"  <name>{esc(name)}</name>\n")
    if desc is not None:
        out.append(f"  <description>{esc(desc)}</description>\n")
    memspec = ctl.opt_string(cmd, "memspec")
    if memspec:
        out.append(_memspec(ctl, memspec))
    if cmd.has("diskspec"):
        out.append("  <disks>\n")
        out.extend(_diskspec(ctl, d) for d in cmd.argv("diskspec"))
        out.append("  </disks>\n")
    out.append("</domainsnapshot>\n")
    xml = "".join(out)
    if cmd.bool("print-xml"):
        ctl.print(f"{xml}\n")
        return True
    return _create(ctl, dom, xml, flags, None)


def lookup_snapshot(ctl: Ctl, cmd: Cmd, arg: str, dom: Any) -> tuple[Any, str]:
    """virshLookupSnapshot: the named snapshot, or the current one with --current."""
    current = cmd.bool("current")
    name = ctl.opt_string(cmd, arg)
    if current and name is not None:
        raise ctl.fail(f"--{arg} and --current are mutually exclusive")
    try:
        if name is not None:
            snap = dom.snapshotLookupByName(name, 0)
        elif current:
            snap = dom.snapshotCurrent(0)
        else:
            raise ctl.fail(f"--{arg} or --current is required")
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        ctl.report_error()
        raise ctl.fail_quiet() from exc
    return snap, snap.getName()


def snapshot_parent(ctl: Ctl, snap: Any) -> str | None:
    lv = ctl.lv
    try:
        return str(snap.getParent(0).getName())
    except lv.libvirtError as exc:
        if exc.get_error_code() == lv.VIR_ERR_NO_DOMAIN_SNAPSHOT:
            return None
        doc = etree.fromstring(snap.getXMLDesc(0).encode())
        return doc.findtext("./parent/name")


@command("snapshot-current")
def cmd_snapshot_current(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    flags = lv.VIR_DOMAIN_XML_SECURE if cmd.bool("security-info") else 0
    ctl.exclusive(cmd, "name", "snapshotname")
    dom, domname = opt_domain(ctl, cmd)
    snapname = ctl.opt_string(cmd, "snapshotname")
    if snapname is not None:
        snap = dom.snapshotLookupByName(snapname, 0)
        xml = snap.getXMLDesc(lv.VIR_DOMAIN_XML_SECURE)
        cflags = lv.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | lv.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT
        if "<state>disk-snapshot</state>" in xml:
            cflags |= lv.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        dom.snapshotCreateXML(xml, cflags)
        ctl.print_extra(f"Snapshot {snapname} set as current")
        return True
    if not dom.hasCurrentSnapshot(0):
        raise ctl.fail(f"domain '{domname}' has no current snapshot")
    snap = dom.snapshotCurrent(0)
    if cmd.bool("name"):
        ctl.print(snap.getName())
    else:
        ctl.print(snap.getXMLDesc(flags))
    return True


@command("snapshot-info")
def cmd_snapshot_info(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    dom, _ = opt_domain(ctl, cmd)
    snap, name = lookup_snapshot(ctl, cmd, "snapshotname", dom)
    out = [f"{'Name:':<15} {name}\n", f"{'Domain:':<15} {dom.name()}\n"]
    try:
        current = snap.isCurrent(0)
    except lv.libvirtError:
        current = 0
    out.append(f"{'Current:':<15} {'yes' if current > 0 else 'no'}\n")
    doc = etree.fromstring(snap.getXMLDesc(0).encode())
    state = doc.findtext("./state")
    if state is None:
        ctl.print("".join(out))
        raise ctl.fail("unexpected problem reading snapshot xml")
    out.append(f"{'State:':<15} {state}\n")
    if doc.find("./memory") is not None:
        external = bool(doc.xpath("./memory[@snapshot='external'] | "
                                  "./disks/disk[@snapshot='external']"))
    else:
        external = state == "disk-snapshot"
    out.append(f"{'Location:':<15} {'external' if external else 'internal'}\n")
    parent = doc.findtext("./parent/name")
    out.append(f"{'Parent:':<15} {parent if parent else '-'}\n")
    try:
        children = snap.numChildren(0)
    except lv.libvirtError as exc:
        ctl.print("".join(out))
        if exc.get_error_code() == lv.VIR_ERR_NO_SUPPORT:
            return True
        ctl.save_error(exc)
        return False
    out.append(f"{'Children:':<15} {children}\n")
    out.append(f"{'Descendants:':<15} "
               f"{snap.numChildren(lv.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS)}\n")
    try:
        meta = snap.hasMetadata(0)
    except lv.libvirtError:
        try:
            meta = dom.snapshotNum(lv.VIR_DOMAIN_SNAPSHOT_LIST_METADATA)
        except lv.libvirtError:
            meta = -1
    if meta >= 0:
        out.append(f"{'Metadata:':<15} {'yes' if meta else 'no'}\n")
    ctl.print("".join(out))
    return True


@command("snapshot-list")
def cmd_snapshot_list(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    b = cmd.bool
    tree, name, frm, parent, roots, current = (b("tree"), b("name"), cmd.has("from"),
                                               b("parent"), b("roots"), b("current"))
    ctl.exclusive_var(tree, "tree", name, "name")
    ctl.exclusive_var(parent, "parent", roots, "roots")
    ctl.exclusive_var(parent, "parent", tree, "tree")
    ctl.exclusive_var(roots, "roots", tree, "tree")
    ctl.exclusive_var(roots, "roots", frm, "from")
    ctl.exclusive_var(roots, "roots", current, "current")
    flags = 0
    for opt, flag in [("leaves", "LEAVES"), ("no-leaves", "NO_LEAVES"),
                      ("inactive", "INACTIVE"), ("active", "ACTIVE"),
                      ("disk-only", "DISK_ONLY"), ("internal", "INTERNAL"),
                      ("external", "EXTERNAL")]:
        if b(opt):
            if tree:
                raise ctl.fail(f"--{opt} and --tree are mutually exclusive")
            flags |= getattr(lv, f"VIR_DOMAIN_SNAPSHOT_LIST_{flag}")
    if b("topological"):
        flags |= lv.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL
    if roots:
        flags |= lv.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS
    if b("metadata"):
        flags |= lv.VIR_DOMAIN_SNAPSHOT_LIST_METADATA
    if b("no-metadata"):
        flags |= lv.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA
    if b("descendants"):
        if not frm and not current:
            raise ctl.fail("--descendants requires either --from or --current")
        flags |= lv.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS
    dom, _ = opt_domain(ctl, cmd)
    start = None
    if frm or current:
        start, _ = lookup_snapshot(ctl, cmd, "from", dom)
    snaps = list(start.listAllChildren(flags) if start is not None
                 else dom.listAllSnapshots(flags))
    parents: list[str | None] = []
    if tree:
        parents = [snapshot_parent(ctl, s) for s in snaps]
        if start is not None:
            snaps.append(start)
            parents.append(None)
    if not flags & lv.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL:
        order = sorted(range(len(snaps)), key=lambda i: snaps[i].getName().lower())
        snaps = [snaps[i] for i in order]
        parents = [parents[i] for i in order] if parents else parents
    if tree:
        names = [s.getName() for s in snaps]
        out: list[str] = []
        for i in range(len(snaps)):
            if parents[i] is None:
                _tree(out, names, parents, i, i, True, [])
        ctl.print("".join(out))
        return True
    if name:
        ctl.print("".join(f"{s.getName()}\n" for s in snaps))
        return True
    rows = []
    for s in snaps:
        try:
            doc = etree.fromstring(s.getXMLDesc(0).encode())
        except lv.libvirtError:
            continue
        state = doc.findtext("./state")
        ctime = doc.findtext("./creationTime")
        if state is None or ctime is None:
            continue
        when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(int(ctime)))
        row = [s.getName(), when, state]
        if parent:
            row.append(doc.findtext("./parent/name") or "")
        rows.append(row)
    header = ["Name", "Creation Time", "State"] + (["Parent"] if parent else [])
    print_table(ctl, header, rows)
    return True


@command("snapshot-dumpxml")
def cmd_snapshot_dumpxml(ctl: Ctl, cmd: Cmd) -> bool:
    flags = ctl.lv.VIR_DOMAIN_XML_SECURE if cmd.bool("security-info") else 0
    name = ctl.opt_string(cmd, "snapshotname")
    dom, _ = opt_domain(ctl, cmd)
    snap = dom.snapshotLookupByName(name, 0)
    return xpath_print(ctl, snap.getXMLDesc(flags), ctl.opt_string_quiet(cmd, "xpath"),
                       cmd.bool("wrap"))


@command("snapshot-parent")
def cmd_snapshot_parent(ctl: Ctl, cmd: Cmd) -> bool:
    dom, _ = opt_domain(ctl, cmd)
    snap, name = lookup_snapshot(ctl, cmd, "snapshotname", dom)
    parent = snapshot_parent(ctl, snap)
    if not parent:
        raise ctl.fail(f"snapshot '{name}' has no parent")
    ctl.print(parent)
    return True


@command("snapshot-revert")
def cmd_snapshot_revert(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    flags = 0
    for opt, flag in [("running", "RUNNING"), ("paused", "PAUSED"),
                      ("reset-nvram", "RESET_NVRAM")]:
        if cmd.bool(opt):
            flags |= getattr(lv, f"VIR_DOMAIN_SNAPSHOT_REVERT_{flag}")
    dom, _ = opt_domain(ctl, cmd)
    snap, name = lookup_snapshot(ctl, cmd, "snapshotname", dom)
    try:
        snap.revertToSnapshot(flags) if hasattr(snap, "revertToSnapshot") else \
            dom.revertToSnapshot(snap, flags)
    except lv.libvirtError as exc:
        if cmd.bool("force") and exc.get_error_code() == lv.VIR_ERR_SNAPSHOT_REVERT_RISKY:
            with ctl.failing(f"Failed to revert snapshot {name}"):
                dom.revertToSnapshot(snap, flags | lv.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE)
        else:
            ctl.save_error(exc)
            raise ctl.fail(f"Failed to revert snapshot {name}") from exc
    ctl.print_extra(f"Domain snapshot {name} reverted\n")
    return True


@command("snapshot-delete")
def cmd_snapshot_delete(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    dom, _ = opt_domain(ctl, cmd)
    snap, name = lookup_snapshot(ctl, cmd, "snapshotname", dom)
    flags = 0
    for opt, flag in [("children", "CHILDREN"), ("children-only", "CHILDREN_ONLY"),
                      ("metadata", "METADATA_ONLY")]:
        if cmd.bool(opt):
            flags |= getattr(lv, f"VIR_DOMAIN_SNAPSHOT_DELETE_{flag}")
    with ctl.failing(f"Failed to delete snapshot {name}"):
        snap.delete(flags)
    if flags & lv.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY:
        ctl.print_extra(f"Domain snapshot {name} children deleted\n")
    else:
        ctl.print_extra(f"Domain snapshot {name} deleted\n")
    return True
