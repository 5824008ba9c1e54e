"""Domain definition -> QEMU command line, the way libvirt 9.0 writes it.

:func:`prepare_live` turns a persistent definition into the live one (QEMU
defaults, aliases, PCI slots, VNC port); :func:`build_command` writes the argv
for it. Argument order, ids and the JSON syntax of ``-device``/``-blockdev``/
``-netdev`` follow libvirt's ``qemuBuildCommandLine``. Anything this builder
does not understand is refused with VIR_ERR_CONFIG_UNSUPPORTED naming it, so
that a guest never starts silently different from its XML.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable

from ... import constants as c
from ...conf.domain import DomainDef
from ...conf.xmlutil import Element
from ...errors import make_error
from .devices import build_devices, panic_devices
from .domain import (apply_defaults, assign_aliases, assign_pci_addresses, is_q35, unsupported)
from .validate import validate

__all__ = ["QemuCommand", "build_command", "prepare_live", "format_args", "jsonarg"]

VNC_PORT_MIN = 5900


def jsonarg(props: dict[str, Any]) -> str:
    """Compact JSON as libvirt writes it for -device/-blockdev/-netdev/-object."""
    return json.dumps(props, separators=(",", ":"))


@dataclass
class QemuCommand:
    """A QEMU invocation: argv, extra environment and file descriptors to pass."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    pass_fds: list[int] = field(default_factory=list)


def prepare_live(defn: DomainDef, vnc_port: Callable[[], int] | None = None) -> DomainDef:
    """The live definition for a start: a copy with defaults, aliases, PCI slots and ports."""
    live = defn.copy()
    apply_defaults(live)
    validate(live)
    assign_aliases(live)
    assign_pci_addresses(live)
    for gfx in live.devices_elem.findall("graphics"):
        if gfx.get("type") == "vnc" and gfx.get("autoport") == "yes" and _vnc_listen_type(gfx) != "socket":
            if vnc_port is None:
                raise make_error(c.VIR_ERR_INTERNAL_ERROR, "Unable to find an unused port for VNC",
                                 c.VIR_FROM_QEMU)
            gfx.set("port", str(vnc_port()))
    return live


def _vnc_listen_type(gfx: Element) -> str:
    lst = gfx.find("listen")
    return lst.get("type", "address") if lst is not None else "address"


def build_command(live: DomainDef, *, monitor_path: str, accel: str = "tcg",
                  tap_fds: dict[int, int] | None = None) -> QemuCommand:
    """The argv starting *live* (from :func:`prepare_live`) paused, with QMP on *monitor_path*.

    *tap_fds* maps an interface index to an open tap file descriptor for
    bridge/ethernet interfaces (libvirt creates taps and passes their fds).
    """
    root = live.xml
    machine = live.os_machine or "pc"
    q35 = is_q35(machine)
    argv: list[str] = [live.emulator or "/usr/bin/qemu-system-x86_64"]
    argv += ["-name", f"guest={_escape_comma(live.name)},debug-threads=on", "-S"]
    argv += ["-machine", f"{machine},usb=off,dump-guest-core=off,memory-backend=pc.ram"]
    argv += ["-accel", accel]
    argv += ["-cpu", _cpu_model(root, accel)]
    mem_kib = live.memory
    argv += ["-m", str(mem_kib // 1024)]
    argv += ["-object", jsonarg({"qom-type": "memory-backend-ram", "id": "pc.ram", "size": mem_kib * 1024})]
    argv += ["-overcommit", "mem-lock=off"]
    argv += ["-smp", _smp(live)]
    argv += ["-uuid", live.uuid]
    if root.find("devices/graphics") is None:
        argv += ["-display", "none"]
    argv += ["-no-user-config", "-nodefaults"]
    argv += ["-chardev", f"socket,id=charmonitor,path={_escape_comma(monitor_path)},server=on,wait=off"]
    argv += ["-mon", "chardev=charmonitor,id=monitor,mode=control"]
    argv += ["-rtc", _rtc(root)]
    argv += ["-no-shutdown"]
    if root.find("features/acpi") is None:
        argv += ["-no-acpi"]
    argv += ["-boot", _boot_opts(root)]
    for tag, opt in (("kernel", "-kernel"), ("initrd", "-initrd"), ("cmdline", "-append"), ("dtb", "-dtb")):
        text = root.findtext(f"os/{tag}")
        if text:
            argv += [opt, text]
    argv += build_devices(live, q35=q35, tap_fds=tap_fds or {})
    argv += ["-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"]
    argv += panic_devices(live)
    argv += ["-msg", "timestamp=on"]
    return QemuCommand(argv=argv, env={"LC_ALL": "C"}, pass_fds=sorted((tap_fds or {}).values()))


def _escape_comma(text: str) -> str:
    return text.replace(",", ",,")


def _cpu_model(root: Element, accel: str) -> str:
    cpu = root.find("cpu")
    if cpu is None:
        return "qemu64"
    mode = cpu.get("mode", "custom")
    if mode in ("host-passthrough", "maximum"):
        if mode == "host-passthrough" and accel != "kvm":
            raise unsupported("CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 host is not supported by hypervisor")
        return "host" if mode == "host-passthrough" else "max"
    if mode == "host-model":
        if accel != "kvm":
            raise unsupported("CPU mode 'host-model' for x86_64 qemu domain on x86_64 host is not supported by hypervisor")
        return "host"
    model = cpu.findtext("model")
    return model.strip() if model else "qemu64"


def _smp(live: DomainDef) -> str:
    maxv, cur = live.max_vcpus, live.vcpus
    topo = live.xml.find("cpu/topology")
    if topo is not None:
        sockets, dies = int(topo.get("sockets", "1")), int(topo.get("dies", "1"))
        cores, threads = int(topo.get("cores", "1")), int(topo.get("threads", "1"))
        if sockets * dies * cores * threads != maxv:
            raise unsupported(f"CPU topology doesn't match maximum vcpu count")
        topo_s = f"sockets={sockets},dies={dies},cores={cores},threads={threads}"
    else:
        topo_s = f"sockets={maxv},cores=1,threads=1"
    if cur != maxv:
        return f"{cur},maxcpus={maxv},{topo_s}"
    return f"{maxv},{topo_s}"


def _rtc(root: Element) -> str:
    clock = root.find("clock")
    offset = clock.get("offset", "utc") if clock is not None else "utc"
    return "base=localtime" if offset == "localtime" else "base=utc"


def _boot_opts(root: Element) -> str:
    parts = []
    menu = root.find("os/bootmenu")
    if menu is not None:
        parts.append("menu=on" if menu.get("enable") == "yes" else "menu=off")
    bios = root.find("os/bios")
    if bios is not None and bios.get("rebootTimeout") is not None:
        parts.append(f"reboot-timeout={bios.get('rebootTimeout')}")
    if menu is not None and menu.get("timeout"):
        parts.append(f"splash-time={menu.get('timeout')}")
    parts.append("strict=on")
    return ",".join(parts)


def format_args(cmd: QemuCommand) -> str:
    """The command as libvirt's test suite writes ``.args`` files: one option per line."""
    lines = [f"{k}={shlex.quote(v)}" for k, v in sorted(cmd.env.items())]
    argv = cmd.argv
    i = 1
    lines.append(shlex.quote(argv[0]))
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("-") and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            lines.append(f"{arg} {shlex.quote(argv[i + 1])}")
            i += 2
        else:
            lines.append(shlex.quote(arg))
            i += 1
    return " \\\n".join(lines) + "\n"
