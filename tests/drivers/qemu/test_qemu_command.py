"""Domain XML -> QEMU argv golden files (tests/data/qemu/xml2argv*); PYVIRT_REGEN=1 rewrites them."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt import constants as c
from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.qemu.command import build_command, format_args, prepare_live
from pyvirt.errors import LibvirtError

DATA = Path(__file__).parents[2] / "data" / "qemu"
CASES = sorted(p.stem for p in (DATA / "xml2argv").glob("*.xml"))
BAD = sorted(p.stem for p in (DATA / "xml2argv-unsupported").glob("*.xml"))


def argv_for(xml: str) -> str:
    defn = DomainDef.parse(xml)
    ports = iter(range(5900, 5910))
    live = prepare_live(defn, vnc_port=lambda: next(ports))
    accel = "kvm" if defn.type == "kvm" else "tcg"
    tap_fds = {i: 40 + i for i, n in enumerate(live.interfaces) if n.type in ("bridge", "ethernet")}
    cmd = build_command(live, monitor_path=f"/run/pyvirt/qemu/{defn.name}.monitor", accel=accel,
                        tap_fds=tap_fds)
    return format_args(cmd)


def test_enough_cases() -> None:
    assert len(CASES) >= 20 and len(BAD) >= 8


@pytest.mark.parametrize("name", CASES)
def test_xml2argv(name: str, regen: bool) -> None:
    xml = (DATA / "xml2argv" / f"{name}.xml").read_text()
    got = argv_for(xml)
    golden = DATA / "xml2argv" / f"{name}.args"
    if regen or not golden.exists():
        golden.write_text(got)
        if not regen:
            pytest.fail(f"wrote missing golden {golden.name}; review it")
    assert got == golden.read_text()


@pytest.mark.parametrize("name", BAD)
def test_xml2argv_unsupported(name: str, regen: bool) -> None:
    xml = (DATA / "xml2argv-unsupported" / f"{name}.xml").read_text()
    with pytest.raises(LibvirtError) as info:
        argv_for(xml)
    err = info.value
    assert err.get_error_code() == c.VIR_ERR_CONFIG_UNSUPPORTED
    golden = DATA / "xml2argv-unsupported" / f"{name}.err"
    if regen or not golden.exists():
        golden.write_text(str(err) + "\n")
        if not regen:
            pytest.fail(f"wrote missing golden {golden.name}; review it")
    assert str(err) + "\n" == golden.read_text()
