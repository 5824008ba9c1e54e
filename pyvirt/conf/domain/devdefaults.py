"""Post-parse defaults of devices: graphics, video, consoles, character devices, NICs."""

from __future__ import annotations

from ... import constants as c
from ..xmlutil import Element
import copy

from . import hooks
from .common import GRAPHICS_TYPES, _child, _err, check_mac
from .props import drop_attr

def _graphics(dev: Element) -> None:
    gtype = dev.get("type")
    if gtype not in GRAPHICS_TYPES:
        raise _err(c.VIR_ERR_XML_ERROR,
                   f"Invalid value for attribute 'type' in element 'graphics': '{gtype}'.", c.VIR_FROM_XML)
    if gtype not in ("vnc", "spice", "rdp"):
        return
    if gtype == "vnc" and dev.get("socket"):
        # the legacy socket attribute wins over any listen elements
        for old in dev.findall("listen"):
            dev.remove(old)
        drop_attr(dev, "listen")
        dev.insert(0, dev.makeelement("listen", {"type": "socket", "socket": dev.get("socket", "")}))
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
    if addr is not None and first.get("type") in ("address", "network") and first.get("address") \
            and first.get("address") != addr:
        raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                   f"graphics 'listen' attribute '{addr}' must match 'address' attribute of first listen "
                   f"element (found '{first.get('address')}')")
    for lst in listens:
        if lst.get("type") == "network" and not lst.get("network"):
            raise _err(c.VIR_ERR_XML_ERROR, "'network' attribute is required for listen type 'network'")
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
    elif atype == "virtio-serial":
        for attr in ("controller", "bus", "port"):
            node.set(attr, str(int(node.get(attr) or "0")))
    elif atype == "drive":
        for attr in ("controller", "bus", "target", "unit"):
            node.set(attr, str(int(node.get(attr) or "0")))
    elif atype == "ccw" and node.get("devno") is not None:
        node.set("cssid", _hex(node.get("cssid"), 1))
        node.set("ssid", _hex(node.get("ssid"), 1))
        node.set("devno", _hex(node.get("devno"), 4))
    elif atype == "spapr-vio" and node.get("reg") is not None:
        node.set("reg", _hex(node.get("reg"), 8))


