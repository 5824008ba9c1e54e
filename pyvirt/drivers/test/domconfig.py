"""Domain settings: memory, vCPUs, pinning, metadata, time, tunables, misc guest calls."""

from __future__ import annotations

import time
from typing import Any

from lxml import etree

from ... import constants as c
from ...errors import make_error
from ..base import DomainRef
from .common import TestBase, api_arg_error, conf_err, err, exclusive, flags_ok
from .tunexml import sync_tunables
from .xmldefs import DomainDef

__all__ = ["DomainConfigMixin"]

TAINT_MESSAGES = ("custom configuration parameters specified", "custom monitor control commands issued",
                  "running with undesirable elevated privileges", "network configuration using opaque shell scripts",
                  "potentially unsafe disk format probing", "managing externally launched configuration",
                  "potentially unsafe use of host CPU passthrough", "configuration potentially modified by hook script",
                  "use of host cdrom passthrough", "custom device tree blob used",
                  "custom guest agent control commands issued", "hypervisor feature autodetection override",
                  "use of deprecated configuration settings", "custom device configuration")
CPUMAP_CPUS = 8
UNLIMITED = 9007199254740991
_LF = c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG

PERF_EVENTS = ("cmt", "mbmt", "mbml", "cpu_cycles", "instructions", "cache_references", "cache_misses",
               "branch_instructions", "branch_misses", "bus_cycles", "stalled_cycles_frontend",
               "stalled_cycles_backend", "ref_cpu_cycles", "cpu_clock", "task_clock", "page_faults",
               "context_switches", "cpu_migrations", "page_faults_min", "page_faults_maj",
               "alignment_faults", "emulation_faults")


def _validate(params: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in params:
        if key not in allowed:
            raise err(c.VIR_ERR_ARGUMENT_UNSUPPORTED, f"parameter '{key}' not supported")


def _host_cpus(self: TestBase) -> int:
    ni = self.st.node_info
    return ni[4] * ni[5] * ni[6] * ni[7]


class DomainConfigMixin(TestBase):
    """Calls that read or change a domain's settings."""

    # -- memory ------------------------------------------------------------
    def domain_get_max_memory(self, dom: DomainRef) -> int:
        with self._lock:
            return self._dom(dom).def_.memory

    def domain_set_memory_flags(self, dom: DomainRef, memory: int, flags: int = 0) -> None:
        self.check_writable()
        if memory == 0:
            raise api_arg_error("memory in virDomainSetMemoryFlags must not be zero")
        flags_ok(flags, _LF | c.VIR_DOMAIN_MEM_MAXIMUM, "testDomainSetMemoryFlags")
        with self._lock:
            d = self._dom(dom)
            df, live = self._one_def(d, flags)
            if flags & c.VIR_DOMAIN_MEM_MAXIMUM:
                if live:
                    raise err(c.VIR_ERR_OPERATION_INVALID, "cannot resize the maximum memory on an active domain")
                cur = df.current_memory
                df.memory = memory
                df.current_memory = min(cur, memory)
            else:
                if memory > df.memory:
                    raise err(c.VIR_ERR_INVALID_ARG, "cannot set memory higher than max memory")
                df.current_memory = memory

    def domain_set_memory(self, dom: DomainRef, memory: int) -> None:
        self.domain_set_memory_flags(dom, memory, c.VIR_DOMAIN_AFFECT_LIVE)

    def domain_set_max_memory(self, dom: DomainRef, memory: int) -> None:
        self.domain_set_memory_flags(dom, memory, c.VIR_DOMAIN_MEM_MAXIMUM)

    def domain_set_memory_stats_period(self, dom: DomainRef, period: int, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainSetMemoryStatsPeriod")
        with self._lock:
            df, _ = self._one_def(self._dom(dom), flags)
            bal = df.root.find("devices/memballoon")
            if bal is None or bal.get("model") == "none":
                raise err(c.VIR_ERR_INTERNAL_ERROR,
                          "No memory balloon device configured, can not set the collection period")
            st = bal.find("stats")
            if st is None:
                st = etree.SubElement(bal, "stats")
                bal.insert(0, st)
            st.set("period", str(period))

    # -- vcpus -----------------------------------------------------------------
    def domain_get_vcpus_flags(self, dom: DomainRef, flags: int = 0) -> int:
        exclusive(flags, c.VIR_DOMAIN_AFFECT_LIVE, "VIR_DOMAIN_AFFECT_LIVE", c.VIR_DOMAIN_AFFECT_CONFIG,
                  "VIR_DOMAIN_AFFECT_CONFIG")
        flags_ok(flags, _LF | c.VIR_DOMAIN_VCPU_MAXIMUM, "testDomainGetVcpusFlags")
        with self._lock:
            df, _ = self._one_def(self._dom(dom), flags)
            return df.max_vcpus if flags & c.VIR_DOMAIN_VCPU_MAXIMUM else df.vcpus

    def domain_get_max_vcpus(self, dom: DomainRef) -> int:
        return self.domain_get_vcpus_flags(dom, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_VCPU_MAXIMUM)

    def domain_set_vcpus_flags(self, dom: DomainRef, nvcpus: int, flags: int = 0) -> None:
        self.check_writable()
        if flags & c.VIR_DOMAIN_VCPU_MAXIMUM and not flags & c.VIR_DOMAIN_AFFECT_CONFIG:
            raise api_arg_error("Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'")
        exclusive(flags, c.VIR_DOMAIN_VCPU_GUEST, "VIR_DOMAIN_VCPU_GUEST", c.VIR_DOMAIN_AFFECT_CONFIG,
                  "VIR_DOMAIN_AFFECT_CONFIG")
        if nvcpus == 0:
            raise api_arg_error("nvcpus in virDomainSetVcpusFlags must not be zero")
        flags_ok(flags, _LF | c.VIR_DOMAIN_VCPU_MAXIMUM, "testDomainSetVcpusFlags")
        if nvcpus > 32:
            raise err(c.VIR_ERR_INVALID_ARG,
                      f"requested cpu amount exceeds maximum supported amount ({nvcpus} > 32)")
        with self._lock:
            d = self._dom(dom)
            live, conf = self._defs(d, flags)
            if live is not None and live.max_vcpus < nvcpus:
                raise err(c.VIR_ERR_INVALID_ARG,
                          f"requested cpu amount exceeds maximum ({nvcpus} > {live.max_vcpus})")
            if conf is not None and not flags & c.VIR_DOMAIN_VCPU_MAXIMUM and conf.max_vcpus < nvcpus:
                raise err(c.VIR_ERR_INVALID_ARG,
                          f"requested cpu amount exceeds maximum ({nvcpus} > {conf.max_vcpus})")
            if nvcpus == 0:
                raise err(c.VIR_ERR_INVALID_ARG, "Invalid number of vCPUs")
            if live is not None:
                live.vcpus = nvcpus
            if conf is not None:
                if flags & c.VIR_DOMAIN_VCPU_MAXIMUM:
                    conf.max_vcpus = nvcpus
                else:
                    conf.vcpus = nvcpus

    def domain_set_vcpus(self, dom: DomainRef, nvcpus: int) -> None:
        self.domain_set_vcpus_flags(dom, nvcpus, c.VIR_DOMAIN_AFFECT_LIVE)

    def _cpumap(self, df: DomainDef, vcpu: int) -> list[bool]:
        # libvirt-python sizes CPU maps by virNodeGetCPUMap, which the test driver answers with 8
        n = CPUMAP_CPUS
        pin = _tun(df, "vcpupin").get(vcpu)
        if pin is None:
            return [True] * n
        return (pin + [False] * n)[:n]

    def domain_get_vcpus(self, dom: DomainRef, maxinfo: int = -1) -> tuple[list[tuple[int, int, int, int]],
                                                                             list[tuple[bool, ...]]]:
        """([(number, state, cpu_time, cpu)], [cpumap per vcpu]) like libvirt-python's vcpus()."""
        with self._lock:
            d = self._dom(dom)
            if not d.active():
                raise err(c.VIR_ERR_OPERATION_INVALID, "cannot list vcpus for an inactive domain")
            n = d.def_.vcpus if maxinfo < 0 else min(maxinfo, d.def_.vcpus)
            base = time.time_ns() // 1000
            info, maps = [], []
            for i in range(n):
                cmap = self._cpumap(d.def_, i)
                pin = _tun(d.def_, "vcpupin").get(i)
                if pin is None:
                    last = _host_cpus(self) - 1
                else:
                    last = max((j for j, b in enumerate(pin) if b), default=-1)
                info.append((i, c.VIR_VCPU_RUNNING, base // 10, last))
                maps.append(tuple(cmap))
            return info, maps

    def domain_pin_vcpu_flags(self, dom: DomainRef, vcpu: int, cpumap: Any, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainPinVcpuFlags")
        with self._lock:
            d = self._dom(dom)
            if not d.active():
                raise err(c.VIR_ERR_OPERATION_INVALID, "cannot pin vcpus on an inactive domain")
            if vcpu >= d.def_.vcpus:
                raise err(c.VIR_ERR_INVALID_ARG, f"requested vcpu '{vcpu}' is not present in the domain")
            _tun(d.def_, "vcpupin")[vcpu] = [bool(b) for b in cpumap]
            _sync(d.def_)

    def domain_pin_vcpu(self, dom: DomainRef, vcpu: int, cpumap: Any) -> None:
        self.domain_pin_vcpu_flags(dom, vcpu, cpumap, 0)

    def domain_get_vcpu_pin_info(self, dom: DomainRef, flags: int = 0) -> list[tuple[bool, ...]]:
        flags_ok(flags, _LF, "virDomainGetVcpuPinInfo")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags)
            # libvirt-python asks for as many maps as virDomainGetInfo reports vCPUs
            return [tuple(self._cpumap(df, i)) for i in range(d.def_.vcpus)]

    def domain_pin_emulator(self, dom: DomainRef, cpumap: Any, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainPinEmulator")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags)
            if not any(cpumap):
                raise err(c.VIR_ERR_INVALID_ARG, "Empty cpu list for pinning")
            _tun(df, "emulatorpin")["map"] = [bool(b) for b in cpumap]
            _sync(df)

    def domain_get_emulator_pin_info(self, dom: DomainRef, flags: int = 0) -> tuple[bool, ...]:
        flags_ok(flags, _LF, "testDomainGetEmulatorPinInfo")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags)
            n = CPUMAP_CPUS
            pin = _tun(df, "emulatorpin").get("map")
            if pin is None:
                return tuple([True] * n)
            return tuple((pin + [False] * n)[:n])

    # -- metadata, title, description -------------------------------------------
    def domain_get_metadata(self, dom: DomainRef, type: int, uri: str | None, flags: int = 0) -> str:
        exclusive(flags, c.VIR_DOMAIN_AFFECT_LIVE, "VIR_DOMAIN_AFFECT_LIVE", c.VIR_DOMAIN_AFFECT_CONFIG,
                  "VIR_DOMAIN_AFFECT_CONFIG")
        if type in (c.VIR_DOMAIN_METADATA_TITLE, c.VIR_DOMAIN_METADATA_DESCRIPTION) and uri is not None:
            raise api_arg_error("uri in virDomainGetMetadata must be NULL")
        if type == c.VIR_DOMAIN_METADATA_ELEMENT and uri is None:
            raise api_arg_error("uri in virDomainGetMetadata must not be NULL")
        flags_ok(flags, _LF, "virDomainGetMetadata")
        with self._lock:
            df, _ = self._one_def(self._dom(dom), flags)
            return df.metadata(type, uri)

    def domain_set_metadata(self, dom: DomainRef, type: int, metadata: str | None, key: str | None,
                            uri: str | None, flags: int = 0) -> None:
        self.check_writable()
        if type in (c.VIR_DOMAIN_METADATA_TITLE, c.VIR_DOMAIN_METADATA_DESCRIPTION):
            if type == c.VIR_DOMAIN_METADATA_TITLE and metadata and "\n" in metadata:
                raise api_arg_error("metadata title can't contain newlines")
            if uri is not None:
                raise api_arg_error("uri in virDomainSetMetadata must be NULL")
            if key is not None:
                raise api_arg_error("key in virDomainSetMetadata must be NULL")
        elif type == c.VIR_DOMAIN_METADATA_ELEMENT:
            if uri is None:
                raise api_arg_error("uri in virDomainSetMetadata must not be NULL")
            if metadata and key is None:
                raise api_arg_error("key in virDomainSetMetadata must not be NULL")
        flags_ok(flags, _LF, "virDomainSetMetadata")
        with self._lock:
            d = self._dom(dom)
            live, conf = self._defs(d, flags)
            if type == c.VIR_DOMAIN_METADATA_ELEMENT and metadata == "":
                # a non-NULL empty document: libxml2 refuses it (NULL removes the element)
                raise make_error(c.VIR_ERR_XML_DETAIL, None, c.VIR_FROM_DOMAIN,
                                 message="(metadata_xml):1: Document is empty\n(null)\n^")
            for df in (live, conf):
                if df is not None:
                    df.set_metadata(type, metadata, key, uri)
            ref = d.ref()
        self.st.bus.emit("domain", c.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, ref.uuid, ref, type, uri)

    # -- time ------------------------------------------------------------------------
    def domain_get_time(self, dom: DomainRef, flags: int = 0) -> tuple[int, int]:
        flags_ok(flags, 0, "testDomainGetTime")
        with self._lock:
            d = self._dom(dom)
            if d.state != c.VIR_DOMAIN_RUNNING:
                raise err(c.VIR_ERR_OPERATION_INVALID, "domain is not running")
            return d.seconds, d.nseconds

    def domain_set_time(self, dom: DomainRef, seconds: int, nseconds: int, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_TIME_SYNC, "testDomainSetTime")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            d.seconds, d.nseconds = seconds, nseconds

    # -- scheduler -------------------------------------------------------------------
    def domain_get_scheduler_type(self, dom: DomainRef) -> tuple[str, int]:
        return "fair", 1

    def domain_get_scheduler_parameters_flags(self, dom: DomainRef, flags: int = 0) -> dict[str, Any]:
        flags_ok(flags, 0, "testDomainGetSchedulerParametersFlags")
        with self._lock:
            self._dom(dom)
        return {"weight": 50}

    def domain_get_scheduler_parameters(self, dom: DomainRef) -> dict[str, Any]:
        return self.domain_get_scheduler_parameters_flags(dom, 0)

    def domain_set_scheduler_parameters_flags(self, dom: DomainRef, params: dict[str, Any], flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainSetSchedulerParametersFlags")
        _validate(params, ("weight",))
        with self._lock:
            self._dom(dom)

    def domain_set_scheduler_parameters(self, dom: DomainRef, params: dict[str, Any]) -> None:
        self.domain_set_scheduler_parameters_flags(dom, params, 0)

    # -- tunables (kept with the definition they apply to) ---------------------------------------------
    def domain_set_blkio_parameters(self, dom: DomainRef, params: dict[str, Any], flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainSetBlkioParameters")
        _validate(params, ("weight", "device_weight", "device_read_iops_sec", "device_write_iops_sec",
                           "device_read_bytes_sec", "device_write_bytes_sec"))
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags)
            _tun(df, "blkio").update(params)
            _sync(df)

    def domain_get_blkio_parameters(self, dom: DomainRef, flags: int = 0) -> dict[str, Any]:
        flags_ok(flags, _LF | c.VIR_TYPED_PARAM_STRING_OKAY, "testDomainGetBlkioParameters")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags & _LF)
            out = {"weight": 0, "device_weight": "", "device_read_iops_sec": "", "device_write_iops_sec": "",
                   "device_read_bytes_sec": "", "device_write_bytes_sec": ""}
            out.update(_tun(df, "blkio"))
            return out

    def domain_set_memory_parameters(self, dom: DomainRef, params: dict[str, Any], flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainSetMemoryParameters")
        _validate(params, ("hard_limit", "soft_limit", "swap_hard_limit"))
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags)
            if "hard_limit" in params or "swap_hard_limit" in params:
                hard = params.get("hard_limit", _tun(df, "memparams").get("hard_limit", UNLIMITED))
                swap = params.get("swap_hard_limit", _tun(df, "memparams").get("swap_hard_limit", UNLIMITED))
                if hard > swap:
                    raise err(c.VIR_ERR_INVALID_ARG,
                              "memory hard_limit tunable value must be lower than or equal to swap_hard_limit")
            _tun(df, "memparams").update({k: int(v) for k, v in params.items()})
            _sync(df)

    def domain_get_memory_parameters(self, dom: DomainRef, flags: int = 0) -> dict[str, Any]:
        flags_ok(flags, _LF | c.VIR_TYPED_PARAM_STRING_OKAY, "testDomainGetMemoryParameters")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags & _LF)
            mem = _tun(df, "memparams")
            return {k: mem.get(k, UNLIMITED) for k in ("hard_limit", "soft_limit", "swap_hard_limit")}

    def domain_set_numa_parameters(self, dom: DomainRef, params: dict[str, Any], flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainSetNumaParameters")
        _validate(params, ("numa_mode", "numa_nodeset"))
        with self._lock:
            d = self._dom(dom)
            df, live = self._one_def(d, flags)
            mode = params.get("numa_mode")
            if mode is not None and not 0 <= mode < 4:
                raise err(c.VIR_ERR_INVALID_ARG, f"unsupported numatune mode: '{mode}'")
            numa = _tun(df, "numa")
            if live and mode is not None and "numa_mode" in numa and numa["numa_mode"] != mode:
                raise err(c.VIR_ERR_OPERATION_INVALID, "can't change numatune mode for running domain")
            _tun(df, "numa").update(params)
            _sync(df)

    def domain_get_numa_parameters(self, dom: DomainRef, flags: int = 0) -> dict[str, Any]:
        flags_ok(flags, _LF | c.VIR_TYPED_PARAM_STRING_OKAY, "testDomainGetNumaParameters")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags & _LF)
            numa = _tun(df, "numa")
            return {"numa_mode": numa.get("numa_mode", 0), "numa_nodeset": numa.get("numa_nodeset", "")}

    _BW = ("inbound.average", "inbound.peak", "inbound.burst", "inbound.floor", "outbound.average",
           "outbound.peak", "outbound.burst")

    def _find_net(self, df: DomainDef, device: str) -> str:
        for i, iface in enumerate(df.interfaces):
            if device in (iface.target_dev, iface.mac):
                return str(i)
        raise conf_err(c.VIR_ERR_INVALID_ARG, f"'{device}' is not a known interface")

    def domain_set_interface_parameters(self, dom: DomainRef, device: str, params: dict[str, Any],
                                        flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainSetInterfaceParameters")
        _validate(params, self._BW)
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags)
            key = self._find_net(df, device)
            _tun(df, "ifparams").setdefault(key, {}).update({k: int(v) for k, v in params.items()})
            _sync(df)

    def domain_get_interface_parameters(self, dom: DomainRef, device: str, flags: int = 0) -> dict[str, Any]:
        flags_ok(flags, _LF | c.VIR_TYPED_PARAM_STRING_OKAY, "testDomainGetInterfaceParameters")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags & _LF)
            key = self._find_net(df, device)
            cur = _tun(df, "ifparams").get(key, {})
            return {k: cur.get(k, 0) for k in self._BW}

    _IOTUNE = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec", "read_iops_sec",
               "write_iops_sec", "total_bytes_sec_max", "read_bytes_sec_max", "write_bytes_sec_max",
               "total_iops_sec_max", "read_iops_sec_max", "write_iops_sec_max", "size_iops_sec", "group_name",
               "total_bytes_sec_max_length", "read_bytes_sec_max_length", "write_bytes_sec_max_length",
               "total_iops_sec_max_length", "read_iops_sec_max_length", "write_iops_sec_max_length")

    def _find_disk(self, df: DomainDef, path: str) -> None:
        for disk in df.disks:
            if path in (disk.target_dev, disk.source_path):
                return
        raise err(c.VIR_ERR_INVALID_ARG, f"disk '{path}' was not found in the domain config")

    def domain_set_block_io_tune(self, dom: DomainRef, disk: str, params: dict[str, Any], flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainSetBlockIoTune")
        _validate(params, self._IOTUNE)
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags)
            if not any(disk in (x.target_dev, x.source_path) for x in df.disks):
                raise err(c.VIR_ERR_INVALID_ARG, f"missing persistent configuration for disk '{disk}'")
            info = dict(_tun(df, "iotune").get(disk, {}))
            for k, v in params.items():
                if k != "group_name" and int(v) > 1000000000000000:
                    raise err(c.VIR_ERR_ARGUMENT_UNSUPPORTED,
                              "block I/O throttle limit value must be no more than 1000000000000000")
                info[k] = v
            for kind in ("bytes_sec", "iops_sec", "bytes_sec_max", "iops_sec_max"):
                if info.get(f"total_{kind}") and (info.get(f"read_{kind}") or info.get(f"write_{kind}")):
                    raise err(c.VIR_ERR_INVALID_ARG,
                              f"total and read/write of {kind} cannot be set at the same time")
            for rw in ("total", "read", "write"):
                for kind in ("bytes_sec", "iops_sec"):
                    if info.get(f"{rw}_{kind}", 0) > info.get(f"{rw}_{kind}_max", 0):
                        raise err(c.VIR_ERR_INVALID_ARG,
                                  f"{rw}_{kind} cannot be set higher than {rw}_{kind}_max ")
            _tun(df, "iotune")[disk] = info
            _sync(df)

    def domain_get_block_io_tune(self, dom: DomainRef, disk: str | None, flags: int = 0) -> dict[str, Any]:
        flags_ok(flags, _LF | c.VIR_TYPED_PARAM_STRING_OKAY, "testDomainGetBlockIoTune")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags & _LF)
            if disk is None:
                raise err(c.VIR_ERR_INVALID_ARG, "disk path must be given")
            self._find_disk(df, disk)
            cur = _tun(df, "iotune").get(disk, {})
            return {k: cur.get(k, "" if k == "group_name" else 0) for k in self._IOTUNE}

    def domain_set_lifecycle_action(self, dom: DomainRef, type: int, action: int, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainSetLifecycleAction")
        names = ("destroy", "restart", "rename-restart", "preserve", "coredump-destroy", "coredump-restart")
        if type > 2 or action >= len(names):
            raise err(c.VIR_ERR_INVALID_ARG, "invalid lifecycle type or action")
        if type != c.VIR_DOMAIN_LIFECYCLE_CRASH and action in (4, 5):
            lname = ("poweroff", "reboot", "crash")[type]
            raise conf_err(c.VIR_ERR_CONFIG_UNSUPPORTED, f"Lifecycle event '{lname}' doesn't support "
                           f"'{names[action]}' action")
        with self._lock:
            d = self._dom(dom)
            for df in self._defs(d, flags):
                if df is not None:
                    attr = ("on_poweroff", "on_reboot", "on_crash")[type]
                    setattr(df, attr, names[action])

    # -- perf events ------------------------------------------------------------------
    def domain_set_perf_events(self, dom: DomainRef, params: dict[str, Any], flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, _LF, "testDomainSetPerfEvents")
        _validate(params, PERF_EVENTS)
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags)
            for k, v in params.items():
                _tun(df, "perf")[k] = bool(v)
            _sync(df)

    def domain_get_perf_events(self, dom: DomainRef, flags: int = 0) -> dict[str, Any]:
        flags_ok(flags, _LF | c.VIR_TYPED_PARAM_STRING_OKAY, "testDomainGetPerfEvents")
        with self._lock:
            d = self._dom(dom)
            df, _ = self._one_def(d, flags & _LF)
            return {k: _tun(df, "perf").get(k, False) for k in PERF_EVENTS}

    # -- misc guest calls ---------------------------------------------------------------
    def domain_get_security_label(self, dom: DomainRef) -> tuple[str, int]:
        with self._lock:
            d = self._dom(dom)
            return ("libvirt-test", 1) if d.active() else ("", 0)

    def domain_set_user_password(self, dom: DomainRef, user: str, password: str, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, c.VIR_DOMAIN_PASSWORD_ENCRYPTED, "testDomainSetUserPassword")
        with self._lock:
            self._check_active(self._dom(dom))

    def domain_inject_nmi(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainInjectNMI")
        with self._lock:
            self._check_active(self._dom(dom))

    def domain_send_key(self, dom: DomainRef, codeset: int, holdtime: int, keycodes: list[int],
                        flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainSendKey")
        with self._lock:
            self._check_active(self._dom(dom))

    def domain_send_process_signal(self, dom: DomainRef, pid: int, signum: int, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainSendProcessSignal")
        if pid != 1:
            raise err(c.VIR_ERR_INVALID_ARG, "only sending a signal to pid 1 is supported")
        if signum >= 65:
            raise err(c.VIR_ERR_INVALID_ARG, f"signum value {signum} is out of range")
        with self._lock:
            self._check_active(self._dom(dom))

    def _fs(self, dom: DomainRef, mountpoints: list[str] | None, freeze: bool) -> int:
        self.check_writable()
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            if not mountpoints:
                n = (2 - len(d.frozen)) if freeze else len(d.frozen)
                d.frozen = {"/", "/boot"} if freeze else set()
                return n
            new = set(d.frozen)
            count = 0
            for mp in mountpoints:
                if mp not in ("/", "/boot"):
                    raise err(c.VIR_ERR_OPERATION_INVALID, f"mount point not found: {mp}")
                if freeze and mp not in new:
                    new.add(mp)
                    count += 1
                elif not freeze and mp in new:
                    new.discard(mp)
                    count += 1
            d.frozen = new
            return count

    def domain_fs_freeze(self, dom: DomainRef, mountpoints: list[str] | None = None, flags: int = 0) -> int:
        flags_ok(flags, 0, "testDomainFSFreeze")
        return self._fs(dom, mountpoints, True)

    def domain_fs_thaw(self, dom: DomainRef, mountpoints: list[str] | None = None, flags: int = 0) -> int:
        flags_ok(flags, 0, "testDomainFSThaw")
        return self._fs(dom, mountpoints, False)

    def domain_fs_trim(self, dom: DomainRef, mountpoint: str | None, minimum: int, flags: int = 0) -> None:
        self.check_writable()
        flags_ok(flags, 0, "testDomainFSTrim")
        with self._lock:
            self._check_active(self._dom(dom))
            if mountpoint and mountpoint not in ("/", "/boot"):
                raise err(c.VIR_ERR_OPERATION_INVALID, f"mount point not found: {mountpoint}")

    def domain_get_fs_info(self, dom: DomainRef, flags: int = 0) -> list[tuple[str, str, str, list[str]]]:
        """[(mountpoint, name, fstype, [dev aliases])] like libvirt-python's fsInfo()."""
        flags_ok(flags, 0, "testDomainGetFSInfo")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            for disk in d.def_.disks:
                if disk.device == "disk":
                    name = disk.target_dev or ""
                    return [("/", f"{name}1", "ext4", [name]), ("/boot", f"{name}2", "ext4", [name])]
            return []

    def domain_get_disk_errors(self, dom: DomainRef, flags: int = 0) -> dict[str, int]:
        flags_ok(flags, 0, "testDomainGetDiskErrors")
        with self._lock:
            d = self._dom(dom)
            self._check_active(d)
            return {disk.target_dev or "": (i % 2) + 1 for i, disk in enumerate(d.def_.disks)}

    def domain_memory_peek(self, dom: DomainRef, start: int, size: int, flags: int) -> bytes:
        if flags & c.VIR_MEMORY_VIRTUAL and flags & c.VIR_MEMORY_PHYSICAL:
            # libvirt's public API refuses this before the driver sees it
            raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_DOMAIN,
                             message="Flags 'VIR_MEMORY_VIRTUAL' and 'VIR_MEMORY_PHYSICAL' are mutually exclusive")
        flags_ok(flags, c.VIR_MEMORY_VIRTUAL | c.VIR_MEMORY_PHYSICAL, "testDomainMemoryPeek")
        if flags not in (c.VIR_MEMORY_VIRTUAL, c.VIR_MEMORY_PHYSICAL):
            raise err(c.VIR_ERR_INVALID_ARG, "flags parameter must be VIR_MEMORY_VIRTUAL or VIR_MEMORY_PHYSICAL")
        with self._lock:
            self._check_active(self._dom(dom))
        return bytes((start + i) & 0xFF for i in range(size))

    def domain_get_block_info(self, dom: DomainRef, path: str, flags: int = 0) -> tuple[int, int, int]:
        flags_ok(flags, 0, "testDomainGetBlockInfo")
        with self._lock:
            d = self._dom(dom)
            for disk in d.def_.disks:
                if path in (disk.target_dev, disk.source_path):
                    if not disk.source_path:
                        raise err(c.VIR_ERR_INVALID_ARG,
                                  f"disk '{path}' does not currently have a source assigned")
                    return (1099506450432, 1099511627776, 1099511627776)
            raise err(c.VIR_ERR_INVALID_ARG, f"invalid path {path} not assigned to domain")

    def domain_get_messages(self, dom: DomainRef, flags: int = 0) -> list[str]:
        flags_ok(flags, c.VIR_DOMAIN_MESSAGE_DEPRECATION | c.VIR_DOMAIN_MESSAGE_TAINTING,
                 "testDomainGetMessages")
        with self._lock:
            d = self._dom(dom)
            out: list[str] = []
            if not flags or flags & c.VIR_DOMAIN_MESSAGE_TAINTING:
                out += [f"tainted: {TAINT_MESSAGES[i]}" for i in range(len(TAINT_MESSAGES)) if d.taint & (1 << i)]
            if not flags or flags & c.VIR_DOMAIN_MESSAGE_DEPRECATION:
                out += [f"deprecated configuration: {m}" for m in d.deprecations]
            return out

    def domain_get_launch_security_info(self, dom: DomainRef, flags: int = 0) -> dict[str, Any]:
        flags_ok(flags, 0, "testDomainGetLaunchSecurityInfo")
        return {}

    def domain_screenshot(self, dom: DomainRef, screen: int, flags: int = 0) -> tuple[str, bytes]:
        """(mime type, PNG data) of the (fixed) test screenshot."""
        flags_ok(flags, 0, "testDomainScreenshot")
        # libvirt streams a packaged PNG whatever the domain and screen; this is a 1x1 stand-in
        import base64
        png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
        return "image/png", png


def _tun(df: DomainDef, group: str) -> dict[Any, Any]:
    """Tunables libvirt keeps in the domain definition; also written to its XML on change."""
    store: dict[str, dict[Any, Any]] = df.__dict__.setdefault("_pv_tunables", {})
    return store.setdefault(group, {})


def _sync(df: DomainDef) -> None:
    sync_tunables(df.root, df.__dict__.get("_pv_tunables", {}))
