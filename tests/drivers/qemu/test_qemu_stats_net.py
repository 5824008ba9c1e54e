"""Interface statistics of a tap (``<interface type='ethernet'>``), in a private network namespace.

The host sends three raw frames into the guest's tap; libvirt counts what the
guest receives as rx, so the host side's tx shows up as ``net.0.rx.*``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HELPER = r'''
import json, subprocess, sys, time
import pyvirt
from pyvirt import constants as c

root = sys.argv[1]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
conn = pyvirt.open(f"qemu:///embed?root={root}")
xml = """<domain type='qemu'><name>nt</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>
<devices><interface type='ethernet'><mac address='52:54:00:12:34:57'/><target dev='tapst0'/>
<model type='virtio'/></interface><interface type='user'/><memballoon model='none'/></devices></domain>"""
dom = conn.create_xml(xml, 0)
subprocess.run(["ip", "link", "set", "tapst0", "up"], check=True)
import socket
with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as raw:  # three frames into the guest's tap
    raw.bind(("tapst0", 0))
    for _ in range(3):
        raw.send(bytes.fromhex("525400123457" "fe5400123457" "88b5") + bytes(46))
def host_stats():
    return json.loads(subprocess.run(["ip", "-j", "-s", "link", "show", "dev", "tapst0"],
                                     capture_output=True, text=True).stdout)[0]["stats64"]
deadline = time.monotonic() + 60
while host_stats()["tx"]["packets"] < 3 and time.monotonic() < deadline:
    time.sleep(0.05)
host = host_stats()
rec = conn.domain_list_get_stats([dom], c.VIR_DOMAIN_STATS_INTERFACE)[0][1]
result = {"rec": rec, "host": host, "ifstat": list(dom.interface_stats("tapst0")),
          "bymac": list(dom.interface_stats("52:54:00:12:34:57"))}
dom.destroy()
conn.close()
print(json.dumps(result))
'''


def test_tap_counters_in_domstats_and_domifstat(qemu_bin: str, tmp_path: Path) -> None:
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "ip")):
        pytest.skip("needs root, unshare and iproute2 for a private network namespace")
    proc = subprocess.run(["unshare", "--net", sys.executable, "-c", HELPER, str(tmp_path / "root")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    rec, host = got["rec"], got["host"]
    assert rec["net.count"] == 2 and rec["net.0.name"] == "tapst0"
    assert not any(k.startswith("net.1.") for k in rec)  # user networking has no host device
    assert list(rec)[2:] == [f"net.0.{d}.{f}" for d in ("rx", "tx") for f in ("bytes", "pkts", "errs", "drop")]
    # what the host sent into the tap is what the guest received
    assert rec["net.0.rx.pkts"] >= 3 and rec["net.0.rx.bytes"] >= 3 * 60, (rec, host)
    assert host["tx"]["packets"] >= rec["net.0.rx.pkts"]
    rx_bytes, rx_pkts, _re, _rd, tx_bytes, tx_pkts, _te, _td = got["ifstat"]
    assert rx_pkts >= rec["net.0.rx.pkts"] and rx_bytes >= rec["net.0.rx.bytes"]
    assert (tx_bytes, tx_pkts) == (rec["net.0.tx.bytes"], rec["net.0.tx.pkts"])
    assert got["bymac"][4:6] == got["ifstat"][4:6]
