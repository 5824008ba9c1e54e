"""pyvirtd against libvirtd 9.0, side by side in one run, with the same real client.

    .venv/bin/python bench/daemon.py [--quick] [--write FILE]

Both daemons serve ``test:///default`` over a private UNIX socket (``test+unix:///default?socket=``)
and are started here: libvirtd 9.0 unprivileged (as ``nobody`` via setpriv when run as root) with
its own HOME/XDG directories, pyvirtd as ``python -m pyvirt.daemon``. The client is Debian's
libvirt-python (``import libvirt``, the C library underneath). Multi-client rows use threads of
this one process, each thread with its own connection (libvirt-python releases the GIL for the
whole call, so the threads really do overlap in the C client).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

import libvirt  # Debian's python3-libvirt

ROOT = Path(__file__).resolve().parent.parent
LIBVIRTD = "/usr/sbin/libvirtd"

DOMAIN_XML = """<domain type='test'>
  <name>{name}</name>
  <memory>65536</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>"""


def _wait(path: str, proc: subprocess.Popen[bytes], log: str) -> None:
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"daemon did not start:\n{Path(log).read_text(errors='replace')}")
        time.sleep(0.02)
    time.sleep(0.2)


class Daemon:
    """One daemon process with a private socket directory."""

    def __init__(self, name: str, base: str, argv: list[str], env: dict[str, str], sock_dir: str) -> None:
        self.name, self.base = name, base
        self.log = os.path.join(base, "daemon.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(argv, env=env, cwd=base, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.sock = os.path.join(sock_dir, "libvirt-sock")
        _wait(self.sock + ("-ro" if "pyvirt" in name else ""), self.proc, self.log)
        self.uri = f"test+unix:///default?socket={self.sock}"

    def rss_kib(self) -> int:
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def start_libvirtd(tmp: str) -> Daemon:
    base = tempfile.mkdtemp(prefix="libvirtd-", dir=tmp)
    os.chmod(base, 0o755)
    for sub in ("run", "config", "cache", "home", "sock"):
        os.makedirs(os.path.join(base, sub))
    conf = os.path.join(base, "libvirtd.conf")
    Path(conf).write_text(f'unix_sock_dir = "{base}/sock"\nunix_sock_rw_perms = "0777"\n'
                          'auth_unix_rw = "none"\nauth_unix_ro = "none"\nlog_outputs = "3:stderr"\n', encoding="utf-8")
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": f"{base}/home", "XDG_RUNTIME_DIR": f"{base}/run",
           "XDG_CONFIG_HOME": f"{base}/config", "XDG_CACHE_HOME": f"{base}/cache", "LC_ALL": "C"}
    argv = [LIBVIRTD, "-f", conf, "--timeout", "3600"]
    if os.geteuid() == 0:
        for root, dirs, files in os.walk(base):
            for n in dirs + files:
                os.chown(os.path.join(root, n), 65534, 65534)
        os.chown(base, 65534, 65534)
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
    return Daemon("libvirtd 9.0", base, argv, env, f"{base}/sock")


def start_pyvirtd(tmp: str, root: Path = ROOT, label: str = "pyvirtd") -> Daemon:
    base = tempfile.mkdtemp(prefix="pyvirtd-", dir=tmp)
    conf = os.path.join(base, "pyvirtd.conf")
    Path(conf).write_text(f'unix_sock_dir = "{base}/sock"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n',
                          encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(root))
    argv = [sys.executable, "-m", "pyvirt.daemon", "-f", conf, "-p", f"{base}/pid"]
    return Daemon(label, base, argv, env, f"{base}/sock")


def export_commit(commit: str, tmp: str) -> Path:
    """pyvirt as it was at *commit* (``git archive``), to run that pyvirtd next to today's."""
    dest = Path(tempfile.mkdtemp(prefix="baseline-", dir=tmp))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "pyvirt"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


# --- measurements ----------------------------------------------------------------------------

def calls_per_second(uri: str, op: Callable[[libvirt.virConnect], Any], threads: int, seconds: float) -> float:
    """Total completed ``op`` calls per second over ``threads`` threads, each with its own connection."""
    conns = [libvirt.open(uri) for _ in range(threads)]
    for conn in conns:
        op(conn)  # warm up
    counts = [0] * threads
    stop = threading.Event()
    go = threading.Barrier(threads + 1)

    def worker(i: int) -> None:
        conn, n = conns[i], 0
        go.wait()
        while not stop.is_set():
            op(conn)
            n += 1
        counts[i] = n

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    for conn in conns:
        conn.close()
    return sum(counts) / elapsed


def event_latency_ms(uri: str, rounds: int) -> float:
    """Median time from issuing suspend()/resume() until the lifecycle callback has fired."""
    conn = libvirt.open(uri)
    dom = conn.lookupByName("test")
    fired = threading.Event()

    def cb(_c: Any, _d: Any, _event: int, _detail: int, _opaque: Any) -> None:
        fired.set()

    cid = conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
    samples = []
    try:
        for i in range(rounds):
            fired.clear()
            t0 = time.perf_counter()
            dom.suspend() if i % 2 == 0 else dom.resume()
            if not fired.wait(10):
                raise RuntimeError("lifecycle event did not arrive")
            samples.append(time.perf_counter() - t0)
        if dom.info()[0] == libvirt.VIR_DOMAIN_PAUSED:
            dom.resume()
    finally:
        conn.domainEventDeregisterAny(cid)
        conn.close()
    return statistics.median(samples) * 1000


def define_many(uri: str, count: int) -> libvirt.virConnect:
    """Defines ``count`` domains; the returned connection keeps test:///default (and them) alive."""
    conn = libvirt.open(uri)
    for i in range(count):
        conn.defineXML(DOMAIN_XML.format(name=f"bench{i:05d}"))
    return conn


def list_all_ms(uri: str, expect: int, rounds: int) -> float:
    conn = libvirt.open(uri)
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        doms = conn.listAllDomains(0)
        samples.append(time.perf_counter() - t0)
        if len(doms) < expect:
            raise RuntimeError(f"listAllDomains returned {len(doms)} domains, expected {expect}+")
    conn.close()
    return statistics.median(samples) * 1000


def get_version(conn: libvirt.virConnect) -> Any:
    return conn.getVersion()


def lookup_info(conn: libvirt.virConnect) -> Any:
    return conn.lookupByName("test").info()


def lookup_xml(conn: libvirt.virConnect) -> Any:
    return conn.lookupByName("test").XMLDesc(0)


CALLS = [("getVersion", get_version), ("lookupByName+info", lookup_info), ("lookupByName+XMLDesc", lookup_xml)]


Row = tuple[str, list[float], bool]  # benchmark, one value per daemon, higher is better


def run(quick: bool, baseline: str | None = None) -> tuple[list[str], list[Row]]:
    """Daemon names and rows; the daemons are libvirtd, pyvirtd, then pyvirtd at *baseline*."""
    seconds, repeat = (0.5, 1) if quick else (1.0, 5)
    ndoms = 500 if quick else 10_000
    rounds = 20 if quick else 200
    libvirt.virEventRegisterDefaultImpl()
    loop_stop = False

    def loop() -> None:
        while not loop_stop:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()
    os.makedirs("/tmp/pyvirt-bench", exist_ok=True)
    os.chmod("/tmp/pyvirt-bench", 0o755)
    tmp = tempfile.mkdtemp(prefix="daemon-", dir="/tmp/pyvirt-bench")
    os.chmod(tmp, 0o755)
    daemons = [start_libvirtd(tmp), start_pyvirtd(tmp)]
    if baseline:
        daemons.append(start_pyvirtd(tmp, export_commit(baseline, tmp), f"pyvirtd @{baseline}"))
    rows: list[Row] = []

    def add(name: str, vals: list[float], higher: bool) -> None:
        rows.append((name, vals, higher))
        print(f"  {name}: " + " | ".join(f"{v:,.2f}" for v in vals), file=sys.stderr)

    try:
        for name, op in CALLS:
            unit = "calls/s" if name == "getVersion" else "pairs/s"
            for threads in (1, 4):
                # short rounds, daemons taking turns, median per daemon: the host's noise hits all alike
                samples = [[calls_per_second(d.uri, op, threads, seconds) for d in daemons] for _ in range(repeat)]
                add(f"{name}, {threads} thread{'s' if threads > 1 else ''} ({unit})",
                    [statistics.median(col) for col in zip(*samples)], True)
        add(f"lifecycle event latency, median of {rounds} (ms)", [event_latency_ms(d.uri, rounds) for d in daemons],
            False)
        add("daemon RSS, idle (MiB)", [d.rss_kib() / 1024 for d in daemons], False)
        holders = [define_many(d.uri, ndoms) for d in daemons]
        add(f"listAllDomains with {ndoms:,} domains (ms)",
            [list_all_ms(d.uri, ndoms, 5 if quick else 20) for d in daemons], False)
        add(f"daemon RSS with {ndoms:,} domains (MiB)", [d.rss_kib() / 1024 for d in daemons], False)
        for conn in holders:
            conn.close()
    finally:
        loop_stop = True
        for d in daemons:
            d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return [d.name for d in daemons], rows


def table(names: list[str], rows: list[Row]) -> str:
    """Markdown; ratio = pyvirtd against libvirtd, > 1 means pyvirtd is better (faster, or smaller)."""
    out = [f"| benchmark | {' | '.join(names)} | ratio |", "|---" + "|---:" * (len(names) + 1) + "|"]
    for name, vals, higher in rows:
        ref, ours = vals[0], vals[1]
        ratio = (ours / ref if higher else ref / ours) if ref and ours else float("nan")
        fmt = "{:,.0f}" if higher else "{:,.2f}"
        out.append(f"| {name} | {' | '.join(fmt.format(v) for v in vals)} | {ratio:.2f} |")
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short smoke run (fewer domains, shorter rounds)")
    ap.add_argument("--write", metavar="FILE", help="also write the table to FILE")
    ap.add_argument("--baseline", metavar="COMMIT",
                    help="also run pyvirtd as it was at COMMIT (git archive), for before/after in one run")
    args = ap.parse_args()
    text = table(*run(args.quick, args.baseline))
    print(text)
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
