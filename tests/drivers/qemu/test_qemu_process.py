"""Real QEMU (TCG) processes: boot, console, ACPI shutdown, destroy, failures, re-attach."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pyvirt import constants as c
from pyvirt.conf.domain import DomainDef
from pyvirt.drivers.qemu.command import build_command, prepare_live
from pyvirt.drivers.qemu.process import Paths, QemuVM
from pyvirt.errors import LibvirtError


@pytest.fixture(autouse=True)
def no_loop_errors() -> Any:
    """No asyncio complaints from the monitor loop (a task destroyed while pending, ...)."""
    import gc
    from pyvirt.drivers.qemu import monitor
    before = len(monitor.loop_errors())
    yield
    gc.collect()
    assert monitor.loop_errors()[before:] == []


def guest_xml(guest: Any, name: str, console: Path, extra: str = "") -> str:
    return f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory>
<os><type>hvm</type><kernel>{guest.kernel}</kernel><initrd>{guest.initrd}</initrd>
<cmdline>{guest.cmdline}</cmdline></os><features><acpi/></features>
<devices><serial type='file'><source path='{console}'/></serial><memballoon model='virtio'/>{extra}</devices></domain>"""


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[int, int]] = []
        self.cond = threading.Condition()

    def __call__(self, event: int, detail: int) -> None:
        with self.cond:
            self.items.append((event, detail))
            self.cond.notify_all()

    def wait_for(self, event: int, timeout: float = 60.0) -> tuple[int, int]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for item in self.items:
                    if item[0] == event:
                        return item
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no event {event} in {self.items}")
                self.cond.wait(left)


def start_vm(tmp_path: Path, xml: str, paused: bool = False) -> tuple[QemuVM, Events, Paths]:
    defn = DomainDef.parse(xml)
    live = prepare_live(defn)
    paths = Paths(tmp_path / "root", defn.name)
    events = Events()
    vm = QemuVM(live, paths, on_lifecycle=events)
    vm.start(build_command(live, monitor_path=str(paths.monitor)), paused=paused)
    return vm, events, paths


def wait_console(path: Path, line: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        if line in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{line!r} never appeared on the console: {text[-500:]!r}")


def assert_gone(vm: QemuVM, paths: Paths) -> None:
    assert not vm.alive()
    assert not Path(f"/proc/{vm.pid}").exists(), "QEMU left a zombie or is still running"
    assert not paths.monitor.exists()
    assert not paths.status.exists()


def test_boot_console_and_acpi_shutdown(guest: Any, tmp_path: Path) -> None:
    console = tmp_path / "console.log"
    vm, events, paths = start_vm(tmp_path, guest_xml(guest, "boot", console))
    try:
        assert events.wait_for(c.VIR_DOMAIN_EVENT_STARTED) == (c.VIR_DOMAIN_EVENT_STARTED,
                                                               c.VIR_DOMAIN_EVENT_STARTED_BOOTED)
        assert paths.status.exists() and str(vm.pid) in paths.status.read_text()
        wait_console(console, guest.ready_line)
        vm.suspend()
        assert vm.query_state() == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)
        vm.resume()
        assert vm.query_state() == (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_UNPAUSED)
        assert len(vm.vcpu_info()) == 1
        assert 0 < vm.balloon_kib() <= 128 * 1024
        vm.shutdown()
        assert vm.wait(30)
        assert events.wait_for(c.VIR_DOMAIN_EVENT_STOPPED) == (c.VIR_DOMAIN_EVENT_STOPPED,
                                                               c.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)
        assert (c.VIR_DOMAIN_EVENT_SUSPENDED, c.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED) in events.items
        assert (c.VIR_DOMAIN_EVENT_RESUMED, c.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED) in events.items
        assert events.wait_for(c.VIR_DOMAIN_EVENT_SHUTDOWN)[1] == c.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST
        assert (vm.state, vm.reason) == (c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_SHUTDOWN)
        assert_gone(vm, paths)
    finally:
        if vm.alive():
            vm.destroy()


def test_destroy_leaves_nothing(guest: Any, tmp_path: Path) -> None:
    vm, events, paths = start_vm(tmp_path, guest_xml(guest, "gone", tmp_path / "c.log"), paused=True)
    assert vm.query_state() == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)
    assert paths.monitor.exists()
    with pytest.raises(LibvirtError) as bad:
        vm.execute("no-such-command")
    assert bad.value.get_error_code() == c.VIR_ERR_INTERNAL_ERROR
    assert "unable to execute QEMU command 'no-such-command': " in str(bad.value)
    vm.destroy()
    assert_gone(vm, paths)
    assert events.wait_for(c.VIR_DOMAIN_EVENT_STOPPED) == (c.VIR_DOMAIN_EVENT_STOPPED,
                                                           c.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)
    assert (vm.state, vm.reason) == (c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_DESTROYED)
    with pytest.raises(LibvirtError) as info:
        vm.suspend()
    assert info.value.get_error_code() == c.VIR_ERR_OPERATION_INVALID


def test_bad_argument_reports_qemu_log_tail(guest: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-disk.img"
    disk = f"<disk type='file' device='disk'><source file='{missing}'/><target dev='vda' bus='virtio'/></disk>"
    with pytest.raises(LibvirtError) as info:
        start_vm(tmp_path, guest_xml(guest, "bad", tmp_path / "c.log", disk))
    err = info.value
    assert err.get_error_code() == c.VIR_ERR_INTERNAL_ERROR
    msg = str(err)
    assert "process exited while connecting to monitor: " in msg
    assert str(missing) in msg and "No such file or directory" in msg
    run = tmp_path / "root" / "run" / "qemu"
    assert list(run.iterdir()) == []


def test_missing_emulator(guest: Any, tmp_path: Path) -> None:
    xml = guest_xml(guest, "noemu", tmp_path / "c.log", "<emulator>/nonexistent/qemu</emulator>")
    with pytest.raises(LibvirtError) as info:
        start_vm(tmp_path, xml)
    assert info.value.get_error_code() == c.VIR_ERR_INTERNAL_ERROR
    assert "/nonexistent/qemu" in str(info.value)


def test_reattach_after_restart(guest: Any, tmp_path: Path) -> None:
    vm, _events, paths = start_vm(tmp_path, guest_xml(guest, "again", tmp_path / "c.log"), paused=True)
    try:
        vm.monitor.close()  # type: ignore[union-attr]  # the old driver goes away
        # A restarted driver: a new object from the status file alone.
        events = Events()
        again = QemuVM.attach(paths, on_lifecycle=events)
        assert again is not None and again.pid == vm.pid
        assert (again.state, again.reason) == (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)
        assert again.live.name == "again" and again.live.uuid == vm.live.uuid
        assert "<alias name='balloon0'/>" in again.live.to_xml()
        again.resume()
        assert again.query_state()[0] == c.VIR_DOMAIN_RUNNING
        again.destroy()
        assert events.wait_for(c.VIR_DOMAIN_EVENT_STOPPED)[1] == c.VIR_DOMAIN_EVENT_STOPPED_DESTROYED
        assert not paths.status.exists() and not paths.monitor.exists()
        assert vm.wait(5)
    finally:
        if vm.alive():
            vm.destroy()
    assert QemuVM.attach(paths) is None


def test_stale_status_is_dropped(tmp_path: Path) -> None:
    paths = Paths(tmp_path, "stale")
    paths.run_dir.mkdir(parents=True)
    paths.status.write_text("<domstatus pid='999999999'><monitor path='/nonexistent'/>"
                            "<domain type='qemu'><name>stale</name><memory>1024</memory>"
                            "<os><type>hvm</type></os></domain></domstatus>")
    assert QemuVM.attach(paths) is None
    assert not paths.status.exists()
    assert os.listdir(paths.run_dir) == []


def test_qemu_killed_from_outside_is_a_crash(guest: Any, tmp_path: Path) -> None:
    vm, events, paths = start_vm(tmp_path, guest_xml(guest, "crash", tmp_path / "c.log"), paused=True)
    os.kill(vm.pid, 9)
    assert events.wait_for(c.VIR_DOMAIN_EVENT_STOPPED) == (c.VIR_DOMAIN_EVENT_STOPPED,
                                                           c.VIR_DOMAIN_EVENT_STOPPED_FAILED)
    assert vm.wait(10)
    assert (vm.state, vm.reason) == (c.VIR_DOMAIN_SHUTOFF, c.VIR_DOMAIN_SHUTOFF_CRASHED)
    assert_gone(vm, paths)


@pytest.mark.parametrize("status,running,expected", [
    ("running", True, (c.VIR_DOMAIN_RUNNING, c.VIR_DOMAIN_RUNNING_UNPAUSED)),
    ("paused", False, (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)),
    ("prelaunch", False, (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_USER)),
    ("shutdown", False, (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_SHUTTING_DOWN)),
    ("io-error", False, (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_IOERROR)),
    ("inmigrate", False, (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_MIGRATION)),
    ("guest-panicked", False, (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_CRASHED)),
    ("watchdog", False, (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_WATCHDOG)),
    ("something-new", False, (c.VIR_DOMAIN_PAUSED, c.VIR_DOMAIN_PAUSED_UNKNOWN)),
])
def test_query_status_mapping(status: str, running: bool, expected: tuple[int, int]) -> None:
    from pyvirt.drivers.qemu.process import status_to_state
    assert status_to_state(status, running) == expected


def test_pty_serial_path_in_live_xml(guest: Any, tmp_path: Path) -> None:
    xml = guest_xml(guest, "pty", tmp_path / "c.log").replace(
        f"<serial type='file'><source path='{tmp_path / 'c.log'}'/></serial>",
        "<serial type='pty'/><console type='pty'/>")
    vm, _events, paths = start_vm(tmp_path, xml, paused=True)
    try:
        serial = vm.live.serials[0]
        assert serial.source_path is not None and serial.source_path.startswith("/dev/pts/")
        assert os.path.exists(serial.source_path)
        assert f'<source path="{serial.source_path}"/>' in paths.status.read_text()
    finally:
        vm.destroy()


def test_bad_option_leaves_nothing_and_reports_qemu(guest: Any, tmp_path: Path) -> None:
    defn = DomainDef.parse(guest_xml(guest, "badopt", tmp_path / "c.log"))
    live = prepare_live(defn)
    paths = Paths(tmp_path / "root", "badopt")
    events = Events()
    vm = QemuVM(live, paths, on_lifecycle=events)
    cmd = build_command(live, monitor_path=str(paths.monitor))
    cmd.argv.append("-no-such-option")
    with pytest.raises(LibvirtError) as info:
        vm.start(cmd)
    assert info.value.get_error_code() == c.VIR_ERR_INTERNAL_ERROR
    assert "process exited while connecting to monitor: " in str(info.value)
    assert "-no-such-option" in str(info.value)  # QEMU's own complaint, from its log
    assert_gone(vm, paths)
    assert events.items == []  # a start that failed never started
