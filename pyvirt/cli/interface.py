"""Host interface commands (iface-*)."""
from __future__ import annotations

import re
from typing import Any

from .options import Cmd, command
from .shell import Ctl
from .table import print_table
from .util import read_file, xpath_print

_MAC = re.compile(r"^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$")


def lookup_iface(ctl: Ctl, cmd: Cmd, by_name: bool = True,
                 by_mac: bool = True) -> tuple[Any, str]:
    """virshCommandOptInterfaceBy: a MAC-looking value is looked up by MAC, else by name."""
    n = ctl.opt_string(cmd, "interface")
    if n is None:
        raise ctl.fail("Failed to get option 'interface': Mandatory option not present")
    iface = None
    is_mac = bool(_MAC.match(n))
    try:
        if not is_mac and by_name:
            iface = ctl.conn.interfaceLookupByName(n)
        elif is_mac and by_mac:
            iface = ctl.conn.interfaceLookupByMACString(n)
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
    if iface is None:
        raise ctl.fail(f"failed to get interface '{n}'")
    return iface, n


@command("iface-list")
def cmd_iface_list(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    flags = lv.VIR_CONNECT_LIST_INTERFACES_ACTIVE
    if cmd.bool("inactive"):
        flags = lv.VIR_CONNECT_LIST_INTERFACES_INACTIVE
    if cmd.bool("all"):
        flags = lv.VIR_CONNECT_LIST_INTERFACES_INACTIVE | lv.VIR_CONNECT_LIST_INTERFACES_ACTIVE
    with ctl.failing("Failed to list interfaces"):
        ifaces = sorted(ctl.conn.listAllInterfaces(flags), key=lambda i: i.name().lower())
    rows = [[i.name(), "active" if i.isActive() else "inactive", i.MACString()]
            for i in ifaces]
    print_table(ctl, ["Name", "State", "MAC Address"], rows)
    return True


@command("iface-name")
def cmd_iface_name(ctl: Ctl, cmd: Cmd) -> bool:
    iface, _ = lookup_iface(ctl, cmd, by_name=False)
    ctl.print(f"{iface.name()}\n")
    return True


@command("iface-mac")
def cmd_iface_mac(ctl: Ctl, cmd: Cmd) -> bool:
    iface, _ = lookup_iface(ctl, cmd, by_mac=False)
    ctl.print(f"{iface.MACString()}\n")
    return True


@command("iface-dumpxml")
def cmd_iface_dumpxml(ctl: Ctl, cmd: Cmd) -> bool:
    iface, _ = lookup_iface(ctl, cmd)
    flags = ctl.lv.VIR_INTERFACE_XML_INACTIVE if cmd.bool("inactive") else 0
    return xpath_print(ctl, iface.XMLDesc(flags), ctl.opt_string_quiet(cmd, "xpath"),
                       cmd.bool("wrap"))


@command("iface-define")
def cmd_iface_define(ctl: Ctl, cmd: Cmd) -> bool:
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    xml = read_file(ctl, path)
    flags = ctl.lv.VIR_INTERFACE_DEFINE_VALIDATE if cmd.bool("validate") else 0
    with ctl.failing(f"Failed to define interface from {path}"):
        iface = ctl.conn.interfaceDefineXML(xml, flags)
    ctl.print_extra(f"Interface {iface.name()} defined from {path}\n")
    return True


def _simple(cmdname: str, verb: str, done: str, call: str) -> None:
    def handler(ctl: Ctl, cmd: Cmd) -> bool:
        iface, name = lookup_iface(ctl, cmd)
        with ctl.failing(f"Failed to {verb} interface {name}"):
            fn = getattr(iface, call)
            fn() if call == "undefine" else fn(0)
        ctl.print_extra(f"Interface {name} {done}\n")
        return True

    command(cmdname)(handler)


_simple("iface-undefine", "undefine", "undefined", "undefine")
_simple("iface-start", "start", "started", "create")
_simple("iface-destroy", "destroy", "destroyed", "destroy")


def _txn(cmdname: str, verb: str, done: str, call: str) -> None:
    def handler(ctl: Ctl, cmd: Cmd) -> bool:
        with ctl.failing(f"Failed to {verb} network config change transaction"):
            getattr(ctl.conn, call)(0)
        ctl.print_extra(f"Network config change transaction {done}\n")
        return True

    command(cmdname)(handler)


_txn("iface-begin", "begin", "started", "changeBegin")
_txn("iface-commit", "commit", "committed", "changeCommit")
_txn("iface-rollback", "rollback", "rolled back", "changeRollback")
