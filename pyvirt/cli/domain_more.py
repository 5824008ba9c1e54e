"""Domain commands: block stats and info, scheduler, devices, saved images."""
from __future__ import annotations

from typing import Any

from lxml import etree

from .options import Cmd, command
from .pool import pretty_capacity
from .shell import Ctl
from .table import print_table
from .util import affect_flags, opt_domain, read_file, xpath_print

_BLKSTAT = [("rd_operations", "rd_req", "number of read operations:"),
            ("rd_bytes", "rd_bytes", "number of bytes read:"),
            ("wr_operations", "wr_req", "number of write operations:"),
            ("wr_bytes", "wr_bytes", "number of bytes written:"),
            ("errs", "errs", "error count:"),
            ("flush_operations", None, "number of flush operations:"),
            ("rd_total_times", None, "total duration of reads (ns):"),
            ("wr_total_times", None, "total duration of writes (ns):"),
            ("flush_total_times", None, "total duration of flushes (ns):")]


def typed_value(v: Any) -> str:
    """vshGetTypedParamValue."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:f}"
    return str(v)


@command("domblkstat")
def cmd_domblkstat(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    human = cmd.bool("human")
    dom, name = opt_domain(ctl, cmd)
    device = ctl.opt_string(cmd, "device") or ""
    out: list[str] = []
    width = 31 if human else 0
    try:
        params = dom.blockStatsFlags(device, 0)
    except lv.libvirtError as exc:
        if exc.get_error_code() != lv.VIR_ERR_NO_SUPPORT:
            raise
        with ctl.failing(f"Failed to get block stats {name} {device}"):
            stats = dom.blockStats(device)
        if human:
            out.append(f"Device: {device}\n")
            device = ""
        for (_, legacy, label), val in zip(_BLKSTAT, stats):
            if val >= 0:
                out.append(f"{device} {(label if human else legacy):<{width}} {val}\n")
        ctl.print("".join(out))
        return True
    if human:
        out.append(f"Device: {device}\n")
        device = ""
    rest = dict(params)
    for field, legacy, label in _BLKSTAT:
        if field not in rest:
            continue
        val = typed_value(rest.pop(field))
        shown = label if human else (legacy or field)
        out.append(f"{device} {shown:<{width}} {val}\n")
    out.extend(f"{device} {k} {typed_value(v)}\n" for k, v in rest.items())
    ctl.print("".join(out))
    return True


def _blkinfo_strings(info: tuple[int, int, int], human: bool) -> list[str]:
    if info == (0, 0, 0) or not any(info):
        return ["-", "-", "-"]
    if not human:
        return [str(v) for v in info]
    out = []
    for v in info:
        val, unit = pretty_capacity(v)
        out.append(f"{val:.3f} {unit}")
    return out


@command("domblkinfo")
def cmd_domblkinfo(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    ctl.exclusive(cmd, "all", "device")
    dom, _ = opt_domain(ctl, cmd)
    all_ = cmd.bool("all")
    device = ctl.opt_string_quiet(cmd, "device")
    if not all_ and device is None:
        raise ctl.fail("command 'domblkinfo' requires <device> option")
    human = cmd.bool("human")
    if all_:
        active = dom.isActive() == 1
        doc = etree.fromstring(dom.XMLDesc(0).encode())
        rows = []
        for disk in doc.findall("./devices/disk"):
            target = disk.find("target")
            tgt = target.get("dev", "") if target is not None else ""
            src = disk.find("source")
            info: tuple[int, int, int] = (0, 0, 0)
            if src is not None:
                try:
                    info = tuple(dom.blockInfo(tgt, 0))
                except lv.libvirtError as exc:
                    if not (src.get("protocol") and not active and
                            exc.get_error_code() == lv.VIR_ERR_INTERNAL_ERROR and
                            exc.get_error_domain() == lv.VIR_FROM_STORAGE):
                        raise
            rows.append([tgt, *_blkinfo_strings(info, human)])
        print_table(ctl, ["Target", "Capacity", "Allocation", "Physical"], rows)
        return True
    info = tuple(dom.blockInfo(device, 0))
    cap, alloc, phy = _blkinfo_strings(info, human)
    ctl.print(f"{'Capacity:':<15} {cap}\n{'Allocation:':<15} {alloc}\n"
              f"{'Physical:':<15} {phy}\n")
    return True


@command("schedinfo")
def cmd_schedinfo(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    current, config, live = cmd.bool("current"), cmd.bool("config"), cmd.bool("live")
    ctl.exclusive_var(current, "current", live, "live")
    ctl.exclusive_var(current, "current", config, "config")
    flags = 0
    if config:
        flags |= lv.VIR_DOMAIN_AFFECT_CONFIG
    if live:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    query = 0 if (config and live) else flags
    dom, _ = opt_domain(ctl, cmd)
    try:
        stype, nparams = dom.schedulerType()
    except lv.libvirtError:
        ctl.print(f"{'Scheduler':<15}: Unknown\n")
        return False
    ctl.print(f"{'Scheduler':<15}: {stype}\n")
    if not nparams:
        return True
    params = (dom.schedulerParametersFlags(query) if flags or current
              else dom.schedulerParameters())
    updates: dict[str, Any] = {}
    for item in cmd.argv("set"):
        key, eq, val = item.partition("=")
        if not eq:
            raise ctl.fail("Invalid syntax for --set, expecting name=value")
        updates[key] = val
    for legacy in ("weight", "cap"):
        v = ctl.opt_string(cmd, legacy)
        if v is not None:
            updates[legacy] = v
    if updates:
        typed: dict[str, Any] = {}
        for key, val in updates.items():
            if key not in params:
                raise ctl.fail(f"invalid scheduler option: {key}")
            old = params[key]
            try:
                typed[key] = type(old)(val) if not isinstance(old, bool) else val == "1"
            except ValueError:
                raise ctl.fail(f"invalid value for '{key}': {val}")
        if flags or current:
            dom.setSchedulerParametersFlags(typed, flags)
            params = dom.schedulerParametersFlags(query)
        else:
            dom.setSchedulerParameters(typed)
            params = dom.schedulerParameters()
    elif live and config:
        raise ctl.fail("cannot query both live and config at once")
    ctl.print("".join(f"{k:<15}: {typed_value(v)}\n" for k, v in params.items()))
    return True


def _device_cmd(name: str, verb: str, past: str, method: str, legacy: str | None) -> None:
    def handler(ctl: Ctl, cmd: Cmd) -> bool:
        lv = ctl.lv
        flags, cur, _cfg, _live, pers = affect_flags(ctl, cmd)
        dom, _ = opt_domain(ctl, cmd)
        path = ctl.opt_string(cmd, "file")
        assert path is not None
        if pers and dom.isActive() == 1:
            flags |= lv.VIR_DOMAIN_AFFECT_LIVE
        xml = read_file(ctl, path)
        if name == "update-device" and cmd.bool("force"):
            flags |= lv.VIR_DOMAIN_DEVICE_MODIFY_FORCE
        with ctl.failing(f"Failed to {verb} device from {path}"):
            if legacy is None or flags or cur:
                getattr(dom, method)(xml, flags)
            else:
                getattr(dom, legacy)(xml)
        ctl.print_extra(f"Device {past} successfully\n")
        return True

    command(name)(handler)


_device_cmd("attach-device", "attach", "attached", "attachDeviceFlags", "attachDevice")
_device_cmd("detach-device", "detach", "detached", "detachDeviceFlags", "detachDevice")
_device_cmd("update-device", "update", "updated", "updateDeviceFlags", None)


@command("save-image-dumpxml")
def cmd_save_image_dumpxml(ctl: Ctl, cmd: Cmd) -> bool:
    flags = ctl.lv.VIR_DOMAIN_XML_SECURE if cmd.bool("security-info") else 0
    path = ctl.opt_string(cmd, "file")
    xpath = ctl.opt_string_quiet(cmd, "xpath")
    xml = ctl.conn.saveImageGetXMLDesc(path, flags)
    return xpath_print(ctl, xml, xpath, cmd.bool("wrap"))


@command("save-image-define")
def cmd_save_image_define(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    flags = 0
    if cmd.bool("running"):
        flags |= lv.VIR_DOMAIN_SAVE_RUNNING
    if cmd.bool("paused"):
        flags |= lv.VIR_DOMAIN_SAVE_PAUSED
    path = ctl.opt_string(cmd, "file")
    xmlfile = ctl.opt_string(cmd, "xml")
    assert xmlfile is not None
    xml = read_file(ctl, xmlfile)
    with ctl.failing(f"Failed to update {path}"):
        ctl.conn.saveImageDefineXML(path, xml, flags)
    ctl.print_extra(f"State file {path} updated.\n")
    return True


_ADDR_SOURCES = ["lease", "agent", "arp"]


@command("domifaddr")
def cmd_domifaddr(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    full = cmd.bool("full")
    only = ctl.opt_string(cmd, "interface")
    src = ctl.opt_string(cmd, "source")
    source = 0
    if src is not None:
        if src not in _ADDR_SOURCES:
            raise ctl.fail(f"Unknown data source '{src}'")
        source = _ADDR_SOURCES.index(src)
    dom, _ = opt_domain(ctl, cmd)
    try:
        ifaces = dom.interfaceAddresses(source, 0)
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        raise ctl.fail("Failed to query for interfaces addresses") from exc
    ctl.print_extra(f" {'Name':<10} {'MAC address':<20} {'Protocol':<8}     Address\n"
                    + "-" * 79 + "\n")
    out = []
    for name, data in ifaces.items():
        if only and only != name:
            continue
        hwaddr = data.get("hwaddr")
        addrs = data.get("addrs") or []
        if not addrs:
            out.append(f" {name:<10} {hwaddr or 'N/A':<17}    {'N/A':<12} N/A\n")
            continue
        for j, a in enumerate(addrs):
            kind = {lv.VIR_IP_ADDR_TYPE_IPV4: "ipv4", lv.VIR_IP_ADDR_TYPE_IPV6: "ipv6"}.get(
                a.get("type"), "")
            text = f"{kind:<12} {a.get('addr')}/{a.get('prefix')}"
            if full or not j:
                out.append(f" {name:<10} {hwaddr or '':<17}    {text}\n")
            else:
                out.append(f" {'-':<10} {'-':<17}    {text}\n")
    ctl.print("".join(out))
    return True


@command("domfsinfo")
def cmd_domfsinfo(ctl: Ctl, cmd: Cmd) -> bool:
    dom, _ = opt_domain(ctl, cmd)
    try:
        info = dom.fsInfo(0)
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        raise ctl.fail("Unable to get filesystem information") from exc
    if not info:
        ctl.print_extra("No filesystems are mounted in the domain")
        return True
    rows = [[mnt, name, fstype, ",".join(targets)] for mnt, name, fstype, targets in info]
    print_table(ctl, ["Mountpoint", "Name", "Type", "Target"], rows)
    return True
