"""Robustness: many guests at once, QEMUs that fail to start, and no asyncio leftovers."""

from __future__ import annotations

import gc
import os
import socket
import threading
from pathlib import Path
from typing import Any

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.drivers.qemu import monitor
from pyvirt.errors import LibvirtError

N_PARALLEL = 20


def xml(guest: Any, name: str, devices: str = "", kernel: str | None = None) -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>
<os><type>hvm</type><kernel>{kernel or guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><devices><memballoon model='none'/>{devices}</devices></domain>"""


@pytest.fixture(autouse=True)
def no_loop_errors() -> Any:
    before = len(monitor.loop_errors())
    yield
    gc.collect()
    assert monitor.loop_errors()[before:] == []


@pytest.fixture(autouse=True)
def _qemu_before() -> None:
    """QEMU children from earlier tests of this worker do not count."""
    global _BEFORE
    _BEFORE = set(qemu_children())


_BEFORE: set[int] = set()


def qemu_children() -> list[int]:
    """Our QEMU children, zombies included."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if int(fields[1]) == os.getpid() and b"qemu" in stat[:stat.rfind(b")")]:
            out.append(int(entry))
    return [pid for pid in out if pid not in _BEFORE]


def test_twenty_guests_in_parallel(guest: Any, tmp_path: Path) -> None:
    uri = f"qemu:///embed?root={tmp_path / 'root'}"
    errors: list[str] = []
    refs: list[Any] = []
    conns: list[Any] = []
    lock = threading.Lock()
    barrier = threading.Barrier(N_PARALLEL)

    def run(i: int) -> None:
        conn = pyvirt.open(uri)
        with lock:
            conns.append(conn)
        barrier.wait()
        try:
            dom = conn.create_xml(xml(guest, f"par{i}"), c.VIR_DOMAIN_START_PAUSED)
            with lock:
                refs.append(dom)
        except LibvirtError as exc:
            with lock:
                errors.append(f"par{i}: {exc}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(N_PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    try:
        assert errors == []
        assert len(refs) == N_PARALLEL
        assert len(set(d.id() for d in refs)) == N_PARALLEL
        for dom in refs:
            assert tuple(dom.state()) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)
    finally:
        for dom in refs:
            dom.destroy()
        for conn in conns:
            conn.close()
    assert list((tmp_path / "root" / "run" / "qemu").iterdir()) == []
    assert qemu_children() == []


def _start_fails(tmp_path: Path, domain_xml: str) -> str:
    root = tmp_path / "root"
    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        with pytest.raises(LibvirtError) as info:
            conn.create_xml(domain_xml, 0)
        assert conn.list_all_domains() == []
    assert list((root / "run" / "qemu").iterdir()) == []  # no socket, no status file
    assert qemu_children() == []  # reaped: no zombie
    return str(info.value)


def test_missing_kernel_fails_cleanly_with_qemu_log(guest: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-kernel"
    msg = _start_fails(tmp_path, xml(guest, "nokernel", kernel=str(missing)))
    assert "process exited while connecting to monitor" in msg
    assert str(missing) in msg  # QEMU's own words from its log


def test_port_in_use_fails_cleanly_with_qemu_log(guest: Any, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        gfx = f"<graphics type='vnc' port='{port}' autoport='no' listen='127.0.0.1'/>"
        msg = _start_fails(tmp_path, xml(guest, "busy", gfx))
    assert "Address already in use" in msg


def test_started_guest_then_failed_one_share_a_root(guest: Any, tmp_path: Path) -> None:
    """A failed start leaves the other guests of the root and its state alone."""
    root = tmp_path / "root"
    with pyvirt.open(f"qemu:///embed?root={root}") as conn:
        good = conn.create_xml(xml(guest, "good"), c.VIR_DOMAIN_START_PAUSED)
        with pytest.raises(LibvirtError):
            conn.create_xml(xml(guest, "bad", kernel=str(tmp_path / "none")), 0)
        assert [d.name() for d in conn.list_all_domains()] == ["good"]
        assert sorted(p.name for p in (root / "run" / "qemu").iterdir()) == ["good.monitor", "good.xml"]
        good.destroy()
    assert qemu_children() == []
