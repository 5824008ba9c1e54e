"""Statistics of a running QEMU guest: domstats groups, block/memory/CPU counters, pyvirsh output.

One guest boots for the whole module (a qcow2 disk on virtio, user networking,
its shell on a unix-socket serial port); the tests make it read and write its
disk and turn on balloon statistics, and watch the counters follow.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.cli.main import main as pyvirsh
from pyvirt.errors import LibvirtError

DEADLINE = 90.0


def guest_xml(guest: Any, name: str, disk: Path, serial: Path) -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<devices><serial type='unix'><source mode='bind' path='{serial}'/></serial>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
<target dev='vda' bus='virtio'/></disk>
<interface type='user'><model type='virtio'/></interface></devices></domain>"""


def wait_until(pred: Any, what: Any = None, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never became true: {what() if what else ''}")
        time.sleep(0.1)


class Shell:
    """The guest's busybox shell on the serial socket: run a command, wait for its marker."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        wait_until(lambda: self._connect(path), lambda: f"no serial socket {path}")
        self.sock.settimeout(0.5)
        self.buf = b""
        self.n = 0

    def _connect(self, path: Path) -> bool:
        try:
            self.sock.connect(str(path))
            return True
        except OSError:
            return False

    def run(self, command: str, timeout: float = DEADLINE) -> str:
        self.n += 1
        mark = f"DONE{self.n}X"
        line = f"{command}; echo DONE{self.n}''X\n".encode()
        deadline = time.monotonic() + timeout
        sent = 0.0
        while mark.encode() not in self.buf:
            if time.monotonic() - sent > 5:  # the shell may not be up yet: say it again
                self.sock.sendall(line)
                sent = time.monotonic()
            try:
                self.buf += self.sock.recv(65536)
            except socket.timeout:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"guest did not run {command!r}: {self.buf[-500:]!r}")
        out, _, self.buf = self.buf.partition(mark.encode())
        return out.decode(errors="replace")


@pytest.fixture(scope="module")
def running(guest: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Path, Shell]]:
    tmp = tmp_path_factory.mktemp("stats")
    disk = tmp / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    conn = pyvirt.open(f"qemu:///embed?root={tmp / 'root'}")
    dom = conn.define_xml(guest_xml(guest, "s1", disk, tmp / "serial.sock"))
    idle = conn.define_xml(guest_xml(guest, "s2", disk, tmp / "serial2.sock"))
    dom.create()
    try:
        shell = Shell(tmp / "serial.sock")
        shell.run("true")
        yield conn, dom, disk, shell
    finally:
        dom.destroy()
        dom.undefine()
        idle.undefine()
        conn.close()


def _stats(conn: Any, dom: Any, stats: int = 0, flags: int = 0) -> dict[str, Any]:
    (rec,) = [r for d, r in conn.domain_list_get_stats([dom], stats, flags)]
    return rec


def test_domstats_groups_of_running_and_defined_domains(running: Any) -> None:
    conn, dom, disk, _shell = running
    rec = _stats(conn, dom)
    assert (rec["state.state"], rec["state.reason"]) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_BOOTED)
    assert rec["cpu.time"] == rec["cpu.user"] + rec["cpu.system"] > 0
    assert rec["balloon.current"] == rec["balloon.maximum"] == 128 * 1024 and rec["balloon.rss"] > 0
    assert (rec["vcpu.current"], rec["vcpu.maximum"], rec["vcpu.0.state"]) == (1, 1, c.VIR_VCPU_RUNNING)
    assert 0 < rec["vcpu.0.time"] <= rec["cpu.time"]
    assert rec["net.count"] == 1 and not any(k.startswith("net.0.") for k in rec)  # user net: no tap
    assert (rec["block.count"], rec["block.0.name"], rec["block.0.path"]) == (1, "vda", str(disk))
    assert rec["block.0.capacity"] == 64 * 1024 * 1024
    assert rec["block.0.physical"] == os.stat(disk).st_blocks * 512
    assert rec["dirtyrate.calc_mode"] == "page-sampling"
    # libvirt's order: the groups, and within block the header, the frontend, then the sizes
    keys = list(rec)
    firsts = [next(i for i, k in enumerate(keys) if k.startswith(p))
              for p in ("state.", "cpu.", "balloon.", "vcpu.", "net.", "block.", "dirtyrate.")]
    assert firsts == sorted(firsts)
    assert keys.index("block.0.rd.reqs") < keys.index("block.0.fl.times") < keys.index("block.0.allocation")

    only = _stats(conn, dom, c.VIR_DOMAIN_STATS_STATE | c.VIR_DOMAIN_STATS_VCPU)
    assert set(only) == {"state.state", "state.reason", "vcpu.current", "vcpu.maximum", "vcpu.0.state",
                         "vcpu.0.time", "vcpu.0.wait", "vcpu.0.delay"}

    (idle,) = [d for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_INACTIVE)]
    off = _stats(conn, idle)
    assert off["state.state"] == c.VIR_DOMAIN_SHUTOFF and off["cpu.time"] == 0
    assert off["block.0.capacity"] == 64 * 1024 * 1024 and off["block.0.physical"] == os.stat(disk).st_size
    assert "vcpu.0.state" not in off and "net.count" not in off and "dirtyrate.calc_status" not in off

    names = lambda recs: sorted(d.name() for d, _ in recs)  # noqa: E731
    assert names(conn.get_all_domain_stats(c.VIR_DOMAIN_STATS_STATE)) == ["s1", "s2"]
    assert names(conn.get_all_domain_stats(c.VIR_DOMAIN_STATS_STATE,
                                           c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)) == ["s1"]
    assert names(conn.get_all_domain_stats(c.VIR_DOMAIN_STATS_STATE,
                                           c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_SHUTOFF)) == ["s2"]


def test_domstats_flags(running: Any) -> None:
    conn, dom, _disk, _shell = running
    (idle,) = [d for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_INACTIVE)]
    with pytest.raises(LibvirtError) as bad:
        conn.get_all_domain_stats(0, 1 << 20)
    assert bad.value.get_error_code() == c.VIR_ERR_INVALID_ARG
    assert "qemuConnectGetAllDomainStats" in str(bad.value)
    # a stopped guest has no dirty-rate statistics: dropped, or refused with ENFORCE_STATS
    assert _stats(conn, idle, c.VIR_DOMAIN_STATS_DIRTYRATE) == {}
    with pytest.raises(LibvirtError) as enforced:
        _stats(conn, idle, c.VIR_DOMAIN_STATS_DIRTYRATE, c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS)
    assert enforced.value.get_error_code() == c.VIR_ERR_ARGUMENT_UNSUPPORTED
    assert "0x200" in str(enforced.value)
    assert "dirtyrate.calc_status" in _stats(conn, dom, c.VIR_DOMAIN_STATS_DIRTYRATE,
                                             c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS
                                             | c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT)


def test_block_counters_follow_guest_io(running: Any) -> None:
    conn, dom, disk, shell = running
    before = _stats(conn, dom, c.VIR_DOMAIN_STATS_BLOCK)
    shell.run("dd if=/dev/vda of=/dev/null bs=4096 count=64 iflag=direct 2>/dev/null; "
              "dd if=/dev/zero of=/dev/vda bs=4096 count=16 seek=1024 oflag=direct conv=fsync 2>/dev/null; sync")
    after = wait_until(lambda: (lambda r: r if r["block.0.wr.bytes"] >= before["block.0.wr.bytes"] + 65536
                                else None)(_stats(conn, dom, c.VIR_DOMAIN_STATS_BLOCK)),
                       lambda: _stats(conn, dom, c.VIR_DOMAIN_STATS_BLOCK))
    assert after["block.0.rd.bytes"] >= before["block.0.rd.bytes"] + 64 * 4096
    assert after["block.0.rd.reqs"] > before["block.0.rd.reqs"] and after["block.0.rd.times"] > 0
    assert after["block.0.wr.reqs"] > before["block.0.wr.reqs"] and after["block.0.wr.times"] > 0
    assert after["block.0.allocation"] > 0  # QEMU's highest written offset in the image file

    flagged = dom.block_stats_flags("vda")
    assert list(flagged) == ["wr_bytes", "wr_operations", "rd_bytes", "rd_operations", "flush_operations",
                             "wr_total_times", "rd_total_times", "flush_total_times"]
    assert flagged["wr_bytes"] >= after["block.0.wr.bytes"] and flagged["rd_operations"] >= after["block.0.rd.reqs"]
    rd_req, rd_bytes, wr_req, wr_bytes, errs = dom.block_stats(str(disk))
    assert (rd_bytes >= after["block.0.rd.bytes"], wr_req >= after["block.0.wr.reqs"], errs) == (True, True, -1)
    assert dom.block_stats("")[1] == dom.block_stats("vda")[1]  # the sum over the single disk
    with pytest.raises(LibvirtError) as bad:
        dom.block_stats("vdz")
    assert bad.value.get_error_code() == c.VIR_ERR_INVALID_ARG and "invalid path: vdz" in str(bad.value)

    capacity, allocation, physical = dom.block_info("vda")
    st = os.stat(disk)
    assert capacity == 64 * 1024 * 1024
    assert allocation == st.st_blocks * 512 or allocation > 0
    assert physical in (st.st_size, st.st_blocks * 512)


def test_balloon_guest_stats_with_a_period(running: Any) -> None:
    conn, dom, _disk, _shell = running
    first = dom.memory_stats().get("last_update", 0)  # the guest's driver may have reported once at boot
    dom.set_memory_stats_period(1, c.VIR_DOMAIN_AFFECT_LIVE | c.VIR_DOMAIN_AFFECT_CONFIG)
    assert "<stats period='1'/>" in dom.xml_desc()
    assert "<stats period='1'/>" in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
    stats = wait_until(lambda: (lambda s: s if "usable" in s and s.get("last_update", 0) > first else None)(
        dom.memory_stats()), lambda: dom.memory_stats())
    assert list(stats)[0] == "actual" and list(stats)[-1] == "rss"
    assert 0 < stats["unused"] <= stats["available"] <= 128 * 1024
    assert stats["usable"] <= stats["available"] and stats["last_update"] > 1_600_000_000
    rec = _stats(conn, dom, c.VIR_DOMAIN_STATS_BALLOON)
    assert 0 < rec["balloon.available"] <= 128 * 1024 and rec["balloon.last-update"] > 0
    assert "balloon.actual" not in rec
    dom.set_memory_stats_period(0, c.VIR_DOMAIN_AFFECT_LIVE)
    assert "<stats period" not in dom.xml_desc()
    (idle,) = [d for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_INACTIVE)]
    with pytest.raises(LibvirtError) as off:
        idle.set_memory_stats_period(5, c.VIR_DOMAIN_AFFECT_LIVE)
    assert off.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID


def test_cpu_stats_and_vcpus(running: Any) -> None:
    _conn, dom, _disk, _shell = running
    (total,) = dom.get_cpu_stats(True)
    assert total["cpu_time"] == total["user_time"] + total["system_time"] > 0
    with pytest.raises(LibvirtError) as per_cpu:
        dom.get_cpu_stats(False)
    assert per_cpu.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID
    info, maps = dom.vcpus()
    assert info[0][0] == 0 and info[0][2] > 0 and any(maps[0])


def _pyvirsh(uri: str, line: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    rc = pyvirsh(["virsh", "-c", uri, line], stdin=io.StringIO(""), stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


def test_pyvirsh_stats_commands(running: Any) -> None:
    conn, _dom, disk, _shell = running
    uri = conn.get_uri()
    rc, out, err = _pyvirsh(uri, "domstats s1 --block --balloon")
    assert rc == 0, err
    assert out.startswith("Domain: 's1'\n  balloon.current=131072\n  balloon.maximum=131072\n")
    assert f"  block.0.path={disk}\n" in out and re.search(r"^  block\.0\.rd\.reqs=\d+$", out, re.M)
    rc, out, err = _pyvirsh(uri, "domblkstat s1 vda --human")
    assert rc == 0, err
    assert out.startswith("Device: vda\n number of read operations:      ")
    assert " total duration of flushes (ns): " in out
    rc, out, err = _pyvirsh(uri, "domblkinfo s1 vda")
    assert rc == 0, err
    assert re.fullmatch(r"Capacity:       67108864\nAllocation:     \d+\nPhysical:       \d+\n\n", out), out
    rc, out, err = _pyvirsh(uri, "dommemstat s1")
    assert rc == 0, err
    assert out.startswith("actual 131072\n") and re.search(r"^rss \d+$", out, re.M)
    rc, out, err = _pyvirsh(uri, "domstats --list-shutoff --state")
    assert rc == 0 and out == "Domain: 's2'\n  state.state=5\n  state.reason=0\n\n", (out, err)


def test_pyvirsh_cpu_stats(running: Any) -> None:
    conn, _dom, _disk, _shell = running
    rc, out, err = _pyvirsh(conn.get_uri(), "cpu-stats s1 --total")
    assert rc == 0, err
    assert re.fullmatch(r"Total:\n\tcpu_time +\d+\.\d{9} seconds\n\tuser_time +\d+\.\d{9} seconds\n"
                        r"\tsystem_time +\d+\.\d{9} seconds\n\n", out), out
    rc, out, err = _pyvirsh(conn.get_uri(), "cpu-stats s1")
    assert rc == 1 and "Failed to retrieve CPU statistics for domain 's1'" in err
    assert "cgroup CPUACCT controller is not mounted" in err


def test_stats_param_types_are_libvirts() -> None:
    from pyvirt.daemon.wire import stats_param_type as t
    assert [t("state.state", 1), t("vcpu.0.state", 1), t("dirtyrate.calc_status", 0)] == [c.VIR_TYPED_PARAM_INT] * 3
    assert [t("block.count", 1), t("net.count", 1), t("vcpu.maximum", 1), t("block.2.backingIndex", 1),
            t("cpu.cache.monitor.count", 0)] == [c.VIR_TYPED_PARAM_UINT] * 5
    assert [t("block.0.rd.bytes", 5), t("balloon.rss", 5), t("cpu.time", 5)] == [c.VIR_TYPED_PARAM_ULLONG] * 3
    assert t("dirtyrate.calc_start_time", 0) == c.VIR_TYPED_PARAM_LLONG
    assert t("block.0.name", "vda") == c.VIR_TYPED_PARAM_STRING and t("vcpu.0.halted", True) == c.VIR_TYPED_PARAM_BOOLEAN
