"""domstats against libvirt 9.0's own QEMU driver running the same guest: the same keys, in order.

libvirt's embedded driver runs as user ``nobody`` (as root it wants the
``libvirt-qemu`` user); both guests are started paused, which is enough for
every statistic group to answer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

import pyvirt
from pyvirt import constants as c

NOBODY = 65534


@pytest.fixture(scope="module")
def lvdir() -> Iterator[Path]:
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("virsh", "setpriv", "qemu-img")):
        pytest.skip("needs root, virsh (libvirt-clients), setpriv and qemu-img")
    if not Path("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so").exists():
        pytest.skip("needs libvirt's QEMU driver (libvirt-daemon-driver-qemu)")
    root = Path(tempfile.mkdtemp(prefix="pyvirt-statsoracle-"))
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _xml(guest: Any, name: str, disk: Path, log: Path) -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='{log}'/></serial>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
<target dev='vda' bus='virtio'/></disk>
<interface type='user'><model type='virtio'/></interface></devices></domain>"""


def _virsh(root: Path, line: str) -> str:
    proc = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         "virsh", "-q", "-c", f"qemu:///embed?root={root}/root", line],
        capture_output=True, text=True, timeout=120, env={"HOME": str(root), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _keys(text: str) -> dict[str, list[str]]:
    """Domain name -> its domstats keys in order."""
    out: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("Domain: '"):
            current = line[len("Domain: '"):-1]
            out[current] = []
        elif line.startswith("  ") and "=" in line:
            out[current].append(line.strip().split("=", 1)[0])
    return out


def test_domstats_keys_match_libvirt(guest: Any, lvdir: Path) -> None:
    disks = {}
    for who in ("lv", "pv"):
        base = lvdir / f"{who}-base.qcow2"
        disks[who] = lvdir / f"{who}.qcow2"
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(base), "32M"], check=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2",
                        str(disks[who])], check=True)
    (lvdir / "lv.xml").write_text(_xml(guest, "run", disks["lv"], lvdir / "lv-run.log")
                                  + "\n")
    (lvdir / "lv-off.xml").write_text(_xml(guest, "off", disks["lv"], lvdir / "lv-off.log"))
    for path in lvdir.iterdir():
        os.chown(path, NOBODY, NOBODY)
    os.chown(lvdir, NOBODY, NOBODY)
    lines = (f"define {lvdir}/lv.xml; define {lvdir}/lv-off.xml; start run --paused; "
             "domstats run off; domstats --backing run; destroy run")
    text = _virsh(lvdir, lines)
    blocks = text.split("Domain: 'run'")
    theirs = _keys("Domain: 'run'" + blocks[1])
    theirs_backing = _keys("Domain: 'run'" + blocks[2])["run"]

    conn = pyvirt.open(f"qemu:///embed?root={lvdir / 'pyvirt-root'}")
    try:
        run = conn.define_xml(_xml(guest, "run", disks["pv"], lvdir / "pv-run.log"))
        off = conn.define_xml(_xml(guest, "off", disks["pv"], lvdir / "pv-off.log"))
        run.create_with_flags(c.VIR_DOMAIN_START_PAUSED)
        try:
            ours = {d.name(): list(rec) for d, rec in conn.domain_list_get_stats([run, off])}
            ours_backing = list(conn.domain_list_get_stats(
                [run], 0, c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING)[0][1])
        finally:
            run.destroy()
            run.undefine()
            off.undefine()
    finally:
        conn.close()
    assert len(theirs["run"]) > 30 and len(theirs["off"]) > 10
    assert ours["off"] == theirs["off"]
    assert ours["run"] == theirs["run"]
    assert ours_backing == theirs_backing
    assert "block.1.path" in ours_backing  # the backing image is its own record
