import libvirt

conn = libvirt.open("test:///default")
dom = conn.lookupByName("test")
for call in (lambda: conn.lookupByName("nope"), lambda: conn.lookupByID(99),
             lambda: conn.lookupByUUIDString("00000000-0000-0000-0000-000000000000"),
             lambda: conn.networkLookupByName("nope"), lambda: conn.storagePoolLookupByName("nope"),
             lambda: conn.nodeDeviceLookupByName("nope"), lambda: conn.interfaceLookupByName("nope"),
             lambda: dom.resume(), lambda: dom.create(), lambda: conn.defineXML("<domain"),
             lambda: conn.defineXML("<network><name>x</name></network>"),
             lambda: dom.snapshotLookupByName("nope"), lambda: dom.setMemory(99999999999),
             lambda: dom.undefineFlags(1 << 20), lambda: conn.listAllDomains(1 << 30)):
    try:
        call()
        print("no error")
    except libvirt.libvirtError as e:
        print(e.get_error_code(), e.get_error_domain(), repr(e.get_error_message()))
ro = libvirt.openReadOnly("test:///default")
try:
    ro.lookupByName("test").destroy()
except libvirt.libvirtError as e:
    print(e.get_error_code(), e.get_error_domain(), repr(e.get_error_message()))
print(ro.lookupByName("test").state())
