"""Domain monitoring commands: list, dominfo, domstate, domblklist, domiflist, stats."""
from __future__ import annotations

from typing import Any

from lxml import etree

from .options import Cmd, command
from .shell import Ctl
from .table import print_table
from .util import opt_domain, reason_str, state_str


def domain_state(ctl: Ctl, dom: Any) -> tuple[int, int]:
    st = dom.state(0)
    return int(st[0]), int(st[1])


def _sort_key(dom: Any) -> tuple[int, int, str]:
    ident = dom.ID()
    if ident == -1 or ident == 2**32 - 1:
        return (1, 0, dom.name().lower())
    return (0, ident, "")


def get_description(ctl: Ctl, dom: Any, title: bool, flags: int = 0) -> str:
    lv = ctl.lv
    kind = lv.VIR_DOMAIN_METADATA_TITLE if title else lv.VIR_DOMAIN_METADATA_DESCRIPTION
    try:
        return str(dom.metadata(kind, None, flags))
    except lv.libvirtError as exc:
        if exc.get_error_code() == lv.VIR_ERR_NO_DOMAIN_METADATA:
            return ""
        raise


def _id_str(dom: Any) -> str:
    ident = dom.ID()
    return "-" if ident in (-1, 2**32 - 1) else str(ident)


def collect_domains(ctl: Ctl, flags: int) -> list[Any]:
    """virshDomainListCollect: listAllDomains, filtering client-side if flags are refused."""
    lv = ctl.lv
    try:
        return list(ctl.conn.listAllDomains(flags))
    except lv.libvirtError as exc:
        if exc.get_error_code() != lv.VIR_ERR_INVALID_ARG:
            ctl.save_error(exc)
            raise ctl.fail("Failed to list domains") from exc
    base = flags & (lv.VIR_CONNECT_LIST_DOMAINS_ACTIVE | lv.VIR_CONNECT_LIST_DOMAINS_INACTIVE)
    with ctl.failing("Failed to list domains"):
        doms = list(ctl.conn.listAllDomains(base))

    def has(*names: str) -> bool:
        return any(flags & getattr(lv, f"VIR_CONNECT_LIST_DOMAINS_{n}") for n in names)

    def want(a: str, b: str, value: bool) -> bool:
        return bool((has(a) and value) or (has(b) and not value))

    out = []
    for dom in doms:
        if has("PERSISTENT", "TRANSIENT"):
            with ctl.failing("Failed to get domain persistence info"):
                if not want("PERSISTENT", "TRANSIENT", bool(dom.isPersistent())):
                    continue
        if has("RUNNING", "PAUSED", "SHUTOFF", "OTHER"):
            with ctl.failing("Failed to get domain state"):
                st = dom.state(0)[0]
            if not ((has("RUNNING") and st == lv.VIR_DOMAIN_RUNNING)
                    or (has("PAUSED") and st == lv.VIR_DOMAIN_PAUSED)
                    or (has("SHUTOFF") and st == lv.VIR_DOMAIN_SHUTOFF)
                    or (has("OTHER") and st not in (lv.VIR_DOMAIN_RUNNING,
                                                    lv.VIR_DOMAIN_PAUSED,
                                                    lv.VIR_DOMAIN_SHUTOFF))):
                continue
        if has("AUTOSTART", "NO_AUTOSTART"):
            with ctl.failing("Failed to get domain autostart state"):
                if not want("AUTOSTART", "NO_AUTOSTART", bool(dom.autostart())):
                    continue
        if has("MANAGEDSAVE", "NO_MANAGEDSAVE"):
            with ctl.failing("Failed to check for managed save image"):
                if not want("MANAGEDSAVE", "NO_MANAGEDSAVE", bool(dom.hasManagedSaveImage(0))):
                    continue
        if has("HAS_SNAPSHOT", "NO_SNAPSHOT"):
            with ctl.failing("Failed to get snapshot count"):
                if not want("HAS_SNAPSHOT", "NO_SNAPSHOT", dom.snapshotNum(0) > 0):
                    continue
        if has("HAS_CHECKPOINT", "NO_CHECKPOINT"):
            with ctl.failing("Failed to get checkpoint count"):
                if not want("HAS_CHECKPOINT", "NO_CHECKPOINT",
                            len(dom.listAllCheckpoints(0)) > 0):
                    continue
        out.append(dom)
    return out


@command("list")
def cmd_list(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    b = cmd.bool
    flags = lv.VIR_CONNECT_LIST_DOMAINS_ACTIVE
    if b("inactive") or b("state-shutoff"):
        flags = lv.VIR_CONNECT_LIST_DOMAINS_INACTIVE
    if b("all"):
        flags = lv.VIR_CONNECT_LIST_DOMAINS_INACTIVE | lv.VIR_CONNECT_LIST_DOMAINS_ACTIVE
    for opt, flag in [("persistent", "PERSISTENT"), ("transient", "TRANSIENT"),
                      ("with-managed-save", "MANAGEDSAVE"),
                      ("without-managed-save", "NO_MANAGEDSAVE"),
                      ("autostart", "AUTOSTART"), ("no-autostart", "NO_AUTOSTART"),
                      ("with-snapshot", "HAS_SNAPSHOT"), ("without-snapshot", "NO_SNAPSHOT"),
                      ("with-checkpoint", "HAS_CHECKPOINT"),
                      ("without-checkpoint", "NO_CHECKPOINT"),
                      ("state-running", "RUNNING"), ("state-paused", "PAUSED"),
                      ("state-shutoff", "SHUTOFF"), ("state-other", "OTHER")]:
        if b(opt):
            flags |= getattr(lv, f"VIR_CONNECT_LIST_DOMAINS_{flag}")
    ctl.exclusive(cmd, "table", "name")
    ctl.exclusive(cmd, "table", "uuid")
    ctl.exclusive(cmd, "table", "id")
    opt_uuid, opt_name, opt_id = b("uuid"), b("name"), b("id")
    opt_table = b("table") or not (opt_uuid or opt_name or opt_id)
    doms = sorted(collect_domains(ctl, flags), key=_sort_key)
    rows: list[list[str]] = []
    out: list[str] = []
    for dom in doms:
        id_buf = _id_str(dom)
        if opt_table:
            try:
                state = domain_state(ctl, dom)[0]
            except lv.libvirtError:
                continue
            label = state_str(state)
            if b("managed-save") and state == lv.VIR_DOMAIN_SHUTOFF and \
                    dom.hasManagedSaveImage(0) > 0:
                label = "saved"
            row = [id_buf, dom.name(), label]
            if b("title"):
                row.append(get_description(ctl, dom, True))
            rows.append(row)
        else:
            parts: list[str] = []
            if opt_uuid:
                parts.append(dom.UUIDString())
            if opt_id:
                if id_buf == "-" and not opt_uuid and not opt_name:
                    continue
                parts.append(id_buf)
            if opt_name:
                parts.append(dom.name())
            out.append(" ".join(parts) + "\n")
    if opt_table:
        header = ["Id", "Name", "State"] + (["Title"] if b("title") else [])
        print_table(ctl, header, rows)
    else:
        ctl.print("".join(out))
    return True


def _row(label: str, value: object) -> str:
    return f"{label:<15} {value}\n"


@command("dominfo")
def cmd_dominfo(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    dom, _ = opt_domain(ctl, cmd)
    out: list[str] = [_row("Id:", _id_str(dom)), _row("Name:", dom.name()),
                      _row("UUID:", dom.UUIDString())]
    try:
        out.append(_row("OS Type:", dom.OSType()))
    except lv.libvirtError:
        ctl.reset_error()
    ret = True
    try:
        info = dom.info()
        out.append(_row("State:", state_str(info[0])))
        out.append(_row("CPU(s):", info[3]))
        if info[4]:
            out.append(_row("CPU time:", f"{info[4] / 1e9:.1f}s"))
        if info[1] != 2**32 - 1:
            out.append(_row("Max memory:", f"{info[1]} KiB"))
        else:
            out.append(_row("Max memory:", "no limit"))
        out.append(_row("Used memory:", f"{info[2]} KiB"))
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        ret = False
    try:
        out.append(_row("Persistent:", "yes" if dom.isPersistent() else "no"))
    except lv.libvirtError:
        out.append(_row("Persistent:", "unknown"))
    try:
        out.append(_row("Autostart:", "enable" if dom.autostart() else "disable"))
    except lv.libvirtError:
        pass
    try:
        out.append(_row("Managed save:", "yes" if dom.hasManagedSaveImage(0) else "no"))
    except lv.libvirtError:
        out.append(_row("Managed save:", "unknown"))
    try:
        model = ctl.conn.getSecurityModel()
    except lv.libvirtError as exc:
        if exc.get_error_code() != lv.VIR_ERR_NO_SUPPORT:
            ctl.print("".join(out))
            ctl.save_error(exc)
            return False
        model = None
    if model and model[0]:
        out.append(_row("Security model:", model[0]))
        out.append(_row("Security DOI:", model[1]))
        try:
            label = dom.securityLabel()
        except lv.libvirtError as exc:
            ctl.print("".join(out))
            ctl.save_error(exc)
            return False
        if label and label[0]:
            mode = "enforcing" if label[1] else "permissive"
            out.append(_row("Security label:", f"{label[0]} ({mode})"))
    try:
        msgs = dom.messages(0) if hasattr(dom, "messages") else []
    except lv.libvirtError:
        msgs = []
        ctl.reset_error()
    for i, m in enumerate(msgs or []):
        out.append(_row("Messages:" if i == 0 else "", m))
    ctl.print("".join(out))
    return ret


@command("domstate")
def cmd_domstate(ctl: Ctl, cmd: Cmd) -> bool:
    dom, _ = opt_domain(ctl, cmd)
    state, reason = domain_state(ctl, dom)
    if cmd.bool("reason"):
        ctl.print(f"{state_str(state)} ({reason_str(state, reason)})\n")
    else:
        ctl.print(f"{state_str(state)}\n")
    return True


def _xml(ctl: Ctl, dom: Any, flags: int = 0) -> Any:
    return etree.fromstring(dom.XMLDesc(flags).encode())


@command("domblklist")
def cmd_domblklist(ctl: Ctl, cmd: Cmd) -> bool:
    details = cmd.bool("details")
    flags = ctl.lv.VIR_DOMAIN_XML_INACTIVE if cmd.bool("inactive") else 0
    dom, _ = opt_domain(ctl, cmd)
    doc = _xml(ctl, dom, flags)
    header = (["Type", "Device", "Target", "Source"] if details else ["Target", "Source"])
    rows = []
    for disk in doc.findall("./devices/disk"):
        typ = disk.get("type")
        device = disk.get("device")
        target = disk.find("target")
        tgt = target.get("dev") if target is not None else None
        if tgt is None:
            raise ctl.fail("unable to query block list")
        src = disk.find("source")
        source = None
        if src is not None:
            for attr in ("file", "dev", "dir", "name", "volume"):
                if src.get(attr) is not None:
                    source = src.get(attr)
                    if attr == "volume" and src.get("pool"):
                        source = f"{src.get('pool')}/{src.get('volume')}"
                    break
        if details:
            rows.append([typ or "", device or "", tgt, source or "-"])
        else:
            rows.append([tgt, source or "-"])
    print_table(ctl, header, rows)
    return True


@command("domiflist")
def cmd_domiflist(ctl: Ctl, cmd: Cmd) -> bool:
    flags = ctl.lv.VIR_DOMAIN_XML_INACTIVE if cmd.bool("inactive") else 0
    dom, _ = opt_domain(ctl, cmd)
    doc = _xml(ctl, dom, flags)
    rows = []
    for iface in doc.findall("./devices/interface"):
        typ = iface.get("type") or ""
        src = iface.find("source")
        source = "-"
        if src is not None:
            source = src.get("bridge") or src.get("dev") or src.get("network") or "-"
        tgt = iface.find("target")
        target = tgt.get("dev") if tgt is not None and tgt.get("dev") else "-"
        model = iface.find("model")
        mtype = model.get("type") if model is not None and model.get("type") else "-"
        mac = iface.find("mac")
        addr = mac.get("address") if mac is not None and mac.get("address") else "-"
        rows.append([target, typ, source, mtype, addr])
    print_table(ctl, ["Interface", "Type", "Source", "Model", "MAC"], rows)
    return True


@command("dommemstat")
def cmd_dommemstat(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    config, live, current = cmd.bool("config"), cmd.bool("live"), cmd.bool("current")
    ctl.exclusive_var(current, "current", live, "live")
    ctl.exclusive_var(current, "current", config, "config")
    flags = 0
    if config:
        flags |= lv.VIR_DOMAIN_AFFECT_CONFIG
    if live:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    dom, name = opt_domain(ctl, cmd)
    if not (current or live or config) and dom.isActive() == 1:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    period = ctl.opt_int(cmd, "period")
    if period is not None:
        if period < 0:
            raise ctl.fail(f"Invalid collection period value '{period}'")
        with ctl.failing("Unable to change balloon collection period."):
            dom.setMemoryStatsPeriod(period, flags)
        return True
    with ctl.failing(f"Failed to get memory statistics for domain {name}"):
        stats = dom.memoryStats()
    order = ["swap_in", "swap_out", "major_fault", "minor_fault", "unused", "available",
             "usable", "actual", "rss", "last_update", "disk_caches", "hugetlb_pgalloc",
             "hugetlb_pgfail"]
    ctl.print("".join(f"{k} {v}\n" for k, v in stats.items() if k in order))
    return True


CONTROL_STATES = ["ok", "background job", "occupied", "error"]
CONTROL_ERRORS = ["", "unknown", "monitor failure", "internal (locking) error"]
IO_ERRORS = ["no error", "unspecified error", "no space"]


@command("domcontrol")
def cmd_domcontrol(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    dom, _ = opt_domain(ctl, cmd)
    state, details, state_time = dom.controlInfo(0)

    def label(table: list[str], i: int) -> str:
        return table[i] if 0 <= i < len(table) and table[i] else "unknown"

    if state not in (lv.VIR_DOMAIN_CONTROL_OK, lv.VIR_DOMAIN_CONTROL_ERROR):
        ctl.print(f"{label(CONTROL_STATES, state)} ({state_time / 1000.0:0.3f}s)\n")
    elif state == lv.VIR_DOMAIN_CONTROL_ERROR and details > 0:
        ctl.print(f"{label(CONTROL_STATES, state)}: {label(CONTROL_ERRORS, details)}\n")
    else:
        ctl.print(f"{label(CONTROL_STATES, state)}\n")
    return True


@command("domblkerror")
def cmd_domblkerror(ctl: Ctl, cmd: Cmd) -> bool:
    dom, _ = opt_domain(ctl, cmd)
    errors = dom.diskErrors(0)
    if not errors:
        ctl.print("No errors found\n")
        return True
    ctl.print("".join(f"{disk}: {IO_ERRORS[e] if 0 <= e < len(IO_ERRORS) else 'unknown'}\n"
                      for disk, e in errors.items()))
    return True


@command("domif-getlink")
def cmd_domif_getlink(ctl: Ctl, cmd: Cmd) -> bool:
    import re

    iface = ctl.opt_string(cmd, "interface")
    assert iface is not None
    flags = ctl.lv.VIR_DOMAIN_XML_INACTIVE if cmd.bool("config") else 0
    dom, _ = opt_domain(ctl, cmd)
    doc = _xml(ctl, dom, flags)
    mac = ""
    if re.match(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$", iface):
        mac = ":".join(f"{int(p, 16):02x}" for p in iface.split(":"))
    found = [i for i in doc.findall("./devices/interface")
             if (i.find("mac") is not None and i.find("mac").get("address") == mac) or
             (i.find("target") is not None and i.find("target").get("dev") == iface)]
    if not found:
        raise ctl.fail(f"Interface (mac: {mac}) not found." if mac
                       else f"Interface (dev: {iface}) not found.")
    if len(found) > 1:
        raise ctl.fail("multiple matching interfaces found")
    link = found[0].find("link")
    state = link.get("state") if link is not None and link.get("state") else "up"
    ctl.print(f"{iface} {state}")
    return True


def _cpu_stats_field(name: str, value: Any) -> str:
    """vshCPUStatsPrintField: times in seconds with nanoseconds, anything else as is."""
    if name in ("cpu_time", "vcpu_time", "user_time", "system_time") and isinstance(value, int):
        return f"\t{name:<12} {value // 1_000_000_000:9d}.{value % 1_000_000_000:09d} seconds\n"
    return f"\t{name:<12} {value}\n"


@command("cpu-stats")
def cmd_cpu_stats(ctl: Ctl, cmd: Cmd) -> bool:
    dom, name = opt_domain(ctl, cmd)
    show_total = cmd.bool("total")
    start, count = ctl.opt_int(cmd, "start"), ctl.opt_int(cmd, "count")
    if start is not None and start < 0:
        raise ctl.fail("Invalid value for start CPU")
    if count is not None and count < 0:
        raise ctl.fail("Invalid value for number of CPUs to show")
    show_per_cpu = start is not None or count is not None
    if not show_total and not show_per_cpu:
        show_total = show_per_cpu = True
    cpu = start or 0
    out: list[str] = []
    with ctl.failing(f"Failed to retrieve CPU statistics for domain '{name}'"):
        if show_per_cpu:
            per_cpu = dom.getCPUStats(False)
            max_id = len(per_cpu)
            if cpu >= max_id:
                raise ctl.fail(f"Start CPU {cpu} is out of range (min: 0, max: {max_id - 1})")
            if count is None or count > max_id:
                if count is not None:
                    out.append(f"Only {max_id} CPUs available to show\n")
                count = max_id - cpu
            for i, stats in enumerate(per_cpu[cpu:cpu + count]):
                if stats:
                    out.append(f"CPU{cpu + i}:\n")
                    out += [_cpu_stats_field(k, v) for k, v in stats.items()]
        if show_total:
            (total,) = dom.getCPUStats(True)
            out.append("Total:\n")
            out += [_cpu_stats_field(k, v) for k, v in total.items()]
    ctl.print("".join(out))
    return True
