"""QEMU driver autostart (links, once-per-boot start) and undefine flags, in embedded mode.

libvirt 9.0 is the oracle: its embedded QEMU driver (real virsh, run as an
ordinary user because libvirt's privileged embed mode wants a libvirt-qemu
user) writes the same autostart link and reports the same dominfo lines.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu.driver import Dom, QemuDriver
from pyvirt.drivers.qemu.state import acquire_state
from pyvirt.errors import LibvirtError

XML = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os></domain>"""
ROOT = Path(__file__).resolve().parents[3]


def wait_until(pred: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        time.sleep(0.05)


def test_set_get_autostart_link_and_undefine(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        dom = conn.define_xml(XML.format(name="a1"))
        assert dom.autostart() == 0
        dom.set_autostart(1)
        link = root / "etc" / "qemu" / "autostart" / "a1.xml"
        assert dom.autostart() == 1 and link.is_symlink()
        assert os.readlink(link) == str(root / "etc" / "qemu" / "a1.xml")  # absolute, as libvirt writes it
        dom.set_autostart(1)  # no change: no error
        names = {d.name() for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)}
        conn.define_xml(XML.format(name="a2"))
        assert names == {"a1"}
        assert {d.name() for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART)} == {"a2"}
        # a redefinition keeps the flag
        conn.define_xml(XML.format(name="a1").replace("<vcpu>1", f"<uuid>{dom.uuid_string()}</uuid><vcpu>2"))
        assert conn.lookup_by_name("a1").autostart() == 1
    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        try:
            dom = conn.lookup_by_name("a1")
            assert dom.autostart() == 1  # read back from the link
            dom.set_autostart(0)
            assert not link.exists() and not link.is_symlink() and dom.autostart() == 0
            dom.set_autostart(1)
            dom.undefine()
            assert not link.is_symlink() and not (root / "etc" / "qemu" / "a1.xml").exists()
        finally:
            # loading the root again autostarted a1 (libvirt's embed mode does too): no QEMU left behind
            for running in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
                running.destroy()


def test_undefine_flags(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        dom = conn.define_xml(XML.format(name="u1"))
        with pytest.raises(LibvirtError) as err:
            dom.undefine_flags(1 << 10)
        assert err.value.get_error_code() == c.VIR_ERR_INVALID_ARG
        assert "unsupported flags (0x400) in function qemuDomainUndefineFlags" in str(err.value)
        with pytest.raises(LibvirtError, match="cannot both keep and delete nvram"):
            dom.undefine_flags(c.VIR_DOMAIN_UNDEFINE_NVRAM | c.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM)
        with pytest.raises(LibvirtError, match="cannot both keep and delete TPM"):
            dom.undefine_flags(c.VIR_DOMAIN_UNDEFINE_TPM | c.VIR_DOMAIN_UNDEFINE_KEEP_TPM)
        save = root / "lib" / "qemu" / "save" / "u1.save"
        save.write_bytes(b"not really an image")
        with pytest.raises(LibvirtError, match="Refusing to undefine while domain managed save image exists"):
            dom.undefine()
        assert {d.name() for d in conn.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE)} == {"u1"}
        # a guest without UEFI has no NVRAM: either NVRAM flag alone is accepted, as in libvirt
        dom.undefine_flags(c.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | c.VIR_DOMAIN_UNDEFINE_NVRAM)
        assert not save.exists() and conn.list_all_domains() == []
        dom = conn.define_xml(XML.format(name="u2"))
        dom.undefine_flags(c.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM | c.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        assert conn.list_all_domains() == []


class _SnapshotsDriver(QemuDriver):
    """A fake snapshot area: every inactive domain has two snapshots (the hook snapshot.py fills)."""

    discarded: list[str] = []

    def _snapshot_count(self, d: Dom) -> int:
        return 0 if d.name in self.discarded else 2

    def _snapshot_discard_all_metadata(self, d: Dom) -> None:
        self.discarded.append(d.name)


def test_undefine_snapshot_metadata_hook(tmp_path: Path) -> None:
    st = acquire_state(tmp_path / "root")
    drv = _SnapshotsDriver("qemu:///embed", False, st)
    try:
        ref = drv.domain_define_xml(XML.format(name="s1"))
        with pytest.raises(LibvirtError, match="cannot delete inactive domain with 2 snapshots"):
            drv.domain_undefine_flags(ref, 0)
        drv.domain_undefine_flags(ref, c.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)
        assert drv.discarded == ["s1"] and drv.connect_list_all_domains() == []
    finally:
        drv.connect_close()


def test_transient_autostart_refused(tmp_path: Path, qemu_bin: str) -> None:
    with pyvirt.open(f"qemu:///embed?root={tmp_path / 'r'}") as conn:
        dom = conn.create_xml(XML.format(name="t1"))
        try:
            assert dom.autostart() == 0
            with pytest.raises(LibvirtError, match="cannot set autostart for transient domain") as err:
                dom.set_autostart(1)
            assert err.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID
        finally:
            dom.destroy()


def test_autostart_once_per_boot_in_embedded_mode(tmp_path: Path, qemu_bin: str) -> None:
    """libvirt 9.0's embedded driver autostarts too (qemuStateInitialize), once: the run dir's
    ``autostarted`` marker stops later opens from starting a guest the user stopped."""
    root = tmp_path / "root"
    uri = f"qemu:///embed?root={root}"
    with pyvirt.open(uri) as conn:
        conn.define_xml(XML.format(name="b1")).set_autostart(1)
        assert not (root / "run" / "qemu" / "autostarted").exists()
    with pyvirt.open(uri) as conn:  # a fresh state: autostart runs
        dom = conn.lookup_by_name("b1")
        assert dom.is_active() == 1 and dom.state()[0] == c.VIR_DOMAIN_RUNNING
        assert (root / "run" / "qemu" / "autostarted").exists()
        dom.destroy()
    with pyvirt.open(uri) as conn:  # already autostarted once: the stopped guest stays stopped
        assert conn.lookup_by_name("b1").is_active() == 0
        conn.lookup_by_name("b1").undefine()


def _as_nobody(argv: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    prefix = [] if os.geteuid() != 0 else ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "xdg"),
           "LIBVIRT_AUTOSTART": "0"}
    return subprocess.run([*prefix, "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv],
                          capture_output=True, text=True, timeout=120)


def test_autostart_link_and_dominfo_like_libvirt(tmp_path: Path) -> None:
    if shutil.which("virsh") is None or (os.geteuid() == 0 and shutil.which("setpriv") is None):
        pytest.skip("needs libvirt's virsh (and setpriv as root)")
    # pytest's tmp dirs are private to root; nobody needs a path it can walk
    tmp_path = Path(tempfile.mkdtemp(prefix="pyvirt-autostart-"))
    tmp_path.chmod(0o777)
    try:
        _compare_with_libvirt(tmp_path)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _compare_with_libvirt(tmp_path: Path) -> None:
    (tmp_path / "d.xml").write_text(XML.format(name="o1"))
    (tmp_path / "d.xml").chmod(0o644)
    outs = {}
    for tool in ("virsh", str(ROOT / ".venv" / "bin" / "pyvirsh")):
        root = tmp_path / f"root-{Path(tool).name}"
        home = tmp_path / f"home-{Path(tool).name}"
        for d in (root, home, home / "xdg"):
            d.mkdir()
            d.chmod(0o777)
        done = _as_nobody([tool, "-c", f"qemu:///embed?root={root}",
                           f"define {tmp_path / 'd.xml'}; autostart o1; dominfo o1; "
                           "list --all --autostart --name; autostart --disable o1; dominfo o1"], home)
        assert done.returncode == 0, done.stderr
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith(("Autostart:", "Domain", "o1"))]
        outs[Path(tool).name] = lines
        link = root / "etc" / "qemu" / "autostart" / "o1.xml"
        assert not link.is_symlink()
    assert outs["pyvirsh"] == outs["virsh"], outs
    assert [ln for ln in outs["virsh"] if not ln.startswith("Domain")] == [
        "Autostart:      enable", "o1", "Autostart:      disable"], outs


def test_start_flags_and_autodestroy(tmp_path: Path, qemu_bin: str) -> None:
    """VIR_DOMAIN_START_AUTODESTROY: the guest dies with the connection that started it."""
    uri = f"qemu:///embed?root={tmp_path / 'r'}"
    with pyvirt.open(uri) as keeper:
        conn = pyvirt.open(uri)
        with pytest.raises(LibvirtError, match=r"unsupported flags \(0x100\) in function qemuDomainCreateXML"):
            conn.create_xml(XML.format(name="ad1"), 0x100)
        with pytest.raises(LibvirtError, match=r"unsupported flags \(0x2\) in function qemuDomainDefineXMLFlags"):
            conn.define_xml_flags(XML.format(name="ad2"), 2)
        conn.create_xml(XML.format(name="ad1"), c.VIR_DOMAIN_START_AUTODESTROY)
        dom = conn.define_xml(XML.format(name="ad2"))
        dom.create_with_flags(c.VIR_DOMAIN_START_AUTODESTROY)
        assert sorted(d.name() for d in keeper.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE)) == ["ad1", "ad2"]
        conn.close()
        assert keeper.list_all_domains(c.VIR_CONNECT_LIST_DOMAINS_ACTIVE) == []
        assert [d.name() for d in keeper.list_all_domains()] == ["ad2"]  # the persistent one stays defined
        keeper.lookup_by_name("ad2").undefine()
