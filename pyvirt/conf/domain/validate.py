"""Enumerated values of device attributes, checked with libvirt's messages."""

from __future__ import annotations

from typing import Callable

from ... import constants as c
from ...errors import make_error
from ..xmlutil import Element

__all__ = ["check_devices"]

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


def check_devices(devices: Element) -> None:
    """Raise libvirt's error for the first device attribute it does not know."""
    for tag in _PARSE_ORDER:
        check = _CHECKS.get(tag)
        if check is None:
            continue
        for dev in devices.findall(tag):
            check(dev)
