"""Side-by-side benchmarks: pyvirt's test driver against libvirt 9.0's, in one run.

    .venv/bin/python bench/run.py [--quick] [--write docs/benchmarks.md]

Both sides run in this one process and machine, alternating, so the ratios are
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


def rate(fn: Callable[[], Any], seconds: float) -> float:
    """Calls per second of *fn*, best of three slices of *seconds*/3."""
    best = 0.0
    for _ in range(3):
        n = 0
        end = time.perf_counter() + seconds / 3
        start = time.perf_counter()
        while True:
            for _ in range(100):
                fn()
            n += 100
            now = time.perf_counter()
            if now >= end:
                break
        best = max(best, n / (now - start))
    return best


def bench_calls(mod: Any, seconds: float) -> dict[str, float]:
    conn = mod.open("test:///default")
    out: dict[str, float] = {}
    out["lookupByName+info (calls/s)"] = rate(lambda: conn.lookupByName("test").info(), seconds)
    dom = conn.lookupByName("test")
    out["XMLDesc (calls/s)"] = rate(lambda: dom.XMLDesc(0), seconds)
    counter = iter(range(10**9))

    def define() -> None:
        conn.defineXML(domain_xml(next(counter)))

    out["defineXML (calls/s)"] = rate(define, seconds)
    conn.close()
    return out


def bench_list(mod: Any, count: int) -> float:
    """Seconds for listAllDomains() over *count* defined domains (best of 5)."""
    conn = mod.open("test:///default")
    have = len(conn.listAllDomains())
    for i in range(have, count):
        conn.defineXML(domain_xml(1_000_000 + i))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        doms = conn.listAllDomains()
        best = min(best, time.perf_counter() - t0)
    assert len(doms) >= count
    conn.close()
    return best


def compile_package() -> None:
    """Byte-compile pyvirt as an install does, so no run pays for compiling sources.

    This environment may set PYTHONDONTWRITEBYTECODE, which would otherwise make every
    pyvirsh start compile its modules from source (~90 ms here), something no installed
    package does.
    """
    import compileall

    compileall.compile_dir(str(ROOT / "pyvirt"), quiet=1)


def bench_process(argv: list[str], runs: int) -> float:
    """Median wall time of running *argv* to completion (after one warm-up run)."""
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    ap.add_argument("--write", metavar="FILE", help="write the results as a Markdown table to FILE")
    args = ap.parse_args()
    seconds = 0.6 if args.quick else 3.0
    count = 1000 if args.quick else 10_000
    runs = 3 if args.quick else 15

    rows: list[tuple[str, float, float, str]] = []  # name, libvirt, pyvirt, unit
    lv = bench_calls(real, seconds)
    pv = bench_calls(ours, seconds)
    for key in lv:
        rows.append((key, lv[key], pv[key], "higher is better"))
    rows.append((f"listAllDomains with {count} domains (s)", bench_list(real, count), bench_list(ours, count),
                 "lower is better"))
    compile_package()
    pyvirsh = shutil.which("pyvirsh") or str(Path(sys.executable).with_name("pyvirsh"))
    rows.append(("`list --all` whole process (s)",
                 bench_process(["virsh", "-c", "test:///default", "list", "--all"], runs),
                 bench_process([pyvirsh, "-c", "test:///default", "list", "--all"], runs),
                 "lower is better"))

    no_site = bench_process([sys.executable, "-S", "-c", "pass"], runs)
    with_site = bench_process([sys.executable, "-c", "pass"], runs)

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
