"""Tap devices for ``<interface type='bridge'>`` and ``type='ethernet'`` (libvirt creates them, QEMU gets the fd).

The tap is created through /dev/net/tun in the caller's network namespace,
given the guest MAC with its first byte set to 0xfe (libvirt's host-side
rule), attached to the bridge and brought up with iproute2. It disappears by
itself once QEMU (the last holder of its fd) exits.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
from dataclasses import dataclass

from ... import constants as c
from ...conf.domain import DomainDef
from ...errors import make_error

__all__ = ["Tap", "create_tap", "create_taps"]

_TUNSETIFF = 0x400454CA
_IFF_TAP = 0x0002
_IFF_NO_PI = 0x1000
_IFF_VNET_HDR = 0x4000


@dataclass
class Tap:
    """An open tap device."""

    fd: int
    name: str

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"ip {' '.join(args)}: {proc.stderr.strip()}",
                         c.VIR_FROM_QEMU)


def _is_bridge(name: str) -> bool:
    """Whether *name* is a bridge in this network namespace (sysfs may show another one)."""
    proc = subprocess.run(["ip", "-j", "-d", "link", "show", "dev", name], capture_output=True, text=True)
    if proc.returncode != 0:
        return False
    try:
        info = json.loads(proc.stdout)[0].get("linkinfo", {})
    except (ValueError, IndexError):
        return False
    return bool(info.get("info_kind") == "bridge")


def create_tap(name: str, bridge: str | None, mac: str | None, vnet_hdr: bool = True) -> Tap:
    """Create tap *name* (``vnet%d`` lets the kernel pick), attach it to *bridge* and bring it up."""
    if bridge is not None and not _is_bridge(bridge):
        raise make_error(c.VIR_ERR_INTERNAL_ERROR,
                         f"Cannot get interface MTU on '{bridge}': No such device", c.VIR_FROM_QEMU)
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, f"Unable to open /dev/net/tun: {exc.strerror}",
                         c.VIR_FROM_QEMU) from exc
    flags = _IFF_TAP | _IFF_NO_PI | (_IFF_VNET_HDR if vnet_hdr else 0)
    try:
        ifr = fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH22x", name.encode(), flags))
    except OSError as exc:
        os.close(fd)
        raise make_error(c.VIR_ERR_SYSTEM_ERROR, f"Unable to create tap device {name}: {exc.strerror}",
                         c.VIR_FROM_QEMU) from exc
    tap = Tap(fd, ifr[:16].rstrip(b"\0").decode())
    try:
        if mac:
            _ip("link", "set", "dev", tap.name, "address", "fe" + mac[2:])
        if bridge is not None:
            _ip("link", "set", "dev", tap.name, "master", bridge)
        _ip("link", "set", "dev", tap.name, "up")
    except BaseException:
        tap.close()
        raise
    return tap


def create_taps(live: DomainDef) -> dict[int, Tap]:
    """Taps for the bridge/ethernet interfaces of *live* (index -> tap); fills <target dev>."""
    taps: dict[int, Tap] = {}
    try:
        for i, iface in enumerate(live.interfaces):
            if iface.type not in ("bridge", "ethernet"):
                continue
            wanted = iface.target_dev or "vnet%d"
            if wanted.startswith("vnet") and iface.target_dev and not iface.target_dev[4:].isdigit():
                wanted = "vnet%d"
            bridge = iface.source if iface.type == "bridge" else None
            model = iface.xml.find("model")
            virtio = model is not None and model.get("type") == "virtio"
            tap = create_tap(wanted, bridge, iface.mac, vnet_hdr=virtio)
            taps[i] = tap
            node = iface.xml.find("target")
            if node is None:
                node = iface.xml.makeelement("target", {})
                iface.xml.append(node)
            node.set("dev", tap.name)
    except BaseException:
        for tap in taps.values():
            tap.close()
        raise
    return taps
