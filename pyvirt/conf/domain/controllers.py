"""Controllers: libvirt's insertion order, index defaults and implicit controllers."""

from __future__ import annotations

import re

from ... import constants as c
from ...errors import make_error
from ..xmlutil import Element

__all__ = ["order_controllers", "add_implicit_controllers", "disk_name_to_index",
           "assign_disk_address"]

_PREFIXES = ("fd", "hd", "vd", "sd", "xvd", "ubd")


def disk_name_to_index(name: str) -> int:
    """libvirt's virDiskNameToIndex ('sda' -> 0, 'hdc' -> 2, 'sdaa' -> 26); -1 if invalid."""
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            rest = name[len(prefix):]
            break
    else:
        return -1
    m = re.match(r"^([a-z]+)(\d*)$", rest)
    if not m:
        return -1
    idx = 0
    for i, ch in enumerate(m.group(1)):
        idx = (idx + (0 if i == 0 else 1)) * 26 + (ord(ch) - ord("a"))
    return idx


def assign_disk_address(disk: Element) -> None:
    """Give an ide/scsi/sata/fdc disk without an address libvirt's default drive address."""
    if disk.find("address") is not None:
        return
    tgt = disk.find("target")
    if tgt is None:
        return
    bus = tgt.get("bus")
    if bus not in ("scsi", "ide", "sata", "fdc"):
        return
    dev = tgt.get("dev", "")
    idx = disk_name_to_index(dev)
    if idx < 0:
        raise make_error(c.VIR_ERR_XML_ERROR, f"Unknown disk name '{dev}' and no address specified",
                         c.VIR_FROM_DOMAIN)
    if bus == "scsi":
        ctrl, bus_n, unit = idx // 7, 0, idx % 7
    elif bus == "ide":
        ctrl, bus_n, unit = idx // 4, (idx % 4) // 2, idx % 2
    elif bus == "sata":
        ctrl, bus_n, unit = idx // 6, 0, idx % 6
    else:
        ctrl, bus_n, unit = idx // 2, 0, idx % 2
    addr = disk.makeelement("address", {"type": "drive", "controller": str(ctrl), "bus": str(bus_n),
                                         "target": "0", "unit": str(unit)})
    disk.append(addr)


def _disk_key(disk: Element) -> tuple[str | None, int]:
    tgt = disk.find("target")
    if tgt is None:
        return None, -1
    return tgt.get("bus"), disk_name_to_index(tgt.get("dev", ""))


def disk_insert_pos(ordered: list[Element], disk: Element) -> int:
    """Where libvirt's virDomainDiskInsert puts *disk* in *ordered* (same bus, by name)."""
    bus, idx = _disk_key(disk)
    insert_at = -1
    for pos in range(len(ordered) - 1, -1, -1):
        cbus, cidx = _disk_key(ordered[pos])
        if cbus == bus and cidx > idx:
            insert_at = pos
        elif cbus == bus and insert_at == -1:
            insert_at = pos + 1
    return len(ordered) if insert_at == -1 else insert_at


def order_disks(devices: Element) -> None:
    """Reorder disks as libvirt's parser inserts them."""
    disks = devices.findall("disk")
    ordered: list[Element] = []
    for disk in disks:
        ordered.insert(disk_insert_pos(ordered, disk), disk)
    if ordered != disks:
        _replace(devices, disks, ordered)


def _idx(ctrl: Element) -> int:
    val = ctrl.get("index")
    return -1 if val is None else int(val)


def _has_master(ctrl: Element) -> bool:
    return ctrl.find("master") is not None or (
        ctrl.get("type") == "usb" and ctrl.get("model") in ("ich9-uhci1", "ich9-uhci2", "ich9-uhci3"))


def _insert(ordered: list[Element], ctrl: Element) -> None:
    """virDomainControllerInsertPreAlloced's placement rule."""
    insert_at = -1
    new_idx = _idx(ctrl)
    for pos in range(len(ordered) - 1, -1, -1):
        cur = ordered[pos]
        if cur.get("type") != ctrl.get("type"):
            continue
        if new_idx == -1:
            insert_at = pos + 1
            break
        if _idx(cur) > new_idx:
            insert_at = pos
        elif not _has_master(ctrl) and _has_master(cur) and _idx(cur) == new_idx:
            insert_at = pos   # a master goes before its companions
        elif insert_at == -1:
            insert_at = pos + 1
    if insert_at == -1:
        ordered.append(ctrl)
    else:
        ordered.insert(insert_at, ctrl)


def order_controllers(devices: Element) -> None:
    """Reorder controllers as libvirt's parser inserts them; assign missing indexes."""
    ctrls = devices.findall("controller")
    ordered: list[Element] = []
    for ctrl in ctrls:
        idx = ctrl.get("index")
        if idx is not None:
            try:
                if int(idx) < 0:
                    raise ValueError
            except ValueError:
                raise make_error(c.VIR_ERR_XML_ERROR,
                                 f"Invalid value for attribute 'index' in element 'controller': '{idx}'. "
                                 "Expected non-negative value", c.VIR_FROM_XML) from None
        _insert(ordered, ctrl)
    for pos, ctrl in enumerate(ordered):
        if ctrl.get("index") is not None:
            continue
        prev = _usb2_group_index(ordered, pos)
        if prev is not None:
            ctrl.set("index", str(prev))
            continue
        used = {_idx(o) for o in ordered if o.get("type") == ctrl.get("type")}
        n = 0
        while n in used:
            n += 1
        ctrl.set("index", str(n))
    seen: set[tuple[str, int]] = set()
    for ctrl in ordered:
        key = (ctrl.get("type", ""), _idx(ctrl))
        if key[0] != "usb" and key in seen:
            raise make_error(c.VIR_ERR_XML_ERROR, f"Multiple '{key[0]}' controllers with index '{key[1]}'",
                             c.VIR_FROM_DOMAIN)
        seen.add(key)
    for ctrl in ordered:
        master = {"ich9-uhci1": "0", "ich9-uhci2": "2", "ich9-uhci3": "4"}.get(ctrl.get("model", ""))
        if ctrl.get("type") == "usb" and master is not None and ctrl.find("master") is None:
            ctrl.insert(0, ctrl.makeelement("master", {"startport": master}))
    _replace(devices, ctrls, ordered)


_USB2 = ("ich9-ehci1", "ich9-uhci1", "ich9-uhci2", "ich9-uhci3")


def _is_usb2(ctrl: Element) -> bool:
    return ctrl.get("type") == "usb" and ctrl.get("model") in _USB2


def _usb2_group_index(ordered: list[Element], pos: int) -> int | None:
    """USB2 companions without an index join the group of the USB2 controller before them."""
    ctrl = ordered[pos]
    if pos == 0 or not _is_usb2(ctrl):
        return None
    prev = next((o for o in reversed(ordered[:pos]) if o.get("type") == "usb"), None)
    if prev is None or not _is_usb2(prev) or prev.get("index") is None:
        return None
    for other in ordered:
        if other.get("type") == "usb" and other.get("index") == prev.get("index") \
                and other.get("model") == ctrl.get("model"):
            return None
    return _idx(prev)


def _replace(devices: Element, old: list[Element], new: list[Element]) -> None:
    if not old:
        for ctrl in new:
            devices.append(ctrl)
        return
    anchor = old[0]
    marker = devices.makeelement("_marker", {})
    anchor.addprevious(marker)
    for ctrl in old:
        devices.remove(ctrl)
    for ctrl in new:
        marker.addprevious(ctrl)
    devices.remove(marker)


def _maybe_add(devices: Element, ctype: str, idx: int) -> None:
    for ctrl in devices.findall("controller"):
        if ctrl.get("type") == ctype and _idx(ctrl) == idx:
            return
    ctrls = devices.findall("controller")
    new = devices.makeelement("controller", {"type": ctype, "index": str(idx)})
    if ctrls:
        ctrls[-1].addnext(new)
    else:
        devices.append(new)


def add_implicit_controllers(devices: Element) -> None:
    """Controllers libvirt adds for drive addresses, virtio channels and smartcards."""
    buses = (("scsi", "scsi"), ("fdc", "fdc"), ("ide", "ide"), ("sata", "sata"))
    tops: dict[str, int] = {}  # bus -> highest controller index of its drive addresses
    for disk in devices.findall("disk"):
        tgt = disk.find("target")
        addr = disk.find("address")
        if tgt is None or addr is None or addr.get("type") != "drive":
            continue
        bus = tgt.get("bus", "")
        if bus in ("scsi", "fdc", "ide", "sata"):
            tops[bus] = max(tops.get(bus, -1), int(addr.get("controller", "0")))
    for ctype, bus in buses if tops else ():
        for i in range(tops.get(bus, -1) + 1):
            _maybe_add(devices, ctype, i)
    for tag in ("channel", "console"):
        for chr_ in devices.findall(tag):
            tgt = chr_.find("target")
            if tgt is None or tgt.get("type") != "virtio":
                continue
            addr = chr_.find("address")
            idx = 0
            if addr is not None and addr.get("type") == "virtio-serial":
                idx = int(addr.get("controller", "0"))
            _maybe_add(devices, "virtio-serial", idx)
    for card in devices.findall("smartcard"):
        addr = card.find("address")
        idx = 0
        if addr is not None and addr.get("type") == "ccid":
            idx = int(addr.get("controller", "0"))
        elif addr is None:
            top = -1
            for other in devices.findall("smartcard"):
                oaddr = other.find("address")
                if oaddr is not None and oaddr.get("type") == "ccid" and oaddr.get("controller", "0") == "0":
                    top = max(top, int(oaddr.get("slot", "0")))
            card.append(card.makeelement("address", {"type": "ccid", "controller": "0", "slot": str(top + 1)}))
        _maybe_add(devices, "ccid", idx)
