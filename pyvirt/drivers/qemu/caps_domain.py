"""The ``<domainCapabilities>`` document of the QEMU driver.

Same elements and attributes as libvirt 9.0's ``virsh domcapabilities``; the
values are what this driver accepts at define time for the probed binary and
machine (a device QEMU lacks is left out; an element the driver refuses is
``supported='no'``), so a management tool reading it never picks something
the driver would refuse.
"""

from __future__ import annotations

import re

from ...conf.xmlutil import escape_attr, escape_text
from .caps_probe import Machine, QemuCaps

__all__ = ["format_domain_caps"]

# (XML value, QEMU device needed or None)
_DISK_BUSES = (("ide", "ide-hd"), ("scsi", "scsi-hd"), ("virtio", "virtio-blk-pci"), ("sata", "ich9-ahci"))
_VIDEO_MODELS = (("vga", "VGA"), ("cirrus", "cirrus-vga"), ("virtio", "virtio-vga"), ("none", None),
                 ("bochs", "bochs-display"))
_UNSUPPORTED_DEVICES = ("hostdev", "rng", "filesystem", "tpm", "redirdev", "channel")
_UNSUPPORTED_FEATURES = ("gic", "vmcoreinfo", "genid", "backingStoreInput", "backup", "sev", "sgx", "hyperv")
_NOT_MODELS = {"host", "max", "base"}


def _enum(out: list[str], pad: str, name: str, values: list[str]) -> None:
    if not values:
        out.append(f"{pad}<enum name='{name}'/>")
        return
    out.append(f"{pad}<enum name='{name}'>")
    out += [f"{pad}  <value>{escape_text(v)}</value>" for v in values]
    out.append(f"{pad}</enum>")


def _cpu_models(caps: QemuCaps, vendors: dict[str, str]) -> list[tuple[str, bool, str]]:
    """(name, usable, vendor) of the named CPU models; libvirt's CPU map filters them when installed."""
    out = []
    for m in caps.cpu_models:
        if m.name in _NOT_MODELS or re.search(r"-v\d+$", m.name):
            continue
        if vendors and m.name not in vendors:
            continue
        out.append((m.name, m.usable, vendors.get(m.name, "unknown")))
    return out


def format_domain_caps(caps: QemuCaps, mach: Machine, virttype: str, arch: str, max_cpus: int,
                       vendors: dict[str, str]) -> str:
    """The document for *caps* (one binary), machine *mach* and *virttype* ('qemu' or 'kvm')."""
    q35 = "q35" in mach.name
    out = ["<domainCapabilities>", f"  <path>{escape_text(caps.emulator)}</path>",
           f"  <domain>{virttype}</domain>", f"  <machine>{escape_text(mach.name)}</machine>",
           f"  <arch>{arch}</arch>", f"  <vcpu max='{max_cpus}'/>", "  <iothreads supported='no'/>",
           "  <os supported='yes'>"]
    _enum(out, "    ", "firmware", [])
    out += ["    <loader supported='no'/>", "  </os>", "  <cpu>"]
    if virttype == "kvm":
        out.append("    <mode name='host-passthrough' supported='yes'>")
        _enum(out, "      ", "hostPassthroughMigratable", ["on", "off"])
        out.append("    </mode>")
    else:
        out.append("    <mode name='host-passthrough' supported='no'/>")
    out.append("    <mode name='maximum' supported='yes'>")
    _enum(out, "      ", "maximumMigratable", ["on", "off"])
    out += ["    </mode>", "    <mode name='host-model' supported='no'/>"]
    models = _cpu_models(caps, vendors)
    out.append("    <mode name='custom' supported='yes'>")
    for name, usable, vendor in models:
        out.append(f"      <model usable='{'yes' if usable else 'no'}' "
                   f"vendor='{escape_attr(vendor)}'>{escape_text(name)}</model>")
    out += ["    </mode>", "  </cpu>", "  <memoryBacking supported='no'/>", "  <devices>",
            "    <disk supported='yes'>"]
    _enum(out, "      ", "diskDevice", ["disk", "cdrom"])
    buses = [b for b, dev in _DISK_BUSES if caps.has_device(dev) and not (q35 and b == "ide")]
    _enum(out, "      ", "bus", buses)
    _enum(out, "      ", "model", ["virtio"] if caps.has_device("virtio-blk-pci") else [])
    out += ["    </disk>", "    <graphics supported='yes'>"]
    _enum(out, "      ", "type", ["vnc"])
    out += ["    </graphics>", "    <video supported='yes'>"]
    _enum(out, "      ", "modelType", [m for m, dev in _VIDEO_MODELS if dev is None or caps.has_device(dev)])
    out.append("    </video>")
    out += [f"    <{tag} supported='no'/>" for tag in _UNSUPPORTED_DEVICES]
    out += ["  </devices>", "  <features>"]
    out += [f"    <{tag} supported='no'/>" for tag in _UNSUPPORTED_FEATURES]
    out += ["  </features>", "</domainCapabilities>"]
    return "\n".join(out) + "\n"
