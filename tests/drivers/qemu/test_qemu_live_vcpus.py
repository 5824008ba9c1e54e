"""vCPU hot-plug and unplug (setvcpus) with real QEMU (TCG) and the test guest's ACPI CPU hotplug."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu.driver import _STATES
from pyvirt.errors import LibvirtError


class Shell:
    """The guest's serial console (a unix socket QEMU listens on): the busybox shell after the ready line."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(path))
        self.sock.settimeout(0.2)
        self.buf = b""

    def read_until(self, text: str, timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.buf:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} on the console: {self.buf[-500:]!r}")
            try:
                self.buf += self.sock.recv(65536)
            except socket.timeout:
                pass
        return self.buf.decode(errors="replace")

    def run(self, command: str, timeout: float = 90.0) -> str:
        """Run *command*; its output (the shell echoes the command line first)."""
        self.buf = b""
        self.sock.sendall(f"{command}; echo @@DONE\n".encode())
        out = self.read_until("\n@@DONE", timeout)
        return out.split("@@DONE", 1)[1] if out.count("@@DONE") > 1 else out

    def close(self) -> None:
        self.sock.close()


def domain_xml(guest: Any, name: str, console: Path) -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory>
<vcpu current='2'>4</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<devices><serial type='unix'><source mode='bind' path='{console}'/></serial></devices></domain>"""


def wait_until(pred: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(0.05)


def _cpus(root: Path, name: str) -> list[int]:
    vm = _STATES[root].doms[name].vm
    assert vm is not None
    return sorted(cpu["props"]["socket-id"] for cpu in vm.execute("query-cpus-fast"))


def _vcpus_elem(xml: str) -> list[tuple[str, ...]]:
    return re.findall(r"<vcpu id='(\d)' enabled='(\w+)' hotpluggable='(\w+)'(?: order='(\d)')?/>", xml)


def test_setvcpus_live_and_config(guest: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    console = tmp_path / "console.sock"
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    try:
        dom = conn.define_xml(domain_xml(guest, "v1", console))
        with pytest.raises(LibvirtError) as live_max:
            dom.set_vcpus_flags(2, c.VIR_DOMAIN_VCPU_MAXIMUM)
        assert "Flag 'VIR_DOMAIN_AFFECT_CONFIG' is required by flag 'VIR_DOMAIN_VCPU_MAXIMUM'" in str(live_max.value)
        dom.set_vcpus_flags(6, c.VIR_DOMAIN_AFFECT_CONFIG | c.VIR_DOMAIN_VCPU_MAXIMUM)
        assert "<vcpu placement='static' current='2'>6</vcpu>" in dom.xml_desc()
        dom.set_vcpus_flags(4, c.VIR_DOMAIN_AFFECT_CONFIG | c.VIR_DOMAIN_VCPU_MAXIMUM)
        dom.set_vcpus_flags(2, c.VIR_DOMAIN_AFFECT_CONFIG)
        assert "<vcpu placement='static' current='2'>4</vcpu>" in dom.xml_desc()

        dom.create_with_flags(c.VIR_DOMAIN_START_PAUSED)
        shell = Shell(console)
        dom.resume()
        shell.read_until(guest.ready_line)
        assert _cpus(root, "v1") == [0, 1]
        assert dom.vcpus_flags(c.VIR_DOMAIN_AFFECT_LIVE) == 2

        with pytest.raises(LibvirtError) as too_many:
            dom.set_vcpus_flags(5, c.VIR_DOMAIN_AFFECT_LIVE)
        assert ("requested vcpus is greater than max allowable vcpus for the live domain: 5 > 4"
                in str(too_many.value))
        with pytest.raises(LibvirtError) as maxlive:
            dom.set_vcpus_flags(3, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG | c.VIR_DOMAIN_VCPU_MAXIMUM)
        assert maxlive.value.get_error_code() == c.VIR_ERR_OPERATION_UNSUPPORTED
        with pytest.raises(LibvirtError) as agent:
            dom.set_vcpus_flags(3, c.VIR_DOMAIN_VCPU_GUEST)
        assert "QEMU guest agent is not configured" in str(agent.value)
        with pytest.raises(LibvirtError) as boot_cpu:
            dom.set_vcpus(1)  # vCPUs of the -smp count are not hot-pluggable
        assert boot_cpu.value.get_error_code() == c.VIR_ERR_CONFIG_UNSUPPORTED
        assert "failed to find appropriate hotpluggable vcpus" in str(boot_cpu.value)

        dom.set_vcpus(4)
        assert _cpus(root, "v1") == [0, 1, 2, 3]
        live = dom.xml_desc()
        assert "<vcpu placement='static'>4</vcpu>" in live
        assert _vcpus_elem(live) == [("0", "yes", "no", "1"), ("1", "yes", "no", "2"),
                                     ("2", "yes", "yes", "3"), ("3", "yes", "yes", "4")]
        assert dom.vcpus_flags(c.VIR_DOMAIN_AFFECT_LIVE) == 4 and dom.info()[3] == 4
        assert dom.vcpus_flags(c.VIR_DOMAIN_AFFECT_CONFIG) == 2
        assert "<vcpus>" not in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)

        # the guest has seen both new CPUs (ACPI) before it is asked to eject one
        wait_until(lambda: "cpu3" in shell.run("ls /sys/devices/system/cpu"))
        # unplug: the guest ejects the CPU through ACPI; QEMU reports DEVICE_DELETED
        try:
            dom.set_vcpus_flags(3, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG)
        except LibvirtError as exc:  # a slow guest: libvirt's timeout, the removal completes later
            assert exc.get_error_code() == c.VIR_ERR_OPERATION_TIMEOUT
        wait_until(lambda: _cpus(root, "v1") == [0, 1, 2])
        wait_until(lambda: dom.vcpus_flags(c.VIR_DOMAIN_AFFECT_LIVE) == 3)
        assert _vcpus_elem(dom.xml_desc())[3] == ("3", "no", "yes", "")
        assert 'current="3"' in (root / "run" / "qemu" / "v1.xml").read_text()
        wait_until(lambda: "cpu3" not in shell.run("ls /sys/devices/system/cpu"))
        shell.close()
    finally:
        for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            d.destroy()
        conn.close()
