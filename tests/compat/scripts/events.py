import threading

import libvirt

libvirt.virEventRegisterDefaultImpl()
seen = []
done = threading.Event()


def loop():
    while not done.is_set():
        libvirt.virEventRunDefaultImpl()


def lifecycle(conn, dom, event, detail, opaque):
    seen.append((opaque, dom.name(), event, detail))


conn = libvirt.open("test:///default")
tick = libvirt.virEventAddTimeout(50, lambda timer, opaque: None, None)
t = threading.Thread(target=loop, daemon=True)
t.start()
cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, "any")
dom = conn.lookupByName("test")
cb2 = conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, "test")
dom.suspend()
dom.resume()
dom.destroy()
dom.create()
d2 = conn.defineXML("<domain type='test'><name>ev</name><memory>1024</memory><os><type>hvm</type></os></domain>")
d2.create()
d2.shutdown()
d2.undefine()
import time
deadline = time.time() + 5
while len(seen) < 14 and time.time() < deadline:
    time.sleep(0.05)
conn.domainEventDeregisterAny(cb)
conn.domainEventDeregisterAny(cb2)
done.set()
for item in seen:
    print(item)
