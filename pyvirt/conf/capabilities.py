"""libvirt's ``<capabilities>`` document, built from typed host and guest facts.

:class:`Capabilities` formats exactly as libvirt 9.0's capabilities.c (blank
lines between the host, each guest and the pool section included).
:func:`test_default_capabilities` and :func:`test_file_capabilities` give what
the test driver reports; :func:`host_capabilities` probes this machine
(sysfs/procfs) for real drivers.
"""

from __future__ import annotations

import functools
import os
import platform
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path

from .xmlutil import escape_attr, escape_text

__all__ = ["Capabilities", "HostCPU", "NUMACell", "CellCPU", "SecModel", "Guest", "GuestDomain", "Machine",
           "GuestFeature", "test_default_capabilities", "test_file_capabilities", "test_capabilities",
           "host_capabilities", "host_iommu", "format_bitmap"]


def format_bitmap(ids: list[int] | set[int]) -> str:
    """virBitmapFormat: '0-3,8,10-11'."""
    out: list[str] = []
    items = sorted(set(ids))
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1] == items[j] + 1:
            j += 1
        out.append(str(items[i]) if i == j else f"{items[i]}-{items[j]}")
        i = j + 1
    return ",".join(out)


@dataclass
class HostCPU:
    """The host CPU: arch, model, vendor, topology, features, page sizes."""

    arch: str
    model: str | None = None
    vendor: str | None = None
    microcode: int | None = None
    signature: tuple[int, int, int] | None = None  # family, model, stepping
    counter_tsc: tuple[int, str | None] | None = None  # frequency, scaling
    topology: tuple[int, int, int, int] | None = None  # sockets, dies, cores, threads
    maxphysaddr: tuple[str, int | None] | None = None
    features: list[str] = field(default_factory=list)  # <feature name=.../> inside the cpu model
    host_features: list[str] = field(default_factory=list)  # <features><pae/>...</features>
    pages: list[int] = field(default_factory=list)  # KiB


@dataclass
class CellCPU:
    """A CPU in a NUMA cell (topology attributes only when ``siblings`` is set)."""

    id: int
    socket_id: int = 0
    die_id: int = 0
    core_id: int = 0
    siblings: list[int] | None = None


@dataclass
class NUMACell:
    """A host NUMA cell."""

    id: int
    memory: int = 0  # KiB
    pages: list[tuple[int, int]] = field(default_factory=list)  # (size KiB, available)
    distances: list[tuple[int, int]] = field(default_factory=list)  # (cell id, value)
    cpus: list[CellCPU] = field(default_factory=list)


@dataclass
class SecModel:
    """A security driver (model, DOI and base labels per virt type)."""

    model: str
    doi: str = ""
    baselabels: list[tuple[str, str]] = field(default_factory=list)  # (type, label)


@dataclass
class Machine:
    """A machine type (``<machine canonical maxCpus deprecated>``)."""

    name: str
    canonical: str | None = None
    max_cpus: int = 0
    deprecated: bool = False


@dataclass
class GuestDomain:
    """A ``<domain type>`` under a guest arch, optionally with its own emulator/machines."""

    type: str
    emulator: str | None = None
    loader: str | None = None
    machines: list[Machine] = field(default_factory=list)


@dataclass
class GuestFeature:
    """A guest feature (``<acpi default='on' toggle='yes'/>``)."""

    name: str
    default: str | None = None
    toggle: str | None = None


#: libvirt's fixed order of guest features
GUEST_FEATURE_ORDER = ("pae", "nonpae", "ia64_be", "acpi", "apic", "cpuselection", "deviceboot", "disksnapshot",
                       "hap", "externalSnapshot")


@dataclass
class Guest:
    """A ``<guest>``: OS type and arch with its emulator, machines, domain types and features."""

    os_type: str
    arch: str
    wordsize: int
    emulator: str | None = None
    loader: str | None = None
    machines: list[Machine] = field(default_factory=list)
    domains: list[GuestDomain] = field(default_factory=list)
    features: list[GuestFeature] = field(default_factory=list)


@dataclass
class Capabilities:
    """Typed host facts and guests, formatted as libvirt's ``<capabilities>``."""

    cpu: HostCPU
    host_uuid: str | None = None
    power_management: list[str] = field(default_factory=list)  # suspend_mem, suspend_disk, suspend_hybrid
    iommu: bool = False
    migration: bool = False
    live_migration: bool = False
    migration_transports: list[str] = field(default_factory=list)
    netprefix: str | None = None
    numa: list[NUMACell] | None = None  # None: no <topology>; []: empty cells
    secmodels: list[SecModel] = field(default_factory=list)
    guests: list[Guest] = field(default_factory=list)
    pool_types: list[str] = field(default_factory=list)

    def to_xml(self) -> str:
        """The XML libvirt prints (virCapabilitiesFormatXML)."""
        out: list[str] = ["<capabilities>", ""]
        self._host(out)
        for guest in self.guests:
            _guest(out, guest)
        if self.pool_types:
            out += ["  <pool>", "    <enum name='type'>"]
            out += [f"      <value>{escape_text(t)}</value>" for t in self.pool_types]
            out += ["    </enum>", "  </pool>", ""]
        out.append("</capabilities>")
        return "\n".join(out) + "\n"

    def _host(self, out: list[str]) -> None:
        cpu = self.cpu
        p = "    "
        out.append("  <host>")
        if self.host_uuid:
            out.append(f"{p}<uuid>{self.host_uuid}</uuid>")
        out.append(f"{p}<cpu>")
        q = p + "  "
        out.append(f"{q}<arch>{cpu.arch}</arch>")
        if cpu.host_features:
            out.append(f"{q}<features>")
            out += [f"{q}  <{name}/>" for name in cpu.host_features]
            out.append(f"{q}</features>")
        if cpu.model:
            out.append(f"{q}<model>{escape_text(cpu.model)}</model>")
        if cpu.vendor:
            out.append(f"{q}<vendor>{escape_text(cpu.vendor)}</vendor>")
        if cpu.microcode:
            out.append(f"{q}<microcode version='{cpu.microcode}'/>")
        if cpu.signature:
            fam, mod, step = cpu.signature
            out.append(f"{q}<signature family='{fam}' model='{mod}' stepping='{step}'/>")
        if cpu.counter_tsc:
            freq, scaling = cpu.counter_tsc
            extra = f" scaling='{scaling}'" if scaling else ""
            out.append(f"{q}<counter name='tsc' frequency='{freq}'{extra}/>")
        if cpu.topology and all(cpu.topology):
            s, d, co, t = cpu.topology
            out.append(f"{q}<topology sockets='{s}' dies='{d}' cores='{co}' threads='{t}'/>")
        if cpu.maxphysaddr:
            mode, bits = cpu.maxphysaddr
            out.append(f"{q}<maxphysaddr mode='{mode}'" + (f" bits='{bits}'" if bits is not None else "") + "/>")
        out += [f"{q}<feature name='{escape_attr(f)}'/>" for f in cpu.features]
        out += [f"{q}<pages unit='KiB' size='{size}'/>" for size in cpu.pages]
        out.append(f"{p}</cpu>")
        if self.power_management:
            out.append(f"{p}<power_management>")
            order = ("suspend_mem", "suspend_disk", "suspend_hybrid")
            out += [f"{q}<{t}/>" for t in order if t in self.power_management]
            out.append(f"{p}</power_management>")
        else:
            out.append(f"{p}<power_management/>")
        out.append(f"{p}<iommu support='{'yes' if self.iommu else 'no'}'/>")
        if self.migration:
            out.append(f"{p}<migration_features>")
            if self.live_migration:
                out.append(f"{q}<live/>")
            if self.migration_transports:
                out.append(f"{q}<uri_transports>")
                out += [f"{q}  <uri_transport>{t}</uri_transport>" for t in self.migration_transports]
                out.append(f"{q}</uri_transports>")
            out.append(f"{p}</migration_features>")
        if self.netprefix:
            out.append(f"{p}<netprefix>{self.netprefix}</netprefix>")
        if self.numa is not None:
            _numa(out, self.numa)
        for sec in self.secmodels:
            out += [f"{p}<secmodel>", f"{q}<model>{sec.model}</model>", f"{q}<doi>{sec.doi}</doi>"]
            out += [f"{q}<baselabel type='{t}'>{label}</baselabel>" for t, label in sec.baselabels]
            out.append(f"{p}</secmodel>")
        out += ["  </host>", ""]


def _numa(out: list[str], cells: list[NUMACell]) -> None:
    p = "    "
    out += [f"{p}<topology>", f"{p}  <cells num='{len(cells)}'>"]
    for cell in cells:
        q = p + "      "
        out.append(f"{p}    <cell id='{cell.id}'>")
        if cell.memory:
            out.append(f"{q}<memory unit='KiB'>{cell.memory}</memory>")
        out += [f"{q}<pages unit='KiB' size='{size}'>{avail}</pages>" for size, avail in cell.pages]
        dists = [(i, v) for i, v in cell.distances if v]
        if dists:
            out.append(f"{q}<distances>")
            out += [f"{q}  <sibling id='{i}' value='{v}'/>" for i, v in dists]
            out.append(f"{q}</distances>")
        if cell.cpus:
            out.append(f"{q}<cpus num='{len(cell.cpus)}'>")
            for cpu in cell.cpus:
                if cpu.siblings is not None:
                    out.append(f"{q}  <cpu id='{cpu.id}' socket_id='{cpu.socket_id}' die_id='{cpu.die_id}' "
                               f"core_id='{cpu.core_id}' siblings='{format_bitmap(cpu.siblings)}'/>")
                else:
                    out.append(f"{q}  <cpu id='{cpu.id}'/>")
            out.append(f"{q}</cpus>")
        else:
            out.append(f"{q}<cpus num='0'/>")
        out.append(f"{p}    </cell>")
    out += [f"{p}  </cells>", f"{p}</topology>"]


def _machine(m: Machine, pad: str, allow_deprecated: bool = True) -> str:
    attrs = ""
    if m.canonical:
        attrs += f" canonical='{m.canonical}'"
    if m.max_cpus > 0:
        attrs += f" maxCpus='{m.max_cpus}'"
    if m.deprecated and allow_deprecated:
        attrs += " deprecated='yes'"
    return f"{pad}<machine{attrs}>{m.name}</machine>"


def _guest(out: list[str], g: Guest) -> None:
    p, q = "    ", "      "
    out += ["  <guest>", f"{p}<os_type>{g.os_type}</os_type>", f"{p}<arch name='{g.arch}'>",
            f"{q}<wordsize>{g.wordsize}</wordsize>"]
    if g.emulator:
        out.append(f"{q}<emulator>{g.emulator}</emulator>")
    if g.loader:
        out.append(f"{q}<loader>{g.loader}</loader>")
    out += [_machine(m, q) for m in g.machines]
    for d in g.domains:
        if not (d.emulator or d.loader or d.machines):
            out.append(f"{q}<domain type='{d.type}'/>")
            continue
        out.append(f"{q}<domain type='{d.type}'>")
        if d.emulator:
            out.append(f"{q}  <emulator>{d.emulator}</emulator>")
        if d.loader:
            out.append(f"{q}  <loader>{d.loader}</loader>")
        out += [_machine(m, q + "  ", allow_deprecated=False) for m in d.machines]
        out.append(f"{q}</domain>")
    out.append(f"{p}</arch>")
    feats = sorted(g.features, key=lambda f: GUEST_FEATURE_ORDER.index(f.name)
                   if f.name in GUEST_FEATURE_ORDER else len(GUEST_FEATURE_ORDER))
    if feats:
        out.append(f"{p}<features>")
        for f in feats:
            attrs = (f" default='{f.default}'" if f.default else "") + (f" toggle='{f.toggle}'" if f.toggle else "")
            out.append(f"{q}<{f.name}{attrs}/>")
        out.append(f"{p}</features>")
    out += ["  </guest>", ""]


# ------------------------------------------------------------------ the test driver's

def host_iommu() -> bool:
    """virCapabilitiesHostInitIOMMU: the host has IOMMU groups."""
    try:
        return any(os.scandir("/sys/kernel/iommu_groups"))
    except OSError:
        return False


def _test_caps(cells: list[NUMACell]) -> Capabilities:
    guests = [Guest(os_type=ostype, arch="i686", wordsize=32, emulator="/usr/bin/test-hv",
                    domains=[GuestDomain("test")], features=[GuestFeature("pae"), GuestFeature("nonpae")])
              for ostype in ("hvm", "xen")]
    return Capabilities(
        cpu=HostCPU(arch="i686", host_features=["pae", "nonpae"], pages=[4, 8, 2048, 1048576]),
        iommu=host_iommu(), numa=cells, secmodels=[SecModel("testSecurity", "")], guests=guests)


def test_cells(cells: list[tuple[int, list[CellCPU]]]) -> list[NUMACell]:
    """NUMA cells as the test driver builds them from (memory KiB, cpus) per cell."""
    out = []
    for i, (mem, cpus) in enumerate(cells):
        first = 8 if i == 1 else 4
        out.append(NUMACell(id=i, memory=mem, pages=[(first, mem // first), (2048, 0), (1048576, 0)], cpus=cpus))
    return out


def test_default_capabilities() -> Capabilities:
    """What ``virsh -c test:///default capabilities`` prints (2 cells of 8 CPUs)."""
    cells = []
    for i in range(2):
        cpus = [CellCPU(id=n, socket_id=n // 8, die_id=0, core_id=n % 8, siblings=[n])
                for n in range(i * 8, i * 8 + 8)]
        cells.append(((i + 1) * 2048 * 1024, cpus))
    return _test_caps(test_cells(cells))


test_default_capabilities.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def test_file_capabilities() -> Capabilities:
    """What a ``test:///path/file.xml`` connection reports (no NUMA cells)."""
    return _test_caps([])


def test_capabilities(cells: list[tuple[int, list[CellCPU]]]) -> Capabilities:
    """The test driver's capabilities for custom NUMA *cells*: (memory KiB, cpus) per cell."""
    return _test_caps(test_cells(cells))


test_capabilities.__test__ = False  # type: ignore[attr-defined]


test_file_capabilities.__test__ = False  # type: ignore[attr-defined]
test_cells.__test__ = False  # type: ignore[attr-defined]


# ------------------------------------------------------------------ the real host

def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _parse_list(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    return out


@functools.lru_cache(maxsize=1)
def host_uuid() -> str:
    """virGetHostUUID: SMBIOS product UUID, else a random one (fixed for the process)."""
    for path in ("/sys/devices/virtual/dmi/id/product_uuid", "/sys/class/dmi/id/product_uuid"):
        text = _read(path)
        if text:
            try:
                return str(uuidlib.UUID(text))
            except ValueError:
                pass
    return str(uuidlib.uuid4())


_ARCH = {"x86_64": "x86_64", "i386": "i686", "i686": "i686", "aarch64": "aarch64", "armv7l": "armv7l",
         "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def _cpu_topology(cpu: int) -> tuple[int, int, int, list[int]]:
    base = f"/sys/devices/system/cpu/cpu{cpu}/topology"
    socket = int(_read(f"{base}/physical_package_id") or 0)
    die = int(_read(f"{base}/die_id") or 0)
    core = int(_read(f"{base}/core_id") or 0)
    sib = _read(f"{base}/thread_siblings_list") or str(cpu)
    return socket, die, core, _parse_list(sib)


def _host_pages() -> list[int]:
    sizes = [os.sysconf("SC_PAGESIZE") // 1024]
    try:
        for entry in sorted(os.listdir("/sys/kernel/mm/hugepages")):
            if entry.startswith("hugepages-") and entry.endswith("kB"):
                sizes.append(int(entry[len("hugepages-"):-2]))
    except OSError:
        pass
    return [sizes[0]] + sorted(set(sizes[1:]) - {sizes[0]})


def _power_management() -> list[str]:
    state = (_read("/sys/power/state") or "").split()
    disk = _read("/sys/power/disk") or ""
    out = []
    if "mem" in state:
        out.append("suspend_mem")
    if "disk" in state:
        out.append("suspend_disk")
        if "suspend" in disk:
            out.append("suspend_hybrid")
    return out


def _numa_cells(pages: list[int]) -> list[NUMACell]:
    base = Path("/sys/devices/system/node")
    nodes = sorted(int(p.name[4:]) for p in base.glob("node[0-9]*")) if base.exists() else []
    cells: list[NUMACell] = []
    for node in nodes:
        meminfo = _read(base / f"node{node}" / "meminfo") or ""
        mem = 0
        for line in meminfo.splitlines():
            if "MemTotal:" in line:
                mem = int(line.split()[-2])
        cell_pages = []
        small = pages[0] if pages else 4
        cell_pages.append((small, mem // small if small else 0))
        for size in pages[1:]:
            avail = _read(base / f"node{node}" / "hugepages" / f"hugepages-{size}kB" / "nr_hugepages")
            cell_pages.append((size, int(avail or 0)))
        dist = [int(x) for x in (_read(base / f"node{node}" / "distance") or "").split()]
        cpus = []
        for cpu in _parse_list(_read(base / f"node{node}" / "cpulist") or ""):
            if _read(f"/sys/devices/system/cpu/cpu{cpu}/online") == "0":
                cpus.append(CellCPU(id=cpu))
                continue
            socket, die, core, sib = _cpu_topology(cpu)
            cpus.append(CellCPU(id=cpu, socket_id=socket, die_id=die, core_id=core, siblings=sib))
        cells.append(NUMACell(id=node, memory=mem, pages=cell_pages,
                              distances=[(nodes[i] if i < len(nodes) else i, v) for i, v in enumerate(dist)],
                              cpus=cpus))
    return cells


def host_capabilities(guests: list[Guest] | None = None, secmodels: list[SecModel] | None = None,
                      migration_transports: list[str] | None = None) -> Capabilities:
    """Capabilities of this machine (uuid, CPU topology, pages, power management, IOMMU, NUMA);
    drivers add their guests, security models and migration transports."""
    arch = _ARCH.get(platform.machine(), platform.machine())
    pages = _host_pages()
    cells = _numa_cells(pages)
    topo = None
    if cells and cells[0].cpus:
        sockets = len({cpu.socket_id for cell in cells for cpu in cell.cpus if cpu.siblings is not None})
        online = [cpu for cell in cells for cpu in cell.cpus if cpu.siblings is not None]
        threads = len(online[0].siblings or [1]) if online else 1
        cores = max(1, len(online) // max(1, sockets * threads))
        topo = (max(1, sockets // max(1, len(cells))), 1, cores, threads)
    model = vendor = None
    flags: list[str] = []
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("vendor_id") and vendor is None:
            vendor = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}.get(line.split(":", 1)[1].strip())
        elif line.startswith("flags") and not flags:
            flags = line.split(":", 1)[1].split()
    del model, flags  # a CPU model needs libvirt's CPU map; drivers may fill HostCPU.model/features
    cpu = HostCPU(arch=arch, vendor=None, topology=topo, pages=pages)
    return Capabilities(cpu=cpu, host_uuid=host_uuid(), power_management=_power_management(),
                        iommu=host_iommu(), migration=migration_transports is not None,
                        live_migration=migration_transports is not None,
                        migration_transports=migration_transports or [], numa=cells,
                        secmodels=secmodels or [], guests=guests or [])
