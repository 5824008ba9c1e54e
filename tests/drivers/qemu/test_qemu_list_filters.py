"""connect_list_all_domains filters of the QEMU driver that need no running guest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import pyvirt
from pyvirt import constants as c

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img is not installed")


def _xml(name: str, disk: Path) -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
    <source file='{disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>"""


def _names(conn: pyvirt.Connection, flags: int) -> list[str]:
    return sorted(d.name() for d in conn.list_all_domains(flags))


def test_has_snapshot_and_no_snapshot(tmp_path: Path) -> None:
    for name in ("with", "without"):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(tmp_path / f"{name}.qcow2"), "1M"],
                       check=True)
    with pyvirt.open(f"qemu:///embed?root={tmp_path / 'root'}") as conn:
        snapped = conn.define_xml(_xml("with", tmp_path / "with.qcow2"))
        conn.define_xml(_xml("without", tmp_path / "without.qcow2"))
        assert _names(conn, c.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT) == []
        snapped.snapshot_create_xml("<domainsnapshot><name>s1</name></domainsnapshot>")
        assert _names(conn, c.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT) == ["with"]
        assert _names(conn, c.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT) == ["without"]
        both = c.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT | c.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT
        assert _names(conn, both) == ["with", "without"]
        assert _names(conn, c.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT | c.VIR_CONNECT_LIST_DOMAINS_ACTIVE) == []
