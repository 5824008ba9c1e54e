"""Real virsh against pyvirtd and against a real libvirtd: same output, command by command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import Daemon, start_pyvirtd, virsh

# A session that reads and changes state; run in the same order on both daemons.
SESSION = [
    "list --all", "dominfo test", "domstate test", "domid test", "domuuid test", "dumpxml test",
    "dumpxml --inactive test", "nodeinfo", "version", "hostname", "capabilities", "sysinfo", "freecell",
    "net-list --all", "net-info default", "net-dumpxml default", "pool-list --all --details",
    "pool-info default-pool", "pool-dumpxml default-pool", "vol-list default-pool", "iface-list --all",
    "schedinfo test", "memtune test", "blkiotune test", "numatune test", "vcpuinfo test", "vcpucount test",
    "vcpupin test", "emulatorpin test", "dommemstat test", "domifaddr test", "iothreadinfo test",
    "nodecpumap", "domblkerror test", "domstats --state", "domcapabilities",
    "domblkinfo test vda", "domblklist test", "domiflist test", "domfsinfo test", "domfsfreeze test",
    "domfsthaw test", "nodedev-dumpxml computer", "nodedev-info scsi_host1", "iface-dumpxml eth1",
    "blkdeviotune test vda", "domiftune test testnet0", "iothreadadd test 3", "iothreadinfo test",
    "iothreaddel test 3", "desc test --title --new-desc hello", "desc test --title",
    "domjobinfo test", "domcontrol test", "nodememstats", "freepages", "maxvcpus", "nodecpustats 0",
    "cpu-models x86_64", "pool-capabilities", "perf test", "domdisplay test", "secret-list",
    "domstats --vcpu --block --interface --balloon --cpu-total",
    "suspend test", "domstate --reason test", "resume test", "destroy test", "list --all", "start test",
    "shutdown test", "domstate --reason test", "start --paused test", "list --all", "destroy test",
    "setmem test 1048576 --config", "setvcpus test 1 --config", "dumpxml --inactive test",
    "schedinfo test --set cpu_shares=2048", "schedinfo test",
    "memtune test --hard-limit 4000000 --config", "memtune test --config",
    "autostart test", "dominfo test", "autostart --disable test",
    "snapshot-create-as test s1 --description first", "snapshot-list test --name", "snapshot-info test s1",
    "snapshot-delete test s1", "undefine test", "list --all",
    "net-destroy default", "net-list --all", "net-start default", "net-autostart default",
    "net-info default", "pool-destroy default-pool", "pool-list --all", "pool-start default-pool",
    # errors
    "dominfo nosuch", "net-info nosuch", "pool-info nosuch", "vol-info --pool default-pool nosuch",
    "undefine nosuch", "start nosuch",
]

# Values that depend on the clock.
_VOLATILE = re.compile(r"(CPU time:\s+)\S+|(<creationTime>)\d+|(cpu_time\s+)\S+|(State:\s+)\S+\s*$")


def _norm(text: str) -> str:
    return _VOLATILE.sub(lambda m: next(g for g in m.groups() if g) + "X", text)


def _run_session(d: Daemon) -> list[str]:
    out = []
    for cmd in SESSION:
        r = virsh(d.uri(), *cmd.split())
        out.append(f"$ virsh {cmd}\nrc={r.returncode}\n{_norm(r.stdout)}{_norm(r.stderr)}")
    return out


def test_session_matches_real_libvirtd(tmp_path: Path, libvirtd: Daemon) -> None:
    ours = start_pyvirtd(tmp_path / "py")
    try:
        got = _run_session(ours)
    finally:
        assert ours.stop() == 0
    want = _run_session(libvirtd)
    diffs = [f"--- real\n{w}\n--- pyvirtd\n{g}" for w, g in zip(want, got) if w != g]
    assert not diffs, "\n".join(diffs[:5])


def test_tcp_matches_real_libvirtd(pyvirtd: Daemon, libvirtd: Daemon) -> None:
    for cmd in ("list --all", "dominfo test", "uri"):
        ours = virsh(f"test+tcp://127.0.0.1:{pyvirtd.tcp_port}/default", *cmd.split())
        real = virsh(f"test+tcp://127.0.0.1:{libvirtd.tcp_port}/default", *cmd.split())
        assert ours.returncode == real.returncode == 0
        assert (_norm(ours.stdout).replace(str(pyvirtd.tcp_port), "P")
                == _norm(real.stdout).replace(str(libvirtd.tcp_port), "P"))


@pytest.mark.parametrize("cmd,api", [
    ("destroy test", "virDomainDestroy"), ("suspend test", "virDomainSuspend"),
    ("undefine test", "virDomainUndefineFlags"), ("net-destroy default", "virNetworkDestroy"),
    ("pool-destroy default-pool", "virStoragePoolDestroy"), ("setmem test 1000 --config", "virDomainSetMemoryFlags"),
])
def test_read_only_socket_refuses_changes(pyvirtd: Daemon, libvirtd: Daemon, cmd: str, api: str) -> None:
    """Without -r, the ro socket itself refuses; the message is what `virsh -r` gets from libvirt."""
    ours = virsh(pyvirtd.uri(ro=True), *cmd.split())
    assert ours.returncode == 1
    assert f"error: operation forbidden: read only access prevents {api}\n" in ours.stderr
    real = subprocess.run(["virsh", "-r", "-c", libvirtd.uri(), *cmd.split()], capture_output=True, text=True)
    assert real.stderr.splitlines()[-1] == ours.stderr.splitlines()[-1]
    # nothing changed
    assert "running" in virsh(pyvirtd.uri(), "domstate", "test").stdout


def test_read_only_socket_reads(pyvirtd: Daemon) -> None:
    r = virsh(pyvirtd.uri(ro=True), "list", "--all", check=True)
    assert " 1    test   running" in r.stdout
    r = virsh(pyvirtd.uri(ro=True), "dumpxml", "--security-info", "test")
    assert r.stderr.strip().endswith("operation forbidden: virDomainGetXMLDesc with secure flag")


def test_screenshot_stream(pyvirtd: Daemon, tmp_path: Path) -> None:
    """A read stream: the REPLY, STREAM/CONTINUE data, EOF, then the finish handshake."""
    from pyvirt.drivers import open_driver
    out = tmp_path / "shot.png"
    r = virsh(pyvirtd.uri(), "screenshot", "test", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"Screenshot saved to {out}, with type of image/png\n"
    drv = open_driver("test:///default")
    try:
        assert out.read_bytes() == drv.domain_screenshot(drv.domain_lookup_by_name("test"), 0, 0)[1]
    finally:
        drv.connect_close()
    # the connection is still usable after the stream
    assert virsh(pyvirtd.uri(), "domstate", "test").stdout == "running\n\n"


RO_COMMANDS = ["net-define {d}/net.xml", "vol-create default-pool {d}/vol.xml", "schedinfo test --set weight=10",
               "memtune test --hard-limit 5000000", "managedsave test", "snapshot-create-as test x", "domtime test",
               "setmem test 100000", "autostart test", "net-autostart default", "nodesuspend mem 60",
               "screenshot test {d}/s.png", "dumpxml --security-info test", "domfsinfo test",
               "domifaddr test --source agent"]


def test_read_only_socket_matches_virsh_r(pyvirtd: Daemon, libvirtd: Daemon, tmp_path: Path) -> None:
    """Every refusal on pyvirtd's ro socket reads like libvirt's own `virsh -r` refusal."""
    (tmp_path / "net.xml").write_text("<network><name>n2</name></network>")
    (tmp_path / "vol.xml").write_text("<volume><name>v.img</name><capacity>1024</capacity></volume>")
    diffs = []
    for template in RO_COMMANDS:
        args = template.format(d=tmp_path).split()
        ours = virsh(pyvirtd.uri(ro=True), *args)
        real = subprocess.run(["virsh", "-r", "-c", libvirtd.uri(), *args], capture_output=True, text=True)
        if (ours.returncode, ours.stderr) != (real.returncode, real.stderr):
            diffs.append(f"{template}:\n ours {ours.stderr!r}\n real {real.stderr!r}")
    assert not diffs, "\n".join(diffs)
