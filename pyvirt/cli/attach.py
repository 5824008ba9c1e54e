"""virsh commands that plug devices into domains: attach-disk, detach-disk, attach-interface, detach-interface, change-media.

Each builds (or finds in the domain XML) the device XML exactly as virsh 9.0
does, so ``--print-xml`` prints the same text, then calls the attach, detach
or update-device API.
"""

from __future__ import annotations

import os
import re
import stat
from typing import Any
from xml.sax.saxutils import quoteattr

from lxml import etree

from .options import Cmd, command
from .shell import Ctl
from .util import affect_flags, opt_domain

_NET_TYPES = ("user", "ethernet", "vhostuser", "server", "client", "mcast", "network", "bridge",
              "internal", "direct", "hostdev", "udp", "vdpa", "null", "vds")


def _esc(value: str) -> str:
    """virBufferEscapeString's quoting of an attribute value (single quotes)."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&apos;").replace('"', "&quot;"))


def _attrs(pairs: list[tuple[str, str | None]]) -> str:
    return "".join(f" {k}='{_esc(v)}'" for k, v in pairs if v is not None)


def _num(text: str, base: int) -> tuple[int, str] | None:
    """strtoul-like: a non-negative number at the start of *text* and the rest."""
    pat = r"\s*\+?(0[xX][0-9a-fA-F]+|[0-9a-fA-F]+)" if base == 16 else r"\s*\+?([0-9]+)"
    m = re.match(pat, text)
    if m is None:
        return None
    return int(m.group(1), base), text[m.end():]


def _address(straddr: str, multifunction: bool) -> tuple[str, str] | None:
    """virshAddressParse + virshAddressFormat: (type, ``<address .../>`` line) or None."""
    kind, sep, rest = straddr.partition(":")
    if not sep:
        return None
    counts = {"pci": (4, 16), "sata": (3, 10), "ide": (3, 10), "scsi": (3, 10), "ccw": (3, 16), "usb": (2, 10)}
    if kind not in counts:
        return None
    n, base = counts[kind]
    vals: list[int] = []
    for i in range(n):
        got = _num(rest, base)
        if got is None:
            return None
        vals.append(got[0])
        rest = got[1][1:] if i + 1 < n else got[1]
    if kind == "pci":
        line = ("<address type='pci' domain='0x{:04x}' bus='0x{:02x}' slot='0x{:02x}' function='0x{:x}'"
                .format(*vals)) + (" multifunction='on'" if multifunction else "") + "/>"
    elif kind == "ccw":
        line = "<address type='ccw' cssid='0x{:02x}' ssid='0x{:01x}' devno='0x{:04x}'/>".format(*vals)
    elif kind == "usb":
        line = "<address type='usb' bus='{}' port='{}'/>".format(*vals)
    else:
        line = "<address type='drive' controller='{}' bus='{}' unit='{}'/>".format(*vals)
    return kind, line


def _call(ctl: Ctl, dom: Any, method: str, legacy: str | None, xml: str, flags: int, current: bool,
          failure: str) -> None:
    with ctl.failing(failure):
        if legacy is None or flags or current:
            getattr(dom, method)(xml, flags)
        else:
            getattr(dom, legacy)(xml)


def _block_device(path: str) -> bool:
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


@command("attach-disk")
def cmd_attach_disk(ctl: Ctl, cmd: Cmd) -> bool:
    flags, current, _cfg, _live, persistent = affect_flags(ctl, cmd)
    ctl.requires(cmd, "source-host-name", "source-protocol")
    ctl.requires(cmd, "source-host-transport", "source-protocol")
    ctl.requires(cmd, "source-host-socket", "source-protocol")
    ctl.requires(cmd, "source-host-socket", "source-host-transport")
    ctl.exclusive(cmd, "source-host-name", "source-host-socket")
    opt = {name: ctl.opt_string(cmd, name) for name in (
        "source", "target", "driver", "subdriver", "type", "mode", "iothread", "cache", "io", "serial", "wwn",
        "address", "targetbus", "alias", "sourcetype", "source-protocol", "source-host-name",
        "source-host-transport", "source-host-socket")}
    source, target, driver = opt["source"], opt["target"] or "", opt["driver"]
    stype = opt["sourcetype"]
    protocol = opt["source-protocol"]
    if stype is not None and stype not in ("", "file", "block", "network"):
        raise ctl.fail(f"Unknown source type: '{stype}'")
    if not stype:
        if protocol:
            stype = "network"
        elif driver not in ("file", "tap") and source and _block_device(source):
            stype = "block"
        else:
            stype = "file"
    if (stype == "network") != bool(protocol):
        raise ctl.fail("--source-protocol option requires --sourcetype network")
    mode = opt["mode"]
    if mode and mode not in ("readonly", "shareable"):
        raise ctl.fail(f"No support for {mode} in command 'attach-disk'")
    wwn = opt["wwn"]
    if wwn is not None:
        digits = wwn[2:] if wwn.startswith("0x") else wwn
        if len(digits) != 16 or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
            raise ctl.fail(f"internal error: Malformed wwn: {wwn}")
    lines: list[str] = []
    drv = _attrs([("name", driver), ("type", opt["subdriver"]), ("iothread", opt["iothread"]),
                  ("cache", opt["cache"]), ("io", opt["io"])])
    if drv:
        lines.append(f"<driver{drv}/>")
    if stype == "file":
        src_attrs = _attrs([("file", source)])
    elif stype == "block":
        src_attrs = _attrs([("dev", source)])
    else:
        src_attrs = _attrs([("protocol", protocol), ("name", source)])
    host_line = ""
    if stype == "network":
        host_name, port = opt["source-host-name"], None
        if host_name is not None and ":" in host_name:
            host_name, port = host_name.split(":", 1)
        host = _attrs([("transport", opt["source-host-transport"]), ("socket", opt["source-host-socket"]),
                       ("name", host_name), ("port", port)])
        if host:
            host_line = f"<host{host}/>"
    if host_line:
        lines += [f"<source{src_attrs}>", f"  {host_line}", "</source>"]
    elif src_attrs:
        lines.append(f"<source{src_attrs}/>")
    bus = f" bus='{opt['targetbus']}'" if opt["targetbus"] else ""
    lines.append(f"<target dev='{target}'{bus}/>")
    if mode:
        lines.append(f"<{mode}/>")
    if opt["serial"]:
        lines.append(f"<serial>{opt['serial']}</serial>")
    if opt["alias"]:
        lines.append(f"<alias name='{opt['alias']}'/>")
    if wwn:
        lines.append(f"<wwn>{wwn}</wwn>")
    straddr = opt["address"]
    if straddr:
        parsed = _address(straddr, cmd.bool("multifunction"))
        if parsed is None:
            raise ctl.fail("Invalid address.")
        kind, line = parsed
        if target.startswith("vd") and kind not in ("pci", "ccw"):
            raise ctl.fail("expecting a pci:0000.00.00.00 or ccw:00.0.0000 address.")
        if target.startswith("sd") and kind not in ("scsi", "usb", "sata"):
            raise ctl.fail("expecting a scsi:00.00.00 or usb:00.00 or sata:00.00.00 address.")
        if target.startswith("hd") and kind != "ide":
            raise ctl.fail("expecting an ide:00.00.00 address.")
        lines.append(line)
    head = f"<disk type='{stype}'" + _attrs([("device", opt["type"])])
    if cmd.bool("rawio"):
        head += " rawio='yes'"
    xml = head + ">\n" + "".join(f"  {ln}\n" for ln in lines) + "</disk>\n"
    if cmd.bool("print-xml"):
        ctl.print(xml)
        return True
    dom, _ = opt_domain(ctl, cmd)
    if persistent and dom.isActive() == 1:
        flags |= ctl.lv.VIR_DOMAIN_AFFECT_LIVE
    _call(ctl, dom, "attachDeviceFlags", "attachDevice", xml, flags, current, "Failed to attach disk")
    ctl.print_extra("Disk attached successfully\n")
    return True


def _rate(ctl: Ctl, text: str) -> list[int]:
    """virshParseRateStr: average,peak,burst,floor (empty fields are 0)."""
    toks = text.split(",")
    if len(toks) > 4:
        raise ctl.fail(f"Rate string '{text}' has too many fields")
    out = [0, 0, 0, 0]
    for i, (tok, name) in enumerate(zip(toks, ("average", "peak", "burst", "floor"))):
        if tok == "":
            continue
        if not re.fullmatch(r"\s*\+?[0-9]+", tok):
            raise ctl.fail(f"field '{name}' is malformed")
        out[i] = int(tok)
    return out


@command("attach-interface")
def cmd_attach_interface(ctl: Ctl, cmd: Cmd) -> bool:
    flags, current, _cfg, _live, persistent = affect_flags(ctl, cmd)
    opt = {name: ctl.opt_string(cmd, name) for name in (
        "type", "source", "target", "mac", "script", "model", "alias", "inbound", "outbound", "source-mode")}
    itype, source = opt["type"] or "", opt["source"] or ""
    if itype not in _NET_TYPES:
        raise ctl.fail(f"No support for {itype} in command 'attach-interface'")
    mode = opt["source-mode"]
    if mode is not None and mode not in ("server", "client"):
        raise ctl.fail(f"Invalid source mode: {mode}")
    inbound = outbound = None
    if opt["inbound"] is not None:
        inbound = _rate(ctl, opt["inbound"])
        if not inbound[0] and not inbound[3]:
            raise ctl.fail("either inbound average or floor is mandatory")
    if opt["outbound"] is not None:
        outbound = _rate(ctl, opt["outbound"])
        if outbound[0] == 0:
            raise ctl.fail("outbound average is mandatory")
        if outbound[3]:
            raise ctl.fail("outbound floor is unsupported yet")
    lines: list[str] = []
    if itype in ("network", "bridge"):
        lines.append(f"<source {itype}='{source}'/>")
    elif itype == "direct":
        lines.append(f"<source dev='{source}'/>")
    elif itype == "hostdev":
        parsed = _address(f"pci:{source}", False)
        if parsed is None:
            raise ctl.fail(f"cannot parse pci address '{source}' for network interface")
        lines += ["<source>", f"  {parsed[1]}", "</source>"]
    elif itype == "vhostuser":
        if mode is None:
            raise ctl.fail("source-mode is mandatory")
        lines.append(f"<source type='unix' path='{source}' mode='{mode}'/>")
    else:
        raise ctl.fail(f"No support for {itype} in command 'attach-interface'")
    for name, fmt in (("target", "<target dev='{}'/>"), ("mac", "<mac address='{}'/>"),
                      ("script", "<script path='{}'/>"), ("model", "<model type='{}'/>"),
                      ("alias", "<alias name='{}'/>")):
        if opt[name] is not None:
            lines.append(fmt.format(opt[name]))
    if inbound is not None or outbound is not None:
        lines.append("<bandwidth>")
        if inbound is not None and (inbound[0] or inbound[3]):
            lines.append("  <inbound" + "".join(f" {k}='{v}'" for k, v in zip(
                ("average", "peak", "burst", "floor"), inbound) if v > 0) + "/>")
        if outbound is not None and outbound[0] > 0:
            lines.append("  <outbound" + "".join(f" {k}='{v}'" for k, v in zip(
                ("average", "peak", "burst"), outbound) if v > 0) + "/>")
        lines.append("</bandwidth>")
    head = f"<interface type='{itype}'" + (" managed='yes'" if cmd.bool("managed") else "") + ">\n"
    xml = head + "".join(f"  {ln}\n" for ln in lines) + "</interface>\n"
    if cmd.bool("print-xml"):
        ctl.print(xml)
        return True
    dom, _ = opt_domain(ctl, cmd)
    if persistent and dom.isActive() == 1:
        flags |= ctl.lv.VIR_DOMAIN_AFFECT_LIVE
    _call(ctl, dom, "attachDeviceFlags", "attachDevice", xml, flags, current, "Failed to attach interface")
    ctl.print_extra("Interface attached successfully\n")
    return True


def _node_text(node: Any) -> str:
    """virXMLNodeToString: the element as libxml2 dumps it, without what follows it."""
    return str(etree.tostring(node, with_tail=False, encoding="unicode"))


def _mac_equal(a: str, b: str) -> bool:
    """virMacAddrCompare: six hex bytes, case and leading zeros ignored."""
    def parts(text: str) -> list[int] | None:
        bits = text.split(":")
        if len(bits) != 6 or not all(re.fullmatch(r"[0-9a-fA-F]{1,2}", x) for x in bits):
            return None
        return [int(x, 16) for x in bits]
    pa, pb = parts(a), parts(b)
    return pa is not None and pa == pb


def _detach_iface(ctl: Ctl, doc: str, flags: int, dom: Any, current: bool, itype: str,
                  mac: str | None, printxml: bool) -> bool:
    try:
        root = etree.fromstring(doc.encode())
    except etree.XMLSyntaxError:
        ctl.error("Failed to get interface information")
        return False
    nodes: list[Any] = _nodes(root, f"/domain/devices/interface[@type={quoteattr(itype)}]")
    if not nodes:
        ctl.error(f"No interface found whose type is {itype}")
        return False
    match = None
    if mac:
        for node in nodes:
            have = str(node.xpath("string(./mac/@address)"))
            if have and _mac_equal(have, mac):
                if match is not None:
                    ctl.error(f"Domain has multiple interfaces matching MAC address {mac}. You must use "
                              "detach-device and specify the device pci address to remove it.")
                    return False
                match = node
    else:
        if len(nodes) > 1:
            ctl.error(f"Domain has {len(nodes)} interfaces. Please specify which one to detach using --mac")
            return False
        match = nodes[0]
    if match is None:
        ctl.error(f"No interface with MAC address {mac} was found")
        return False
    xml = _node_text(match)
    if printxml:
        ctl.print(xml)
        return True
    try:
        if flags or current:
            dom.detachDeviceFlags(xml, flags)
        else:
            dom.detachDevice(xml)
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
        return False
    return True


@command("detach-interface")
def cmd_detach_interface(ctl: Ctl, cmd: Cmd) -> bool:
    _flags, current, config, live, persistent = affect_flags(ctl, cmd)
    printxml = cmd.bool("print-xml")
    dom, _ = opt_domain(ctl, cmd)
    itype = ctl.opt_string(cmd, "type") or ""
    mac = ctl.opt_string(cmd, "mac")
    ok = _detach_iface_both(ctl, dom, current, config, live, persistent, itype, mac, printxml)
    if printxml and ok is not None:
        if not ok:
            raise ctl.fail_quiet()
        return True
    if not ok:
        raise ctl.fail("Failed to detach interface")
    ctl.print_extra("Interface detached successfully\n")
    return True


def _detach_iface_both(ctl: Ctl, dom: Any, current: bool, config: bool, live: bool, persistent: bool,
                       itype: str, mac: str | None, printxml: bool) -> bool | None:
    """cmdDetachInterface's body: the result, or None when it jumps to its cleanup label."""
    lv = ctl.lv
    affect_config = config or persistent
    if affect_config:
        try:
            doc = dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)
        except lv.libvirtError as exc:
            ctl.save_error(exc)
            return None
        if not _detach_iface(ctl, doc, lv.VIR_DOMAIN_AFFECT_CONFIG, dom, current, itype, mac, printxml):
            return None
    affect_live = live or (persistent and dom.isActive() == 1)
    ret = True
    if affect_live or not affect_config:
        try:
            doc = dom.XMLDesc(0)
        except lv.libvirtError as exc:
            ctl.save_error(exc)
            return None
        ret = _detach_iface(ctl, doc, lv.VIR_DOMAIN_AFFECT_LIVE if affect_live else 0, dom, current, itype,
                            mac, printxml)
    return ret


def _nodes(root: Any, path: str) -> list[Any]:
    found = root.xpath(path)
    return list(found) if isinstance(found, list) else []


def _find_disk(ctl: Ctl, doc: str, path: str, changeable: bool) -> Any:
    """virshFindDisk: the disk whose target or source is *path* (a copy)."""
    try:
        root = etree.fromstring(doc.encode())
    except etree.XMLSyntaxError:
        raise ctl.fail("Failed to get disk information") from None
    disks = _nodes(root, "/domain/devices/disk")
    if not disks:
        raise ctl.fail("Failed to get disk information")
    for disk in disks:
        if changeable and disk.get("device") is not None and disk.get("device") not in ("cdrom", "floppy"):
            continue
        src = disk.find("source")
        values: list[str | None] = [str(disk.xpath("string(./target/@dev)"))]
        if src is not None:
            values += [src.get(k) for k in ("file", "dev", "dir", "name")]
        if path in values:
            node = etree.fromstring(etree.tostring(disk, with_tail=False))
            for child in node:
                if child.tag == "backingStore":
                    _unlink(child)
                    break
            return node
    raise ctl.fail(f"No disk found whose source path or target is {path}")


def _unlink(node: Any) -> None:
    """xmlUnlinkNode: remove *node* but keep the text around it."""
    parent = node.getparent()
    prev = node.getprevious()
    tail = node.tail or ""
    if prev is not None:
        prev.tail = (prev.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(node)


@command("detach-disk")
def cmd_detach_disk(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    flags, current, _cfg, _live, persistent = affect_flags(ctl, cmd)
    dom, _ = opt_domain(ctl, cmd)
    target = ctl.opt_string(cmd, "target") or ""
    with ctl.failing():
        doc = dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE if flags == lv.VIR_DOMAIN_AFFECT_CONFIG else 0)
    if persistent and dom.isActive() == 1:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    xml = _node_text(_find_disk(ctl, doc, target, False))
    if cmd.bool("print-xml"):
        ctl.print(xml)
        return True
    _call(ctl, dom, "detachDeviceFlags", "detachDevice", xml, flags, current, "Failed to detach disk")
    ctl.print_extra("Disk detached successfully\n")
    return True


def _update_disk_xml(ctl: Ctl, disk: Any, source: str | None, block: bool, target: str, action: str) -> str:
    """virshUpdateDiskXML for eject, insert or update."""
    if disk.get("device") not in ("cdrom", "floppy"):
        raise ctl.fail(f"The disk device '{target}' is not removable")
    src = disk.find("source")
    tgt = disk.find("target")
    # the whitespace just before <target>, copied after a new <source> as libvirt does
    if tgt is not None:
        prev = tgt.getprevious()
        indent = (prev.tail if prev is not None else disk.text) or ""
    else:
        indent = ""
    if action == "eject":
        if src is None:
            raise ctl.fail(f"The disk device '{target}' doesn't have media")
        block, source = False, None
    elif not source:
        raise ctl.fail("New disk media source was not specified")
    policy = None
    if src is not None:
        path = next((src.get(k) for k in ("file", "dev", "dir", "pool", "name") if src.get(k) is not None), None)
        if path and action == "insert":
            raise ctl.fail(f"The disk device '{target}' already has media")
        policy = src.get("startupPolicy")
        _unlink(src)
    disk.set("type", "block" if block else "file")
    if source:
        new = disk.makeelement("source", {"dev" if block else "file": source})
        if policy:
            new.set("startupPolicy", policy)
        if tgt is not None:
            tgt.addprevious(new)
            new.tail = indent
        else:
            disk.append(new)
    return _node_text(disk)


@command("change-media")
def cmd_change_media(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    config, live, current = cmd.bool("config"), cmd.bool("live"), cmd.bool("current")
    force, eject, insert, update, block = (cmd.bool("force"), cmd.bool("eject"), cmd.bool("insert"),
                                           cmd.bool("update"), cmd.bool("block"))
    ctl.exclusive_var(eject, "eject", insert, "insert")
    ctl.exclusive_var(eject, "eject", update, "update")
    ctl.exclusive_var(insert, "insert", update, "update")
    ctl.exclusive_var(eject, "eject", block, "block")
    source = ctl.opt_string(cmd, "source")
    if update and not source:
        update, eject = False, True
    action, message = "update", "Successfully updated media."
    if eject:
        action, message = "eject", "Successfully ejected media."
    if insert:
        action, message = "insert", "Successfully inserted media."
    if update or (not eject and not insert):
        action, message = "update", "Successfully updated media."
    ctl.exclusive_var(current, "current", live, "live")
    ctl.exclusive_var(current, "current", config, "config")
    flags = 0
    if config:
        flags |= lv.VIR_DOMAIN_AFFECT_CONFIG
    if live:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    if force:
        flags |= lv.VIR_DOMAIN_DEVICE_MODIFY_FORCE
    dom, _ = opt_domain(ctl, cmd)
    path = ctl.opt_string(cmd, "path") or ""
    with ctl.failing():
        doc = dom.XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE if flags & lv.VIR_DOMAIN_AFFECT_CONFIG else 0)
    disk = _find_disk(ctl, doc, path, True)
    xml = _update_disk_xml(ctl, disk, source, block, path, action)
    if cmd.bool("print-xml"):
        ctl.print(xml)
        return True
    with ctl.failing(f"Failed to complete action {action} on media"):
        dom.updateDeviceFlags(xml, flags)
    ctl.print(message)
    return True
