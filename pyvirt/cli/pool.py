"""Storage pool commands (pool-*)."""
from __future__ import annotations

from typing import Any

from .builtin import split_commas
from .options import Cmd, command
from .shell import Ctl
from .table import print_table
from .util import read_file, xpath_print

POOL_STATES = ["inactive", "building", "running", "degraded", "inaccessible"]
POOL_TYPES = ["dir", "fs", "netfs", "logical", "disk", "iscsi", "iscsi-direct", "scsi",
              "mpath", "rbd", "sheepdog", "gluster", "zfs", "vstorage"]


def pretty_capacity(val: int) -> tuple[float, str]:
    """vshPrettyCapacity."""
    limit = 1024
    for unit in ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]:
        if val < limit:
            return val / (limit / 1024), unit
        limit *= 1024
    return val / (limit / 1024), "EiB"


def cap(val: int) -> str:
    v, u = pretty_capacity(val)
    return f"{v:.2f} {u}"


def pool_state(state: int) -> str:
    return POOL_STATES[state] if 0 <= state < len(POOL_STATES) else "unknown"


def lookup_pool(ctl: Ctl, cmd: Cmd, optname: str = "pool", by_uuid: bool = True,
                by_name: bool = True) -> tuple[Any, str]:
    """virshCommandOptPoolBy."""
    n = ctl.opt_string(cmd, optname)
    if n is None:
        raise ctl.fail(f"Failed to get option '{optname}': Mandatory option not present")
    return lookup_pool_name(ctl, n, by_uuid, by_name), n


def lookup_pool_name(ctl: Ctl, n: str, by_uuid: bool = True, by_name: bool = True) -> Any:
    pool = None
    if by_uuid and len(n) == 36:
        try:
            pool = ctl.conn.storagePoolLookupByUUIDString(n)
        except ctl.lv.libvirtError as exc:
            ctl.save_error(exc)
    if pool is None and by_name:
        try:
            pool = ctl.conn.storagePoolLookupByName(n)
        except ctl.lv.libvirtError as exc:
            ctl.save_error(exc)
    if pool is None:
        raise ctl.fail(f"failed to get pool '{n}'")
    ctl.reset_error()
    return pool


@command("pool-autostart")
def cmd_pool_autostart(ctl: Ctl, cmd: Cmd) -> bool:
    pool, name = lookup_pool(ctl, cmd)
    enable = not cmd.bool("disable")
    with ctl.failing(f"failed to mark pool {name} as autostarted" if enable
                     else f"failed to unmark pool {name} as autostarted"):
        pool.setAutostart(1 if enable else 0)
    ctl.print_extra(f"Pool {name} marked as autostarted\n" if enable
                    else f"Pool {name} unmarked as autostarted\n")
    return True


def _build_flags(ctl: Ctl, cmd: Cmd, create: bool) -> int:
    lv = ctl.lv
    build, overwrite, no_over = cmd.bool("build"), cmd.bool("overwrite"), \
        cmd.bool("no-overwrite")
    ctl.exclusive_var(overwrite, "overwrite", no_over, "no-overwrite")
    flags = 0
    if create:
        if build:
            flags |= lv.VIR_STORAGE_POOL_CREATE_WITH_BUILD
        if overwrite:
            flags |= lv.VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE
        if no_over:
            flags |= lv.VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE
    else:
        if overwrite:
            flags |= lv.VIR_STORAGE_POOL_BUILD_OVERWRITE
        if no_over:
            flags |= lv.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE
    return flags


@command("pool-create")
def cmd_pool_create(ctl: Ctl, cmd: Cmd) -> bool:
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    flags = _build_flags(ctl, cmd, True)
    xml = read_file(ctl, path)
    with ctl.failing(f"Failed to create pool from {path}"):
        pool = ctl.conn.storagePoolCreateXML(xml, flags)
    ctl.print_extra(f"Pool {pool.name()} created from {path}\n")
    return True


def build_pool_xml(ctl: Ctl, cmd: Cmd) -> tuple[str, str]:
    """virshBuildPoolXML: the pool XML from the *-as options."""
    ctl.exclusive(cmd, "secret-usage", "secret-uuid")
    g = {k: ctl.opt_string(cmd, k) for k in [
        "name", "type", "source-host", "source-path", "source-dev", "source-name",
        "source-format", "target", "auth-type", "auth-username", "secret-usage",
        "secret-uuid", "adapter-name", "adapter-wwnn", "adapter-wwpn", "adapter-parent",
        "adapter-parent-wwnn", "adapter-parent-wwpn", "adapter-parent-fabric-wwn",
        "source-protocol-ver", "source-initiator"]}
    out = [f"<pool type='{g['type']}'>\n", f"  <name>{g['name']}</name>\n"]
    if (g["source-host"] or g["source-path"] or g["source-dev"] or g["source-initiator"]
            or g["source-format"] or g["source-name"]
            or (g["adapter-wwnn"] and g["adapter-wwpn"]) or g["adapter-name"]):
        out.append("  <source>\n")
        if g["source-host"]:
            out.append(f"    <host name='{g['source-host']}'/>\n")
        if g["source-path"]:
            out.append(f"    <dir path='{g['source-path']}'/>\n")
        if g["source-dev"]:
            out.append(f"    <device path='{g['source-dev']}'/>\n")
        if g["source-initiator"]:
            out.append(f"    <initiator>\n      <iqn name='{g['source-initiator']}'/>\n"
                       "    </initiator>\n")
        if g["adapter-wwnn"] and g["adapter-wwpn"]:
            a = "    <adapter type='fc_host'"
            if g["adapter-parent"]:
                a += f" parent='{g['adapter-parent']}'"
            elif g["adapter-parent-wwnn"] and g["adapter-parent-wwpn"]:
                a += (f" parent_wwnn='{g['adapter-parent-wwnn']}'"
                      f" parent_wwpn='{g['adapter-parent-wwpn']}'")
            elif g["adapter-parent-fabric-wwn"]:
                a += f" parent_fabric_wwn='{g['adapter-parent-fabric-wwn']}'"
            out.append(a + f" wwnn='{g['adapter-wwnn']}' wwpn='{g['adapter-wwpn']}'/>\n")
        elif g["adapter-name"]:
            out.append(f"    <adapter type='scsi_host' name='{g['adapter-name']}'/>\n")
        if g["auth-type"] and g["auth-username"] and (g["secret-usage"] or g["secret-uuid"]):
            out.append(f"    <auth type='{g['auth-type']}' username='{g['auth-username']}'>\n")
            if g["secret-usage"]:
                out.append(f"      <secret usage='{g['secret-usage']}'/>\n")
            else:
                out.append(f"      <secret uuid='{g['secret-uuid']}'/>\n")
            out.append("    </auth>\n")
        if g["source-format"]:
            out.append(f"    <format type='{g['source-format']}'/>\n")
        if g["source-name"]:
            out.append(f"    <name>{g['source-name']}</name>\n")
        if g["source-protocol-ver"]:
            out.append(f"    <protocol ver='{g['source-protocol-ver']}'/>\n")
        out.append("  </source>\n")
    if g["target"]:
        out.append(f"  <target>\n    <path>{g['target']}</path>\n  </target>\n")
    out.append("</pool>\n")
    return str(g["name"]), "".join(out)


@command("pool-create-as")
def cmd_pool_create_as(ctl: Ctl, cmd: Cmd) -> bool:
    flags = _build_flags(ctl, cmd, True)
    name, xml = build_pool_xml(ctl, cmd)
    if cmd.bool("print-xml"):
        ctl.print(xml)
        return True
    with ctl.failing(f"Failed to create pool {name}"):
        ctl.conn.storagePoolCreateXML(xml, flags)
    ctl.print_extra(f"Pool {name} created\n")
    return True


@command("pool-define")
def cmd_pool_define(ctl: Ctl, cmd: Cmd) -> bool:
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    xml = read_file(ctl, path)
    flags = ctl.lv.VIR_STORAGE_POOL_DEFINE_VALIDATE if cmd.bool("validate") else 0
    with ctl.failing(f"Failed to define pool from {path}"):
        pool = ctl.conn.storagePoolDefineXML(xml, flags)
    ctl.print_extra(f"Pool {pool.name()} defined from {path}\n")
    return True


@command("pool-define-as")
def cmd_pool_define_as(ctl: Ctl, cmd: Cmd) -> bool:
    name, xml = build_pool_xml(ctl, cmd)
    if cmd.bool("print-xml"):
        ctl.print(xml)
        return True
    with ctl.failing(f"Failed to define pool {name}"):
        ctl.conn.storagePoolDefineXML(xml, 0)
    ctl.print_extra(f"Pool {name} defined\n")
    return True


def _simple(cmdname: str, verb: str, done: str, call: str) -> None:
    def handler(ctl: Ctl, cmd: Cmd) -> bool:
        pool, name = lookup_pool(ctl, cmd)
        flags = _build_flags(ctl, cmd, False) if cmdname == "pool-build" else 0
        with ctl.failing(f"Failed to {verb} pool {name}"):
            fn = getattr(pool, call)
            fn() if call in ("destroy", "undefine") else fn(flags)
        ctl.print_extra(f"Pool {name} {done}\n")
        return True

    command(cmdname)(handler)


_simple("pool-build", "build", "built", "build")
_simple("pool-destroy", "destroy", "destroyed", "destroy")
_simple("pool-delete", "delete", "deleted", "delete")
_simple("pool-refresh", "refresh", "refreshed", "refresh")
_simple("pool-undefine", "undefine", "has been undefined", "undefine")


@command("pool-start")
def cmd_pool_start(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    pool, name = lookup_pool(ctl, cmd)
    flags = _build_flags(ctl, cmd, True)
    with ctl.failing(f"Failed to start pool {name}"):
        pool.create(flags)
    ctl.print_extra(f"Pool {name} started\n")
    return True


@command("pool-dumpxml")
def cmd_pool_dumpxml(ctl: Ctl, cmd: Cmd) -> bool:
    pool, _ = lookup_pool(ctl, cmd)
    flags = ctl.lv.VIR_STORAGE_XML_INACTIVE if cmd.bool("inactive") else 0
    return xpath_print(ctl, pool.XMLDesc(flags), ctl.opt_string_quiet(cmd, "xpath"),
                       cmd.bool("wrap"))


@command("pool-info")
def cmd_pool_info(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    pool, _ = lookup_pool(ctl, cmd)
    out = [f"{'Name:':<15} {pool.name()}\n", f"{'UUID:':<15} {pool.UUIDString()}\n"]
    try:
        state, capacity, alloc, avail = pool.info()
    except lv.libvirtError as exc:
        ctl.print("".join(out))
        ctl.save_error(exc)
        return False
    out.append(f"{'State:':<15} {pool_state(state)}\n")
    try:
        out.append(f"{'Persistent:':<15} {'yes' if pool.isPersistent() else 'no'}\n")
    except lv.libvirtError:
        out.append(f"{'Persistent:':<15} unknown\n")
    try:
        out.append(f"{'Autostart:':<15} {'yes' if pool.autostart() else 'no'}\n")
    except lv.libvirtError:
        out.append(f"{'Autostart:':<15} no autostart\n")
    if state in (lv.VIR_STORAGE_POOL_RUNNING, lv.VIR_STORAGE_POOL_DEGRADED):
        for label, val in [("Capacity:", capacity), ("Allocation:", alloc),
                           ("Available:", avail)]:
            out.append(f"{label:<15} {val}\n" if cmd.bool("bytes")
                       else f"{label:<15} {cap(val)}\n")
    ctl.print("".join(out))
    return True


@command("pool-list")
def cmd_pool_list(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    b = cmd.bool
    details, inactive, all_ = b("details"), b("inactive"), b("all")
    ctl.exclusive_var(all_, "all", inactive, "inactive")
    flags = lv.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE
    if inactive:
        flags = lv.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE
    if all_:
        flags = (lv.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE
                 | lv.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE)
    for opt, flag in [("autostart", "AUTOSTART"), ("no-autostart", "NO_AUTOSTART"),
                      ("persistent", "PERSISTENT"), ("transient", "TRANSIENT")]:
        if b(opt):
            flags |= getattr(lv, f"VIR_CONNECT_LIST_STORAGE_POOLS_{flag}")
    typ = ctl.opt_string(cmd, "type")
    ctl.exclusive(cmd, "details", "uuid")
    ctl.exclusive(cmd, "details", "name")
    if typ is not None:
        for t in split_commas(typ):
            if t not in POOL_TYPES:
                raise ctl.fail(f"Invalid pool type '{t}'")
            flags |= getattr(lv, "VIR_CONNECT_LIST_STORAGE_POOLS_" +
                             t.upper().replace("-", "_"))
    with ctl.failing("Failed to list pools"):
        pools = sorted(ctl.conn.listAllStoragePools(flags), key=lambda p: p.name().lower())
    rows = []
    for p in pools:
        try:
            auto = "yes" if p.autostart() else "no"
        except lv.libvirtError:
            auto = "no autostart"
        persistent = ""
        if details:
            try:
                persistent = "yes" if p.isPersistent() else "no"
            except lv.libvirtError:
                persistent = "unknown"
        try:
            state, capacity, alloc, avail = p.info()
        except lv.libvirtError:
            ctl.error("Could not retrieve pool information")
            rows.append([p.name(), "unknown", auto, persistent, "unknown", "unknown",
                         "unknown"])
            continue
        if details:
            if state in (lv.VIR_STORAGE_POOL_RUNNING, lv.VIR_STORAGE_POOL_DEGRADED):
                caps = [cap(capacity), cap(alloc), cap(avail)]
            else:
                caps = ["-", "-", "-"]
            rows.append([p.name(), pool_state(state), auto, persistent, *caps])
        else:
            rows.append([p.name(), "active" if p.isActive() else "inactive", auto])
    if not details:
        if b("uuid") or b("name"):
            out = []
            for p in pools:
                if b("uuid"):
                    out.append(f"{p.UUIDString():<36}" + (" " if b("name") else "\n"))
                if b("name"):
                    out.append(f"{p.name():<20}\n")
            ctl.print("".join(out))
            return True
        print_table(ctl, ["Name", "State", "Autostart"], [r[:3] for r in rows])
        return True
    print_table(ctl, ["Name", "State", "Autostart", "Persistent", "Capacity", "Allocation",
                      "Available"], rows)
    return True


@command("pool-name")
def cmd_pool_name(ctl: Ctl, cmd: Cmd) -> bool:
    pool, _ = lookup_pool(ctl, cmd, by_name=False)
    ctl.print(f"{pool.name()}\n")
    return True


@command("pool-uuid")
def cmd_pool_uuid(ctl: Ctl, cmd: Cmd) -> bool:
    pool, _ = lookup_pool(ctl, cmd, by_uuid=False)
    ctl.print(f"{pool.UUIDString()}\n")
    return True


@command("pool-capabilities")
def cmd_pool_capabilities(ctl: Ctl, cmd: Cmd) -> bool:
    with ctl.failing("failed to get storage pool capabilities"):
        caps = ctl.conn.getStoragePoolCapabilities(0)
    ctl.print(f"{caps}\n")
    return True
