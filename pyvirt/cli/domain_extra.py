"""More domain commands: vcpus, description and metadata, block/interface stats, time."""
from __future__ import annotations

import time
from typing import Any

from lxml import etree

from .host import format_cpuset
from .options import Cmd, command
from .shell import Ctl
from .table import print_table
from .util import opt_domain

VCPU_STATES = ["offline", "running", "blocked"]


def cpu_count_collect(ctl: Ctl, dom: Any, flags: int, check_state: bool) -> int:
    """virshCPUCountCollect: -1 when not applicable, -2 on error (saved)."""
    lv = ctl.lv
    if check_state and ((flags & lv.VIR_DOMAIN_AFFECT_LIVE and dom.isActive() < 1) or
                        (flags & lv.VIR_DOMAIN_AFFECT_CONFIG and dom.isPersistent() < 1)):
        return -1
    try:
        return int(dom.vcpusFlags(flags))
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        if exc.get_error_code() not in (lv.VIR_ERR_NO_SUPPORT, lv.VIR_ERR_INVALID_ARG):
            return -2
    if flags & lv.VIR_DOMAIN_VCPU_GUEST:
        ctl.error("Failed to retrieve vCPU count from the guest")
        return -2
    ctl.reset_error()
    if not flags & (lv.VIR_DOMAIN_AFFECT_LIVE | lv.VIR_DOMAIN_AFFECT_CONFIG) and \
            dom.isActive() == 1:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    if flags & lv.VIR_DOMAIN_AFFECT_LIVE:
        if flags & lv.VIR_DOMAIN_VCPU_MAXIMUM:
            return int(dom.maxVcpus())
        return int(dom.info()[3])
    doc = etree.fromstring(dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE).encode())
    vcpu = doc.find("vcpu")
    if flags & lv.VIR_DOMAIN_VCPU_MAXIMUM:
        if vcpu is None or not (vcpu.text or "").strip().isdigit():
            ctl.error("Failed to retrieve maximum vcpu count")
            return -2
        return int(vcpu.text or "0")
    if vcpu is None or not (vcpu.get("current") or "").isdigit():
        ctl.error("Failed to retrieve current vcpu count")
        return -2
    return int(vcpu.get("current", "0"))


@command("vcpucount")
def cmd_vcpucount(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    b = cmd.bool
    maximum, active, config, live, current, guest = (b("maximum"), b("active"), b("config"),
                                                     b("live"), b("current"), b("guest"))
    all_ = not (maximum or active or current or config or live or guest)
    if not maximum and not active and current:
        current = False
    ctl.exclusive_var(live, "live", config, "config")
    ctl.exclusive_var(current, "current", live, "live")
    ctl.exclusive_var(current, "current", config, "config")
    ctl.exclusive_var(active, "active", maximum, "maximum")
    ctl.exclusive_var(guest, "guest", config, "config")
    flags = 0
    if live:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    if config:
        flags |= lv.VIR_DOMAIN_AFFECT_CONFIG
    if maximum:
        flags |= lv.VIR_DOMAIN_VCPU_MAXIMUM
    if guest:
        flags |= lv.VIR_DOMAIN_VCPU_GUEST
    dom, _ = opt_domain(ctl, cmd)
    if all_:
        c, L, M = lv.VIR_DOMAIN_AFFECT_CONFIG, lv.VIR_DOMAIN_AFFECT_LIVE, \
            lv.VIR_DOMAIN_VCPU_MAXIMUM
        vals = [cpu_count_collect(ctl, dom, f, True) for f in (c | M, c, L | M, L)]
        if -2 in vals:
            return False
        conf_max, conf_cur, live_max, live_cur = vals
        out = []
        for val, which, state in [(conf_max, "maximum", "config"), (live_max, "maximum", "live"),
                                  (conf_cur, "current", "config"), (live_cur, "current", "live")]:
            if val > 0:
                out.append(f"{which:<12} {state:<12} {val:3}\n")
        ctl.print("".join(out))
        return True
    count = cpu_count_collect(ctl, dom, flags, False)
    if count < 0:
        return False
    ctl.print(f"{count}\n")
    return True


@command("setvcpus")
def cmd_setvcpus(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    b = cmd.bool
    maximum, config, live, current, guest = (b("maximum"), b("config"), b("live"),
                                             b("current"), b("guest"))
    ctl.exclusive_var(current, "current", live, "live")
    ctl.exclusive_var(current, "current", config, "config")
    ctl.exclusive_var(guest, "guest", config, "config")
    if maximum and not config:
        raise ctl.fail("Option --config is required by option --maximum")
    flags = 0
    if config:
        flags |= lv.VIR_DOMAIN_AFFECT_CONFIG
    if live:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    if guest:
        flags |= lv.VIR_DOMAIN_VCPU_GUEST
    if maximum:
        flags |= lv.VIR_DOMAIN_VCPU_MAXIMUM
    if b("hotpluggable"):
        flags |= lv.VIR_DOMAIN_VCPU_HOTPLUGGABLE
    dom, _ = opt_domain(ctl, cmd)
    count = ctl.opt_uint(cmd, "count")
    if not count:
        raise ctl.fail("Can't set 0 processors for a VM")
    if not current and flags == 0:
        dom.setVcpus(count)
    else:
        dom.setVcpusFlags(count, flags)
    return True


def node_cpu_count(ctl: Ctl) -> int:
    try:
        return int(ctl.conn.getCPUMap(0)[0])
    except ctl.lv.libvirtError:
        ctl.reset_error()
        return int(ctl.conn.getInfo()[2])


def _affinity(bits: list[bool], maxcpu: int, pretty: bool) -> str:
    bits = (list(bits) + [False] * maxcpu)[:maxcpu]
    if pretty:
        return f"{format_cpuset(bits)} (out of {maxcpu})"
    return "".join("y" if x else "-" for x in bits)


@command("vcpuinfo")
def cmd_vcpuinfo(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    pretty = cmd.bool("pretty")
    dom, _ = opt_domain(ctl, cmd)
    maxcpu = node_cpu_count(ctl)
    info = dom.info()
    try:
        vcpus, maps = dom.vcpus()
    except lv.libvirtError:
        if info[0] != lv.VIR_DOMAIN_SHUTOFF:
            raise
        ctl.reset_error()
        pins = dom.vcpuPinInfo(lv.VIR_DOMAIN_AFFECT_CONFIG)
        blocks = []
        for n, bits in enumerate(pins):
            blocks.append(f"{'VCPU:':<15} {n}\n{'CPU:':<15} N/A\n{'State:':<15} N/A\n"
                          f"{'CPU time':<15} N/A\n{'CPU Affinity:':<15} "
                          f"{_affinity(bits, maxcpu, pretty)}\n")
        ctl.print("\n".join(blocks))
        return True
    blocks = []
    for (number, state, cputime, cpu), bits in zip(vcpus, maps):
        text = f"{'VCPU:':<15} {number}\n{'CPU:':<15} {cpu}\n"
        label = VCPU_STATES[state] if 0 <= state < len(VCPU_STATES) else "no state"
        text += f"{'State:':<15} {label}\n"
        if cputime:
            text += f"{'CPU time:':<15} {cputime / 1e9:.1f}s\n"
        text += f"{'CPU Affinity:':<15} {_affinity(bits, maxcpu, pretty)}\n"
        blocks.append(text)
    ctl.print("\n".join(blocks))
    return True


@command("vcpupin")
def cmd_vcpupin(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    config, live, current = cmd.bool("config"), cmd.bool("live"), cmd.bool("current")
    ctl.exclusive_var(current, "current", live, "live")
    ctl.exclusive_var(current, "current", config, "config")
    flags = 0
    if config:
        flags |= lv.VIR_DOMAIN_AFFECT_CONFIG
    if live:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    dom, _ = opt_domain(ctl, cmd)
    vcpu = ctl.opt_uint(cmd, "vcpu")
    cpulist = ctl.opt_string(cmd, "cpulist")
    if cpulist is None and vcpu is None and cmd.has("vcpu"):
        return False
    maxcpu = node_cpu_count(ctl)
    if cpulist is None:
        ncpus = cpu_count_collect(ctl, dom, flags | lv.VIR_DOMAIN_VCPU_MAXIMUM, True)
        if ncpus < 0:
            if ncpus == -1:
                ctl.error("cannot get vcpupin for offline domain" if flags &
                          lv.VIR_DOMAIN_AFFECT_LIVE else
                          "cannot get vcpupin for transient domain")
            return False
        if vcpu is not None and vcpu >= ncpus:
            if flags & lv.VIR_DOMAIN_AFFECT_LIVE or (
                    not flags & lv.VIR_DOMAIN_AFFECT_CONFIG and dom.isActive() == 1):
                raise ctl.fail(f"vcpu {vcpu} is out of range of live cpu count {ncpus}")
            raise ctl.fail(f"vcpu {vcpu} is out of range of persistent cpu count {ncpus}")
        pins = dom.vcpuPinInfo(flags)
        rows = [[str(i), format_cpuset(list(bits))] for i, bits in enumerate(pins)
                if vcpu is None or i == vcpu]
        print_table(ctl, ["VCPU", "CPU Affinity"], rows)
        return True
    if vcpu is None:
        raise ctl.fail("vcpupin: Missing vCPU number in pin mode.")
    cpus = parse_cpulist(ctl, cpulist, maxcpu)
    if flags == 0:
        dom.pinVcpu(vcpu, tuple(cpus))
    else:
        dom.pinVcpuFlags(vcpu, tuple(cpus), flags)
    return True


def parse_cpulist(ctl: Ctl, text: str, maxcpu: int) -> list[bool]:
    """virshParseCPUList: 'r' for all, else a cpuset like 0-2,^1,4."""
    if text == "r":
        return [True] * maxcpu
    on: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            neg = part.startswith("^")
            lo, _, hi = part.lstrip("^").partition("-")
            rng = range(int(lo), int(hi if hi else lo) + 1)
            if int(lo) < 0 or (hi and int(hi) < int(lo)) or int(hi or lo) >= 1024:
                raise ValueError
            on = on - set(rng) if neg else on | set(rng)
    except ValueError:
        raise ctl.fail(f"Invalid cpulist '{text}'")
    if not on:
        raise ctl.fail(f"Invalid cpulist '{text}'")
    if max(on) >= maxcpu:
        raise ctl.fail(f"CPU {max(on)} in cpulist '{text}' exceed the maxcpu {maxcpu}")
    return [i in on for i in range(maxcpu)]


@command("desc")
def cmd_desc(ctl: Ctl, cmd: Cmd) -> bool:
    from .domain_monitor import get_description

    lv = ctl.lv
    config, live, current = cmd.bool("config"), cmd.bool("live"), cmd.bool("current")
    title = cmd.bool("title")
    ctl.exclusive_var(current, "current", live, "live")
    ctl.exclusive_var(current, "current", config, "config")
    flags = 0
    query = 0
    if config:
        flags |= lv.VIR_DOMAIN_AFFECT_CONFIG
        query |= lv.VIR_DOMAIN_XML_INACTIVE
    if live:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    dom, _ = opt_domain(ctl, cmd)
    dom.state(0)
    kind = lv.VIR_DOMAIN_METADATA_TITLE if title else lv.VIR_DOMAIN_METADATA_DESCRIPTION
    words = cmd.argv("new-desc")
    arg = " ".join(words) if words else None
    if cmd.bool("edit"):
        raise ctl.fail("desc --edit is not supported by pyvirsh")
    if arg is not None:
        try:
            dom.setMetadata(kind, arg, None, None, flags)
        except lv.libvirtError as exc:
            ctl.save_error(exc)
            raise ctl.fail("Failed to set new domain title" if title
                           else "Failed to set new domain description") from exc
        ctl.print_extra("Domain title updated successfully" if title
                        else "Domain description updated successfully")
        return True
    desc = get_description(ctl, dom, title, query)
    if desc:
        ctl.print(desc)
    elif title:
        ctl.print_extra(f"No title for domain: {dom.name()}")
    else:
        ctl.print_extra(f"No description for domain: {dom.name()}")
    return True


@command("metadata")
def cmd_metadata(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    config, live, current = cmd.bool("config"), cmd.bool("live"), cmd.bool("current")
    ctl.exclusive_var(current, "current", live, "live")
    ctl.exclusive_var(current, "current", config, "config")
    ctl.exclusive(cmd, "edit", "set")
    ctl.exclusive(cmd, "remove", "set")
    ctl.exclusive(cmd, "remove", "edit")
    flags = 0
    if config:
        flags |= lv.VIR_DOMAIN_AFFECT_CONFIG
    if live:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    dom, _ = opt_domain(ctl, cmd)
    uri = ctl.opt_string(cmd, "uri")
    key = ctl.opt_string(cmd, "key")
    new = ctl.opt_string(cmd, "set")
    edit, rem = cmd.bool("edit"), cmd.bool("remove")
    if (new is not None or edit) and key is None:
        raise ctl.fail("namespace key is required when modifying metadata")
    if new is not None or rem:
        dom.setMetadata(lv.VIR_DOMAIN_METADATA_ELEMENT, new, key, uri, flags)
        ctl.print_extra("Metadata removed\n" if rem else "Metadata modified\n")
        return True
    if edit:
        raise ctl.fail("metadata --edit is not supported by pyvirsh")
    data = dom.metadata(lv.VIR_DOMAIN_METADATA_ELEMENT, uri, flags)
    ctl.print(f"{data}\n")
    return True


@command("domifstat")
def cmd_domifstat(ctl: Ctl, cmd: Cmd) -> bool:
    dom, name = opt_domain(ctl, cmd)
    dev = ctl.opt_string(cmd, "interface")
    with ctl.failing(f"Failed to get interface stats {name} {dev}"):
        st = dom.interfaceStats(dev)
    labels = ["rx_bytes", "rx_packets", "rx_errs", "rx_drop", "tx_bytes", "tx_packets",
              "tx_errs", "tx_drop"]
    ctl.print("".join(f"{dev} {lab} {v}\n" for lab, v in zip(labels, st) if v >= 0))
    return True


@command("domhostname")
def cmd_domhostname(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    dom, _ = opt_domain(ctl, cmd)
    src = ctl.opt_string(cmd, "source")
    flags = 0
    if src is not None:
        if src == "agent":
            flags = lv.VIR_DOMAIN_GET_HOSTNAME_AGENT
        elif src == "lease":
            flags = lv.VIR_DOMAIN_GET_HOSTNAME_LEASE
        else:
            raise ctl.fail(f"Unknown data source '{src}'")
    with ctl.failing("failed to get hostname"):
        name = dom.hostname(flags)
    ctl.print(f"{name}\n")
    return True


@command("domtime")
def cmd_domtime(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    now, pretty, sync = cmd.bool("now"), cmd.bool("pretty"), cmd.bool("sync")
    dom, _ = opt_domain(ctl, cmd)
    seconds = ctl.opt_ll(cmd, "time")
    if seconds is not None or now or sync:
        if now:
            seconds = int(time.time())
        flags = lv.VIR_DOMAIN_TIME_SYNC if sync else 0
        params: dict[str, int] = {}
        if seconds is not None:
            params = {"seconds": seconds, "nseconds": 0}
        dom.setTime(params, flags)
        return True
    got = dom.getTime(0)
    secs = int(got["seconds"])
    if pretty:
        ctl.print(f"Time: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(secs))}")
    else:
        ctl.print(f"Time: {secs}")
    return True
