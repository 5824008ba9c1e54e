"""QMP events -> libvirt states, reasons and events, with the real guest doing the real thing.

Each expectation was checked against libvirt 9.0's own QEMU driver with the same guest
(``qemu:///embed``, see docs/drivers/qemu-events.md): guest power-off, reboot and RTC
writes, an ENOSPC write with QEMU's default ``werror=enospc``, a kernel panic through
the ISA pvpanic device with each ``<on_crash>`` action, S3 suspend and wake-up.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from pyvirt import constants as c
from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.qemu import monitor
from pyvirt.drivers.qemu.command import build_command, prepare_live
from pyvirt.drivers.qemu.process import Paths, QemuVM

from events_guest_console import Console, serial_xml

LIFE = "life"


class Recorder:
    """Lifecycle and other domain events, in the order the VM raised them."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []
        self.cond = threading.Condition()

    def life(self, event: int, detail: int) -> None:
        self._add((LIFE, event, detail))

    def dom(self, event_id: int, *args: Any) -> None:
        self._add((event_id, *args))

    def _add(self, item: tuple[Any, ...]) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait(self, pred: Callable[[list[tuple[Any, ...]]], bool], timeout: float = 120.0) -> list[tuple[Any, ...]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self.items):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"events never matched: {self.items}")
                self.cond.wait(left)
            return list(self.items)

    def wait_item(self, item: tuple[Any, ...], timeout: float = 120.0) -> list[tuple[Any, ...]]:
        return self.wait(lambda items: item in items, timeout)


def guest_xml(guest: Any, name: str, console: Path, extra: str = "", on_crash: str = "destroy",
              on_reboot: str = "restart") -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<on_reboot>{on_reboot}</on_reboot><on_crash>{on_crash}</on_crash>
<devices>{serial_xml(console)}<memballoon model='none'/>{extra}</devices></domain>"""


def start(tmp_path: Path, xml: str, *, argv_extra: list[str] | None = None,
          wrap: Callable[[list[str]], list[str]] | None = None, paused: bool = False
          ) -> tuple[QemuVM, Recorder, Paths]:
    defn = DomainDef.parse(xml)
    live = prepare_live(defn)
    paths = Paths(tmp_path / "root", defn.name)
    rec = Recorder()
    vm = QemuVM(live, paths, on_lifecycle=rec.life, on_domain_event=rec.dom)
    cmd = build_command(live, monitor_path=str(paths.monitor))
    cmd.argv += argv_extra or []
    if wrap is not None:
        cmd.argv = wrap(cmd.argv)
    vm.start(cmd, paused=paused)
    return vm, rec, paths


@pytest.fixture(autouse=True)
def no_loop_errors() -> Any:
    """No asyncio complaints (a task destroyed while pending, an error never retrieved)."""
    import gc
    before = len(monitor.loop_errors())
    yield
    gc.collect()
    assert monitor.loop_errors()[before:] == []


def boot(tmp_path: Path, guest: Any, name: str, **kw: Any) -> tuple[QemuVM, Recorder, Paths, Console]:
    sock = tmp_path / f"{name}.console"
    extra = kw.pop("extra", "")
    on_crash = kw.pop("on_crash", "destroy")
    on_reboot = kw.pop("on_reboot", "restart")
    vm, rec, paths = start(tmp_path, guest_xml(guest, name, sock, extra, on_crash, on_reboot), **kw)
    con = Console(sock)
    con.wait_for(guest.ready_line)
    return vm, rec, paths, con


def test_guest_rtc_reboot_suspend_and_poweroff(guest: Any, tmp_path: Path) -> None:
    vm, rec, paths, con = boot(tmp_path, guest, "power")
    try:
        con.send("date -s '2030-01-01 00:00:00' && hwclock -w -u")
        items = rec.wait(lambda it: any(i[0] == c.VIR_DOMAIN_EVENT_ID_RTC_CHANGE for i in it))
        offset = next(i[1] for i in items if i[0] == c.VIR_DOMAIN_EVENT_ID_RTC_CHANGE)
        # 2030-01-01 is this far ahead of now (a minute's slack for a slow guest)
        expected = int(time.mktime(time.strptime("2030-01-01", "%Y-%m-%d")) - time.time())
        assert abs(offset - (expected - time.timezone)) < 120 or abs(offset - expected) < 120, offset

        con.send("reboot -f")
        rec.wait_item((c.VIR_DOMAIN_EVENT_ID_REBOOT,))
        con.wait_for(guest.ready_line, count=2)
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_BOOTED)

        # suspend to RAM (ACPI S3), woken up by the host (QMP system_wakeup, virsh dompmwakeup)
        con.send("echo mem > /sys/power/state")
        rec.wait_item((LIFE, c.VIR_DOMAIN_EVENT_PMSUSPENDED, c.VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY))
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_PMSUSPENDED, c.VIR_DOMAIN_PMSUSPENDED_UNKNOWN)
        vm.execute("system_wakeup")
        items = rec.wait_item((LIFE, c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_WAKEUP))
        assert items[-4:] == [(c.VIR_DOMAIN_EVENT_ID_PMSUSPEND, 0),
                              (LIFE, c.VIR_DOMAIN_EVENT_PMSUSPENDED, c.VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY),
                              (c.VIR_DOMAIN_EVENT_ID_PMWAKEUP, 0),
                              (LIFE, c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_WAKEUP)]
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_WAKEUP)
        # the serial port is re-initialised on resume and may drop what is typed meanwhile
        for _ in range(12):
            con.send("echo AWAKE$((6*7))")
            try:
                con.wait_for("AWAKE42", timeout=10)
                break
            except AssertionError:
                continue

        con.send("poweroff -f")
        items = rec.wait_item((LIFE, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN))
        life = [i for i in items if i[0] == LIFE]
        assert life == [(LIFE, c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_BOOTED),
                        (LIFE, c.VIR_DOMAIN_EVENT_PMSUSPENDED, c.VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY),
                        (LIFE, c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_WAKEUP),
                        (LIFE, c.VIR_DOMAIN_EVENT_SHUTDOWN, c.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST),
                        (LIFE, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)]
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_SHUTDOWN)
        assert vm.wait(30) and not paths.status.exists() and not paths.monitor.exists()
        assert not Path(f"/proc/{vm.pid}").exists()
    finally:
        con.close()
        if vm.alive():
            vm.destroy()


def test_guest_reboot_with_on_reboot_destroy(guest: Any, tmp_path: Path) -> None:
    vm, rec, _paths, con = boot(tmp_path, guest, "noreboot", on_reboot="destroy")
    try:
        con.send("reboot -f")
        items = rec.wait_item((LIFE, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN))
        # libvirt 9.0: a reboot the guest may not do is a guest shutdown
        assert [i for i in items if i[0] == LIFE][1:] == [
            (LIFE, c.VIR_DOMAIN_EVENT_SHUTDOWN, c.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST),
            (LIFE, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)]
        assert (c.VIR_DOMAIN_EVENT_ID_REBOOT,) not in items
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_SHUTDOWN)
    finally:
        con.close()
        if vm.alive():
            vm.destroy()


def test_destroy_reports_host_shutdown_first(guest: Any, tmp_path: Path) -> None:
    vm, rec, _paths = start(tmp_path, guest_xml(guest, "kill", tmp_path / "k.sock"), paused=True)
    vm.destroy()
    life = [i for i in rec.items if i[0] == LIFE]
    # libvirt: QEMU reports the SIGTERM as a host-initiated SHUTDOWN before it exits
    assert life[-2:] == [(LIFE, c.VIR_DOMAIN_EVENT_SHUTDOWN, c.VIR_DOMAIN_EVENT_SHUTDOWN_HOST),
                         (LIFE, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)]
    assert (vm.state, vm.reason) == (c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_DESTROYED)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="needs root and unshare(1) for a private 1 MiB tmpfs")
def test_enospc_pauses_with_io_error(guest: Any, tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    image = small / "disk.img"
    disk = (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
            f"<source file='{image}'/><target dev='vda' bus='virtio'/></disk>")

    def in_tiny_fs(argv: list[str]) -> list[str]:
        # QEMU alone sees a 1 MiB tmpfs (its own mount namespace) holding an 8 MiB sparse image
        script = 'mount -t tmpfs -o size=1m tmpfs "$0" && truncate -s 8M "$0/disk.img" && exec "$@"'
        return ["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(small), *argv]

    vm, rec, _paths, con = boot(tmp_path, guest, "ioerr", extra=disk, wrap=in_tiny_fs)
    try:
        con.send("dd if=/dev/zero of=/dev/vda bs=64k count=64 oflag=direct")
        items = rec.wait_item((LIFE, c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR))
        alias = "virtio-disk0"
        pause = c.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE
        first = items.index((c.VIR_DOMAIN_EVENT_ID_IO_ERROR, str(image), alias, pause))
        assert items[first + 1] == (c.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON, str(image), alias, pause, "enospc")
        assert items.index((LIFE, c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR)) > first
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_IOERROR)
        assert vm.query_state() == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_IOERROR)
        assert "state-num='3' reason-num='5'" in _paths.status.read_text().replace('"', "'")
    finally:
        con.close()
        vm.destroy()


PANIC = "<panic model='isa'/>"  # the ISA pvpanic device (-device pvpanic), which the guest's driver uses


def test_panic_restart_then_destroy(guest: Any, tmp_path: Path) -> None:
    vm, rec, _paths, con = boot(tmp_path, guest, "crash", on_crash="restart", extra=PANIC)
    try:
        con.send("echo c > /proc/sysrq-trigger")
        items = rec.wait(lambda it: (LIFE, c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED) in it)
        life = [i for i in items if i[0] == LIFE][1:]
        assert life == [(LIFE, c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
                        (LIFE, c.VIR_DOMAIN_EVENT_CRASHED, c.VIR_DOMAIN_EVENT_CRASHED_PANICKED),
                        (LIFE, c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)]
        assert (c.VIR_DOMAIN_EVENT_ID_REBOOT,) in items
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_CRASHED)
        con.wait_for(guest.ready_line, count=2)  # the guest was reset and booted again

        vm.live.on_crash = "destroy"
        con.send("echo c > /proc/sysrq-trigger")
        items = rec.wait_item((LIFE, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_CRASHED))
        assert [i for i in items if i[0] == LIFE][-3:] == [
            (LIFE, c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
            (LIFE, c.VIR_DOMAIN_EVENT_CRASHED, c.VIR_DOMAIN_EVENT_CRASHED_PANICKED),
            (LIFE, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_CRASHED)]
        assert vm.wait(30)
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_CRASHED)
    finally:
        con.close()
        if vm.alive():
            vm.destroy()


def test_panic_preserve_keeps_the_guest(guest: Any, tmp_path: Path) -> None:
    vm, rec, _paths, con = boot(tmp_path, guest, "keep", on_crash="preserve", extra=PANIC)
    try:
        con.send("echo c > /proc/sysrq-trigger")
        rec.wait_item((LIFE, c.VIR_DOMAIN_EVENT_CRASHED, c.VIR_DOMAIN_EVENT_CRASHED_PANICKED))
        assert vm.alive()
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_CRASHED, c.VIR_DOMAIN_CRASHED_PANICKED)
        assert vm.query_state() == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_CRASHED)
        vm.destroy()
        assert rec.items[-1] == (LIFE, c.VIR_DOMAIN_EVENT_STOPPED, c.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
    finally:
        con.close()
        if vm.alive():
            vm.destroy()


def test_tray_moved(guest: Any, tmp_path: Path) -> None:
    cdrom = "<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>"
    vm, rec, _paths = start(tmp_path, guest_xml(guest, "tray", tmp_path / "t.sock", cdrom), paused=True)
    try:
        vm.execute("blockdev-open-tray", {"id": "ide0-1-0"})
        rec.wait_item((c.VIR_DOMAIN_EVENT_ID_TRAY_CHANGE, "ide0-1-0", c.VIR_DOMAIN_EVENT_TRAY_CHANGE_OPEN))
        assert "tray='open'" in vm.live.to_xml()
        vm.execute("blockdev-close-tray", {"id": "ide0-1-0"})
        rec.wait_item((c.VIR_DOMAIN_EVENT_ID_TRAY_CHANGE, "ide0-1-0", c.VIR_DOMAIN_EVENT_TRAY_CHANGE_CLOSE))
        assert "tray=" not in vm.live.to_xml()
    finally:
        vm.destroy()


def synthetic_vm(tmp_path: Path, guest: Any) -> tuple[QemuVM, Recorder]:
    """A QemuVM object that believes it runs (for events the test guest cannot cause)."""
    live = prepare_live(DomainDef.parse(guest_xml(guest, "synth", tmp_path / "s.sock")))
    rec = Recorder()
    vm = QemuVM(live, Paths(tmp_path / "root", "synth"), on_lifecycle=rec.life, on_domain_event=rec.dom)
    vm._starting = False
    vm.state, vm.reason = c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_BOOTED
    return vm, rec


@pytest.mark.parametrize("action,expected", [("pause", c.VIR_DOMAIN_EVENT_WATCHDOG_PAUSE),
                                             ("reset", c.VIR_DOMAIN_EVENT_WATCHDOG_RESET),
                                             ("inject-nmi", c.VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI),
                                             ("something-new", c.VIR_DOMAIN_EVENT_WATCHDOG_NONE)])
def test_watchdog_mapping(guest: Any, tmp_path: Path, action: str, expected: int) -> None:
    vm, rec = synthetic_vm(tmp_path, guest)
    vm._qmp_event("WATCHDOG", {"action": action}, 0.0)
    assert rec.items[0] == (c.VIR_DOMAIN_EVENT_ID_WATCHDOG, expected)
    if action == "pause":
        assert rec.items[1:] == [(LIFE, c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG)]
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_WATCHDOG)
    else:
        assert rec.items[1:] == [] and vm.state == c.VIR_DOMAIN_RUNNING


def test_pm_suspend_and_wakeup_mapping(guest: Any, tmp_path: Path) -> None:
    vm, rec = synthetic_vm(tmp_path, guest)
    vm._qmp_event("SUSPEND", {}, 0.0)
    assert (vm.state, vm.reason) == (c.VIR_DOMAIN_PMSUSPENDED, c.VIR_DOMAIN_PMSUSPENDED_UNKNOWN)
    vm._qmp_event("WAKEUP", {}, 0.0)
    assert (vm.state, vm.reason) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_WAKEUP)
    vm._qmp_event("SUSPEND_DISK", {}, 0.0)
    assert rec.items == [(c.VIR_DOMAIN_EVENT_ID_PMSUSPEND, 0),
                         (LIFE, c.VIR_DOMAIN_EVENT_PMSUSPENDED, c.VIR_DOMAIN_EVENT_PMSUSPENDED_MEMORY),
                         (c.VIR_DOMAIN_EVENT_ID_PMWAKEUP, 0),
                         (LIFE, c.VIR_DOMAIN_EVENT_STARTED, c.VIR_DOMAIN_EVENT_STARTED_WAKEUP),
                         (c.VIR_DOMAIN_EVENT_ID_PMSUSPEND_DISK, 0),
                         (LIFE, c.VIR_DOMAIN_EVENT_PMSUSPENDED, c.VIR_DOMAIN_EVENT_PMSUSPENDED_DISK)]


def test_stop_resume_reasons_and_balloon(guest: Any, tmp_path: Path) -> None:
    vm, rec = synthetic_vm(tmp_path, guest)
    vm._qmp_event("STOP", {}, 0.0)  # nobody asked: libvirt's "unknown" reason
    assert (vm.state, vm.reason) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_UNKNOWN)
    vm._qmp_event("RESUME", {}, 0.0)
    assert (vm.state, vm.reason) == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_UNPAUSED)
    vm._qmp_event("BALLOON_CHANGE", {"actual": 100 * 1024 * 1024 + 1}, 0.0)
    assert vm.live.current_memory == 100 * 1024 + 1  # rounded up, as libvirt
    vm._qmp_event("BLOCK_IO_ERROR", {"device": "", "node-name": "nowhere", "action": "report",
                                     "operation": "write", "reason": "x"}, 0.0)
    assert rec.items == [(LIFE, c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
                         (LIFE, c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED),
                         (c.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE, 100 * 1024 + 1),
                         (c.VIR_DOMAIN_EVENT_ID_IO_ERROR, "", "", c.VIR_DOMAIN_EVENT_IO_ERROR_REPORT),
                         (c.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON, "", "", c.VIR_DOMAIN_EVENT_IO_ERROR_REPORT, "")]
    assert vm.state == c.VIR_DOMAIN_RUNNING


def test_rtc_change_through_the_public_api(guest: Any, tmp_path: Path) -> None:
    """End to end: a guest RTC write reaches a libvirt-style callback (needs driver.py's forwarding)."""
    import pyvirt
    sock = tmp_path / "api.console"
    conn = pyvirt.open(f"qemu:///embed?root={tmp_path / 'root'}")
    got: list[tuple[str, int]] = []
    cond = threading.Condition()

    def on_rtc(_conn: Any, dom: Any, offset: int, _opaque: Any) -> None:
        with cond:
            got.append((dom.name(), offset))
            cond.notify_all()

    conn.domain_event_register_any(None, c.VIR_DOMAIN_EVENT_ID_RTC_CHANGE, on_rtc, None)
    dom = conn.create_xml(guest_xml(guest, "api", sock), 0)
    try:
        from pyvirt.drivers.qemu.driver import acquire_state, release_state
        st = acquire_state(tmp_path / "root")
        vm = st.doms["api"].vm
        release_state(st)
        if vm is None or vm.on_domain_event is None:
            pytest.skip("driver.py does not forward QemuVM.on_domain_event to its event bus yet")
        con = Console(sock)
        con.wait_for(guest.ready_line)
        con.send("date -s '2030-01-01 00:00:00' && hwclock -w -u")
        with cond:
            assert cond.wait_for(lambda: got, 120)
        assert got[0][0] == "api" and got[0][1] > 50_000_000  # 2030 is years ahead
        con.close()
    finally:
        dom.destroy()
        conn.close()
