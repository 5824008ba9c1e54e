import libvirt

conn = libvirt.open("test:///default")
print(conn.getType(), conn.getVersion(), conn.getMaxVcpus(None), conn.isAlive(), conn.isSecure(), conn.isEncrypted())
print(conn.getInfo())
print(conn.getCellsFreeMemory(0, 2), conn.getFreeMemory())
print(conn.getSecurityModel())
for dom in conn.listAllDomains():
    print(dom.name(), dom.ID(), dom.UUIDString(), dom.UUID().hex(), dom.OSType(), dom.isActive(), dom.isPersistent())
    state, maxmem, mem, vcpus, _cputime = dom.info()
    print(state, maxmem, mem, vcpus, dom.state(), dom.maxMemory(), dom.maxVcpus(), dom.autostart())
    print(dom.hasManagedSaveImage(), dom.hasCurrentSnapshot(), dom.snapshotNum(), dom.hostname())
print(conn.listDomainsID(), conn.listDefinedDomains(), conn.numOfDomains(), conn.numOfDefinedDomains())
same = conn.lookupByName("test")
print(same.name() == conn.lookupByID(1).name() == conn.lookupByUUIDString("6695eb01-f6a4-8304-79aa-97f2502e193f").name())
print(sorted(d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)))
print(sorted(d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE)))
conn.close()
