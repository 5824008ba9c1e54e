"""Connection and host calls of the test driver: node info, capabilities, CPU, events."""

from __future__ import annotations

from typing import Any

from lxml import etree

from ... import constants as c
from ..base import DomainRef
from ...errors import make_error
from .common import TestBase, err, flags_ok
from .defaults import SYSINFO_XML

__all__ = ["HostMixin"]

# virConnectGetCPUModelNames answers libvirt's x86 CPU map for x86 architectures.
X86_MODELS = (
    "486 pentium pentium2 pentium3 pentiumpro coreduo n270 core2duo qemu32 kvm32 cpu64-rhel5 cpu64-rhel6 "
    "qemu64 kvm64 Conroe Penryn Nehalem Nehalem-IBRS Westmere Westmere-IBRS SandyBridge SandyBridge-IBRS "
    "IvyBridge IvyBridge-IBRS Haswell-noTSX Haswell-noTSX-IBRS Haswell Haswell-IBRS Broadwell-noTSX "
    "Broadwell-noTSX-IBRS Broadwell Broadwell-IBRS Skylake-Client Skylake-Client-IBRS "
    "Skylake-Client-noTSX-IBRS Skylake-Server Skylake-Server-IBRS Skylake-Server-noTSX-IBRS "
    "Cascadelake-Server Cascadelake-Server-noTSX Icelake-Client Icelake-Client-noTSX Icelake-Server "
    "Icelake-Server-noTSX Cooperlake Snowridge athlon phenom Opteron_G1 Opteron_G2 Opteron_G3 Opteron_G4 "
    "Opteron_G5 EPYC EPYC-IBPB EPYC-Rome EPYC-Milan Dhyana").split()

_KNOWN_ARCHES = ("i686", "x86_64", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x", "riscv64", "mips",
                 "mipsel", "mips64", "mips64el", "ppc", "s390", "sparc", "sparc64", "alpha", "armv6l",
                 "cris", "lm32", "m68k", "microblaze", "microblazeel", "openrisc", "parisc", "parisc64",
                 "ppcle", "ppcemb", "sh4", "sh4eb", "unicore32", "xtensa", "xtensaeb", "loongarch64",
                 "armv7b", "riscv32")


class HostMixin(TestBase):
    """virConnect*/virNode* calls."""

    def connect_get_type(self) -> str:
        return "TEST"

    def connect_get_version(self) -> int:
        return 2

    def connect_get_lib_version(self) -> int:
        return 9000000

    def connect_get_hostname(self) -> str:
        import socket  # only this call needs it

        return socket.gethostname()

    def connect_get_max_vcpus(self, type: str | None = None) -> int:
        return 32

    def connect_is_secure(self) -> int:
        return 1

    def connect_is_encrypted(self) -> int:
        return 0

    def connect_is_alive(self) -> int:
        return 0 if self._closed else 1

    def connect_supports_feature(self, feature: int) -> int:
        # typed-param strings and network update's correct order (plus the global ones)
        return 1 if feature in (8, 16, 18, 19, 20, 21) else 0

    def connect_get_capabilities(self) -> str:
        with self._lock:
            return self.st.caps_xml

    def connect_get_sysinfo(self, flags: int = 0) -> str:
        flags_ok(flags, 0, "testConnectGetSysinfo")
        return SYSINFO_XML

    def node_get_info(self) -> tuple[str, int, int, int, int, int, int, int]:
        with self._lock:
            model, mem, cpus, mhz, nodes, sockets, cores, threads = self.st.node_info
            return (model, mem, cpus, mhz, nodes, sockets, cores, threads)

    def node_get_cpu_stats(self, cpu_num: int = -1, flags: int = 0) -> dict[str, int]:
        flags_ok(flags, 0, "testNodeGetCPUStats")
        return {"user": 9797400000, "kernel": 34678723400000, "idle": 87264900000, "iowait": 763600000}

    def node_get_memory_stats(self, cell_num: int = -1, flags: int = 0) -> dict[str, int]:
        raise err(c.VIR_ERR_NO_SUPPORT, "virNodeGetMemoryStats")

    def node_get_free_memory(self) -> int:
        with self._lock:
            return sum(cell["free"] for cell in self.st.cells)

    def node_get_cells_free_memory(self, start_cell: int, max_cells: int) -> list[int]:
        with self._lock:
            cells = self.st.cells
            if start_cell >= len(cells) or start_cell < 0:
                raise err(c.VIR_ERR_INVALID_ARG, "Range exceeds available cells")
            end = min(len(cells), start_cell + max_cells)
            return [cells[i]["mem"] for i in range(start_cell, end)]

    def node_get_free_pages(self, pages: list[int], start_cell: int, cell_count: int,
                            flags: int = 0) -> dict[int, dict[int, int]]:
        """{cell: {page size: count}} like libvirt-python's getFreePages().

        libvirt's test driver fills the counts but reports 0 entries, so
        callers (libvirt-python included) see an empty answer; so do we.
        """
        flags_ok(flags, 0, "testNodeGetFreePages")
        return {}

    def node_get_free_pages_counts(self, pages: list[int], start_cell: int, cell_count: int) -> dict[int, dict[int, int]]:
        """The counts libvirt's test driver computes (but does not report)."""
        out: dict[int, dict[int, int]] = {}
        x = 6
        for i in range(cell_count):
            row: dict[int, int] = {}
            for size in pages:
                x = x * 2 + 7
                row[size] = x
            out[start_cell + i] = row
        return out

    def node_get_cpu_map(self, flags: int = 0) -> tuple[int, list[bool], int]:
        flags_ok(flags, 0, "testNodeGetCPUMap")
        return 8, [True, False, True, False, True, False, False, False], 3

    def node_get_security_model(self) -> tuple[str, str]:
        return "testSecurity", ""

    def connect_get_cpu_model_names(self, arch: str, flags: int = 0) -> list[str]:
        flags_ok(flags, 0, "testConnectGetCPUModelNames")
        if arch not in _KNOWN_ARCHES:
            raise err(c.VIR_ERR_INVALID_ARG, f"cannot find architecture {arch}")
        if arch in ("i686", "x86_64"):
            return list(X86_MODELS)
        return []

    def connect_baseline_cpu(self, xml_cpus: list[str], flags: int = 0) -> str:
        """A baseline of *xml_cpus* (no CPU feature database: see the module notes).

        One CPU comes back as given; several share the oldest of their models (in
        libvirt's x86 model order) and the features they all require.
        """
        flags_ok(flags, c.VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES, "testConnectBaselineCPU")
        if not xml_cpus:
            raise make_error(c.VIR_ERR_INVALID_ARG, "no CPUs given", c.VIR_FROM_CPU)
        models, vendors, feats = [], [], []
        for x in xml_cpus:
            try:
                root = etree.fromstring(x.encode())
            except etree.XMLSyntaxError as exc:
                line = x.splitlines()[0] if x else ""
                raise make_error(c.VIR_ERR_XML_DETAIL, None, c.VIR_FROM_CPU,
                                 message=f"(CPU_definition):1: {_xml_msg(exc)}"
                                         f"\n{line}\n^") from None
            cpu = root if root.tag == "cpu" else root.find(".//cpu")
            if cpu is None:
                raise make_error(c.VIR_ERR_XML_ERROR, "XML does not contain expected 'cpu' element", c.VIR_FROM_CPU)
            if not cpu.findtext("arch"):
                raise make_error(c.VIR_ERR_XML_ERROR, "Missing CPU architecture", c.VIR_FROM_CPU)
            models.append(cpu.findtext("model"))
            vendors.append(cpu.findtext("vendor"))
            feats.append({f.get("name") or "" for f in cpu.findall("feature")
                          if f.get("policy", "require") in ("require", "force")})
        if any(v != vendors[0] for v in vendors):
            raise make_error(c.VIR_ERR_OPERATION_FAILED, "CPU vendors do not match", c.VIR_FROM_CPU)
        common = set.intersection(*feats)
        order = {m: i for i, m in enumerate(X86_MODELS)}
        model = min((m for m in models if m), key=lambda m: order.get(m, len(order)), default=None)
        fallback = "forbid" if len(xml_cpus) == 1 else "allow"
        lines = ["<cpu mode='custom' match='exact'>"]
        if model:
            lines.append(f"  <model fallback='{fallback}'>{model}</model>")
        if vendors[0]:
            lines.append(f"  <vendor>{vendors[0]}</vendor>")
        for f in sorted(common):
            lines.append(f"  <feature policy='require' name='{f}'/>")
        lines.append("</cpu>")
        return "\n".join(lines) + "\n"

    # -- events ------------------------------------------------------------------------
    def connect_domain_event_register_any(self, dom: DomainRef | None, event_id: int, callback: Any) -> int:
        if event_id < 0 or event_id > c.VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE:
            raise err(c.VIR_ERR_INVALID_ARG, f"unsupported event ID {event_id}")
        return self._register("domain", dom.uuid if dom is not None else None, event_id, callback)

    def connect_domain_event_deregister_any(self, callback_id: int) -> None:
        self._deregister("domain", callback_id)

    def connect_domain_event_register(self, callback: Any) -> None:
        if callback in self._old_style:
            raise err(c.VIR_ERR_INVALID_ARG, "event callback already tracked")
        self._old_style[callback] = self._register("domain", None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE, callback)

    def connect_domain_event_deregister(self, callback: Any) -> None:
        cid = self._old_style.pop(callback, None)
        if cid is None:
            raise err(c.VIR_ERR_INVALID_ARG, f"event callback function {callback!r} not registered")
        self._deregister("domain", cid)

    def connect_network_event_register_any(self, net: Any, event_id: int, callback: Any) -> int:
        if event_id < 0 or event_id > 0:
            raise err(c.VIR_ERR_INVALID_ARG, f"unsupported event ID {event_id}")
        return self._register("network", net.uuid if net is not None else None, event_id, callback)

    def connect_network_event_deregister_any(self, callback_id: int) -> None:
        self._deregister("network", callback_id)

    def connect_storage_pool_event_register_any(self, pool: Any, event_id: int, callback: Any) -> int:
        if event_id < 0 or event_id > 1:
            raise err(c.VIR_ERR_INVALID_ARG, f"unsupported event ID {event_id}")
        return self._register("storage_pool", pool.uuid if pool is not None else None, event_id, callback)

    def connect_storage_pool_event_deregister_any(self, callback_id: int) -> None:
        self._deregister("storage_pool", callback_id)

    def connect_node_device_event_register_any(self, dev: Any, event_id: int, callback: Any) -> int:
        if event_id < 0 or event_id > 1:
            raise err(c.VIR_ERR_INVALID_ARG, f"unsupported event ID {event_id}")
        return self._register("node_device", dev.name if dev is not None else None, event_id, callback)

    def connect_node_device_event_deregister_any(self, callback_id: int) -> None:
        self._deregister("node_device", callback_id)

    def connect_close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for cid in list(self._my_callbacks):
            self.st.bus.unsubscribe(cid)
        self._my_callbacks.clear()
        if self._shared:
            from .state import release_default
            release_default(self.st)


def _xml_msg(exc: Exception) -> str:
    """libxml2's message for a syntax error, as libvirt prints it."""
    log = getattr(exc, "error_log", None)
    entries = list(log) if log is not None else []
    return str(entries[0].message) if entries else str(exc)
