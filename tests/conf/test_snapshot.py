"""``<domainsnapshot>`` parse and format, checked against libvirt 9.0's test driver.

Goldens ``tests/data/conf/snapshot/CASE.xml`` are ``virsh snapshot-dumpxml``
output after ``define`` (and ``start`` for running cases) of a domain from
``tests/data/conf/domain`` and ``snapshot-create`` of the case's XML.
``PYVIRT_REGEN=1`` regenerates them. creationTime is the clock; the test
feeds the golden's value back as "now".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pyvirt.conf.domain import DomainDef
from pyvirt.conf.snapshot import SnapshotDef
from pyvirt.errors import LibvirtError

DATA = Path(__file__).resolve().parent.parent / "data" / "conf"
SNAPS = DATA / "snapshot"
REGEN = os.environ.get("PYVIRT_REGEN") == "1"

# case: (domain input, running?, snapshot XMLs created in order; the last is dumped)
CASES: dict[str, tuple[str, bool, list[str]]] = {
    "running-desc": ("test-builtin", True,
                     ["<domainsnapshot><name>s1</name><description>first one</description></domainsnapshot>"]),
    "shutoff": ("vi-fedora-q35", False, ["<domainsnapshot><name>off</name></domainsnapshot>"]),
    "parent": ("units-vcpu", True, ["<domainsnapshot><name>a</name></domainsnapshot>",
                                    "<domainsnapshot><name>b</name><description>child</description>"
                                    "</domainsnapshot>"]),
    "disk-no": ("numa-features", True,
                ["<domainsnapshot><name>d</name><disks><disk name='sdb' snapshot='internal'/></disks>"
                 "</domainsnapshot>"]),
    "by-path": ("numa-features", False,
                ["<domainsnapshot><name>p</name><disks><disk name='/a.img'/></disks>"
                 "</domainsnapshot>"]),
}


def _name(path: Path) -> str:
    from lxml import etree
    return etree.parse(str(path)).getroot().findtext("name") or ""


def _regen(case: str) -> str:
    if shutil.which("virsh") is None:
        pytest.skip("virsh is not installed")
    dom_in, running, snaps = CASES[case]
    src = DATA / "domain" / f"{dom_in}-in.xml"
    name = _name(src)
    with tempfile.TemporaryDirectory() as tmp:
        cmds = [f"define {src}"]
        if running:
            cmds.append(f"start '{name}'")
        for i, xml in enumerate(snaps):
            path = Path(tmp) / f"s{i}.xml"
            path.write_text(xml)
            cmds.append(f"snapshot-create '{name}' --xmlfile {path}")
        cmds.append(f"snapshot-dumpxml '{name}' --snapshotname "
                    f"'{re.search(r'<name>(.*?)</name>', snaps[-1]).group(1)}'")  # type: ignore[union-attr]
        proc = subprocess.run(["virsh", "-q", "-c", "test:///default", "; ".join(cmds)],
                              capture_output=True, text=True, check=True)
    out = proc.stdout
    return out[out.index("<domainsnapshot>"):].rstrip("\n") + "\n"


def _golden(case: str) -> str:
    path = SNAPS / f"{case}.xml"
    if REGEN or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_regen(case))
    return path.read_text()


@pytest.mark.parametrize("case", sorted(CASES))
def test_snapshot_matches_libvirt(case: str) -> None:
    expected = _golden(case)
    now = int(re.search(r"<creationTime>(\d+)</creationTime>", expected).group(1))  # type: ignore[union-attr]
    dom_in, running, snaps = CASES[case]
    dom = DomainDef.parse((DATA / "domain" / f"{dom_in}-in.xml").read_text())
    dom.assign_ifnames()
    parent = None
    snap = None
    for xml in snaps:
        snap = SnapshotDef.parse(xml, dom, now=now)
        snap.align_for_create("running" if running else "shutoff")
        snap.parent = parent
        parent = snap.name
    assert snap is not None
    assert snap.to_xml() == expected
    # and a redefine of the output gives the output back
    again = SnapshotDef.parse(expected, None, redefine=True)
    assert again.to_xml() == expected


def test_name_defaults_to_creation_time() -> None:
    snap = SnapshotDef.parse("<domainsnapshot/>", None, now=1234567890)
    assert snap.name == "1234567890"
    assert "<name>1234567890</name>" in snap.to_xml()


@pytest.mark.parametrize("xml,redefine,message", [
    ("<domainsnapshot><memory snapshot='manual'/></domainsnapshot>", False,
     "XML error: 'manual' memory snapshot mode not supported"),
    ("<domainsnapshot><memory snapshot='external'/></domainsnapshot>", False,
     "XML error: external memory snapshots require a filename"),
    ("<domainsnapshot><memory snapshot='internal' file='/x'/></domainsnapshot>", False,
     "XML error: memory filename '/x' requires external snapshot"),
    ("<domainsnapshot><memory file='rel'/></domainsnapshot>", False,
     "XML error: memory snapshot file path (rel) must be absolute"),
    ("<domainsnapshot><disks><disk/></disks></domainsnapshot>", False,
     "internal error: missing name from disk snapshot element"),
    ("<domainsnapshot/>", True, "XML error: a redefined snapshot must have a name"),
    ("<domainsnapshot><name>x</name><creationTime>1</creationTime></domainsnapshot>", True,
     "XML error: missing state from existing snapshot"),
    ("<domain/>", False, "XML error: expecting root element of 'domainsnapshot', not 'domain'"),
])
def test_parse_errors(xml: str, redefine: bool, message: str) -> None:
    with pytest.raises(LibvirtError) as info:
        SnapshotDef.parse(xml, None, redefine=redefine, now=1)
    assert info.value.message == message


def test_align_requires_uniform_internal() -> None:
    dom = DomainDef.parse((DATA / "domain" / "numa-features-in.xml").read_text())
    snap = SnapshotDef.parse("<domainsnapshot><disks><disk name='sdb' snapshot='no'/></disks>"
                             "</domainsnapshot>", dom, now=5)
    with pytest.raises(LibvirtError) as info:
        snap.align_for_create("running")
    assert info.value.message == "unsupported configuration: disk 'sdb' must use snapshot mode 'internal'"


def test_align_rejects_unknown_disk() -> None:
    dom = DomainDef.parse((DATA / "domain" / "test-builtin-in.xml").read_text())
    snap = SnapshotDef.parse("<domainsnapshot><disks><disk name='vdz'/></disks></domainsnapshot>", dom, now=5)
    with pytest.raises(LibvirtError) as info:
        snap.align_for_create("running")
    assert info.value.message == "unsupported configuration: no disk named 'vdz'"


def test_external_memory_names_disk_files(tmp_path: Path) -> None:
    image = tmp_path / "disk.img"
    image.write_bytes(b"")
    dom = DomainDef.parse("<domain type='test'><name>ext</name><memory>1024</memory><os><type>hvm</type></os>"
                          f"<devices><disk type='file'><source file='{image}'/><target dev='vda'/></disk>"
                          "</devices></domain>")
    snap = SnapshotDef.parse("<domainsnapshot><name>e2</name><memory snapshot='external' file='/tmp/m'/>"
                             "</domainsnapshot>", dom, now=7)
    snap.align_for_create("running")
    # what libvirt's test driver prints for the same request
    assert ("  <memory snapshot='external' file='/tmp/m'/>\n  <disks>\n"
            "    <disk name='vda' snapshot='external' type='file'>\n"
            f"      <source file='{tmp_path}/disk.e2'/>\n    </disk>\n  </disks>\n") in snap.to_xml()
    image.unlink()
    snap = SnapshotDef.parse("<domainsnapshot><name>e3</name><memory snapshot='external' file='/tmp/m'/>"
                             "</domainsnapshot>", dom, now=7)
    with pytest.raises(LibvirtError) as info:
        snap.align_for_create("running")
    assert info.value.message == ("unsupported configuration: source for disk 'vda' is not a regular file; "
                                  "refusing to generate external snapshot name")
