"""QEMU capabilities: the probe and its cache, capabilities, domcapabilities and node calls.

The oracle is libvirt 9.0's own QEMU driver (``virsh -c qemu:///embed``, run as
``nobody``) on the same host and QEMU: same machine list, same CPU models,
same elements in domcapabilities, same nodeinfo.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest
from lxml import etree

import pyvirt
from pyvirt import constants as c
from pyvirt.cli.main import main as pyvirsh
from pyvirt.drivers.qemu import caps_probe
from pyvirt.drivers.qemu.caps import canonical_machine
from pyvirt.errors import LibvirtError

NOBODY = 65534
MARK = "=====PYVIRT-CUT====="


@pytest.fixture(scope="module")
def conn(qemu_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[pyvirt.Connection]:
    root = tmp_path_factory.mktemp("caps") / "root"
    with pyvirt.open(f"qemu:///embed?root={root}") as c_:
        yield c_


@pytest.fixture(scope="module")
def libvirt_out() -> list[str]:
    """Real virsh's capabilities, domcapabilities (default, q35) and nodeinfo, as user nobody."""
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("virsh", "setpriv")):
        pytest.skip("needs root, virsh (libvirt-clients) and setpriv")
    if not Path("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so").exists():
        pytest.skip("needs libvirt's QEMU driver (libvirt-daemon-driver-qemu)")
    root = Path(tempfile.mkdtemp(prefix="pyvirt-capsoracle-"))
    try:
        os.chown(root, NOBODY, NOBODY)
        line = f"capabilities; echo {MARK}; domcapabilities; echo {MARK}; domcapabilities --machine q35; " \
               f"echo {MARK}; nodeinfo"
        proc = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                               "virsh", "-c", f"qemu:///embed?root={root}/root", line],
                              capture_output=True, text=True, timeout=120,
                              env={"HOME": str(root), "PATH": "/usr/bin:/bin"})
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split(MARK + "\n")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wrapper(path: Path, target: str) -> str:
    path.write_text(f"#!/bin/sh\nexec {target} \"$@\"\n")
    path.chmod(0o755)
    return str(path)


def test_probe_is_cached_per_binary_and_redone_when_it_changes(qemu_bin: str, tmp_path: Path) -> None:
    emu = _wrapper(tmp_path / "qemu-wrapper", qemu_bin)
    cache = tmp_path / "cache"
    caps = caps_probe.load_caps(emu, cache)
    assert caps.arch == "x86_64" and caps.version >= 7_002_000
    assert caps.canonical_machine("pc").startswith("pc-i440fx-") and caps.has_command("query-blockstats")
    assert caps.machines[0].alias == "pc" and caps.has_device("virtio-blk-pci")
    file = caps_probe.cache_file(cache, emu)
    data = json.loads(file.read_text())
    assert data["emulator"] == emu
    # a later load reads the file (unchanged binary) ...
    data["commands"] = ["only-in-the-cache"]
    file.write_text(json.dumps(data))
    caps_probe.forget()
    assert caps_probe.load_caps(emu, cache).commands == ["only-in-the-cache"]
    # ... until the binary changes: then QEMU is asked again and the file rewritten
    later = time.time() + 10
    os.utime(emu, (later, later))
    again = caps_probe.load_caps(emu, cache)
    assert again.has_command("query-blockstats")
    assert json.loads(file.read_text())["commands"] == again.commands


def test_probe_never_hangs_and_reports_failures(tmp_path: Path) -> None:
    hung = tmp_path / "hung"
    hung.write_text("#!/bin/sh\nexec sleep 60\n")
    hung.chmod(0o755)
    start = time.monotonic()
    with pytest.raises(LibvirtError) as err:
        caps_probe.probe(str(hung), timeout=1.0)
    assert time.monotonic() - start < 30 and "no answer within 1 s" in str(err.value)
    with pytest.raises(LibvirtError) as bad:
        caps_probe.probe("/bin/true")
    assert bad.value.get_error_code() == c.VIR_ERR_INTERNAL_ERROR and "/bin/true" in str(bad.value)
    with pytest.raises(LibvirtError) as missing:
        caps_probe.load_caps(str(tmp_path / "nope"), tmp_path / "cache")
    assert "Cannot find QEMU binary" in str(missing.value)


def test_canonical_machine(conn: pyvirt.Connection, qemu_bin: str, tmp_path: Path) -> None:
    assert canonical_machine(tmp_path, "pc") == "pc-i440fx-7.2"
    assert canonical_machine(tmp_path, "q35") == "pc-q35-7.2"
    assert canonical_machine(tmp_path, "pc-i440fx-6.2") == "pc-i440fx-6.2"
    assert (tmp_path / "cache" / "qemu" / "capabilities").is_dir()


def _guest(doc: etree._Element, arch: str) -> etree._Element:
    found = [g for g in doc.findall("guest") if g.find(f"arch[@name='{arch}']") is not None]
    assert len(found) == 1
    return found[0]


def _machines(g: etree._Element) -> list[tuple[str | None, ...]]:
    return [(m.text, m.get("canonical"), m.get("maxCpus"), m.get("deprecated")) for m in g.findall("arch/machine")]


def test_capabilities_like_libvirt(conn: pyvirt.Connection, libvirt_out: list[str]) -> None:
    ours = etree.fromstring(conn.get_capabilities().encode())
    theirs = etree.fromstring(libvirt_out[0].encode())
    assert _machines(_guest(ours, "x86_64")) == _machines(_guest(theirs, "x86_64"))
    g = _guest(ours, "x86_64")
    assert g.findtext("arch/emulator") == "/usr/bin/qemu-system-x86_64" and g.findtext("os_type") == "hvm"
    assert g.find("arch/domain[@type='qemu']") is not None
    assert [f.tag for f in g.iterfind("features/*")] == [f.tag for f in _guest(theirs, "x86_64").iterfind("features/*")]
    for path in ("host/cpu/arch", "host/cpu/vendor", "host/cpu/signature", "host/cpu/topology",
                 "host/topology/cells/cell/memory", "host/secmodel/model"):
        a, b = ours.find(path), theirs.find(path)
        assert (a.text, dict(a.attrib)) == (b.text, dict(b.attrib)), path  # type: ignore[union-attr]


def _children(doc: etree._Element, path: str) -> list[tuple[str, tuple[str, ...]]]:
    node = doc.find(path) if path else doc
    assert node is not None
    return [(str(e.tag), tuple(sorted(str(k) for k in e.attrib))) for e in node]


def _models(doc: etree._Element) -> list[tuple[str | None, ...]]:
    return [(m.text, m.get("usable"), m.get("vendor")) for m in doc.findall("cpu/mode[@name='custom']/model")]


@pytest.mark.parametrize("index,machine", [(1, None), (2, "q35")])
def test_domcapabilities_like_libvirt(conn: pyvirt.Connection, libvirt_out: list[str], index: int,
                                      machine: str | None) -> None:
    ours = etree.fromstring(conn.get_domain_capabilities(None, None, machine, None, 0).encode())
    theirs = etree.fromstring(libvirt_out[index].encode())
    for tag in ("path", "domain", "machine", "arch"):
        assert ours.findtext(tag) == theirs.findtext(tag), tag
    assert ours.find("vcpu").get("max") == theirs.find("vcpu").get("max")  # type: ignore[union-attr]
    # the same elements and attributes; values are what this driver accepts (a subset)
    for path in ("", "devices", "features"):
        assert [t for t, _ in _children(ours, path)] == [t for t, _ in _children(theirs, path)], path
    assert [m.get("name") for m in ours.findall("cpu/mode")] == [m.get("name") for m in theirs.findall("cpu/mode")]
    assert _models(ours) == _models(theirs) and len(_models(ours)) > 20
    for path in ("devices/disk/enum[@name='bus']", "devices/video/enum[@name='modelType']"):
        mine = {v.text for v in ours.findall(f"{path}/value")}
        assert mine and mine <= {v.text for v in theirs.findall(f"{path}/value")}, path
    # the buses the driver builds, in libvirt's order; no IDE on q35
    driver_buses = {"scsi", "virtio", "sata"} | ({"ide"} if machine is None else set())
    assert [v.text for v in ours.findall("devices/disk/enum[@name='bus']/value")] == [
        v.text for v in theirs.findall("devices/disk/enum[@name='bus']/value") if v.text in driver_buses]


def test_domcapabilities_errors(conn: pyvirt.Connection) -> None:
    cases = [((None, None, None, "xen2"), c.VIR_ERR_INVALID_ARG, "unknown virttype: xen2"),
             ((None, "ppc99", None, None), c.VIR_ERR_INVALID_ARG, "unknown architecture: ppc99"),
             ((None, "aarch64", None, None), c.VIR_ERR_CONFIG_UNSUPPORTED,
              "unable to find any emulator to serve 'aarch64' architecture"),
             ((None, None, "nosuch", None), c.VIR_ERR_INVALID_ARG,
              "the machine 'nosuch' is not supported by emulator '/usr/bin/qemu-system-x86_64'")]
    for args, code, text in cases:
        with pytest.raises(LibvirtError) as err:
            conn.get_domain_capabilities(*args, 0)
        assert (err.value.get_error_code(), text in str(err.value)) == (code, True), str(err.value)


def _pyvirsh(uri: str, line: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    rc = pyvirsh(["virsh", "-c", uri, line], stdin=io.StringIO(""), stdout=out, stderr=err)
    assert rc == 0, err.getvalue()
    return out.getvalue()


def test_pyvirsh_host_commands_like_virsh(conn: pyvirt.Connection, libvirt_out: list[str]) -> None:
    uri = conn.get_uri()
    assert _pyvirsh(uri, "nodeinfo") == libvirt_out[3]
    text = _pyvirsh(uri, "domcapabilities --machine q35")
    assert text.startswith("<domainCapabilities>\n  <path>/usr/bin/qemu-system-x86_64</path>\n")
    assert "  <machine>pc-q35-7.2</machine>\n" in text
    assert text.rpartition("</features>")[2] == libvirt_out[2].rpartition("</features>")[2]
    assert _pyvirsh(uri, "maxvcpus") == "255\n\n"  # one-shot virsh ends each command with a blank line
    stats = conn.get_cpu_stats(-1)
    assert set(stats) == {"kernel", "user", "idle", "iowait"} and stats["idle"] > 0
    mem = conn.get_memory_stats(-1)
    assert list(mem) == ["total", "free", "buffers", "cached"] and 0 < mem["free"] <= mem["total"]
    assert 0 < conn.get_free_memory() <= conn.get_info()[1] * 1024
