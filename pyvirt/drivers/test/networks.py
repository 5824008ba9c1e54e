"""Virtual networks of the test driver."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lxml import etree

from ... import constants as c
from ...conf.xmlutil import parse_xml
from ..base import NetworkRef
from .common import Event, TestBase, err, flags_ok
from .state import NetObj
from . import xmldefs
from .xmldefs import uuid_str

if TYPE_CHECKING:
    from .xmldefs import NetworkDef

__all__ = ["NetworksMixin"]

# virNetworkUpdate sections: (parent path, element tag, keys used to match an existing element)
_SECTIONS: dict[int, tuple[str, str, tuple[str, ...]]] = {
    1: ("", "bridge", ()),
    2: ("", "domain", ()),
    3: ("ip", "ip", ("address",)),
    4: ("ip/dhcp", "host", ("mac", "name", "ip")),
    5: ("ip/dhcp", "range", ("start", "end")),
    6: ("forward", "interface", ("dev",)),
    7: ("forward", "pf", ("dev",)),
    8: ("", "portgroup", ("name",)),
    9: ("dns", "host", ("ip",)),
    10: ("dns", "txt", ("name",)),
    11: ("dns", "srv", ("service", "protocol", "domain", "target")),
}


class NetworksMixin(TestBase):
    """virNetwork* calls."""

    def _net(self, ref: NetworkRef, by_uuid: bool = False) -> NetObj:
        if by_uuid:
            n = self.st.net_uuid.get(ref.uuid)
            if n is None:
                raise err(c.VIR_ERR_NO_NETWORK, f"no network with matching uuid '{uuid_str(ref.uuid)}'")
            return n
        n = self.st.networks.get(ref.name)
        if n is None:
            raise err(c.VIR_ERR_NO_NETWORK, f"no network with matching name '{ref.name}'")
        return n

    @staticmethod
    def _nref(n: NetObj) -> NetworkRef:
        return NetworkRef(n.def_.name, n.def_.uuid_bytes)

    def _net_event(self, n: NetObj, event: int) -> Event:
        ref = self._nref(n)
        return ("network", c.VIR_NETWORK_EVENT_ID_LIFECYCLE, ref.uuid, ref, (event, 0))

    def connect_num_of_networks(self) -> int:
        with self._lock:
            return sum(1 for n in self.st.networks.values() if n.active)

    def connect_list_networks(self, maxnames: int = -1) -> list[str]:
        with self._lock:
            names = sorted(n.def_.name for n in self.st.networks.values() if n.active)
        return names if maxnames < 0 else names[:maxnames]

    def connect_num_of_defined_networks(self) -> int:
        with self._lock:
            return sum(1 for n in self.st.networks.values() if not n.active)

    def connect_list_defined_networks(self, maxnames: int = -1) -> list[str]:
        with self._lock:
            names = sorted(n.def_.name for n in self.st.networks.values() if not n.active)
        return names if maxnames < 0 else names[:maxnames]

    def connect_list_all_networks(self, flags: int = 0) -> list[NetworkRef]:
        flags_ok(flags, 0xFF, "testConnectListAllNetworks")
        out = []
        with self._lock:
            for n in self.st.networks.values():
                if flags & 0x3 and not ((flags & 1 and not n.active) or (flags & 2 and n.active)):
                    continue
                if flags & 0xC and not ((flags & 4 and n.persistent) or (flags & 8 and not n.persistent)):
                    continue
                if flags & 0x30 and not ((flags & 0x10 and n.autostart) or (flags & 0x20 and not n.autostart)):
                    continue
                out.append(self._nref(n))
        return out

    def network_lookup_by_uuid(self, uuid: bytes) -> NetworkRef:
        with self._lock:
            n = self.st.net_uuid.get(bytes(uuid))
            if n is None:
                raise err(c.VIR_ERR_NO_NETWORK, f"no network with matching uuid '{uuid_str(uuid)}'")
            return self._nref(n)

    def network_lookup_by_name(self, name: str) -> NetworkRef:
        with self._lock:
            n = self.st.networks.get(name)
            if n is None:
                raise err(c.VIR_ERR_NO_NETWORK, f"no network with matching name '{name}'")
            return self._nref(n)

    def network_is_active(self, net: NetworkRef) -> int:
        with self._lock:
            return int(self._net(net, True).active)

    def network_is_persistent(self, net: NetworkRef) -> int:
        with self._lock:
            return int(self._net(net, True).persistent)

    def _assign(self, nd: NetworkDef, live: bool, check_live: bool) -> tuple[NetObj, bool]:
        st = self.st
        n = st.net_uuid.get(nd.uuid_bytes)
        if n is not None:
            if n.def_.name != nd.name:
                raise err(c.VIR_ERR_OPERATION_FAILED,
                          f"network '{n.def_.name}' is already defined with uuid {n.def_.uuid}",
                          domain=c.VIR_FROM_NETWORK)
            if check_live and n.active:
                raise err(c.VIR_ERR_OPERATION_INVALID, f"network is already active as '{n.def_.name}'",
                          domain=c.VIR_FROM_NETWORK)
            if live:
                if n.new_def is None and n.persistent:
                    n.new_def = n.def_
                n.def_ = nd
            elif n.active:
                n.new_def = nd
            else:
                n.def_ = nd
            return n, False
        other = st.networks.get(nd.name)
        if other is not None:
            raise err(c.VIR_ERR_OPERATION_FAILED,
                      f"network '{nd.name}' already exists with uuid {other.def_.uuid}", domain=c.VIR_FROM_NETWORK)
        n = NetObj(nd, persistent=not live)
        st.add_network(n)
        return n, True

    def network_create_xml_flags(self, xml: str, flags: int = 0) -> NetworkRef:
        self.check_writable()
        flags_ok(flags, c.VIR_NETWORK_CREATE_VALIDATE, "testNetworkCreateXMLFlags")
        nd = xmldefs.NetworkDef.parse(xml)
        with self._lock:
            n, _ = self._assign(nd, True, True)
            n.active = True
            ev = self._net_event(n, c.VIR_NETWORK_EVENT_STARTED)
            ref = self._nref(n)
        self._fire([ev])
        return ref

    def network_create_xml(self, xml: str) -> NetworkRef:
        return self.network_create_xml_flags(xml, 0)

    def network_define_xml_flags(self, xml: str, flags: int = 0) -> NetworkRef:
        self.check_writable()
        flags_ok(flags, c.VIR_NETWORK_DEFINE_VALIDATE, "testNetworkDefineXMLFlags")
        nd = xmldefs.NetworkDef.parse(xml)
        with self._lock:
            n, _ = self._assign(nd, False, False)
            n.persistent = True
            ev = self._net_event(n, c.VIR_NETWORK_EVENT_DEFINED)
            ref = self._nref(n)
        self._fire([ev])
        return ref

    def network_define_xml(self, xml: str) -> NetworkRef:
        return self.network_define_xml_flags(xml, 0)

    def network_undefine(self, net: NetworkRef) -> None:
        self.check_writable()
        with self._lock:
            n = self._net(net)
            if n.active:
                raise err(c.VIR_ERR_OPERATION_INVALID, f"Network '{net.name}' is still running")
            ev = ("network", c.VIR_NETWORK_EVENT_ID_LIFECYCLE, net.uuid, net, (c.VIR_NETWORK_EVENT_UNDEFINED, 0))
            self.st.remove_network(n)
        self._fire([ev])

    def network_create(self, net: NetworkRef) -> None:
        self.check_writable()
        with self._lock:
            n = self._net(net)
            if n.active:
                raise err(c.VIR_ERR_OPERATION_INVALID, f"Network '{net.name}' is already running")
            n.active = True
            ev = self._net_event(n, c.VIR_NETWORK_EVENT_STARTED)
        self._fire([ev])

    def network_destroy(self, net: NetworkRef) -> None:
        self.check_writable()
        with self._lock:
            n = self._net(net)
            n.active = False  # libvirt 9.0 keeps the live definition (a pending config stays pending)
            ev = self._net_event(n, c.VIR_NETWORK_EVENT_STOPPED)
            if not n.persistent:
                self.st.remove_network(n)
        self._fire([ev])

    def network_get_xml_desc(self, net: NetworkRef, flags: int = 0) -> str:
        flags_ok(flags, 0, "testNetworkGetXMLDesc")
        with self._lock:
            return self._net(net).def_.to_xml()

    def network_get_bridge_name(self, net: NetworkRef) -> str:
        with self._lock:
            n = self._net(net)
            if not n.def_.bridge:
                raise err(c.VIR_ERR_INTERNAL_ERROR, f"network '{n.def_.name}' does not have a bridge name.")
            return n.def_.bridge

    def network_get_autostart(self, net: NetworkRef) -> int:
        with self._lock:
            return int(self._net(net).autostart)

    def network_set_autostart(self, net: NetworkRef, autostart: int) -> None:
        self.check_writable()
        with self._lock:
            self._net(net).autostart = bool(autostart)

    def network_update(self, net: NetworkRef, command: int, section: int, parent_index: int, xml: str,
                       flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_NETWORK_UPDATE_AFFECT_LIVE | c.VIR_NETWORK_UPDATE_AFFECT_CONFIG,
                 "testNetworkUpdate")
        with self._lock:
            n = self._net(net, True)
            if not flags & 3:
                flags |= 1 if n.active else 2
            if flags & 1 and not n.active:
                raise err(c.VIR_ERR_OPERATION_INVALID, "network is not running", domain=c.VIR_FROM_NETWORK)
            if flags & 2 and not n.persistent:
                raise err(c.VIR_ERR_OPERATION_INVALID, "cannot change persistent config of a transient network",
                          domain=c.VIR_FROM_NETWORK)
            targets = []
            if flags & 1:
                targets.append(n.def_)
            if flags & 2:
                if n.active:
                    if n.new_def is None:
                        n.new_def = n.def_.copy()
                    targets.append(n.new_def)
                else:
                    targets.append(n.def_)
            for nd in targets:
                if hasattr(nd, "update"):
                    nd.update(command, section, parent_index, xml)
                else:
                    _apply_update(nd, command, section, parent_index, xml)


def _apply_update(nd: NetworkDef, command: int, section: int, parent_index: int, xml: str) -> None:
    if section not in _SECTIONS:
        raise err(c.VIR_ERR_NO_SUPPORT, None,
                  "this function is not supported by the connection driver: can't update unrecognized "
                  "section of network")
    parent_path, tag, keys = _SECTIONS[section]
    new = parse_xml(xml, None, "network_update_xml")
    if new.tag != tag:
        raise err(c.VIR_ERR_XML_ERROR, f"unexpected element <{new.tag}>, expecting <{tag}>, while "
                  f"parsing network '{nd.name}'")
    root = nd.root
    if parent_path.startswith("ip"):
        ips = root.findall("ip")
        if not ips:
            raise err(c.VIR_ERR_OPERATION_INVALID, f"can't update '{tag}' section of network '{nd.name}' - "
                      f"no <ip> element found")
        idx = parent_index if parent_index >= 0 else 0
        if idx >= len(ips):
            raise err(c.VIR_ERR_OPERATION_INVALID, "couldn't update dhcp host entry - no <ip> element found")
        parent = ips[idx]
        if parent_path == "ip/dhcp":
            dhcp = parent.find("dhcp")
            if dhcp is None:
                dhcp = etree.SubElement(parent, "dhcp")
            parent = dhcp
        elif tag == "ip":
            parent = root
    elif parent_path:
        parent = root.find(parent_path)
        if parent is None:
            parent = etree.SubElement(root, parent_path)
    else:
        parent = root
    existing = [e for e in parent.findall(tag)]

    def same(e: Any) -> bool:
        return any(e.get(k) is not None and e.get(k) == new.get(k) for k in keys) if keys else True

    match = [e for e in existing if same(e)]
    if command == c.VIR_NETWORK_UPDATE_COMMAND_MODIFY:
        if not match:
            raise err(c.VIR_ERR_OPERATION_INVALID, f"couldn't locate a matching {tag} entry in network "
                      f"'{nd.name}'")
        parent.replace(match[0], new)
    elif command == c.VIR_NETWORK_UPDATE_COMMAND_DELETE:
        if not match:
            raise err(c.VIR_ERR_OPERATION_INVALID, f"couldn't locate a matching {tag} entry in network "
                      f"'{nd.name}'")
        parent.remove(match[0])
    elif command in (c.VIR_NETWORK_UPDATE_COMMAND_ADD_FIRST, c.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST):
        if match and keys:
            raise err(c.VIR_ERR_OPERATION_INVALID, f"there is an existing {tag} entry in network "
                      f"'{nd.name}' that matches")
        if command == c.VIR_NETWORK_UPDATE_COMMAND_ADD_FIRST and existing:
            existing[0].addprevious(new)
        elif existing:
            existing[-1].addnext(new)
        else:
            parent.append(new)
    else:
        raise err(c.VIR_ERR_INVALID_ARG, f"unrecognized network update command code {command}")
