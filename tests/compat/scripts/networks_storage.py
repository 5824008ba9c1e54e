import libvirt

conn = libvirt.open("test:///default")
for net in conn.listAllNetworks():
    print(net.name(), net.UUIDString(), net.isActive(), net.isPersistent(), net.autostart(), net.bridgeName())
    print(net.XMLDesc(0))
print(conn.listNetworks(), conn.listDefinedNetworks(), conn.numOfNetworks())
net = conn.networkDefineXML("<network><name>lan</name><uuid>aaaaaaaa-2222-3333-4444-555555555555</uuid><bridge name='virbr7'/>"
                            "<ip address='10.7.0.1' netmask='255.255.255.0'/></network>")
print(net.isActive(), conn.listDefinedNetworks())
net.create()
print(net.isActive(), net.XMLDesc(0))
net.destroy()
net.undefine()
for pool in conn.listAllStoragePools():
    print(pool.name(), pool.UUIDString(), pool.info(), pool.isActive(), pool.numOfVolumes(), pool.listVolumes())
pool = conn.storagePoolLookupByName("default-pool")
vol = pool.createXML("<volume><name>disk1.img</name><capacity unit='M'>10</capacity></volume>", 0)
print(vol.name(), vol.key(), vol.path(), vol.info())
print(vol.XMLDesc(0))
print(pool.info(), pool.listVolumes())
print(conn.storageVolLookupByPath(vol.path()).name())
vol.delete(0)
print(pool.listVolumes(), pool.info())
print(pool.XMLDesc(0))
for iface in conn.listAllInterfaces():
    print(iface.name(), iface.MACString(), iface.isActive())
    print(iface.XMLDesc(0))
for dev in sorted(conn.listAllDevices(), key=lambda d: d.name()):  # libvirt's order is random
    print(dev.name(), dev.parent(), dev.listCaps(), dev.numOfCaps())
print(sorted(conn.listDevices(None, 0)))
print(conn.nodeDeviceLookupByName("scsi_host1").XMLDesc(0))
