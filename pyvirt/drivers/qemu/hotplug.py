"""Live and persistent device changes: virtio disk and interface hotplug/unplug, balloon memory.

On q35 a hot-plugged device goes behind a free pcie-root-port (libvirt adds one
spare at define time); with none left the plug fails as libvirt's does.

A disk is plugged with ``blockdev-add`` (storage and format nodes) and
``device_add``; it is unplugged with ``device_del``, which the guest
acknowledges through ACPI: QEMU then sends ``DEVICE_DELETED`` and the nodes are
removed with ``blockdev-del``. As in libvirt, detaching waits a few seconds
for the guest; a later acknowledgement still completes the removal.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from ... import constants as c
from ...conf.domain import DomainDef, hooks, parse_device
from ...conf.domain.hotplug import attach as conf_attach, detach as conf_detach, find_device
from ...conf.xmlutil import Element, parse_xml
from ...errors import LibvirtError, check_flags, make_error
from .errors import qemu_error as _err
from ..base import DomainRef
from .devices import netdev_props, nic_props, pci_props
from .domain import apply_defaults, assign_pci_addresses, disk_alias, is_q35
from .process import QemuVM, atomic_write
from .tap import create_tap
from .validate import check_interface, check_q35_device, validate

if TYPE_CHECKING:
    from .driver import Dom, QemuState

__all__ = ["HotplugMixin"]

UNPLUG_WAIT = 5.0  # libvirt's QEMU driver waits this long for DEVICE_DELETED




def _target(disk: Element) -> str:
    tgt = disk.find("target")
    return tgt.get("dev", "") if tgt is not None else ""


def _parse_device(xml: str, detach: bool = False) -> Element:
    elem = parse_device(xml)
    if elem.tag == "interface":
        return elem
    if elem.tag != "disk":
        raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                   f"live {'detach' if detach else 'attach'} of device '{elem.tag}' is not supported")
    if not _target(elem):
        raise make_error(c.VIR_ERR_XML_ERROR, "missing disk target", c.VIR_FROM_DOMAIN)
    return elem


class HotplugMixin:
    """attach/detach device and set-memory entries of :class:`~.driver.QemuDriver`."""

    st: "QemuState"

    if TYPE_CHECKING:  # provided by QemuDriver and Driver
        def check_writable(self) -> None: ...
        def _dom(self, ref: DomainRef) -> "Dom": ...

    def _affect(self, d: "Dom", flags: int) -> tuple[bool, bool]:
        """(live, config) for VIR_DOMAIN_AFFECT_* *flags*, checked as libvirt does."""
        live = bool(flags & c.VIR_DOMAIN_AFFECT_LIVE)
        config = bool(flags & c.VIR_DOMAIN_AFFECT_CONFIG)
        if not live and not config:
            live, config = d.active(), not d.active()
        if live and not d.active():
            raise _err(c.VIR_ERR_OPERATION_INVALID, "domain is not running")
        if config and d.config is None:
            raise _err(c.VIR_ERR_OPERATION_INVALID, "transient domains do not have any persistent config")
        return live, config

    def _save_config(self, d: "Dom") -> None:
        assert d.config is not None
        atomic_write(self.st.config_dir / f"{d.config.name}.xml", d.config.to_xml(inactive=True))

    # --- memory ------------------------------------------------------------------
    def domain_set_memory_flags(self, dom: DomainRef, memory: int, flags: int = 0) -> None:
        """Balloon the running guest to *memory* KiB and/or set the config's current (or maximum) memory."""
        self.check_writable()
        with self.st.lock:
            d = self._dom(dom)
            live, config = self._affect(d, flags & ~c.VIR_DOMAIN_MEM_MAXIMUM)
            vm = d.vm if live else None
            if flags & c.VIR_DOMAIN_MEM_MAXIMUM:
                if live:
                    raise _err(c.VIR_ERR_OPERATION_INVALID, "cannot resize the maximum memory on an active domain")
                assert d.config is not None
                new = d.config.copy()
                new.memory = memory
                if new.current_memory > memory:
                    new.current_memory = memory
                d.config = new
                self._save_config(d)
                return
            maxima = ([vm.live.memory] if vm is not None else []) + (
                [d.config.memory] if config and d.config is not None else [])
            if memory > min(maxima):
                raise _err(c.VIR_ERR_INVALID_ARG, "cannot set memory higher than max memory")
        if vm is not None:
            if vm.live.devices_elem.find("memballoon[@model='virtio']") is None:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "Unable to change memory of active domain without "
                           "the balloon device and guest OS balloon driver")
            vm.execute("balloon", {"value": memory * 1024})
            with vm.lock:
                new = vm.live.copy()
                new.current_memory = memory
                vm.live = new
            vm.write_status()
        if config:
            with self.st.lock:
                assert d.config is not None
                new = d.config.copy()
                new.current_memory = memory
                d.config = new
                self._save_config(d)

    def domain_set_max_memory(self, dom: DomainRef, memory: int) -> None:
        self.domain_set_memory_flags(dom, memory, c.VIR_DOMAIN_MEM_MAXIMUM)

    # --- devices --------------------------------------------------------------------
    def domain_attach_device(self, dom: DomainRef, xml: str) -> None:
        self.domain_attach_device_flags(dom, xml, c.VIR_DOMAIN_AFFECT_LIVE)

    def domain_detach_device(self, dom: DomainRef, xml: str) -> None:
        self.domain_detach_device_flags(dom, xml, c.VIR_DOMAIN_AFFECT_LIVE)

    def domain_attach_device_flags(self, dom: DomainRef, xml: str, flags: int = 0) -> None:
        """Attach a disk (virtio) or an interface to the running guest and/or its persistent config."""
        self.check_writable()
        check_flags(flags, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG, "qemuDomainAttachDeviceFlags",
                    c.VIR_FROM_QEMU)
        elem = _parse_device(xml)
        if elem.tag == "interface":
            self._attach_net(dom, elem, flags)
            return
        disk = elem
        with self.st.lock:
            d = self._dom(dom)
            live, config = self._affect(d, flags)
            for defn in ([d.config] if config else []) + ([d.vm.live] if live and d.vm else []):
                assert defn is not None
                if any(_target(x) == _target(disk) for x in defn.devices_elem.findall("disk")):
                    raise _err(c.VIR_ERR_OPERATION_FAILED, f"target {_target(disk)} already exists")
            vm = d.vm
        if live:
            assert vm is not None
            _plug_disk(vm, disk)
        if config:
            with self.st.lock:
                assert d.config is not None
                new = d.config.copy()
                _append_disk(new, _copy(disk))
                _check_config(new)
                d.config = new
                self._save_config(d)

    def domain_detach_device_flags(self, dom: DomainRef, xml: str, flags: int = 0) -> None:
        """Detach a disk (by its target) or an interface (by MAC/alias/address) from the guest and/or config."""
        self.check_writable()
        check_flags(flags, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG, "qemuDomainDetachDeviceFlags",
                    c.VIR_FROM_QEMU)
        elem = _parse_device(xml, detach=True)
        if elem.tag == "interface":
            self._detach_net(dom, elem, flags)
            return
        target = _target(elem)
        with self.st.lock:
            d = self._dom(dom)
            live, config = self._affect(d, flags)
            vm = d.vm
            for defn in ([d.config] if config else []) + ([vm.live] if live and vm else []):
                assert defn is not None
                if not any(_target(x) == target for x in defn.devices_elem.findall("disk")):
                    raise make_error(c.VIR_ERR_DEVICE_MISSING, f"disk {target} not found", c.VIR_FROM_DOMAIN)
        if live:
            assert vm is not None
            _unplug_disk(vm, target, lambda alias: self._device_removed(d, alias))
        if config:
            with self.st.lock:
                assert d.config is not None
                new = d.config.copy()
                for x in new.devices_elem.findall("disk"):
                    if _target(x) == target:
                        new.devices_elem.remove(x)
                d.config = new
                self._save_config(d)

    def _device_removed(self, d: "Dom", alias: str) -> None:
        ref = d.ref()
        self.st.bus.emit("domain", c.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, ref.uuid, ref, alias)

    # --- interfaces -----------------------------------------------------------------
    def _attach_net(self, dom: DomainRef, elem: Element, flags: int) -> None:
        check_interface(elem)
        if elem.find("mac") is None:  # one MAC for the live and the persistent copy, as libvirt
            elem.insert(0, elem.makeelement("mac", {"address": hooks.generate_mac()}))
        with self.st.lock:
            d = self._dom(dom)
            live, config = self._affect(d, flags)
            vm = d.vm
        if live:
            assert vm is not None
            plug_net(vm, _copy(elem))
        if config:
            with self.st.lock:
                assert d.config is not None
                new = d.config.copy()
                conf_attach(new, _inactive_copy(elem))
                _check_config(new)
                d.config = new
                self._save_config(d)

    def _detach_net(self, dom: DomainRef, elem: Element, flags: int) -> None:
        with self.st.lock:
            d = self._dom(dom)
            live, config = self._affect(d, flags)
            vm = d.vm
            if config:
                assert d.config is not None
                find_device(d.config, elem)  # libvirt's "no device found ..." before anything changes
            found = find_device(vm.live, elem) if live and vm is not None else None
        if live:
            assert vm is not None and found is not None
            unplug_net(vm, found, lambda alias: self._device_removed(d, alias))
        if config:
            with self.st.lock:
                assert d.config is not None
                new = d.config.copy()
                conf_detach(new, elem)
                d.config = new
                self._save_config(d)


def _check_config(defn: DomainDef) -> None:
    """A changed persistent definition must still start: define-time defaults (q35 root ports) and checks."""
    apply_defaults(defn)
    validate(defn)


def _copy(elem: Element) -> Element:
    return parse_xml(bytes(_tostring(elem)), what="device_definition")


def _tostring(elem: Element) -> bytes:
    from lxml import etree
    return etree.tostring(elem)


def _append_disk(defn: DomainDef, disk: Element) -> None:
    dev = defn.devices_elem
    disks = dev.findall("disk")
    if disks:
        disks[-1].addnext(disk)
    else:
        emu = dev.find("emulator")
        if emu is not None:
            emu.addnext(disk)
        else:
            dev.insert(0, disk)


def _plug_disk(vm: QemuVM, disk: Element) -> None:
    tgt = disk.find("target")
    assert tgt is not None
    if tgt.get("bus") != "virtio" or disk.get("device", "disk") != "disk" or disk.get("type", "file") != "file":
        raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                   "only virtio file disks can be hotplugged by the QEMU driver")
    src = disk.find("source")
    if src is None or not src.get("file"):
        raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED, "a hotplugged disk needs a source file")
    drv = disk.find("driver")
    fmt = drv.get("type", "raw") if drv is not None else "raw"
    new = vm.live.copy()
    elem = _copy(disk)
    _append_disk(new, elem)
    assign_pci_addresses(new)
    addr = elem.find("address")
    alias_node = elem.find("alias")
    if alias_node is None or not alias_node.get("name", "").startswith("ua-"):
        if alias_node is not None:
            elem.remove(alias_node)
        alias_node = elem.makeelement("alias", {"name": disk_alias(elem)})
        if addr is not None:
            addr.addprevious(alias_node)
        else:
            elem.append(alias_node)
    alias = alias_node.get("name", "")
    assert addr is not None
    names = {str(n.get("node-name", "")) for n in vm.execute("query-named-block-nodes")}
    n = len(new.devices_elem.findall("disk"))
    while f"libvirt-{n}-storage" in names or f"libvirt-{n}-format" in names:
        n += 1
    storage, fmt_node = f"libvirt-{n}-storage", f"libvirt-{n}-format"
    vm.execute("blockdev-add", {"driver": "file", "filename": src.get("file"), "node-name": storage,
                                "auto-read-only": True, "discard": "unmap"})
    try:
        vm.execute("blockdev-add", {"node-name": fmt_node, "read-only": disk.find("readonly") is not None,
                                    "driver": fmt, "file": storage})
        try:
            root_bus = "pcie.0" if is_q35(new.os_machine) else "pci.0"
            vm.execute("device_add", {"driver": "virtio-blk-pci", **pci_props(elem, root_bus),
                                      "drive": fmt_node, "id": alias})
        except LibvirtError:
            vm.execute("blockdev-del", {"node-name": fmt_node})
            raise
    except LibvirtError:
        vm.execute("blockdev-del", {"node-name": storage})
        raise
    vm.live = new
    vm.write_status()


def _unplug_disk(vm: QemuVM, target: str, removed: Callable[[str], None]) -> None:
    disk = next(x for x in vm.live.devices_elem.findall("disk") if _target(x) == target)
    tgt = disk.find("target")
    if tgt is None or tgt.get("bus") != "virtio":
        raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                   f"disk device type '{disk.get('device', 'disk')}' on bus "
                   f"'{tgt.get('bus') if tgt is not None else ''}' cannot be hot unplugged")
    alias_node = disk.find("alias")
    alias = alias_node.get("name", "") if alias_node is not None else disk_alias(disk)

    # the block nodes are found before the device goes away with its link to them
    fmt_node = None
    for entry in vm.execute("query-block"):
        if entry.get("qdev") == alias or str(entry.get("qdev", "")).endswith(f"/{alias}/virtio-backend"):
            fmt_node = entry.get("inserted", {}).get("node-name")
    nodes = _nodes_of(fmt_node)

    def release() -> None:
        for node in nodes:
            _quiet(vm, "blockdev-del", {"node-name": node})

    _device_del(vm, alias, release, lambda x: x.tag == "disk" and _target(x) == target, removed)


def _nodes_of(fmt_node: Any) -> list[str]:
    """The format node and the storage node below it (to delete in that order; named by us)."""
    if not fmt_node:
        return []
    out = [str(fmt_node)]
    storage = str(fmt_node).replace("-format", "-storage")
    if storage != fmt_node:
        out.append(storage)
    return out


# --- interfaces ------------------------------------------------------------------------
def _inactive_copy(net: Element) -> Element:
    """*net* as the persistent config keeps it: no generated alias or tap name."""
    out = _copy(net)
    alias = out.find("alias")
    if alias is not None and not alias.get("name", "").startswith("ua-"):
        out.remove(alias)
    tgt = out.find("target")
    if tgt is not None and tgt.get("dev", "").startswith(("vnet", "macvtap")):
        out.remove(tgt)
    return out


def _next_net_alias(defn: DomainDef) -> str:
    """libvirt's qemuAssignDeviceNetAlias: one more than the highest netN in use."""
    idx = 0
    for net in defn.devices_elem.findall("interface"):
        node = net.find("alias")
        name = node.get("name", "") if node is not None else ""
        if name.startswith("net") and name[3:].isdigit():
            idx = max(idx, int(name[3:]) + 1)
    return f"net{idx}"


def _set_alias(elem: Element, name: str) -> str:
    node = elem.find("alias")
    if node is not None and node.get("name", "").startswith("ua-"):
        return node.get("name", "")
    if node is not None:
        elem.remove(node)
    node = elem.makeelement("alias", {"name": name})
    addr = elem.find("address")
    if addr is not None:
        addr.addprevious(node)
    else:
        elem.append(node)
    return name


def plug_net(vm: QemuVM, net: Element) -> None:
    """Hot-plug interface *net* into *vm* (netdev_add, then device_add), as qemuDomainAttachNetDevice."""
    itype = net.get("type", "")
    if is_q35(vm.live.os_machine):
        check_q35_device(net)
    if itype not in ("user", "bridge", "ethernet"):
        raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED, f"hotplug of interface type of {itype} is not implemented yet")
    with vm.lock:
        new = vm.live.copy()
        dev = conf_attach(new, net)
        elem = dev.xml
        alias = _set_alias(elem, _next_net_alias(vm.live))
        assign_pci_addresses(new)
    tap = None
    fd_name = None
    if itype in ("bridge", "ethernet"):
        tgt = elem.find("target")
        wanted = tgt.get("dev", "") if tgt is not None else ""
        if not wanted or (wanted.startswith("vnet") and not wanted[4:].isdigit()):
            wanted = "vnet%d"
        src = elem.find("source")
        bridge = src.get("bridge") if itype == "bridge" and src is not None else None
        if itype == "bridge" and not bridge:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, "missing bridge name", c.VIR_FROM_QEMU)
        model = elem.find("model")
        mac = elem.find("mac")
        tap = create_tap(wanted, bridge, mac.get("address") if mac is not None else None,
                         vnet_hdr=model is not None and model.get("type") == "virtio")
        if tgt is None:
            tgt = elem.makeelement("target", {})
            alias_node = elem.find("alias")
            assert alias_node is not None
            alias_node.addprevious(tgt)
        tgt.set("dev", tap.name)
        fd_name = f"tapfd-{alias}0"
    root_bus = "pcie.0" if is_q35(new.os_machine) else "pci.0"
    try:
        if tap is not None:
            assert fd_name is not None
            mon = vm.monitor
            if mon is None:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "domain is not running")
            mon.send_fd(tap.fd, fd_name)
        try:
            vm.execute("netdev_add", netdev_props(elem, fd_name))
        except LibvirtError:
            if fd_name is not None:
                _quiet(vm, "closefd", {"fdname": fd_name})
            raise
        try:
            vm.execute("device_add", nic_props(elem, root_bus))
            link = elem.find("link")
            if link is not None and link.get("state") == "down":
                vm.execute("set_link", {"name": alias, "up": False})
        except LibvirtError:
            _quiet(vm, "device_del", {"id": alias})
            _quiet(vm, "netdev_del", {"id": "host" + alias})
            raise
    finally:
        if tap is not None:
            tap.close()  # QEMU holds its own copy; the tap lives as long as QEMU's netdev
    with vm.lock:
        vm.live = new
    vm.write_status()


def _quiet(vm: QemuVM, cmd: str, args: dict[str, Any]) -> None:
    try:
        vm.execute(cmd, args)
    except LibvirtError:
        pass


def unplug_net(vm: QemuVM, net: Element, removed: Callable[[str], None]) -> None:
    """device_del the NIC of *net*; once the guest lets go (DEVICE_DELETED), netdev_del and drop it."""
    alias_node = net.find("alias")
    alias = alias_node.get("name", "") if alias_node is not None else ""
    if not alias:
        raise _err(c.VIR_ERR_OPERATION_FAILED, "device alias not found: cannot delete the interface")

    def is_it(x: Element) -> bool:
        node = x.find("alias")
        return x.tag == "interface" and node is not None and node.get("name") == alias

    _device_del(vm, alias, lambda: _quiet(vm, "netdev_del", {"id": "host" + alias}), is_it, removed)


def _device_del(vm: QemuVM, alias: str, release: Callable[[], None], is_it: Callable[[Element], bool],
                removed: Callable[[str], None]) -> None:
    """device_del *alias*; once QEMU reports it gone (DEVICE_DELETED), *release* its backend, drop
    the device (*is_it*) from the live XML and report it *removed*. Waits UNPLUG_WAIT at most, as
    libvirt returns then even if the guest has not answered yet."""
    done = threading.Event()

    def cleanup() -> None:
        release()
        with vm.lock:
            new = vm.live.copy()
            for x in list(new.devices_elem):
                if is_it(x):
                    new.devices_elem.remove(x)
            vm.live = new
        vm.write_status()
        done.set()
        removed(alias)

    vm.on_device_deleted(alias, lambda: threading.Thread(target=cleanup, daemon=True).start())
    try:
        vm.execute("device_del", {"id": alias})
    except LibvirtError:
        vm.on_device_deleted(alias, None)
        raise
    done.wait(UNPLUG_WAIT)
