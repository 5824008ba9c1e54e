"""Side-by-side: guest lifecycle through pyvirt's QEMU driver and libvirt 9.0's, same guest, same machine.

    .venv/bin/python bench/qemu_lifecycle.py [--rounds N]

Both sides use ``qemu:///embed?root=DIR`` through the same libvirt-python code
(``import libvirt`` vs ``import pyvirt.libvirt``), each in a worker process
running as user ``nobody`` (libvirt's embedded driver as root insists on the
``libvirt-qemu`` user, which a bare Debian host lacks). The guest is the tiny
test guest (tests/guest/build.py) under TCG. Measured per round:

- start: ``createXML`` until it returns (QEMU running),
- boot: from start until the guest's ready line is on the serial console,
- acpi-off: ``shutdown()`` until the domain reports shut off,
- destroy: ``destroy()`` of a domain started paused.

A first, unmeasured start warms up both sides (libvirt probes QEMU's
capabilities then, about 3 s here). Medians are printed; absolute numbers
depend on the (shared) host, ratios less so.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534

XML = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type>hvm</type><kernel>{kernel}</kernel><initrd>{initrd}</initrd><cmdline>{cmdline}</cmdline></os>
<features><acpi/></features>
<devices><serial type='file'><source path='{console}'/></serial><memballoon model='none'/></devices></domain>"""


def _wait(pred: Any, timeout: float = 120.0, step: float = 0.002) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        time.sleep(step)


def worker(side: str, workdir: Path, rounds: int, guest: dict[str, str]) -> dict[str, list[float]]:
    """One side's measurements (runs in the worker process)."""
    if side == "libvirt":
        lv: Any = importlib.import_module("libvirt")
    else:
        sys.path.insert(0, str(ROOT))
        lv = importlib.import_module("pyvirt.libvirt")
    lv.virEventRegisterDefaultImpl()
    threading.Thread(target=lambda: [lv.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
    conn = lv.open(f"qemu:///embed?root={workdir / 'root'}")
    out: dict[str, list[float]] = {"start": [], "boot": [], "acpi-off": [], "destroy": []}
    # Warm-up (not measured): libvirt probes QEMU's capabilities on its first start.
    warm = conn.createXML(XML.format(name="warmup", console=workdir / "warm.log", **guest),
                          lv.VIR_DOMAIN_START_PAUSED)
    warm.destroy()
    for i in range(rounds):
        console = workdir / f"console-{i}.log"
        xml = XML.format(name=f"bench{i}", console=console, **guest)
        t0 = time.perf_counter()
        dom = conn.createXML(xml, 0)
        t1 = time.perf_counter()
        _wait(lambda: console.exists() and guest["ready"] in console.read_text(errors="replace"), step=0.01)
        t2 = time.perf_counter()
        dom.shutdown()
        _wait(lambda: dom.state()[0] == lv.VIR_DOMAIN_SHUTOFF if dom_exists(conn, dom.name()) else True)
        t3 = time.perf_counter()
        out["start"].append(t1 - t0)
        out["boot"].append(t2 - t0)
        out["acpi-off"].append(t3 - t2)
        dom = conn.createXML(xml.replace(f"bench{i}", f"paused{i}"), lv.VIR_DOMAIN_START_PAUSED)
        t4 = time.perf_counter()
        dom.destroy()
        out["destroy"].append(time.perf_counter() - t4)
    conn.close()
    return out


def dom_exists(conn: Any, name: str) -> bool:
    try:
        conn.lookupByName(name)
        return True
    except Exception:  # noqa: BLE001 - libvirt and pyvirt raise their own error classes
        return False


def _build_guest() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("pyvirt_test_guest", ROOT / "tests" / "guest" / "build.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    g = mod.build_guest()
    return {"kernel": str(g.kernel), "initrd": str(g.initrd), "cmdline": g.cmdline, "ready": g.ready_line}


def _run_side(side: str, rounds: int, guest: dict[str, str], script: Path | None = None,
              extra: list[str] | None = None) -> dict[str, Any]:
    """Run *script*'s (default: this one's) worker for *side* as user nobody; its JSON result."""
    workdir = Path(tempfile.mkdtemp(prefix=f"pyvirt-bench-{side}-"))
    os.chmod(workdir, 0o755)
    try:
        python = "/usr/bin/python3" if side == "libvirt" else sys.executable
        argv = [python, str(script or Path(__file__).resolve()), "--worker", side, "--workdir", str(workdir),
                "--rounds", str(rounds), "--guest", json.dumps(guest), *(extra or [])]
        if os.geteuid() == 0:
            os.chown(workdir, NOBODY, NOBODY)
            argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "LC_ALL": "C",
               "PYTHONPATH": str(ROOT) if side == "pyvirt" else ""}
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"{side} worker failed:\n{proc.stderr[-2000:]}")
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--worker", choices=("pyvirt", "libvirt"))
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--guest")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.workdir, args.rounds, json.loads(args.guest))))
        return
    guest = _build_guest()
    results = {side: _run_side(side, args.rounds, guest) for side in ("pyvirt", "libvirt")}
    print(f"QEMU guest lifecycle, TCG, {args.rounds} rounds, median seconds")
    print(f"{'step':<10} {'pyvirt':>9} {'libvirt':>9} {'ratio':>7}")
    for step in ("start", "boot", "acpi-off", "destroy"):
        ours = statistics.median(results["pyvirt"][step])
        theirs = statistics.median(results["libvirt"][step])
        print(f"{step:<10} {ours:9.3f} {theirs:9.3f} {ours / theirs if theirs else float('nan'):7.2f}")


if __name__ == "__main__":
    main()
