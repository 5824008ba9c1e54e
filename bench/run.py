"""Side-by-side benchmarks: pyvirt's test driver against libvirt 9.0's, in one run.

    .venv/bin/python bench/run.py [--quick] [--write docs/benchmarks.md]

Both sides run in this one process and machine, their time slices interleaved, so the ratios are
comparable even on a noisy shared host (absolute times are not). libvirt is
Debian's python3-libvirt (C library); pyvirt is ``pyvirt.libvirt``, the same
libvirt-python API. Whole-process rows compare ``pyvirsh`` with ``virsh``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import libvirt as real  # noqa: E402  (Debian's python3-libvirt)

import pyvirt.libvirt as ours  # noqa: E402

DOMAIN_XML = """<domain type='test'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='i686'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/var/lib/images/{name}.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:{a:02x}:{b:02x}:{c:02x}'/><source network='default'/></interface>
  </devices>
</domain>"""


def domain_xml(i: int) -> str:
    return DOMAIN_XML.format(name=f"bench{i}", a=(i >> 16) & 255, b=(i >> 8) & 255, c=i & 255)


SLICES = 6  # per side; libvirt's and pyvirt's slices alternate so load changes hit both


def _slice(fn: Callable[[], Any], seconds: float) -> float:
    """Calls per second of *fn* over about *seconds*."""
    n = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while True:
        for _ in range(100):
            fn()
        n += 100
        now = time.perf_counter()
        if now >= end:
            return n / (now - start)


def rate_pair(fns: tuple[Callable[[], Any], Callable[[], Any]], seconds: float) -> tuple[float, float]:
    """Best calls/s of each of two functions, their slices interleaved (libvirt, pyvirt, ...)."""
    best = [0.0, 0.0]
    for _ in range(SLICES):
        for side, fn in enumerate(fns):
            best[side] = max(best[side], _slice(fn, seconds / SLICES))
    return best[0], best[1]


def bench_calls(mods: tuple[Any, Any], seconds: float) -> dict[str, tuple[float, float]]:
    """In-process call rates of both libraries on the same calls, interleaved."""
    conns = [m.open("test:///default") for m in mods]
    out: dict[str, tuple[float, float]] = {}
    out["lookupByName+info (calls/s)"] = rate_pair(
        (lambda: conns[0].lookupByName("test").info(), lambda: conns[1].lookupByName("test").info()), seconds)
    doms = [cn.lookupByName("test") for cn in conns]
    out["XMLDesc (calls/s)"] = rate_pair((lambda: doms[0].XMLDesc(0), lambda: doms[1].XMLDesc(0)), seconds)
    counters = [iter(range(10**9)), iter(range(10**9))]

    def define(side: int) -> Callable[[], None]:
        return lambda: conns[side].defineXML(domain_xml(next(counters[side])))

    out["defineXML (calls/s)"] = rate_pair((define(0), define(1)), seconds)
    for cn in conns:
        cn.close()
    return out


def bench_list(mods: tuple[Any, Any], count: int) -> tuple[float, float]:
    """Seconds for listAllDomains() over *count* defined domains (best of 7, interleaved)."""
    conns = [m.open("test:///default") for m in mods]
    for cn in conns:
        for i in range(len(cn.listAllDomains()), count):
            cn.defineXML(domain_xml(1_000_000 + i))
    best = [float("inf"), float("inf")]
    for _ in range(7):
        for side, cn in enumerate(conns):
            t0 = time.perf_counter()
            doms = cn.listAllDomains()
            best[side] = min(best[side], time.perf_counter() - t0)
            assert len(doms) >= count
            del doms  # freeing one side's objects must not land in the other side's timing
    for cn in conns:
        cn.close()
    return best[0], best[1]


def compile_package() -> None:
    """Byte-compile pyvirt as an install does, so no run pays for compiling sources.

    This environment may set PYTHONDONTWRITEBYTECODE, which would otherwise make every
    pyvirsh start compile its modules from source (~90 ms here), something no installed
    package does.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "pyvirt"), quiet=1)
    from pyvirt.cli.options import write_defs_cache

    write_defs_cache()  # pyvirsh's command table, cached like a .pyc


def bench_process(argvs: list[list[str]], runs: int) -> list[float]:
    """Median wall time of running each argv to completion, runs interleaved (after a warm-up)."""
    times: list[list[float]] = [[] for _ in argvs]
    for argv in argvs:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for _ in range(runs):
        for k, argv in enumerate(argvs):
            t0 = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times[k].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    ap.add_argument("--write", metavar="FILE", help="write the results as a Markdown table to FILE")
    args = ap.parse_args()
    seconds = 0.6 if args.quick else 3.0
    count = 1000 if args.quick else 10_000
    runs = 3 if args.quick else 15

    rows: list[tuple[str, float, float, str]] = []  # name, libvirt, pyvirt, unit
    mods = (real, ours)
    for key, (a, b) in bench_calls(mods, seconds).items():
        rows.append((key, a, b, "higher is better"))
    rows.append((f"listAllDomains with {count} domains (s)", *bench_list(mods, count), "lower is better"))
    compile_package()
    pyvirsh = shutil.which("pyvirsh") or str(Path(sys.executable).with_name("pyvirsh"))
    virsh_t, pyvirsh_t, no_site, with_site = bench_process(
        [["virsh", "-c", "test:///default", "list", "--all"],
         [pyvirsh, "-c", "test:///default", "list", "--all"],
         [sys.executable, "-S", "-c", "pass"],
         [sys.executable, "-c", "pass"]], runs)
    rows.append(("`list --all` whole process (s)", virsh_t, pyvirsh_t, "lower is better"))

    lines = ["| benchmark | libvirt 9.0 | pyvirt | pyvirt / libvirt |", "|---|---:|---:|---:|"]
    for name, a, b, how in rows:
        lines.append(f"| {name} ({how}) | {a:,.4g} | {b:,.4g} | {b / a:.2f} |")
    lines.append("")
    lines.append(f"Python start-up floor in this venv (part of every pyvirsh run): `python -S -c pass` "
                 f"{no_site * 1000:.1f} ms, `python -c pass` {with_site * 1000:.1f} ms.")
    table = "\n".join(lines)
    print(table)
    if args.write:
        Path(args.write).write_text(table + "\n")


if __name__ == "__main__":
    os.environ.pop("LIBVIRT_DEFAULT_URI", None)
    main()
