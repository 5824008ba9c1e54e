"""QEMU snapshots of shut-off domains (qemu-img, no guest boots): internal and external, the tree,
metadata on disk and in a new process, libvirt's errors; pyvirsh against libvirt's own embed driver."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import pyvirt
from pyvirt import constants as c

pytestmark = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img (qemu-utils)")

GOLDEN = Path(__file__).parents[2] / "data" / "qemu_snapshot"
UUID = "11111111-2222-3333-4444-555555555555"
NOBODY = 65534


def _dom_xml(name: str, disk: Path, fmt: str = "qcow2", uuid: str = UUID) -> str:
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='{fmt}'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>
"""


def _img(path: Path, fmt: str = "qcow2") -> Path:
    subprocess.run(["qemu-img", "create", "-f", fmt, str(path), "16M"], check=True, capture_output=True)
    return path


def _img_snapshots(disk: Path) -> list[str]:
    out = subprocess.run(["qemu-img", "snapshot", "-l", str(disk)], capture_output=True, text=True,
                         check=True).stdout
    return [line.split()[1] for line in out.splitlines()[2:] if line.strip()]


def _backing(path: Path) -> str:
    out = subprocess.run(["qemu-img", "info", str(path)], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^backing file: (.*)$", out, re.M)
    return m.group(1) if m else ""


def _snap(dom: pyvirt.Domain, name: str, flags: int = 0, extra: str = "") -> pyvirt.DomainSnapshot:
    return dom.snapshot_create_xml(f"<domainsnapshot><name>{name}</name>{extra}</domainsnapshot>", flags)


def _err(fn: object, *args: object) -> pyvirt.LibvirtError:
    with pytest.raises(pyvirt.LibvirtError) as exc:
        fn(*args)  # type: ignore[operator]
    return exc.value


def test_internal_offline_tree_revert_delete(tmp_path: Path) -> None:
    disk = _img(tmp_path / "disk.qcow2")
    root = tmp_path / "root"
    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        dom = conn.define_xml(_dom_xml("s1", disk))
        first = _snap(dom, "first", extra="<description>hello</description>")
        second = _snap(dom, "second")
        third = dom.snapshot_create_xml("<domainsnapshot><name>third</name></domainsnapshot>", 0)
        assert _img_snapshots(disk) == ["first", "second", "third"]
        assert dom.snapshot_list_names() == ["first", "second", "third"]
        assert second.get_parent().get_name() == "first" and third.get_parent().get_name() == "second"
        assert dom.snapshot_current().get_name() == "third" and third.is_current() and not first.is_current()
        assert first.num_children(c.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS) == 2
        assert dom.snapshot_list_names(c.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES) == ["third"]
        assert dom.snapshot_list_names(c.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE) == ["first", "second", "third"]
        assert dom.snapshot_list_names(c.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL) == []
        assert first.has_metadata() == 1
        xml = first.get_xml_desc()
        assert "<state>shutoff</state>" in xml and "<memory snapshot='no'/>" in xml
        assert "<disk name='vda' snapshot='internal'/>" in xml and "<active>" not in xml

        # metadata files: libvirt's header, <active> marks the current one only
        sdir = root / "lib" / "qemu" / "snapshot" / "s1"
        assert sorted(p.name for p in sdir.iterdir()) == ["first.xml", "second.xml", "third.xml"]
        assert (sdir / "third.xml").read_text().startswith("<!--\nWARNING: THIS IS AN AUTO-GENERATED FILE.")
        assert "<active>1</active>" in (sdir / "third.xml").read_text()
        assert "<active>0</active>" in (sdir / "first.xml").read_text()

        dom.revert_to_snapshot(first, 0)
        assert dom.snapshot_current().get_name() == "first"
        assert "<active>1</active>" in (sdir / "first.xml").read_text()
        assert "<active>0</active>" in (sdir / "third.xml").read_text()
        assert dom.state()[0] == c.VIR_DOMAIN_SHUTOFF

        # delete a middle one: its child moves up, the disks lose it
        second.delete(0)
        assert third.get_parent().get_name() == "first"
        assert _img_snapshots(disk) == ["first", "third"]
        assert "<name>first</name>" in (sdir / "third.xml").read_text()
        # metadata only: the disk keeps it
        third.delete(c.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
        assert _img_snapshots(disk) == ["first", "third"] and dom.snapshot_list_names() == ["first"]

        # REDEFINE brings the metadata back (and REDEFINE|CURRENT makes it current)
        text = first.get_xml_desc().replace("<name>first</name>", "<name>third</name>").replace(
            "<description>hello</description>", "<parent><name>first</name></parent>")
        redone = dom.snapshot_create_xml(text, c.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE
                                         | c.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT)
        assert redone.is_current() and redone.get_parent().get_name() == "first"
        dom.revert_to_snapshot(redone, 0)

        # undefine refuses while snapshots exist, SNAPSHOTS_METADATA removes them
        e = _err(dom.undefine)
        assert e.get_error_code() == c.VIR_ERR_OPERATION_INVALID
        assert "cannot delete inactive domain with 2 snapshots" in str(e)

    # a new process reads the metadata
    out = subprocess.run([sys.executable, "-m", "pyvirt.cli.main", "-c", f"qemu:///embed?root={root}",
                          "snapshot-list s1 --tree; snapshot-current s1 --name"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "first\n  |\n  +- third\n    \n\nthird\n"

    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        dom = conn.lookup_by_name("s1")
        dom.undefine_flags(c.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        assert not sdir.exists()
        # a domain defined again with the name starts with no snapshots
        dom = conn.define_xml(_dom_xml("s1", disk))
        assert dom.snapshot_num() == 0


def test_errors(tmp_path: Path) -> None:
    with pyvirt.open(f"qemu:///embed?root={tmp_path / 'root'}") as conn:
        raw = conn.define_xml(_dom_xml("raw1", _img(tmp_path / "raw.img", "raw"), "raw",
                                       "11111111-2222-3333-4444-777777777777"))
        e = _err(_snap, raw, "x")
        assert e.get_error_code() == c.VIR_ERR_CONFIG_UNSUPPORTED and e.get_error_domain() == c.VIR_FROM_QEMU
        assert str(e) == "unsupported configuration: internal snapshot for disk vda unsupported for storage type raw"
        assert raw.snapshot_num() == 0

        dom = conn.define_xml(_dom_xml("s1", _img(tmp_path / "disk.qcow2")))
        e = _err(dom.snapshot_lookup_by_name, "nosuch")
        assert e.get_error_code() == c.VIR_ERR_NO_DOMAIN_SNAPSHOT
        assert str(e) == "Domain snapshot not found: no domain snapshot with matching name 'nosuch'"
        e = _err(dom.snapshot_current)
        assert "the domain does not have a current snapshot" in str(e)
        e = _err(_snap, dom, "a/b")
        assert e.get_error_code() == c.VIR_ERR_XML_DETAIL and "name can't contain '/'" in str(e)
        e = _err(_snap, dom, ".hidden")
        assert "name can't start with '.'" in str(e)
        first = _snap(dom, "first")
        e = _err(_snap, dom, "first")
        assert str(e) == "operation failed: domain moment first already exists"
        e = _err(first.get_parent)
        assert e.get_error_code() == c.VIR_ERR_NO_DOMAIN_SNAPSHOT and "does not have a parent" in str(e)
        e = _err(dom.snapshot_create_xml, "<domainsnapshot/>", c.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE)
        assert "requires flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY'" in str(e)
        e = _err(dom.snapshot_create_xml, "<domainsnapshot/>", c.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE)
        assert "live snapshot creation is supported only during full system snapshots" in str(e)
        e = _err(dom.snapshot_create_xml, "<domainsnapshot/>", 1 << 20)
        assert "unsupported flags (0x100000) in function qemuSnapshotCreateXML" in str(e)
        e = _err(dom.snapshot_create_xml,
                 "<domainsnapshot><name>x</name><parent><name>nope</name></parent><state>shutoff</state>"
                 "<creationTime>1</creationTime></domainsnapshot>", c.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
        assert str(e) == "invalid argument: parent nope for moment x not found"
        # a pre-existing non-empty target for an external snapshot
        taken = tmp_path / "taken.qcow2"
        taken.write_text("data")
        e = _err(dom.snapshot_create_xml, f"<domainsnapshot><disks><disk name='vda'><source file='{taken}'/>"
                 "</disk></disks></domainsnapshot>", c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
        assert f"external snapshot file for disk vda already exists and is not a block device: {taken}" in str(e)


def test_external_offline(tmp_path: Path) -> None:
    disk = _img(tmp_path / "x.qcow2")
    with pyvirt.open(f"qemu:///embed?root={tmp_path / 'root'}") as conn:
        dom = conn.define_xml(_dom_xml("x1", disk))
        e1 = _snap(dom, "e1", c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
        e2 = _snap(dom, "e2", c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
        o1, o2 = tmp_path / "x.e1", tmp_path / "x.e2"
        assert _backing(o1) == str(disk) and _backing(o2) == str(o1)
        assert f"<source file='{o2}'/>" in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        # a domain given the whole chain explicitly (<backingStore>, as libvirt accepts it) starts on it
        chain = (f"<source file='{o2}'/><backingStore type='file'><format type='qcow2'/>"
                 f"<source file='{o1}'/><backingStore type='file'><format type='qcow2'/>"
                 f"<source file='{disk}'/><backingStore/></backingStore></backingStore>")
        other = conn.define_xml(_dom_xml("x2", o2, uuid="11111111-2222-3333-4444-555555555556")
                                .replace(f"<source file='{o2}'/>", chain))
        assert other.xml_desc(c.VIR_DOMAIN_XML_INACTIVE).count("<backingStore type='file'>") == 2
        other.create_with_flags(c.VIR_DOMAIN_START_PAUSED)
        other.destroy()
        other.undefine()
        xml = e2.get_xml_desc()
        assert "<state>shutoff</state>" in xml
        assert (f"<disk name='vda' snapshot='external' type='file'>\n      <driver type='qcow2'/>\n"
                f"      <source file='{o2}'/>\n    </disk>") in xml
        assert f"<source file='{o1}'/>" in xml  # the domain as it was: on the first overlay
        assert dom.snapshot_list_names(c.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL) == ["e1", "e2"]
        e = _err(dom.revert_to_snapshot, e1)
        assert str(e) == "unsupported configuration: revert to external snapshot not supported yet"
        e = _err(e1.delete, c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN)
        assert str(e) == "unsupported configuration: deletion of external children disk snapshots not supported"
        e = _err(e1.delete)
        assert str(e) == "invalid argument: could not find base disk source in disk source chain"
        # an internal snapshot of a qcow2 overlay chain is fine; then mixed parents are refused
        e2.delete(0)
        assert not o2.exists() and dom.snapshot_list_names() == ["e1"]
        assert f"<source file='{o1}'/>" in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        assert dom.snapshot_current().get_name() == "e1"
        i1 = _snap(dom, "i1")
        assert _img_snapshots(o1) == ["i1"]
        i1.delete(0)
        e1.delete(0)
        assert not o1.exists() and f"<source file='{disk}'/>" in dom.xml_desc(c.VIR_DOMAIN_XML_INACTIVE)
        assert dom.snapshot_num() == 0


# --- pyvirsh against libvirt's own QEMU driver (embed), same commands -----------------------------
def _oracle_ok() -> bool:
    return (os.geteuid() == 0 and all(shutil.which(t) for t in ("virsh", "setpriv"))
            and Path("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so").exists())


def _normalize(text: str, base: Path) -> str:
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", "TIME", text)
    text = re.sub(r"<creationTime>\d+</creationTime>", "<creationTime>T</creationTime>", text)
    text = re.sub(r"  <domain type=.*?  </domain>\n", "  <domain/>\n", text, flags=re.S)
    return text.replace(str(base), "BASE")


SCRIPT = ("define {xml}; snapshot-create-as s1 first --description hello; snapshot-create-as s1 second; "
          "snapshot-create-as s1 ext --disk-only; snapshot-list s1; snapshot-list s1 --tree; "
          "snapshot-list s1 --parent; snapshot-list s1 --leaves --name; snapshot-info s1 second; "
          "snapshot-dumpxml s1 first; snapshot-dumpxml s1 ext; snapshot-current s1 --name; "
          "snapshot-revert s1 first; snapshot-delete s1 second; snapshot-list s1 --tree")


def test_pyvirsh_matches_libvirt_embed() -> None:
    if not _oracle_ok():
        pytest.skip("needs root, virsh, setpriv and libvirt's QEMU driver")
    top = Path(tempfile.mkdtemp(prefix="pyvirt-snaporacle-"))  # pytest's tmp dirs are 0700: not for nobody
    try:
        outputs = _sessions(top)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    golden = GOLDEN / "virsh_session.txt"
    if os.environ.get("PYVIRT_REGEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(outputs["virsh"])
    assert outputs["pyvirsh"] == outputs["virsh"]
    assert outputs["virsh"] == golden.read_text()


def _sessions(top: Path) -> dict[str, str]:
    os.chmod(top, 0o755)
    outputs = {}
    for who in ("virsh", "pyvirsh"):
        base = top / who
        base.mkdir()
        _img(base / "disk.qcow2")
        (base / "dom.xml").write_text(_dom_xml("s1", base / "disk.qcow2"))
        line = SCRIPT.format(xml=base / "dom.xml")
        uri = f"qemu:///embed?root={base}/root"
        if who == "virsh":
            subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(base)], check=True)
            argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "virsh", "-c", uri, line]
            env = {"HOME": str(base), "PATH": "/usr/bin:/bin"}
        else:
            argv = [sys.executable, "-m", "pyvirt.cli.main", "-c", uri, line]
            env = dict(os.environ)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
        outputs[who] = _normalize(proc.stdout, base)
    return outputs
