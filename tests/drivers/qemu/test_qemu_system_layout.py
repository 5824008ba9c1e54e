"""The QEMU driver's directory layouts (libvirt 9.0's virQEMUDriverConfigNew) and how it
treats a libvirtd's status files on the same directories."""

from __future__ import annotations

from pathlib import Path

import pytest

import pyvirt
from pyvirt.drivers.qemu.state import Layout

XML = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os></domain>"""


def _dirs(layout: Layout) -> dict[str, str]:
    return {k: str(getattr(layout, k)) for k in ("config_dir", "autostart_dir", "state_dir", "log_dir", "cache_dir",
                                                 "lib_dir", "save_dir", "snapshot_dir", "nvram_dir")}


def test_system_layout_is_libvirts() -> None:
    assert _dirs(Layout.system()) == {
        "config_dir": "/etc/libvirt/qemu", "autostart_dir": "/etc/libvirt/qemu/autostart",
        "state_dir": "/run/libvirt/qemu", "log_dir": "/var/log/libvirt/qemu",
        "cache_dir": "/var/cache/libvirt/qemu", "lib_dir": "/var/lib/libvirt/qemu",
        "save_dir": "/var/lib/libvirt/qemu/save", "snapshot_dir": "/var/lib/libvirt/qemu/snapshot",
        "nvram_dir": "/var/lib/libvirt/qemu/nvram"}
    assert Layout.system().uri == "qemu:///system"
    relocated = Layout.system(Path("/srv/pv"))
    assert all(v.startswith("/srv/pv/") for v in _dirs(relocated).values())
    assert str(relocated.state_dir) == "/srv/pv/run/libvirt/qemu" and relocated.uri == "qemu:///system"


def test_session_layout_follows_home_and_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/u")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    assert _dirs(Layout.session()) == {
        "config_dir": "/home/u/.config/libvirt/qemu", "autostart_dir": "/home/u/.config/libvirt/qemu/autostart",
        "state_dir": "/run/user/1000/libvirt/qemu/run", "log_dir": "/home/u/.cache/libvirt/qemu/log",
        "cache_dir": "/home/u/.cache/libvirt/qemu/cache", "lib_dir": "/home/u/.config/libvirt/qemu/lib",
        "save_dir": "/home/u/.config/libvirt/qemu/save", "snapshot_dir": "/home/u/.config/libvirt/qemu/snapshot",
        "nvram_dir": "/home/u/.config/libvirt/qemu/nvram"}
    monkeypatch.setenv("XDG_CONFIG_HOME", "/cfg")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    session = Layout.session()
    assert str(session.config_dir) == "/cfg/libvirt/qemu"
    assert str(session.state_dir) == "/home/u/.cache/libvirt/qemu/run"  # no runtime dir: the cache dir


def test_embed_layout() -> None:
    layout = Layout.embed(Path("/r"))
    assert _dirs(layout)["state_dir"] == "/r/run/qemu" and _dirs(layout)["config_dir"] == "/r/etc/qemu"
    assert _dirs(layout)["save_dir"] == "/r/lib/qemu/save" and layout.uri == "qemu:///embed?root=/r"


LIBVIRT_STATUS = """<!--
WARNING: THIS IS AN AUTO-GENERATED FILE.
-->
<domstatus state='running' reason='booted' pid='1'>
  <monitor path='{root}/lib/qemu/domain-1-f1/monitor.sock' type='unix'/>
  <domain type='qemu' id='1'><name>f1</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os></domain>
</domstatus>
"""


def test_libvirt_status_file_is_left_alone(tmp_path: Path, qemu_bin: str) -> None:
    """A libvirtd's status file (another format) is never deleted, and the domain is not started
    a second time next to the QEMU that libvirtd may still run; once it is gone, it can start."""
    root = tmp_path / "root"
    status = root / "run" / "qemu" / "f1.xml"
    status.parent.mkdir(parents=True)
    (root / "etc" / "qemu").mkdir(parents=True)
    (root / "etc" / "qemu" / "f1.xml").write_text(XML.format(name="f1"))
    status.write_text(LIBVIRT_STATUS.format(root=root))
    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        dom = conn.lookup_by_name("f1")
        assert dom.is_active() == 0
        with pytest.raises(pyvirt.LibvirtError, match="written by another daemon"):
            dom.create()
        assert status.read_text() == LIBVIRT_STATUS.format(root=root)
        status.unlink()  # that daemon's guest is gone
        dom.create()
        assert dom.is_active() == 1
        dom.destroy()
