"""Random (seeded) operation sequences give the same results and events on libvirt and pyvirt."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from pyvirt import constants as c

import testdrv_harness as h

pytestmark = pytest.mark.skipif(h.libvirt is None, reason="libvirt-python is not installed")

D1 = ("<domain type='test'><name>d1</name><uuid>00000000-0000-4000-8000-0000000000d1</uuid>"
      "<memory>524288</memory><vcpu>2</vcpu><os><type>hvm</type></os>"
      "<devices><interface type='network'><mac address='52:54:00:00:00:d1'/><source network='default'/>"
      "</interface></devices></domain>")
T1 = D1.replace("d1", "t1")


def _ops(rng: random.Random, tmp: Path) -> list[tuple[Any, ...]]:
    names = ["test", "d1", "t1"]
    steps: list[tuple[Any, ...]] = []
    for i in range(40):
        n = rng.choice(names)
        kind = rng.randrange(22)
        steps.append([
            ("start", n), ("destroy", n), ("shutdown", n), ("reboot", n), ("suspend", n), ("resume", n),
            ("define", D1), ("create_xml", T1), ("undefine", n), ("undefine", n, 1), ("managed_save", n),
            ("save", n, str(tmp / f"img{i}")), ("restore", str(tmp / f"img{max(i - 1, 0)}")),
            ("snap_create", n, f"<domainsnapshot><name>s{i}</name></domainsnapshot>"),
            ("snap_revert", n, f"s{rng.randrange(max(i, 1))}", rng.choice([0, 1, 2])),
            ("set_mem", n, rng.choice([100000, 300000, 600000]), rng.choice([0, 1, 2, 4])),
            ("set_vcpus", n, rng.choice([1, 2, 3]), rng.choice([0, 1, 2])),
            ("rename", n, rng.choice(["d1", "r1"])), ("set_time", n, 5, 6),
            ("snap_delete", n, f"s{rng.randrange(max(i, 1))}", rng.choice([0, 1, 4])),
            ("ms_remove", n), ("core_dump", n, str(tmp / "core"), rng.choice([0, 1])),
        ][kind])
        steps += [("list_all",), ("state", n), ("info", n), ("xml", n), ("xml", n, 2), ("snap_names", n),
                  ("has_ms", n), ("active", n), ("vcpus_flags", n, 0)]
    return steps


@pytest.mark.parametrize("seed", range(80))
def test_random_sequences(seed: int, tmp_path: Path) -> None:
    steps = _ops(random.Random(seed), tmp_path)
    real = h.run_real("test:///default", steps)
    for f in tmp_path.iterdir():
        f.unlink()
    mine = h.run_py("test:///default", steps)
    for step, r, m in zip(steps, real, mine):
        assert m == r, f"seed {seed} step {step!r}"


@pytest.mark.parametrize("seed", range(12))
def test_random_sequences_events(seed: int, tmp_path: Path) -> None:
    steps = [s for s in _ops(random.Random(100 + seed), tmp_path) if s[0] not in ("list_all", "state", "info", "xml", "snap_names", "has_ms", "active", "vcpus_flags")]
    real = h.events_real("test:///default", steps)
    for f in tmp_path.iterdir():
        f.unlink()
    mine = h.events_py("test:///default", steps)
    assert mine == real
    assert c.VIR_DOMAIN_EVENT_ID_LIFECYCLE == 0


NETX = ("<network><name>{n}</name><uuid>00000000-0000-4000-8000-0000000000{u}</uuid><bridge name='br{u}'/>"
        "<ip address='10.0.{i}.1' prefix='24'/></network>")
POOLX = ("<pool type='dir'><name>{n}</name><uuid>00000000-0000-4000-8000-0000000000{u}</uuid>"
         "<target><path>/pools/{n}</path></target></pool>")


def _obj_ops(rng: random.Random) -> list[tuple[Any, ...]]:
    nets, pools = ["default", "n1", "n2"], ["default-pool", "p1"]
    steps: list[tuple[Any, ...]] = []
    for i in range(40):
        net, pool = rng.choice(nets), rng.choice(pools)
        vol = rng.choice(["v1", "v2"])
        steps.append(rng.choice([
            ("net_define", NETX.format(n="n1", u="a1", i=1)), ("net_create_xml", NETX.format(n="n2", u="a2", i=2)),
            ("net_start", net), ("net_destroy", net), ("net_undefine", net), ("net_autostart", net, rng.randrange(2)),
            ("pool_define", POOLX.format(n="p1", u="b1")), ("pool_start", pool), ("pool_destroy", pool),
            ("pool_undefine", pool), ("pool_build", pool), ("pool_refresh", pool), ("pool_delete", pool),
            ("pool_autostart", pool, rng.randrange(2)),
            ("vol_create", pool, f"<volume><name>{vol}</name><capacity>{rng.randrange(1, 9) * 1000}</capacity>"
                                 f"<allocation>{rng.randrange(0, 9) * 100}</allocation></volume>"),
            ("vol_delete", pool, vol), ("if_begin",), ("if_commit",), ("if_rollback",), ("if_start", "eth1"),
            ("if_stop", "eth1"), ("dev_create", "<device><parent>scsi_host1</parent><capability type='scsi_host'>"
                                  "<capability type='fc_host'><wwnn>2000000012341111</wwnn><wwpn>1000000012341111"
                                  "</wwpn></capability></capability></device>"), ("dev_destroy", "scsi_host12"),
        ]))
        steps += [("net_list",), ("net_state", net), ("pool_list",), ("pool_info", pool), ("pool_state", pool),
                  ("vol_list", pool), ("if_list",), ("if_names",), ("dev_list",)]
    return steps


@pytest.mark.parametrize("seed", range(40))
def test_random_object_sequences(seed: int) -> None:
    steps = _obj_ops(random.Random(1000 + seed))
    real = h.run_real("test:///default", steps)
    mine = h.run_py("test:///default", steps)
    for step, r, m in zip(steps, real, mine):
        assert m == r, f"seed {seed} step {step!r}"


def _config_ops(rng: random.Random) -> list[tuple[Any, ...]]:
    steps: list[tuple[Any, ...]] = [("define", D1.replace("<vcpu>2</vcpu>", "<vcpu current='2'>4</vcpu>"))]
    for i in range(40):
        n = rng.choice(["test", "d1"])
        f = rng.choice([0, 1, 2, 3])
        steps.append(rng.choice([
            ("start", n), ("destroy", n), ("suspend", n),
            ("set_meta", n, rng.randrange(3), rng.choice(["", f"v{i}", "<e a='1'/>"]), "k", "http://x/y", f),
            ("get_meta", n, rng.randrange(3), "http://x/y", f),
            ("set_vcpus", n, rng.randrange(1, 6), f | rng.choice([0, 4])), ("vcpus_flags", n, f | rng.choice([0, 4])),
            ("set_mem", n, rng.choice([200000, 400000, 900000]), f | rng.choice([0, 4])),
            ("add_iothread", n, rng.randrange(1, 4), f), ("del_iothread", n, rng.randrange(1, 4), f),
            ("iothreads", n, f), ("set_lifecycle", n, rng.randrange(3), rng.randrange(6), f),
            ("pin_vcpu", n, rng.randrange(3), tuple(rng.random() < 0.5 for _ in range(4))),
            ("vcpu_pin_info", n, f), ("set_perf", n, {"cmt": rng.random() < 0.5}, f), ("perf", n, f),
            ("set_autostart", n, rng.randrange(2)), ("shutdown", n), ("reboot", n),
            ("snap_create", n, f"<domainsnapshot><name>c{i}</name></domainsnapshot>"),
            ("snap_revert", n, f"c{rng.randrange(max(i, 1))}", rng.choice([0, 1, 2])),
        ]))
        steps += [("xml", n), ("xml", n, 2), ("state", n), ("info", n)]
    return steps


@pytest.mark.parametrize("seed", range(40))
def test_random_config_sequences(seed: int) -> None:
    steps = _config_ops(random.Random(5000 + seed))
    real = h.run_real("test:///default", steps)
    mine = h.run_py("test:///default", steps)
    for step, r, m in zip(steps, real, mine):
        assert m == r, f"seed {seed} step {step!r}"
