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
    print("The tour is over: see README.md for more.")


if __name__ == "__main__":
    main()
