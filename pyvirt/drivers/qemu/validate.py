"""Refuse domain XML the QEMU command-line builder cannot honour.

Every element and attribute value that changes the guest is either handled by
:mod:`.command`/:mod:`.devices` or rejected here with VIR_ERR_CONFIG_UNSUPPORTED
naming it; nothing is silently dropped.
"""

from __future__ import annotations

from ...conf.domain import DomainDef
from ...conf.xmlutil import Element
from .domain import unsupported

__all__ = ["validate", "check_interface", "check_q35_device"]

# Top-level elements with no effect on the command line or fully handled.
_TOP_OK = {"name", "uuid", "title", "description", "metadata", "memory", "currentMemory", "vcpu",
           "os", "features", "cpu", "clock", "on_poweroff", "on_reboot", "on_crash", "devices",
           "genid", "pm"}
_OS_OK = {"type", "kernel", "initrd", "cmdline", "boot", "bootmenu", "bios", "smbios"}
_FEATURES_OK = {"acpi", "apic", "pae"}
_DEVICE_OK = {"emulator", "disk", "controller", "interface", "serial", "console", "input",
              "graphics", "video", "memballoon", "panic", "watchdog"}
_DISK_CHILD_OK = {"driver", "source", "target", "readonly", "address", "alias", "boot", "backingStore",
                  "shareable"}
_IFACE_CHILD_OK = {"mac", "source", "model", "target", "alias", "address", "boot"}
_CHR_TYPES = {"pty", "file", "unix", "tcp", "null"}
_CTRL_MODELS: dict[str, set[str | None]] = {
    "usb": {"piix3-uhci", "qemu-xhci", "nec-xhci", "none"},
    "scsi": {"virtio-scsi", "lsilogic"},
    "pci": {"pci-root", "pcie-root", "pcie-root-port", "pcie-to-pci-bridge"},
    "ide": {None}, "sata": {None}, "virtio-serial": {None}, "fdc": {None},
}
_NET_MODELS = {"virtio", "e1000", "e1000e", "rtl8139"}
_VIDEO_MODELS = {"vga", "cirrus", "virtio", "bochs", "none"}
_LIFECYCLE = {"on_poweroff": {"destroy"},
              "on_reboot": {"restart", "destroy"},
              "on_crash": {"destroy", "restart", "preserve"}}


def _tag(elem: Element) -> str:
    return str(elem.tag)


def validate(defn: DomainDef) -> None:
    """Raise VIR_ERR_CONFIG_UNSUPPORTED for the first thing we cannot build."""
    root = defn.xml
    for child in root:
        if isinstance(child.tag, str) and child.tag not in _TOP_OK:
            raise unsupported(f"domain element <{child.tag}> is not supported by the QEMU driver")
    for child in root.find("os") if root.find("os") is not None else []:  # type: ignore[union-attr]
        if isinstance(child.tag, str) and child.tag not in _OS_OK:
            raise unsupported(f"<os><{child.tag}> is not supported by the QEMU driver")
    smbios = root.find("os/smbios")
    if smbios is not None:
        raise unsupported("<os><smbios> is not supported by the QEMU driver")
    feats = root.find("features")
    for child in feats if feats is not None else []:
        if isinstance(child.tag, str) and child.tag not in _FEATURES_OK:
            raise unsupported(f"domain feature '{child.tag}' is not supported by the QEMU driver")
    cpu = root.find("cpu")
    if cpu is not None:
        for child in cpu:
            if isinstance(child.tag, str) and child.tag not in ("model", "topology", "vendor"):
                raise unsupported(f"<cpu><{child.tag}> is not supported by the QEMU driver")
    clock = root.find("clock")
    if clock is not None:
        if clock.get("offset", "utc") not in ("utc", "localtime"):
            raise unsupported(f"clock offset '{clock.get('offset')}' is not supported by the QEMU driver")
        if len(clock):
            raise unsupported("clock timers are not supported by the QEMU driver")
    if root.find("memoryBacking") is not None or root.find("numatune") is not None:
        raise unsupported("memory tuning is not supported by the QEMU driver")
    for tag in ("on_reboot", "on_poweroff"):
        if root.findtext(tag) == "preserve":
            raise unsupported("qemu driver doesn't support the 'preserve' action for 'on_reboot'/'on_poweroff'")
    bios = root.find("os/bios")
    if bios is not None and bios.get("useserial") == "yes":
        raise unsupported("BIOS serial output (<bios useserial='yes'/>) is not supported by the QEMU driver")
    for tag, allowed in _LIFECYCLE.items():
        value = root.findtext(tag) or ""
        if value and value not in allowed:
            raise unsupported(f"{tag} action '{value}' is not supported by the QEMU driver")
    _devices(defn.devices_elem)
    machine = root.find("os/type")
    if machine is not None and "q35" in machine.get("machine", ""):
        _q35(defn.devices_elem)
    elif any(x.get("model") in ("pcie-root-port", "pcie-to-pci-bridge")
             for x in defn.devices_elem.findall("controller")):
        raise unsupported("pcie-root-port and pcie-to-pci-bridge controllers need a q35 machine")


# Conventional PCI devices the driver does not put on a pcie-to-pci-bridge on q35 (libvirt would).
_Q35_LEGACY = {("controller", "piix3-uhci")}
# Conventional PCI devices that go on the bridge at start but are not hot-plugged there.
_Q35_NO_HOTPLUG = {("interface", "e1000"), ("interface", "rtl8139")}


def check_q35_device(dev: Element) -> None:
    """Refuse hot-plugging a device that q35 could only take behind a pcie-to-pci-bridge."""
    _q35_one(dev)
    node = dev.find("model")
    model = node.get("type") if node is not None else "rtl8139"
    if (dev.tag, model) in _Q35_NO_HOTPLUG:
        raise unsupported(f"hot-plugging the conventional PCI {dev.tag} model '{model}' on q35 is not "
                          "supported by the QEMU driver")


def _q35(devices: Element) -> None:
    for dev in devices:
        if isinstance(dev.tag, str):
            _q35_one(dev)
    videos = devices.findall("video")
    if len(videos) > 1:
        raise unsupported("secondary video devices on q35 are not supported by the QEMU driver")


def _q35_one(dev: Element) -> None:
    model = dev.get("model") if dev.tag == "controller" else None
    if dev.tag == "interface":
        node = dev.find("model")
        model = node.get("type") if node is not None else "rtl8139"
    if (dev.tag, model) in _Q35_LEGACY:
        raise unsupported(f"{dev.tag} model '{model}' is a conventional PCI device, which needs a "
                          "pcie-to-pci-bridge on q35; the QEMU driver does not add one for it")
    if dev.tag == "controller" and dev.get("type") == "sata" and dev.get("index", "0") != "0":
        raise unsupported("additional SATA controllers on q35 are not supported by the QEMU driver")


def _devices(devices: Element) -> None:
    for dev in devices:
        if not isinstance(dev.tag, str):
            continue
        tag = _tag(dev)
        if tag not in _DEVICE_OK:
            raise unsupported(f"device <{tag}> is not supported by the QEMU driver")
        check = _CHECKS.get(tag)
        if check is not None:
            check(dev)
    for tag in ("watchdog", "panic"):
        if len(devices.findall(tag)) > 1:
            raise unsupported(f"more than one <{tag}> device is not supported by the QEMU driver")


def _disk(dev: Element) -> None:
    dtype, device = dev.get("type", "file"), dev.get("device", "disk")
    if dtype not in ("file", "block"):
        raise unsupported(f"disk type '{dtype}' is not supported by the QEMU driver")
    if device not in ("disk", "cdrom"):
        raise unsupported(f"disk device '{device}' is not supported by the QEMU driver")
    for child in dev:
        if isinstance(child.tag, str) and child.tag not in _DISK_CHILD_OK:
            raise unsupported(f"disk element <{child.tag}> is not supported by the QEMU driver")
    drv = dev.find("driver")
    if drv is not None:
        if drv.get("name", "qemu") != "qemu":
            raise unsupported(f"disk driver name '{drv.get('name')}' is not supported by the QEMU driver")
        if drv.get("type", "raw") not in ("raw", "qcow2"):
            raise unsupported(f"disk format '{drv.get('type')}' is not supported by the QEMU driver")
        extra = {str(k) for k in drv.attrib} - {"name", "type", "cache"}
        if extra:
            raise unsupported(f"disk driver attribute '{sorted(extra)[0]}' is not supported by the QEMU driver")
        if drv.get("cache") not in (None, "default", "none", "writeback", "writethrough",
                                    "directsync", "unsafe"):
            raise unsupported(f"disk cache mode '{drv.get('cache')}' is not supported")
    tgt = dev.find("target")
    bus = tgt.get("bus") if tgt is not None else None
    if bus not in ("virtio", "ide", "sata", "scsi"):
        raise unsupported(f"disk bus '{bus}' is not supported by the QEMU driver")
    if bus == "virtio" and device == "cdrom":
        raise unsupported("disk device 'cdrom' on bus 'virtio' is not supported")
    src = dev.find("source")
    if src is None and device != "cdrom":
        raise unsupported(f"disk '{tgt.get('dev') if tgt is not None else ''}' has no source")
    if src is not None and len(src):
        raise unsupported("disk source options are not supported by the QEMU driver")
    _backing_chain(dev.find("backingStore"))


def _backing_chain(bs: Element | None) -> None:
    """A ``<backingStore>`` chain of file/block images (QEMU opens it from the image headers)."""
    while bs is not None and (len(bs) or bs.attrib):
        if bs.get("type", "file") not in ("file", "block"):
            raise unsupported(f"backing store type '{bs.get('type')}' is not supported by the QEMU driver")
        for child in bs:
            if isinstance(child.tag, str) and child.tag not in ("format", "source", "backingStore"):
                raise unsupported(f"backing store element <{child.tag}> is not supported by the QEMU driver")
        fmt = bs.find("format")
        if fmt is not None and fmt.get("type", "raw") not in ("raw", "qcow2"):
            raise unsupported(f"backing store format '{fmt.get('type')}' is not supported by the QEMU driver")
        bs = bs.find("backingStore")


def _controller(dev: Element) -> None:
    ctype = dev.get("type", "")
    if ctype not in _CTRL_MODELS:
        raise unsupported(f"controller type '{ctype}' is not supported by the QEMU driver")
    if dev.get("model") not in _CTRL_MODELS[ctype]:
        raise unsupported(f"{ctype} controller model '{dev.get('model')}' is not supported by the QEMU driver")
    if ctype == "pci" and (dev.get("index", "0") == "0") != (dev.get("model") in ("pci-root", "pcie-root")):
        raise unsupported("PCI controllers other than the root, pcie-root-ports and pcie-to-pci-bridges are "
                          "not supported by the QEMU driver")
    if ctype == "pci" and dev.get("model") == "pcie-root-port":
        name = dev.find("model")
        if name is not None and name.get("name", "pcie-root-port") != "pcie-root-port":
            raise unsupported(f"pcie-root-port model name '{name.get('name')}' is not supported by the QEMU driver")


def check_interface(dev: Element, hotplug: bool = True) -> None:
    """Refuse an ``<interface>`` the driver cannot build (hot-plug also knows ``<link state>``)."""
    _interface(dev, hotplug)


def _interface(dev: Element, hotplug: bool = False) -> None:
    itype = dev.get("type", "")
    if itype not in ("user", "bridge", "ethernet"):
        raise unsupported(f"interface type '{itype}' is not supported by the QEMU driver")
    for child in dev:
        if child.tag == "link" and not hotplug and child.get("state", "up") == "up":
            continue  # the default
        if hotplug and child.tag == "link":
            if child.get("state") not in ("up", "down"):
                raise unsupported(f"interface link state '{child.get('state')}' is not supported")
            continue
        if isinstance(child.tag, str) and child.tag not in _IFACE_CHILD_OK:
            raise unsupported(f"interface element <{child.tag}> is not supported by the QEMU driver")
    model = dev.find("model")
    mtype = model.get("type") if model is not None else "rtl8139"
    if mtype not in _NET_MODELS:
        raise unsupported(f"interface model '{mtype}' is not supported by the QEMU driver")


def _chardev(dev: Element) -> None:
    ctype = dev.get("type", "pty")
    if ctype not in _CHR_TYPES:
        raise unsupported(f"character device type '{ctype}' is not supported by the QEMU driver")
    tgt = dev.find("target")
    ttype = tgt.get("type") if tgt is not None else None
    if dev.tag == "serial" and ttype not in (None, "isa-serial"):
        raise unsupported(f"serial target type '{ttype}' is not supported by the QEMU driver")
    if dev.tag == "console" and ttype not in (None, "serial"):
        raise unsupported(f"console target type '{ttype}' is not supported by the QEMU driver")


def _graphics(dev: Element) -> None:
    gtype = dev.get("type")
    if gtype != "vnc":
        raise unsupported(f"graphics type '{gtype}' is not supported by the QEMU driver")
    for attr in ("passwd", "websocket", "sharePolicy", "keymap"):
        if dev.get(attr) is not None:
            raise unsupported(f"VNC attribute '{attr}' is not supported by the QEMU driver")
    for lst in dev.findall("listen"):
        if lst.get("type", "address") not in ("address", "socket"):
            raise unsupported(f"VNC listen type '{lst.get('type')}' is not supported by the QEMU driver")


def _video(dev: Element) -> None:
    model = dev.find("model")
    mtype = model.get("type") if model is not None else "vga"
    if mtype not in _VIDEO_MODELS:
        raise unsupported(f"video type '{mtype}' is not supported by the QEMU driver")


def _input(dev: Element) -> None:
    if (dev.get("type"), dev.get("bus")) not in (("mouse", "ps2"), ("keyboard", "ps2"),
                                                   ("tablet", "usb"), ("mouse", "usb"),
                                                   ("keyboard", "usb")):
        raise unsupported(f"input device {dev.get('type')} on bus {dev.get('bus')} is not supported")


def _memballoon(dev: Element) -> None:
    if dev.get("model") not in ("virtio", "none"):
        raise unsupported(f"memballoon model '{dev.get('model')}' is not supported by the QEMU driver")


def _panic(dev: Element) -> None:
    if dev.get("model", "isa") != "isa":
        raise unsupported(f"panic model '{dev.get('model')}' is not supported by the QEMU driver")
    if dev.find("address") is not None:
        raise unsupported("panic device address is not supported by the QEMU driver")


#: <watchdog action> -> QEMU's -watchdog-action (libvirt's 'dump' also writes a core: not here)
WATCHDOG_ACTIONS = {"reset": "reset", "shutdown": "shutdown", "poweroff": "poweroff", "pause": "pause",
                    "none": "none", "inject-nmi": "inject-nmi"}


def _watchdog(dev: Element) -> None:
    if dev.get("model") not in ("i6300esb", "ib700"):
        raise unsupported(f"watchdog model '{dev.get('model')}' is not supported by the QEMU driver")
    if dev.get("action", "reset") not in WATCHDOG_ACTIONS:
        raise unsupported(f"watchdog action '{dev.get('action')}' is not supported by the QEMU driver")


_CHECKS = {"disk": _disk, "controller": _controller, "interface": _interface, "serial": _chardev,
           "console": _chardev, "graphics": _graphics, "video": _video, "input": _input,
           "memballoon": _memballoon, "panic": _panic, "watchdog": _watchdog}
