"""Run inside a private network namespace (``unshare --net``) by test_qemu_bridge.py.

Creates bridge br0, starts a domain with a bridge interface through
qemu:///embed, and prints what it saw as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pyvirt
from pyvirt import constants as c


def links(*args: str) -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show", *args], capture_output=True, text=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if line.strip()]


def main(root: str) -> None:
    subprocess.run(["ip", "link", "add", "br0", "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", "br0", "up"], check=True)
    conn = pyvirt.open(f"qemu:///embed?root={root}")
    xml = """<domain type='qemu'><name>br</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>
<devices><interface type='bridge'><mac address='52:54:00:12:34:56'/><source bridge='br0'/>
<model type='virtio'/></interface><memballoon model='none'/></devices></domain>"""
    dom = conn.create_xml(xml, c.VIR_DOMAIN_START_PAUSED)
    result: dict[str, Any] = {"live": dom.xml_desc(), "ports": links("master", "br0")}
    shown = subprocess.run(["ip", "-j", "link", "show", "dev", "vnet0"], capture_output=True, text=True)
    result["tap_mac"] = json.loads(shown.stdout)[0]["address"]
    result["stats"] = list(dom.interface_stats("vnet0"))
    try:
        dom.interface_stats("nosuch0")
    except pyvirt.LibvirtError as exc:
        result["bad_stats"] = str(exc)
    dom.destroy()
    result["after"] = links()
    try:
        conn.create_xml(xml.replace("br0", "nosuchbr"), c.VIR_DOMAIN_START_PAUSED)
    except pyvirt.LibvirtError as exc:
        result["missing_bridge"] = str(exc)
    result["after_error"] = links()
    conn.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
