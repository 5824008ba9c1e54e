"""Run the same scenario against libvirt 9.0's test driver (libvirt-python) and pyvirt's.

A scenario is a list of steps ``(op, *args)``. Each op is defined twice, once
for a real ``libvirt.virConnect`` and once for a pyvirt driver, and returns
plain values; a failure becomes ``("error", code, domain, message)``. The
results of both runs must be equal.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading
import time
from typing import Any, Callable

from pyvirt import constants as c
from pyvirt.drivers import open_driver
from pyvirt.drivers.base import DomainRef, NetworkRef, NodeDeviceRef, SnapshotRef, StoragePoolRef
from pyvirt.errors import LibvirtError

try:
    import libvirt
except ImportError:  # pragma: no cover - CI installs python3-libvirt
    libvirt = None

Op = tuple[Callable[..., Any], Callable[..., Any]]


def _real_dom(conn: Any, name: str) -> Any:
    return conn.lookupByName(name)


def _py_dom(drv: Any, name: str) -> DomainRef:
    return drv.domain_lookup_by_name(name)


def _py_net(drv: Any, name: str) -> NetworkRef:
    return drv.network_lookup_by_name(name)


def _py_pool(drv: Any, name: str) -> StoragePoolRef:
    return drv.storage_pool_lookup_by_name(name)


def _py_snap(drv: Any, dom: str, snap: str) -> SnapshotRef:
    return SnapshotRef(_py_dom(drv, dom), snap)


def _real_snap(conn: Any, dom: str, snap: str) -> Any:
    return _real_dom(conn, dom).snapshotLookupByName(snap, 0)


def _py_vol(drv: Any, pool: str, vol: str) -> Any:
    return drv.storage_vol_lookup_by_name(_py_pool(drv, pool), vol)


OPS: dict[str, Op] = {
    # connection
    "node_info": (lambda cn: list(cn.getInfo()), lambda d: [d.node_get_info()[0], d.node_get_info()[1] // 1024]
                  + list(d.node_get_info()[2:])),
    "type": (lambda cn: cn.getType(), lambda d: d.connect_get_type()),
    "version": (lambda cn: cn.getVersion(), lambda d: d.connect_get_version()),
    "max_vcpus": (lambda cn: cn.getMaxVcpus(None), lambda d: d.connect_get_max_vcpus(None)),
    "caps": (lambda cn: cn.getCapabilities(), lambda d: d.connect_get_capabilities()),
    "sysinfo": (lambda cn: cn.getSysinfo(0), lambda d: d.connect_get_sysinfo(0)),
    "secure": (lambda cn: (cn.isSecure(), cn.isEncrypted()), lambda d: (d.connect_is_secure(), d.connect_is_encrypted())),
    "hostname": (lambda cn: cn.getHostname(), lambda d: d.connect_get_hostname()),
    "free_memory": (lambda cn: cn.getFreeMemory(), lambda d: d.node_get_free_memory()),
    "cells_free": (lambda cn, s, n: cn.getCellsFreeMemory(s, n), lambda d, s, n: d.node_get_cells_free_memory(s, n)),
    "cpu_map": (lambda cn: cn.getCPUMap(0), lambda d: d.node_get_cpu_map(0)),
    "cpu_stats": (lambda cn: cn.getCPUStats(-1, 0), lambda d: d.node_get_cpu_stats(-1, 0)),
    "free_pages": (lambda cn, p, s, n: cn.getFreePages(p, s, n, 0), lambda d, p, s, n: d.node_get_free_pages(p, s, n, 0)),
    "cpu_models": (lambda cn, a: cn.getCPUModelNames(a, 0), lambda d, a: d.connect_get_cpu_model_names(a, 0)),
    "baseline": (lambda cn, cpus: cn.baselineCPU(cpus, 0), lambda d, cpus: d.connect_baseline_cpu(cpus, 0)),
    "messages": (lambda cn, n, f=0: _real_dom(cn, n).messages(f), lambda d, n, f=0: d.domain_get_messages(_py_dom(d, n), f)),
    "sec_model": (lambda cn: cn.getSecurityModel(), lambda d: list(d.node_get_security_model())),
    # domain lookups and listings
    "list_all": (lambda cn, f=0: sorted(x.name() for x in cn.listAllDomains(f)),
                 lambda d, f=0: sorted(r.name for r in d.connect_list_all_domains(f))),
    "list_ids": (lambda cn: sorted(cn.listDomainsID()), lambda d: d.connect_list_domains()),
    "list_defined": (lambda cn: sorted(cn.listDefinedDomains()), lambda d: d.connect_list_defined_domains()),
    "num": (lambda cn: (cn.numOfDomains(), cn.numOfDefinedDomains()),
            lambda d: (d.connect_num_of_domains(), d.connect_num_of_defined_domains())),
    "lookup": (lambda cn, n: (_real_dom(cn, n).name(), _real_dom(cn, n).ID(), _real_dom(cn, n).UUIDString()),
               lambda d, n: (_py_dom(d, n).name, _py_dom(d, n).id, str(__import__("uuid").UUID(bytes=_py_dom(d, n).uuid)))),
    "lookup_id": (lambda cn, i: cn.lookupByID(i).name(), lambda d, i: d.domain_lookup_by_id(i).name),
    "lookup_uuid": (lambda cn, u: cn.lookupByUUIDString(u).name(),
                    lambda d, u: d.domain_lookup_by_uuid(__import__("uuid").UUID(u).bytes).name),
    "info": (lambda cn, n: _real_dom(cn, n).info()[:4], lambda d, n: list(d.domain_get_info(_py_dom(d, n))[:4])),
    "state": (lambda cn, n: _real_dom(cn, n).state(0), lambda d, n: list(d.domain_get_state(_py_dom(d, n), 0))),
    "active": (lambda cn, n: (_real_dom(cn, n).isActive(), _real_dom(cn, n).isPersistent()),
               lambda d, n: (d.domain_is_active(_py_dom(d, n)), d.domain_is_persistent(_py_dom(d, n)))),
    "xml": (lambda cn, n, f=0: _real_dom(cn, n).XMLDesc(f), lambda d, n, f=0: d.domain_get_xml_desc(_py_dom(d, n), f)),
    "os_type": (lambda cn, n: _real_dom(cn, n).OSType(), lambda d, n: d.domain_get_os_type(_py_dom(d, n))),
    "dom_hostname": (lambda cn, n: _real_dom(cn, n).hostname(0), lambda d, n: d.domain_get_hostname(_py_dom(d, n), 0)),
    # lifecycle
    "define": (lambda cn, x, f=0: cn.defineXMLFlags(x, f).name(), lambda d, x, f=0: d.domain_define_xml_flags(x, f).name),
    "create_xml": (lambda cn, x, f=0: cn.createXML(x, f).name(), lambda d, x, f=0: d.domain_create_xml(x, f).name),
    "undefine": (lambda cn, n, f=0: _real_dom(cn, n).undefineFlags(f),
                 lambda d, n, f=0: d.domain_undefine_flags(_py_dom(d, n), f)),
    "start": (lambda cn, n, f=0: _real_dom(cn, n).createWithFlags(f),
              lambda d, n, f=0: (d.domain_create_with_flags(_py_dom(d, n), f), 0)[1]),
    "destroy": (lambda cn, n, f=0: _real_dom(cn, n).destroyFlags(f),
                lambda d, n, f=0: d.domain_destroy_flags(_py_dom(d, n), f)),
    "shutdown": (lambda cn, n, f=0: _real_dom(cn, n).shutdownFlags(f),
                 lambda d, n, f=0: d.domain_shutdown_flags(_py_dom(d, n), f)),
    "reboot": (lambda cn, n, f=0: _real_dom(cn, n).reboot(f), lambda d, n, f=0: d.domain_reboot(_py_dom(d, n), f)),
    "reset": (lambda cn, n: _real_dom(cn, n).reset(0), lambda d, n: d.domain_reset(_py_dom(d, n), 0)),
    "suspend": (lambda cn, n: _real_dom(cn, n).suspend(), lambda d, n: d.domain_suspend(_py_dom(d, n))),
    "resume": (lambda cn, n: _real_dom(cn, n).resume(), lambda d, n: d.domain_resume(_py_dom(d, n))),
    "save": (lambda cn, n, p: _real_dom(cn, n).save(p), lambda d, n, p: d.domain_save(_py_dom(d, n), p)),
    "restore": (lambda cn, p: cn.restore(p), lambda d, p: d.domain_restore(p)),
    "save_xml": (lambda cn, p: cn.saveImageGetXMLDesc(p, 0), lambda d, p: d.domain_save_image_get_xml_desc(p, 0)),
    "managed_save": (lambda cn, n, f=0: _real_dom(cn, n).managedSave(f),
                     lambda d, n, f=0: d.domain_managed_save(_py_dom(d, n), f)),
    "has_ms": (lambda cn, n: _real_dom(cn, n).hasManagedSaveImage(0),
               lambda d, n: d.domain_has_managed_save_image(_py_dom(d, n), 0)),
    "ms_remove": (lambda cn, n: _real_dom(cn, n).managedSaveRemove(0),
                  lambda d, n: d.domain_managed_save_remove(_py_dom(d, n), 0)),
    "rename": (lambda cn, n, new: _real_dom(cn, n).rename(new, 0), lambda d, n, new: d.domain_rename(_py_dom(d, n), new, 0)),
    "autostart": (lambda cn, n: _real_dom(cn, n).autostart(), lambda d, n: d.domain_get_autostart(_py_dom(d, n))),
    "set_autostart": (lambda cn, n, v: _real_dom(cn, n).setAutostart(v),
                      lambda d, n, v: d.domain_set_autostart(_py_dom(d, n), v)),
    # settings
    "set_mem": (lambda cn, n, m, f: _real_dom(cn, n).setMemoryFlags(m, f),
                lambda d, n, m, f: d.domain_set_memory_flags(_py_dom(d, n), m, f)),
    "max_mem": (lambda cn, n: _real_dom(cn, n).maxMemory(), lambda d, n: d.domain_get_max_memory(_py_dom(d, n))),
    "set_vcpus": (lambda cn, n, v, f: _real_dom(cn, n).setVcpusFlags(v, f),
                  lambda d, n, v, f: d.domain_set_vcpus_flags(_py_dom(d, n), v, f)),
    "vcpus_flags": (lambda cn, n, f: _real_dom(cn, n).vcpusFlags(f),
                    lambda d, n, f: d.domain_get_vcpus_flags(_py_dom(d, n), f)),
    "max_vcpus_dom": (lambda cn, n: _real_dom(cn, n).maxVcpus(), lambda d, n: d.domain_get_max_vcpus(_py_dom(d, n))),
    "vcpus": (lambda cn, n: [[v[:2] + v[3:] for v in _real_dom(cn, n).vcpus()[0]], _real_dom(cn, n).vcpus()[1]],
              lambda d, n: [[v[:2] + v[3:] for v in d.domain_get_vcpus(_py_dom(d, n))[0]],
                            d.domain_get_vcpus(_py_dom(d, n))[1]]),
    "pin_vcpu": (lambda cn, n, v, m: _real_dom(cn, n).pinVcpu(v, m),
                 lambda d, n, v, m: d.domain_pin_vcpu(_py_dom(d, n), v, m)),
    "vcpu_pin_info": (lambda cn, n, f=0: _real_dom(cn, n).vcpuPinInfo(f),
                      lambda d, n, f=0: d.domain_get_vcpu_pin_info(_py_dom(d, n), f)),
    "emulator_pin": (lambda cn, n: _real_dom(cn, n).emulatorPinInfo(0),
                     lambda d, n: d.domain_get_emulator_pin_info(_py_dom(d, n), 0)),
    "get_meta": (lambda cn, n, t, u, f=0: _real_dom(cn, n).metadata(t, u, f),
                 lambda d, n, t, u, f=0: d.domain_get_metadata(_py_dom(d, n), t, u, f)),
    "set_meta": (lambda cn, n, t, v, k, u, f=0: _real_dom(cn, n).setMetadata(t, v, k, u, f),
                 lambda d, n, t, v, k, u, f=0: d.domain_set_metadata(_py_dom(d, n), t, v, k, u, f)),
    "get_time": (lambda cn, n: _real_dom(cn, n).getTime(0),
                 lambda d, n: dict(zip(("seconds", "nseconds"), d.domain_get_time(_py_dom(d, n), 0)))),
    "set_time": (lambda cn, n, s, ns: _real_dom(cn, n).setTime({"seconds": s, "nseconds": ns}, 0),
                 lambda d, n, s, ns: d.domain_set_time(_py_dom(d, n), s, ns, 0)),
    "sched": (lambda cn, n: (_real_dom(cn, n).schedulerType(), _real_dom(cn, n).schedulerParameters()),
              lambda d, n: (d.domain_get_scheduler_type(_py_dom(d, n)),
                            d.domain_get_scheduler_parameters(_py_dom(d, n)))),
    "mem_stats": (lambda cn, n: _real_dom(cn, n).memoryStats(), lambda d, n: d.domain_memory_stats(_py_dom(d, n))),
    "block_info": (lambda cn, n, p: _real_dom(cn, n).blockInfo(p, 0),
                   lambda d, n, p: list(d.domain_get_block_info(_py_dom(d, n), p, 0))),
    "block_stats_err": (lambda cn, n, p: len(_real_dom(cn, n).blockStats(p)),
                        lambda d, n, p: len(d.domain_block_stats(_py_dom(d, n), p))),
    "if_stats_err": (lambda cn, n, p: len(_real_dom(cn, n).interfaceStats(p)),
                     lambda d, n, p: len(d.domain_interface_stats(_py_dom(d, n), p))),
    "if_addrs": (lambda cn, n, s=0: _real_dom(cn, n).interfaceAddresses(s, 0),
                 lambda d, n, s=0: d.domain_interface_addresses(_py_dom(d, n), s, 0)),
    "cpu_stats_dom": (lambda cn, n, t: _real_dom(cn, n).getCPUStats(t, 0),
                      lambda d, n, t: d.domain_get_cpu_stats(_py_dom(d, n), -1 if t else 0, 0 if t else 2, 0)),
    "seclabel": (lambda cn, n: _real_dom(cn, n).securityLabel(),
                 lambda d, n: [d.domain_get_security_label(_py_dom(d, n))[0],
                               bool(d.domain_get_security_label(_py_dom(d, n))[1])]),
    "perf": (lambda cn, n, f=0: _real_dom(cn, n).perfEvents(f), lambda d, n, f=0: d.domain_get_perf_events(_py_dom(d, n), f)),
    "set_perf": (lambda cn, n, p, f=0: _real_dom(cn, n).setPerfEvents(p, f),
                 lambda d, n, p, f=0: d.domain_set_perf_events(_py_dom(d, n), p, f)),
    "mem_params": (lambda cn, n, f=0: _real_dom(cn, n).memoryParameters(f),
                   lambda d, n, f=0: d.domain_get_memory_parameters(_py_dom(d, n), f)),
    "blkio": (lambda cn, n, f=0: _real_dom(cn, n).blkioParameters(f),
              lambda d, n, f=0: d.domain_get_blkio_parameters(_py_dom(d, n), f)),
    "numa": (lambda cn, n, f=0: _real_dom(cn, n).numaParameters(f),
             lambda d, n, f=0: d.domain_get_numa_parameters(_py_dom(d, n), f)),
    "iothreads": (lambda cn, n, f=0: _real_dom(cn, n).ioThreadInfo(f),
                  lambda d, n, f=0: d.domain_get_iothread_info(_py_dom(d, n), f)),
    "add_iothread": (lambda cn, n, i, f=0: _real_dom(cn, n).addIOThread(i, f),
                     lambda d, n, i, f=0: d.domain_add_iothread(_py_dom(d, n), i, f)),
    "del_iothread": (lambda cn, n, i, f=0: _real_dom(cn, n).delIOThread(i, f),
                     lambda d, n, i, f=0: d.domain_del_iothread(_py_dom(d, n), i, f)),
    "fsinfo": (lambda cn, n: _real_dom(cn, n).fsInfo(0), lambda d, n: d.domain_get_fs_info(_py_dom(d, n), 0)),
    "freeze": (lambda cn, n, m=None: _real_dom(cn, n).fsFreeze(m, 0),
               lambda d, n, m=None: d.domain_fs_freeze(_py_dom(d, n), m, 0)),
    "thaw": (lambda cn, n, m=None: _real_dom(cn, n).fsThaw(m, 0),
             lambda d, n, m=None: d.domain_fs_thaw(_py_dom(d, n), m, 0)),
    "disk_errors": (lambda cn, n: _real_dom(cn, n).diskErrors(0), lambda d, n: d.domain_get_disk_errors(_py_dom(d, n), 0)),
    "control": (lambda cn, n: _real_dom(cn, n).controlInfo(0), lambda d, n: list(d.domain_get_control_info(_py_dom(d, n), 0))),
    # libvirt lists in hash order: compare sorted
    "all_stats": (lambda cn, s=0, f=0: sorted((r[0].name(), r[1]) for r in cn.getAllDomainStats(s, f)),
                  lambda d, s=0, f=0: sorted((r[0].name, r[1]) for r in d.connect_get_all_domain_stats(s, f))),
    "list_stats": (lambda cn, names, s=0, f=0: [(r[0].name(), r[1]) for r in
                                                cn.domainListGetStats([_real_dom(cn, x) for x in names], s, f)],
                   lambda d, names, s=0, f=0: [(r[0].name, r[1]) for r in
                                               d.domain_list_get_stats([_py_dom(d, x) for x in names], s, f)]),
    # snapshots
    "snap_create": (lambda cn, n, x, f=0: _real_dom(cn, n).snapshotCreateXML(x, f).getName(),
                    lambda d, n, x, f=0: d.domain_snapshot_create_xml(_py_dom(d, n), x, f).name),
    "snap_names": (lambda cn, n, f=0: sorted(_real_dom(cn, n).snapshotListNames(f)),
                   lambda d, n, f=0: sorted(d.domain_snapshot_list_names(_py_dom(d, n), -1, f))),
    "snap_num": (lambda cn, n, f=0: _real_dom(cn, n).snapshotNum(f), lambda d, n, f=0: d.domain_snapshot_num(_py_dom(d, n), f)),
    "snap_all": (lambda cn, n, f=0: sorted(s.getName() for s in _real_dom(cn, n).listAllSnapshots(f)),
                 lambda d, n, f=0: sorted(s.name for s in d.domain_list_all_snapshots(_py_dom(d, n), f))),
    "snap_current": (lambda cn, n: _real_dom(cn, n).snapshotCurrent(0).getName(),
                     lambda d, n: d.domain_snapshot_current(_py_dom(d, n), 0).name),
    "has_current": (lambda cn, n: _real_dom(cn, n).hasCurrentSnapshot(0),
                    lambda d, n: d.domain_has_current_snapshot(_py_dom(d, n), 0)),
    "snap_parent": (lambda cn, n, s: _real_snap(cn, n, s).getParent(0).getName(),
                    lambda d, n, s: d.domain_snapshot_get_parent(_py_snap(d, n, s), 0).name),
    "snap_children": (lambda cn, n, s, f=0: sorted(_real_snap(cn, n, s).listChildrenNames(f)),
                      lambda d, n, s, f=0: sorted(d.domain_snapshot_list_children_names(_py_snap(d, n, s), -1, f))),
    "snap_is_current": (lambda cn, n, s: _real_snap(cn, n, s).isCurrent(0),
                        lambda d, n, s: d.domain_snapshot_is_current(_py_snap(d, n, s), 0)),
    "snap_lookup": (lambda cn, n, s: _real_snap(cn, n, s).getName(),
                    lambda d, n, s: d.domain_snapshot_lookup_by_name(_py_dom(d, n), s, 0).name),
    "snap_revert": (lambda cn, n, s, f=0: _real_dom(cn, n).revertToSnapshot(_real_snap(cn, n, s), f),
                    lambda d, n, s, f=0: d.domain_revert_to_snapshot(_py_snap(d, n, s), f)),
    "snap_delete": (lambda cn, n, s, f=0: _real_snap(cn, n, s).delete(f),
                    lambda d, n, s, f=0: d.domain_snapshot_delete(_py_snap(d, n, s), f)),
    "snap_xml_nodate": (lambda cn, n, s: _strip_ctime(_real_snap(cn, n, s).getXMLDesc(0)),
                        lambda d, n, s: _strip_ctime(d.domain_snapshot_get_xml_desc(_py_snap(d, n, s), 0))),
    "set_mem_params": (lambda cn, n, p, f=0: _real_dom(cn, n).setMemoryParameters(p, f),
                       lambda d, n, p, f=0: d.domain_set_memory_parameters(_py_dom(d, n), p, f)),
    "set_blkio": (lambda cn, n, p, f=0: _real_dom(cn, n).setBlkioParameters(p, f),
                  lambda d, n, p, f=0: d.domain_set_blkio_parameters(_py_dom(d, n), p, f)),
    "set_numa": (lambda cn, n, p, f=0: _real_dom(cn, n).setNumaParameters(p, f),
                 lambda d, n, p, f=0: d.domain_set_numa_parameters(_py_dom(d, n), p, f)),
    "if_params": (lambda cn, n, dev, f=0: _real_dom(cn, n).interfaceParameters(dev, f),
                  lambda d, n, dev, f=0: d.domain_get_interface_parameters(_py_dom(d, n), dev, f)),
    "set_if_params": (lambda cn, n, dev, p, f=0: _real_dom(cn, n).setInterfaceParameters(dev, p, f),
                      lambda d, n, dev, p, f=0: d.domain_set_interface_parameters(_py_dom(d, n), dev, p, f)),
    "iotune": (lambda cn, n, dev, f=0: _real_dom(cn, n).blockIoTune(dev, f),
               lambda d, n, dev, f=0: d.domain_get_block_io_tune(_py_dom(d, n), dev, f)),
    "set_iotune": (lambda cn, n, dev, p, f=0: _real_dom(cn, n).setBlockIoTune(dev, p, f),
                   # libvirt-python reads the current values (for their types) before setting
                   lambda d, n, dev, p, f=0: (d.domain_get_block_io_tune(_py_dom(d, n), dev, f),
                                              d.domain_set_block_io_tune(_py_dom(d, n), dev, p, f))[1]),
    "set_lifecycle": (lambda cn, n, t, a, f=0: _real_dom(cn, n).setLifecycleAction(t, a, f),
                      lambda d, n, t, a, f=0: d.domain_set_lifecycle_action(_py_dom(d, n), t, a, f)),
    "pin_emulator": (lambda cn, n, m, f=0: _real_dom(cn, n).pinEmulator(m, f),
                     lambda d, n, m, f=0: d.domain_pin_emulator(_py_dom(d, n), m, f)),
    "pin_iothread": (lambda cn, n, i, m, f=0: _real_dom(cn, n).pinIOThread(i, m, f),
                     lambda d, n, i, m, f=0: d.domain_pin_iothread(_py_dom(d, n), i, m, f)),
    "set_iothread_params": (lambda cn, n, i, p, f=0: _real_dom(cn, n).setIOThreadParams(i, p, f),
                            lambda d, n, i, p, f=0: d.domain_set_iothread_params(_py_dom(d, n), i, p, f)),
    "nmi": (lambda cn, n: _real_dom(cn, n).injectNMI(0), lambda d, n: d.domain_inject_nmi(_py_dom(d, n), 0)),
    "send_key": (lambda cn, n: _real_dom(cn, n).sendKey(0, 0, [1, 2], 2, 0),
                 lambda d, n: d.domain_send_key(_py_dom(d, n), 0, 0, [1, 2], 0)),
    "signal": (lambda cn, n, pid, sig: _real_dom(cn, n).sendProcessSignal(pid, sig, 0),
               lambda d, n, pid, sig: d.domain_send_process_signal(_py_dom(d, n), pid, sig, 0)),
    "peek": (lambda cn, n, s, z, f: _real_dom(cn, n).memoryPeek(s, z, f),
             lambda d, n, s, z, f: d.domain_memory_peek(_py_dom(d, n), s, z, f)),
    "core_dump": (lambda cn, n, p, f=0: _real_dom(cn, n).coreDump(p, f),
                  lambda d, n, p, f=0: d.domain_core_dump(_py_dom(d, n), p, f)),
    "stats_period": (lambda cn, n, p, f=0: _real_dom(cn, n).setMemoryStatsPeriod(p, f),
                     lambda d, n, p, f=0: d.domain_set_memory_stats_period(_py_dom(d, n), p, f)),
    "password": (lambda cn, n: _real_dom(cn, n).setUserPassword("root", "pw", 0),
                 lambda d, n: d.domain_set_user_password(_py_dom(d, n), "root", "pw", 0)),
    "trim": (lambda cn, n, m: _real_dom(cn, n).fSTrim(m, 0, 0), lambda d, n, m: d.domain_fs_trim(_py_dom(d, n), m, 0, 0)),
    "save_define": (lambda cn, p, x, f=0: cn.saveImageDefineXML(p, x, f),
                    lambda d, p, x, f=0: d.domain_save_image_define_xml(p, x, f)),
    "pool_names": (lambda cn: (sorted(cn.listStoragePools()), sorted(cn.listDefinedStoragePools()),
                               cn.numOfStoragePools(), cn.numOfDefinedStoragePools()),
                   lambda d: (d.connect_list_storage_pools(), d.connect_list_defined_storage_pools(),
                              d.connect_num_of_storage_pools(), d.connect_num_of_defined_storage_pools())),
    "vol_num": (lambda cn, p: cn.storagePoolLookupByName(p).numOfVolumes(),
                lambda d, p: d.storage_pool_num_of_volumes(_py_pool(d, p))),
    "vol_all": (lambda cn, p: sorted(v.name() for v in cn.storagePoolLookupByName(p).listAllVolumes(0)),
                lambda d, p: sorted(v.name for v in d.storage_pool_list_all_volumes(_py_pool(d, p), 0))),
    "pool_of_vol": (lambda cn, p, v: cn.storagePoolLookupByName(p).storageVolLookupByName(v).storagePoolLookupByVolume().name(),
                    lambda d, p, v: d.storage_pool_lookup_by_volume(_py_vol(d, p, v)).name),
    "pool_uuid": (lambda cn, u: cn.storagePoolLookupByUUIDString(u).name(),
                  lambda d, u: d.storage_pool_lookup_by_uuid(__import__("uuid").UUID(u).bytes).name),
    "net_uuid": (lambda cn, u: cn.networkLookupByUUIDString(u).name(),
                 lambda d, u: d.network_lookup_by_uuid(__import__("uuid").UUID(u).bytes).name),
    "dev_caps_num": (lambda cn, n: cn.nodeDeviceLookupByName(n).numOfCaps(),
                     lambda d, n: d.node_device_num_of_caps(NodeDeviceRef(n))),
    "if_num": (lambda cn: (cn.numOfInterfaces(), cn.numOfDefinedInterfaces()),
               lambda d: (d.connect_num_of_interfaces(), d.connect_num_of_defined_interfaces())),
    "is_updated": (lambda cn, n: _real_dom(cn, n).isUpdated(), lambda d, n: d.domain_is_updated(_py_dom(d, n))),
    "launch_sec": (lambda cn, n: _real_dom(cn, n).launchSecurityInfo(0),
                   lambda d, n: d.domain_get_launch_security_info(_py_dom(d, n), 4)),  # python adds STRING_OKAY
    # checkpoints
    "chk_create": (lambda cn, n, x, f=0: _real_dom(cn, n).checkpointCreateXML(x, f).getName(),
                   lambda d, n, x, f=0: d.domain_checkpoint_create_xml(_py_dom(d, n), x, f).name),
    "chk_all": (lambda cn, n, f=0: sorted(k.getName() for k in _real_dom(cn, n).listAllCheckpoints(f)),
                lambda d, n, f=0: sorted(k.name for k in d.domain_list_all_checkpoints(_py_dom(d, n), f))),
    "chk_parent": (lambda cn, n, k: _real_dom(cn, n).checkpointLookupByName(k, 0).getParent(0).getName(),
                   lambda d, n, k: d.domain_checkpoint_get_parent(_py_snap(d, n, k), 0).name),
    "chk_children": (lambda cn, n, k, f=0: sorted(x.getName() for x in
                                                  _real_dom(cn, n).checkpointLookupByName(k, 0).listAllChildren(f)),
                     lambda d, n, k, f=0: sorted(x.name for x in
                                                 d.domain_checkpoint_list_all_children(_py_snap(d, n, k), f))),
    "chk_xml": (lambda cn, n, k, f=0: _strip_ctime(_real_dom(cn, n).checkpointLookupByName(k, 0).getXMLDesc(f)),
                lambda d, n, k, f=0: _strip_ctime(d.domain_checkpoint_get_xml_desc(_py_snap(d, n, k), f))),
    "chk_delete": (lambda cn, n, k, f=0: _real_dom(cn, n).checkpointLookupByName(k, 0).delete(f),
                   lambda d, n, k, f=0: d.domain_checkpoint_delete(_py_snap(d, n, k), f)),
    "chk_lookup": (lambda cn, n, k: _real_dom(cn, n).checkpointLookupByName(k, 0).getName(),
                   lambda d, n, k: d.domain_checkpoint_lookup_by_name(_py_dom(d, n), k, 0).name),
    # networks
    "net_list": (lambda cn, f=0: sorted(x.name() for x in cn.listAllNetworks(f)),
                 lambda d, f=0: sorted(r.name for r in d.connect_list_all_networks(f))),
    "net_names": (lambda cn: (sorted(cn.listNetworks()), sorted(cn.listDefinedNetworks()),
                              cn.numOfNetworks(), cn.numOfDefinedNetworks()),
                  lambda d: (d.connect_list_networks(), d.connect_list_defined_networks(),
                             d.connect_num_of_networks(), d.connect_num_of_defined_networks())),
    "net_xml": (lambda cn, n: cn.networkLookupByName(n).XMLDesc(0), lambda d, n: d.network_get_xml_desc(_py_net(d, n), 0)),
    "net_define": (lambda cn, x: cn.networkDefineXML(x).name(), lambda d, x: d.network_define_xml(x).name),
    "net_create_xml": (lambda cn, x: cn.networkCreateXML(x).name(), lambda d, x: d.network_create_xml(x).name),
    "net_start": (lambda cn, n: cn.networkLookupByName(n).create(), lambda d, n: d.network_create(_py_net(d, n))),
    "net_destroy": (lambda cn, n: cn.networkLookupByName(n).destroy(), lambda d, n: d.network_destroy(_py_net(d, n))),
    "net_undefine": (lambda cn, n: cn.networkLookupByName(n).undefine(), lambda d, n: d.network_undefine(_py_net(d, n))),
    "net_state": (lambda cn, n: (cn.networkLookupByName(n).isActive(), cn.networkLookupByName(n).isPersistent(),
                                 cn.networkLookupByName(n).autostart()),
                  lambda d, n: (d.network_is_active(_py_net(d, n)), d.network_is_persistent(_py_net(d, n)),
                                d.network_get_autostart(_py_net(d, n)))),
    "net_bridge": (lambda cn, n: cn.networkLookupByName(n).bridgeName(), lambda d, n: d.network_get_bridge_name(_py_net(d, n))),
    "net_autostart": (lambda cn, n, v: cn.networkLookupByName(n).setAutostart(v),
                      lambda d, n, v: d.network_set_autostart(_py_net(d, n), v)),
    "net_update": (lambda cn, n, cmd, sec, idx, x, f=0: cn.networkLookupByName(n).update(cmd, sec, idx, x, f),
                   lambda d, n, cmd, sec, idx, x, f=0: d.network_update(_py_net(d, n), cmd, sec, idx, x, f)),
    # interfaces
    "if_list": (lambda cn, f=0: sorted(x.name() for x in cn.listAllInterfaces(f)),
                lambda d, f=0: sorted(r.name for r in d.connect_list_all_interfaces(f))),
    "if_names": (lambda cn: (sorted(cn.listInterfaces()), sorted(cn.listDefinedInterfaces())),
                 lambda d: (d.connect_list_interfaces(), d.connect_list_defined_interfaces())),
    "if_xml": (lambda cn, n: cn.interfaceLookupByName(n).XMLDesc(0),
               lambda d, n: d.interface_get_xml_desc(d.interface_lookup_by_name(n), 0)),
    "if_mac": (lambda cn, m: cn.interfaceLookupByMACString(m).name(), lambda d, m: d.interface_lookup_by_mac_string(m).name),
    "if_active": (lambda cn, n: cn.interfaceLookupByName(n).isActive(),
                  lambda d, n: d.interface_is_active(d.interface_lookup_by_name(n))),
    "if_define": (lambda cn, x: cn.interfaceDefineXML(x, 0).name(), lambda d, x: d.interface_define_xml(x, 0).name),
    "if_undefine": (lambda cn, n: cn.interfaceLookupByName(n).undefine(),
                    lambda d, n: d.interface_undefine(d.interface_lookup_by_name(n))),
    "if_start": (lambda cn, n: cn.interfaceLookupByName(n).create(0),
                 lambda d, n: d.interface_create(d.interface_lookup_by_name(n), 0)),
    "if_stop": (lambda cn, n: cn.interfaceLookupByName(n).destroy(0),
                lambda d, n: d.interface_destroy(d.interface_lookup_by_name(n), 0)),
    "if_begin": (lambda cn: cn.changeBegin(0), lambda d: d.interface_change_begin(0)),
    "if_commit": (lambda cn: cn.changeCommit(0), lambda d: d.interface_change_commit(0)),
    "if_rollback": (lambda cn: cn.changeRollback(0), lambda d: d.interface_change_rollback(0)),
    # storage
    "pool_list": (lambda cn, f=0: sorted(x.name() for x in cn.listAllStoragePools(f)),
                  lambda d, f=0: sorted(r.name for r in d.connect_list_all_storage_pools(f))),
    "pool_info": (lambda cn, n: cn.storagePoolLookupByName(n).info(), lambda d, n: list(d.storage_pool_get_info(_py_pool(d, n)))),
    "pool_xml": (lambda cn, n: cn.storagePoolLookupByName(n).XMLDesc(0),
                 lambda d, n: d.storage_pool_get_xml_desc(_py_pool(d, n), 0)),
    "pool_define": (lambda cn, x: cn.storagePoolDefineXML(x, 0).name(), lambda d, x: d.storage_pool_define_xml(x, 0).name),
    "pool_create_xml": (lambda cn, x: cn.storagePoolCreateXML(x, 0).name(),
                        lambda d, x: d.storage_pool_create_xml(x, 0).name),
    "pool_build": (lambda cn, n: cn.storagePoolLookupByName(n).build(0), lambda d, n: d.storage_pool_build(_py_pool(d, n), 0)),
    "pool_start": (lambda cn, n: cn.storagePoolLookupByName(n).create(0), lambda d, n: d.storage_pool_create(_py_pool(d, n), 0)),
    "pool_destroy": (lambda cn, n: cn.storagePoolLookupByName(n).destroy(), lambda d, n: d.storage_pool_destroy(_py_pool(d, n))),
    "pool_delete": (lambda cn, n: cn.storagePoolLookupByName(n).delete(0), lambda d, n: d.storage_pool_delete(_py_pool(d, n), 0)),
    "pool_undefine": (lambda cn, n: cn.storagePoolLookupByName(n).undefine(),
                      lambda d, n: d.storage_pool_undefine(_py_pool(d, n))),
    "pool_refresh": (lambda cn, n: cn.storagePoolLookupByName(n).refresh(0),
                     lambda d, n: d.storage_pool_refresh(_py_pool(d, n), 0)),
    "pool_state": (lambda cn, n: (cn.storagePoolLookupByName(n).isActive(), cn.storagePoolLookupByName(n).isPersistent(),
                                  cn.storagePoolLookupByName(n).autostart()),
                   lambda d, n: (d.storage_pool_is_active(_py_pool(d, n)), d.storage_pool_is_persistent(_py_pool(d, n)),
                                 d.storage_pool_get_autostart(_py_pool(d, n)))),
    "pool_autostart": (lambda cn, n, v: cn.storagePoolLookupByName(n).setAutostart(v),
                       lambda d, n, v: d.storage_pool_set_autostart(_py_pool(d, n), v)),
    "pool_sources": (lambda cn, t, s=None: cn.findStoragePoolSources(t, s, 0),
                     lambda d, t, s=None: d.connect_find_storage_pool_sources(t, s, 0)),
    "vol_create": (lambda cn, p, x: cn.storagePoolLookupByName(p).createXML(x, 0).key(),
                   lambda d, p, x: d.storage_vol_create_xml(_py_pool(d, p), x, 0).key),
    "vol_clone": (lambda cn, p, x, src: cn.storagePoolLookupByName(p).createXMLFrom(
        x, cn.storagePoolLookupByName(p).storageVolLookupByName(src), 0).key(),
        lambda d, p, x, src: d.storage_vol_create_xml_from(_py_pool(d, p), x, _py_vol(d, p, src), 0).key),
    "vol_list": (lambda cn, p: sorted(cn.storagePoolLookupByName(p).listVolumes()),
                 lambda d, p: sorted(d.storage_pool_list_volumes(_py_pool(d, p)))),
    "vol_info": (lambda cn, p, v: cn.storagePoolLookupByName(p).storageVolLookupByName(v).info(),
                 lambda d, p, v: list(d.storage_vol_get_info(_py_vol(d, p, v)))),
    "vol_path": (lambda cn, p, v: cn.storagePoolLookupByName(p).storageVolLookupByName(v).path(),
                 lambda d, p, v: d.storage_vol_get_path(_py_vol(d, p, v))),
    "vol_xml": (lambda cn, p, v: cn.storagePoolLookupByName(p).storageVolLookupByName(v).XMLDesc(0),
                lambda d, p, v: d.storage_vol_get_xml_desc(_py_vol(d, p, v), 0)),
    "vol_by_path": (lambda cn, path: cn.storageVolLookupByPath(path).name(),
                    lambda d, path: d.storage_vol_lookup_by_path(path).name),
    "vol_by_key": (lambda cn, k: cn.storageVolLookupByKey(k).name(), lambda d, k: d.storage_vol_lookup_by_key(k).name),
    "vol_delete": (lambda cn, p, v: cn.storagePoolLookupByName(p).storageVolLookupByName(v).delete(0),
                   lambda d, p, v: d.storage_vol_delete(_py_vol(d, p, v), 0)),
    # node devices
    "dev_list": (lambda cn, f=0: sorted(x.name() for x in cn.listAllDevices(f)),
                 lambda d, f=0: sorted(r.name for r in d.connect_list_all_node_devices(f))),
    "dev_names": (lambda cn, cap=None: sorted(cn.listDevices(cap, 0)), lambda d, cap=None: sorted(d.node_list_devices(cap, -1, 0))),
    "dev_num": (lambda cn, cap=None: cn.numOfDevices(cap, 0), lambda d, cap=None: d.node_num_of_devices(cap, 0)),
    "dev_xml": (lambda cn, n: cn.nodeDeviceLookupByName(n).XMLDesc(0),
                lambda d, n: d.node_device_get_xml_desc(NodeDeviceRef(n), 0)),
    "dev_lookup": (lambda cn, n: cn.nodeDeviceLookupByName(n).name(), lambda d, n: d.node_device_lookup_by_name(n).name),
    "dev_caps": (lambda cn, n: cn.nodeDeviceLookupByName(n).listCaps(),
                 lambda d, n: d.node_device_list_caps(NodeDeviceRef(n))),
    "dev_parent": (lambda cn, n: cn.nodeDeviceLookupByName(n).parent(),
                   lambda d, n: d.node_device_get_parent(NodeDeviceRef(n))),
    "dev_create": (lambda cn, x: cn.nodeDeviceCreateXML(x, 0).name(), lambda d, x: d.node_device_create_xml(x, 0).name),
    "dev_destroy": (lambda cn, n: cn.nodeDeviceLookupByName(n).destroy(),
                    lambda d, n: d.node_device_destroy(NodeDeviceRef(n))),
}


def _strip_ctime(xml: str) -> str:
    import re
    return re.sub(r"<creationTime>\d+</creationTime>", "<creationTime/>", xml)


def _call(fn: Callable[..., Any], target: Any, args: tuple[Any, ...]) -> Any:
    try:
        out = fn(target, *args)
    except LibvirtError as exc:
        return ("error", exc.code, exc.domain, exc.message)
    except Exception as exc:  # libvirt.libvirtError
        if libvirt is not None and isinstance(exc, libvirt.libvirtError):
            return ("error", exc.get_error_code(), exc.get_error_domain(), exc.get_error_message())
        raise
    if isinstance(out, tuple):
        out = list(out)
    if out is None:
        out = 0  # libvirt-python returns 0 where the driver returns nothing
    return ("ok", out)


def run_real(uri: str, steps: list[tuple[Any, ...]]) -> list[Any]:
    """Run *steps* on libvirt's own test driver, in a worker process with a fresh default state."""
    return _ask_worker("run", uri, steps)


def events_real(uri: str, steps: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Lifecycle events libvirt emits while running *steps* (in the worker process)."""
    return _ask_worker("events", uri, steps)


_worker: "subprocess.Popen[bytes] | None" = None
_worker_lock = threading.Lock()


def _ask_worker(kind: str, uri: str, steps: list[tuple[Any, ...]]) -> Any:
    """libvirt keeps one test:///default state per process while any connection is open; other
    tests in this process may hold one, so the oracle runs in a private child process."""
    global _worker
    with _worker_lock:
        if _worker is None or _worker.poll() is not None:
            _worker = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE)
        assert _worker.stdin is not None and _worker.stdout is not None
        pickle.dump((kind, uri, steps), _worker.stdin)
        _worker.stdin.flush()
        status, value = pickle.load(_worker.stdout)
    if status != "ok":
        raise RuntimeError(f"libvirt oracle failed: {value}")
    return value


def _serve() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # keep the pickle channel clean
    while True:
        try:
            kind, uri, steps = pickle.load(stdin)
        except EOFError:
            return
        try:
            result = ("ok", _run_real_local(uri, steps) if kind == "run" else _events_real_local(uri, steps))
        except Exception as exc:  # reported to the caller
            result = ("error", repr(exc))
        pickle.dump(result, stdout)
        stdout.flush()


def _run_real_local(uri: str, steps: list[tuple[Any, ...]]) -> list[Any]:
    conn = libvirt.open(uri)
    try:
        return [_call(OPS[step[0]][0], conn, step[1:]) for step in steps]
    finally:
        conn.close()


def run_py(uri: str, steps: list[tuple[Any, ...]]) -> list[Any]:
    """Run *steps* on pyvirt's test driver."""
    drv = open_driver(uri)
    try:
        return [_call(OPS[step[0]][1], drv, step[1:]) for step in steps]
    finally:
        drv.connect_close()


# -- events ---------------------------------------------------------------------------
_loop_started = False


def _ensure_loop() -> None:
    global _loop_started
    if _loop_started:
        return
    libvirt.virEventRegisterDefaultImpl()

    def run() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run, daemon=True).start()
    _loop_started = True


def _events_real_local(uri: str, steps: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    _ensure_loop()
    seen: list[tuple[Any, ...]] = []
    conn = libvirt.open(uri)
    try:
        ids = [
            conn.domainEventRegisterAny(None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                        lambda _c, dom, ev, det, _o: seen.append(("dom", dom.name(), ev, det)), None),
            conn.networkEventRegisterAny(None, c.VIR_NETWORK_EVENT_ID_LIFECYCLE,
                                         lambda _c, net, ev, det, _o: seen.append(("net", net.name(), ev, det)), None),
            conn.storagePoolEventRegisterAny(None, c.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
                                             lambda _c, p, ev, det, _o: seen.append(("pool", p.name(), ev, det)), None),
            conn.nodeDeviceEventRegisterAny(None, c.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE,
                                            lambda _c, dv, ev, det, _o: seen.append(("dev", dv.name(), ev, det)), None),
        ]
        marker = "pyvirt-event-marker"
        for step in steps:
            _call(OPS[step[0]][0], conn, step[1:])
        # a final define/undefine pair marks the end of the stream
        x = (f"<domain type='test'><name>{marker}</name><memory>1024</memory>"
             f"<os><type>hvm</type></os></domain>")
        conn.defineXML(x).undefine()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e[1] == marker and e[2] == 1 for e in seen):
            time.sleep(0.01)
        for cid in ids[:1]:
            conn.domainEventDeregisterAny(cid)
        conn.networkEventDeregisterAny(ids[1])
        conn.storagePoolEventDeregisterAny(ids[2])
        conn.nodeDeviceEventDeregisterAny(ids[3])
    finally:
        conn.close()
    return [e for e in seen if e[1] != marker]


def events_py(uri: str, steps: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The same for pyvirt's driver (callbacks get the ref and the event arguments)."""
    seen: list[tuple[Any, ...]] = []
    drv = open_driver(uri)
    try:
        drv.connect_domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              lambda ref, ev, det: seen.append(("dom", ref.name, ev, det)))
        drv.connect_network_event_register_any(None, c.VIR_NETWORK_EVENT_ID_LIFECYCLE,
                                               lambda ref, ev, det: seen.append(("net", ref.name, ev, det)))
        drv.connect_storage_pool_event_register_any(None, c.VIR_STORAGE_POOL_EVENT_ID_LIFECYCLE,
                                                    lambda ref, ev, det: seen.append(("pool", ref.name, ev, det)))
        drv.connect_node_device_event_register_any(None, c.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE,
                                                   lambda ref, ev, det: seen.append(("dev", ref.name, ev, det)))
        for step in steps:
            _call(OPS[step[0]][1], drv, step[1:])
    finally:
        drv.connect_close()
    return seen


if __name__ == "__main__" and sys.argv[1:] == ["--worker"]:
    _serve()
