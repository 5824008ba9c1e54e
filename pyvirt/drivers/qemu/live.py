"""Live changes of running QEMU guests other than device hot-plug: media change, link state, vCPU counts.

CD-ROM media change follows libvirt 9.0's blockdev sequence: open the tray
(``blockdev-open-tray``, waiting for QEMU's ``DEVICE_TRAY_MOVED`` unless
forced), ``blockdev-remove-medium``, ``blockdev-add`` of the new storage and
format nodes and ``blockdev-insert-medium``, then ``blockdev-close-tray``.
Tray moves raise libvirt's tray-change event. vCPUs are plugged with
``device_add`` of the entities ``query-hotpluggable-cpus`` offers and
unplugged with ``device_del`` once the guest ejects them.
"""

from __future__ import annotations

import copy
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Callable

from ... import constants as c
from ...conf.domain import parse_device
from ...conf.domain.hotplug import find_device, update as conf_update
from ...conf.xmlutil import Element
from ...errors import LibvirtError, check_flags, make_error
from ..base import DomainRef
from .errors import qemu_error as _err
from .process import QemuVM

if TYPE_CHECKING:
    from .driver import Dom, QemuState

__all__ = ["LiveMixin"]

CHANGE_MEDIA_TIMEOUT = 5.0  # libvirt waits this long for the tray to open


class _Trays:
    """What the tray-event hook knows about one QEMU process."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.open: dict[str, bool] = {}


_TRAYS: "weakref.WeakKeyDictionary[QemuVM, _Trays]" = weakref.WeakKeyDictionary()
_TRAYS_LOCK = threading.Lock()


def _target(disk: Element) -> str:
    tgt = disk.find("target")
    return tgt.get("dev", "") if tgt is not None else ""


def _alias(elem: Element) -> str:
    node = elem.find("alias")
    return node.get("name", "") if node is not None else ""


def _source(disk: Element) -> str | None:
    src = disk.find("source")
    if src is None:
        return None
    return src.get("file") or src.get("dev") or None


class LiveMixin:
    """update-device and vCPU entries of :class:`~.driver.QemuDriver` (mixed in)."""

    st: "QemuState"

    if TYPE_CHECKING:  # provided by QemuDriver, Driver and HotplugMixin
        def check_writable(self) -> None: ...
        def _dom(self, ref: DomainRef) -> "Dom": ...
        def _affect(self, d: "Dom", flags: int) -> tuple[bool, bool]: ...
        def _save_config(self, d: "Dom") -> None: ...

    # --- QMP events this module needs ----------------------------------------------------
    def _hook_events(self, d: "Dom", vm: QemuVM) -> _Trays:
        """Follow DEVICE_TRAY_MOVED for *vm* (installed on first use; see the module docs)."""
        with _TRAYS_LOCK:
            trays = _TRAYS.get(vm)
            if trays is not None:
                return trays
            trays = _TRAYS[vm] = _Trays()
            before: Callable[[str, dict[str, Any]], None] | None = vm.on_event
            bus = self.st.bus

            # a QemuVM that maps DEVICE_TRAY_MOVED itself (tray-change event, live tray state)
            # only needs to be watched here, for the media change to wait on
            emits = not hasattr(vm, "_ev_device_tray_moved") or getattr(vm, "on_domain_event", None) is None

            def on_event(name: str, data: dict[str, Any]) -> None:
                if name == "DEVICE_TRAY_MOVED":
                    _tray_moved(d, vm, trays, bus if emits else None, data)
                if before is not None:
                    before(name, data)

            vm.on_event = on_event
            return trays

    # --- update device ---------------------------------------------------------------
    def domain_update_device_flags(self, dom: DomainRef, xml: str, flags: int = 0) -> None:
        """Change a CD-ROM's medium or an interface's link state, live and/or in the config."""
        self.check_writable()
        check_flags(flags, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG | c.VIR_DOMAIN_DEVICE_MODIFY_FORCE,
                    "qemuDomainUpdateDeviceFlags", c.VIR_FROM_QEMU)
        elem = parse_device(xml)
        force = bool(flags & c.VIR_DOMAIN_DEVICE_MODIFY_FORCE)
        link = elem.find("link") if elem.tag == "interface" else None
        if flags & c.VIR_DOMAIN_AFFECT_CONFIG and link is not None and link.get("state") == "down":
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                       "interface link state 'down' in the persistent config is not supported by the QEMU driver")
        with self.st.lock:
            d = self._dom(dom)
            live, config = self._affect(d, flags & ~c.VIR_DOMAIN_DEVICE_MODIFY_FORCE)
            vm = d.vm
            if config:
                assert d.config is not None
                conf_update(d.config.copy(), copy.deepcopy(elem))  # refuse before changing anything
        if live:
            assert vm is not None
            if elem.tag == "disk":
                self._change_media(d, vm, elem, force)
            elif elem.tag == "interface":
                _change_net(vm, elem)
            else:
                raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, f"live update of device '{elem.tag}' is not supported")
        if config:
            with self.st.lock:
                assert d.config is not None
                new = d.config.copy()
                conf_update(new, _for_config(elem))
                d.config = new
                self._save_config(d)

    def _change_media(self, d: "Dom", vm: QemuVM, disk: Element, force: bool) -> None:
        dst = _target(disk)
        old = next((x for x in vm.live.devices_elem.findall("disk") if _target(x) == dst), None)
        if old is None:
            raise _err(c.VIR_ERR_INTERNAL_ERROR, f"disk '{dst}' not found")
        _check_disk_change(old, disk)
        new_src = _source(disk)
        if new_src == _source(old):
            return
        if old.get("device", "disk") not in ("cdrom", "floppy"):
            raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, "disk source can be changed only in removable drives")
        trays = self._hook_events(d, vm)
        alias = _alias(old)
        old_nodes = _disk_nodes(vm, alias)
        with trays.cond:
            is_open = trays.open.get(alias, False)
        if not is_open:
            vm.execute("blockdev-open-tray", {"id": alias, "force": force})
            if not force:
                deadline = time.monotonic() + CHANGE_MEDIA_TIMEOUT
                with trays.cond:
                    while not trays.open.get(alias, False):
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise _err(c.VIR_ERR_OPERATION_FAILED, f"timed out waiting to open tray of '{dst}'")
                        trays.cond.wait(left)
        vm.execute("blockdev-remove-medium", {"id": alias})
        for node in old_nodes:
            try:
                vm.execute("blockdev-del", {"node-name": node})
            except LibvirtError:
                pass
        new_nodes: list[str] = []
        if new_src is not None:
            n = _free_node_index(vm)
            storage, fmt_node = f"libvirt-{n}-storage", f"libvirt-{n}-format"
            drv = disk.find("driver")
            fmt = drv.get("type", "raw") if drv is not None else "raw"
            kind = "file" if disk.get("type", "file") == "file" else "host_device"
            vm.execute("blockdev-add", {"driver": kind, "filename": new_src, "node-name": storage,
                                        "auto-read-only": True, "discard": "unmap"})
            new_nodes.append(storage)
            try:
                vm.execute("blockdev-add", {"node-name": fmt_node, "read-only": True, "driver": fmt,
                                            "file": storage})
                new_nodes.insert(0, fmt_node)
                vm.execute("blockdev-insert-medium", {"id": alias, "node-name": fmt_node})
            except LibvirtError:
                for node in new_nodes:
                    try:
                        vm.execute("blockdev-del", {"node-name": node})
                    except LibvirtError:
                        pass
                raise
        vm.execute("blockdev-close-tray", {"id": alias})
        with vm.lock:
            new = vm.live.copy()
            target = next(x for x in new.devices_elem.findall("disk") if _target(x) == dst)
            for tag in ("source", "driver"):
                child = target.find(tag)
                if child is not None:
                    target.remove(child)
            anchor = target.find("target")
            assert anchor is not None
            for tag in ("driver", "source"):
                child = disk.find(tag)
                if child is not None and (tag == "driver" or new_src is not None):
                    anchor.addprevious(copy.deepcopy(child))
            vm.live = new
        vm.write_status()

    # --- vCPUs -------------------------------------------------------------------------
    def domain_set_vcpus(self, dom: DomainRef, nvcpus: int) -> None:
        self.domain_set_vcpus_flags(dom, nvcpus, c.VIR_DOMAIN_AFFECT_LIVE)

    def domain_set_vcpus_flags(self, dom: DomainRef, nvcpus: int, flags: int = 0) -> None:
        """Plug/unplug vCPUs of the running guest and/or set the config's current or maximum count."""
        self.check_writable()
        if flags & c.VIR_DOMAIN_VCPU_MAXIMUM and not flags & c.VIR_DOMAIN_AFFECT_CONFIG:
            raise _api_error("Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'")
        if flags & c.VIR_DOMAIN_VCPU_GUEST and flags & c.VIR_DOMAIN_AFFECT_CONFIG:
            raise _api_error("Flags 'VIR_DOMAIN_VCPU_GUEST' and 'VIR_DOMAIN_AFFECT_CONFIG' are mutually exclusive")
        if nvcpus == 0:
            raise _api_error("nvcpus in virDomainSetVcpusFlags must not be zero")
        check_flags(flags, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG | c.VIR_DOMAIN_VCPU_MAXIMUM
                    | c.VIR_DOMAIN_VCPU_GUEST | c.VIR_DOMAIN_VCPU_HOTPLUGGABLE, "qemuDomainSetVcpusFlags",
                    c.VIR_FROM_QEMU)
        with self.st.lock:
            d = self._dom(dom)
            if flags & c.VIR_DOMAIN_VCPU_GUEST:
                if not d.active():
                    raise _err(c.VIR_ERR_OPERATION_INVALID, "domain is not running")
                raise _err(c.VIR_ERR_ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured")
            live, config = self._affect(d, flags & (c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG))
            vm = d.vm if live else None
            if flags & c.VIR_DOMAIN_VCPU_MAXIMUM:
                if live:
                    raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED, "maximum vcpu count of a live domain can't be modified")
                assert d.config is not None
                topo = d.config.xml.find("cpu/topology")
                if topo is not None:
                    count = 1
                    for key in ("sockets", "dies", "cores", "threads"):
                        count *= int(topo.get(key, "1"))
                    if count != nvcpus:
                        raise _err(c.VIR_ERR_INVALID_ARG, "CPU topology doesn't match the desired vcpu count")
                new = d.config.copy()
                new.max_vcpus = nvcpus
                d.config = new
                self._save_config(d)
                return
            if vm is not None and nvcpus > vm.live.max_vcpus:
                raise _err(c.VIR_ERR_INVALID_ARG, "requested vcpus is greater than max allowable vcpus for the "
                           f"live domain: {nvcpus} > {vm.live.max_vcpus}")
            if config:
                assert d.config is not None
                if nvcpus > d.config.max_vcpus:
                    raise _err(c.VIR_ERR_INVALID_ARG, "requested vcpus is greater than max allowable vcpus for the "
                               f"persistent domain: {nvcpus} > {d.config.max_vcpus}")
                if flags & c.VIR_DOMAIN_VCPU_HOTPLUGGABLE and nvcpus > d.config.vcpus:
                    raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                               "hotpluggable vcpus in the persistent config (<vcpus>) are not supported")
        if vm is not None:
            _set_vcpus_live(vm, nvcpus)
        if config:
            with self.st.lock:
                assert d.config is not None
                new = d.config.copy()
                new.vcpus = nvcpus
                d.config = new
                self._save_config(d)


def _tray_moved(d: "Dom", vm: QemuVM, trays: _Trays, bus: Any, data: dict[str, Any]) -> None:
    alias = str(data.get("id") or data.get("device") or "")
    opened = bool(data.get("tray-open"))
    with trays.cond:
        trays.open[alias] = opened
        trays.cond.notify_all()
    if bus is None:
        return
    with vm.lock:
        new = vm.live.copy()
        for disk in new.devices_elem.findall("disk"):
            if _alias(disk) == alias:
                tgt = disk.find("target")
                if tgt is not None:
                    if opened:
                        tgt.set("tray", "open")
                    elif "tray" in tgt.attrib:
                        del tgt.attrib["tray"]
        vm.live = new
    ref = d.ref()
    reason = c.VIR_DOMAIN_EVENT_TRAY_CHANGE_OPEN if opened else c.VIR_DOMAIN_EVENT_TRAY_CHANGE_CLOSE
    bus.emit("domain", c.VIR_DOMAIN_EVENT_ID_TRAY_CHANGE, ref.uuid, ref, alias, reason)


def _check_disk_change(old: Element, new: Element) -> None:
    """libvirt's qemuDomainDiskChangeSupported for the fields this driver knows."""
    def field(elem: Element, path: str, attr: str, default: str | None = None) -> str | None:
        node = elem if path == "." else elem.find(path)
        return node.get(attr, default) if node is not None else default
    checks = ((".", "device", "disk", "device"), ("target", "bus", None, "bus"),
              ("driver", "cache", None, "cache"), (".", "type", "file", "type"))
    for path, attr, default, name in checks:
        want = field(new, path, attr, default)
        if want is not None and want != field(old, path, attr, default):
            raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED, f"cannot modify field '{name}' of the disk")
    if (new.find("readonly") is None) != (old.find("readonly") is None) and old.get("device") != "cdrom":
        raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED, "cannot modify field 'readonly' of the disk")


def _disk_nodes(vm: QemuVM, alias: str) -> list[str]:
    """The format node of the medium in device *alias* and the storage node below it."""
    for entry in vm.execute("query-block"):
        if entry.get("qdev") == alias or str(entry.get("qdev", "")).endswith(f"/{alias}"):
            node = entry.get("inserted", {}).get("node-name")
            if node:
                nodes = [str(node)]
                if str(node).endswith("-format"):
                    nodes.append(str(node)[:-len("-format")] + "-storage")
                return nodes
    return []


def _free_node_index(vm: QemuVM) -> int:
    """One more than the highest ``libvirt-N-*`` node (at least past every disk's number)."""
    n = len(vm.live.devices_elem.findall("disk")) + 1
    for node in vm.execute("query-named-block-nodes"):
        parts = str(node.get("node-name", "")).split("-")
        if len(parts) == 3 and parts[0] == "libvirt" and parts[1].isdigit():
            n = max(n, int(parts[1]) + 1)
    return n


def _for_config(elem: Element) -> Element:
    out = copy.deepcopy(elem)
    alias = out.find("alias")
    if alias is not None and not alias.get("name", "").startswith("ua-"):
        out.remove(alias)
    return out


_NET_IGNORED = {"alias", "address", "target", "link"}


def _net_shape(net: Element) -> list[tuple[str, dict[str, str]]]:
    return sorted((str(ch.tag), {str(k): str(v) for k, v in ch.attrib.items()})
                  for ch in net if isinstance(ch.tag, str) and ch.tag not in _NET_IGNORED)


def _change_net(vm: QemuVM, elem: Element) -> None:
    """Set an interface's link state (the only live interface change this driver makes)."""
    old = find_device(vm.live, elem)
    alias = _alias(old)
    mine = copy.deepcopy(elem)
    if mine.find("mac") is None and old.find("mac") is not None:
        mine.insert(0, copy.deepcopy(old.find("mac")))  # type: ignore[arg-type]
    if mine.get("type") != old.get("type") or _net_shape(mine) != _net_shape(
            _without_defaults(old, mine)):
        raise _err(c.VIR_ERR_OPERATION_UNSUPPORTED,
                   "cannot modify network device configuration other than the link state")
    want = elem.find("link")
    state = want.get("state", "up") if want is not None else "up"
    old_link = old.find("link")
    have = old_link.get("state", "up") if old_link is not None else "up"
    if state == have:
        return
    if not alias:
        raise _err(c.VIR_ERR_OPERATION_FAILED, "device alias not found: cannot set link state")
    vm.execute("set_link", {"name": alias, "up": state == "up"})
    with vm.lock:
        new = vm.live.copy()
        net = find_device(new, elem)
        link = net.find("link")
        if link is None:
            link = net.makeelement("link", {})
            anchor = net.find("alias")
            if anchor is not None:
                anchor.addprevious(link)
            else:
                net.append(link)
        link.set("state", state)
        vm.live = new
    vm.write_status()


def _without_defaults(old: Element, want: Element) -> Element:
    """*old* without the children *want* leaves out and the live XML fills in (e.g. a default model)."""
    out = copy.deepcopy(old)
    for ch in list(out):
        if isinstance(ch.tag, str) and ch.tag not in _NET_IGNORED and want.find(ch.tag) is None:
            out.remove(ch)
    return out


# --- vCPUs -------------------------------------------------------------------------------
VCPU_UNPLUG_WAIT = 5.0  # libvirt's qemuDomainWaitForDeviceRemoval


def _api_error(text: str) -> LibvirtError:
    """An argument check of libvirt's public API (reported from VIR_FROM_DOMAIN, no prefix)."""
    return make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_DOMAIN, message=text)


def _vcpu_table(live: Any) -> dict[int, dict[str, str]]:
    """id -> attributes of ``<vcpus><vcpu>`` (libvirt's individual vCPU state), built if absent."""
    node = live.xml.find("vcpus")
    if node is not None:
        return {int(v.get("id", "0")): {str(k): str(val) for k, val in v.attrib.items() if k != "id"}
                for v in node.findall("vcpu")}
    cur = live.vcpus
    return {i: ({"enabled": "yes", "hotpluggable": "no", "order": str(i + 1)} if i < cur
                else {"enabled": "no", "hotpluggable": "yes"}) for i in range(live.max_vcpus)}


def _write_vcpu_table(live: Any, table: dict[int, dict[str, str]]) -> None:
    node = live.xml.find("vcpus")
    if node is None:
        node = live.xml.makeelement("vcpus", {})
        vcpu = live.xml.find("vcpu")
        assert vcpu is not None
        vcpu.addnext(node)
    for child in list(node):
        node.remove(child)
    for i in sorted(table):
        attrs = {"id": str(i), "enabled": table[i]["enabled"], "hotpluggable": table[i]["hotpluggable"]}
        if table[i]["enabled"] == "yes" and table[i].get("order"):
            attrs["order"] = table[i]["order"]
        node.append(node.makeelement("vcpu", attrs))
    live.vcpus = sum(1 for v in table.values() if v["enabled"] == "yes")


def _topology(live: Any) -> tuple[int, int, int]:
    topo = live.xml.find("cpu/topology")
    if topo is None:
        return (1, 1, 1)
    return (int(topo.get("dies", "1")), int(topo.get("cores", "1")), int(topo.get("threads", "1")))


def _entities(vm: QemuVM) -> dict[int, dict[str, Any]]:
    """vCPU index -> QEMU's hot-pluggable CPU entity (type, props), from query-hotpluggable-cpus."""
    dies, cores, threads = _topology(vm.live)
    out: dict[int, dict[str, Any]] = {}
    for ent in vm.execute("query-hotpluggable-cpus"):
        props = ent.get("props", {})
        idx = ((props.get("socket-id", 0) * dies + props.get("die-id", 0)) * cores
               + props.get("core-id", 0)) * threads + props.get("thread-id", 0)
        out[idx] = ent
    return out


def _set_vcpus_live(vm: QemuVM, nvcpus: int) -> None:
    """libvirt's qemuDomainSetVcpusLive: device_add/device_del of hot-pluggable vCPU entities."""
    _refresh_vcpus(vm)
    with vm.lock:
        table = _vcpu_table(vm.live)
    cur = sum(1 for v in table.values() if v["enabled"] == "yes")
    if nvcpus == cur:
        return
    if nvcpus > cur:
        chosen = [i for i in sorted(table) if table[i]["enabled"] == "no"][:nvcpus - cur]
    else:
        chosen = [i for i in sorted(table, reverse=True)
                  if table[i]["enabled"] == "yes" and table[i]["hotpluggable"] == "yes"][:cur - nvcpus]
    if len(chosen) != abs(nvcpus - cur):
        raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED,
                   "failed to find appropriate hotpluggable vcpus to reach the desired target vcpu count")
    if nvcpus > cur:
        ents = _entities(vm)
        for idx in chosen:
            ent = ents.get(idx)
            if ent is None or ent.get("qom-path"):
                raise _err(c.VIR_ERR_INTERNAL_ERROR, f"vcpu '{idx}' is not available for hotplug")
            vm.execute("device_add", {"driver": ent["type"], "id": f"vcpu{idx}", **ent.get("props", {})})
            _vcpu_changed(vm, idx, True)
        return
    for idx in chosen:
        done = threading.Event()

        def gone(i: int = idx, ev: threading.Event = done) -> None:
            _vcpu_changed(vm, i, False)
            ev.set()

        alias = f"vcpu{idx}"
        vm.on_device_deleted(alias, gone)
        try:
            vm.execute("device_del", {"id": alias})
        except LibvirtError:
            vm.on_device_deleted(alias, None)
            raise
        # QEMU 7.2 under TCG may never send DEVICE_DELETED for the CPU itself (only for its
        # lapic child), so its disappearance from query-hotpluggable-cpus also counts.
        deadline = time.monotonic() + VCPU_UNPLUG_WAIT
        while not done.wait(0.1):
            if _entities(vm).get(idx, {}).get("qom-path") is None:
                vm.on_device_deleted(alias, None)
                if not done.is_set():
                    gone()
                break
            if time.monotonic() > deadline:
                raise _err(c.VIR_ERR_OPERATION_TIMEOUT,
                           "vcpu unplug request timed out. Unplug result must be manually inspected in the domain")


def _refresh_vcpus(vm: QemuVM) -> None:
    """Mark hot-plugged vCPUs QEMU no longer has as disabled (libvirt's qemuDomainRefreshVcpuInfo)."""
    with vm.lock:
        if vm.live.xml.find("vcpus") is None:
            return
        table = _vcpu_table(vm.live)
    ents = _entities(vm)
    for idx, entry in table.items():
        if entry["enabled"] == "yes" and entry["hotpluggable"] == "yes" and not ents.get(idx, {}).get("qom-path"):
            _vcpu_changed(vm, idx, False)


def _vcpu_changed(vm: QemuVM, idx: int, enabled: bool) -> None:
    with vm.lock:
        new = vm.live.copy()
        table = _vcpu_table(new)
        entry = table[idx]
        entry["enabled"] = "yes" if enabled else "no"
        entry["hotpluggable"] = "yes"
        if enabled:
            entry["order"] = str(1 + max((int(v.get("order", "0")) for v in table.values()
                                          if v["enabled"] == "yes" and v is not entry), default=0))
        else:
            entry.pop("order", None)
        _write_vcpu_table(new, table)
        vm.live = new
    vm.write_status()
