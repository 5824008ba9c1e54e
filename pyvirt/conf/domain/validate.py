"""Enumerated values of device attributes, checked with libvirt's messages."""

from __future__ import annotations

from typing import Callable

from ... import constants as c
from ...errors import make_error
from ..xmlutil import Element

__all__ = ["check_devices", "check_devices_late", "check_pci_addresses"]

DISK_DEVICES = ("disk", "cdrom", "floppy", "lun")
DISK_BUSES = ("ide", "fdc", "scsi", "virtio", "xen", "usb", "uml", "sata", "sd")
NET_TYPES = ("user", "ethernet", "vhostuser", "server", "client", "mcast", "network", "bridge",
             "internal", "direct", "hostdev", "udp", "vdpa", "null", "vds")
CONTROLLER_TYPES = ("ide", "fdc", "scsi", "sata", "virtio-serial", "ccid", "usb", "pci", "xenbus", "isa")
VIDEO_MODELS = ("vga", "cirrus", "vmvga", "xen", "vbox", "qxl", "parallels", "virtio", "gop", "none",
                "bochs", "ramfb")
INPUT_TYPES = ("mouse", "tablet", "keyboard", "passthrough", "evdev")
INPUT_BUSES = ("ps2", "usb", "xen", "parallels", "virtio", "none")
SOUND_MODELS = ("sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb", "ich7")
HOSTDEV_SUBSYS = ("usb", "pci", "scsi", "scsi_host", "mdev")
MEMBALLOON_MODELS = ("virtio", "xen", "none", "virtio-transitional", "virtio-non-transitional")
WATCHDOG_MODELS = ("i6300esb", "ib700", "diag288")
WATCHDOG_ACTIONS = ("reset", "shutdown", "poweroff", "pause", "dump", "none", "inject-nmi")
RNG_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional")
TPM_MODELS = ("tpm-tis", "tpm-crb", "tpm-spapr", "spapr-tpm-proxy")
CHR_TYPES = ("null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix", "spicevmc",
             "spiceport", "nmdm", "qemu-vdagent", "dbus")
PANIC_MODELS = ("isa", "pseries", "hyperv", "s390")


def _invalid_attr(attr: str, elem: str, value: str) -> Exception:
    return make_error(c.VIR_ERR_XML_ERROR, f"Invalid value for attribute '{attr}' in element '{elem}': '{value}'.",
                      c.VIR_FROM_XML)


def _unsupported(detail: str) -> Exception:
    return make_error(c.VIR_ERR_CONFIG_UNSUPPORTED, detail, c.VIR_FROM_DOMAIN)


def _xml(detail: str) -> Exception:
    return make_error(c.VIR_ERR_XML_ERROR, detail, c.VIR_FROM_DOMAIN)


def _enum(node: Element | None, attr: str, allowed: tuple[str, ...], err: Callable[[str], Exception]) -> None:
    if node is None:
        return
    value = node.get(attr)
    if value is not None and value not in allowed:
        raise err(value)


def _disk(dev: Element) -> None:
    _enum(dev, "device", DISK_DEVICES, lambda v: _invalid_attr("device", "disk", v))
    _enum(dev.find("target"), "bus", DISK_BUSES, lambda v: _invalid_attr("bus", "target", v))


def _interface(dev: Element) -> None:
    ntype = dev.get("type")
    if ntype not in NET_TYPES:
        raise _invalid_attr("type", "interface", ntype or "")
    if ntype in ("network", "bridge", "direct", "vhostuser", "udp", "vdpa", "internal") \
            and dev.find("source") is None:
        raise _xml(f"interface type='{ntype}' requires a 'source' element")


def _controller(dev: Element) -> None:
    _enum(dev, "type", CONTROLLER_TYPES, lambda v: _invalid_attr("type", "controller", v))


def _video(dev: Element) -> None:
    _enum(dev.find("model"), "type", VIDEO_MODELS, lambda v: _unsupported(f"unknown video model '{v}'"))


def _input(dev: Element) -> None:
    _enum(dev, "type", INPUT_TYPES, lambda v: _unsupported(f"unknown input device type '{v}'"))
    _enum(dev, "bus", INPUT_BUSES, lambda v: _unsupported(f"unknown input bus type '{v}'"))


def _hostdev(dev: Element) -> None:
    if dev.get("mode", "subsystem") == "subsystem":
        _enum(dev, "type", HOSTDEV_SUBSYS,
              lambda v: _unsupported(f"unknown host device source address type '{v}'"))


def _memballoon(dev: Element) -> None:
    if dev.get("model") is None:
        raise make_error(c.VIR_ERR_XML_ERROR, "Missing required attribute 'model' in element 'memballoon'",
                         c.VIR_FROM_XML)
    _enum(dev, "model", MEMBALLOON_MODELS, lambda v: _invalid_attr("model", "memballoon", v))


def _watchdog(dev: Element) -> None:
    _enum(dev, "model", WATCHDOG_MODELS, lambda v: _unsupported(f"unknown watchdog model '{v}'"))
    _enum(dev, "action", WATCHDOG_ACTIONS, lambda v: _unsupported(f"unknown watchdog action '{v}'"))


def _chr(dev: Element) -> None:
    _enum(dev, "type", CHR_TYPES,
          lambda v: _unsupported(f"unknown type presented to host for character device: {v}"))


def _graphics(dev: Element) -> None:
    port = dev.get("port")
    if dev.get("type") in ("vnc", "spice", "rdp") and port is not None:
        try:
            int(port)
        except ValueError:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"cannot parse {dev.get('type')} port {port}",
                             c.VIR_FROM_DOMAIN) from None


_CHECKS: dict[str, Callable[[Element], None]] = {
    "disk": _disk,
    "controller": _controller,
    "interface": _interface,
    "serial": _chr, "parallel": _chr, "console": _chr, "channel": _chr,
    "input": _input,
    "tpm": lambda d: _enum(d, "model", TPM_MODELS, lambda v: _invalid_attr("model", "tpm", v)),
    "graphics": _graphics,
    "sound": lambda d: _enum(d, "model", SOUND_MODELS, lambda v: _invalid_attr("model", "sound", v)),
    "video": _video,
    "hostdev": _hostdev,
    "watchdog": _watchdog,
    "memballoon": _memballoon,
    "rng": lambda d: _enum(d, "model", RNG_MODELS, lambda v: _unsupported(f"unknown RNG model '{v}'")),
    "panic": lambda d: _enum(d, "model", PANIC_MODELS, lambda v: _unsupported(f"unknown panic model '{v}'")),
}

# libvirt parses device kinds in this order, so the first error it reports follows it
_PARSE_ORDER = ("disk", "controller", "lease", "filesystem", "interface", "smartcard", "parallel", "serial",
                "console", "channel", "input", "graphics", "sound", "audio", "video", "hostdev", "watchdog",
                "memballoon", "rng", "tpm", "nvram", "hub", "redirdev", "redirfilter", "panic", "shmem",
                "memory", "iommu", "vsock", "crypto")


def _chr_sources(holder: Element, kind: str, target_type: str | None = None) -> None:
    """Parse-time source count and validation-time required attributes of a chardev."""
    ctype = holder.get("type")
    sources = holder.findall("source")
    if ctype == "tcp" and len(sources) > 1:
        raise _xml("only one source element is allowed for character device")
    if ctype == "udp" and len(sources) > 2:
        raise _xml("only two source elements are allowed for character device")


def _chr_required(holder: Element, kind: str, target_type: str | None = None) -> None:
    ctype = holder.get("type")
    sources = holder.findall("source")
    src = sources[0] if sources else None

    def missing(what: str) -> Exception:
        return make_error(c.VIR_ERR_INTERNAL_ERROR, f"Missing source {what} attribute for char device",
                          c.VIR_FROM_DOMAIN)

    if ctype in ("file", "dev", "pipe"):
        if src is None or not src.get("path"):
            raise missing("path")
    elif ctype == "tcp":
        if src is None or not src.get("host"):
            raise missing("host")
        if not src.get("service"):
            raise missing("service")
        if src.get("mode") == "bind" and src.find("reconnect[@enabled='yes']") is not None:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, "chardev reconnect is possible only for connect mode",
                             c.VIR_FROM_DOMAIN)
    elif ctype == "udp":
        connect = [x for x in sources if x.get("mode", "connect") == "connect"]
        if not connect or not connect[0].get("service"):
            raise missing("service")
    elif ctype == "unix":
        auto_ok = kind == "channel" and target_type in ("virtio", "xen")
        if (src is None or not src.get("path")) and not auto_ok:
            raise missing("path")


def _chr_holders(devices: Element) -> list[tuple[Element, str, str | None]]:
    out: list[tuple[Element, str, str | None]] = []
    present = {d.tag for d in devices}
    if not present.intersection(("serial", "parallel", "console", "channel", "smartcard", "redirdev", "rng")):
        return out
    for tag in ("serial", "parallel", "console", "channel"):
        for dev in devices.findall(tag):
            tgt = dev.find("target")
            out.append((dev, tag, tgt.get("type") if tgt is not None else None))
    for card in devices.findall("smartcard"):
        if card.get("mode") == "passthrough":
            out.append((card, "smartcard", None))
    for redir in devices.findall("redirdev"):
        out.append((redir, "redirdev", None))
    for backend in devices.findall("rng/backend"):
        if backend.get("model") == "egd":
            out.append((backend, "rng", None))
    return out


def check_pci_addresses(root: Element) -> None:
    """libvirt's range checks on PCI addresses (bus, slot, function)."""
    for addr in root.iter("address"):
        if addr.get("type") not in ("pci", None) or (addr.get("type") is None and addr.get("slot") is None):
            continue
        try:
            bus = int(addr.get("bus") or "0", 0)
            slot = int(addr.get("slot") or "0", 0)
            func = int(addr.get("function") or "0", 0)
        except ValueError:
            continue
        if bus > 0xFF:
            raise make_error(c.VIR_ERR_XML_ERROR, f"Invalid PCI address bus='0x{bus:x}', must be <= 0xFF",
                             c.VIR_FROM_NONE)
        if slot > 0x1F:
            raise make_error(c.VIR_ERR_XML_ERROR, f"Invalid PCI address slot='0x{slot:x}', must be <= 0x1F",
                             c.VIR_FROM_NONE)
        if func > 7:
            raise make_error(c.VIR_ERR_XML_ERROR, f"Invalid PCI address function=0x{func:x}, must be <= 7",
                             c.VIR_FROM_NONE)


def check_devices(devices: Element) -> None:
    """Raise libvirt's error for the first device attribute it does not know."""
    present = {d.tag for d in devices}
    for tag in _PARSE_ORDER:
        check = _CHECKS.get(tag)
        if check is None or tag not in present:
            continue
        for dev in devices.findall(tag):
            check(dev)
        if tag == "tpm":
            for tpm in devices.findall("tpm"):
                if tpm.find("backend") is None:
                    raise _xml("missing TPM device backend")
    for holder, kind, ttype in _chr_holders(devices):
        _chr_sources(holder, kind, ttype)


def _hostdev_key(dev: Element) -> str:
    src = dev.find("source")
    if src is None:
        return ""
    parts = [dev.get("mode", "subsystem"), dev.get("type", "")]
    for node in src.iter():
        attrs = sorted((str(k), str(v).lower()) for k, v in node.attrib.items())
        parts.append(f"{node.tag}{attrs}")
    return "|".join(parts)


def _drive_key(disk: Element) -> tuple[str, ...] | None:
    addr = disk.find("address")
    if addr is None or addr.get("type") != "drive":
        return None
    tgt = disk.find("target")
    return ((tgt.get("bus", "") if tgt is not None else ""),) + tuple(
        addr.get(k, "0") for k in ("controller", "bus", "target", "unit"))


_BUS_ADDRESS = {"ide": ("drive",), "fdc": ("drive",), "sata": ("drive",), "scsi": ("drive",)}


def check_disks_late(devices: Element) -> None:
    """Disk checks of libvirt's validation phase."""
    seen: dict[tuple[str, ...], Element] = {}
    for disk in devices.findall("disk"):
        tgt = disk.find("target")
        bus = tgt.get("bus") if tgt is not None else None
        dst = tgt.get("dev", "") if tgt is not None else ""
        if disk.get("device") == "lun" and disk.get("type") not in ("block", "network", "volume"):
            raise _unsupported("disk device='lun' is only valid for block type disk source")
        addr = disk.find("address")
        if bus in _BUS_ADDRESS and addr is not None and addr.get("type") not in _BUS_ADDRESS[bus]:
            raise _unsupported(f"Invalid address type '{addr.get('type')}' for the disk '{dst}' "
                               f"with the bus type '{bus}'")
    for disk in devices.findall("disk"):
        key = _drive_key(disk)
        if key is None:
            continue
        if key in seen:
            first = seen[key]
            fdst = first.find("target").get("dev", "")  # type: ignore[union-attr]
            raise _unsupported(f"Found duplicate drive address for disk with target name '{fdst}' "
                               f"controller='{key[1]}' bus='{key[2]}' target='{key[3]}' unit='{key[4]}'")
        seen[key] = disk


def check_devices_late(devices: Element) -> None:
    """Checks libvirt runs at validation time, after defaults are filled in."""
    check_disks_late(devices)
    keys = [_hostdev_key(h) for h in devices.findall("hostdev")]
    if len(set(k for k in keys if k)) < len([k for k in keys if k]):
        raise _xml("Hostdev already exists in the domain configuration")
    for holder, kind, ttype in _chr_holders(devices):
        if holder.get("{urn:pyvirt}alias-of-serial"):
            continue
        _chr_required(holder, kind, ttype)
    videos = [v.find("model") for v in devices.findall("video")]
    models = [m for m in videos if m is not None]
    if len(models) > 1 and any(m.get("type") == "none" for m in models):
        raise _unsupported("a 'none' video type must be the only video device defined for the domain")
    if sum(1 for m in models if m.get("primary") == "yes") > 1:
        raise _unsupported("Only one primary video device is supported")
    usb_off = any(ctl.get("type") == "usb" and ctl.get("model") == "none" for ctl in devices.findall("controller"))
    if usb_off:
        if sum(1 for ctl in devices.findall("controller") if ctl.get("type") == "usb") > 1:
            raise make_error(c.VIR_ERR_XML_DETAIL,
                             "Can't add another USB controller: USB is disabled for this domain",
                             c.VIR_FROM_DOMAIN)
        if any(inp.get("bus") == "usb" for inp in devices.findall("input")):
            raise _unsupported("Can't add USB input device. USB bus is disabled")
        if devices.find("hub") is not None:
            raise _unsupported("Can't add USB hub: USB is disabled for this domain")
        if devices.find("redirdev") is not None:
            raise _unsupported("cannot add redirected USB device: USB is disabled for this domain")
