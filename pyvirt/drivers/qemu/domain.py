"""QEMU-specific domain defaults: machine type, implicit devices, aliases, PCI addresses.

The generic parser (:mod:`pyvirt.conf.domain`) fills hypervisor-neutral
defaults; this module adds what libvirt 9.0's QEMU driver adds when a domain is
defined (canonical machine type, emulator, USB and PCI root controllers,
memballoon) and, at start-up, the device aliases and PCI slots the command
line needs. PCI slots follow libvirt's order for i440fx (slot 1 is the PIIX3,
slot 2 the primary video card, then controllers, interfaces, sound, storage
controllers, virtio disks, memballoon...). On q35, as in libvirt, each PCIe
device sits behind its own ``pcie-root-port`` (added at define time, plus one
spare for hot-plug), the root ports sharing the functions of ``pcie.0``'s
first free slots.
"""

from __future__ import annotations

from typing import Any

from ... import constants as c
from ...conf.domain import DomainDef
from ...conf.xmlutil import Element
from ...errors import make_error

__all__ = ["apply_defaults", "assign_aliases", "assign_pci_addresses", "is_q35", "add_root_ports",
           "free_root_ports", "root_ports",
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
    if is_q35(machine):
        add_root_ports(defn)


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
    if tag == "watchdog":
        return elem.get("model") == "i6300esb"
    if tag in ("video", "sound", "rng", "filesystem", "hostdev"):
        return True
    return False


def _pci_order(dev: Element) -> list[Element]:
    """Devices in the order libvirt gives them PCI addresses (qemuDomainAssignDevicePCISlots)."""
    ctrls = dev.findall("controller")
    order: list[Element] = []
    order += dev.findall("filesystem") + dev.findall("interface") + dev.findall("sound")
    order += [x for x in ctrls if x.get("type") != "pci"]
    order += dev.findall("disk") + dev.findall("hostdev") + dev.findall("memballoon")
    order += dev.findall("rng") + dev.findall("watchdog") + dev.findall("video")[1:]
    return order


def assign_pci_addresses(defn: DomainDef) -> None:
    """Give PCI devices without an address the next free slot, in libvirt's order.

    On q35 every such device goes behind its own free pcie-root-port (slot 0 of
    that port's bus); :func:`add_root_ports` has added enough of them.
    """
    dev = defn.devices_elem
    q35 = is_q35(defn.os_machine)
    if q35:
        _assign_q35(defn)
        return
    used: set[int] = {0, 1}
    videos = dev.findall("video")
    for elem in dev:
        addr = _pci_addr(elem) if isinstance(elem.tag, str) else None
        if addr is not None:
            used.add(addr[0])
    usb = [x for x in dev.findall("controller") if x.get("type") == "usb" and x.get("index") == "0"]
    if usb and usb[0].get("model") == "piix3-uhci" and _pci_addr(usb[0]) is None:
        _set_pci(usb[0], q35, 1, 2)
    if videos and _pci_addr(videos[0]) is None and 2 not in used:
        _set_pci(videos[0], q35, 2)
        used.add(2)
    slot = 1
    for elem in _pci_order(dev):
        if not _needs_pci(elem, q35) or _pci_addr(elem) is not None:
            continue
        while slot in used:
            slot += 1
        if slot > 0x1F:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                             "No more available PCI slots", c.VIR_FROM_QEMU)
        _set_pci(elem, q35, slot)
        used.add(slot)


# --- q35: one pcie-root-port per PCIe device ------------------------------------------------
def root_ports(defn: DomainDef) -> list[Element]:
    """The pcie-root-port controllers of *defn*, by index."""
    ports = [x for x in defn.devices_elem.findall("controller")
             if x.get("type") == "pci" and x.get("model") == "pcie-root-port"]
    return sorted(ports, key=lambda x: int(x.get("index", "0")))


def _bus_of(elem: Element) -> int | None:
    a = elem.find("address")
    if a is None or a.get("type") != "pci":
        return None
    return int(a.get("bus", "0"), 0)


def free_root_ports(defn: DomainDef) -> list[int]:
    """Indexes of root ports no device sits behind (in index order)."""
    busy = {_bus_of(e) for e in defn.devices_elem if isinstance(e.tag, str)}
    return [int(p.get("index", "0")) for p in root_ports(defn) if int(p.get("index", "0")) not in busy]


def _q35_needing(defn: DomainDef) -> list[Element]:
    dev = defn.devices_elem
    return [e for e in _pci_order(dev) if _needs_pci(e, True) and _pci_addr(e) is None]


def _primary_video_slot(defn: DomainDef) -> bool:
    videos = defn.devices_elem.findall("video")
    if not videos:
        return False
    model = videos[0].find("model")
    return (model.get("type", "vga") if model is not None else "vga") != "none"


def is_legacy_pci(elem: Element) -> bool:
    """A conventional PCI device: on q35 it goes on a pcie-to-pci-bridge, as libvirt puts it."""
    if elem.tag == "interface":
        model = elem.find("model")
        return (model.get("type", "rtl8139") if model is not None else "rtl8139") in ("e1000", "rtl8139")
    return elem.tag == "controller" and elem.get("type") == "scsi" and elem.get("model") == "lsilogic"


def _bridges(defn: DomainDef) -> list[Element]:
    return sorted((x for x in defn.devices_elem.findall("controller")
                   if x.get("type") == "pci" and x.get("model") == "pcie-to-pci-bridge"),
                  key=lambda x: int(x.get("index", "0")))


def _bridge_free_slots(defn: DomainDef) -> list[tuple[int, int]]:
    """(bridge index, slot) pairs still free on the pcie-to-pci-bridges (slots 1-31)."""
    out: list[tuple[int, int]] = []
    for br in _bridges(defn):
        idx = int(br.get("index", "0"))
        used = set()
        for e in defn.devices_elem:
            if isinstance(e.tag, str) and _bus_of(e) == idx:
                a = _pci_addr(e)
                if a is not None:
                    used.add(a[0])
        out += [(idx, slot) for slot in range(1, 0x20) if slot not in used]
    return out


def add_root_ports(defn: DomainDef) -> None:
    """libvirt's define-time rule for pcie-root: a root port per PCIe device, plus one spare.

    Conventional PCI devices share a pcie-to-pci-bridge (itself behind a root
    port), created when the first of them needs it. The spare is added only for
    a definition that had no PCI controller but the root (libvirt's "one time"
    hotplug reservation).
    """
    dev = defn.devices_elem
    pci = [x for x in dev.findall("controller") if x.get("type") == "pci"]
    max_idx = max((int(x.get("index", "0")) for x in pci), default=-1)
    first_max = max_idx
    for port in root_ports(defn):
        _complete_port(defn, port)
    free_ports = free_root_ports(defn)  # taken in device order, as the start-time assignment does
    bridge_room = len(_bridge_free_slots(defn))
    added = False

    def new_controller(model: str) -> Element:
        nonlocal max_idx
        max_idx += 1
        node = dev.makeelement("controller", {"type": "pci", "index": str(max_idx), "model": model})
        last = [x for x in dev.findall("controller") if x.get("type") == "pci"]
        if last:
            last[-1].addnext(node)
        else:
            dev.append(node)
        return node

    for elem in _q35_needing(defn):
        if is_legacy_pci(elem):
            if bridge_room == 0:
                if free_ports:
                    port_idx = free_ports.pop(0)
                else:
                    port = new_controller("pcie-root-port")
                    _complete_port(defn, port)
                    port_idx = int(port.get("index", "0"))
                br = new_controller("pcie-to-pci-bridge")
                br.append(br.makeelement("model", {"name": "pcie-pci-bridge"}))
                br.append(br.makeelement("address", {"type": "pci", "domain": "0x0000", "bus": f"0x{port_idx:02x}",
                                                     "slot": "0x00", "function": "0x0"}))
                bridge_room = 31
                added = True
            bridge_room -= 1
        elif free_ports:
            free_ports.pop(0)
        else:
            _complete_port(defn, new_controller("pcie-root-port"))
            added = True
    if added and first_max <= 0:
        _complete_port(defn, new_controller("pcie-root-port"))
    _set_multifunction(defn)


def _complete_port(defn: DomainDef, port: Element) -> None:
    """A root port's model name, address on pcie.0 and target chassis/port, as libvirt fills them."""
    if port.find("model") is None:
        port.insert(0, port.makeelement("model", {"name": "pcie-root-port"}))
    addr = port.find("address")
    if addr is None:
        slot, func = _next_port_address(defn)
        addr = port.makeelement("address", {"type": "pci", "domain": "0x0000", "bus": "0x00",
                                            "slot": f"0x{slot:02x}", "function": f"0x{func:x}"})
        port.append(addr)
    slot, func = int(addr.get("slot", "0"), 0), int(addr.get("function", "0"), 0)
    tgt = port.find("target")
    if tgt is None:
        tgt = port.makeelement("target", {})
        addr.addprevious(tgt)
    if tgt.get("chassis") is None:
        tgt.set("chassis", port.get("index", "0"))
    if tgt.get("port") is None:
        tgt.set("port", f"0x{(slot << 3) + func:x}")


def _next_port_address(defn: DomainDef) -> tuple[int, int]:
    """Next (slot, function) on pcie.0 for a root port: functions of one slot are shared (aggregated)."""
    taken: dict[int, set[int]] = {}
    ports_in: set[int] = set()
    for elem in defn.devices_elem:
        if not isinstance(elem.tag, str):
            continue
        a = elem.find("address")
        if a is None or a.get("type") != "pci" or int(a.get("bus", "0"), 0) != 0:
            continue
        slot, func = int(a.get("slot", "0"), 0), int(a.get("function", "0"), 0)
        taken.setdefault(slot, set()).add(func)
        if elem.tag == "controller" and elem.get("model") == "pcie-root-port":
            ports_in.add(slot)
    for slot in sorted(ports_in):
        if len(taken[slot]) < 8:
            return slot, min(set(range(8)) - taken[slot])
    reserved = {0, 0x1F} | ({1} if _primary_video_slot(defn) else set())
    for slot in range(1, 0x20):
        if slot not in taken and slot not in reserved:
            return slot, 0
    raise make_error(c.VIR_ERR_INTERNAL_ERROR, "No more available PCI slots", c.VIR_FROM_QEMU)


def _set_multifunction(defn: DomainDef) -> None:
    """virDomainPCIAddressSetAllMulti: function 0 of a slot with several functions is multifunction."""
    funcs: dict[tuple[int, int], list[Element]] = {}
    for elem in defn.devices_elem:
        if not isinstance(elem.tag, str):
            continue
        a = elem.find("address")
        if a is None or a.get("type") != "pci":
            continue
        funcs.setdefault((int(a.get("bus", "0"), 0), int(a.get("slot", "0"), 0)), []).append(a)
    for addrs in funcs.values():
        if len(addrs) > 1:
            for a in addrs:
                if int(a.get("function", "0"), 0) == 0 and a.get("multifunction") is None:
                    a.set("multifunction", "on")


def _assign_q35(defn: DomainDef) -> None:
    dev = defn.devices_elem
    videos = dev.findall("video")
    if videos and _pci_addr(videos[0]) is None and _primary_video_slot(defn):
        _set_pci(videos[0], True, 1)
    free = free_root_ports(defn)
    slots = _bridge_free_slots(defn)
    for elem in _q35_needing(defn):
        pool: list[Any] = slots if is_legacy_pci(elem) else free
        if not pool:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, "No more available PCI slots", c.VIR_FROM_QEMU)
        got = pool.pop(0)
        if isinstance(got, tuple):
            _set_pci(elem, True, got[1], bus=got[0])
        else:
            _set_pci(elem, True, 0, bus=got)


def _set_pci(elem: Element, q35: bool, slot: int, function: int = 0, bus: int = 0) -> None:
    old = elem.find("address")
    if old is not None:
        elem.remove(old)
    attrs = {"type": "pci", "domain": "0x0000", "bus": f"0x{bus:02x}", "slot": f"0x{slot:02x}",
             "function": f"0x{function:x}"}
    elem.append(elem.makeelement("address", attrs))
