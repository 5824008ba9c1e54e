"""The QEMU driver's targets, side by side: pyvirt against bare QEMU and against libvirt 9.0.

    .venv/bin/python bench/qemu_targets.py [--rounds N] [--parallel N]

One run, same machine, same tiny test guest (tests/guest/build.py) under TCG, each side in
a worker process as user ``nobody`` (like bench/qemu_lifecycle.py). Measured:

- start: pyvirt's ``createXML`` until it returns (QEMU running) against **bare QEMU by hand**:
  the very argv pyvirt builds for that XML, spawned directly, then the QMP greeting,
  ``qmp_capabilities``, ``set-action`` (power-off exits, as pyvirt sets it) and ``cont``,
  with a minimal blocking QMP client; target: pyvirt within 2x bare QEMU;
- ACPI shutdown: pyvirt's ``shutdown()`` until the domain reports shut off, against the
  guest's own power-off time: bare QEMU's ``system_powerdown`` until the process has exited;
  target: pyvirt within the guest's time + 50 ms;
- destroy: ``destroy()`` of a booted, running guest until it returns; target: under 0.1 s;
- N guests started in parallel (default 20), pyvirt and libvirt's QEMU driver, one thread
  and one connection per guest (libvirt: one shared connection if a second embed connection
  is refused): wall time until every ``createXML`` returned, and how many failed.

Medians over the rounds; the ratios are what to read (the host is shared and noisy).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import qemu_lifecycle as lc  # noqa: E402  (the same guest, XML and worker plumbing)

ROOT = lc.ROOT


class BareQmp:
    """A minimal blocking QMP client: what a person driving QEMU by hand needs."""

    def __init__(self, path: Path, proc: subprocess.Popen[bytes]) -> None:
        while not path.exists():
            if proc.poll() is not None:
                raise RuntimeError("bare QEMU exited before its monitor came up")
            time.sleep(0.001)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rwb")
        self.file.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name: str, args: dict[str, Any] | None = None) -> Any:
        msg: dict[str, Any] = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg).encode() + b"\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply or "error" in reply:
                return reply

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def bare_round(workdir: Path, i: int, guest: dict[str, str]) -> tuple[float, float]:
    """(start, power-off) of bare QEMU running pyvirt's argv for the same XML."""
    from pyvirt.conf.domain import DomainDef
    from pyvirt.drivers.qemu.command import build_command, prepare_live
    from pyvirt.drivers.qemu.domain import apply_defaults
    console = workdir / f"bare-{i}.log"
    defn = DomainDef.parse(lc.XML.format(name=f"bare{i}", console=console, **guest), default_arch="x86_64")
    apply_defaults(defn)
    mon = workdir / f"bare{i}.monitor"
    argv = build_command(prepare_live(defn), monitor_path=str(mon)).argv
    with open(workdir / f"bare{i}.qemu.log", "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        qmp = BareQmp(mon, proc)
        qmp.cmd("set-action", {"shutdown": "poweroff", "panic": "pause"})
        qmp.cmd("cont")
        t1 = time.perf_counter()
    try:
        lc._wait(lambda: console.exists() and guest["ready"] in console.read_text(errors="replace"), step=0.01)
        t2 = time.perf_counter()
        qmp.cmd("system_powerdown")
        proc.wait(120)
        t3 = time.perf_counter()
    finally:
        qmp.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return t1 - t0, t3 - t2


def parallel(lv: Any, uri: str, workdir: Path, n: int, guest: dict[str, str], tag: str) -> tuple[float, int]:
    """Start *n* guests at once from *n* threads; (wall seconds, failures). Destroys them after."""
    conns: list[Any] = []
    try:
        for _ in range(n):
            conns.append(lv.open(uri))
    except Exception:  # noqa: BLE001 - libvirt refuses a second embed connection: share one
        conns = conns[:1] or [lv.open(uri)]
    doms: list[Any] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n + 1)

    def run(k: int) -> None:
        conn = conns[k % len(conns)]
        barrier.wait()
        try:
            dom = conn.createXML(lc.XML.format(name=f"{tag}{k}", console=workdir / f"{tag}{k}.log", **guest), 0)
            with lock:
                doms.append(dom)
        except Exception as exc:  # noqa: BLE001 - counted, not fatal
            with lock:
                failures.append(str(exc))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    for dom in doms:
        try:
            dom.destroy()
        except Exception:  # noqa: BLE001
            pass
    for conn in conns:
        conn.close()
    if failures:
        print(f"{tag}: {len(failures)} failures, first: {failures[0]}", file=sys.stderr)
    return wall, len(failures)


def worker(side: str, workdir: Path, rounds: int, n: int, guest: dict[str, str]) -> dict[str, Any]:
    if side == "libvirt":
        lv: Any = importlib.import_module("libvirt")
    else:
        sys.path.insert(0, str(ROOT))
        lv = importlib.import_module("pyvirt.libvirt")
    lv.virEventRegisterDefaultImpl()
    threading.Thread(target=lambda: [lv.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
    uri = f"qemu:///embed?root={workdir / 'root'}"
    conn = lv.open(uri)
    out: dict[str, Any] = {"start": [], "acpi-off": [], "destroy": [], "bare-start": [], "bare-off": []}
    warm = conn.createXML(lc.XML.format(name="warmup", console=workdir / "warm.log", **guest),
                          lv.VIR_DOMAIN_START_PAUSED)
    warm.destroy()
    for i in range(rounds):
        if side == "pyvirt":
            start, off = bare_round(workdir, i, guest)
            out["bare-start"].append(start)
            out["bare-off"].append(off)
        console = workdir / f"console-{i}.log"
        t0 = time.perf_counter()
        dom = conn.createXML(lc.XML.format(name=f"bench{i}", console=console, **guest), 0)
        out["start"].append(time.perf_counter() - t0)
        lc._wait(lambda: console.exists() and guest["ready"] in console.read_text(errors="replace"), step=0.01)
        t2 = time.perf_counter()
        dom.shutdown()
        lc._wait(lambda: dom.state()[0] == lv.VIR_DOMAIN_SHUTOFF if lc.dom_exists(conn, dom.name()) else True)
        out["acpi-off"].append(time.perf_counter() - t2)
        console = workdir / f"console-d{i}.log"
        dom = conn.createXML(lc.XML.format(name=f"kill{i}", console=console, **guest), 0)
        lc._wait(lambda: console.exists() and guest["ready"] in console.read_text(errors="replace"), step=0.01)
        t4 = time.perf_counter()
        dom.destroy()
        out["destroy"].append(time.perf_counter() - t4)
    conn.close()
    out["parallel"] = parallel(lv, uri, workdir, n, guest, "par")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--parallel", type=int, default=20)
    ap.add_argument("--worker", choices=("pyvirt", "libvirt"))
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--guest")
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.workdir, args.rounds, args.parallel, json.loads(args.guest))))
        return
    guest = lc._build_guest()
    extra = ["--parallel", str(args.parallel)]
    res = {side: lc._run_side(side, args.rounds, guest, script=Path(__file__).resolve(), extra=extra)
           for side in ("pyvirt", "libvirt")}
    med = {side: {k: statistics.median(v) for k, v in r.items() if k != "parallel" and v}
           for side, r in res.items()}
    py, lv = med["pyvirt"], med["libvirt"]
    print(f"QEMU driver targets, TCG, {args.rounds} rounds, median seconds")
    print(f"{'step':<28} {'pyvirt':>9} {'reference':>10} {'ratio/diff':>11}  target")
    print(f"{'start vs bare QEMU':<28} {py['start']:9.3f} {py['bare-start']:10.3f} "
          f"{py['start'] / py['bare-start']:10.2f}x  <= 2x")
    print(f"{'ACPI off vs guest power-off':<28} {py['acpi-off']:9.3f} {py['bare-off']:10.3f} "
          f"{(py['acpi-off'] - py['bare-off']) * 1000:+9.0f}ms  <= +50 ms")
    print(f"{'destroy (running guest)':<28} {py['destroy']:9.3f} {'':>10} {'':>11}  < 0.1 s")
    print(f"{'libvirt: start / ACPI / destroy':<28} {lv['start']:9.3f} {lv['acpi-off']:10.3f} {lv['destroy']:11.3f}")
    for side in ("pyvirt", "libvirt"):
        wall, failed = res[side]["parallel"]
        print(f"{args.parallel} guests in parallel, {side:<8} {wall:9.3f} s wall, {failed} failed")


if __name__ == "__main__":
    main()
