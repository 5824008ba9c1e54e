"""Adding, removing and changing single devices of a definition (attach-device & co).

Rules and messages follow libvirt 9.0's persistent-config device changes
(qemuDomainAttachDeviceConfig and friends; the 9.0 test driver has none).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from lxml import etree

from ... import constants as c
from ...errors import make_error
from ..xmlutil import Element
from . import defaults
from .controllers import _insert as insert_controller, disk_insert_pos
from .devices import DeviceDef, wrap_device
from .props import detach_node
from .validate import _hostdev_key

if TYPE_CHECKING:
    from .model import DomainDef

__all__ = ["attach", "detach", "update", "find_device"]

_MARK = "{urn:pyvirt}new-device"


def _elem(xml: str | Element) -> Element:
    from .model import parse_device
    return parse_device(xml) if isinstance(xml, (str, bytes)) else copy.deepcopy(xml)


def _missing(detail: str | None = None, message: str | None = None) -> Exception:
    return make_error(c.VIR_ERR_DEVICE_MISSING, detail, c.VIR_FROM_DOMAIN, message=message)


def _invalid(detail: str) -> Exception:
    return make_error(c.VIR_ERR_OPERATION_INVALID, detail, c.VIR_FROM_DOMAIN)


def _target(disk: Element) -> str:
    tgt = disk.find("target")
    return "" if tgt is None else tgt.get("dev", "")


def _bus(disk: Element) -> str | None:
    tgt = disk.find("target")
    if tgt is None:
        return None
    return tgt.get("bus") or defaults._default_bus(tgt.get("dev", ""), disk.get("device", "disk"))


def _normalized(elem: Element) -> Element:
    """A device element passed through the domain parser's defaults."""
    holder = elem.makeelement("domain", {"type": "test"})
    for tag, text in (("name", "x"), ("memory", "1024")):
        node = holder.makeelement(tag, {})
        node.text = text
        holder.append(node)
    os_el = holder.makeelement("os", {})
    typ = os_el.makeelement("type", {})
    typ.text = "hvm"
    os_el.append(typ)
    holder.append(os_el)
    devs = holder.makeelement("devices", {})
    devs.append(copy.deepcopy(elem))
    holder.append(devs)
    defaults.post_parse(holder, inactive=False)
    return devs.find(elem.tag)  # type: ignore[return-value]


def _net_index(devices: Element, want: Element) -> int:
    """libvirt's virDomainNetFindIdx: match by MAC, PCI/CCW address and alias."""
    mac_el = want.find("mac")
    mac = defaults.check_mac(mac_el.get("address", "")) if mac_el is not None and mac_el.get("address") else None
    addr = want.find("address")
    alias_el = want.find("alias")
    alias = alias_el.get("name") if alias_el is not None else None
    nets = devices.findall("interface")
    match = -1
    for i, net in enumerate(nets):
        nmac = net.find("mac")
        if mac is not None and (nmac is None or nmac.get("address", "").lower() != mac):
            continue
        if addr is not None and addr.get("type") in ("pci", "ccw"):
            naddr = net.find("address")
            if naddr is None or _addr_key(naddr) != _addr_key(addr):
                continue
        nalias = net.find("alias")
        if alias and nalias is not None and nalias.get("name") != alias:
            continue
        if match >= 0:
            if mac is not None:
                raise make_error(c.VIR_ERR_OPERATION_FAILED, f"multiple devices matching MAC address {mac} found",
                                 c.VIR_FROM_DOMAIN)
            raise make_error(c.VIR_ERR_OPERATION_FAILED, "multiple matching devices found", c.VIR_FROM_DOMAIN)
        match = i
    if match >= 0:
        return match
    where = "(<null>)"
    if addr is not None and addr.get("type") == "pci":
        where = "{:04x}:{:02x}:{:02x}.{:x}".format(*(int(addr.get(k) or "0", 0)
                                                   for k in ("domain", "bus", "slot", "function")))
    raise _missing(f"no device found at address '{where}' matching MAC address "
                   f"'{mac or '(<null>)'}' and alias '{alias or '(<null>)'}'")


def _addr_key(addr: Element) -> tuple[int, ...]:
    keys = ("domain", "bus", "slot", "function") if addr.get("type") == "pci" else ("cssid", "ssid", "devno")
    return tuple(int(addr.get(k) or "0", 0) for k in keys)


def find_device(dom: "DomainDef", xml: str | Element) -> Element:
    """The device of *dom* that *xml* designates (libvirt's matching rules)."""
    want = _elem(xml)
    devices = dom.devices_elem
    tag = want.tag
    if tag == "disk":
        dst = _target(want)
        for disk in devices.findall("disk"):
            if _target(disk) == dst:
                return disk
        raise _missing(f"no target device {dst}", message=None)
    if tag == "interface":
        return devices.findall("interface")[_net_index(devices, want)]
    if tag == "controller":
        for ctrl in devices.findall("controller"):
            if ctrl.get("type") == want.get("type") and ctrl.get("index", "0") == want.get("index", "0"):
                return ctrl
        raise _missing("device not present in domain configuration")
    if tag == "hostdev":
        key = _hostdev_key(_normalized(want))
        for dev in devices.findall("hostdev"):
            if _hostdev_key(dev) == key:
                return dev
        raise _missing("device not present in domain configuration")
    if tag == "filesystem":
        tdir = want.find("target")
        for fs in devices.findall("filesystem"):
            ft = fs.find("target")
            if tdir is not None and ft is not None and ft.get("dir") == tdir.get("dir"):
                return fs
        raise _missing("no matching filesystem device was found")
    for dev in devices.findall(tag):
        if dev.get("{urn:pyvirt}alias-of-serial"):
            continue
        if all(dev.get(k) == v for k, v in want.attrib.items()) and _subset(want, dev):
            return dev
    raise _missing("device not present in domain configuration")


def _subset(want: Element, have: Element) -> bool:
    for child in want:
        if not isinstance(child.tag, str) or child.tag == "address":
            continue
        match = have.find(child.tag)
        if match is None or any(match.get(k) != v for k, v in child.attrib.items()):
            return False
    return True


def attach(dom: "DomainDef", xml: str | Element) -> DeviceDef:
    """Add a device to the definition; libvirt's duplicate checks."""
    elem = _elem(xml)
    devices = dom.devices_elem
    tag = elem.tag
    if tag == "disk":
        dst = _target(elem)
        if dst and any(_target(d) == dst for d in devices.findall("disk")):
            raise _invalid(f"target {dst} already exists")
    elif tag == "controller":
        idx = elem.get("index")
        if idx is not None and any(ctl.get("type") == elem.get("type", "") and ctl.get("index") == idx
                                   for ctl in devices.findall("controller")):
            raise _invalid(f"controller index='{idx}' already exists")
    elif tag == "hostdev":
        key = _hostdev_key(_normalized(elem))
        if any(_hostdev_key(h) == key for h in devices.findall("hostdev")):
            raise _invalid("device is already in the domain configuration")
    elif tag == "filesystem":
        tdir = elem.find("target")
        for fs in devices.findall("filesystem"):
            ft = fs.find("target")
            if tdir is not None and ft is not None and ft.get("dir") == tdir.get("dir"):
                raise _invalid("Target already exists")
    elem.set(_MARK, "1")
    work = copy.deepcopy(dom.xml)
    wdev = work.find("devices")
    assert wdev is not None
    _place(wdev, elem)
    defaults.post_parse(work, inactive=False)
    dom.xml = work
    new = next(e for e in work.iter() if isinstance(e.tag, str) and e.get(_MARK))
    del new.attrib[_MARK]
    return wrap_device(new)


def _place(devices: Element, elem: Element) -> None:
    tag = elem.tag
    same = devices.findall(tag)
    if tag == "disk":
        tgt = elem.find("target")
        if tgt is not None and tgt.get("bus") is None and _bus(elem):
            tgt.set("bus", _bus(elem) or "")
        at = disk_insert_pos(same, elem)
        if at < len(same):
            same[at].addprevious(elem)
            return
    elif tag == "controller":
        ordered = list(same)
        insert_controller(ordered, elem)
        pos = ordered.index(elem)
        if pos + 1 < len(ordered):
            ordered[pos + 1].addprevious(elem)
            return
    if same:
        same[-1].addnext(elem)
    else:
        devices.append(elem)


def detach(dom: "DomainDef", xml: str | Element) -> DeviceDef:
    """Remove the device *xml* designates; libvirt's "missing" errors."""
    found = find_device(dom, xml)
    parent = found.getparent()
    assert parent is not None
    parent.remove(found)
    return wrap_device(found)


def update(dom: "DomainDef", xml: str | Element) -> DeviceDef:
    """Replace a disk, interface or graphics device by a new definition."""
    elem = _elem(xml)
    devices = dom.devices_elem
    if elem.tag == "disk":
        dst = _target(elem)
        old = next((d for d in devices.findall("disk") if _target(d) == dst), None)
        if old is None:
            raise make_error(c.VIR_ERR_INVALID_ARG, f"target {dst} doesn't exist.", c.VIR_FROM_DOMAIN)
    elif elem.tag == "interface":
        old = devices.findall("interface")[_net_index(devices, elem)]
    elif elem.tag == "graphics":
        old = next((g for g in devices.findall("graphics") if g.get("type") == elem.get("type")), None)
        if old is None:
            raise make_error(c.VIR_ERR_INVALID_ARG,
                             f"cannot find existing graphics type '{elem.get('type')}' device to modify",
                             c.VIR_FROM_DOMAIN)
    else:
        raise make_error(c.VIR_ERR_OPERATION_UNSUPPORTED,
                         f"persistent update of device '{elem.tag}' is not supported", c.VIR_FROM_DOMAIN)
    elem.set(_MARK, "1")
    work = copy.deepcopy(dom.xml)
    path = dom.xml.getroottree().getpath(old)
    found = work.getroottree().xpath(path)
    assert isinstance(found, list) and isinstance(found[0], etree._Element)
    target = found[0]
    target.addprevious(elem)
    detach_node(target)
    defaults.post_parse(work, inactive=False)
    dom.xml = work
    new = next(e for e in work.iter() if isinstance(e.tag, str) and e.get(_MARK))
    del new.attrib[_MARK]
    return wrap_device(new)
