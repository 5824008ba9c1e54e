"""Post-parse processing: libvirt's validation and the defaults it fills in.

Works in place on the parsed tree so the model stays a plain lxml tree.
Behaviour follows libvirt 9.0's domain parser and post-parse callbacks as
used by its test driver (generic defaults, no hypervisor-specific ones).
"""

from __future__ import annotations

from ... import constants as c
from ...errors import make_error
from ..xmlutil import Element
from . import hooks
from .controllers import add_implicit_controllers, assign_disk_address, order_controllers, order_disks
from .props import drop_attr
from .units import scale_to_kib
from .common import (CLOCK_OFFSETS, DISK_TYPES, LIFECYCLE, OS_TYPES, VIRT_TYPES, _child,
                     _err, check_mac, check_uuid)
from .devdefaults import _address, _consoles, _graphics, _hostdevs, _interfaces, _video
from .normalize import _cpu, _misc, parse_bitmap
from .validate import check_devices, check_devices_late, check_pci_addresses

__all__ = ["post_parse", "check_uuid", "check_mac", "OS_TYPES", "VIRT_TYPES"]


def _memory(root: Element, tags: set[object]) -> None:
    for tag in ("maxMemory", "memory", "currentMemory"):
        node = root.find(tag)
        if node is None:
            continue
        kib = scale_to_kib(node.text, node.get("unit"), f"./{tag}[1]")
        node.text = str(kib)
        node.set("unit", "KiB")
    numa_total = 0
    for cell in root.findall("cpu/numa/cell") if "cell" in tags else ():
        if cell.get("memory") is not None:
            kib = scale_to_kib(cell.get("memory"), cell.get("unit"), "memory")
            cell.set("memory", str(kib))
            cell.set("unit", "KiB")
            numa_total += kib
    mem = root.find("memory")
    hotplug = 0
    for dimm in root.findall("devices/memory/target/size") if "size" in tags else ():
        kib = scale_to_kib(dimm.text, dimm.get("unit"), "size")
        dimm.text = str(kib)
        dimm.set("unit", "KiB")
        hotplug += kib
    total = int(mem.text) if mem is not None and mem.text else 0
    if total == 0 and numa_total:
        total = numa_total + hotplug
    if total - hotplug <= 0 and not numa_total:
        raise _err(c.VIR_ERR_XML_ERROR,
                   "Memory size must be specified via <memory> or in the <numa> configuration")
    if mem is None:
        mem = root.makeelement("memory", {"unit": "KiB"})
        root.append(mem)
    mem.text = str(total)
    cur = root.find("currentMemory")
    if cur is None:
        cur = root.makeelement("currentMemory", {"unit": "KiB"})
        root.append(cur)
    if int(cur.text or 0) == 0 or int(cur.text or 0) > total:
        cur.text = str(total)
    cur.attrib.clear()
    cur.set("unit", "KiB")


def _vcpu(root: Element) -> None:
    node = root.find("vcpu")
    if node is None:
        node = root.makeelement("vcpu", {})
        node.text = "1"
        root.append(node)
    text = node.text if node.text is not None else "1"
    try:
        if not text.isdigit():
            raise ValueError
        count = int(text)
    except ValueError:
        raise _err(c.VIR_ERR_XML_ERROR, "maximum vcpus count must be an integer") from None
    node.text = str(count)
    cells = [parse_bitmap(cell.get("cpus", "")) for cell in root.findall("cpu/numa/cell")]
    if sum(len(cpus) for cpus in cells) > count:
        raise _err(c.VIR_ERR_INTERNAL_ERROR, "Number of CPUs in <numa> exceeds the <vcpu> count")
    if max((max(cpus) for cpus in cells if cpus), default=0) >= count:
        raise _err(c.VIR_ERR_INTERNAL_ERROR, "CPU IDs in <numa> exceed the <vcpu> count")
    numa_auto = root.find("numatune/memory[@placement='auto']") is not None
    pinned = (node.get("cpuset") is not None or root.find("cputune/vcpupin") is not None
              or root.find("cputune/emulatorpin") is not None or root.find("cputune/iothreadpin") is not None)
    if node.get("placement") is None or (numa_auto and not pinned):
        node.set("placement", "auto" if numa_auto else "static")
    mem = root.find("numatune/memory")
    if mem is not None:
        if mem.get("mode") is None:
            mem.set("mode", "strict")
        if mem.get("placement") is None and mem.get("nodeset") is None and node.get("placement") == "auto":
            mem.set("placement", "auto")
        if mem.get("placement") == "auto":
            drop_attr(mem, "nodeset")
        elif mem.get("placement") == "static":
            drop_attr(mem, "placement")
    elif node.get("placement") == "auto":
        tune = root.find("numatune")
        if tune is None:
            tune = root.makeelement("numatune", {})
            root.append(tune)
        tune.insert(0, tune.makeelement("memory", {"mode": "strict", "placement": "auto"}))
    cur = node.get("current")
    if cur is not None and int(cur) == count:
        del node.attrib["current"]


def _os(root: Element, virt_type: str, default_arch: str) -> None:
    os_el = root.find("os")
    type_el = os_el.find("type") if os_el is not None else None
    if os_el is None or type_el is None or not (type_el.text or "").strip():
        raise _err(c.VIR_ERR_XML_ERROR, "an os <type> must be specified")
    ostype = type_el.text or ""
    if ostype not in OS_TYPES:
        raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, f"unknown OS type '{ostype}'")
    type_el.text = ostype
    if type_el.get("arch") is None:
        type_el.set("arch", default_arch)
    loader = os_el.find("loader")
    if loader is not None and (loader.text or "").strip() and loader.get("type") is None:
        loader.set("type", "rom")


def _lifecycle(root: Element) -> None:
    for tag, default in (("on_poweroff", "destroy"), ("on_reboot", "restart"), ("on_crash", "destroy")):
        node = root.find(tag)
        if node is None:
            node = root.makeelement(tag, {})
            node.text = default
            root.append(node)
        value = (node.text or "").strip()
        if value not in LIFECYCLE:
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, f"unknown {tag} action: {value}")
        node.text = value


def _clock(root: Element) -> None:
    clock = root.find("clock")
    if clock is None:
        clock = root.makeelement("clock", {"offset": "utc"})
        root.append(clock)
        return
    offset = clock.get("offset", "utc")
    if offset not in CLOCK_OFFSETS:
        raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, f"unknown clock offset '{offset}'")
    clock.set("offset", offset)


def _disk_path(disk: Element) -> str | None:
    src = disk.find("source")
    if src is None:
        return None
    return src.get("file") or src.get("dev") or src.get("dir") or src.get("name")


def _duplicate_disks(devices: Element) -> None:
    """libvirt's duplicate target check, run on the disks in their final order."""
    seen: dict[str, Element] = {}
    for disk in devices.findall("disk"):
        dev = disk.find("target").get("dev", "")  # type: ignore[union-attr]
        if dev in seen:
            raise _err(c.VIR_ERR_XML_ERROR,
                       f"target '{dev}' duplicated for disk sources '{_disk_path(seen[dev]) or '<null>'}' and "
                       f"'{_disk_path(disk) or '<null>'}'")
        seen[dev] = disk


def _disks(devices: Element) -> None:
    for disk in devices.findall("disk"):
        dtype = disk.get("type", "file")
        if dtype not in DISK_TYPES:
            raise _err(c.VIR_ERR_XML_ERROR,
                       f"Invalid value for attribute 'type' in element 'disk': '{dtype}'.", c.VIR_FROM_XML)
        disk.set("type", dtype)
        if disk.get("device") is None:
            disk.set("device", "disk")
        tgt = disk.find("target")
        src = disk.find("source")
        path = None
        if src is not None:
            path = src.get("file") or src.get("dev") or src.get("dir") or src.get("name")
        if tgt is None or not tgt.get("dev"):
            if path:
                raise make_error(c.VIR_ERR_NO_TARGET, path, c.VIR_FROM_DOMAIN)
            raise make_error(c.VIR_ERR_NO_TARGET, None, c.VIR_FROM_DOMAIN)
        dev = tgt.get("dev", "")
        if disk.get("device") in ("cdrom",) and disk.find("readonly") is None:
            disk.append(disk.makeelement("readonly", {}))
        if tgt.get("bus") is None:
            bus = _default_bus(dev, disk.get("device", "disk"))
            if bus:
                tgt.set("bus", bus)


def _default_bus(dev: str, device: str) -> str | None:
    if dev.startswith("hd"):
        return "ide"
    if dev.startswith("sd"):
        return "scsi"
    if dev.startswith("vd"):
        return "virtio"
    if dev.startswith("xvd"):
        return "xen"
    if dev.startswith("ubd"):
        return "uml"
    if dev.startswith("fd"):
        return "fdc"
    return None


_BOOT_HOLDERS = ("disk", "interface", "hostdev", "redirdev", "filesystem")


def _boot(root: Element, devices: Element, os_type: str, tags: set[object]) -> None:
    menu = root.find("os/bootmenu") if "bootmenu" in tags else None
    if menu is not None and menu.get("enable") == "yes" and menu.get("timeout") is not None:
        timeout = menu.get("timeout", "")
        if not timeout.isdigit():
            raise make_error(c.VIR_ERR_XML_ERROR, f"Invalid value for attribute 'timeout' in element "
                             f"'bootmenu': '{timeout}'. Expected non-negative integer value", c.VIR_FROM_XML)
        if int(timeout) > 65535:
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                       "invalid value for boot menu timeout, must be in range [0,65535]")
    if os_type != "hvm":
        return
    os_boot = root.findall("os/boot")
    per_device = ([b for tag in _BOOT_HOLDERS for d in devices.findall(tag) for b in d.findall("boot")]
                  if "boot" in tags else [])
    if os_boot and per_device:
        raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                   "per-device boot elements cannot be used together with os/boot elements")
    if not os_boot and not per_device:
        os_el = root.find("os")
        os_el.append(os_el.makeelement("boot", {"dev": "hd"}))  # type: ignore[union-attr]


def generate_mac() -> str:
    """A MAC for an interface without one (see :mod:`.hooks`)."""
    return hooks.generate_mac()


def _drop_foreign(root: Element) -> None:
    for node in list(root):
        if isinstance(node.tag, str) and node.tag.startswith("{"):
            root.remove(node)
        elif not isinstance(node.tag, str):
            root.remove(node)


def post_parse(root: Element, default_arch: str = "i686", inactive: bool = True) -> None:
    """Validate *root* (a ``<domain>``) and fill libvirt's defaults in place.

    *inactive* parses as libvirt does for define: live-only data such as
    device aliases other than user aliases (``ua-*``) is dropped.
    """
    virt = root.get("type")
    if virt is None:
        raise make_error(c.VIR_ERR_INTERNAL_ERROR, "missing domain type attribute", c.VIR_FROM_DOMAIN)
    if virt not in VIRT_TYPES:
        raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, f"invalid domain type {virt}")
    for key in list(root.attrib):
        if key not in ("type",):
            del root.attrib[key]
    _drop_foreign(root)
    tags: set[object] = {e.tag for e in root.iter()}  # to skip rewrites of absent elements
    for tag in ("title", "description"):
        node = root.find(tag) if tag in tags else None
        if node is not None and not node.text:
            root.remove(node)   # libvirt reads these as strings; empty means absent
    if inactive:
        for tgt in root.iterfind("devices/disk/target") if "disk" in tags else ():
            if tgt.get("tray") == "closed":
                drop_attr(tgt, "tray")
        for tune in (root.findall("cputune/cachetune") + root.findall("cputune/memorytune")
                     if "cputune" in tags else ()):
            drop_attr(tune, "id")
        for label in root.findall("seclabel/imagelabel") if "imagelabel" in tags else ():
            label.getparent().remove(label)  # type: ignore[union-attr]
        for dsrc in root.iterfind("devices/disk/source") if "seclabel" in tags else ():
            for dlabel in dsrc.findall("seclabel"):
                if dlabel.get("labelskip") is not None:
                    drop_attr(dlabel, "labelskip")
                    if not len(dlabel) and dlabel.get("relabel") in (None, "yes"):
                        dsrc.remove(dlabel)
        for disk in root.iterfind("devices/disk"):
            for node in disk.iter("source", "backingStore"):
                drop_attr(node, "index")
        for alias in list(root.iterfind("devices/*/alias")) if "alias" in tags else ():
            if not alias.get("name", "").startswith("ua-"):
                alias.getparent().remove(alias)  # type: ignore[union-attr]
    name = root.find("name")
    if name is None or not (name.text or "").strip():
        raise make_error(c.VIR_ERR_NO_NAME, None, c.VIR_FROM_DOMAIN)
    if "/" in (name.text or ""):
        raise _err(c.VIR_ERR_XML_ERROR, f"name {name.text} cannot contain '/'")
    uuid_el = root.find("uuid")
    if uuid_el is None:
        uuid_el = root.makeelement("uuid", {})
        uuid_el.text = hooks.generate_uuid()
        name.addnext(uuid_el)
    else:
        uuid_el.text = check_uuid(uuid_el.text or "")
    _os(root, virt, default_arch)
    _memory(root, tags)
    _vcpu(root)
    _clock(root)
    _lifecycle(root)
    devices = root.find("devices")
    if devices is None:
        devices = root.makeelement("devices", {})
        root.append(devices)
    os_type = root.findtext("os/type") or "hvm"
    arch = root.find("os/type").get("arch", default_arch)  # type: ignore[union-attr]
    check_devices(devices)
    check_pci_addresses(root)
    _disks(devices)
    order_disks(devices)
    _duplicate_disks(devices)
    _interfaces(devices)
    _hostdevs(devices)
    _boot(root, devices, os_type, tags)
    _cpu(root)
    _misc(root, devices)
    for node in root.iter("address"):
        _address(node)
    order_controllers(devices)
    for disk in devices.findall("disk"):
        assign_disk_address(disk)
    for gfx in devices.findall("graphics"):
        _graphics(gfx)
    if devices.find("graphics") is not None and devices.find("video") is None:
        _child(devices, "video")
    videos = devices.findall("video")
    primaries = [v for v in videos if v.find("model[@primary='yes']") is not None]
    if len(primaries) > 1:
        raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, "Only one primary video device is supported")
    if primaries and videos[0] is not primaries[0]:
        videos[0].addprevious(primaries[0])  # libvirt keeps the primary video first
        videos = devices.findall("video")
    for i, vid in enumerate(videos):
        _video(root, vid, i == 0 and not (primaries and vid is not primaries[0]), os_type, arch, virt)
    _consoles(root, devices, os_type)
    add_implicit_controllers(devices)
    check_devices_late(devices)
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag != "metadata" and len(node):
            if node.text is not None and not node.text.strip():
                node.text = None
