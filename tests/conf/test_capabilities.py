"""Capabilities formatting against libvirt 9.0 (tests/data/conf/capabilities)."""

from __future__ import annotations

from pyvirt.conf.capabilities import (Capabilities, CellCPU, Guest, GuestDomain, GuestFeature, HostCPU, Machine,
                                      NUMACell, SecModel, format_bitmap, host_capabilities,
                                      test_default_capabilities, test_file_capabilities)

from oracle_xml import DATA, REGEN

KIND = "capabilities"
EXAMPLES = "/work/ref/libvirt-9.0.0/examples/xml/test/testnode.xml"


def _golden(name: str, uri: str) -> str:
    out = DATA / KIND / f"{name}.xml"
    if REGEN or not out.exists():
        import libvirt
        out.write_text(libvirt.open(uri).getCapabilities())
    return out.read_text()


def test_default() -> None:
    assert test_default_capabilities().to_xml() == _golden("test-default", "test:///default")


def test_file_connection(tmp_path: object) -> None:
    node = DATA / KIND / "node-minimal.xml"
    expected = _golden("test-file", f"test://{node}")
    assert test_file_capabilities().to_xml() == expected


def test_bitmap() -> None:
    assert format_bitmap([0, 1, 2, 3, 8, 10, 11]) == "0-3,8,10-11"
    assert format_bitmap([5]) == "5"


def test_full_document() -> None:
    caps = Capabilities(
        cpu=HostCPU(arch="x86_64", model="Skylake-Client-IBRS", vendor="Intel", microcode=240,
                    signature=(6, 94, 3), counter_tsc=(2592000000, "no"), topology=(1, 1, 4, 2),
                    maxphysaddr=("emulate", 39), features=["ds", "acpi"], pages=[4, 2048, 1048576]),
        host_uuid="0b5a1e40-5a52-11e9-8647-d663bd873d93", power_management=["suspend_disk", "suspend_mem"],
        iommu=True, migration=True, live_migration=True, migration_transports=["tcp", "rdma"],
        netprefix="vnet",
        numa=[NUMACell(id=0, memory=1024, pages=[(4, 256)], distances=[(0, 10), (1, 0)],
                       cpus=[CellCPU(0, 0, 0, 0, [0, 1]), CellCPU(1)])],
        secmodels=[SecModel("dac", "0", [("kvm", "+64055:+994")])],
        guests=[Guest("hvm", "x86_64", 64, emulator="/usr/bin/qemu-system-x86_64",
                      machines=[Machine("pc-i440fx-7.2", canonical=None, max_cpus=255),
                                Machine("pc", canonical="pc-i440fx-7.2", max_cpus=255, deprecated=True)],
                      domains=[GuestDomain("qemu"), GuestDomain("kvm", emulator="/usr/bin/kvm",
                                                                machines=[Machine("q35", max_cpus=288)])],
                      features=[GuestFeature("disksnapshot", "on", "no"), GuestFeature("acpi", "on", "yes")])],
        pool_types=["dir", "fs"])
    expected = (DATA / KIND / "full.xml").read_text()
    assert caps.to_xml() == expected


def test_host_probe() -> None:
    caps = host_capabilities()
    text = caps.to_xml()
    assert caps.cpu.arch and f"<arch>{caps.cpu.arch}</arch>" in text
    assert caps.host_uuid and f"<uuid>{caps.host_uuid}</uuid>" in text
    assert "<iommu support=" in text and text.endswith("</capabilities>\n")
    if caps.numa:
        assert f"<cells num='{len(caps.numa)}'>" in text


def test_custom_cells_match_default() -> None:
    from pyvirt.conf.capabilities import test_capabilities
    cells = [((i + 1) * 2048 * 1024, [CellCPU(n, n // 8, 0, n % 8, [n]) for n in range(i * 8, i * 8 + 8)])
             for i in range(2)]
    assert test_capabilities(cells).to_xml() == test_default_capabilities().to_xml()
    one = test_capabilities([(1024, [CellCPU(0, 0, 0, 0, [0])])]).to_xml()
    assert "<cells num='1'>" in one and "<pages unit='KiB' size='4'>256</pages>" in one
