import libvirt

XML = """<domain type='test'>
  <name>demo</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os><type arch='i686'>hvm</type></os>
</domain>"""

conn = libvirt.open("test:///default")
dom = conn.defineXML(XML)
print(dom.name(), dom.ID(), dom.isActive(), dom.isPersistent(), dom.state(), dom.info()[:4])
dom.create()
print(dom.ID(), dom.state(), dom.isActive())
dom.suspend()
print(dom.state())
dom.resume()
print(dom.state())
dom.setMemory(262144)
print(dom.info()[1:3])
dom.shutdown()
print(dom.state(), dom.ID())
try:
    dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
except libvirt.libvirtError as e:
    print("error", e.get_error_code(), e.get_error_message())
dom.createWithFlags(0)
print(dom.state())
dom.reboot(0)
print(dom.state())
dom.destroy()
print(dom.state(), dom.ID())
dom.setAutostart(1)
print(dom.autostart())
dom.setVcpusFlags(1, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
print(dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG), dom.vcpusFlags(libvirt.VIR_DOMAIN_AFFECT_CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM))
dom.rename("demo2")
print(conn.lookupByName("demo2").UUIDString())
print(dom.XMLDesc(0))
dom.undefine()
try:
    conn.lookupByName("demo2")
except libvirt.libvirtError as e:
    print("error", e.get_error_code(), e.get_error_domain(), e.get_error_message())
transient = conn.createXML(XML.replace("demo", "tran"), 0)
print(transient.name(), transient.isPersistent(), transient.state())
transient.destroy()
try:
    transient.state()
except libvirt.libvirtError as e:
    print("error", e.get_error_code(), e.get_error_message())
