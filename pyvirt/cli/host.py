"""Host and hypervisor commands: nodeinfo, version, capabilities, free memory, CPU models."""
from __future__ import annotations

from lxml import etree

from .options import Cmd, command
from .shell import UINT_MAX, Ctl
from .util import read_file


@command("nodeinfo")
def cmd_nodeinfo(ctl: Ctl, cmd: Cmd) -> bool:
    native = getattr(ctl.conn, "get_info", None)  # pyvirt's own call keeps memory in KiB, as virsh prints it
    with ctl.failing("failed to get node information"):
        if native is not None:
            model, mem_kib, cpus, mhz, nodes, sockets, cores, threads = native()
        else:
            model, mem, cpus, mhz, nodes, sockets, cores, threads = ctl.conn.getInfo()
            mem_kib = mem * 1024
    out = [f"{'CPU model:':<20} {model}\n", f"{'CPU(s):':<20} {cpus}\n"]
    if mhz:
        out.append(f"{'CPU frequency:':<20} {mhz} MHz\n")
    out += [f"{'CPU socket(s):':<20} {sockets}\n", f"{'Core(s) per socket:':<20} {cores}\n",
            f"{'Thread(s) per core:':<20} {threads}\n", f"{'NUMA cell(s):':<20} {nodes}\n",
            f"{'Memory size:':<20} {mem_kib} KiB\n"]
    ctl.print("".join(out))
    return True


@command("hostname")
def cmd_hostname(ctl: Ctl, cmd: Cmd) -> bool:
    with ctl.failing("failed to get hostname"):
        name = ctl.conn.getHostname()
    ctl.print(f"{name}\n")
    return True


@command("uri")
def cmd_uri(ctl: Ctl, cmd: Cmd) -> bool:
    with ctl.failing("failed to get URI"):
        uri = ctl.conn.getURI()
    ctl.print(f"{uri}\n")
    return True


def _ver(v: int) -> str:
    return f"{v // 1000000}.{v % 1000000 // 1000}.{v % 1000}"


@command("version")
def cmd_version(ctl: Ctl, cmd: Cmd) -> bool:
    with ctl.failing("failed to get hypervisor type"):
        hv = ctl.conn.getType()
    out = ["Compiled against library: libvirt 9.0.0\n"]
    with ctl.failing("failed to get the library version"):
        got = ctl.lv.getVersion(hv)
    lib, api = got if isinstance(got, tuple) else (got, got)
    out.append(f"Using library: libvirt {_ver(lib)}\n")
    out.append(f"Using API: {hv} {_ver(api)}\n")
    ctl.print("".join(out))
    with ctl.failing("failed to get the hypervisor version"):
        hvv = ctl.conn.getVersion()
    if hvv == 0:
        ctl.print(f"Cannot extract running {hv} hypervisor version\n")
    else:
        ctl.print(f"Running hypervisor: {hv} {_ver(hvv)}\n")
    if cmd.bool("daemon"):
        try:
            d = ctl.conn.getLibVersion()
            ctl.print(f"Running against daemon: {_ver(d)}\n")
        except ctl.lv.libvirtError as exc:
            ctl.save_error(exc)
            ctl.error("failed to get the daemon version")
    return True


@command("capabilities")
def cmd_capabilities(ctl: Ctl, cmd: Cmd) -> bool:
    with ctl.failing("failed to get capabilities"):
        caps = ctl.conn.getCapabilities()
    ctl.print(f"{caps}\n")
    return True


@command("domcapabilities")
def cmd_domcapabilities(ctl: Ctl, cmd: Cmd) -> bool:
    virttype = ctl.opt_string(cmd, "virttype")
    emulatorbin = ctl.opt_string(cmd, "emulatorbin")
    arch = ctl.opt_string(cmd, "arch")
    machine = ctl.opt_string(cmd, "machine")
    with ctl.failing("failed to get emulator capabilities"):
        caps = ctl.conn.getDomainCapabilities(emulatorbin, arch, machine, virttype, 0)
    ctl.print(f"{caps}\n")
    return True


@command("sysinfo")
def cmd_sysinfo(ctl: Ctl, cmd: Cmd) -> bool:
    with ctl.failing("failed to get sysinfo"):
        info = ctl.conn.getSysinfo(0)
    ctl.print(info if info.endswith("\n") else info + "\n")
    return True


def _caps_doc(ctl: Ctl, msg: str) -> etree._Element:
    with ctl.failing(msg):
        caps = ctl.conn.getCapabilities()
    return etree.fromstring(caps.encode())


@command("freecell")
def cmd_freecell(ctl: Ctl, cmd: Cmd) -> bool:
    all_, cellno = cmd.bool("all"), cmd.has("cellno")
    ctl.exclusive_var(all_, "all", cellno, "cellno")
    cell = ctl.opt_int(cmd, "cellno") if cellno else -1
    if not all_:
        if cellno:
            mem = ctl.conn.getCellsFreeMemory(cell, 1)
            ctl.print(f"{cell}: {mem[0] // 1024} KiB\n")
            return True
        mem = ctl.conn.getFreeMemory()
        if not mem:
            ctl.last_error = "An error occurred, but the cause is unknown"
            return False
        ctl.print(f"Total: {mem // 1024} KiB\n")
        return True
    doc = _caps_doc(ctl, "unable to get node capabilities")
    total = 0
    out = []
    for node in doc.findall("./host/topology/cells/cell"):
        ident = int(node.get("id", "0"))
        with ctl.failing(f"failed to get free memory for NUMA node number: {ident}"):
            free = ctl.conn.getCellsFreeMemory(ident, 1)[0]
        out.append(f"{ident:5}: {free // 1024:10} KiB\n")
        total += free
    ctl.print("".join(out))
    ctl.print_extra("--------------------\n")
    ctl.print_extra(f"{'Total':>5}: {total // 1024:10} KiB\n")
    return True


@command("freepages")
def cmd_freepages(ctl: Ctl, cmd: Cmd) -> bool:
    all_, cellno, pagesz = cmd.bool("all"), cmd.has("cellno"), cmd.has("pagesize")
    ctl.exclusive_var(all_, "all", cellno, "cellno")
    size = ctl.opt_scaled(cmd, "pagesize", 1024, UINT_MAX) or 0
    assert isinstance(size, int)
    kib = -(-size // 1024)
    if all_:
        doc = _caps_doc(ctl, "unable to get node capabilities")
        if not pagesz:
            nodes = doc.findall("./host/cpu/pages") or doc.findall(
                "./host/topology/cells/cell/pages")
            if not nodes:
                raise ctl.fail("could not get information about supported page sizes")
            sizes = sorted({int(n.get("size", "0")) for n in nodes})
        else:
            sizes = [kib]
        for node in doc.findall("./host/topology/cells/cell"):
            cell = int(node.get("id", "0"))
            counts = ctl.conn.getFreePages(sizes, cell, 1, 0)
            per = counts.get(cell, {}) if isinstance(counts, dict) else {}
            ctl.print(f"Node {cell}:\n" + "".join(
                f"{s}KiB: {per.get(s, 0)}\n" for s in sizes) + "\n")
        return True
    if not cellno:
        raise ctl.fail("missing cellno argument")
    cellno_val = ctl.opt_int(cmd, "cellno")
    assert cellno_val is not None
    if cellno_val < -1:
        raise ctl.fail("cell number must be non-negative integer or -1")
    if not pagesz:
        raise ctl.fail("missing pagesize argument")
    counts = ctl.conn.getFreePages([kib], cellno_val, 1, 0)
    per = counts.get(cellno_val, {}) if isinstance(counts, dict) else {}
    ctl.print(f"{kib}KiB: {per.get(kib, 0)}\n")
    return True


@command("nodememstats")
def cmd_nodememstats(ctl: Ctl, cmd: Cmd) -> bool:
    cell = ctl.opt_int(cmd, "cell")
    with ctl.failing("Unable to get number of memory stats"):
        stats = ctl.conn.getMemoryStats(-1 if cell is None else cell, 0)
    ctl.print("".join(f"{k:<7}: {v:20} KiB\n" for k, v in stats.items()))
    return True


_CPU_FIELDS = [("user", "user:"), ("kernel", "system:"), ("idle", "idle:"),
               ("iowait", "iowait:"), ("intr", "intr:")]


@command("nodecpustats")
def cmd_nodecpustats(ctl: Ctl, cmd: Cmd) -> bool:
    cpu = ctl.opt_int(cmd, "cpu")
    with ctl.failing("Unable to get number of cpu stats"):
        stats = ctl.conn.getCPUStats(-1 if cpu is None else cpu, 0)
    if not cmd.bool("percent"):
        ctl.print("".join(f"{label:<15} {stats[k]:20}\n" for k, label in _CPU_FIELDS
                          if k in stats))
        return True
    if "utilization" in stats:
        u = stats["utilization"]
        ctl.print(f"{'usage:':<15} {u:5}%\n{'idle:':<15} {100 - u:5}%\n")
        return True
    import time

    time.sleep(1)
    with ctl.failing("Unable to get node cpu stats"):
        second = ctl.conn.getCPUStats(-1 if cpu is None else cpu, 0)
    diff = {k: second[k] - stats[k] for k, _ in _CPU_FIELDS if k in stats}
    total = sum(diff.values()) or 1
    usage = (diff.get("user", 0) + diff.get("kernel", 0)) / total * 100
    out = [f"{'usage:':<15} {usage:5.1f}%\n"]
    out += [f"{label:<15} {diff[k] / total * 100:5.1f}%\n" for k, label in _CPU_FIELDS
            if k in diff]
    ctl.print("".join(out))
    return True


def format_cpuset(bits: list[bool]) -> str:
    """virBitmapFormat: ranges like 0-2,4."""
    out = []
    i = 0
    while i < len(bits):
        if bits[i]:
            j = i
            while j + 1 < len(bits) and bits[j + 1]:
                j += 1
            out.append(str(i) if i == j else f"{i}-{j}")
            i = j + 1
        else:
            i += 1
    return ",".join(out)


@command("nodecpumap")
def cmd_nodecpumap(ctl: Ctl, cmd: Cmd) -> bool:
    with ctl.failing("Unable to get cpu map"):
        num, cpumap, online = ctl.conn.getCPUMap(0)
    line = format_cpuset(list(cpumap)) if cmd.bool("pretty") else "".join(
        "y" if b else "-" for b in cpumap)
    ctl.print(f"{'CPUs present:':<15} {num}\n{'CPUs online:':<15} {online}\n"
              f"{'CPU map:':<15} {line}\n")
    return True


@command("maxvcpus")
def cmd_maxvcpus(ctl: Ctl, cmd: Cmd) -> bool:
    typ = ctl.opt_string(cmd, "type")
    vcpus = -1
    try:
        caps = ctl.conn.getDomainCapabilities(None, None, None, typ, 0)
        node = etree.fromstring(caps.encode()).find("./vcpu")
        if node is not None and node.get("max"):
            vcpus = int(node.get("max", "-1"))
    except ctl.lv.libvirtError:
        ctl.reset_error()
    if vcpus < 0:
        vcpus = ctl.conn.getMaxVcpus(typ)
    ctl.print(f"{vcpus}\n")
    return True


@command("cpu-models")
def cmd_cpu_models(ctl: Ctl, cmd: Cmd) -> bool:
    arch = ctl.opt_string(cmd, "arch")
    with ctl.failing("failed to get CPU model names"):
        models = ctl.conn.getCPUModelNames(arch, 0)
    if not models:
        ctl.print_extra("all CPU models are accepted\n")
    else:
        ctl.print("".join(f"{m}\n" for m in models))
    return True


@command("cpu-baseline")
def cmd_cpu_baseline(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    flags = 0
    if cmd.bool("features"):
        flags |= lv.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES
    if cmd.bool("migratable"):
        flags |= lv.VIR_CONNECT_BASELINE_CPU_MIGRATABLE
    text = read_file(ctl, path)
    try:
        doc = etree.fromstring(text.encode())
    except etree.XMLSyntaxError:
        raise ctl.fail(f"no host CPU model found in XML file '{path}'")
    cpus = [doc] if doc.tag == "cpu" else doc.findall(".//cpu")
    if not cpus:
        raise ctl.fail(f"no host CPU model found in XML file '{path}'")
    xmls = [etree.tostring(c, encoding="unicode") for c in cpus]
    result = ctl.conn.baselineCPU(xmls, flags)
    ctl.print(result if result.endswith("\n") else result + "\n")
    return True
