"""attach-disk, detach-disk, attach-interface, detach-interface, change-media: pyvirsh against real virsh.

Against libvirt's test driver (which has no device hot-plug: the API calls fail
with "not supported" there, but everything virsh does before and around them
is compared), with pyvirsh on Debian's libvirt-python so the API answers are
the same; then on qemu:///embed with a running guest.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from .harness import VIRSH, Result, run_pyvirsh, run_virsh

pytestmark = pytest.mark.skipif(VIRSH is None, reason="virsh (libvirt-clients) not installed")

NODE_XML = """<node>
<domain type='test'><name>m</name><memory>65536</memory><os><type>hvm</type></os><devices>
<disk type='file' device='disk'><source file='/guest/disk0'/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='cdrom'><source file='/guest/a.iso' startupPolicy='optional'/>
<target dev='hdc' bus='ide'/><readonly/></disk>
<disk type='file' device='cdrom'><target dev='hdd' bus='ide'/><readonly/></disk>
<interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>
<interface type='network'><mac address='52:54:00:00:00:02'/><source network='default'/></interface>
<interface type='bridge'><mac address='52:54:00:00:00:03'/><source bridge='br0'/></interface>
</devices></domain></node>
"""

LINES = [
    # attach-disk: the XML virsh builds, its option checks and errors
    "attach-disk m /tmp/x.img vdb --print-xml",
    "attach-disk m /tmp/x.img vdb --print-xml --driver qemu --subdriver qcow2 --cache none --io native "
    "--mode readonly --serial abc --alias ua-x --address pci:0000.00.05.0 --targetbus virtio --type disk "
    "--iothread 1 --rawio --wwn 0x5000c50015ea71ad",
    "attach-disk m /tmp/x.img vdb --print-xml --address pci:0.0.5.1 --multifunction",
    "attach-disk m /dev/null sdb --print-xml",
    "attach-disk m /dev/null sdb --print-xml --driver file",
    "attach-disk m '' hdb --type cdrom --print-xml",
    "attach-disk m /x sda --print-xml --address scsi:0.0.3",
    "attach-disk m /x sda --print-xml --address usb:1.2",
    "attach-disk m /x hda --print-xml --address ide:0.1.0",
    "attach-disk m /x hda --print-xml --address pci:0.0.5.0",
    "attach-disk m /x vda --print-xml --address ide:0.1.0",
    "attach-disk m /x sda --print-xml --address ccw:0.0.1",
    "attach-disk m /x vdb --print-xml --address nonsense",
    "attach-disk m img vdb --print-xml --sourcetype network --source-protocol nbd "
    "--source-host-name example.org:10809",
    "attach-disk m img vdb --print-xml --sourcetype network --source-protocol nbd "
    "--source-host-transport unix --source-host-socket /run/nbd.sock",
    "attach-disk m /x vdb --print-xml --source-protocol nbd",
    "attach-disk m /x vdb --print-xml --sourcetype nfs",
    "attach-disk m /x vdb --print-xml --source-host-name h",
    "attach-disk m /x vdb --mode bogus",
    "attach-disk m /x vdb --wwn 123",
    "attach-disk m /x vdb --persistent --current",
    "attach-disk m /x vdb --live --current",
    "attach-disk m /x vdb",
    "attach-disk m /x vdb --config",
    "attach-disk nosuch /x vdb",
    # detach-disk
    "detach-disk m vda --print-xml",
    "detach-disk m /guest/a.iso --print-xml",
    "detach-disk m vdz",
    "detach-disk m vda",
    "detach-disk m vda --config",
    "detach-disk m vda --persistent",
    # attach-interface
    "attach-interface m bridge br0 --print-xml",
    "attach-interface m network default --print-xml --mac 52:54:00:11:22:33 --model virtio --target vnet9 "
    "--alias ua-n --inbound 100,200,300,400 --outbound 50,,70 --managed --script /bin/true",
    "attach-interface m direct eth0 --print-xml",
    "attach-interface m hostdev 0000:01:00.0 --print-xml",
    "attach-interface m hostdev bogus --print-xml",
    "attach-interface m vhostuser /tmp/s --print-xml --source-mode client",
    "attach-interface m vhostuser /tmp/s --print-xml",
    "attach-interface m vhostuser /tmp/s --print-xml --source-mode both",
    "attach-interface m user x",
    "attach-interface m ethernet x",
    "attach-interface m nosuch x",
    "attach-interface m bridge br0 --inbound 1,2,3,4,5",
    "attach-interface m bridge br0 --inbound ,2",
    "attach-interface m bridge br0 --inbound x",
    "attach-interface m bridge br0 --outbound ,2",
    "attach-interface m bridge br0 --outbound 1,2,3,4",
    "attach-interface m bridge br0",
    "attach-interface m bridge br0 --persistent",
    # detach-interface
    "detach-interface m network --print-xml",
    "detach-interface m network --mac 52:54:00:00:00:02 --print-xml",
    "detach-interface m network --mac 52:54:0:0:0:2 --print-xml",
    "detach-interface m network --mac 52:54:00:00:00:09 --print-xml",
    "detach-interface m bridge --print-xml",
    "detach-interface m bridge --print-xml --config",
    "detach-interface m user --print-xml",
    "detach-interface m user",
    "detach-interface m bridge",
    "detach-interface m bridge --config",
    "detach-interface m bridge --persistent --print-xml",
    # change-media
    "change-media m hdc --eject --print-xml",
    "change-media m /guest/a.iso /guest/b.iso --update --print-xml",
    "change-media m hdc /guest/b.iso --print-xml",
    "change-media m hdc /dev/sr0 --block --print-xml",
    "change-media m hdd /guest/c.iso --insert --print-xml",
    "change-media m hdc /guest/c.iso --insert --print-xml",
    "change-media m hdd --eject --print-xml",
    "change-media m hdd --print-xml",
    "change-media m hdc --update --print-xml",
    "change-media m vda --eject",
    "change-media m hdx --eject",
    "change-media m hdc --eject --insert",
    "change-media m hdc --eject --block",
    "change-media m hdc --live --current",
    "change-media m hdc --eject",
    "change-media m hdc /x --config --force",
]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("attach") / "node.xml"
    path.write_text(NODE_XML)
    return path


@pytest.fixture(autouse=True)
def libvirt_backend() -> Iterator[None]:
    before = os.environ.get("PYVIRSH_TEST_BACKEND")
    os.environ["PYVIRSH_TEST_BACKEND"] = "libvirt"
    yield
    if before is None:
        os.environ.pop("PYVIRSH_TEST_BACKEND", None)
    else:
        os.environ["PYVIRSH_TEST_BACKEND"] = before


@pytest.mark.parametrize("line", LINES)
def test_same_as_virsh(line: str, node: Path) -> None:
    argv = ["-c", f"test://{node}", line]
    want = run_virsh(argv)
    got = run_pyvirsh(argv)
    assert (got.out, got.err, got.rc) == (want.out, want.err, want.rc)


def _guest() -> Any:
    """The tiny test guest of tests/guest/build.py (kernel, initrd, cmdline, ready_line)."""
    import importlib.util
    import sys
    path = Path(__file__).parents[1] / "guest" / "build.py"
    spec = importlib.util.spec_from_file_location("pyvirt_test_guest", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, mod)
    spec.loader.exec_module(mod)
    return mod.build_guest()


@pytest.fixture
def qemu_guest(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if shutil.which("qemu-system-x86_64") is None:
        pytest.skip("qemu-system-x86_64 is not installed (Debian: qemu-system-x86)")
    import pyvirt
    guest = _guest()
    root = tmp_path / "root"
    console = tmp_path / "console.log"
    iso = tmp_path / "a.iso"
    iso.write_bytes(b"\0" * 65536)
    uri = f"qemu:///embed?root={root}"
    conn = pyvirt.open(uri)  # keeps the driver state (and the guest's monitor) alive between commands
    dom = conn.define_xml(f"""<domain type='qemu'><name>g</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features><devices>
<disk type='file' device='cdrom'><source file='{iso}'/><target dev='hdc' bus='ide'/><readonly/></disk>
<serial type='file'><source path='{console}'/></serial></devices></domain>""")
    dom.create()
    try:
        deadline = time.monotonic() + 90
        while not (console.exists() and guest.ready_line in console.read_text(errors="replace")):
            assert time.monotonic() < deadline, "the guest did not boot"
            time.sleep(0.05)
        yield uri, console
    finally:
        if dom.is_active():
            dom.destroy()
        conn.close()


def test_on_running_qemu_guest(qemu_guest: Any, tmp_path: Path) -> None:
    """The commands drive the QEMU driver end to end (pyvirsh on pyvirt's own backend)."""
    uri, console = qemu_guest
    os.environ["PYVIRSH_TEST_BACKEND"] = "pyvirt"
    img = tmp_path / "extra.img"
    img.write_bytes(b"\0" * 65536)
    iso = tmp_path / "b.iso"
    iso.write_bytes(b"\0" * 65536)

    def run(line: str) -> Result:
        return run_pyvirsh(["-c", uri, line])

    got = run(f"attach-disk g {img} vdb --targetbus virtio --persistent")
    assert (got.out, got.err, got.rc) == ("Disk attached successfully\n\n", "", 0)
    assert str(img) in run("domblklist g").out and str(img) in run("domblklist g --inactive").out
    got = run(f"change-media g hdc {iso} --update")
    assert got.rc == 0 and got.out.startswith("Successfully updated media."), got
    assert str(iso) in run("domblklist g").out
    got = run("change-media g hdc --eject")
    assert got.rc == 0 and "Successfully ejected media." in got.out
    got = run("detach-disk g vdb --persistent")
    assert (got.out, got.err, got.rc) == ("Disk detached successfully\n\n", "", 0)
    deadline = time.monotonic() + 90
    while str(img) in run("domblklist g").out:  # the guest lets go of the disk
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert str(img) not in run("domblklist g --inactive").out
    got = run("attach-interface g user x")
    assert got.rc == 1 and "No support for user in command 'attach-interface'" in got.err
    got = run("detach-interface g user")
    assert got.rc == 1 and got.err == "error: No interface found whose type is user\nerror: Failed to detach interface\n"
