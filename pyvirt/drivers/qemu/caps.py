"""Host and QEMU capabilities: capabilities XML, domcapabilities, node information.

QEMU is probed once per binary (:mod:`.caps_probe`, cached under
``ROOT/cache/qemu/capabilities``). The capabilities document lists what this
driver can run (x86_64 guests, TCG and, when it works, KVM) with QEMU's own
machine list; domcapabilities reports, in libvirt's elements, what the driver
accepts for the chosen emulator/machine/arch/virttype — values QEMU lacks or
the driver refuses at define time are left out (see docs/drivers/qemu-stats.md).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ... import constants as c
from ...conf.capabilities import Guest, GuestDomain, GuestFeature, Machine, SecModel, host_capabilities
from ...errors import LibvirtError, check_flags
from . import caps_host
from .caps_domain import format_domain_caps
from .caps_probe import QemuCaps, load_caps
from .caps_sysinfo import read_sysinfo
from .domain import DEFAULT_EMULATOR
from .errors import qemu_error as _err
from .kvm import kvm_usable

if TYPE_CHECKING:
    from .driver import QemuState

__all__ = ["CapsMixin", "canonical_machine", "caps_for"]

_CPU_MAP = Path("/usr/share/libvirt/cpu_map")
_VIRT_TYPES = ("none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware", "hyperv",
               "vbox", "phyp", "parallels", "bhyve", "vz", "hvf")
_X86 = ("i686", "x86_64")
_ARCHES = ("alpha", "armv6l", "armv7l", "armv7b", "aarch64", "cris", "i686", "ia64", "lm32", "loongarch64",
           "m68k", "microblaze", "microblazeel", "mips", "mipsel", "mips64", "mips64el", "openrisc",
           "parisc", "parisc64", "ppc", "ppcle", "ppc64", "ppc64le", "ppcemb", "riscv32", "riscv64", "s390",
           "s390x", "sh4", "sh4eb", "sparc", "sparc64", "unicore32", "x86_64", "xtensa", "xtensaeb")


def _cache_dir(root: Path) -> Path:
    return root / "cache" / "qemu" / "capabilities"


def caps_for(root: Path, emulator: str | None = None) -> QemuCaps:
    """The (cached) capabilities of *emulator* for the driver rooted at *root*."""
    return load_caps(emulator or DEFAULT_EMULATOR, _cache_dir(root))


def canonical_machine(root: Path, machine: str, emulator: str | None = None) -> str:
    """The machine type an alias stands for (``pc`` -> ``pc-i440fx-7.2``), from QEMU's own list."""
    return caps_for(root, emulator).canonical_machine(machine)


@lru_cache(maxsize=1)
def _cpu_vendors() -> dict[str, str]:
    """CPU model -> vendor from libvirt's CPU map when it is installed (else empty)."""
    out: dict[str, str] = {}
    try:
        files = sorted(_CPU_MAP.glob("x86_*.xml"))
    except OSError:
        return out
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        m = re.search(r"<model name='([^']+)'>", text)
        if m is None:
            continue
        v = re.search(r"<vendor name='([^']+)'/>", text)
        out[m.group(1)] = v.group(1) if v else "unknown"
    return out


def _kvm_max_vcpus() -> int | None:
    """KVM_CAP_MAX_VCPUS of /dev/kvm (None when KVM cannot be opened)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        n = fcntl.ioctl(fd, 0xAE03, 66)  # KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS
        return int(n) if n > 0 else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _find_emulators() -> list[str]:
    """The QEMU binaries this driver can run guests with (x86_64 only)."""
    found = shutil.which("qemu-system-x86_64")
    return [found] if found else []


class CapsMixin:
    """Capabilities and node entries of :class:`~.driver.QemuDriver` (mixed in)."""

    st: "QemuState"

    def _caps(self, emulator: str | None = None) -> QemuCaps:
        return caps_for(self.st.root, emulator)

    def _qemu_has_command(self, emulator: str | None, command: str) -> bool:
        """Whether the binary knows a QMP command (False when it cannot be probed)."""
        try:
            return self._caps(emulator).has_command(command)
        except LibvirtError:
            return False

    def canonical_machine(self, machine: str, emulator: str | None = None) -> str:
        """``pc`` -> ``pc-i440fx-7.2`` as the binary says (for define-time defaults)."""
        return self._caps(emulator).canonical_machine(machine)

    # --- host capabilities ---------------------------------------------------------------
    def connect_get_capabilities(self) -> str:
        guests = []
        for emulator in _find_emulators():
            try:
                caps = self._caps(emulator)
            except LibvirtError:
                continue
            machines: list[Machine] = []
            for m in caps.machines:
                if m.alias:
                    machines.append(Machine(m.name, max_cpus=m.max_cpus, deprecated=m.deprecated))
                    machines.append(Machine(m.alias, canonical=m.name, max_cpus=m.max_cpus,
                                            deprecated=m.deprecated))
                else:
                    machines.append(Machine(m.name, max_cpus=m.max_cpus, deprecated=m.deprecated))
            domains = [GuestDomain("qemu")] + ([GuestDomain("kvm")] if kvm_usable(emulator) else [])
            feats = [GuestFeature("acpi", "on", "yes"), GuestFeature("apic", "on", "no"),
                     GuestFeature("cpuselection"), GuestFeature("deviceboot"),
                     GuestFeature("disksnapshot", "on", "no")]
            guests.append(Guest(os_type="hvm", arch=caps.arch, wordsize=64 if caps.arch == "x86_64" else 32,
                                emulator=emulator, machines=machines, domains=domains, features=feats))
        doc = host_capabilities(guests=guests, secmodels=[SecModel("none", "0")],
                                migration_transports=["tcp", "rdma"])
        vendor, microcode, signature = caps_host.cpu_vendor_info()
        doc.cpu.vendor, doc.cpu.microcode, doc.cpu.signature = vendor, microcode, signature
        return doc.to_xml()

    def connect_get_max_vcpus(self, type: str | None = None) -> int:  # noqa: A002
        """The default machine's vCPU limit (and KVM's, for type 'kvm'); libvirt answers a fixed 16."""
        if type is not None and type.lower() not in ("qemu", "kvm"):
            raise _err(c.VIR_ERR_INVALID_ARG, f"unknown type '{type}'")
        try:
            limit = self._caps().machines[0].max_cpus
        except (LibvirtError, IndexError):
            limit = 255
        if type is not None and type.lower() == "kvm":
            limit = min(limit, _kvm_max_vcpus() or limit)
        return limit

    # --- domain capabilities ----------------------------------------------------------------
    def connect_get_domain_capabilities(self, emulatorbin: str | None = None, arch: str | None = None,
                                        machine: str | None = None, virttype: str | None = None,
                                        flags: int = 0) -> str:
        """virsh domcapabilities: what a domain may use with this emulator, machine and virt type."""
        check_flags(flags, 0, "qemuConnectGetDomainCapabilities")
        if virttype is not None and virttype not in _VIRT_TYPES:
            raise _err(c.VIR_ERR_INVALID_ARG, f"unknown virttype: {virttype}")
        if arch is not None and arch not in _ARCHES:
            raise _err(c.VIR_ERR_INVALID_ARG, f"unknown architecture: {arch}")
        if emulatorbin is None:
            if arch not in (None, "x86_64"):
                raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                           f"unable to find any emulator to serve '{arch}' architecture")
            emulatorbin = DEFAULT_EMULATOR
        caps = self._caps(emulatorbin)
        if arch is not None and arch != caps.arch and not (arch in _X86 and caps.arch in _X86):
            raise _err(c.VIR_ERR_INVALID_ARG, f"architecture from emulator '{caps.arch}' doesn't match "
                       f"given architecture '{arch}'")
        accel = kvm_usable(emulatorbin)
        virttype = virttype or ("kvm" if accel else "qemu")
        if virttype != "qemu" and (virttype != "kvm" or not accel):
            raise _err(c.VIR_ERR_INVALID_ARG,
                       f"the accel '{virttype}' is not supported by '{emulatorbin}' on this host")
        if machine is None:
            mach = caps.machines[0] if caps.machines else None
        else:
            mach = caps.machine(machine)
            if mach is None:
                raise _err(c.VIR_ERR_INVALID_ARG, f"the machine '{caps.canonical_machine(machine)}' is not "
                           f"supported by emulator '{emulatorbin}'")
        if mach is None:
            raise _err(c.VIR_ERR_INTERNAL_ERROR, f"emulator '{emulatorbin}' has no machine types")
        max_cpus = mach.max_cpus
        if virttype == "kvm":
            max_cpus = min(max_cpus, _kvm_max_vcpus() or max_cpus)
        return format_domain_caps(caps, mach, virttype, arch or caps.arch, max_cpus, _cpu_vendors())

    def connect_get_sysinfo(self, flags: int = 0) -> str:
        """The host's SMBIOS data (dmidecode), as ``virsh sysinfo`` prints it."""
        check_flags(flags, 0, "qemuConnectGetSysinfo")
        return read_sysinfo()

    # --- node -------------------------------------------------------------------------------
    def node_get_info(self) -> tuple[str, int, int, int, int, int, int, int]:
        return caps_host.node_info()

    def node_get_free_memory(self) -> int:
        return caps_host.free_memory()

    def node_get_cells_free_memory(self, start_cell: int, max_cells: int) -> list[int]:
        return caps_host.cells_free_memory(start_cell, max_cells)

    def node_get_cpu_stats(self, cpu_num: int = -1, flags: int = 0) -> dict[str, int]:
        check_flags(flags, 0, "virHostCPUGetStats")
        return caps_host.cpu_stats(cpu_num)

    def node_get_memory_stats(self, cell_num: int = -1, flags: int = 0) -> dict[str, int]:
        check_flags(flags, 0, "virHostMemGetStats")
        return caps_host.memory_stats(cell_num)
