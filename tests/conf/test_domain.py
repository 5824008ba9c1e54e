"""DomainDef properties, setters, flags, metadata and device changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pyvirt import constants as c
from pyvirt.conf.domain import DEVICE_TAGS, DomainDef, parse_device
from pyvirt.errors import LibvirtError

DATA = Path(__file__).resolve().parent.parent / "data" / "conf" / "domain"


def load(name: str) -> DomainDef:
    return DomainDef.parse((DATA / f"{name}-in.xml").read_text())


def test_read_properties() -> None:
    d = load("units-vcpu")
    assert d.name == "units"
    assert d.uuid == "11111111-2222-3333-4444-555555555556"
    assert d.uuid_bytes == bytes.fromhex("11111111222233334444555555555556")
    assert d.type == "qemu"
    assert d.title == "A title"
    assert d.memory == 976563          # 1000 MB rounded up to KiB
    assert d.current_memory == 524288
    assert (d.max_vcpus, d.vcpus) == (8, 2)
    assert (d.os_type, d.os_arch, d.os_machine) == ("hvm", "x86_64", "pc")
    assert (d.on_poweroff, d.on_reboot, d.on_crash) == ("preserve", "destroy", "coredump-restart")
    assert [(x.device, x.type, x.source, x.target, x.bus) for x in d.disks] == [
        ("disk", "block", "/dev/sdb", "hda", "ide"), ("floppy", "file", "/tmp/f.img", "fda", "fdc")]
    assert [(i.type, i.mac, i.source, i.model) for i in d.interfaces] == [
        ("bridge", "52:54:00:aa:bb:01", "br0", "e1000"), ("user", "52:54:00:aa:bb:02", None, None)]
    assert [g.type for g in d.graphics] == ["vnc"]
    assert d.graphics[0].listen == "127.0.0.1"
    assert [s.type for s in d.serials] == ["pty"]
    assert [(x.type, x.target_type) for x in d.consoles] == [("pty", "serial")]
    assert sorted((x.type, x.index) for x in d.controllers) == [("fdc", 0), ("ide", 0)]
    assert [v.model for v in d.videos] == ["cirrus"]


def test_builtin_test_domain() -> None:
    d = load("test-builtin")
    d.assign_ifnames()
    assert d.interfaces[0].target_dev == "testnet0"
    assert d.disks[0].readonly is False
    assert "<target dev='testnet0'/>" in d.to_xml()


def test_uuid_generated_when_missing() -> None:
    a = DomainDef.parse("<domain type='test'><name>x</name><memory>1024</memory>"
                        "<os><type>hvm</type></os></domain>")
    b = DomainDef.parse("<domain type='test'><name>x</name><memory>1024</memory>"
                        "<os><type>hvm</type></os></domain>")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", a.uuid)
    assert a.uuid != b.uuid
    assert f"<uuid>{a.uuid}</uuid>" in a.to_xml()


def test_mac_generated_when_missing() -> None:
    d = DomainDef.parse("<domain type='test'><name>x</name><memory>1024</memory><os><type>hvm</type></os>"
                        "<devices><interface type='network'><source network='default'/></interface>"
                        "</devices></domain>")
    assert re.fullmatch(r"52:54:00(:[0-9a-f]{2}){3}", d.interfaces[0].mac)


def test_setters_change_output() -> None:
    d = load("minimal")
    d.name = "renamed"
    d.uuid = "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"
    d.title = "T"
    d.description = "D & <x>"
    d.memory = 2097152
    d.current_memory = 1048576
    d.max_vcpus = 4
    d.vcpus = 2
    d.on_crash = "restart"
    out = d.to_xml(inactive=True)
    assert "<name>renamed</name>\n  <uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid>\n  <title>T</title>\n" \
           "  <description>D &amp; &lt;x&gt;</description>\n  <memory unit='KiB'>2097152</memory>\n" \
           "  <currentMemory unit='KiB'>1048576</currentMemory>\n" \
           "  <vcpu placement='static' current='2'>4</vcpu>" in out
    assert "<on_crash>restart</on_crash>" in out
    d.title = None
    d.vcpus = 4
    out = d.to_xml()
    assert "<title>" not in out
    assert "<vcpu placement='static'>4</vcpu>" in out
    # and the output parses back to the same thing
    assert DomainDef.parse(out).to_xml() == out


def test_device_setters() -> None:
    d = load("units-vcpu")
    d.disks[0].source = "/dev/sdc"
    d.disks[0].readonly = True
    d.interfaces[0].target_dev = "vnet7"
    d.interfaces[0].model = "virtio"
    out = d.to_xml()
    assert "<source dev='/dev/sdc'/>" in out
    assert "<target dev='hda' bus='ide'/>\n      <readonly/>" in out
    assert "<target dev='vnet7'/>\n      <model type='virtio'/>" in out


def test_id_and_inactive_flags() -> None:
    d = load("test-builtin")
    assert d.to_xml(id=5).startswith("<domain type='test' id='5'>\n")
    assert d.to_xml(id=5, inactive=True).startswith("<domain type='test'>\n")


def test_secure_flag_hides_passwords() -> None:
    d = DomainDef.parse("<domain type='test'><name>x</name><memory>1024</memory><os><type>hvm</type></os>"
                        "<devices><graphics type='vnc' passwd='secret'/></devices></domain>")
    assert "passwd" not in d.to_xml()
    assert "passwd='secret'" in d.to_xml(secure=True)


def test_copy_is_deep() -> None:
    d = load("minimal")
    e = d.copy()
    e.name = "other"
    assert d.name == "minimal"
    assert e.to_xml() != d.to_xml()


def test_unknown_elements_survive() -> None:
    d = DomainDef.parse("<domain type='test'><name>x</name><memory>1024</memory><os><type>hvm</type></os>"
                        "<devices><disk type='file'><source file='/a'/><target dev='vda'/>"
                        "<futureknob level='3'/></disk></devices></domain>")
    assert "<futureknob level='3'/>" in d.to_xml()


def test_metadata_roundtrip() -> None:
    d = load("minimal")
    with pytest.raises(LibvirtError) as info:
        d.metadata(c.VIR_DOMAIN_METADATA_TITLE)
    assert info.value.code == c.VIR_ERR_NO_DOMAIN_METADATA
    d.set_metadata(c.VIR_DOMAIN_METADATA_ELEMENT, "<foo a='1'><bar>t</bar></foo>", "ex", "http://example.org/a")
    d.set_metadata(c.VIR_DOMAIN_METADATA_ELEMENT, "<x/>", "b", "http://example.org/b")
    assert d.metadata(c.VIR_DOMAIN_METADATA_ELEMENT, "http://example.org/a") == \
        '<foo a="1">\n  <bar>t</bar>\n</foo>'
    # what virsh shows for the same two calls on the test driver
    assert ('  <metadata>\n    <ex:foo xmlns:ex="http://example.org/a" a="1">\n'
            '      <ex:bar>t</ex:bar>\n    </ex:foo>\n    <b:x xmlns:b="http://example.org/b"/>\n'
            '  </metadata>\n') in d.to_xml()
    d.set_metadata(c.VIR_DOMAIN_METADATA_ELEMENT, None, None, "http://example.org/a")
    d.set_metadata(c.VIR_DOMAIN_METADATA_ELEMENT, None, None, "http://example.org/b")
    assert "  <metadata/>\n" in d.to_xml()
    d.set_metadata(c.VIR_DOMAIN_METADATA_DESCRIPTION, "line1\nline2")
    assert d.metadata(c.VIR_DOMAIN_METADATA_DESCRIPTION) == "line1\nline2"
    with pytest.raises(LibvirtError) as info:
        d.set_metadata(c.VIR_DOMAIN_METADATA_ELEMENT, "<a/>", None, "http://x")
    assert info.value.message == "key in virDomainSetMetadata must not be NULL"
    with pytest.raises(LibvirtError) as info:
        d.set_metadata(3, "x")
    assert info.value.message == "invalid argument: unknown metadata type '3'"


def test_parse_device_and_tags() -> None:
    assert DEVICE_TAGS[:6] == ("emulator", "disk", "controller", "lease", "filesystem", "interface")
    elem = parse_device("<disk type='file'><source file='/x'/><target dev='vdb'/></disk>")
    assert elem.tag == "disk"
    with pytest.raises(LibvirtError) as info:
        parse_device("<bogus/>")
    assert (info.value.code, info.value.message) == (c.VIR_ERR_CONFIG_UNSUPPORTED,
                                                     "unsupported configuration: unknown device type 'bogus'")


def test_attach_detach_update() -> None:
    d = load("units-vcpu")
    new = d.attach_device("<disk type='file' device='disk'><source file='/x'/><target dev='hdb'/></disk>")
    assert new.address == {"type": "drive", "controller": "0", "bus": "0", "target": "0", "unit": "1"}
    assert [x.target for x in d.disks] == ["hda", "hdb", "fda"]   # libvirt's insertion order
    with pytest.raises(LibvirtError) as info:
        d.attach_device("<disk type='file'><source file='/y'/><target dev='hdb'/></disk>")
    assert (info.value.code, info.value.message) == (
        c.VIR_ERR_OPERATION_INVALID, "Requested operation is not valid: target hdb already exists")
    d.detach_device("<disk type='file'><target dev='hdb'/></disk>")
    assert [x.target for x in d.disks] == ["hda", "fda"]
    with pytest.raises(LibvirtError) as info:
        d.detach_device("<disk type='file'><target dev='hdz'/></disk>")
    assert info.value.code == c.VIR_ERR_DEVICE_MISSING
    d.detach_device("<interface type='user'><mac address='52:54:00:aa:bb:02'/></interface>")
    assert [i.mac for i in d.interfaces] == ["52:54:00:aa:bb:01"]
    with pytest.raises(LibvirtError) as info:
        d.detach_device("<interface type='user'><mac address='52:54:00:aa:bb:09'/></interface>")
    assert info.value.message == ("device not found: no device found at address '(<null>)' matching MAC "
                                  "address '52:54:00:aa:bb:09' and alias '(<null>)'")
    d.update_device("<graphics type='vnc' port='5905' autoport='no'/>")
    assert "<graphics type='vnc' port='5905' autoport='no'>" in d.to_xml()
    with pytest.raises(LibvirtError) as info:
        d.update_device("<graphics type='spice'/>")
    assert info.value.message == ("invalid argument: cannot find existing graphics type 'spice' "
                                  "device to modify")
    d.attach_device("<controller type='scsi' index='0' model='virtio-scsi'/>")
    with pytest.raises(LibvirtError) as info:
        d.attach_device("<controller type='scsi' index='0'/>")
    assert info.value.message == "Requested operation is not valid: controller index='0' already exists"


def test_failed_attach_leaves_definition_alone() -> None:
    d = load("units-vcpu")
    before = d.to_xml()
    with pytest.raises(LibvirtError):
        d.attach_device("<interface type='network'><mac address='zz'/><source network='n'/></interface>")
    assert d.to_xml() == before


def test_inactive_hides_live_state() -> None:
    d = DomainDef.parse("<domain type='test'><name>x</name><memory>1024</memory><os><type>hvm</type></os>"
                        "<devices><interface type='network'><mac address='52:54:00:00:00:01'/>"
                        "<source network='default'/></interface><graphics type='vnc' autoport='yes'/>"
                        "<disk type='file'><source file='/a'/><target dev='vda'/><alias name='ua-disk'/>"
                        "</disk><disk type='file'><source file='/b'/><target dev='vdb'/></disk>"
                        "</devices></domain>")
    d.interfaces[0].target_dev = "vnet3"
    d.graphics[0].port = 5901
    d.disks[1].alias = "virtio-disk1"
    live = d.to_xml(id=1)
    assert "<target dev='vnet3'/>" in live and "port='5901'" in live
    assert "<alias name='virtio-disk1'/>" in live
    cold = d.to_xml(inactive=True)
    assert "vnet3" not in cold and "port='-1' autoport='yes'" in cold
    assert "<alias name='ua-disk'/>" in cold and "virtio-disk1" not in cold
    assert d.to_xml(id=1, migratable=True) == live


def test_generator_hooks_make_output_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyvirt.conf.domain import hooks
    monkeypatch.setattr(hooks, "generate_mac", lambda: "52:54:00:00:00:42")
    monkeypatch.setattr(hooks, "generate_uuid", lambda: "00000000-0000-0000-0000-000000000042")
    d = DomainDef.parse("<domain type='test'><name>x</name><memory>1024</memory><os><type>hvm</type></os>"
                        "<devices><interface type='network'><source network='default'/></interface>"
                        "</devices></domain>")
    assert d.uuid == "00000000-0000-0000-0000-000000000042"
    assert d.interfaces[0].mac == "52:54:00:00:00:42"
    d.set_metadata(c.VIR_DOMAIN_METADATA_ELEMENT, "<x/>", "k", "http://k")
    assert d.metadata("http://k") == "<x/>"


def test_hostdev_attach_detach_match_normalized_addresses() -> None:
    d = load("numa-features")
    with pytest.raises(LibvirtError) as info:
        d.attach_device("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' "
                        "bus='0x03' slot='0x00' function='0x0'/></source></hostdev>")
    assert info.value.message == "Requested operation is not valid: device is already in the domain configuration"
    d.detach_device("<hostdev mode='subsystem' type='pci'><source><address domain='0' bus='3' slot='0' "
                    "function='0'/></source></hostdev>")
    assert d.hostdevs == []


def test_iothread_ids_and_from_element() -> None:
    from lxml import etree
    d = DomainDef.parse("<domain type='test'><name>x</name><memory>1024</memory><os><type>hvm</type></os>"
                        "<iothreads>3</iothreads></domain>")
    assert d.iothread_ids == [1, 2, 3]
    assert "<iothreads>3</iothreads>\n  <os>" in d.to_xml()
    d.set_iothread_ids([1, 5])
    assert "<iothreads>2</iothreads>\n  <iothreadids>\n    <iothread id='1'/>\n    <iothread id='5'/>\n" \
           "  </iothreadids>\n" in d.to_xml()
    e = DomainDef.from_element(etree.fromstring(d.to_xml()))
    assert e.iothread_ids == [1, 5] and e.root is e.xml and e.to_xml() == d.to_xml()
