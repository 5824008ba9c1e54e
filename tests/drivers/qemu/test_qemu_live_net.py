"""Interface hot-plug and unplug with real QEMU (TCG): user mode, and bridge/ethernet taps.

The tap cases run in a private network namespace: this file re-runs itself under
``unshare --net`` (see :func:`_in_netns`) and prints what it saw as JSON.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu.driver import _STATES
from pyvirt.errors import LibvirtError


def domain_xml(kernel: str, initrd: str, cmdline: str, name: str, console: Path) -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd>
<cmdline>{cmdline}</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='{console}'/></serial></devices></domain>"""


def wait_until(pred: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(0.05)


def _hmp(root: Path, name: str, line: str) -> str:
    vm = _STATES[root].doms[name].vm
    assert vm is not None
    return str(vm.execute("human-monitor-command", {"command-line": line}))


def _peripherals(root: Path, name: str) -> set[str]:
    vm = _STATES[root].doms[name].vm
    assert vm is not None
    return {p["name"] for p in vm.execute("qom-list", {"path": "/machine/peripheral"})}


def test_user_interface_hotplug_and_unplug(guest: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    console = tmp_path / "console.log"
    nic = "<interface type='user'><model type='virtio'/></interface>"
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    removed: list[str] = []
    conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                   lambda _c, _d, alias, _o: removed.append(alias), None)
    try:
        dom = conn.define_xml(domain_xml(guest.kernel, guest.initrd, guest.cmdline, "n1", console))
        with pytest.raises(LibvirtError) as off:
            dom.attach_device_flags(nic, c.VIR_DOMAIN_AFFECT_LIVE)
        assert off.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID
        with pytest.raises(LibvirtError) as badflag:
            dom.attach_device_flags(nic, 1 << 5)
        assert "unsupported flags (0x20) in function qemuDomainAttachDeviceFlags" in str(badflag.value)
        dom.create()
        wait_until(lambda: console.exists() and guest.ready_line in console.read_text(errors="replace"))

        dom.attach_device_flags(nic, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG)
        live = dom.xml_desc()
        m = re.search(r"<interface type='user'>\s*<mac address='(52:54:00:[0-9a-f:]{8})'/>(.*?)</interface>",
                      live, re.S)
        assert m, live
        mac = m.group(1)
        assert "<alias name='net0'/>" in m.group(2)
        # the first free PCI slot of the i440fx after the balloon (slot 3): slot 4... or 3 if free
        slot = re.search(r"<address type='pci' domain='0x0000' bus='0x00' slot='(0x[0-9a-f]+)'", m.group(2))
        assert slot is not None
        used = re.findall(r"slot='(0x[0-9a-f]+)'", live.replace(m.group(0), ""))
        assert slot.group(1) not in used and int(slot.group(1), 16) == min(
            s for s in range(1, 32) if f"0x{s:02x}" not in used)
        config = dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        assert f"<mac address='{mac}'/>" in config and "<alias" not in config
        assert "net0" in _peripherals(root, "n1")
        assert "hostnet0" in _hmp(root, "n1", "info network")

        # a second one gets net1 and another slot
        dom.attach_device_flags("<interface type='user'><mac address='52:54:00:aa:bb:cc'/>"
                                "<model type='e1000'/></interface>", c.VIR_DOMAIN_AFFECT_LIVE)
        live2 = dom.xml_desc()
        assert "<alias name='net1'/>" in live2 and "net1" in _peripherals(root, "n1")
        assert "52:54:00:aa:bb:cc" not in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)

        with pytest.raises(LibvirtError) as missing:
            dom.detach_device_flags("<interface type='user'><mac address='52:54:00:00:00:01'/></interface>",
                                    c.VIR_DOMAIN_AFFECT_LIVE)
        assert missing.value.get_error_code() == c.VIR_ERR_DEVICE_MISSING
        assert "matching MAC address '52:54:00:00:00:01'" in str(missing.value)

        dom.detach_device_flags(f"<interface type='user'><mac address='{mac}'/></interface>",
                                c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG)
        wait_until(lambda: mac not in dom.xml_desc())  # the guest's virtio_net lets go
        wait_until(lambda: "net0" in removed)
        assert "net0" not in _peripherals(root, "n1")
        wait_until(lambda: "hostnet0" not in _hmp(root, "n1", "info network"))
        assert mac not in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        assert mac not in (root / "etc" / "qemu" / "n1.xml").read_text()
        assert "net1" in dom.xml_desc()
        # the next interface takes the highest alias + 1, as libvirt's qemuAssignDeviceNetAlias
        dom.attach_device_flags(nic, c.VIR_DOMAIN_AFFECT_LIVE)
        assert "<alias name='net2'/>" in dom.xml_desc()
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()


def test_q35_interface_uses_the_spare_root_port(guest: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    console = tmp_path / "console.log"
    nic = "<interface type='user'><mac address='52:54:00:00:35:0{}'/><model type='virtio'/></interface>"
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    try:
        dom = conn.define_xml(domain_xml(guest.kernel, guest.initrd, guest.cmdline, "q1", console).replace(
            "<type>hvm</type>", "<type machine='q35'>hvm</type>"))
        dom.create()
        wait_until(lambda: console.exists() and guest.ready_line in console.read_text(errors="replace"))
        before = dom.xml_desc()
        ports = set(re.findall(r"<controller type='pci' index='(\d+)' model='pcie-root-port'>", before))
        busy = set(re.findall(r"bus='0x0(\d)' slot='0x00'", before))
        assert len(ports - busy) == 1  # libvirt's one spare
        dom.attach_device(nic.format(1))
        m = re.search(r"52:54:00:00:35:01.*?bus='0x0(\d)' slot='0x00' function='0x0'", dom.xml_desc(), re.S)
        assert m and {m.group(1)} == ports - busy
        assert "net0" in _peripherals(root, "q1")
        with pytest.raises(LibvirtError) as full:
            dom.attach_device(nic.format(2))
        assert "No more available PCI slots" in str(full.value)
        dom.detach_device(nic.format(1))  # the guest's pciehp lets go of it
        wait_until(lambda: "52:54:00:00:35:01" not in dom.xml_desc())
        assert "net0" not in _peripherals(root, "q1")
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()


def _links(*args: str) -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show", *args], capture_output=True, text=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line.strip()]


def _in_netns(root: str, kernel: str, initrd: str, cmdline: str, ready: str) -> dict[str, Any]:
    """Inside ``unshare --net``: hot-plug a bridge and an ethernet interface, report what happened."""
    subprocess.run(["ip", "link", "add", "br0", "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", "br0", "up"], check=True)
    console = Path(root) / "console.log"
    conn = pyvirt.open(f"qemu:///embed?root={root}/root")
    out: dict[str, Any] = {}
    try:
        dom = conn.create_xml(domain_xml(kernel, initrd, cmdline, "t1", console))
        wait_until(lambda: console.exists() and ready in console.read_text(errors="replace"))
        dom.attach_device("<interface type='bridge'><mac address='52:54:00:12:34:56'/>"
                          "<source bridge='br0'/><model type='virtio'/></interface>")
        dom.attach_device("<interface type='ethernet'><mac address='52:54:00:12:34:57'/>"
                          "<target dev='tapx%d'/><model type='virtio'/></interface>")
        out["live"] = dom.xml_desc()
        out["ports"] = _links("master", "br0")
        shown = subprocess.run(["ip", "-j", "link", "show", "dev", "vnet0"], capture_output=True, text=True)
        out["tap_mac"] = json.loads(shown.stdout)[0]["address"]
        out["all"] = _links()
        out["stats"] = list(dom.interface_stats("vnet0"))
        try:
            dom.attach_device("<interface type='bridge'><source bridge='nosuchbr'/></interface>")
        except LibvirtError as exc:
            out["missing_bridge"] = str(exc)
        out["after_error"] = dom.xml_desc()
        dom.detach_device("<interface type='bridge'><mac address='52:54:00:12:34:56'/></interface>")
        dom.detach_device("<interface type='ethernet'><mac address='52:54:00:12:34:57'/></interface>")
        wait_until(lambda: "vnet0" not in _links() and "tapx0" not in _links())
        out["after"] = _links()
        out["live_after"] = dom.xml_desc()
        dom.destroy()
    finally:
        conn.close()
    return out


def test_tap_interface_hotplug(guest: Any, tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs root, unshare and iproute2 for a private network namespace")
    proc = subprocess.run(["unshare", "--net", sys.executable, __file__, str(tmp_path), str(guest.kernel),
                           str(guest.initrd), guest.cmdline, guest.ready_line],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["ports"] == ["vnet0"]
    assert "<target dev='vnet0'/>" in got["live"] and "<target dev='tapx0'/>" in got["live"]
    assert "<alias name='net0'/>" in got["live"] and "<alias name='net1'/>" in got["live"]
    assert got["tap_mac"] == "fe:54:00:12:34:56"
    assert "tapx0" in got["all"]
    assert len(got["stats"]) == 8
    assert "nosuchbr" in got["missing_bridge"]
    assert "nosuchbr" not in got["after_error"]
    assert "vnet0" not in got["after"] and "tapx0" not in got["after"]
    assert "<interface" not in got["live_after"]


if __name__ == "__main__":
    print(json.dumps(_in_netns(*sys.argv[1:6])))
