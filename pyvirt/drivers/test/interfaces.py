"""Host interfaces of the test driver, with change transactions."""

from __future__ import annotations

from ... import constants as c
from ..base import InterfaceRef
from .common import TestBase, err, flags_ok
from .state import IfaceObj
from . import xmldefs

__all__ = ["InterfacesMixin"]


class InterfacesMixin(TestBase):
    """virInterface* calls."""

    def _iface(self, ref: InterfaceRef) -> IfaceObj:
        i = self.st.ifaces.get(ref.name)
        if i is None:
            raise err(c.VIR_ERR_NO_INTERFACE, f"no interface with matching name '{ref.name}'")
        return i

    @staticmethod
    def _iref(i: IfaceObj) -> InterfaceRef:
        return InterfaceRef(i.def_.name, i.def_.mac)

    def _iface_names(self, active: bool) -> list[str]:
        with self._lock:
            return sorted(n for n, i in self.st.ifaces.items() if i.active == active)

    def connect_num_of_interfaces(self) -> int:
        return len(self._iface_names(True))

    def connect_list_interfaces(self, maxnames: int = -1) -> list[str]:
        names = self._iface_names(True)
        return names if maxnames < 0 else names[:maxnames]

    def connect_num_of_defined_interfaces(self) -> int:
        return len(self._iface_names(False))

    def connect_list_defined_interfaces(self, maxnames: int = -1) -> list[str]:
        names = self._iface_names(False)
        return names if maxnames < 0 else names[:maxnames]

    def connect_list_all_interfaces(self, flags: int = 0) -> list[InterfaceRef]:
        flags_ok(flags, c.VIR_CONNECT_LIST_INTERFACES_ACTIVE | c.VIR_CONNECT_LIST_INTERFACES_INACTIVE,
                 "testConnectListAllInterfaces")
        with self._lock:
            out = []
            for i in self.st.ifaces.values():
                if flags and not ((flags & c.VIR_CONNECT_LIST_INTERFACES_ACTIVE and i.active)
                                  or (flags & c.VIR_CONNECT_LIST_INTERFACES_INACTIVE and not i.active)):
                    continue
                out.append(self._iref(i))
            return out

    def interface_lookup_by_name(self, name: str) -> InterfaceRef:
        with self._lock:
            return self._iref(self._iface(InterfaceRef(name, "")))

    def interface_lookup_by_mac_string(self, mac: str) -> InterfaceRef:
        with self._lock:
            found = [i for i in self.st.ifaces.values() if i.def_.mac.lower() == mac.lower()]
            if not found:
                raise err(c.VIR_ERR_NO_INTERFACE, f"no interface with matching mac '{mac}'")
            if len(found) > 1:
                raise err(c.VIR_ERR_MULTIPLE_INTERFACES)
            return InterfaceRef(found[0].def_.name, mac)

    def interface_is_active(self, iface: InterfaceRef) -> int:
        with self._lock:
            return int(self._iface(iface).active)

    def interface_change_begin(self, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testInterfaceChangeBegin")
        with self._lock:
            if self.st.iface_backup is not None:
                raise err(c.VIR_ERR_OPERATION_INVALID, "there is another transaction running.")
            # libvirt clones the definitions only: the copies start inactive
            self.st.iface_backup = {n: IfaceObj(i.def_.copy(), active=False) for n, i in self.st.ifaces.items()}

    def interface_change_commit(self, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testInterfaceChangeCommit")
        with self._lock:
            if self.st.iface_backup is None:
                raise err(c.VIR_ERR_OPERATION_INVALID, "no transaction running, nothing to be committed.")
            self.st.iface_backup = None

    def interface_change_rollback(self, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testInterfaceChangeRollback")
        with self._lock:
            if self.st.iface_backup is None:
                raise err(c.VIR_ERR_OPERATION_INVALID, "no transaction running, nothing to rollback.")
            self.st.ifaces = self.st.iface_backup
            self.st.iface_backup = None

    def interface_get_xml_desc(self, iface: InterfaceRef, flags: int = 0) -> str:
        flags_ok(flags, 0, "testInterfaceGetXMLDesc")
        with self._lock:
            return self._iface(iface).def_.to_xml()

    def interface_define_xml(self, xml: str, flags: int = 0) -> InterfaceRef:
        self.check_writable()
        flags_ok(flags, c.VIR_INTERFACE_DEFINE_VALIDATE, "testInterfaceDefineXML")
        idef = xmldefs.InterfaceDef.parse(xml)
        with self._lock:
            cur = self.st.ifaces.get(idef.name)
            if cur is not None:
                cur.def_ = idef
            else:
                cur = self.st.ifaces[idef.name] = IfaceObj(idef, active=False)
            return self._iref(cur)

    def interface_undefine(self, iface: InterfaceRef) -> None:
        self.check_writable()
        with self._lock:
            self._iface(iface)
            del self.st.ifaces[iface.name]

    def interface_create(self, iface: InterfaceRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testInterfaceCreate")
        with self._lock:
            i = self._iface(iface)
            if i.active:
                raise err(c.VIR_ERR_OPERATION_INVALID)
            i.active = True

    def interface_destroy(self, iface: InterfaceRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testInterfaceDestroy")
        with self._lock:
            i = self._iface(iface)
            if not i.active:
                raise err(c.VIR_ERR_OPERATION_INVALID)
            i.active = False
