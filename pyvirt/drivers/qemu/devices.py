"""Device arguments of the QEMU command line (controllers, disks, NICs, chardevs, display...)."""

from __future__ import annotations

import json
from typing import Any

from ...conf.domain import DomainDef
from ...conf.xmlutil import Element
from .domain import unsupported
from .validate import WATCHDOG_ACTIONS

__all__ = ["build_devices", "boot_indexes", "node_names", "netdev_props", "nic_props", "pci_props"]

_USB_DRIVERS = {"piix3-uhci": "piix3-usb-uhci", "qemu-xhci": "qemu-xhci", "nec-xhci": "nec-usb-xhci"}
_NET_DRIVERS = {"virtio": "virtio-net-pci", "e1000": "e1000", "e1000e": "e1000e", "rtl8139": "rtl8139"}
# cache mode -> (direct, no-flush, write-cache)
_CACHE = {"none": (True, False, "on"), "writeback": (False, False, "on"),
          "writethrough": (False, False, "off"), "directsync": (True, False, "off"),
          "unsafe": (False, True, "on")}


def _j(props: dict[str, Any]) -> str:
    return json.dumps(props, separators=(",", ":"))


def _alias(elem: Element) -> str:
    node = elem.find("alias")
    return node.get("name", "") if node is not None else ""


def _pci(elem: Element, root_bus: str) -> dict[str, Any]:
    addr = elem.find("address")
    if addr is None or addr.get("type") != "pci":
        return {}
    slot, func = int(addr.get("slot", "0"), 0), int(addr.get("function", "0"), 0)
    bus = int(addr.get("bus", "0"), 0)
    text = f"0x{slot:x}" + (f".0x{func:x}" if func else "")
    return {"bus": root_bus if bus == 0 else f"pci.{bus}", "addr": text}


def pci_props(elem: Element, root_bus: str) -> dict[str, Any]:
    """The ``bus``/``addr`` properties of a PCI-addressed device."""
    return _pci(elem, root_bus)


def boot_indexes(live: DomainDef) -> dict[Element, int]:
    """element -> bootindex, from <os><boot> (libvirt's rules) or per-device <boot order>."""
    dev = live.devices_elem
    out: dict[Element, int] = {}
    per_device = [e for e in dev if isinstance(e.tag, str) and e.find("boot") is not None]
    if per_device:
        for e in per_device:
            out[e] = int(e.find("boot").get("order", "0"))  # type: ignore[union-attr]
        return out
    want: dict[str, int] = {}
    for i, b in enumerate(live.xml.findall("os/boot")):
        want[b.get("dev", "")] = i + 1
    kinds = {"cdrom": "cdrom", "disk": "hd", "floppy": "fd"}
    for disk in dev.findall("disk"):
        kind = kinds.get(disk.get("device", "disk"), "")
        if want.get(kind):
            out[disk] = want.pop(kind)
    nets = dev.findall("interface")
    if nets and want.get("network"):
        out[nets[0]] = want["network"]
    return out


def node_names(live: DomainDef) -> dict[Element, int]:
    """disk element -> N of its ``libvirt-N-storage``/``-format`` nodes (first disk highest).

    Every disk takes a number, even an empty CD-ROM drive that uses none.
    """
    disks = live.devices_elem.findall("disk")
    return {d: len(disks) - i for i, d in enumerate(disks)}


def build_devices(live: DomainDef, *, q35: bool, tap_fds: dict[int, int]) -> list[str]:
    """The device part of the argv, in libvirt's order."""
    dev = live.devices_elem
    root_bus = "pcie.0" if q35 else "pci.0"
    boot = boot_indexes(live)
    argv: list[str] = []
    argv += _controllers(dev, q35, root_bus)
    argv += _disks(live, q35, root_bus, boot)
    argv += _nets(dev, root_bus, boot, tap_fds)
    argv += _serials(live)
    usb_port = 1
    for inp in dev.findall("input"):
        if inp.get("bus") == "usb":
            driver = {"tablet": "usb-tablet", "mouse": "usb-mouse", "keyboard": "usb-kbd"}[inp.get("type", "")]
            argv += ["-device", _j({"driver": driver, "id": _alias(inp), "bus": "usb.0", "port": str(usb_port)})]
            usb_port += 1
    argv += ["-audiodev", _j({"id": "audio1", "driver": "none"})]
    for gfx in dev.findall("graphics"):
        argv += ["-vnc", _vnc(gfx) + ",audiodev=audio1"]
    for i, video in enumerate(dev.findall("video")):
        argv += _video(video, i == 0, root_bus)
    for wd in dev.findall("watchdog"):
        argv += ["-device", _j({"driver": str(wd.get("model")), "id": _alias(wd), **_pci(wd, root_bus)})]
        argv += ["-watchdog-action", WATCHDOG_ACTIONS[wd.get("action", "reset")]]
    for bal in dev.findall("memballoon"):
        if bal.get("model") == "virtio":
            argv += ["-device", _j({"driver": "virtio-balloon-pci", "id": _alias(bal), **_pci(bal, root_bus)})]
    return argv


def panic_devices(live: DomainDef) -> list[str]:
    """The ISA pvpanic device of ``<panic model='isa'/>`` (libvirt puts it after -sandbox)."""
    return ["-device", _j({"driver": "pvpanic"})] if live.devices_elem.find("panic") is not None else []


def _controllers(dev: Element, q35: bool, root_bus: str) -> list[str]:
    argv: list[str] = []
    ctrls = dev.findall("controller")
    ports = sorted((x for x in ctrls if x.get("type") == "pci"
                    and x.get("model") in ("pcie-root-port", "pcie-to-pci-bridge")),
                   key=lambda x: int(x.get("index", "0")))
    for port in ports:
        if port.get("model") == "pcie-to-pci-bridge":
            argv += ["-device", _j({"driver": "pcie-pci-bridge", "id": _alias(port), **_pci(port, root_bus)})]
            continue
        tgt = port.find("target")
        props: dict[str, Any] = {"driver": "pcie-root-port"}
        if tgt is not None and tgt.get("port") is not None:
            props["port"] = int(tgt.get("port", "0"), 0)
        if tgt is not None and tgt.get("chassis") is not None:
            props["chassis"] = int(tgt.get("chassis", "0"), 0)
        props["id"] = _alias(port)
        addr = port.find("address")
        pci = _pci(port, root_bus)
        props["bus"] = pci.get("bus", root_bus)
        if addr is not None and addr.get("multifunction") == "on":
            props["multifunction"] = True
        if "addr" in pci:
            props["addr"] = pci["addr"]
        argv += ["-device", _j(props)]
    for ctype in ("usb", "scsi", "sata", "virtio-serial"):
        for ctrl in ctrls:
            if ctrl.get("type") != ctype:
                continue
            model, alias = ctrl.get("model"), _alias(ctrl)
            if ctype == "scsi":
                driver = "virtio-scsi-pci" if model == "virtio-scsi" else "lsi"
            elif ctype == "sata":
                if q35 and ctrl.get("index", "0") == "0":
                    continue  # the ICH9's built-in AHCI
                driver = "ahci"
            elif ctype == "usb":
                if model == "none":
                    continue
                driver = _USB_DRIVERS[model or "piix3-uhci"]
            else:
                driver = "virtio-serial-pci"
            argv += ["-device", _j({"driver": driver, "id": alias, **_pci(ctrl, root_bus)})]
    if q35 and any(c.get("type") == "ide" for c in ctrls):
        raise unsupported("IDE controllers are unsupported for this QEMU binary or machine type")
    return argv


def _drive_addr(disk: Element) -> dict[str, int]:
    a = disk.find("address")
    if a is not None and a.get("type") != "drive":
        a = None
    return {k: int(a.get(k, "0")) if a is not None else 0 for k in ("controller", "bus", "target", "unit")}


def _ctrl_alias(dev: Element, ctype: str, index: int) -> Element | None:
    for ctrl in dev.findall("controller"):
        if ctrl.get("type") == ctype and int(ctrl.get("index", "0")) == index:
            return ctrl
    return None


def _disks(live: DomainDef, q35: bool, root_bus: str, boot: dict[Element, int]) -> list[str]:
    dev = live.devices_elem
    names = node_names(live)
    argv: list[str] = []
    for disk in dev.findall("disk"):
        tgt = disk.find("target")
        assert tgt is not None
        bus, device = tgt.get("bus"), disk.get("device", "disk")
        drv = disk.find("driver")
        fmt = drv.get("type", "raw") if drv is not None else "raw"
        cache = _CACHE.get(drv.get("cache", "")) if drv is not None else None
        readonly = disk.find("readonly") is not None or device == "cdrom"
        src = disk.find("source")
        drive = None
        if src is not None:
            n = names[disk]
            path = src.get("file") if disk.get("type", "file") == "file" else src.get("dev")
            storage: dict[str, Any] = {"driver": "file" if disk.get("type", "file") == "file" else "host_device",
                                       "filename": path, "node-name": f"libvirt-{n}-storage"}
            fmt_props: dict[str, Any] = {"node-name": f"libvirt-{n}-format", "read-only": readonly}
            if cache is not None:
                storage["cache"] = {"direct": cache[0], "no-flush": cache[1]}
                fmt_props["cache"] = {"direct": cache[0], "no-flush": cache[1]}
            storage.update({"auto-read-only": True, "discard": "unmap"})
            fmt_props.update({"driver": fmt, "file": f"libvirt-{n}-storage"})
            argv += ["-blockdev", _j(storage), "-blockdev", _j(fmt_props)]
            drive = f"libvirt-{n}-format"
        alias = _alias(disk)
        addr = _drive_addr(disk)
        props: dict[str, Any]
        if bus == "virtio":
            props = {"driver": "virtio-blk-pci", **_pci(disk, root_bus)}
        elif bus in ("ide", "sata"):
            driver = "ide-cd" if device == "cdrom" else "ide-hd"
            if bus == "ide":
                if q35:
                    raise unsupported("IDE controllers are unsupported for this QEMU binary or machine type")
                props = {"driver": driver, "bus": f"ide.{addr['bus']}", "unit": addr["unit"]}
            else:
                ctrl = _ctrl_alias(dev, "sata", addr["controller"])
                calias = _alias(ctrl) if ctrl is not None else f"sata{addr['controller']}"
                props = {"driver": driver, "bus": f"{calias}.{addr['unit']}"}
        elif bus == "scsi":
            ctrl = _ctrl_alias(dev, "scsi", addr["controller"])
            if ctrl is None:
                raise unsupported(f"no SCSI controller {addr['controller']} for disk '{tgt.get('dev')}'")
            props = {"driver": "scsi-cd" if device == "cdrom" else "scsi-hd", "bus": f"{_alias(ctrl)}.0"}
            if ctrl.get("model") == "virtio-scsi":
                props.update({"channel": addr["bus"], "scsi-id": addr["target"], "lun": addr["unit"]})
            else:
                if addr["target"] or addr["bus"]:
                    raise unsupported("lsilogic SCSI disks need target and bus 0")
                props["scsi-id"] = addr["unit"]
            props["device_id"] = f"drive-{alias}"
        else:
            raise unsupported(f"disk bus '{bus}' is not supported by the QEMU driver")
        if drive:
            props["drive"] = drive
        props["id"] = alias
        if boot.get(disk):
            props["bootindex"] = boot[disk]
        if cache is not None:
            props["write-cache"] = cache[2]
        argv += ["-device", _j(props)]
    return argv


def netdev_props(net: Element, fd: str | None) -> dict[str, Any]:
    """The ``-netdev``/``netdev_add`` properties of *net* (*fd*: its tap fd number or name)."""
    host_id = "host" + _alias(net)
    if net.get("type") == "user":
        return {"type": "user", "id": host_id}
    if fd is None:
        raise unsupported(f"interface of type '{net.get('type')}' needs a tap device")
    return {"type": "tap", "fd": fd, "id": host_id}


def nic_props(net: Element, root_bus: str, bootindex: int | None = None) -> dict[str, Any]:
    """The ``-device``/``device_add`` properties of the NIC of *net*."""
    model = net.find("model")
    mtype = model.get("type", "rtl8139") if model is not None else "rtl8139"
    props: dict[str, Any] = {"driver": _NET_DRIVERS[mtype], "netdev": "host" + _alias(net), "id": _alias(net)}
    mac = net.find("mac")
    if mac is not None:
        props["mac"] = mac.get("address")
    if bootindex:
        props["bootindex"] = bootindex
    props.update(_pci(net, root_bus))
    return props


def _nets(dev: Element, root_bus: str, boot: dict[Element, int], tap_fds: dict[int, int]) -> list[str]:
    argv: list[str] = []
    for i, net in enumerate(dev.findall("interface")):
        if net.get("type") != "user" and tap_fds.get(i) is None:
            raise unsupported(f"interface {i} of type '{net.get('type')}' needs a tap device")
        fd = tap_fds.get(i)
        netdev = netdev_props(net, None if fd is None else str(fd))
        argv += ["-netdev", _j(netdev), "-device", _j(nic_props(net, root_bus, boot.get(net)))]
    return argv


def _chardev_opts(chr_: Element, chr_id: str) -> str:
    ctype = chr_.get("type", "pty")
    src = chr_.find("source")
    path = (src.get("path") if src is not None else None) or ""
    esc = path.replace(",", ",,")
    if ctype == "pty":
        return f"pty,id={chr_id}"
    if ctype == "null":
        return f"null,id={chr_id}"
    if ctype == "file":
        if not path:
            raise unsupported("file character device needs a source path")
        opts = f"file,id={chr_id},path={esc}"
        if src is not None and src.get("append") == "on":
            opts += ",append=on"
        return opts
    if ctype == "unix":
        if not path:
            raise unsupported("unix character device needs a source path")
        server = src is None or src.get("mode", "bind") == "bind"
        return f"socket,id={chr_id},path={esc}" + (",server=on,wait=off" if server else "")
    if ctype == "tcp":
        host = src.get("host", "127.0.0.1") if src is not None else "127.0.0.1"
        service = src.get("service", "") if src is not None else ""
        server = src is not None and src.get("mode", "connect") == "bind"
        return f"socket,id={chr_id},host={host},port={service}" + (",server=on,wait=off" if server else "")
    raise unsupported(f"character device type '{ctype}' is not supported by the QEMU driver")


def _serials(live: DomainDef) -> list[str]:
    dev = live.devices_elem
    serials = dev.findall("serial")
    if not serials:
        serials = dev.findall("console")[:1]  # a console without a serial port is serial 0
    argv: list[str] = []
    for i, ser in enumerate(serials):
        alias = _alias(ser) or f"serial{i}"
        tgt = ser.find("target")
        port = int(tgt.get("port", str(i))) if tgt is not None and tgt.get("port") else i
        argv += ["-chardev", _chardev_opts(ser, f"char{alias}")]
        argv += ["-device", _j({"driver": "isa-serial", "chardev": f"char{alias}", "id": alias, "index": port})]
    return argv


def _vnc(gfx: Element) -> str:
    lst = gfx.find("listen")
    if lst is not None and lst.get("type") == "socket":
        path = lst.get("socket") or gfx.get("socket")
        if not path:
            raise unsupported("VNC socket listen needs a socket path")
        return "vnc=unix:" + path.replace(",", ",,")
    addr = (lst.get("address") if lst is not None else None) or gfx.get("listen") or "127.0.0.1"
    port = int(gfx.get("port", "-1"))
    if port < 5900:
        raise unsupported(f"VNC port {port} is out of range (5900 and up)")
    host = f"[{addr}]" if ":" in addr else addr
    return f"{host}:{port - 5900}"


def _video(video: Element, primary: bool, root_bus: str) -> list[str]:
    model = video.find("model")
    mtype = model.get("type", "vga") if model is not None else "vga"
    vram = int(model.get("vram", "16384")) if model is not None else 16384
    pci = _pci(video, root_bus)
    alias = _alias(video)
    if mtype == "none":
        return []
    if mtype == "vga":
        if not primary:
            raise unsupported("video type 'vga' is only valid as primary video device")
        props: dict[str, Any] = {"driver": "VGA", "id": alias, "vgamem_mb": vram // 1024}
    elif mtype == "cirrus":
        if not primary:
            raise unsupported("video type 'cirrus' is only valid as primary video device")
        props = {"driver": "cirrus-vga", "id": alias}
    elif mtype == "virtio":
        props = {"driver": "virtio-vga" if primary else "virtio-gpu-pci", "id": alias, "max_outputs": 1}
    else:  # bochs
        props = {"driver": "bochs-display", "id": alias, "vgamem": vram * 1024}
    return ["-device", _j({**props, **pci})]
