"""Every xml2argv golden case must be a command line real QEMU accepts (started paused, then destroyed)."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pyvirt import constants as c
from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.qemu.command import build_command, prepare_live
from pyvirt.drivers.qemu.process import Paths, QemuVM

DATA = Path(__file__).parents[2] / "data" / "qemu" / "xml2argv"
# Cases that need what this test cannot have: a tap device (the kvm case runs under TCG here).
SKIP = {"net-bridge": "needs a tap device on a bridge (see test_qemu_bridge.py)"}
CASES = sorted(p.stem for p in DATA.glob("*.xml"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def localize(xml: str, tmp: Path, guest: Any) -> str:
    """Point every host path of a golden case into *tmp* (creating disk images)."""
    def disk(m: re.Match[str]) -> str:
        path = tmp / Path(m.group(2)).name
        if not path.exists():
            fmt = "qcow2" if path.suffix == ".qcow2" else "raw"
            subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), "1M"], check=True)
        return f'{m.group(1)}="{path}"'
    xml = re.sub(r'(<source (?:file|dev))="([^"]+)"', disk, xml)
    xml = re.sub(r'(path|socket)="(/[^"]+)"', lambda m: f'{m.group(1)}="{tmp / Path(m.group(2)).name}"', xml)
    xml = xml.replace('type="block"', 'type="file"').replace("<source dev=", "<source file=")
    xml = re.sub(r"<kernel>[^<]*</kernel>", f"<kernel>{guest.kernel}</kernel>", xml)
    xml = re.sub(r"<initrd>[^<]*</initrd>", f"<initrd>{guest.initrd}</initrd>", xml)
    xml = re.sub(r'port="59\d\d" autoport="no"', f'port="{free_port()}" autoport="no"', xml)
    return xml


@pytest.mark.parametrize("name", CASES)
def test_golden_case_starts(name: str, guest: Any, tmp_path: Path) -> None:
    if name in SKIP:
        pytest.skip(SKIP[name])
    xml = localize((DATA / f"{name}.xml").read_text(), tmp_path, guest)
    peer = None
    if name == "serial-unix":  # the client-mode port needs someone listening
        peer = socket.socket(socket.AF_UNIX)
        peer.bind(str(tmp_path / "other.sock"))
        peer.listen(1)
    defn = DomainDef.parse(xml)
    live = prepare_live(defn, vnc_port=free_port)
    paths = Paths(tmp_path / "r", "g")
    vm = QemuVM(live, paths)
    vm.start(build_command(live, monitor_path=str(paths.monitor)), paused=True)
    try:
        assert vm.query_state() == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)
        tree = vm.execute("qom-list", {"path": "/machine/peripheral"})
        ids = {p["name"] for p in tree if p["type"].startswith("child<")}
        for disk in live.disks:
            assert disk.alias in ids
    finally:
        vm.destroy()
        if peer is not None:
            peer.close()
    assert not paths.monitor.exists()
