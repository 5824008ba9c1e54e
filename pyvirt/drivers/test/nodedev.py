"""Node devices of the test driver, including mock vHBA creation."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from ... import constants as c
from ..base import NodeDeviceRef
from .common import Event, TestBase, err, flags_ok
from .state import DevObj
from . import xmldefs

if TYPE_CHECKING:
    from .xmldefs import NodeDeviceDef

__all__ = ["NodeDevMixin"]

_CAP_BITS = {
    "system": 1, "pci": 2, "usb_device": 4, "usb": 8, "net": 16, "scsi_host": 32, "scsi_target": 64,
    "scsi": 128, "storage": 256, "fc_host": 512, "vports": 1024, "scsi_generic": 2048, "drm": 4096,
    "mdev_types": 8192, "mdev": 16384, "ccw": 32768, "css": 65536, "vdpa": 131072, "ap_card": 1 << 18,
    "ap_queue": 1 << 19, "ap_matrix": 1 << 20, "vpd": 1 << 21,
}
_ALL_CAPS = sum(_CAP_BITS.values())
_STATE_FLAGS = c.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE | c.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE


def _has_caps(d: NodeDeviceDef) -> set[str]:
    """Capability names a device matches in listings (nested fc_host/vport_ops count too)."""
    out: set[str] = set()
    for cap in d.root.findall("capability"):
        t = cap.get("type") or ""
        out.add(t)
        for sub in cap.findall("capability"):
            st = sub.get("type")
            if st == "vport_ops":
                out.add("vports")
            elif st:
                out.add(st)
    return out


class NodeDevMixin(TestBase):
    """virNodeDevice* calls."""

    def _devobj(self, name: str) -> DevObj:
        d = self.st.devs.get(name)
        if d is None:
            raise err(c.VIR_ERR_NO_NODE_DEVICE, f"no node device with matching name '{name}'")
        return d

    def _dev_names(self, cap: str | None) -> list[str]:
        with self._lock:
            return [n for n, d in self.st.devs.items() if cap is None or cap in _has_caps(d.def_)]

    def node_num_of_devices(self, cap: str | None, flags: int = 0) -> int:
        flags_ok(flags, 0, "testNodeNumOfDevices")
        return len(self._dev_names(cap))

    def node_list_devices(self, cap: str | None, maxnames: int = -1, flags: int = 0) -> list[str]:
        flags_ok(flags, 0, "testNodeListDevices")
        names = self._dev_names(cap)
        return names if maxnames < 0 else names[:maxnames]

    def connect_list_all_node_devices(self, flags: int = 0) -> list[NodeDeviceRef]:
        # libvirt 9.0's test driver rejects the state flags newer virsh passes; accept them.
        flags_ok(flags, _ALL_CAPS | _STATE_FLAGS, "testConnectListAllNodeDevices")
        cap_flags = flags & _ALL_CAPS
        out = []
        with self._lock:
            for name, d in self.st.devs.items():
                if cap_flags and not any(_CAP_BITS.get(cn, 0) & cap_flags for cn in _has_caps(d.def_)):
                    continue
                # test devices stand for host devices that exist: all are active
                if flags & (c.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE | c.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE):
                    if not ((flags & c.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE and d.active)
                            or (flags & c.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE and not d.active)):
                        continue
                out.append(NodeDeviceRef(name))
        return out

    def node_device_lookup_by_name(self, name: str) -> NodeDeviceRef:
        with self._lock:
            self._devobj(name)
        return NodeDeviceRef(name)

    def node_device_get_xml_desc(self, dev: NodeDeviceRef, flags: int = 0) -> str:
        flags_ok(flags, 0, "testNodeDeviceGetXMLDesc")
        with self._lock:
            return _format_dev(self._devobj(dev.name).def_)

    def node_device_get_parent(self, dev: NodeDeviceRef) -> str | None:
        """The parent's name, or None (libvirt's virNodeDeviceGetParent returns NULL without
        raising when the driver reports "no parent for this device")."""
        with self._lock:
            parent = self._devobj(dev.name).def_.parent
        return parent or None

    def node_device_num_of_caps(self, dev: NodeDeviceRef) -> int:
        return len(self.node_device_list_caps(dev))

    def node_device_list_caps(self, dev: NodeDeviceRef, maxnames: int = -1) -> list[str]:
        with self._lock:
            d = self._devobj(dev.name).def_
            names = [cap.get("type") or "" for cap in d.root.findall("capability")]
        return names if maxnames < 0 else names[:maxnames]

    def _mock_create_vport(self, wwnn: str, wwpn: str) -> Event:
        """Copy scsi_host11 as scsi_host12 with the given WWNs (libvirt's mock); caller holds the lock."""
        src = self.st.devs.get("scsi_host11")
        if src is None:
            raise err(c.VIR_ERR_NO_NODE_DEVICE, "no node device with matching name 'scsi_host11'")
        root = copy.deepcopy(src.def_.root)
        root.find("name").text = "scsi_host12"
        for vp in root.findall("capability/capability[@type='vport_ops']"):
            for t in ("max_vports", "vports"):
                if vp.find(t) is not None:
                    vp.find(t).text = "0"
        fc = root.find("capability/capability[@type='fc_host']")
        if fc is not None:
            fc.find("wwnn").text = wwnn
            fc.find("wwpn").text = wwpn
        self.st.devs["scsi_host12"] = DevObj(xmldefs.NodeDeviceDef(root))
        return ("node_device", c.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, "scsi_host12", NodeDeviceRef("scsi_host12"),
                (c.VIR_NODE_DEVICE_EVENT_CREATED, 0))

    def node_device_create_xml(self, xml: str, flags: int = 0) -> NodeDeviceRef:
        self.check_writable()
        flags_ok(flags, c.VIR_NODE_DEVICE_CREATE_XML_VALIDATE, "testNodeDeviceCreateXML")
        ddef = xmldefs.NodeDeviceDef.parse(xml, create=True)
        fc = ddef.root.find("capability[@type='scsi_host']/capability[@type='fc_host']")
        if fc is None:
            raise _nd_err("Device is not a fibre channel HBA")
        wwnn, wwpn = fc.findtext("wwnn") or "", fc.findtext("wwpn") or ""
        with self._lock:
            self._parent_host(ddef)
            ev = self._mock_create_vport(wwnn, wwpn)
        self._fire([ev])
        return NodeDeviceRef("scsi_host12")

    def _parent_host(self, ddef: NodeDeviceDef) -> None:
        """libvirt's virNodeDeviceObjListGetParentHost checks (the host number is not needed here)."""
        devs = self.st.devs
        attrs = getattr(ddef, "_parent_attrs", {})
        found: DevObj | None
        if ddef.parent:
            found = devs.get(ddef.parent)
        elif attrs.get("wwnn") and attrs.get("wwpn"):
            found = next((d for d in devs.values() if _fc_value(d, "wwnn") == attrs["wwnn"]
                          and _fc_value(d, "wwpn") == attrs["wwpn"]), None)
        elif attrs.get("fabric_wwn"):
            found = next((d for d in devs.values() if _fc_value(d, "fabric_wwn") == attrs["fabric_wwn"]), None)
        else:
            found = next((d for d in devs.values() if "vports" in _has_caps(d.def_)), None)
            if found is None:
                raise _nd_err("Could not find any vport capable device")
        if found is None:
            raise _nd_err(f"Could not find parent device for '{ddef.name}'")
        if "vports" not in _has_caps(found.def_):
            raise _nd_err(f"Parent device {found.def_.name} is not capable of vport operations")

    def node_device_destroy(self, dev: NodeDeviceRef) -> None:
        self.check_writable()
        with self._lock:
            d = self._devobj(dev.name)
            fc = d.def_.root.find("capability[@type='scsi_host']/capability[@type='fc_host']")
            if fc is None:
                return  # libvirt's test driver reports the error but returns success
            parent = d.def_.parent
            if not parent or parent not in self.st.devs:
                raise err(c.VIR_ERR_INTERNAL_ERROR, f"cannot find parent '{parent}' definition")
            del self.st.devs[dev.name]
        self._fire([("node_device", c.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE, dev.name, NodeDeviceRef(dev.name),
                     (c.VIR_NODE_DEVICE_EVENT_DELETED, 0))])


def _nd_err(text: str) -> Exception:
    """An internal error from libvirt's node device object code (VIR_FROM_NODEDEV)."""
    from ...errors import make_error
    return make_error(c.VIR_ERR_INTERNAL_ERROR, text, c.VIR_FROM_NODEDEV)


def _fc_value(dev: DevObj, tag: str) -> str | None:
    return dev.def_.root.findtext(f"capability[@type='scsi_host']/capability[@type='fc_host']/{tag}")


def _format_dev(d: NodeDeviceDef) -> str:
    """libvirt formats vport_ops counters from the live host, which the test driver reports as 0."""
    root = copy.deepcopy(d.root)
    for vp in root.findall("capability/capability[@type='vport_ops']"):
        for t in ("max_vports", "vports"):
            el = vp.find(t)
            if el is not None:
                el.text = "0"
    from ...conf.xmlutil import format_xml
    return format_xml(root)
