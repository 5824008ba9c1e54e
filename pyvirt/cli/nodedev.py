"""Node device commands (nodedev-*)."""
from __future__ import annotations

from typing import Any

from .builtin import split_commas
from .options import Cmd, command
from .shell import Ctl
from .util import read_file, xpath_print

CAP_TYPES = ["system", "pci", "usb_device", "usb", "net", "scsi_host", "scsi_target", "scsi",
             "storage", "fc_host", "vports", "scsi_generic", "drm", "mdev_types", "mdev",
             "ccw", "css", "vdpa", "ap_card", "ap_queue", "ap_matrix", "vpd"]
_CAP_FLAG = {"system": "SYSTEM", "pci": "PCI_DEV", "usb_device": "USB_DEV",
             "usb": "USB_INTERFACE", "net": "NET", "scsi_host": "SCSI_HOST",
             "scsi_target": "SCSI_TARGET", "scsi": "SCSI", "storage": "STORAGE",
             "fc_host": "FC_HOST", "vports": "VPORTS", "scsi_generic": "SCSI_GENERIC",
             "drm": "DRM", "mdev_types": "MDEV_TYPES", "mdev": "MDEV", "ccw": "CCW_DEV",
             "css": "CSS_DEV", "vdpa": "VDPA", "ap_card": "AP_CARD", "ap_queue": "AP_QUEUE",
             "ap_matrix": "AP_MATRIX", "vpd": "VPD"}


def find_device(ctl: Ctl, value: str) -> Any:
    """vshFindNodeDevice: by name, or by a 'wwnn,wwpn' pair."""
    dev = None
    try:
        if "," in value:
            arr = split_commas(value)
            if len(arr) != 2:
                raise ctl.fail(f"Malformed device value '{value}'")
            dev = ctl.conn.nodeDeviceLookupSCSIHostByWWN(arr[0], arr[1], 0)
        else:
            dev = ctl.conn.nodeDeviceLookupByName(value)
    except ctl.lv.libvirtError as exc:
        ctl.save_error(exc)
    if dev is None:
        raise ctl.fail(f"Could not find matching device '{value}'")
    return dev


def _tree(out: list[str], names: list[str], parents: list[str | None], devid: int,
          lastdev: int, root: bool, indent: list[str]) -> None:
    dev = names[devid]
    out.append(f"{''.join(indent)}{'' if root else '+- '}{dev}\n")
    if not root:
        indent.append(("  " if devid == lastdev else "| "))
    nextlast = -1
    for i, p in enumerate(parents):
        if p is not None and p == dev:
            nextlast = i
    if nextlast != -1:
        out.append(f"{''.join(indent)}  |\n")
    indent.append("  ")
    for i, p in enumerate(parents):
        if p is not None and p == dev:
            _tree(out, names, parents, i, nextlast, False, indent)
    indent.pop()
    if nextlast == -1 and devid == lastdev:
        out.append(f"{''.join(indent)}\n")
    if not root:
        indent.pop()


@command("nodedev-list")
def cmd_nodedev_list(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    tree, inactive, all_ = cmd.bool("tree"), cmd.bool("inactive"), cmd.bool("all")
    cap_str = ctl.opt_string_quiet(cmd, "cap")
    caps = split_commas(cap_str) if cap_str else []
    if all_ and inactive:
        raise ctl.fail("Option --all is incompatible with --inactive")
    if tree and (cap_str or inactive):
        raise ctl.fail("Option --tree is incompatible with --cap and --inactive")
    flags = 0
    for c in caps:
        if c not in _CAP_FLAG:
            raise ctl.fail("Invalid capability type")
        flags |= getattr(lv, f"VIR_CONNECT_LIST_NODE_DEVICES_CAP_{_CAP_FLAG[c]}")
    if inactive or all_:
        flags |= lv.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE
    if not inactive:
        flags |= lv.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE
    with ctl.failing("Failed to list node devices"):
        devs = sorted(ctl.conn.listAllDevices(flags), key=lambda d: d.name().lower())
    names = [d.name() for d in devs]
    if not tree:
        ctl.print("".join(f"{n}\n" for n in names))
        return True
    parents: list[str | None] = [None if n == "computer" else d.parent()
                                 for n, d in zip(names, devs)]
    out: list[str] = []
    for i in range(len(devs)):
        if parents[i] is None:
            _tree(out, names, parents, i, i, True, [])
    ctl.print("".join(out))
    return True


@command("nodedev-dumpxml")
def cmd_nodedev_dumpxml(ctl: Ctl, cmd: Cmd) -> bool:
    value = ctl.opt_string(cmd, "device")
    assert value is not None
    dev = find_device(ctl, value)
    flags = ctl.lv.VIR_NODE_DEVICE_XML_INACTIVE if cmd.bool("inactive") else 0
    return xpath_print(ctl, dev.XMLDesc(flags), ctl.opt_string_quiet(cmd, "xpath"),
                       cmd.bool("wrap"))


@command("nodedev-info")
def cmd_nodedev_info(ctl: Ctl, cmd: Cmd) -> bool:
    value = ctl.opt_string(cmd, "device")
    assert value is not None
    dev = find_device(ctl, value)
    try:
        parent = dev.parent() or ""
    except ctl.lv.libvirtError:
        parent = ""
    def truthy(fn: Any) -> bool:
        # virsh tests the raw C return value, so an error (-1) reads as "yes"
        try:
            return bool(fn())
        except ctl.lv.libvirtError:
            return True

    out = [f"{'Name:':<15} {dev.name()}\n", f"{'Parent:':<15} {parent}\n",
           f"{'Active:':<15} {'yes' if truthy(dev.isActive) else 'no'}\n",
           f"{'Persistent:':<15} {'yes' if truthy(dev.isPersistent) else 'no'}\n"]
    try:
        out.append(f"{'Autostart:':<15} {'yes' if dev.autostart() else 'no'}\n")
    except ctl.lv.libvirtError:
        out.append(f"{'Autostart:':<15} no autostart\n")
    ctl.print("".join(out))
    return True


@command("nodedev-create")
def cmd_nodedev_create(ctl: Ctl, cmd: Cmd) -> bool:
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    xml = read_file(ctl, path)
    flags = ctl.lv.VIR_NODE_DEVICE_CREATE_XML_VALIDATE if cmd.bool("validate") else 0
    with ctl.failing(f"Failed to create node device from {path}"):
        dev = ctl.conn.nodeDeviceCreateXML(xml, flags)
    ctl.print_extra(f"Node device {dev.name()} created from {path}\n")
    return True


@command("nodedev-destroy")
def cmd_nodedev_destroy(ctl: Ctl, cmd: Cmd) -> bool:
    value = ctl.opt_string(cmd, "device")
    assert value is not None
    dev = find_device(ctl, value)
    with ctl.failing(f"Failed to destroy node device '{value}'"):
        dev.destroy()
    ctl.print_extra(f"Destroyed node device '{value}'\n")
    return True
