"""Build a test driver state from a ``<node>`` document (built-in or a custom file)."""

from __future__ import annotations

import os
from typing import Any

from lxml import etree

from ... import constants as c
from ...conf.xmlutil import parse_xml
from ...errors import LibvirtError, make_error
from .defaults import DEFAULT_NODE_XML, DEFAULT_POOL_CAPACITY, default_cells
from .iothreads import initial_poll_info
from .state import DevObj, DomObj, IfaceObj, NetObj, PoolObj, TestState, VolObj
from . import xmldefs
from .xmldefs import TEST_NS, DomainDef, SnapshotDef, capabilities_xml

__all__ = ["build_default", "build_from_file", "generate_ifnames", "start_domain", "add_snapshot_from_def"]

_T = "{%s}" % TEST_NS


def _err(msg: str, code: int = c.VIR_ERR_XML_ERROR) -> LibvirtError:
    return make_error(code, msg, c.VIR_FROM_TEST)


def _load_file(path: str, root: str) -> Any:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        raise _err(f"failed to parse xml document '{path}'") from None
    try:
        elem = etree.fromstring(data, etree.XMLParser(remove_comments=True, resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        entries: list[Any] = list(exc.error_log)  # type: ignore[call-overload]
        entry = entries[0] if entries else None
        line = entry.line if entry is not None else 1
        lines = data.decode("utf-8", "replace").splitlines() or [""]
        src = lines[min(max(line, 1), len(lines)) - 1]
        col = entry.column if entry is not None else 1
        msg = entry.message if entry is not None else str(exc)
        raise make_error(c.VIR_ERR_XML_DETAIL, None, c.VIR_FROM_TEST,
                         message=f"{path}:{line}: {msg}\n{src}\n{'-' * max(col - 1, 0)}^") from None
    if elem.tag != root:
        raise _err(f"expecting root element of '{root}', not '{elem.tag}'")
    return elem


def _resolve(node: Any, base: str | None) -> Any:
    """An inline element, or the root of the file its ``file=`` names (relative to *base*)."""
    rel = node.get("file")
    if rel is None:
        return node
    path = rel if os.path.isabs(rel) or base is None else os.path.join(os.path.dirname(base), rel)
    tag = node.tag.split("}", 1)[-1] if isinstance(node.tag, str) else node.tag
    # The file's element replaces the referencing one: as in libvirt 9.0, children of the
    # referencing element (e.g. <volume> inside <pool file=...>) are ignored.
    return _load_file(path, tag)


def _uint(root: Any, path: str, what: str) -> int | None:
    el = root.find(path)
    if el is None or el.text is None:
        return None
    try:
        v = int(el.text.strip())
        if v < 0:
            raise ValueError
        return v
    except ValueError:
        raise _err(f"invalid node {what} value") from None


def _parse_node_info(st: TestState, root: Any) -> None:
    info = st.node_info
    for idx, tag in ((4, "nodes"), (5, "sockets"), (6, "cores"), (7, "threads")):
        v = _uint(root, f"cpu/{tag}", f"cpu {tag}")
        if v is not None:
            info[idx] = v
    info[2] = info[4] * info[5] * info[6] * info[7]
    active = _uint(root, "cpu/active", "cpu active")
    if active is not None and active < info[2]:
        info[2] = active
    mhz = _uint(root, "cpu/mhz", "cpu mhz")
    if mhz is not None:
        info[3] = mhz
    model = root.findtext("cpu/model")
    if model is not None:
        if len(model) >= 32:
            raise _err(f"Model {model} too big for destination", c.VIR_ERR_INTERNAL_ERROR)
        info[0] = model
    mem = _uint(root, "memory", "memory")
    if mem is not None:
        info[1] = mem


_GENERATED_PREFIXES = ("vnet", "macvtap", "macvlan")


def generate_ifnames(d: DomainDef) -> None:
    """Give every interface without a target device a testnetN name, as libvirt's test driver does.

    Names libvirt itself generates (vnetN, macvtapN, macvlanN) are dropped when parsing a
    definition, so such interfaces get a testnetN name too.
    """
    ifaces = d.interfaces
    for iface in ifaces:
        dev = iface.target_dev
        if dev and dev.startswith(_GENERATED_PREFIXES):
            target = iface.el.find("target")
            if target is not None:
                del target.attrib["dev"]
                if not target.attrib:
                    iface.el.remove(target)
    used = {i.target_dev for i in ifaces if i.target_dev}
    for iface in ifaces:
        if iface.target_dev:
            continue
        n = 0
        while f"testnet{n}" in used:
            n += 1
        if n >= 1024:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, "Exceeded max iface limit 1024", c.VIR_FROM_TEST)
        iface.target_dev = f"testnet{n}"
        used.add(f"testnet{n}")


def start_domain(st: TestState, dom: DomObj, reason: int) -> None:
    """Mark *dom* running with a new id and a live copy of its definition."""
    dom.state, dom.reason = c.VIR_DOMAIN_RUNNING, reason
    st.set_id(dom, st.alloc_id())
    if dom.persistent and dom.new_def is None:
        dom.new_def = dom.def_.copy()
    dom.has_managed_save = False


def add_snapshot_from_def(dom: DomObj, sdef: SnapshotDef, dom_xml: str, state: str,
                          parent: str | None, ctime: int) -> None:
    from .state import SnapObj
    mem = sdef.memory_snapshot or ("internal" if state in ("running", "paused") else "no")
    dom.snapshots[sdef.name] = SnapObj(sdef.name, sdef, parent, ctime, state, dom_xml, mem)


def _parse_domains(st: TestState, root: Any, base: str | None) -> None:
    for node in root.findall("domain"):
        el = _resolve(node, base)
        transient = el.find(_T + "transient") is not None
        has_ms = el.find(_T + "hasmanagedsave") is not None
        rs_text = el.findtext(_T + "runstate")
        runstate = c.VIR_DOMAIN_RUNNING
        if rs_text is not None:
            try:
                runstate = int(rs_text.strip())
                if runstate < 0:
                    raise ValueError
            except ValueError:
                raise _err("invalid runstate") from None
            if runstate >= c.VIR_DOMAIN_PMSUSPENDED + 1:
                raise _err(f"runstate '{runstate}' out of range'")
        if transient and runstate == c.VIR_DOMAIN_SHUTOFF:
            raise _err("transient domain cannot have runstate 'shutoff'")
        if has_ms and runstate != c.VIR_DOMAIN_SHUTOFF:
            raise _err("domain with managedsave data can only have runstate 'shutoff'")
        snap_nodes = [_resolve(s, base) for s in el.findall(_T + "domainsnapshot")]
        d = DomainDef.from_element(el)
        generate_ifnames(d)
        if d.name in st.domains:
            raise make_error(c.VIR_ERR_OPERATION_FAILED,
                             f"domain '{d.name}' already exists with uuid {st.domains[d.name].def_.uuid}",
                             c.VIR_FROM_TEST)
        dom = DomObj(d, persistent=not transient, has_managed_save=has_ms)
        st.add_domain(dom)
        for snode in snap_nodes:
            inner = snode
            if inner.tag != "domainsnapshot":
                inner = snode.find("domainsnapshot") if snode.find("domainsnapshot") is not None else snode
            sdef = SnapshotDef.from_element(inner)
            if not sdef.name:
                raise _err("a redefined snapshot must have a name")
            de = sdef.domain_element
            dxml = etree.tostring(de, encoding="unicode") if de is not None else d.to_xml(inactive=True)
            add_snapshot_from_def(dom, sdef, dxml, sdef.state or "running", sdef.parent,
                                  sdef.creation_time or 0)
            active = inner.findtext("active")
            if active is None:
                raise _err("Could not find 'active' element", c.VIR_ERR_INTERNAL_ERROR)
            if active.strip() == "1":
                if dom.current_snapshot is not None:
                    raise _err("more than one snapshot claims to be active", c.VIR_ERR_INTERNAL_ERROR)
                dom.current_snapshot = sdef.name
        for s in dom.snapshots.values():
            if s.parent is not None and s.parent not in dom.snapshots:
                raise _err(f"Snapshots have inconsistent relations for domain {d.name}",
                           c.VIR_ERR_INTERNAL_ERROR)
        if runstate != c.VIR_DOMAIN_SHUTOFF:
            start_domain(st, dom, c.VIR_DOMAIN_RUNNING_BOOTED)
            dom.has_managed_save = has_ms
        dom.state, dom.reason = runstate, 0
        _check_taint(dom)
        dom.iothreads = initial_poll_info(d)


def _check_taint(dom: DomObj) -> None:
    """libvirt's taint checks, run when the test driver loads a domain."""
    root = dom.def_.root
    bits = 0
    for disk in root.findall("devices/disk"):
        if disk.get("rawio") == "yes":
            bits |= 1 << 2
        src = disk.find("source")
        if disk.get("device") == "cdrom" and disk.get("type") == "block" and src is not None and src.get("dev"):
            bits |= 1 << 8
    for hostdev in root.findall("devices/hostdev"):
        if hostdev.get("type") == "scsi" and hostdev.get("rawio") == "yes":
            bits |= 1 << 2
    for net in root.findall("devices/interface"):
        if net.find("script") is not None:
            bits |= 1 << 3
    cpu = root.find("cpu")
    if cpu is not None and cpu.get("mode", "custom") == "custom" and (cpu.findtext("model") or "") == "Deprecated-Test":
        bits |= 1 << 12
        dom.deprecations.append("CPU model Deprecated-Test")
    if root.find("os/dtb") is not None:
        bits |= 1 << 9
    dom.taint |= bits


def _parse_networks(st: TestState, root: Any, base: str | None) -> None:
    for node in root.findall("network"):
        nd = xmldefs.NetworkDef.from_element(_resolve(node, base))
        old = st.networks.get(nd.name)
        if old is not None and old.def_.uuid != nd.uuid:
            raise make_error(c.VIR_ERR_OPERATION_FAILED,
                             f"network '{nd.name}' already exists with uuid {old.def_.uuid}", c.VIR_FROM_TEST)
        st.add_network(NetObj(nd, active=True, persistent=True))


def _parse_interfaces(st: TestState, root: Any, base: str | None) -> None:
    for node in root.findall("interface"):
        idef = xmldefs.InterfaceDef.from_element(_resolve(node, base))
        st.ifaces[idef.name] = IfaceObj(idef, active=True)


def pool_defaults(pool: PoolObj) -> None:
    pool.capacity = DEFAULT_POOL_CAPACITY
    pool.allocation = 0
    pool.available = DEFAULT_POOL_CAPACITY


def _parse_pools(st: TestState, root: Any, base: str | None) -> None:
    for node in root.findall("pool"):
        el = _resolve(node, base)
        vol_nodes = el.findall("volume")
        for v in vol_nodes:
            el.remove(v)
        pdef = xmldefs.StoragePoolDef.from_element(el)
        if pdef.name in st.pools:
            raise make_error(c.VIR_ERR_OPERATION_FAILED,
                             f"pool '{pdef.name}' already exists with uuid {st.pools[pdef.name].def_.uuid}",
                             c.VIR_FROM_TEST)
        pool = PoolObj(pdef, active=True)
        pool_defaults(pool)
        st.add_pool(pool)
        for vnode in vol_nodes:
            vdef = xmldefs.StorageVolDef.from_element(_resolve(vnode, base), pool_type=pdef.type)
            if not vdef.target_path:
                vdef.target_path = f"{pdef.target_path}/{vdef.name}"
            if not vdef.key:
                vdef.key = vdef.target_path or ""
            if vdef.name in pool.volumes:
                raise make_error(c.VIR_ERR_OPERATION_FAILED, f"volume '{vdef.name}' already exists",
                                 c.VIR_FROM_TEST)
            pool.volumes[vdef.name] = VolObj(vdef)
            pool.allocation += vdef.allocation
            pool.available = pool.capacity - pool.allocation


def _parse_devices(st: TestState, root: Any, base: str | None) -> None:
    for node in root.findall("device"):
        ddef = xmldefs.NodeDeviceDef.from_element(_resolve(node, base))
        if not ddef.name:
            raise _err("no device name")
        st.devs[ddef.name] = DevObj(ddef)


def _parse_auth(st: TestState, root: Any) -> None:
    for user in root.findall("auth/user"):
        name = (user.text or "")
        if not name:
            raise _err("missing username in /node/auth/user field")
        st.auths.append((name, user.get("password")))


def _populate(st: TestState, root: Any, base: str | None) -> None:
    _parse_node_info(st, root)
    _parse_domains(st, root, base)
    _parse_networks(st, root, base)
    _parse_interfaces(st, root, base)
    _parse_pools(st, root, base)
    _parse_devices(st, root, base)
    _parse_auth(st, root)


def build_default() -> TestState:
    """A fresh state for test:///default (two NUMA cells, the built-in objects)."""
    st = TestState()
    st.cells = cells = default_cells()

    def caps() -> str:
        try:
            from ...conf.capabilities import test_default_capabilities
        except ImportError:
            return capabilities_xml(cells)
        return test_default_capabilities().to_xml()

    st.caps_factory = caps
    st._caps_xml = None
    root = parse_xml(DEFAULT_NODE_XML, "node", "(test driver)")
    _parse_node_info(st, root)
    _parse_domains(st, root, None)
    _parse_auth(st, root)

    def rest() -> None:  # the built-in objects other than domains, parsed when first used
        _parse_networks(st, root, None)
        _parse_interfaces(st, root, None)
        _parse_pools(st, root, None)
        _parse_devices(st, root, None)

    st.defer(rest)
    return st


def build_from_file(path: str) -> TestState:
    """A private state read from the ``<node>`` file at *path* (no NUMA cells)."""
    st = TestState()
    st.caps_xml = capabilities_xml([])
    root = _load_file(path, "node")
    _populate(st, root, path)
    return st
