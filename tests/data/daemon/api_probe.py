"""Calls many libvirt-python APIs on URI argv[1] and prints one line per result (for comparisons)."""

import sys, libvirt
libvirt.registerErrorHandler(lambda *a: None, None)
c = libvirt.open(sys.argv[1])
d = c.lookupByName("test")
n = c.networkLookupByName("default")
p = c.storagePoolLookupByName("default-pool")
calls = {
 "getInfo": c.getInfo, "getType": c.getType, "getVersion": c.getVersion, "getMaxVcpus": lambda: c.getMaxVcpus(None),
 "getFreeMemory": c.getFreeMemory, "getCellsFreeMemory": lambda: c.getCellsFreeMemory(0, 2),
 "getSecurityModel": c.getSecurityModel, "isSecure": c.isSecure, "isEncrypted": c.isEncrypted, "isAlive": c.isAlive,
 "listDomainsID": c.listDomainsID, "listDefinedDomains": c.listDefinedDomains, "numOfDomains": c.numOfDomains,
 "listNetworks": c.listNetworks, "listDefinedNetworks": c.listDefinedNetworks, "listStoragePools": c.listStoragePools,
 "listInterfaces": c.listInterfaces, "listDevices": lambda: c.listDevices(None, 0), "numOfDevices": lambda: c.numOfDevices(None, 0),
 "getCPUMap": lambda: c.getCPUMap(0), "getCPUStats": lambda: c.getCPUStats(-1, 0), "getMemoryStats": lambda: c.getMemoryStats(-1, 0),
 "getFreePages": lambda: c.getFreePages([4, 2048], 0, 2, 0), "getCPUModelNames": lambda: c.getCPUModelNames("x86_64", 0),
 "d.info": d.info, "d.state": d.state, "d.maxMemory": d.maxMemory, "d.maxVcpus": d.maxVcpus, "d.vcpus": d.vcpus,
 "d.vcpusFlags": lambda: d.vcpusFlags(0), "d.vcpuPinInfo": lambda: d.vcpuPinInfo(0), "d.emulatorPinInfo": lambda: d.emulatorPinInfo(0),
 "d.OSType": d.OSType, "d.ID": d.ID, "d.UUIDString": d.UUIDString, "d.autostart": d.autostart, "d.isPersistent": d.isPersistent,
 "d.hasManagedSaveImage": lambda: d.hasManagedSaveImage(0), "d.schedulerType": d.schedulerType,
 "d.schedulerParametersFlags": lambda: d.schedulerParametersFlags(0), "d.memoryParameters": lambda: d.memoryParameters(0),
 "d.blkioParameters": lambda: d.blkioParameters(0), "d.numaParameters": lambda: d.numaParameters(0),
 "d.interfaceParameters": lambda: d.interfaceParameters("testnet0", 0), "d.blockIoTune": lambda: d.blockIoTune("vda", 0),
 "d.blockInfo": lambda: d.blockInfo("vda", 0), "d.memoryStats": d.memoryStats, "d.getCPUStats": lambda: d.getCPUStats(True, 0),
 "d.getCPUStats2": lambda: d.getCPUStats(False, 0), "d.interfaceAddresses": lambda: d.interfaceAddresses(0, 0),
 "d.ioThreadInfo": lambda: d.ioThreadInfo(0), "d.fsInfo": lambda: d.fsInfo(0), "d.diskErrors": lambda: d.diskErrors(0),
 "d.securityLabel": d.securityLabel, "d.securityLabelList": d.securityLabelList, "d.getTime": lambda: d.getTime(0),
 "d.jobInfo": d.jobInfo, "d.jobStats": lambda: d.jobStats(0), "d.controlInfo": lambda: d.controlInfo(0),
 "d.hostname": lambda: d.hostname(0), "d.guestInfo": lambda: d.guestInfo(0, 0), "d.perfEvents": lambda: d.perfEvents(0),
 "d.metadata": lambda: d.metadata(0, None, 0), "d.listAllSnapshots": lambda: d.listAllSnapshots(0),
 "d.snapshotNum": lambda: d.snapshotNum(0), "d.hasCurrentSnapshot": lambda: d.hasCurrentSnapshot(0),
 "d.launchSecurityInfo": lambda: d.launchSecurityInfo(0), "d.getMessages": lambda: d.getMessages(0),
 "d.blockStats": lambda: d.blockStats("vda"), "d.interfaceStats": lambda: d.interfaceStats("testnet0"),
 "n.info": lambda: (n.name(), n.bridgeName(), n.autostart(), n.isActive(), n.isPersistent()),
 "n.DHCPLeases": lambda: n.DHCPLeases(), "n.listAllPorts": lambda: n.listAllPorts(0),
 "p.info": p.info, "p.listVolumes": p.listVolumes, "p.numOfVolumes": p.numOfVolumes, "p.autostart": p.autostart,
 "p.listAllVolumes": lambda: [(v.name(), v.key(), v.path(), v.info()) for v in p.listAllVolumes(0)],
 "listAllDevices": lambda: [(x.name(), x.parent(), x.listCaps(), x.numOfCaps()) for x in c.listAllDevices(0)],
 "listAllInterfaces": lambda: [(i.name(), i.MACString(), i.isActive()) for i in c.listAllInterfaces(0)],
 "listAllSecrets": lambda: c.listAllSecrets(0), "getAllDomainStats": lambda: [(x.name(), sorted(s)) for x, s in c.getAllDomainStats(0, 0)],
 "domainListGetStats": lambda: [(x.name(), sorted(s)) for x, s in c.domainListGetStats([d], 0, 0)],
 "lookupByID": lambda: c.lookupByID(1).name(), "lookupByUUIDString": lambda: c.lookupByUUIDString(d.UUIDString()).name(),
 "storageVolLookupByPath": lambda: c.storageVolLookupByPath("/default-pool/x").name(),
 "nodeDeviceLookupSCSIHostByWWN": lambda: c.nodeDeviceLookupSCSIHostByWWN("x", "y", 0),
 "baselineCPU": lambda: c.baselineCPU(["<cpu><arch>x86_64</arch><model>qemu64</model></cpu>"], 0),
 "compareCPU": lambda: c.compareCPU("<cpu><arch>x86_64</arch><model>qemu64</model></cpu>", 0),
 "getSysinfo": lambda: len(c.getSysinfo(0)),
}
skip = {"listDevices", "listAllDevices", "getMemoryStats", "getFreePages", "d.schedulerParametersFlags",
        "d.launchSecurityInfo", "d.securityLabelList", "d.info", "d.vcpus", "d.blockStats", "d.interfaceStats"}
for k, f in calls.items():
    if k in skip:
        continue
    try:
        r = f()
    except libvirt.libvirtError as e:
        r = ("ERR", e.get_error_code(), e.get_error_domain(), str(e))
    except Exception as e:
        r = ("PYERR", type(e).__name__, str(e))
    print(k, repr(r))
