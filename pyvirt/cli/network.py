"""Virtual network commands (net-*)."""
from __future__ import annotations

from typing import Any

from .options import Cmd, command
from .shell import Ctl
from .table import print_table
from .util import read_file, xpath_print


def lookup_network(ctl: Ctl, cmd: Cmd, optname: str = "network",
                   by_uuid: bool = True, by_name: bool = True) -> tuple[Any, str]:
    """virshCommandOptNetworkBy: by UUID, then by name; the libvirt error is kept."""
    n = ctl.opt_string(cmd, optname)
    if n is None:
        raise ctl.fail(f"Failed to get option '{optname}': Mandatory option not present")
    net = None
    if by_uuid and len(n) == 36:
        try:
            net = ctl.conn.networkLookupByUUIDString(n)
        except ctl.lv.libvirtError as exc:
            ctl.save_error(exc)
    if net is None and by_name:
        try:
            net = ctl.conn.networkLookupByName(n)
        except ctl.lv.libvirtError as exc:
            ctl.save_error(exc)
    if net is None:
        raise ctl.fail(f"failed to get network '{n}'")
    ctl.reset_error()
    return net, n


@command("net-autostart")
def cmd_net_autostart(ctl: Ctl, cmd: Cmd) -> bool:
    net, name = lookup_network(ctl, cmd)
    enable = not cmd.bool("disable")
    msg = (f"failed to mark network {name} as autostarted" if enable
           else f"failed to unmark network {name} as autostarted")
    with ctl.failing(msg):
        net.setAutostart(1 if enable else 0)
    ctl.print_extra(f"Network {name} marked as autostarted\n" if enable
                    else f"Network {name} unmarked as autostarted\n")
    return True


@command("net-create")
def cmd_net_create(ctl: Ctl, cmd: Cmd) -> bool:
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    xml = read_file(ctl, path)
    flags = ctl.lv.VIR_NETWORK_CREATE_VALIDATE if cmd.bool("validate") else 0
    with ctl.failing(f"Failed to create network from {path}"):
        net = ctl.conn.networkCreateXMLFlags(xml, flags) if flags else \
            ctl.conn.networkCreateXML(xml)
    ctl.print_extra(f"Network {net.name()} created from {path}\n")
    return True


@command("net-define")
def cmd_net_define(ctl: Ctl, cmd: Cmd) -> bool:
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    xml = read_file(ctl, path)
    flags = ctl.lv.VIR_NETWORK_DEFINE_VALIDATE if cmd.bool("validate") else 0
    with ctl.failing(f"Failed to define network from {path}"):
        net = ctl.conn.networkDefineXMLFlags(xml, flags) if flags else \
            ctl.conn.networkDefineXML(xml)
    ctl.print_extra(f"Network {net.name()} defined from {path}\n")
    return True


@command("net-destroy")
def cmd_net_destroy(ctl: Ctl, cmd: Cmd) -> bool:
    net, name = lookup_network(ctl, cmd)
    with ctl.failing(f"Failed to destroy network {name}"):
        net.destroy()
    ctl.print_extra(f"Network {name} destroyed\n")
    return True


@command("net-dumpxml")
def cmd_net_dumpxml(ctl: Ctl, cmd: Cmd) -> bool:
    net, _ = lookup_network(ctl, cmd)
    flags = ctl.lv.VIR_NETWORK_XML_INACTIVE if cmd.bool("inactive") else 0
    xml = net.XMLDesc(flags)
    return xpath_print(ctl, xml, ctl.opt_string_quiet(cmd, "xpath"), cmd.bool("wrap"))


@command("net-info")
def cmd_net_info(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    net, _ = lookup_network(ctl, cmd)
    out = [f"{'Name:':<15} {net.name()}\n", f"{'UUID:':<15} {net.UUIDString()}\n"]
    try:
        out.append(f"{'Active:':<15} {'yes' if net.isActive() else 'no'}\n")
    except lv.libvirtError:
        pass
    try:
        out.append(f"{'Persistent:':<15} {'yes' if net.isPersistent() else 'no'}\n")
    except lv.libvirtError:
        out.append(f"{'Persistent:':<15} unknown\n")
    try:
        out.append(f"{'Autostart:':<15} {'yes' if net.autostart() else 'no'}\n")
    except lv.libvirtError:
        out.append(f"{'Autostart:':<15} no autostart\n")
    try:
        bridge = net.bridgeName()
        if bridge:
            out.append(f"{'Bridge:':<15} {bridge}\n")
    except lv.libvirtError as exc:
        ctl.print("".join(out))
        ctl.save_error(exc)
        return True
    ctl.print("".join(out))
    return True


@command("net-list")
def cmd_net_list(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    b = cmd.bool
    flags = lv.VIR_CONNECT_LIST_NETWORKS_ACTIVE
    if b("inactive"):
        flags = lv.VIR_CONNECT_LIST_NETWORKS_INACTIVE
    if b("all"):
        flags = lv.VIR_CONNECT_LIST_NETWORKS_ACTIVE | lv.VIR_CONNECT_LIST_NETWORKS_INACTIVE
    for opt, flag in [("persistent", "PERSISTENT"), ("transient", "TRANSIENT"),
                      ("autostart", "AUTOSTART"), ("no-autostart", "NO_AUTOSTART")]:
        if b(opt):
            flags |= getattr(lv, f"VIR_CONNECT_LIST_NETWORKS_{flag}")
    if b("table") + b("name") + b("uuid") > 1:
        raise ctl.fail("Only one argument from --table, --name and --uuid may be specified.")
    with ctl.failing("Failed to list networks"):
        nets = sorted(ctl.conn.listAllNetworks(flags), key=lambda n: n.name().lower())
    if b("uuid"):
        ctl.print("".join(f"{n.UUIDString()}\n" for n in nets))
    elif b("name"):
        ctl.print("".join(f"{n.name()}\n" for n in nets))
    else:
        rows = []
        for n in nets:
            try:
                auto = "yes" if n.autostart() else "no"
            except lv.libvirtError:
                auto = "no autostart"
            rows.append([n.name(), "active" if n.isActive() else "inactive", auto,
                         "yes" if n.isPersistent() else "no"])
        print_table(ctl, ["Name", "State", "Autostart", "Persistent"], rows)
    return True


@command("net-name")
def cmd_net_name(ctl: Ctl, cmd: Cmd) -> bool:
    net, _ = lookup_network(ctl, cmd, by_name=False)
    ctl.print(f"{net.name()}\n")
    return True


@command("net-uuid")
def cmd_net_uuid(ctl: Ctl, cmd: Cmd) -> bool:
    net, _ = lookup_network(ctl, cmd, by_uuid=False)
    ctl.print(f"{net.UUIDString()}\n")
    return True


@command("net-start")
def cmd_net_start(ctl: Ctl, cmd: Cmd) -> bool:
    net, name = lookup_network(ctl, cmd)
    with ctl.failing(f"Failed to start network {name}"):
        net.create()
    ctl.print_extra(f"Network {name} started\n")
    return True


@command("net-undefine")
def cmd_net_undefine(ctl: Ctl, cmd: Cmd) -> bool:
    net, name = lookup_network(ctl, cmd)
    with ctl.failing(f"Failed to undefine network {name}"):
        net.undefine()
    ctl.print_extra(f"Network {name} has been undefined\n")
    return True


_UPDATE_CMDS = ["none", "modify", "delete", "add-last", "add-first"]
_SECTIONS = ["none", "bridge", "domain", "ip", "ip-dhcp-host", "ip-dhcp-range", "forward",
             "forward-interface", "forward-pf", "portgroup", "dns-host", "dns-txt", "dns-srv"]


@command("net-update")
def cmd_net_update(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    config, live = cmd.bool("config"), cmd.bool("live")
    ctl.exclusive(cmd, "current", "live")
    ctl.exclusive(cmd, "current", "config")
    net, _ = lookup_network(ctl, cmd)
    cmdstr = ctl.opt_string(cmd, "command")
    assert cmdstr is not None
    if cmdstr == "add":
        command_no = 3
    elif cmdstr in _UPDATE_CMDS and cmdstr != "none":
        command_no = _UPDATE_CMDS.index(cmdstr)
    else:
        raise ctl.fail(f"unrecognized command name '{cmdstr}'")
    section = ctl.opt_string(cmd, "section")
    assert section is not None
    if section not in _SECTIONS or section == "none":
        raise ctl.fail(f"unrecognized section name '{section}'")
    parent = ctl.opt_int(cmd, "parent-index")
    xml = ctl.opt_string(cmd, "xml")
    assert xml is not None
    if not xml.startswith("<"):
        xml = read_file(ctl, xml)
    flags = 0
    if config:
        flags |= lv.VIR_NETWORK_UPDATE_AFFECT_CONFIG
    if live:
        flags |= lv.VIR_NETWORK_UPDATE_AFFECT_LIVE
    with ctl.failing(f"Failed to update network {net.name()}"):
        net.update(command_no, _SECTIONS.index(section), -1 if parent is None else parent,
                   xml, flags)
    name = net.name()
    if config:
        msg = (f"Updated network {name} persistent config and live state" if live
               else f"Updated network {name} persistent config")
    elif live or net.isActive():
        msg = f"Updated network {name} live state"
    else:
        msg = f"Updated network {name} persistent config"
    ctl.print_extra(msg)
    return True
