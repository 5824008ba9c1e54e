"""CD-ROM media change (insert, change, eject) and interface link state with real QEMU (TCG)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu.driver import _STATES
from pyvirt.errors import LibvirtError

MAC = "52:54:00:aa:00:01"


def domain_xml(name: str, iso: Path, disk: Path) -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type>hvm</type></os><devices>
<disk type='file' device='disk'><source file='{disk}'/><target dev='hda' bus='ide'/></disk>
<disk type='file' device='cdrom'><source file='{iso}'/><target dev='hdc' bus='ide'/><readonly/></disk>
<interface type='user'><mac address='{MAC}'/><model type='virtio'/></interface>
<memballoon model='none'/></devices></domain>"""


def cdrom(path: Path | None) -> str:
    src = f"<source file='{path}'/>" if path is not None else ""
    return f"<disk type='file' device='cdrom'>{src}<target dev='hdc' bus='ide'/><readonly/></disk>"


def wait_until(pred: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(0.02)


def _qmp(root: Path, name: str, cmd: str, args: dict[str, Any] | None = None) -> Any:
    vm = _STATES[root].doms[name].vm
    assert vm is not None
    return vm.execute(cmd, args)


def _medium(root: Path, name: str) -> str | None:
    for b in _qmp(root, name, "query-block"):
        if b.get("qdev") == "ide0-1-0":
            return b.get("inserted", {}).get("file")
    raise AssertionError("no ide0-1-0 in query-block")


def test_cdrom_media_change_and_link_state(qemu_bin: str, tmp_path: Path) -> None:
    isos = {n: tmp_path / f"{n}.iso" for n in ("a", "b", "c")}
    for p in isos.values():
        p.write_bytes(b"\0" * 65536)
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * 65536)
    root = tmp_path / "root"
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    trays: list[tuple[str, int]] = []
    conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_TRAY_CHANGE,
                                   lambda _c, _d, alias, reason, _o: trays.append((alias, reason)), None)
    try:
        dom = conn.define_xml(domain_xml("m1", isos["a"], disk))
        dom.create_with_flags(c.VIR_DOMAIN_START_PAUSED)
        assert _medium(root, "m1") == str(isos["a"])

        dom.update_device_flags(cdrom(isos["b"]), c.VIR_DOMAIN_AFFECT_LIVE)  # change
        assert _medium(root, "m1") == str(isos["b"])
        assert f"<source file='{isos['b']}'/>" in dom.xml_desc()
        assert f"<source file='{isos['a']}'/>" in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        wait_until(lambda: len(trays) >= 2)
        assert trays[:2] == [("ide0-1-0", c.VIR_DOMAIN_EVENT_TRAY_CHANGE_OPEN),
                             ("ide0-1-0", c.VIR_DOMAIN_EVENT_TRAY_CHANGE_CLOSE)]
        nodes = {n["node-name"]: n["file"] for n in _qmp(root, "m1", "query-named-block-nodes")}
        assert str(isos["a"]) not in nodes.values()  # the old medium's nodes are gone

        dom.update_device_flags(cdrom(None), c.VIR_DOMAIN_AFFECT_LIVE)  # eject
        assert _medium(root, "m1") is None
        live = dom.xml_desc()
        assert str(isos["b"]) not in live and "<target dev='hdc' bus='ide'/>" in live
        assert str(isos["b"]) not in _qmp(root, "m1", "human-monitor-command", {"command-line": "info block"})

        dom.update_device_flags(cdrom(isos["c"]), c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG
                                | c.VIR_DOMAIN_DEVICE_MODIFY_FORCE)  # insert, forced
        assert _medium(root, "m1") == str(isos["c"])
        assert f"<source file='{isos['c']}'/>" in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        assert str(isos["c"]) in (root / "etc" / "qemu" / "m1.xml").read_text()

        with pytest.raises(LibvirtError) as fixed:
            dom.update_device_flags(f"<disk type='file' device='disk'><source file='{isos['a']}'/>"
                                    "<target dev='hda' bus='ide'/></disk>", c.VIR_DOMAIN_AFFECT_LIVE)
        assert fixed.value.get_error_code() == c.VIR_ERR_CONFIG_UNSUPPORTED
        assert "disk source can be changed only in removable drives" in str(fixed.value)
        with pytest.raises(LibvirtError) as nodisk:
            dom.update_device_flags(cdrom(isos["a"]).replace("hdc", "hdd"), c.VIR_DOMAIN_AFFECT_LIVE)
        assert "hdd" in str(nodisk.value)
        with pytest.raises(LibvirtError) as flags:
            dom.update_device_flags(cdrom(isos["a"]), 1 << 6)
        assert "unsupported flags (0x40) in function qemuDomainUpdateDeviceFlags" in str(flags.value)

        # link state
        iface = f"<interface type='user'><mac address='{MAC}'/><model type='virtio'/>{{}}</interface>"
        dom.update_device_flags(iface.format("<link state='down'/>"), c.VIR_DOMAIN_AFFECT_LIVE)
        assert "<link state='down'/>" in dom.xml_desc()
        dom.update_device_flags(iface.format("<link state='up'/>"), c.VIR_DOMAIN_AFFECT_LIVE)
        assert "<link state='up'/>" in dom.xml_desc()
        # QEMU shows no link state anywhere but in the guest; set_link must know the NIC's id
        with pytest.raises(LibvirtError) as nomac:
            dom.update_device_flags(iface.format("<link state='down'/>").replace(MAC, "52:54:00:aa:00:02"),
                                    c.VIR_DOMAIN_AFFECT_LIVE)
        assert nomac.value.get_error_code() == c.VIR_ERR_DEVICE_MISSING
        with pytest.raises(LibvirtError) as model:
            dom.update_device_flags(iface.format("").replace("virtio", "e1000"), c.VIR_DOMAIN_AFFECT_LIVE)
        assert model.value.get_error_code() == c.VIR_ERR_OPERATION_UNSUPPORTED
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()
