"""QEMU-specific domain defaults: machine type, implicit devices, aliases, PCI addresses.

The generic parser (:mod:`pyvirt.conf.domain`) fills hypervisor-neutral
defaults; this module adds what libvirt 9.0's QEMU driver adds when a domain is
defined (canonical machine type, emulator, USB and PCI root controllers,
memballoon) and, at start-up, the device aliases and PCI slots the command
line needs. PCI slots follow libvirt's order for i440fx (slot 1 is the PIIX3,
slot 2 the primary video card, then controllers, interfaces, sound, storage
controllers, virtio disks, memballoon...). On q35, devices sit directly on
``pcie.0`` (libvirt would add a pcie-root-port per device).
"""

from __future__ import annotations

from ... import constants as c
from ...conf.domain import DomainDef
from ...conf.xmlutil import Element
from ...errors import make_error

__all__ = ["apply_defaults", "assign_aliases", "assign_pci_addresses", "is_q35",
           "DEFAULT_EMULATOR", "MACHINE_ALIASES", "unsupported"]

DEFAULT_EMULATOR = "/usr/bin/qemu-system-x86_64"
#: What the ``pc`` and ``q35`` aliases mean for Debian's QEMU 7.2 (libvirt canonicalizes them).
MACHINE_ALIASES = {"pc": "pc-i440fx-7.2", "q35": "pc-q35-7.2"}


def unsupported(detail: str) -> Exception:
    """libvirt's VIR_ERR_CONFIG_UNSUPPORTED from the QEMU driver."""
    return make_error(c.VIR_ERR_CONFIG_UNSUPPORTED, detail, c.VIR_FROM_QEMU)


def is_q35(machine: str | None) -> bool:
    return bool(machine) and ("q35" in str(machine))


def _add(devices: Element, tag: str, attrib: dict[str, str], before: str | None = None) -> Element:
    node = devices.makeelement(tag, attrib)
    anchor = devices.find(before) if before else None
    if anchor is not None:
        anchor.addprevious(node)
    else:
        devices.append(node)
    return node


def apply_defaults(defn: DomainDef) -> None:
    """Fill the QEMU driver's define-time defaults into *defn* (in place)."""
    root = defn.xml
    if defn.type not in ("qemu", "kvm"):
        raise make_error(c.VIR_ERR_CONFIG_UNSUPPORTED,
                         f"unexpected domain type {defn.type}, expecting one of these: qemu, kvm",
                         c.VIR_FROM_QEMU)
    if defn.os_type != "hvm":
        raise unsupported(f"Emulator '{defn.emulator or DEFAULT_EMULATOR}' does not support os type '{defn.os_type}'")
    type_el = root.find("os/type")
    assert type_el is not None
    arch = type_el.get("arch")
    if arch in (None, "i686"):
        # The generic parser's default; the QEMU driver's default is the host's architecture.
        type_el.set("arch", "x86_64")
    elif arch != "x86_64":
        raise unsupported(f"Emulator '{defn.emulator or DEFAULT_EMULATOR}' does not support arch '{arch}'")
    machine = type_el.get("machine") or "pc"
    type_el.set("machine", MACHINE_ALIASES.get(machine, machine))
    machine = type_el.get("machine", "")
    if not (machine.startswith("pc-i440fx-") or machine.startswith("pc-q35-")):
        raise unsupported(f"Emulator '{defn.emulator or DEFAULT_EMULATOR}' does not support machine type '{machine}'")
    devices = defn.devices_elem
    if devices.find("emulator") is None:
        emu = devices.makeelement("emulator", {})
        emu.text = DEFAULT_EMULATOR
        devices.insert(0, emu)
    ctrls = devices.findall("controller")
    if not any(x.get("type") == "usb" for x in ctrls):
        _add(devices, "controller", {"type": "usb", "index": "0",
                                     "model": "qemu-xhci" if is_q35(machine) else "piix3-uhci"})
    root_model = "pcie-root" if is_q35(machine) else "pci-root"
    if not any(x.get("type") == "pci" and x.get("index", "0") == "0" for x in ctrls):
        _add(devices, "controller", {"type": "pci", "index": "0", "model": root_model})
    if is_q35(machine) and not any(x.get("type") == "sata" for x in ctrls):
        _add(devices, "controller", {"type": "sata", "index": "0"})
    for ctrl in devices.findall("controller"):
        if ctrl.get("type") == "usb" and ctrl.get("model") is None:
            ctrl.set("model", "qemu-xhci" if is_q35(machine) else "piix3-uhci")
        if ctrl.get("type") == "scsi" and ctrl.get("model") is None:
            ctrl.set("model", "lsilogic")
    if devices.find("memballoon") is None:
        _add(devices, "memballoon", {"model": "virtio"})
    if devices.find("graphics") is not None and devices.find("input") is None:
        # libvirt's implicit PS/2 devices for a graphical x86 guest
        _add(devices, "input", {"type": "mouse", "bus": "ps2"}, before="graphics")
        _add(devices, "input", {"type": "keyboard", "bus": "ps2"}, before="graphics")


def _set_alias(elem: Element, name: str) -> None:
    node = elem.find("alias")
    if node is None:
        node = elem.makeelement("alias", {})
        addr = elem.find("address")
        if addr is not None:
            addr.addprevious(node)
        else:
            elem.append(node)
    if not node.get("name", "").startswith("ua-"):
        node.set("name", name)


def _drive_addr(elem: Element) -> tuple[int, int, int, int]:
    a = elem.find("address")
    # Only drive addresses carry controller/bus/target/unit; a virtio disk's is a PCI address.
    if a is None or a.get("type", "drive") != "drive":
        return (0, 0, 0, 0)
    return tuple(int(a.get(k, "0"), 0) for k in ("controller", "bus", "target", "unit"))  # type: ignore[return-value]


def disk_alias(disk: Element, scsi_model: str | None = None) -> str:
    """libvirt's alias for a disk (virtio-disk0, ide0-1-0, scsi0-0-0-0, sata0-0-0).

    *scsi_model* is the model of the disk's SCSI controller (lsilogic disks get
    a three-part alias, like every other drive-addressed disk).
    """
    tgt = disk.find("target")
    bus = tgt.get("bus", "") if tgt is not None else ""
    ctrl, bus_n, target, unit = _drive_addr(disk)
    if bus == "virtio":
        from ...conf.domain.controllers import disk_name_to_index
        return f"virtio-disk{disk_name_to_index(tgt.get('dev', '')) if tgt is not None else 0}"
    if bus == "ide":
        return f"ide{ctrl}-{bus_n}-{unit}"
    if bus == "sata":
        return f"sata{ctrl}-{bus_n}-{unit}"
    if bus == "scsi":
        if scsi_model == "lsilogic":
            return f"scsi{ctrl}-{bus_n}-{unit}"
        return f"scsi{ctrl}-{bus_n}-{target}-{unit}"
    if bus == "fdc":
        return f"fdc{ctrl}-{bus_n}-{unit}"
    return f"{bus}-disk0"


def assign_aliases(defn: DomainDef) -> None:
    """Give every device libvirt's alias (``<alias name=.../>``)."""
    dev = defn.devices_elem
    scsi_models = {int(x.get("index", "0")): x.get("model") for x in dev.findall("controller")
                   if x.get("type") == "scsi"}
    for disk in dev.findall("disk"):
        _set_alias(disk, disk_alias(disk, scsi_models.get(_drive_addr(disk)[0])))
    counters: dict[str, int] = {}
    for ctrl in dev.findall("controller"):
        ctype, idx = ctrl.get("type", ""), ctrl.get("index", "0")
        if ctype == "usb":
            name = "usb" if idx == "0" else f"usb{idx}"
        elif ctype == "pci":
            name = "pcie.0" if ctrl.get("model") == "pcie-root" else f"pci.{idx}"
        elif ctype == "ide":
            name = "ide" if idx == "0" else f"ide{idx}"
        elif ctype == "sata":
            name = "ide" if idx == "0" and is_q35(defn.os_machine) else f"sata{idx}"
        else:
            name = f"{ctype}{idx}"
        _set_alias(ctrl, name)
    for i, net in enumerate(dev.findall("interface")):
        _set_alias(net, f"net{i}")
    for tag in ("serial", "parallel", "channel", "input", "video", "sound", "rng", "watchdog"):
        for i, node in enumerate(dev.findall(tag)):
            _set_alias(node, f"{tag}{i}")
    for i, con in enumerate(dev.findall("console")):
        tgt = con.find("target")
        if i == 0 and tgt is not None and tgt.get("type", "serial") == "serial":
            _set_alias(con, "serial0")
        else:
            _set_alias(con, f"console{i}")
    for bal in dev.findall("memballoon"):
        if bal.get("model") != "none":
            _set_alias(bal, "balloon0")


def _pci_addr(elem: Element) -> tuple[int, int] | None:
    a = elem.find("address")
    if a is None or a.get("type") != "pci":
        return None
    return int(a.get("slot", "0"), 0), int(a.get("function", "0"), 0)


def _needs_pci(elem: Element, q35: bool) -> bool:
    tag = elem.tag
    if tag == "controller":
        ctype, model = elem.get("type"), elem.get("model")
        if ctype in ("pci", "ide", "fdc", "ccid"):
            return False
        if ctype == "sata":
            return not q35 or elem.get("index", "0") != "0"
        if ctype == "usb" and model in ("none", "piix3-uhci"):
            return False
        return True
    if tag == "disk":
        tgt = elem.find("target")
        return tgt is not None and tgt.get("bus") == "virtio"
    if tag == "interface":
        return True
    if tag == "memballoon":
        return elem.get("model") == "virtio"
    if tag in ("video", "sound", "rng", "filesystem", "hostdev", "watchdog"):
        return True
    return False


def assign_pci_addresses(defn: DomainDef) -> None:
    """Give PCI devices without an address the next free slot, in libvirt's order."""
    dev = defn.devices_elem
    q35 = is_q35(defn.os_machine)
    used: set[int] = {0, 0x1F} if q35 else {0, 1}
    videos = dev.findall("video")
    for elem in dev:
        addr = _pci_addr(elem) if isinstance(elem.tag, str) else None
        if addr is not None:
            used.add(addr[0])
    if not q35:
        usb = [x for x in dev.findall("controller") if x.get("type") == "usb" and x.get("index") == "0"]
        if usb and usb[0].get("model") == "piix3-uhci" and _pci_addr(usb[0]) is None:
            _set_pci(usb[0], q35, 1, 2)
    primary_slot = 1 if q35 else 2
    if videos and _pci_addr(videos[0]) is None and primary_slot not in used:
        _set_pci(videos[0], q35, primary_slot)
        used.add(primary_slot)
    order: list[Element] = []
    ctrls = dev.findall("controller")
    order += dev.findall("filesystem") + dev.findall("interface") + dev.findall("sound")
    order += [x for x in ctrls if x.get("type") != "pci"]
    order += dev.findall("disk") + dev.findall("hostdev") + dev.findall("memballoon")
    order += dev.findall("rng") + dev.findall("watchdog") + videos[1:]
    slot = 1
    for elem in order:
        if not _needs_pci(elem, q35) or _pci_addr(elem) is not None:
            continue
        while slot in used:
            slot += 1
        if slot > 0x1F:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                             "No more available PCI slots", c.VIR_FROM_QEMU)
        _set_pci(elem, q35, slot)
        used.add(slot)


def _set_pci(elem: Element, q35: bool, slot: int, function: int = 0) -> None:
    old = elem.find("address")
    if old is not None:
        elem.remove(old)
    attrs = {"type": "pci", "domain": "0x0000", "bus": "0x00", "slot": f"0x{slot:02x}",
             "function": f"0x{function:x}"}
    elem.append(elem.makeelement("address", attrs))
