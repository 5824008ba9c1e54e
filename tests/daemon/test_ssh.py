"""Real virsh, libvirt-python and pyvirt's remote driver reach pyvirtd over SSH (a real sshd on
loopback), the far side joined to the daemon socket by ``pyvirt-ssh-helper``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from pyvirt.daemon import ssh_helper

from .conftest import ROOT, Daemon, free_port, virsh

libvirt = pytest.importorskip("libvirt")

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"

DOMAIN_XML = """<domain type='test'>
  <name>viassh</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>
"""


@dataclass
class Sshd:
    port: int
    key: str
    ssh: str  # an ssh wrapper that keeps host keys out of ~/.ssh/known_hosts
    helper: str  # pyvirt-ssh-helper as the far side runs it (this checkout, no install needed)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def sshd() -> Iterator[Sshd]:
    """Debian's openssh-server on 127.0.0.1 with a throwaway host key and an authorized key."""
    if not os.path.exists(SSHD) or not shutil.which("ssh-keygen") or not shutil.which("ssh"):
        pytest.skip("openssh-server / openssh-client are not installed")
    if os.geteuid() != 0:
        pytest.skip("sshd for the test needs root")
    base = tempfile.mkdtemp(prefix="sshd-")
    hostkey, userkey = os.path.join(base, "hostkey"), os.path.join(base, "userkey")
    for k in (hostkey, userkey):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k], check=True)
    auth = os.path.join(base, "authorized_keys")
    shutil.copy(userkey + ".pub", auth)
    os.chmod(auth, 0o600)
    port = free_port()
    conf = os.path.join(base, "sshd_config")
    Path(conf).write_text(f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {hostkey}\nAuthorizedKeysFile {auth}\n"
                          "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                          "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                          f"PidFile {base}/sshd.pid\n", encoding="utf-8")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    log = open(os.path.join(base, "sshd.log"), "wb")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", conf], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not _port_open(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(Path(base, "sshd.log").read_text())
            time.sleep(0.02)
        wrapper = os.path.join(base, "ssh")
        Path(wrapper).write_text('#!/bin/sh\nexec ssh -o UserKnownHostsFile=/dev/null '
                                 '-o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR "$@"\n', encoding="utf-8")
        helper = os.path.join(base, "pyvirt-ssh-helper")
        Path(helper).write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m pyvirt.daemon.ssh_helper "
                                '"$@"\n', encoding="utf-8")
        for f in (wrapper, helper):
            os.chmod(f, 0o755)
        yield Sshd(port, userkey, wrapper, helper)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def ssh_uri(sshd: Sshd, d: Daemon) -> str:
    return (f"test+ssh://root@127.0.0.1:{sshd.port}/default?socket={d.rw}&keyfile={sshd.key}"
            f"&no_verify=1&no_tty=1&command={sshd.ssh}&netcat={sshd.helper}")


def _steady(out: str) -> list[str]:
    """virsh output without the line that follows the clock (the test driver's CPU time)."""
    return [line for line in out.splitlines() if not line.startswith("CPU time:")]


def test_virsh_over_ssh_matches_unix(sshd: Sshd, pyvirtd: Daemon, tmp_path: Path) -> None:
    via_ssh, local = ssh_uri(sshd, pyvirtd), pyvirtd.uri()
    for args in (("list", "--all"), ("dominfo", "test"), ("domstate", "test"), ("nodeinfo",)):
        a, b = virsh(via_ssh, *args, check=True), virsh(local, *args, check=True)
        assert _steady(a.stdout) == _steady(b.stdout)
    xml = tmp_path / "dom.xml"
    xml.write_text(DOMAIN_XML)
    keep = libvirt.open(local)  # test:///default forgets what was defined once its last user leaves
    assert "Domain 'viassh' defined" in virsh(via_ssh, "define", str(xml), check=True).stdout
    assert "Domain 'viassh' started" in virsh(via_ssh, "start", "viassh", check=True).stdout
    assert virsh(local, "domstate", "viassh", check=True).stdout.strip() == "running"  # the same daemon
    assert "Domain 'viassh' destroyed" in virsh(via_ssh, "destroy", "viassh", check=True).stdout
    assert virsh(local, "domstate", "viassh", check=True).stdout.strip() == "shut off"
    virsh(via_ssh, "undefine", "viassh", check=True)
    assert "viassh" not in [d.name() for d in keep.listAllDomains(0)]
    keep.close()
    err = virsh(via_ssh, "dominfo", "nosuchdomain")
    assert err.returncode == 1
    assert "failed to get domain 'nosuchdomain'" in err.stderr
    assert err.stderr == virsh(local, "dominfo", "nosuchdomain").stderr


def test_libvirt_python_over_ssh(sshd: Sshd, pyvirtd: Daemon) -> None:
    conn = libvirt.open(ssh_uri(sshd, pyvirtd))
    try:
        assert conn.getType() == "TEST"
        assert [d.name() for d in conn.listAllDomains(0)] == ["test"]
        assert conn.lookupByName("test").info()[0] == libvirt.VIR_DOMAIN_RUNNING
        dom = conn.defineXML(DOMAIN_XML)
        dom.create()
        assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING
        dom.destroy()
        dom.undefine()
        with pytest.raises(libvirt.libvirtError) as info:
            conn.lookupByName("nosuchdomain")
        assert info.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    finally:
        conn.close()


def test_pyvirt_remote_driver_over_ssh(sshd: Sshd, pyvirtd: Daemon) -> None:
    import pyvirt.libvirt as pylibvirt

    conn = pylibvirt.open(ssh_uri(sshd, pyvirtd))
    try:
        assert sorted(d.name() for d in conn.listAllDomains(0)) == ["test"]
        assert conn.lookupByName("test").XMLDesc(0) == libvirt.open(pyvirtd.uri()).lookupByName("test").XMLDesc(0)
        with pytest.raises(pylibvirt.libvirtError) as info:
            conn.lookupByName("nosuchdomain")
        assert info.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    finally:
        conn.close()


def test_helper_uri_mode_through_ext_transport(pyvirtd: Daemon, sshd: Sshd, tmp_path: Path) -> None:
    """``pyvirt-ssh-helper URI`` (virt-ssh-helper's form) finds the socket from the URI."""
    cmd = tmp_path / "join"
    cmd.write_text(f"#!/bin/sh\nexec {sshd.helper} 'test:///default?socket={pyvirtd.rw}'\n")
    cmd.chmod(0o755)
    conn = libvirt.open(f"test+ext:///default?command={cmd}")
    try:
        assert conn.lookupByName("test").name() == "test"
    finally:
        conn.close()


def test_helper_socket_choice_and_failure(tmp_path: Path, capsys: Any) -> None:
    assert ssh_helper.socket_for("test:///default?socket=/x/y", False) == "/x/y"
    assert ssh_helper.socket_for("qemu:///system", True).endswith("-sock-ro")
    missing = str(tmp_path / "nope")
    assert ssh_helper.main(["-U", missing]) == 1
    assert f"Failed to connect socket to '{missing}'" in capsys.readouterr().err
