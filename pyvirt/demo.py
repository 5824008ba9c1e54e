"""A short scripted tour of pyvirsh and the Python API (``make demo``).

Every step runs in this one process, so the changes it makes to ``test:///default``
(whose state all connections of a process share, as in libvirt) show in the next step.
"""

from __future__ import annotations

import shlex
import sys
import tempfile
from pathlib import Path

DEMO_XML = """<domain type='test'>
  <name>demo</name>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os><type arch='i686'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/demo.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
    </interface>
  </devices>
</domain>
"""

URI = "test:///default"


def pyvirsh(*args: str) -> int:
    """Run one pyvirsh command line in process, echoing it like a terminal would."""
    from .cli.main import main
    print(f"$ pyvirsh -c {URI} {shlex.join(args)}", flush=True)
    rc = main(["pyvirsh", "-c", URI, *args])
    sys.stdout.flush()
    if rc != 0:
        raise SystemExit(f"demo step failed with exit status {rc}")
    return rc


def tour_test_driver(workdir: Path) -> None:
    xml = workdir / "demo.xml"
    xml.write_text(DEMO_XML)
    print("== pyvirsh on libvirt's mock hypervisor, test:///default\n")
    pyvirsh("list", "--all")
    pyvirsh("dominfo", "test")
    pyvirsh("define", str(xml))
    pyvirsh("start", "demo")
    pyvirsh("domstate", "demo", "--reason")
    pyvirsh("suspend", "demo")
    pyvirsh("list", "--all")
    pyvirsh("snapshot-create-as", "demo", "first")
    pyvirsh("snapshot-list", "demo")
    pyvirsh("resume", "demo")
    pyvirsh("domblklist", "demo")
    pyvirsh("domiflist", "demo")
    pyvirsh("net-list", "--all")
    pyvirsh("pool-list", "--all", "--details")
    pyvirsh("nodeinfo")
    pyvirsh("destroy", "demo")
    pyvirsh("undefine", "demo", "--snapshots-metadata")
    pyvirsh("list", "--all")


def tour_qemu(workdir: Path) -> None:
    """Boot the tiny test guest under the QEMU driver (embedded, all state under *workdir*)."""
    import importlib.util
    import time

    import pyvirt
    builder = Path(__file__).resolve().parent.parent / "tests" / "guest" / "build.py"
    if not builder.exists():
        print("== (the QEMU part needs a source checkout: tests/guest/build.py builds its guest)\n")
        return
    spec = importlib.util.spec_from_file_location("pyvirt_demo_guest", builder)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    print("== a real guest under the QEMU driver (TCG), qemu:///embed\n")
    print("building the test guest from Debian packages (cached after the first time) ...", flush=True)
    guest = module.build_guest()
    uri = f"qemu:///embed?root={workdir / 'qemu-root'}"
    console = workdir / "console.log"
    xml = workdir / "guest.xml"
    xml.write_text(f"""<domain type='qemu'>
  <name>tiny</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
    <cmdline>{guest.cmdline}</cmdline></os>
  <features><acpi/></features>
  <devices><serial type='file'><source path='{console}'/></serial></devices>
</domain>
""")
    global URI
    saved, URI = URI, uri
    try:
        with pyvirt.open(uri) as conn:
            pyvirsh("define", str(xml))
            pyvirsh("start", "tiny")
            pyvirsh("list", "--all")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                text = console.read_text(errors="replace") if console.exists() else ""
                if guest.ready_line in text:
                    break
                time.sleep(0.1)
            line = next((ln for ln in text.splitlines() if guest.ready_line in ln), None)
            print(f"guest console says: {line}\n" if line else "the guest did not print its line in 60 s\n")
            pyvirsh("dominfo", "tiny")
            pyvirsh("domstats", "tiny", "--state", "--cpu-total", "--balloon", "--vcpu", "--block")
            dom = conn.lookup_by_name("tiny")
            print(f">>> dom.info() -> {dom.info()}\n")
            pyvirsh("shutdown", "tiny")
            while time.monotonic() < deadline and dom.is_active():
                time.sleep(0.05)
            pyvirsh("domstate", "tiny", "--reason")
            pyvirsh("undefine", "tiny")
    finally:
        URI = saved


def tour_python_api() -> None:
    import pyvirt
    print("== the typed Python API\n")
    print(">>> with pyvirt.open('test:///default') as conn: ...")
    with pyvirt.open(URI) as conn:
        dom = conn.lookup_by_name("test")
        info = dom.info()
        print(f"{dom.name()}: state={info.state} memory={info.memory} KiB vcpus={info.nr_virt_cpu}")
        try:
            conn.lookup_by_name("missing")
        except pyvirt.NotFoundError as err:
            print(f"NotFoundError code={err.get_error_code()}: {err}")
    print()


def main() -> None:
    import pyvirt
    # test:///default's state lives while a connection to it is open (libvirt's rule): hold one
    # for the whole tour so that each step sees what the previous one did.
    with pyvirt.open(URI), tempfile.TemporaryDirectory(prefix="pyvirt-demo-") as tmp:
        tour_test_driver(Path(tmp))
    tour_python_api()
    if "--no-qemu" not in sys.argv:
        with tempfile.TemporaryDirectory(prefix="pyvirt-demo-qemu-") as tmp:
            tour_qemu(Path(tmp))
    print("The tour is over: see README.md for more.")


if __name__ == "__main__":
    main()
