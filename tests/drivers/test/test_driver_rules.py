"""Rules of pyvirt's test driver that need no libvirt oracle: sharing, read-only, events, threads."""

from __future__ import annotations

import shutil
import struct
import threading
from pathlib import Path
from typing import Any

import pytest

from pyvirt import constants as c
from pyvirt.drivers import open_driver
from pyvirt.drivers.base import NodeDeviceRef
from pyvirt.errors import LibvirtError

DATA = Path(__file__).resolve().parents[2] / "data" / "drivers" / "test"
EXAMPLES = Path("/work/ref/libvirt-9.0.0/examples/xml/test")

DOM = ("<domain type='test'><name>{}</name><memory>65536</memory><os><type>hvm</type></os>"
       "<devices><interface type='network'><source network='default'/></interface></devices></domain>")


def test_default_state_is_shared_and_dies_with_last_connection() -> None:
    a = open_driver("test:///default")
    b = open_driver("test:///default")
    a.domain_define_xml(DOM.format("shared"))
    assert b.domain_lookup_by_name("shared").name == "shared"
    a.connect_close()
    assert b.domain_lookup_by_name("shared").id == -1
    b.connect_close()
    fresh = open_driver("test:///default")
    try:
        with pytest.raises(LibvirtError) as exc:
            fresh.domain_lookup_by_name("shared")
        assert exc.value.code == c.VIR_ERR_NO_DOMAIN
        assert exc.value.message == "Domain not found"
    finally:
        fresh.connect_close()


def test_file_connections_are_private(tmp_path: Path) -> None:
    for f in EXAMPLES.glob("*.xml"):
        shutil.copy(f, tmp_path / f.name)
    uri = f"test://{tmp_path}/testnodeinline.xml"
    a, b = open_driver(uri), open_driver(uri)
    a.domain_destroy(a.domain_lookup_by_name("fv0"))
    assert a.domain_get_state(a.domain_lookup_by_name("fv0"), 0)[0] == c.VIR_DOMAIN_SHUTOFF
    assert b.domain_get_state(b.domain_lookup_by_name("fv0"), 0)[0] == c.VIR_DOMAIN_RUNNING
    a.connect_close()
    b.connect_close()


def test_read_only_refuses_changes() -> None:
    ro = open_driver("test:///default", read_only=True)
    try:
        ref = ro.domain_lookup_by_name("test")
        assert ro.domain_get_info(ref)[0] == c.VIR_DOMAIN_RUNNING
        for call in (lambda: ro.domain_destroy(ref), lambda: ro.domain_define_xml(DOM.format("x")),
                     lambda: ro.network_destroy(ro.network_lookup_by_name("default")),
                     lambda: ro.storage_pool_refresh(ro.storage_pool_lookup_by_name("default-pool"), 0),
                     lambda: ro.node_device_destroy(NodeDeviceRef("scsi_host11")),
                     lambda: ro.interface_change_begin(0), lambda: ro.domain_set_memory(ref, 1024)):
            with pytest.raises(LibvirtError) as exc:
                call()
            assert exc.value.code == c.VIR_ERR_OPERATION_DENIED
        assert ro.domain_get_info(ref)[0] == c.VIR_DOMAIN_RUNNING
    finally:
        ro.connect_close()


def test_nodedev_list_state_flags_work() -> None:
    """libvirt 9.0 rejects these flags (the virsh nodedev-list bug); pyvirt answers them."""
    d = open_driver("test:///default")
    try:
        everything = sorted(r.name for r in d.connect_list_all_node_devices(0))
        assert everything == ["computer", "scsi_host1", "scsi_host11", "scsi_host2"]
        active = sorted(r.name for r in d.connect_list_all_node_devices(c.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE))
        assert active == everything
        assert d.connect_list_all_node_devices(c.VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE) == []
        fc = d.connect_list_all_node_devices(c.VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE
                                             | c.VIR_CONNECT_LIST_NODE_DEVICES_CAP_FC_HOST)
        assert sorted(r.name for r in fc) == ["scsi_host1", "scsi_host11", "scsi_host2"]
        with pytest.raises(LibvirtError) as exc:
            d.connect_list_all_node_devices(1 << 27)
        assert exc.value.message == "unsupported flags (0x8000000) in function testConnectListAllNodeDevices"
    finally:
        d.connect_close()


def test_events_reach_other_connections_and_stop_after_deregister() -> None:
    a, b = open_driver("test:///default"), open_driver("test:///default")
    seen: list[tuple[Any, ...]] = []
    only_test: list[tuple[Any, ...]] = []
    try:
        cid = b.connect_domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                  lambda ref, ev, det: seen.append((ref.name, ev, det)))
        b.connect_domain_event_register_any(b.domain_lookup_by_name("test"), c.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                            lambda ref, ev, det: only_test.append((ref.name, ev, det)))
        a.domain_define_xml(DOM.format("ev"))
        a.domain_suspend(a.domain_lookup_by_name("test"))
        assert seen == [("ev", c.VIR_DOMAIN_EVENT_DEFINED, c.VIR_DOMAIN_EVENT_DEFINED_ADDED),
                        ("test", c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)]
        assert only_test == [("test", c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)]
        b.connect_domain_event_deregister_any(cid)
        a.domain_resume(a.domain_lookup_by_name("test"))
        assert len(seen) == 2 and len(only_test) == 2
        with pytest.raises(LibvirtError) as exc:
            b.connect_domain_event_deregister_any(cid)
        assert exc.value.code == c.VIR_ERR_INVALID_ARG
        meta: list[tuple[Any, ...]] = []
        b.connect_domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE,
                                            lambda ref, typ, uri: meta.append((ref.name, typ, uri)))
        a.domain_set_metadata(a.domain_lookup_by_name("test"), c.VIR_DOMAIN_METADATA_TITLE, "t", None, None, 0)
        assert meta == [("test", c.VIR_DOMAIN_METADATA_TITLE, None)]
    finally:
        b.connect_close()
        a.connect_close()


def test_old_style_event_registration() -> None:
    d = open_driver("test:///default")
    seen: list[tuple[Any, ...]] = []

    def cb(ref: Any, ev: int, det: int) -> None:
        seen.append((ref.name, ev, det))
    try:
        d.connect_domain_event_register(cb)
        d.domain_destroy(d.domain_lookup_by_name("test"))
        d.connect_domain_event_deregister(cb)
        d.domain_create(d.domain_lookup_by_name("test"))
        assert seen == [("test", c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)]
        with pytest.raises(LibvirtError):
            d.connect_domain_event_deregister(cb)
    finally:
        d.connect_close()


def test_save_image_format(tmp_path: Path) -> None:
    """The image is libvirt's: 'TestGuestMagic\\0', a native int length, the domain XML."""
    d = open_driver("test:///default")
    try:
        path = tmp_path / "img"
        d.domain_save(d.domain_lookup_by_name("test"), str(path))
        data = path.read_bytes()
        assert data[:15] == b"TestGuestMagic\0"
        (length,) = struct.unpack("=i", data[15:19])
        assert len(data) == 19 + length
        assert b"<name>test</name>" in data[19:]
        path.write_bytes(b"NotTheMagicXXXX" + data[15:])
        with pytest.raises(LibvirtError) as exc:
            d.domain_restore(str(path))
        assert exc.value.message == "internal error: mismatched header magic"
    finally:
        d.connect_close()


def test_snapshot_file_reference(tmp_path: Path) -> None:
    """<test:domainsnapshot file=...> works here (libvirt 9.0 crashes with a double free on it)."""
    (tmp_path / "snap.xml").write_text((DATA / "snapfile-root.xml").read_text())
    (tmp_path / "node.xml").write_text(
        "<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
        "<name>s</name><memory>1024</memory><os><type>hvm</type></os>"
        "<test:domainsnapshot file='snap.xml'/></domain></node>")
    d = open_driver(f"test://{tmp_path}/node.xml")
    try:
        ref = d.domain_lookup_by_name("s")
        assert d.domain_snapshot_list_names(ref, -1, 0) == ["root"]
        assert d.domain_has_current_snapshot(ref, 0) == 1
        assert "<state>running</state>" in d.domain_snapshot_get_xml_desc(
            d.domain_snapshot_lookup_by_name(ref, "root", 0), 0)
    finally:
        d.connect_close()


def test_auth_section(tmp_path: Path) -> None:
    node = tmp_path / "auth.xml"
    node.write_text("<node><auth><user password='pw'>alice</user><user>bob</user></auth></node>")
    with pytest.raises(LibvirtError) as exc:
        open_driver(f"test://{node}", auth={"username": "alice", "password": "bad"})
    assert exc.value.code == c.VIR_ERR_AUTH_FAILED
    open_driver(f"test://{node}", auth={"username": "alice", "password": "pw"}).connect_close()
    open_driver(f"test://{node}", auth=("bob", None)).connect_close()


def test_concurrent_calls_keep_state_consistent() -> None:
    d = open_driver("test:///default")
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(30):
                name = f"w{n}-{i}"
                ref = d.domain_define_xml(DOM.format(name))
                d.domain_create(ref)
                d.domain_destroy(d.domain_lookup_by_name(name))
                d.domain_undefine(d.domain_lookup_by_name(name))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
    try:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert [r.name for r in d.connect_list_all_domains(0)] == ["test"]
        ids = d.connect_list_domains()
        assert ids == [1]
    finally:
        d.connect_close()


def test_many_domains_lookup_is_indexed() -> None:
    d = open_driver("test:///default")
    try:
        for i in range(2000):
            d.domain_define_xml(DOM.format(f"bulk{i}"))
        refs = d.connect_list_all_domains(0)
        assert len(refs) == 2001
        assert d.domain_get_info(d.domain_lookup_by_name("bulk1999"))[1] == 65536
        assert d.domain_lookup_by_uuid(refs[-1].uuid).name == refs[-1].name
    finally:
        d.connect_close()


def test_pool_refresh_and_object_filtered_events() -> None:
    d = open_driver("test:///default")
    refresh: list[str] = []
    net_events: list[tuple[str, int]] = []
    dev_events: list[tuple[str, int]] = []
    try:
        pool = d.storage_pool_lookup_by_name("default-pool")
        d.connect_storage_pool_event_register_any(pool, c.VIR_STORAGE_POOL_EVENT_ID_REFRESH,
                                                  lambda ref: refresh.append(ref.name))
        net = d.network_lookup_by_name("default")
        d.connect_network_event_register_any(net, c.VIR_NETWORK_EVENT_ID_LIFECYCLE,
                                             lambda ref, ev, det: net_events.append((ref.name, ev)))
        d.connect_node_device_event_register_any(NodeDeviceRef("scsi_host12"), c.VIR_NODE_DEVICE_EVENT_ID_LIFECYCLE,
                                                 lambda ref, ev, det: dev_events.append((ref.name, ev)))
        d.storage_pool_refresh(pool, 0)
        other = d.network_define_xml("<network><name>other</name><bridge name='vbx'/></network>")
        d.network_create(other)
        d.network_destroy(net)
        d.network_create(net)
        vhba = ("<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'>"
                "<wwnn>2000000012341111</wwnn><wwpn>1000000012341111</wwpn></capability></capability></device>")
        created = d.node_device_create_xml(vhba, 0)
        d.node_device_destroy(created)
        assert refresh == ["default-pool"]
        assert net_events == [("default", c.VIR_NETWORK_EVENT_STOPPED), ("default", c.VIR_NETWORK_EVENT_STARTED)]
        assert dev_events == [("scsi_host12", c.VIR_NODE_DEVICE_EVENT_CREATED),
                              ("scsi_host12", c.VIR_NODE_DEVICE_EVENT_DELETED)]
    finally:
        d.connect_close()
