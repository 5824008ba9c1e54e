"""domstats and the event commands (event, net-event)."""
from __future__ import annotations

import time
from typing import Any, Callable

from .domain_more import typed_value
from .network import lookup_network
from .options import Cmd, CmdError, command
from .shell import Ctl
from .util import lookup_domain, opt_domain

_STATS = ["state", "cpu-total", "balloon", "vcpu", "interface", "block", "perf", "iothread",
          "memory", "dirtyrate", "vm"]
_LIST = ["active", "inactive", "persistent", "transient", "running", "paused", "shutoff",
         "other"]


@command("domstats")
def cmd_domstats(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    stats = 0
    for name in _STATS:
        if cmd.bool(name):
            stats |= getattr(lv, "VIR_DOMAIN_STATS_" + name.upper().replace("-", "_"))
    flags = 0
    for name in _LIST:
        if cmd.bool(f"list-{name}"):
            flags |= getattr(lv, f"VIR_CONNECT_GET_ALL_DOMAINS_STATS_{name.upper()}")
    for opt, flag in [("enforce", "ENFORCE_STATS"), ("backing", "BACKING"),
                      ("nowait", "NOWAIT")]:
        if cmd.bool(opt):
            flags |= getattr(lv, f"VIR_CONNECT_GET_ALL_DOMAINS_STATS_{flag}")
    if cmd.has("domain"):
        doms = [lookup_domain(ctl, n) for n in cmd.argv("domain")]
        records = ctl.conn.domainListGetStats(doms, stats, flags)
    else:
        records = ctl.conn.getAllDomainStats(stats, flags)
    blocks = []
    for dom, params in records:
        text = f"Domain: '{dom.name()}'\n"
        text += "".join(f"  {k}={typed_value(v)}\n" for k, v in params.items())
        blocks.append(text)
    ctl.print("\n".join(blocks))
    return True


LIFECYCLE = ["Defined", "Undefined", "Started", "Suspended", "Resumed", "Stopped", "Shutdown",
             "PMSuspended", "Crashed"]
DETAILS = [
    ["Added", "Updated", "Renamed", "Snapshot"],
    ["Removed", "Renamed"],
    ["Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"],
    ["Paused", "Migrated", "I/O Error", "Watchdog", "Restored", "Snapshot", "API error",
     "Post-copy", "Post-copy Error"],
    ["Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"],
    ["Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"],
    ["Finished", "Finished after guest request", "Finished after host request"],
    ["Memory", "Disk"],
    ["Panicked", "Crashloaded"],
]
DOMAIN_EVENTS = ["lifecycle", "reboot", "rtc-change", "watchdog", "io-error", "graphics",
                 "io-error-reason", "control-error", "block-job", "disk-change", "tray-change",
                 "pm-wakeup", "pm-suspend", "balloon-change", "pm-suspend-disk",
                 "device-removed", "block-job-2", "tunable", "agent-lifecycle",
                 "device-added", "migration-iteration", "job-completed",
                 "device-removal-failed", "metadata-change", "block-threshold",
                 "memory-failure", "memory-device-size-change"]


def _lookup(table: list[str], i: int) -> str:
    return table[i] if 0 <= i < len(table) else "unknown"


class _Waiter:
    """Counts printed events and ends the wait (vshEventStart/Wait/Done)."""

    def __init__(self, ctl: Ctl, loop: bool, timestamp: bool) -> None:
        self.ctl = ctl
        self.loop = loop
        self.timestamp = timestamp
        self.count = 0
        self.done = False
        self.timed_out = False

    def emit(self, msg: str) -> None:
        if not self.loop and self.count:
            return
        if self.timestamp:
            now = time.time()
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
            msg = f"{stamp}.{int(now * 1000) % 1000:03d}+0000: {msg}"
        self.ctl.print(msg)
        self.count += 1
        if not self.loop:
            self.done = True

    def wait(self, timeout_ms: int) -> str:
        lv = self.ctl.lv
        tid = -1
        if timeout_ms:
            def expire(timer: int, opaque: Any) -> None:
                self.timed_out = True
                self.done = True

            tid = lv.virEventAddTimeout(timeout_ms, expire, None)
        try:
            while not self.done:
                lv.virEventRunDefaultImpl()
        except KeyboardInterrupt:
            return "interrupted"
        finally:
            if tid >= 0 and not self.timed_out:
                lv.virEventRemoveTimeout(tid)
        return "timeout" if self.timed_out else "done"


def _timeout_ms(ctl: Ctl, cmd: Cmd) -> int:
    val = ctl.opt_uint(cmd, "timeout")
    if val is None:
        return 0
    if val > 2**31 // 1000:
        raise ctl.fail(f"Numeric value '{val}' for <timeout> option is malformed or out "
                       "of range")
    return val * 1000


def _finish(ctl: Ctl, waiter: _Waiter, outcome: str) -> bool:
    if outcome == "interrupted":
        ctl.print("event loop interrupted\n")
    elif outcome == "timeout":
        ctl.print("event loop timed out\n")
    ctl.print(f"events received: {waiter.count}\n")
    return waiter.count > 0


@command("event")
def cmd_event(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    ctl.exclusive(cmd, "all", "event")
    ctl.exclusive(cmd, "list", "all")
    ctl.exclusive(cmd, "list", "event")
    if cmd.bool("list"):
        ctl.print("".join(f"{e}\n" for e in DOMAIN_EVENTS))
        return True
    name = ctl.opt_string(cmd, "event")
    if name is None and not cmd.bool("all"):
        raise ctl.fail("one of --list, --all, or --event <type> is required")
    wanted = [i for i, e in enumerate(DOMAIN_EVENTS) if name is None or e == name]
    if not wanted:
        raise ctl.fail(f"unknown event type {name}")
    timeout = _timeout_ms(ctl, cmd)
    dom = opt_domain(ctl, cmd)[0] if cmd.has("domain") else None
    lv.virEventRegisterDefaultImpl()
    waiter = _Waiter(ctl, cmd.bool("loop"), cmd.bool("timestamp"))

    def lifecycle(conn: Any, d: Any, event: int, detail: int, opaque: Any) -> None:
        table = DETAILS[event] if 0 <= event < len(DETAILS) else []
        waiter.emit(f"event 'lifecycle' for domain '{d.name()}': {_lookup(LIFECYCLE, event)} "
                    f"{_lookup(table, detail)}\n")

    def generic_for(ev: str) -> Callable[..., None]:
        def cb(conn: Any, d: Any, *rest: Any) -> None:
            waiter.emit(f"event '{ev}' for domain '{d.name()}'\n")
        return cb

    ids = []
    for n, i in enumerate(wanted):
        cb = lifecycle if i == 0 else generic_for(DOMAIN_EVENTS[i])
        try:
            ids.append(ctl.conn.domainEventRegisterAny(dom, i, cb, None))
        except lv.libvirtError as exc:
            if n == 0:
                ctl.save_error(exc)
                return False
            ctl.reset_error()
    try:
        outcome = waiter.wait(timeout)
    finally:
        for cid in ids:
            ctl.conn.domainEventDeregisterAny(cid)
    return _finish(ctl, waiter, outcome)


NET_EVENTS = ["Defined", "Undefined", "Started", "Stopped"]


@command("net-event")
def cmd_net_event(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    if cmd.bool("list"):
        ctl.print("lifecycle\n")
        return True
    name = ctl.opt_string(cmd, "event")
    if name is None:
        raise ctl.fail("either --list or --event <type> is required")
    if name != "lifecycle":
        raise ctl.fail(f"unknown event type {name}")
    timeout = _timeout_ms(ctl, cmd)
    net = None
    if cmd.has("network"):
        # virsh reports a failed lookup but goes on listening to every network
        try:
            net = lookup_network(ctl, cmd)[0]
        except CmdError:
            net = None
    lv.virEventRegisterDefaultImpl()
    waiter = _Waiter(ctl, cmd.bool("loop"), cmd.bool("timestamp"))

    def lifecycle(conn: Any, n: Any, event: int, detail: int, opaque: Any) -> None:
        waiter.emit(f"event 'lifecycle' for network {n.name()}: "
                    f"{_lookup(NET_EVENTS, event)}\n")

    with ctl.failing():
        cid = ctl.conn.networkEventRegisterAny(net, lv.VIR_NETWORK_EVENT_ID_LIFECYCLE,
                                               lifecycle, None)
    try:
        outcome = waiter.wait(timeout)
    finally:
        ctl.conn.networkEventDeregisterAny(cid)
    return _finish(ctl, waiter, outcome)
