"""The KVM probe: its firmware really runs to long mode (checked under TCG), and type='kvm' obeys it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu import kvm
from pyvirt.errors import LibvirtError


def test_probe_firmware_reaches_long_mode_under_tcg(qemu_bin: str) -> None:
    assert len(kvm.probe_rom()) == 0x10000
    assert kvm._run_probe(qemu_bin, "tcg", 20.0) is True


def test_probe_detects_a_firmware_that_never_exits(qemu_bin: str, tmp_path: Path) -> None:
    # The same harness with a ROM that only halts must say "no", not hang.
    rom = bytearray(0x10000)
    rom[0xFFF0:0xFFF2] = b"\xfa\xf4"  # cli; hlt
    orig = kvm.probe_rom
    kvm.probe_rom = lambda: bytes(rom)
    try:
        assert kvm._run_probe(qemu_bin, "tcg", 1.0) is False
    finally:
        kvm.probe_rom = orig


def test_kvm_domain_follows_probe(guest: Any, tmp_path: Path) -> None:
    usable = kvm.kvm_usable()
    conn = pyvirt.open(f"qemu:///embed?root={tmp_path}")
    xml = f"""<domain type='kvm'><name>k</name><memory unit='MiB'>64</memory><os><type>hvm</type>
<kernel>{guest.kernel}</kernel></os><devices><memballoon model='none'/></devices></domain>"""
    try:
        if usable:
            dom = conn.create_xml(xml, c.VIR_DOMAIN_START_PAUSED)
            assert dom.is_active()
            dom.destroy()
        else:
            with pytest.raises(LibvirtError) as info:
                conn.create_xml(xml, c.VIR_DOMAIN_START_PAUSED)
            assert info.value.get_error_code() == c.VIR_ERR_CONFIG_UNSUPPORTED
            assert "Domain requires KVM" in str(info.value)
    finally:
        conn.close()
