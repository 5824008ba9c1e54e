import libvirt

conn = libvirt.open("test:///default")
dom = conn.lookupByName("test")
for d, stats in conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_VCPU
                                       | libvirt.VIR_DOMAIN_STATS_BALLOON):
    print(d.name(), sorted((k, v) for k, v in stats.items() if "time" not in k))
print(sorted(conn.domainListGetStats([dom], libvirt.VIR_DOMAIN_STATS_STATE)[0][1].items()))
print(dom.schedulerType(), dom.blockInfo("vda"), dom.controlInfo(), dom.securityLabel())
print(sorted(dom.memoryStats().items()))
print(dom.vcpus()[1])
print(conn.getCPUMap())
print(conn.getSysinfo(0))
print(conn.getCapabilities())
