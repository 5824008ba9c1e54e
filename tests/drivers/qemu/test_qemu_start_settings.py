"""Settings the QEMU driver applies right after launching QEMU, as libvirt does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu.driver import _STATES

XML = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><memballoon model='virtio'>{stats}</memballoon></devices></domain>"""


def _period(root: Path, name: str) -> Any:
    vm = _STATES[root].doms[name].vm
    assert vm is not None
    return vm.execute("qom-get", {"path": "/machine/peripheral/balloon0",
                                  "property": "guest-stats-polling-interval"})


def test_balloon_stats_period_from_the_xml(qemu_bin: str, tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        with_period = conn.create_xml(XML.format(name="p3", stats="<stats period='3'/>"), c.VIR_DOMAIN_START_PAUSED)
        without = conn.create_xml(XML.format(name="p0", stats=""), c.VIR_DOMAIN_START_PAUSED)
        try:
            assert _period(root, "p3") == 3
            assert _period(root, "p0") == 0
            assert "<stats period='3'/>" in with_period.xml_desc()
        finally:
            with_period.destroy()
            without.destroy()
