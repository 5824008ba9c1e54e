"""Invalid domain XML gets libvirt's error: same code, domain and message.

The expected errors in ``tests/data/conf/domain/errors.json`` come from real
libvirt (``defineXML`` on ``test:///default`` through libvirt-python);
``PYVIRT_REGEN=1`` regenerates them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pyvirt.conf.domain import DomainDef
from pyvirt.errors import LibvirtError

EXPECTED = Path(__file__).resolve().parent.parent / "data" / "conf" / "domain" / "errors.json"
REGEN = os.environ.get("PYVIRT_REGEN") == "1"


def _dom(body: str, typ: str = "type='test'") -> str:
    return f"<domain {typ}>{body}</domain>"


_OS = "<os><type>hvm</type></os>"
_BASE = "<name>e1</name><memory>1024</memory>" + _OS

CASES: dict[str, str] = {
    "no-os-type": _dom("<name>e1</name><memory>1024</memory>"),
    "empty-os-type": _dom("<name>e1</name><memory>1024</memory><os><type></type></os>"),
    "no-name": _dom("<memory>1024</memory>" + _OS),
    "empty-name": _dom("<name></name><memory>1024</memory>" + _OS),
    "name-slash": _dom("<name>a/b</name><memory>1024</memory>" + _OS),
    "bad-uuid": _dom("<name>e1</name><uuid>zzz</uuid><memory>1024</memory>" + _OS),
    "short-uuid": _dom("<name>e1</name><uuid>1234</uuid><memory>1024</memory>" + _OS),
    "no-memory": _dom("<name>e1</name>" + _OS),
    "memory-zero": _dom("<name>e1</name><memory>0</memory>" + _OS),
    "memory-text": _dom("<name>e1</name><memory>abc</memory>" + _OS),
    "memory-negative": _dom("<name>e1</name><memory>-5</memory>" + _OS),
    "memory-bad-unit": _dom("<name>e1</name><memory unit='XX'>1</memory>" + _OS),
    "memory-overflow": _dom("<name>e1</name><memory unit='EiB'>100</memory>" + _OS),
    "bad-os-type": _dom("<name>e1</name><memory>1024</memory><os><type>bogus</type></os>"),
    "no-domain-type": _dom(_BASE, typ=""),
    "bad-domain-type": _dom(_BASE, typ="type='bogus'"),
    "wrong-root": "<network><name>n</name></network>",
    "not-xml": "<domain type='test'><name>x</name>",
    "empty": "",
    "bad-disk-type": _dom(_BASE + "<devices><disk type='bogus'><source file='/b'/>"
                               "<target dev='vda'/></disk></devices>"),
    "disk-no-target": _dom(_BASE + "<devices><disk type='file'><source file='/b'/></disk></devices>"),
    "disk-dup-target": _dom(_BASE + "<devices><disk type='file' device='disk'><source file='/a'/>"
                                 "<target dev='vda'/></disk><disk type='file'><source file='/b'/>"
                                 "<target dev='vda'/></disk></devices>"),
    "bad-mac": _dom(_BASE + "<devices><interface type='network'><mac address='zz'/>"
                         "<source network='default'/></interface></devices>"),
    "multicast-mac": _dom(_BASE + "<devices><interface type='network'><mac address='01:00:00:00:00:01'/>"
                               "<source network='default'/></interface></devices>"),
    "bad-on-crash": _dom(_BASE + "<on_crash>bogus</on_crash>"),
    "bad-on-poweroff": _dom(_BASE + "<on_poweroff>bogus</on_poweroff>"),
    "bad-graphics": _dom(_BASE + "<devices><graphics type='bogus'/></devices>"),
    "bad-clock": _dom(_BASE + "<clock offset='bogus'/>"),
    "boot-conflict": _dom("<name>e1</name><memory>1024</memory><os><type>hvm</type><boot dev='hd'/></os>"
                          "<devices><disk type='file'><source file='/a'/><target dev='vda'/>"
                          "<boot order='1'/></disk></devices>"),
    "second-console-serial": _dom(_BASE + "<devices><console type='pty'/><console type='pty'>"
                                       "<target type='serial'/></console></devices>"),
    "os-type-spaces": _dom("<name>e1</name><memory>1024</memory><os><type> hvm </type></os>"),
    "memory-spaces": _dom("<name>e1</name><memory> 1024 </memory>" + _OS),
    "memory-hex": _dom("<name>e1</name><memory>0x400</memory>" + _OS),
    "vcpu-spaces": _dom(_BASE + "<vcpu> 2 </vcpu>"),
    "bootmenu-timeout": _dom("<name>e1</name><memory>1024</memory><os><type>hvm</type>"
                             "<bootmenu enable='yes' timeout='70000'/></os>"),
    "bootmenu-timeout-text": _dom("<name>e1</name><memory>1024</memory><os><type>hvm</type>"
                                  "<bootmenu enable='yes' timeout='abc'/></os>"),
    "vcpu-zero": _dom(_BASE + "<vcpu>0</vcpu>"),
    "numa-too-many-cpus": _dom(_BASE + "<vcpu>2</vcpu><cpu><numa><cell cpus='0-2' memory='1024'/></numa></cpu>"),
    "numa-cpu-id-too-big": _dom(_BASE + "<vcpu>4</vcpu><cpu><numa><cell cpus='5' memory='1024'/></numa></cpu>"),
    "unknown-disk-name": _dom(_BASE + "<devices><disk type='file'><source file='/a'/>"
                                   "<target dev='foo' bus='ide'/></disk></devices>"),
}

_DEVICE_CASES = {
    "disk-device": "<disk type='file' device='bogus'><source file='/a'/><target dev='vda'/></disk>",
    "disk-bus": "<disk type='file'><source file='/a'/><target dev='vda' bus='bogus'/></disk>",
    "net-type": "<interface type='bogus'/>",
    "net-no-source": "<interface type='network'><mac address='52:54:00:00:00:01'/></interface>",
    "controller-type": "<controller type='bogus'/>",
    "controller-dup": "<controller type='pci' index='0' model='pci-root'/>"
                      "<controller type='pci' index='0' model='pci-root'/>",
    "video-model": "<video><model type='bogus'/></video>",
    "input-type": "<input type='bogus'/>",
    "input-bus": "<input type='mouse' bus='bogus'/>",
    "sound-model": "<sound model='bogus'/>",
    "hostdev-type": "<hostdev mode='subsystem' type='bogus'/>",
    "memballoon-model": "<memballoon model='bogus'/>",
    "memballoon-no-model": "<memballoon/>",
    "watchdog-model": "<watchdog model='bogus'/>",
    "watchdog-action": "<watchdog model='i6300esb' action='bogus'/>",
    "rng-model": "<rng model='bogus'/>",
    "tpm-model": "<tpm model='bogus'/>",
    "serial-type": "<serial type='bogus'/>",
    "panic-model": "<panic model='bogus'/>",
    "vnc-port": "<graphics type='vnc' port='abc'/>",
    "controller-index": "<controller type='scsi' index='-1'/>",
    "pci-bus": "<memballoon model='virtio'><address type='pci' bus='0x100' slot='1'/></memballoon>",
    "pci-slot": "<memballoon model='virtio'><address type='pci' bus='0' slot='0x20'/></memballoon>",
    "pci-function": "<memballoon model='virtio'><address type='pci' slot='1' function='8'/></memballoon>",
    "serial-file-no-path": "<serial type='file'><target port='0'/></serial>",
    "serial-tcp-no-host": "<serial type='tcp'><source mode='connect' service='22'/></serial>",
    "serial-tcp-no-service": "<serial type='tcp'><source mode='connect' host='h'/></serial>",
    "serial-tcp-two-sources": "<serial type='tcp'><source host='h' service='1'/><source host='h' service='2'/>"
                              "</serial>",
    "serial-unix-no-path": "<serial type='unix'/>",
    "channel-udp-no-service": "<channel type='udp'><source mode='connect' host='h'/>"
                              "<target type='virtio' name='x'/></channel>",
    "tcp-bind-reconnect": "<serial type='tcp'><source mode='bind' host='h' service='1'>"
                          "<reconnect enabled='yes' timeout='1'/></source></serial>",
    "video-two-primaries": "<video><model type='vga' primary='yes'/></video>"
                           "<video><model type='qxl' primary='yes'/></video>",
    "video-none-not-alone": "<video><model type='none'/></video><video><model type='vga'/></video>",
    "tpm-no-backend": "<tpm model='tpm-tis'/>",
    "hostdev-dup": "<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='1' slot='0' "
                   "function='0'/></source></hostdev><hostdev mode='subsystem' type='pci' managed='yes'>"
                   "<source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>",
    "drive-address-dup": "<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/>"
                         "<address type='drive' controller='0' bus='0' target='0' unit='1'/></disk>"
                         "<disk type='file'><source file='/b'/><target dev='sdb' bus='scsi'/></disk>",
    "ide-pci-address": "<disk type='file'><source file='/a'/><target dev='hda' bus='ide'/>"
                       "<address type='pci' slot='5'/></disk>",
    "lun-on-file": "<disk type='file' device='lun'><source file='/a'/><target dev='sda' bus='scsi'/></disk>",
    "listen-mismatch": "<graphics type='vnc' listen='1.2.3.4'><listen type='address' address='5.6.7.8'/>"
                       "</graphics>",
    "listen-network-missing": "<graphics type='vnc'><listen type='network'/></graphics>",
    "usb-none-redirdev": "<controller type='usb' model='none'/><redirdev bus='usb' type='spicevmc'/>",
    "usb-none-second": "<controller type='usb' model='none'/><controller type='usb' index='1' model='piix3-uhci'/>",
    "usb-none-tablet": "<controller type='usb' model='none'/><input type='tablet' bus='usb'/>",
}
CASES.update({name: _dom(_BASE + f"<devices>{xml}</devices>") for name, xml in _DEVICE_CASES.items()})


def _libvirt_errors() -> dict[str, list[object]]:
    libvirt = pytest.importorskip("libvirt")
    libvirt.registerErrorHandler(lambda *_: None, None)
    conn = libvirt.open("test:///default")
    out: dict[str, list[object]] = {}
    try:
        for name, xml in CASES.items():
            try:
                dom = conn.defineXML(xml)
            except libvirt.libvirtError as exc:
                out[name] = [exc.get_error_code(), exc.get_error_domain(), exc.get_error_message()]
            else:
                dom.undefine()
                out[name] = [0, 0, "accepted"]
    finally:
        conn.close()
    return out


def _expected() -> dict[str, list[object]]:
    if REGEN or not EXPECTED.exists():
        EXPECTED.write_text(json.dumps(_libvirt_errors(), indent=1, sort_keys=True) + "\n")
    return json.loads(EXPECTED.read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_matches_libvirt(name: str) -> None:
    code, domain, message = _expected()[name]
    assert code != 0, "libvirt accepts this input; the case is useless"
    with pytest.raises(LibvirtError) as info:
        DomainDef.parse(CASES[name])
    assert (info.value.code, info.value.message) == (code, message)
    assert info.value.domain == domain
