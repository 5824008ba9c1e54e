"""Post-parse processing: libvirt's validation and the defaults it fills in.

Works in place on the parsed tree so the model stays a plain lxml tree.
Behaviour follows libvirt 9.0's domain parser and post-parse callbacks as
used by its test driver (generic defaults, no hypervisor-specific ones).
"""

from __future__ import annotations

import copy
import re
import uuid as uuidlib

from ... import constants as c
from ...errors import make_error
from ..xmlutil import Element
from . import hooks
from .controllers import add_implicit_controllers, assign_disk_address, order_controllers, order_disks
from .props import drop_attr
from .units import scale_to_kib
from .validate import check_devices, check_devices_late, check_pci_addresses

__all__ = ["post_parse", "check_uuid", "check_mac", "OS_TYPES", "VIRT_TYPES"]

VIRT_TYPES = ("none", "qemu", "kqemu", "kvm", "xen", "lxc", "uml", "openvz", "test", "vmware",
              "hyperv", "vbox", "phyp", "parallels", "bhyve", "vz", "hvf")
OS_TYPES = ("hvm", "xen", "linux", "exe", "uml")
LIFECYCLE = ("destroy", "restart", "rename-restart", "preserve", "coredump-destroy",
             "coredump-restart")
DISK_TYPES = ("block", "file", "dir", "network", "volume", "nvme", "vhostuser", "vhostvdpa")
GRAPHICS_TYPES = ("sdl", "vnc", "rdp", "desktop", "spice", "egl-headless", "dbus")
CLOCK_OFFSETS = ("utc", "localtime", "variable", "timezone", "absolute")

_MAC_RE = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$")


def _err(code: int, detail: str, domain: int = c.VIR_FROM_DOMAIN) -> Exception:
    return make_error(code, detail, domain)


def check_uuid(text: str) -> str:
    """*text* as a canonical UUID; libvirt's error when malformed."""
    hexonly = text.strip().replace("-", "").replace(" ", "")
    if not re.fullmatch(r"[0-9a-fA-F]{32}", hexonly):
        raise _err(c.VIR_ERR_INTERNAL_ERROR, "malformed uuid element")
    return str(uuidlib.UUID(hexonly))


def check_mac(text: str) -> str:
    """*text* as libvirt's canonical MAC (lower case, two digits per byte)."""
    if not _MAC_RE.match(text):
        raise _err(c.VIR_ERR_XML_ERROR, f"unable to parse mac address '{text}'")
    parts = [int(p, 16) for p in text.split(":")]
    if parts[0] & 1:
        raise _err(c.VIR_ERR_XML_ERROR, f"expected unicast mac address, found multicast '{text}'")
    return ":".join(f"{p:02x}" for p in parts)


def _child(parent: Element, tag: str, attrib: dict[str, str] | None = None, before: str | None = None) -> Element:
    node = parent.makeelement(tag, attrib or {})
    parent.append(node)
    return node


def _memory(root: Element) -> None:
    for tag in ("maxMemory", "memory", "currentMemory"):
        node = root.find(tag)
        if node is None:
            continue
        kib = scale_to_kib(node.text, node.get("unit"), f"./{tag}[1]")
        node.text = str(kib)
        node.set("unit", "KiB")
    numa_total = 0
    for cell in root.findall("cpu/numa/cell"):
        if cell.get("memory") is not None:
            kib = scale_to_kib(cell.get("memory"), cell.get("unit"), "memory")
            cell.set("memory", str(kib))
            cell.set("unit", "KiB")
            numa_total += kib
    mem = root.find("memory")
    hotplug = 0
    for dimm in root.findall("devices/memory/target/size"):
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
    text = (node.text or "").strip() or "1"
    try:
        count = int(text)
    except ValueError:
        raise _err(c.VIR_ERR_XML_ERROR, "maximum vcpus count must be an integer") from None
    node.text = str(count)
    if node.get("placement") is None:
        node.set("placement", "auto" if root.find("numatune/memory[@placement='auto']") is not None
                 else "static")
    cur = node.get("current")
    if cur is not None and int(cur) == count:
        del node.attrib["current"]


def _os(root: Element, virt_type: str, default_arch: str) -> None:
    os_el = root.find("os")
    type_el = os_el.find("type") if os_el is not None else None
    if os_el is None or type_el is None or not (type_el.text or "").strip():
        raise _err(c.VIR_ERR_XML_ERROR, "an os <type> must be specified")
    ostype = (type_el.text or "").strip()
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


def _graphics(dev: Element) -> None:
    gtype = dev.get("type")
    if gtype not in GRAPHICS_TYPES:
        raise _err(c.VIR_ERR_XML_ERROR,
                   f"Invalid value for attribute 'type' in element 'graphics': '{gtype}'.", c.VIR_FROM_XML)
    if gtype not in ("vnc", "spice", "rdp"):
        return
    listens = dev.findall("listen")
    addr = dev.get("listen")
    if not listens:
        if gtype == "vnc" and dev.get("socket") is not None:
            node = dev.makeelement("listen", {"type": "socket", "socket": dev.get("socket", "")})
        else:
            attrs = {"type": "address"}
            if addr:
                attrs["address"] = addr
            node = dev.makeelement("listen", attrs)
        dev.insert(0, node)
        listens = [node]
    first = listens[0]
    if first.get("type") == "address" and first.get("address") and addr is None:
        dev.set("listen", first.get("address", ""))
    ltype = first.get("type")
    port = dev.get("port")
    autoport = dev.get("autoport")
    if gtype == "vnc":
        auto = port is None or port == "-1"
        if autoport is not None:
            auto = autoport == "yes"
        if auto:
            dev.set("port", "-1")
            dev.set("autoport", "yes")
        else:
            dev.set("autoport", "no")
        if ltype not in ("address", "network"):
            drop_attr(dev, "port")
            drop_attr(dev, "autoport")
        if ltype == "socket" and first.get("socket"):
            dev.set("socket", first.get("socket", ""))
    elif gtype == "spice":
        tls = dev.get("tlsPort")
        auto = autoport == "yes" or (port == "-1" and tls == "-1")
        if auto:
            drop_attr(dev, "port", "tlsPort")
        else:
            for attr in ("port", "tlsPort"):
                if dev.get(attr) in ("0", "-1"):
                    drop_attr(dev, attr)
        if (ltype == "address" and not auto and dev.get("port") is None
                and dev.get("tlsPort") is None):
            drop_attr(dev, "listen")
            for key in list(first.attrib):
                del first.attrib[key]
            first.set("type", "none")
            ltype = "none"
        if ltype in ("address", "network"):
            dev.set("autoport", "yes" if auto else "no")
        else:
            drop_attr(dev, "port", "tlsPort", "autoport")


def _video(root: Element, dev: Element, first: bool, os_type: str, arch: str, virt: str) -> None:
    model = dev.find("model")
    if model is None:
        model = dev.makeelement("model", {})
        dev.insert(0, model)
    vtype = model.get("type")
    if vtype is None:
        if os_type in ("xen", "linux"):
            vtype = "xen"
        elif arch.startswith("ppc64"):
            vtype = "vga"
        else:
            vtype = "cirrus"
        model.set("type", vtype)
    if model.get("vram") is None and vtype in ("vga", "cirrus", "vmvga", "bochs", "xen", "qxl"):
        ram = 16384
        if vtype == "xen":
            ram = 4096
        elif vtype == "qxl":
            ram = 65536
        elif vtype != "bochs" and virt == "vbox":
            ram = 8192
        elif vtype != "bochs" and virt == "vmware":
            ram = 4096
        model.set("vram", str(ram))
    if vtype == "qxl" and model.get("ram") is None:
        model.set("ram", "65536")
    if model.get("heads") is None and vtype not in ("none",):
        model.set("heads", "1")
    if first and model.get("primary") is None and vtype != "none":
        model.set("primary", "yes")


def _chr_target_port(devs: list[Element]) -> None:
    used = []
    for dev in devs:
        tgt = dev.find("target")
        if tgt is not None and tgt.get("port") is not None:
            used.append(int(tgt.get("port", "0")))
    nxt = 0
    for dev in devs:
        tgt = dev.find("target")
        if tgt is None:
            tgt = dev.makeelement("target", {})
            dev.append(tgt)
        if tgt.get("port") is None:
            while nxt in used:
                nxt += 1
            tgt.set("port", str(nxt))
            used.append(nxt)


def _consoles(root: Element, devices: Element, os_type: str) -> None:
    serials = devices.findall("serial")
    consoles = devices.findall("console")
    if os_type != "hvm":
        for i, con in enumerate(consoles):
            tgt = con.find("target")
            if tgt is None:
                tgt = _child(con, "target")
            if tgt.get("type") is None:
                tgt.set("type", "serial")
            if tgt.get("port") is None:
                tgt.set("port", str(i))
        return
    for i, con in enumerate(consoles):
        tgt = con.find("target")
        if tgt is not None and tgt.get("type") not in (None, "serial"):
            tgt.set("port", str(i))
    for con in consoles[1:]:
        tgt = con.find("target")
        if tgt is not None and tgt.get("type") == "serial":
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, "Only the first console can be a serial port")
    if consoles:
        tgt = consoles[0].find("target")
        ttype = tgt.get("type") if tgt is not None else None
        if ttype in (None, "serial"):
            if not serials:
                ser = copy.deepcopy(consoles[0])
                ser.tag = "serial"
                stgt = ser.find("target")
                if stgt is None:
                    stgt = _child(ser, "target")
                for key in list(stgt.attrib):
                    del stgt.attrib[key]
                stgt.set("port", "0")
                devices.append(ser)
                serials = [ser]
            consoles[0].set("{urn:pyvirt}alias-of-serial", "1")
    elif serials:
        first_tgt = serials[0].find("target")
        ttype = first_tgt.get("type") if first_tgt is not None else None
        if ttype in (None, "isa-serial", "spapr-vio-serial", "system-serial", "sclp-serial"):
            stub = devices.makeelement("console", {"{urn:pyvirt}alias-of-serial": "1"})
            devices.append(stub)
    _chr_target_port(serials)
    _chr_target_port(devices.findall("parallel"))


def _disks(devices: Element) -> None:
    seen: dict[str, Element] = {}
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
        if dev in seen:
            other = seen[dev].find("source")
            opath = None if other is None else (other.get("file") or other.get("dev") or other.get("dir")
                                                 or other.get("name"))
            raise _err(c.VIR_ERR_XML_ERROR,
                       f"target '{dev}' duplicated for disk sources '{opath or '<null>'}' and "
                       f"'{path or '<null>'}'")
        seen[dev] = disk
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


_VIRTIO_NET = ("virtio", "virtio-transitional", "virtio-non-transitional")
_NET_MODELS = ("virtio", "virtio-transitional", "virtio-non-transitional", "e1000", "e1000e", "igb",
               "rtl8139", "netfront", "usb-net", "spapr-vlan", "lan9118", "scm91c111", "vlance",
               "vmxnet", "vmxnet2", "vmxnet3", "am79c970a", "am79c973", "82540em", "82545em", "82543gc")


_NET_SOURCE_ATTRS = {"network": ("network", "portgroup", "portid"), "bridge": ("bridge",)}


def _interfaces(devices: Element) -> None:
    for net in devices.findall("interface"):
        keep = _NET_SOURCE_ATTRS.get(net.get("type", ""))
        src = net.find("source")
        if keep is not None and src is not None:
            drop_attr(src, *(str(a) for a in list(src.attrib) if str(a) not in keep))
        model = net.find("model")
        if model is not None and model.get("type"):
            low = model.get("type", "").lower()
            if low in _NET_MODELS:
                model.set("type", low)
        if net.get("type") != "hostdev" and (model is None or model.get("type") not in _VIRTIO_NET):
            for drv in net.findall("driver"):
                net.remove(drv)
        mac = net.find("mac")
        if mac is not None and mac.get("address") is not None:
            mac.set("address", check_mac(mac.get("address", "")))
        else:
            if mac is None:
                mac = net.makeelement("mac", {})
                net.insert(0, mac)
            mac.set("address", hooks.generate_mac())


def _hostdevs(devices: Element) -> None:
    for dev in devices.findall("hostdev"):
        if dev.get("mode", "subsystem") == "subsystem":
            dev.set("mode", "subsystem")
            if dev.get("managed") is None:
                dev.set("managed", "no")


_BOOT_HOLDERS = ("disk", "interface", "hostdev", "redirdev", "filesystem")


def _boot(root: Element, devices: Element, os_type: str) -> None:
    if os_type != "hvm":
        return
    os_boot = root.findall("os/boot")
    per_device = [b for tag in _BOOT_HOLDERS for d in devices.findall(tag) for b in d.findall("boot")]
    if os_boot and per_device:
        raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                   "per-device boot elements cannot be used together with os/boot elements")
    if not os_boot and not per_device:
        os_el = root.find("os")
        os_el.append(os_el.makeelement("boot", {"dev": "hd"}))  # type: ignore[union-attr]


_NET_PORTS = {"http": "80", "https": "443", "ftp": "21", "ftps": "990", "tftp": "69", "sheepdog": "7000",
              "nbd": "10809", "ssh": "22", "iscsi": "3260", "gluster": "24007", "vxhs": "9999"}


def parse_bitmap(text: str) -> list[int]:
    """libvirt's bitmap syntax ('0-3,^2,8') as a sorted list."""
    on: set[int] = set()
    off: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        neg = part.startswith("^")
        part = part.lstrip("^")
        lo, _, hi = part.partition("-")
        rng = range(int(lo), int(hi or lo) + 1)
        (off if neg else on).update(rng)
    return sorted(on - off)


def format_bitmap(bits: list[int]) -> str:
    """Ranges as libvirt writes them ('0-3,5')."""
    out: list[str] = []
    i = 0
    while i < len(bits):
        j = i
        while j + 1 < len(bits) and bits[j + 1] == bits[j] + 1:
            j += 1
        out.append(str(bits[i]) if i == j else f"{bits[i]}-{bits[j]}")
        i = j + 1
    return ",".join(out)


_BITMAPS = (("vcpu", "cpuset"), ("cputune/vcpupin", "cpuset"), ("cputune/emulatorpin", "cpuset"),
            ("cputune/iothreadpin", "cpuset"), ("numatune/memory", "nodeset"),
            ("numatune/memnode", "nodeset"), ("cpu/numa/cell", "cpus"),
            ("memoryBacking/hugepages/page", "nodeset"))


def pretty_size(nbytes: int) -> tuple[int, str]:
    """libvirt's virFormatIntPretty: the largest unit dividing *nbytes* exactly."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    if nbytes == 0 or nbytes % 1024:
        return nbytes, "B"
    idx = 0
    while idx < len(units) - 1 and nbytes % 1024 == 0:
        nbytes //= 1024
        idx += 1
    return nbytes, units[idx]


def _iothreads(root: Element) -> None:
    count_el = root.find("iothreads")
    ids_el = root.find("iothreadids")
    given = ids_el.findall("iothread") if ids_el is not None else []
    count = int((count_el.text or "0").strip() or 0) if count_el is not None else 0
    count = max(count, len(given))
    if given and len(given) < count and ids_el is not None:
        used = {int(t.get("id", "0")) for t in given}
        nxt = 1
        while len(ids_el.findall("iothread")) < count:
            while nxt in used:
                nxt += 1
            ids_el.append(ids_el.makeelement("iothread", {"id": str(nxt)}))
            used.add(nxt)
    if count_el is None and count:
        count_el = root.makeelement("iothreads", {})
        root.append(count_el)
    if count_el is not None:
        if count:
            count_el.text = str(count)
        else:
            root.remove(count_el)


def _metadata(root: Element) -> None:
    meta = root.find("metadata")
    if meta is None:
        return
    seen: set[str] = set()
    for child in list(meta):
        ns = child.tag[1:].split("}", 1)[0] if isinstance(child.tag, str) and child.tag.startswith("{") else None
        if ns is None or ns in seen:
            meta.remove(child)
            continue
        seen.add(ns)


def _units(root: Element) -> None:
    for path, attr in _BITMAPS:
        for node in root.findall(path):
            if node.get(attr):
                try:
                    node.set(attr, format_bitmap(parse_bitmap(node.get(attr, ""))))
                except ValueError:
                    pass
    for tag in ("hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee"):
        limit = root.find(f"memtune/{tag}")
        if limit is None:
            continue
        node = limit
        kib = scale_to_kib(node.text, node.get("unit"), tag)
        if kib >= 9007199254740991:
            root.find("memtune").remove(node)  # type: ignore[union-attr]
            continue
        node.text = str(kib)
        node.attrib.clear()
        node.set("unit", "KiB")
    memtune = root.find("memtune")
    if memtune is not None and not len(memtune):
        root.remove(memtune)
    for path in ("features/hpt/maxpagesize", "devices/controller/pcihole64"):
        for node in root.findall(path):
            node.text = str(scale_to_kib(node.text, node.get("unit"), path.rsplit("/", 1)[-1]))
            node.set("unit", "KiB")
    for page in root.findall("memoryBacking/hugepages/page"):
        if page.get("size"):
            page.set("size", str(scale_to_kib(page.get("size"), page.get("unit"), "size")))
            page.set("unit", "KiB")
    tseg = root.find("features/smm/tseg")
    if tseg is not None:
        kib = scale_to_kib(tseg.text, tseg.get("unit"), "tseg", default_unit="MiB")
        value, unit = pretty_size(kib * 1024)
        tseg.text = str(value)
        tseg.set("unit", unit)
    for size in root.findall("devices/shmem/size"):
        kib = scale_to_kib(size.text, size.get("unit"), "size", default_unit="b")
        size.text = str(kib // 1024)
        size.set("unit", "M")


def _network_sources(root: Element) -> None:
    for src in root.iter("source"):
        proto = src.get("protocol")
        if proto is None:
            continue
        if proto == "iscsi" and src.get("name") and "/" not in src.get("name", ""):
            src.set("name", src.get("name", "") + "/0")
        for host in src.findall("host"):
            if host.get("transport") in (None, "tcp") and host.get("port") is None \
                    and host.get("socket") is None and proto in _NET_PORTS:
                host.set("port", _NET_PORTS[proto])


def _misc(root: Element, devices: Element) -> None:
    _units(root)
    _iothreads(root)
    _metadata(root)
    for menu in root.findall("os/bootmenu"):
        if menu.get("enable") != "yes":
            drop_attr(menu, "timeout")
    for tgt in devices.findall("channel/target"):
        drop_attr(tgt, "state")
    for net_src in devices.findall("interface/source"):
        drop_attr(net_src, "portid")
    for net in devices.findall("interface"):
        if net.get("type") in ("hostdev", "vhostuser", "vdpa", "user", "null", "vds"):
            for ref in net.findall("filterref"):
                net.remove(ref)
    for boot in root.iter("boot"):
        if boot.get("loadparm"):
            boot.set("loadparm", boot.get("loadparm", "").upper())
    for zpci in root.iter("zpci"):
        zpci.set("uid", _hex(zpci.get("uid"), 4))
        zpci.set("fid", _hex(zpci.get("fid"), 8))
    for fs in devices.findall("filesystem"):
        for attr in ("fmode", "dmode"):
            if fs.get(attr):
                fs.set(attr, "0" + format(int(fs.get(attr, "0"), 8), "o").rjust(3, "0"))
    for disk in devices.findall("disk"):
        if disk.get("snapshot") == "no" and disk.find("readonly") is not None:
            drop_attr(disk, "snapshot")
    for cell_parent in root.findall("cpu/numa"):
        cells = cell_parent.findall("cell")
        ordered = sorted(cells, key=lambda x: int(x.get("id", "0")))
        if ordered != cells:
            for cell in cells:
                cell_parent.remove(cell)
            for cell in ordered:
                cell_parent.append(cell)
    cputune = root.find("cputune")
    if cputune is not None:
        pins = cputune.findall("iothreadpin")
        ordered = sorted(pins, key=lambda x: int(x.get("iothread", "0")))
        if ordered != pins:
            anchor = cputune.makeelement("_m", {})
            pins[0].addprevious(anchor)
            for pin in pins:
                cputune.remove(pin)
            for pin in ordered:
                anchor.addprevious(pin)
            cputune.remove(anchor)
    _network_sources(devices)
    for fs in devices.findall("filesystem"):
        if fs.get("type") is None:
            fs.set("type", "mount")
    for backend in devices.findall("rng/backend"):
        if backend.get("model") == "random" and not (backend.text or "").strip():
            backend.text = "/dev/random"
    cpu = root.find("cpu")
    if cpu is not None and cpu.get("mode") in ("host-model", "host-passthrough", "maximum"):
        model = cpu.find("model")
        if model is not None and not (model.text or "").strip() \
                and not set(model.attrib) - {"fallback"} and cpu.get("mode") == "host-model":
            cpu.remove(model)
    # tristate features written as <pmu state='on'/> (acpi, apic, pae... stay bare)
    for tag in ("pmu", "vmcoreinfo", "pvspinlock", "hap", "vmport", "smm", "htm", "nested-hv",
                "ccf-assist"):
        node = root.find(f"features/{tag}")
        if node is not None and node.get("state") is None:
            node.set("state", "on")
    for backend in devices.findall("rng/backend"):
        if backend.get("model") == "egd":
            _chardev(backend)
    for disk in devices.findall("disk"):
        for mirror in disk.findall("mirror"):
            disk.remove(mirror)
        if disk.get("type") == "vhostuser" and disk.get("snapshot") is None:
            disk.set("snapshot", "no")
    for shmem in devices.findall("shmem"):
        if shmem.find("model") is None:
            shmem.insert(0, shmem.makeelement("model", {"type": "ivshmem"}))
    for vid in devices.findall("video"):
        model = vid.find("model")
        if model is not None and model.get("primary") == "no":
            drop_attr(model, "primary")
    hyperv = root.find("features/hyperv")
    if hyperv is not None and hyperv.get("mode") is None:
        hyperv.set("mode", "custom")
    for fs in devices.findall("filesystem"):
        if fs.get("type", "mount") == "mount" and fs.get("accessmode") is None \
                and fs.find("driver[@type='virtiofs']") is None:
            fs.set("accessmode", "passthrough")
    for tag in ("channel", "serial", "console", "parallel", "smartcard", "redirdev"):
        for chr_ in devices.findall(tag):
            _chardev(chr_)
            src = chr_.find("source")
            if (chr_.get("type") == "unix" and src is not None and src.get("path") is None
                    and not len(src)):
                chr_.remove(src)


def _chardev(holder: Element) -> None:
    """Source defaults of a character device backend (mode, protocol, source order)."""
    ctype = holder.get("type")
    sources = holder.findall("source")
    if ctype in ("tcp", "unix", "udp"):
        for src in sources:
            if src.get("mode") is None:
                src.set("mode", "connect")
    if ctype == "udp" and len(sources) > 1:
        binds = [x for x in sources if x.get("mode") == "bind"]
        for bind in binds:
            holder.remove(bind)
            first = holder.find("source")
            if first is not None:
                first.addprevious(bind)
    if ctype != "tcp":
        for proto in holder.findall("protocol"):
            holder.remove(proto)
    elif holder.find("protocol") is None:
        proto = holder.makeelement("protocol", {"type": "raw"})
        last = holder.findall("source")
        if last:
            last[-1].addnext(proto)
        else:
            holder.append(proto)


def _cpu(root: Element) -> None:
    cpu = root.find("cpu")
    if cpu is None:
        return
    if not len(cpu) and not cpu.attrib:
        root.remove(cpu)
        return
    mode = cpu.get("mode")
    model = cpu.find("model")
    if mode is None:
        mode = "custom"
        if model is not None:
            cpu.set("mode", mode)
    for i, cell in enumerate(cpu.findall("numa/cell")):
        if cell.get("id") is None:
            cell.set("id", str(i))
    if mode == "custom" and model is not None and cpu.get("match") is None:
        cpu.set("match", "exact")
    if model is not None and model.get("fallback") is None and (mode == "custom" or (model.text or "").strip()):
        model.set("fallback", "allow")


def _hex(value: str | None, width: int) -> str:
    num = int(value, 0) if value else 0
    return f"0x{num:0{width}x}"


def _address(node: Element) -> None:
    atype = node.get("type")
    parent = node.getparent()
    if atype is None and parent is not None and parent.tag == "source":
        atype = "pci" if node.get("slot") is not None else None
        if atype == "pci":
            for attr, width in (("domain", 4), ("bus", 2), ("slot", 2), ("function", 1)):
                node.set(attr, _hex(node.get(attr), width))
        return
    if atype == "pci" and any(node.get(a) is not None for a in ("domain", "bus", "slot", "function")):
        keys = (("domain", 4), ("bus", 2), ("slot", 2), ("function", 1))
        if all(int(node.get(a) or "0", 0) == 0 for a, _ in keys):
            drop_attr(node, *(a for a, _ in keys))   # an all-zero address is "unassigned"
        else:
            for attr, width in keys:
                node.set(attr, _hex(node.get(attr), width))
    elif atype == "drive":
        for attr in ("controller", "bus", "target", "unit"):
            node.set(attr, str(int(node.get(attr) or "0")))
    elif atype == "ccw" and node.get("devno") is not None:
        node.set("cssid", _hex(node.get("cssid"), 1))
        node.set("ssid", _hex(node.get("ssid"), 1))
        node.set("devno", _hex(node.get("devno"), 4))
    elif atype == "spapr-vio" and node.get("reg") is not None:
        node.set("reg", _hex(node.get("reg"), 8))


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
    if inactive:
        for disk in root.iterfind("devices/disk"):
            for node in disk.iter("source", "backingStore"):
                drop_attr(node, "index")
        for alias in list(root.iterfind("devices/*/alias")):
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
    _memory(root)
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
    _interfaces(devices)
    _hostdevs(devices)
    _boot(root, devices, os_type)
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
