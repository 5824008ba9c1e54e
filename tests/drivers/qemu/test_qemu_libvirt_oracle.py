"""Our argv against real libvirt 9.0's (``virsh domxml-to-native qemu-argv``) for every golden case.

libvirt's embedded QEMU driver runs as user ``nobody`` (as root it insists on
the ``libvirt-qemu`` user) inside a private network namespace (it opens taps
even for user-mode interfaces when converting), with CAP_NET_ADMIN and
CAP_DAC_OVERRIDE for /dev/net/tun. Compared: every argument except what only
libvirt has (its master-key secret object, its monitor socket path) and the
-netdev backends (domxml-to-native turns every interface into a tap).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from test_qemu_command import DATA, argv_for

CASES = sorted(p.stem for p in (DATA / "xml2argv").glob("*.xml"))
# Where we knowingly differ from libvirt (see the module docs of pyvirt.drivers.qemu.domain).
KNOWN = {
    "kvm": "libvirt's capabilities for user nobody have no KVM",
    "boot-per-device": "domxml-to-native drops per-device boot order of interfaces it converts",
}
NOBODY = 65534


@pytest.fixture(scope="module")
def lvroot() -> Iterator[Path]:
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("virsh", "setpriv", "unshare")):
        pytest.skip("needs root, virsh (libvirt-clients), setpriv and unshare")
    if not Path("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so").exists():
        pytest.skip("needs libvirt's QEMU driver (libvirt-daemon-driver-qemu)")
    # pytest's tmp dirs are private to root; nobody needs a path it can walk.
    root = Path(tempfile.mkdtemp(prefix="pyvirt-lvoracle-"))
    os.chmod(root, 0o755)
    os.chown(root, NOBODY, NOBODY)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def libvirt_argv(root: Path, xml: Path) -> list[str]:
    caps = "+net_admin,+dac_override"
    proc = subprocess.run(
        ["unshare", "--net", "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         f"--inh-caps={caps}", f"--ambient-caps={caps}",
         "virsh", "-q", "-c", f"qemu:///embed?root={root}/root", "domxml-to-native", "qemu-argv", str(xml)],
        capture_output=True, text=True, timeout=120, env={"HOME": str(root), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    args = shlex.split(proc.stdout)
    while args and not args[0].startswith("/"):
        args.pop(0)  # the environment
    return args


def normalize(argv: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(argv):
        opt = argv[i]
        val = argv[i + 1] if i + 1 < len(argv) else ""
        if (opt == "-object" and "masterKey0" in val) or (opt == "-chardev" and "id=charmonitor" in val):
            i += 2
            continue
        if opt == "-netdev":
            out += [opt, "<netdev>"]
            i += 2
            continue
        out.append(opt)
        i += 1
    return out


@pytest.mark.parametrize("name", CASES)
def test_same_argv_as_libvirt(name: str, lvroot: Path) -> None:
    if name in KNOWN:
        pytest.skip(KNOWN[name])
    src = DATA / "xml2argv" / f"{name}.xml"
    xml = lvroot / src.name
    xml.write_text(src.read_text())
    os.chmod(xml, 0o644)
    ours = shlex.split(argv_for(src.read_text()).replace("\\\n", " "))
    ours = [a for a in ours if not a.startswith("LC_ALL=")]
    assert normalize(ours) == normalize(libvirt_argv(lvroot, xml))
