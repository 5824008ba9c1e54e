"""pyvirt's test driver against libvirt 9.0's, scenario by scenario (same calls, same answers)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from pyvirt import constants as c

import testdrv_harness as h

pytestmark = pytest.mark.skipif(h.libvirt is None, reason="libvirt-python is not installed")

U = "test:///default"
LIVE, CONF, CUR = c.VIR_DOMAIN_AFFECT_LIVE, c.VIR_DOMAIN_AFFECT_CONFIG, 0

DOM = """<domain type='test'>
  <name>{name}</name>
  <memory>{mem}</memory>
  <vcpu{cur}>{vcpus}</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/img/{name}.img'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:11:22:{mac}'/><source network='default'/></interface>
    <interface type='bridge'><mac address='52:54:00:11:23:{mac}'/><source bridge='br0'/></interface>
  </devices>
</domain>"""


def dom(name: str = "d1", mem: int = 1048576, vcpus: int = 4, cur: int | None = None, mac: str = "01",
        uuid: str | None = None, extra: str = "") -> str:
    xml = DOM.format(name=name, mem=mem, vcpus=vcpus, cur=f" current='{cur}'" if cur else "", mac=mac)
    uuid = uuid or "00000000-0000-4000-8000-%012x" % (sum(map(ord, name)) * 7919)
    xml = xml.replace("</name>", f"</name><uuid>{uuid}</uuid>", 1)
    if extra:
        xml = xml.replace("</os>", "</os>" + extra, 1)
    return xml


NET = """<network><name>{name}</name><uuid>{uuid}</uuid><bridge name='{br}'/>
<ip address='10.{n}.0.1' netmask='255.255.255.0'><dhcp><range start='10.{n}.0.10' end='10.{n}.0.20'/></dhcp></ip>
</network>"""
POOL = "<pool type='dir'><name>{name}</name><uuid>{uuid}</uuid><target><path>/pools/{name}</path></target></pool>"
VOL = "<volume><name>{name}</name><capacity>{cap}</capacity><allocation>{alloc}</allocation></volume>"
VHBA = ("<device><parent>scsi_host1</parent><capability type='scsi_host'><capability type='fc_host'>"
        "<wwnn>2000000012341111</wwnn><wwpn>1000000012341111</wwpn></capability></capability></device>")
IFACE = ("<interface type='ethernet' name='eth9'><start mode='none'/><mac address='aa:bb:cc:00:00:09'/>"
         "<protocol family='ipv4'><dhcp/></protocol></interface>")

SCENARIOS: dict[str, list[tuple[Any, ...]]] = {
    "host": [("node_info",), ("type",), ("version",), ("max_vcpus",), ("caps",), ("sysinfo",), ("secure",),
             ("hostname",), ("free_memory",), ("cells_free", 0, 5), ("cells_free", 1, 1), ("cells_free", 2, 1),
             ("cpu_map",), ("cpu_stats",), ("free_pages", [4, 2048], 0, 2), ("cpu_models", "x86_64"),
             ("cpu_models", "nosucharch"), ("sec_model",),
             ("baseline", ["<cpu><arch>x86_64</arch><model>Haswell</model><vendor>Intel</vendor></cpu>",
                           "<cpu><arch>x86_64</arch><model>Broadwell</model><vendor>Intel</vendor></cpu>"]),
             ("baseline", ["<cpu><arch>x86_64</arch><model>SandyBridge</model><vendor>Intel</vendor>"
                           "<feature name='vmx'/></cpu>"]),
             ("baseline", ["<cpu><model>Haswell</model></cpu>"]),
             ("baseline", ["<cpu><arch>x86_64</arch><model>Haswell</model><vendor>Intel</vendor></cpu>",
                           "<cpu><arch>x86_64</arch><model>Opteron_G3</model><vendor>AMD</vendor></cpu>"]),
             ("baseline", ["<domain/>"]), ("baseline", ["garbage"]), ("baseline", [])],
    "default_domain": [("list_all",), ("list_ids",), ("list_defined",), ("num",), ("lookup", "test"),
                       ("lookup_id", 1), ("lookup_uuid", "6695eb01-f6a4-8304-79aa-97f2502e193f"),
                       ("info", "test"), ("state", "test"), ("active", "test"), ("xml", "test"),
                       ("xml", "test", c.VIR_DOMAIN_XML_INACTIVE), ("os_type", "test"), ("dom_hostname", "test"),
                       ("max_mem", "test"), ("vcpus_flags", "test", 0), ("max_vcpus_dom", "test"),
                       ("vcpus", "test"), ("vcpu_pin_info", "test"), ("emulator_pin", "test"),
                       ("sched", "test"), ("mem_stats", "test"), ("block_info", "test", "vda"),
                       ("block_info", "test", "vdz"), ("block_stats_err", "test", "vda"),
                       ("block_stats_err", "test", "vdz"), ("if_stats_err", "test", "testnet0"),
                       ("if_addrs", "test"), ("cpu_stats_dom", "test", True), ("cpu_stats_dom", "test", False),
                       ("seclabel", "test"), ("perf", "test"), ("mem_params", "test"), ("blkio", "test"),
                       ("numa", "test"), ("iothreads", "test"), ("fsinfo", "test"), ("disk_errors", "test"),
                       ("control", "test"), ("get_time", "test"), ("autostart", "test"), ("all_stats",),
                       ("has_current", "test"), ("snap_num", "test")],
    "lookups_missing": [("lookup", "nope"), ("lookup_id", 42), ("lookup_uuid", "6695eb01-f6a4-8304-79aa-97f2502e193e"),
                        ("net_xml", "nope"), ("pool_info", "nope"), ("dev_lookup", "nope"), ("if_xml", "nope"),
                        ("if_mac", "00:11:22:33:44:55"), ("vol_by_path", "/x"), ("vol_by_key", "/x"),
                        ("snap_lookup", "test", "nope"), ("snap_current", "test")],
    "lifecycle": [("destroy", "test"), ("state", "test"), ("info", "test"), ("destroy", "test"),
                  ("shutdown", "test"), ("reboot", "test"), ("suspend", "test"), ("resume", "test"),
                  ("dom_hostname", "test"), ("get_time", "test"), ("reset", "test"), ("start", "test"),
                  ("lookup", "test"), ("state", "test"), ("start", "test"), ("suspend", "test"),
                  ("state", "test"), ("suspend", "test"), ("get_time", "test"), ("resume", "test"),
                  ("resume", "test"), ("state", "test"), ("reboot", "test"), ("state", "test"),
                  ("shutdown", "test"), ("state", "test"), ("list_ids",), ("start", "test", 1),
                  ("destroy", "test", 2), ("set_time", "test", 100, 5)],
    "define_undefine": [("define", dom()), ("list_all",), ("state", "d1"), ("active", "d1"), ("xml", "d1"),
                        ("define", dom(mem=2097152)), ("info", "d1"), ("start", "d1"), ("lookup", "d1"),
                        ("info", "d1"), ("xml", "d1"), ("if_addrs", "d1"), ("define", dom(mem=524288)),
                        ("info", "d1"), ("xml", "d1", c.VIR_DOMAIN_XML_INACTIVE), ("undefine", "d1"),
                        ("active", "d1"), ("destroy", "d1"), ("lookup", "d1"), ("list_all",),
                        ("define", dom(name="test")), ("define", dom(name="d2", uuid="6695eb01-f6a4-8304-79aa-97f2502e193f")),
                        ("define", dom(), 4), ("undefine", "test", 8)],
    "transient": [("create_xml", dom(name="t1")), ("active", "t1"), ("state", "t1"), ("lookup", "t1"),
                  ("create_xml", dom(name="t1")), ("suspend", "t1"), ("state", "t1"), ("destroy", "t1"),
                  ("lookup", "t1"), ("create_xml", dom(name="t2"), 1), ("shutdown", "t2"), ("lookup", "t2"),
                  ("create_xml", dom(name="t3"), 2), ("create_xml", "<domain>"), ("define", "<domain type='test'/>"),
                  ("define", dom(name="a\nb")), ("create_xml", dom(name="a\nb")), ("lookup", "a\nb")],
    "ifnames": [("define", "<domain type='test'><name>n1</name><uuid>00000000-0000-4000-8000-0000000000e1</uuid>"
                           "<memory>1024</memory><os><type>hvm</type></os><devices>"
                           "<interface type='network'><mac address='52:54:00:00:01:01'/><source network='default'/>"
                           "<target dev='testnet1'/></interface>"
                           "<interface type='network'><mac address='52:54:00:00:01:02'/><source network='default'/>"
                           "</interface>"
                           "<interface type='network'><mac address='52:54:00:00:01:03'/><source network='default'/>"
                           "<target dev='vnet7'/></interface>"
                           "<interface type='bridge'><mac address='52:54:00:00:01:04'/><source bridge='br0'/>"
                           "<target dev='mytap'/></interface>"
                           "<interface type='user'><mac address='52:54:00:00:01:05'/></interface>"
                           "</devices></domain>"),
                ("xml", "n1"), ("start", "n1"), ("if_addrs", "n1"), ("if_stats_err", "n1", "testnet1"),
                ("if_stats_err", "n1", "52:54:00:00:01:05"), ("if_stats_err", "n1", "vnet7")],
    "create_existing": [("define", dom()), ("create_xml", dom()), ("state", "d1"), ("xml", "d1"),
                        ("destroy", "d1"), ("xml", "d1"), ("state", "d1"), ("rename", "d1", "d9"),
                        ("lookup", "d9"), ("rename", "d9", "test"), ("rename", "test", "x")],
    "memory_vcpus": [("define", dom(cur=2)), ("vcpus_flags", "d1", 0), ("vcpus_flags", "d1", c.VIR_DOMAIN_VCPU_MAXIMUM),
                     ("set_mem", "d1", 4000000, CUR), ("set_mem", "d1", 500000, CUR), ("info", "d1"),
                     ("set_mem", "d1", 500000, LIVE), ("set_mem", "d1", 300000, c.VIR_DOMAIN_MEM_MAXIMUM),
                     ("info", "d1"), ("set_mem", "d1", 1, LIVE | CONF), ("set_vcpus", "d1", 3, CUR),
                     ("set_vcpus", "d1", 9, CUR), ("set_vcpus", "d1", 40, CUR),
                     ("set_vcpus", "d1", 8, c.VIR_DOMAIN_VCPU_MAXIMUM | CONF), ("vcpus_flags", "d1", 0),
                     ("vcpus_flags", "d1", c.VIR_DOMAIN_VCPU_MAXIMUM), ("xml", "d1"), ("start", "d1"),
                     ("set_mem", "d1", 200000, LIVE), ("set_mem", "d1", 200000, c.VIR_DOMAIN_MEM_MAXIMUM),
                     ("set_mem", "d1", 250000, CONF), ("info", "d1"), ("xml", "d1"),
                     ("xml", "d1", c.VIR_DOMAIN_XML_INACTIVE), ("set_vcpus", "d1", 1, LIVE), ("vcpus", "d1"),
                     ("set_vcpus", "d1", 6, CONF), ("vcpus_flags", "d1", CONF), ("vcpus_flags", "d1", LIVE),
                     ("pin_vcpu", "d1", 0, (True, False, True)), ("vcpus", "d1"), ("vcpu_pin_info", "d1"),
                     ("pin_vcpu", "d1", 5, (True,)), ("pin_vcpu", "d1", 0, (False, True, True, True)), ("xml", "d1"),
                     ("vcpu_pin_info", "d1", CONF), ("destroy", "d1"), ("info", "d1"), ("vcpus", "d1"),
                     ("set_mem", "d1", 1, 0x10), ("create_xml", dom(name="t")),
                     ("set_mem", "t", 100, CONF)],
    "metadata": [("get_meta", "test", c.VIR_DOMAIN_METADATA_TITLE, None),
                 ("set_meta", "test", c.VIR_DOMAIN_METADATA_TITLE, "My title", None, None),
                 ("get_meta", "test", c.VIR_DOMAIN_METADATA_TITLE, None),
                 ("set_meta", "test", c.VIR_DOMAIN_METADATA_DESCRIPTION, "desc & more", None, None, CONF),
                 ("get_meta", "test", c.VIR_DOMAIN_METADATA_DESCRIPTION, None, CONF),
                 ("get_meta", "test", c.VIR_DOMAIN_METADATA_DESCRIPTION, None, LIVE),
                 ("set_meta", "test", c.VIR_DOMAIN_METADATA_ELEMENT, "<foo a='1'><bar>x</bar></foo>", "app",
                  "http://example.org/app"),
                 ("get_meta", "test", c.VIR_DOMAIN_METADATA_ELEMENT, "http://example.org/app"),
                 ("get_meta", "test", c.VIR_DOMAIN_METADATA_ELEMENT, "http://example.org/none"),
                 ("xml", "test"),
                 ("set_meta", "test", c.VIR_DOMAIN_METADATA_TITLE, "", None, None),
                 ("get_meta", "test", c.VIR_DOMAIN_METADATA_TITLE, None)],
    "save_restore": [("save", "test", "{tmp}/s.img"), ("state", "test"), ("save_xml", "{tmp}/s.img"),
                     ("save", "test", "{tmp}/s2.img"), ("restore", "{tmp}/s.img"), ("state", "test"),
                     ("lookup", "test"), ("restore", "{tmp}/s.img"), ("restore", "{tmp}/missing.img"),
                     ("managed_save", "test"), ("state", "test"), ("has_ms", "test"),
                     ("list_all", c.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE), ("undefine", "test"),
                     ("start", "test"), ("has_ms", "test"), ("managed_save", "test"), ("ms_remove", "test"),
                     ("has_ms", "test"), ("managed_save", "test"), ("undefine", "test", 1), ("list_all",),
                     ("create_xml", dom(name="t1")), ("managed_save", "t1"), ("save", "t1", "{tmp}/t1.img"),
                     ("lookup", "t1"), ("restore", "{tmp}/t1.img"), ("state", "t1"), ("active", "t1")],
    "snapshots": [("snap_create", "test", "<domainsnapshot><name>s1</name><description>d</description></domainsnapshot>"),
                  ("snap_current", "test"), ("snap_xml_nodate", "test", "s1"),
                  ("snap_create", "test", "<domainsnapshot><name>s2</name></domainsnapshot>"),
                  ("snap_parent", "test", "s2"), ("snap_parent", "test", "s1"), ("snap_children", "test", "s1"),
                  ("snap_create", "test", "<domainsnapshot><name>s3</name></domainsnapshot>"),
                  ("snap_children", "test", "s1", c.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS),
                  ("snap_names", "test"), ("snap_num", "test"), ("snap_names", "test", c.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS),
                  ("snap_names", "test", c.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES),
                  ("snap_names", "test", c.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES), ("snap_all", "test"),
                  ("snap_is_current", "test", "s3"), ("snap_is_current", "test", "s1"),
                  ("snap_create", "test", "<domainsnapshot><name>s1</name></domainsnapshot>"),
                  ("suspend", "test"), ("snap_create", "test", "<domainsnapshot><name>p1</name></domainsnapshot>"),
                  ("snap_xml_nodate", "test", "p1"), ("destroy", "test"),
                  ("snap_create", "test", "<domainsnapshot><name>off</name></domainsnapshot>"),
                  ("snap_xml_nodate", "test", "off"), ("snap_names", "test", c.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE),
                  ("snap_names", "test", c.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE),
                  ("snap_revert", "test", "s1"), ("state", "test"), ("snap_current", "test"),
                  ("snap_revert", "test", "p1"), ("state", "test"), ("snap_revert", "test", "s1", 2),
                  ("state", "test"), ("snap_revert", "test", "off"), ("state", "test"),
                  ("snap_revert", "test", "off", 1), ("state", "test"), ("snap_revert", "test", "p1", 1),
                  ("state", "test"), ("snap_delete", "test", "s2"), ("snap_parent", "test", "s3"),
                  ("snap_delete", "test", "s1", c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY), ("snap_names", "test"),
                  ("snap_current", "test"), ("snap_delete", "test", "s1", c.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN),
                  ("snap_names", "test"), ("destroy", "test"), ("undefine", "test"),
                  ("undefine", "test", c.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA), ("list_all",)],
    "snapshot_halt_redefine": [
        ("snap_create", "test", "<domainsnapshot><name>h</name></domainsnapshot>", c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT),
        ("state", "test"), ("snap_create", "test",
                            "<domainsnapshot><name>r</name><state>running</state><creationTime>5</creationTime>"
                            "</domainsnapshot>", c.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE),
        ("snap_current", "test"), ("snap_xml_nodate", "test", "r"),
        ("snap_create", "test", "<domainsnapshot><name>x</name></domainsnapshot>", c.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY),
        ("snap_revert", "test", "r"),
        ("create_xml", dom(name="t")), ("snap_create", "t", "<domainsnapshot/>", c.VIR_DOMAIN_SNAPSHOT_CREATE_HALT),
        ("snap_create", "test", "<domainsnapshot><name>e1</name><state>running</state></domainsnapshot>"),
        ("snap_create", "test", "<snapshot/>"), ("snap_create", "test", "<domainsnapshot>"),
        ("snap_create", "test", "<domainsnapshot><name>d</name><disks><disk name='vdz'/></disks></domainsnapshot>"),
        ("snap_create", "test", "<domainsnapshot><name>d2</name><disks><disk name='vda' snapshot='no'/></disks>"
                                "</domainsnapshot>"), ("snap_xml_nodate", "test", "d2"),
        ("snap_create", "test", "<domainsnapshot><name>m</name><memory snapshot='no'/></domainsnapshot>"),
        ("snap_xml_nodate", "test", "m")],
    "misc_calls": [("save", "test", "{tmp}/s.img"), ("save_define", "{tmp}/s.img", dom(name="test",
                   uuid="6695eb01-f6a4-8304-79aa-97f2502e193f")), ("save_xml", "{tmp}/s.img"),
                   ("save_define", "{tmp}/nope.img", dom()), ("save_define", "{tmp}/s.img", dom(), 5),
                   ("restore", "{tmp}/s.img"), ("lookup", "test"), ("info", "test"), ("pool_names",),
                   ("vol_create", "default-pool", VOL.format(name="v1", cap=10, alloc=5)), ("vol_num", "default-pool"),
                   ("vol_all", "default-pool"), ("pool_of_vol", "default-pool", "v1"),
                   ("pool_uuid", "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"), ("pool_uuid", "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4567"),
                   ("net_uuid", "dd8fe884-6c02-601e-7551-cca97df1c5df"), ("net_uuid", "dd8fe884-6c02-601e-7551-cca97df1c5d0"),
                   ("dev_caps_num", "scsi_host1"), ("if_num",), ("is_updated", "test"), ("launch_sec", "test"),
                   ("pool_destroy", "default-pool"), ("vol_num", "default-pool"), ("vol_all", "default-pool"),
                   ("vol_info", "default-pool", "v1"), ("pool_names",)],
    "tunables": [("set_mem_params", "test", {"hard_limit": 1000, "soft_limit": 500}), ("mem_params", "test"),
                 ("set_mem_params", "test", {"swap_hard_limit": 10}), ("mem_params", "test", CONF),
                 ("set_blkio", "test", {"weight": 300}), ("blkio", "test"),
                 ("set_numa", "test", {"numa_mode": 9}), ("numa", "test"),
                 ("if_params", "test", "testnet0"), ("if_params", "test", "nope"),
                 ("set_if_params", "test", "testnet0", {"inbound.average": 100, "outbound.average": 50}),
                 ("if_params", "test", "aa:bb:cc:dd:ee:ff"), ("iotune", "test", "vda"), ("iotune", "test", "vdz"),
                 ("set_iotune", "test", "vda", {"total_bytes_sec": 1000}), ("iotune", "test", "vda"),
                 ("set_iotune", "test", "vda", {"total_bytes_sec": 1000, "total_bytes_sec_max": 2000}),
                 ("set_iotune", "test", "vda", {"read_iops_sec": 10}), ("iotune", "test", "vda"),
                 ("set_iotune", "test", "vdz", {"read_iops_sec": 10}),
                 ("set_lifecycle", "test", c.VIR_DOMAIN_LIFECYCLE_POWEROFF, c.VIR_DOMAIN_LIFECYCLE_ACTION_RESTART),
                 ("xml", "test"), ("shutdown", "test"), ("state", "test"),
                 ("set_lifecycle", "test", c.VIR_DOMAIN_LIFECYCLE_REBOOT, c.VIR_DOMAIN_LIFECYCLE_ACTION_DESTROY),
                 ("reboot", "test"), ("state", "test"), ("xml", "test"),
                 ("set_lifecycle", "test", c.VIR_DOMAIN_LIFECYCLE_POWEROFF, 4),
                 ("set_lifecycle", "test", c.VIR_DOMAIN_LIFECYCLE_CRASH, 4, CONF), ("xml", "test", 2),
                 ("start", "test"), ("pin_emulator", "test", (False, True)), ("emulator_pin", "test"),
                 ("pin_emulator", "test", (False, False)), ("nmi", "test"), ("send_key", "test"),
                 ("signal", "test", 1, 9), ("signal", "test", 2, 9), ("peek", "test", 250, 10, 1),
                 ("peek", "test", 0, 4, 3), ("stats_period", "test", 5), ("xml", "test"),
                 ("password", "test"), ("trim", "test", "/"), ("trim", "test", "/x"),
                 ("core_dump", "test", "{tmp}/core"), ("state", "test"), ("core_dump", "test", "{tmp}/core", 1),
                 ("state", "test"), ("nmi", "test"), ("iotune", "test", "vda")],
    "iothread_tuning": [("define", dom(extra="<iothreads>2</iothreads>")), ("start", "d1"),
                        ("pin_iothread", "d1", 1, (True,)), ("pin_iothread", "d1", 5, (True,)),
                        ("all_stats", c.VIR_DOMAIN_STATS_IOTHREAD), ("iothreads", "d1")],
    "checkpoints": [("chk_create", "test", "<domaincheckpoint><name>c1</name><description>x</description>"
                                           "</domaincheckpoint>"),
                    ("chk_create", "test", "<domaincheckpoint><name>c2</name></domaincheckpoint>"),
                    ("chk_create", "test", "<domaincheckpoint><name>c3</name></domaincheckpoint>"),
                    ("chk_create", "test", "<domaincheckpoint><name>c1</name></domaincheckpoint>"),
                    ("chk_all", "test"), ("chk_all", "test", c.VIR_DOMAIN_CHECKPOINT_LIST_ROOTS),
                    ("chk_all", "test", c.VIR_DOMAIN_CHECKPOINT_LIST_LEAVES), ("chk_parent", "test", "c2"),
                    ("chk_parent", "test", "c1"), ("chk_children", "test", "c1"),
                    ("chk_children", "test", "c1", c.VIR_DOMAIN_CHECKPOINT_LIST_DESCENDANTS),
                    ("chk_xml", "test", "c2"), ("chk_xml", "test", "c1", c.VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN),
                    ("chk_lookup", "test", "nope"),
                    ("snap_create", "test", "<domainsnapshot/>"), ("chk_delete", "test", "c2"),
                    ("chk_parent", "test", "c3"), ("chk_delete", "test", "c1", c.VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN),
                    ("chk_all", "test"), ("snap_create", "test", "<domainsnapshot><name>s</name></domainsnapshot>"),
                    ("chk_create", "test", "<domaincheckpoint/>"), ("destroy", "test"),
                    ("snap_delete", "test", "s"), ("chk_create", "test", "<domaincheckpoint/>")],
    "stats": [("all_stats", 0, 0), ("all_stats", c.VIR_DOMAIN_STATS_STATE, 0),
              ("define", dom(extra="<iothreads>2</iothreads>")), ("all_stats", 0, c.VIR_CONNECT_LIST_DOMAINS_ACTIVE),
              ("all_stats", 0, c.VIR_CONNECT_LIST_DOMAINS_INACTIVE), ("start", "d1"), ("iothreads", "d1"),
              ("all_stats", c.VIR_DOMAIN_STATS_IOTHREAD, 0), ("add_iothread", "d1", 7, LIVE), ("all_stats",),
              ("add_iothread", "d1", 7, LIVE), ("del_iothread", "d1", 1, LIVE), ("iothreads", "d1"),
              ("iothreads", "d1", CONF), ("list_stats", ["d1", "test"]),
              ("all_stats", c.VIR_DOMAIN_STATS_BALLOON, c.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS),
              ("all_stats", 0, 1 << 20), ("add_iothread", "d1", 0, LIVE)],
    "misc_guest": [("freeze", "test"), ("freeze", "test", ["/"]), ("thaw", "test", ["/boot"]), ("thaw", "test"),
                   ("freeze", "test", ["/nope"]), ("set_perf", "test", {"cmt": True}), ("perf", "test"),
                   ("set_time", "test", 12345, 6), ("get_time", "test"), ("control", "test"),
                   ("set_autostart", "test", 1), ("autostart", "test"),
                   ("list_all", c.VIR_CONNECT_LIST_DOMAINS_AUTOSTART), ("destroy", "test"), ("mem_stats", "test"),
                   ("if_addrs", "test"), ("fsinfo", "test"), ("cpu_stats_dom", "test", True), ("seclabel", "test"),
                   ("block_info", "test", "/guest/diskimage1")],
    "networks": [("net_list",), ("net_names",), ("net_xml", "default"), ("net_bridge", "default"),
                 ("net_state", "default"),
                 ("net_define", NET.format(name="n1", uuid="11111111-2222-3333-4444-000000000001", br="vb1", n=1)),
                 ("net_state", "n1"), ("net_names",), ("net_xml", "n1"), ("net_start", "n1"), ("net_start", "n1"),
                 ("net_state", "n1"), ("net_undefine", "n1"), ("net_destroy", "n1"), ("net_destroy", "n1"),
                 ("net_undefine", "n1"), ("net_list",),
                 ("net_create_xml", NET.format(name="n2", uuid="11111111-2222-3333-4444-000000000002", br="vb2", n=2)),
                 ("net_state", "n2"), ("net_list", c.VIR_CONNECT_LIST_NETWORKS_TRANSIENT), ("net_destroy", "n2"),
                 ("net_list",), ("net_autostart", "default", 1), ("net_state", "default"),
                 ("net_list", c.VIR_CONNECT_LIST_NETWORKS_AUTOSTART),
                 ("net_define", NET.format(name="default", uuid="11111111-2222-3333-4444-000000000003", br="x", n=3)),
                 ("net_update", "default", c.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, c.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                  -1, "<host mac='52:54:00:00:00:01' ip='192.168.122.5'/>", 0),
                 ("net_xml", "default"),
                 ("net_update", "default", c.VIR_NETWORK_UPDATE_COMMAND_ADD_FIRST, c.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                  -1, "<host mac='52:54:00:00:00:02' name='h2' ip='192.168.122.6'/>", 0),
                 ("net_update", "default", c.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, c.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                  -1, "<host mac='52:54:00:00:00:01' ip='192.168.122.5'/>", 0),
                 ("net_update", "default", c.VIR_NETWORK_UPDATE_COMMAND_MODIFY, c.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                  -1, "<host mac='52:54:00:00:00:01' ip='192.168.122.9'/>", 0),
                 ("net_xml", "default"),
                 ("net_update", "default", c.VIR_NETWORK_UPDATE_COMMAND_DELETE, c.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                  -1, "<host mac='52:54:00:00:00:02' name='h2' ip='192.168.122.6'/>", 0),
                 ("net_update", "default", c.VIR_NETWORK_UPDATE_COMMAND_DELETE, c.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                  -1, "<host mac='52:54:00:00:00:07' ip='192.168.122.7'/>", 0),
                 ("net_update", "default", c.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, c.VIR_NETWORK_SECTION_DNS_HOST,
                  -1, "<host ip='192.168.122.50'><hostname>web</hostname></host>", 0),
                 ("net_update", "default", c.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, c.VIR_NETWORK_SECTION_PORTGROUP,
                  -1, "<portgroup name='pg1'/>", 0),
                 ("net_xml", "default"),
                 ("net_update", "default", c.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, c.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                  -1, "<host mac='52:54:00:00:00:03' ip='192.168.122.8'/>", c.VIR_NETWORK_UPDATE_AFFECT_CONFIG),
                 ("net_xml", "default"), ("net_destroy", "default"), ("net_xml", "default"),
                 ("net_define", "<network/>"), ("net_define", "<network><name>a/b</name></network>"),
                 ("net_define", "<network><name>x</name><uuid>zzz</uuid></network>"),
                 ("net_define", "<network><name>x</name><ip address='10.1.1.1' prefix='99'/></network>"),
                 ("net_define", "<network><name>iso</name><uuid>11111111-2222-3333-4444-000000000009</uuid></network>"),
                 ("net_xml", "iso"), ("net_bridge", "iso"), ("net_start", "iso"), ("net_xml", "iso"),
                 ("net_update", "default", c.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, c.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                  -1, "<host mac='52:54:00:00:00:04' ip='192.168.122.11'/>", c.VIR_NETWORK_UPDATE_AFFECT_LIVE)],
    "interfaces": [("if_list",), ("if_names",), ("if_xml", "eth1"), ("if_mac", "aa:bb:cc:dd:ee:ff"),
                   ("if_active", "eth1"), ("if_start", "eth1"), ("if_stop", "eth1"), ("if_stop", "eth1"),
                   ("if_names",), ("if_start", "eth1"), ("if_commit",), ("if_rollback",), ("if_begin",),
                   ("if_begin",), ("if_define", IFACE), ("if_names",), ("if_rollback",), ("if_names",),
                   ("if_list",), ("if_begin",), ("if_define", IFACE), ("if_commit",), ("if_list",),
                   ("if_undefine", "eth9"), ("if_list",), ("if_define", IFACE), ("if_xml", "eth9"),
                   ("if_active", "eth9"), ("if_start", "eth9"), ("if_define", IFACE.replace("00:09", "00:10")),
                   ("if_active", "eth9"), ("if_xml", "eth9"), ("if_mac", "AA:BB:CC:00:00:10"),
                   ("if_define", "<interface type='ethernet'/>"), ("if_define", "<interface name='x'/>"),
                   ("if_define", "<interface type='bridge' name='br9'><start mode='onboot'/><protocol family='ipv4'>"
                                 "<dhcp/></protocol><bridge stp='off' delay='0.01'><interface type='ethernet' "
                                 "name='eth9'><mac address='aa:bb:cc:00:00:19'/></interface></bridge></interface>"),
                   ("if_xml", "br9"), ("if_list",), ("if_names",),
                   ("if_define", "<interface type='vlan' name='eth9.42'><vlan tag='42'><interface name='eth9'/>"
                                 "</vlan></interface>"), ("if_xml", "eth9.42"),
                   ("if_define", "<interface type='bond' name='bond0'><bond mode='active-backup'>"
                                 "<miimon freq='100' updelay='10' carrier='ioctl'/><interface type='ethernet' "
                                 "name='eth8'/></bond></interface>"), ("if_xml", "bond0")],
    "storage": [("pool_list",), ("pool_info", "default-pool"), ("pool_xml", "default-pool"),
                ("pool_state", "default-pool"), ("vol_list", "default-pool"),
                ("vol_create", "default-pool", VOL.format(name="v1", cap=1000000, alloc=50000)),
                ("vol_create", "default-pool", VOL.format(name="v1", cap=1000000, alloc=50000)),
                ("vol_create", "default-pool", VOL.format(name="big", cap=1 << 50, alloc=1 << 50)),
                ("pool_info", "default-pool"), ("vol_info", "default-pool", "v1"),
                ("vol_path", "default-pool", "v1"), ("vol_by_path", "/default-pool/v1"),
                ("vol_by_key", "/default-pool/v1"), ("vol_xml", "default-pool", "v1"),
                ("vol_clone", "default-pool", VOL.format(name="v2", cap=10, alloc=10), "v1"),
                ("vol_clone", "default-pool", VOL.format(name="v3", cap=10, alloc=10), "nope"),
                ("vol_list", "default-pool"), ("pool_info", "default-pool"), ("vol_delete", "default-pool", "v1"),
                ("pool_info", "default-pool"), ("pool_build", "default-pool"), ("pool_delete", "default-pool"),
                ("pool_refresh", "default-pool"), ("pool_undefine", "default-pool"),
                ("pool_destroy", "default-pool"), ("pool_state", "default-pool"), ("vol_list", "default-pool"),
                ("vol_by_path", "/default-pool/v2"), ("pool_destroy", "default-pool"), ("pool_build", "default-pool"),
                ("pool_delete", "default-pool"), ("pool_refresh", "default-pool"), ("pool_start", "default-pool"),
                ("vol_list", "default-pool"), ("pool_info", "default-pool"),
                ("pool_define", POOL.format(name="p1", uuid="11111111-2222-3333-4444-0000000000a1")),
                ("pool_state", "p1"), ("pool_info", "p1"), ("pool_xml", "p1"), ("pool_autostart", "p1", 1),
                ("pool_state", "p1"), ("pool_list", c.VIR_CONNECT_LIST_STORAGE_POOLS_INACTIVE),
                ("pool_undefine", "p1"), ("pool_list",),
                ("pool_create_xml", POOL.format(name="p2", uuid="11111111-2222-3333-4444-0000000000a2")),
                ("pool_state", "p2"), ("pool_autostart", "p2", 1), ("pool_destroy", "p2"), ("pool_list",),
                ("pool_define", POOL.format(name="default-pool", uuid="11111111-2222-3333-4444-0000000000a3")),
                ("pool_sources", "logical"), ("pool_sources", "netfs", "<source><host name='nfs.example'/></source>"),
                ("pool_sources", "netfs"), ("pool_sources", "dir"), ("pool_sources", "bogus"),
                ("vol_create", "default-pool", "<volume><name>q.qcow2</name><capacity unit='G'>2</capacity>"
                 "<target><format type='qcow2'/><permissions><mode>0640</mode></permissions></target></volume>"),
                ("vol_xml", "default-pool", "q.qcow2"), ("vol_info", "default-pool", "q.qcow2"),
                ("pool_info", "default-pool"),
                ("vol_create", "default-pool", "<volume><name>noalloc</name><capacity>1024</capacity></volume>"),
                ("vol_xml", "default-pool", "noalloc"), ("vol_create", "default-pool", "<volume><name>x</name></volume>"),
                ("vol_create", "default-pool", "<volume><capacity>1</capacity></volume>"),
                ("pool_define", "<pool type='netfs'><name>nfs</name><uuid>11111111-2222-3333-4444-0000000000c1</uuid>"
                 "<source><host name='nfs.example'/><dir path='/export'/><format type='nfs'/></source>"
                 "<target><path>/mnt/nfs</path></target></pool>"), ("pool_xml", "nfs"), ("pool_start", "nfs"),
                ("vol_create", "nfs", VOL.format(name="n1", cap=100, alloc=100)), ("vol_xml", "nfs", "n1"),
                ("pool_define", "<pool type='logical'><name>vg</name><uuid>11111111-2222-3333-4444-0000000000c2</uuid>"
                 "<source><device path='/dev/sdb'/><name>vg</name><format type='lvm2'/></source>"
                 "<target><path>/dev/vg</path></target></pool>"), ("pool_xml", "vg"), ("pool_start", "vg"),
                ("vol_create", "vg", VOL.format(name="lv", cap=100, alloc=100)), ("vol_info", "vg", "lv"),
                ("vol_xml", "vg", "lv"), ("pool_define", "<pool><name>x</name></pool>"),
                ("pool_define", "<pool type='dir'><uuid>11111111-2222-3333-4444-0000000000c3</uuid></pool>")],
    "nodedev": [("dev_list",), ("dev_names",), ("dev_names", "scsi_host"), ("dev_num", "fc_host"),
                ("dev_num", "vports"), ("dev_xml", "computer"), ("dev_xml", "scsi_host1"), ("dev_xml", "scsi_host11"),
                ("dev_caps", "scsi_host1"), ("dev_parent", "scsi_host11"),
                ("dev_list", c.VIR_CONNECT_LIST_NODE_DEVICES_CAP_FC_HOST),
                ("dev_list", c.VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM),
                ("dev_create", VHBA), ("dev_xml", "scsi_host12"), ("dev_parent", "scsi_host12"), ("dev_list",),
                ("dev_destroy", "scsi_host12"), ("dev_destroy", "computer"), ("dev_list",),
                ("pool_create_xml", "<pool type='scsi'><name>hba</name><uuid>11111111-2222-3333-4444-0000000000b1</uuid>"
                 "<source><adapter type='fc_host' parent='scsi_host1' wwnn='2000000012345678' "
                 "wwpn='1000000012345678'/></source><target><path>/dev/disk/by-path</path></target></pool>"),
                ("dev_xml", "scsi_host12"), ("pool_destroy", "hba"), ("dev_list",),
                ("dev_create", VHBA.replace("scsi_host1", "scsi_host11")), ("dev_create", VHBA.replace("scsi_host1", "nope")),
                ("dev_create", VHBA.replace("<parent>scsi_host1</parent>", "")),
                ("dev_create", "<device><name>x</name><capability type='system'/></device>"),
                ("dev_create", "<device><parent>computer</parent><capability type='scsi_host'/></device>"),
                ("dev_create", "<device/>"), ("dev_create", VHBA.replace("scsi_host1", "computer")),
                ("dev_create", VHBA), ("dev_create", VHBA), ("dev_list",), ("dev_destroy", "scsi_host12"),
                ("dev_destroy", "scsi_host12")],
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_results_as_libvirt(name: str, tmp_path: Any) -> None:
    steps = [tuple(a.format(tmp=tmp_path) if isinstance(a, str) and "{tmp}" in a else a for a in step)
             for step in SCENARIOS[name]]
    real = h.run_real(U, steps)
    for f in os.listdir(tmp_path):
        os.unlink(tmp_path / f)
    mine = h.run_py(U, steps)
    for step, r, m in zip(steps, real, mine):
        assert m == r, f"step {step!r}"


EVENT_SCENARIOS: dict[str, list[tuple[Any, ...]]] = {
    "domain": [("define", dom()), ("define", dom(mem=2097152)), ("start", "d1"), ("suspend", "d1"), ("resume", "d1"),
               ("reboot", "d1"), ("shutdown", "d1"), ("start", "d1"), ("destroy", "d1"), ("rename", "d1", "d2"),
               ("undefine", "d2"), ("create_xml", dom(name="t")), ("save", "t", "{tmp}/t.img"),
               ("restore", "{tmp}/t.img"), ("managed_save", "test"), ("start", "test")],
    "snapshots": [("snap_create", "test", "<domainsnapshot><name>a</name></domainsnapshot>"), ("suspend", "test"),
                  ("snap_create", "test", "<domainsnapshot><name>p</name></domainsnapshot>"), ("destroy", "test"),
                  ("snap_create", "test", "<domainsnapshot><name>o</name></domainsnapshot>"),
                  ("snap_revert", "test", "a"), ("snap_revert", "test", "p"), ("snap_revert", "test", "a", 2),
                  ("snap_revert", "test", "o"), ("snap_revert", "test", "o", 2), ("snap_revert", "test", "o", 1),
                  ("snap_create", "test", "<domainsnapshot><name>h</name></domainsnapshot>", 8)],
    "objects": [("net_define", NET.format(name="n1", uuid="11111111-2222-3333-4444-000000000001", br="vb1", n=1)),
                ("net_start", "n1"), ("net_destroy", "n1"), ("net_undefine", "n1"),
                ("pool_define", POOL.format(name="p1", uuid="11111111-2222-3333-4444-0000000000a1")),
                ("pool_build", "p1"), ("pool_start", "p1"), ("pool_refresh", "p1"), ("pool_destroy", "p1"),
                ("pool_delete", "p1"), ("pool_undefine", "p1"), ("dev_create", VHBA), ("dev_destroy", "scsi_host12"),
                ("pool_create_xml", "<pool type='scsi'><name>hba</name><uuid>11111111-2222-3333-4444-0000000000b1</uuid>"
                 "<source><adapter type='fc_host' parent='scsi_host1' wwnn='2000000012345678' "
                 "wwpn='1000000012345678'/></source><target><path>/dev/disk/by-path</path></target></pool>"),
                ("pool_destroy", "hba"),
                ("net_create_xml", NET.format(name="n2", uuid="11111111-2222-3333-4444-000000000002", br="vb2", n=2)),
                ("net_destroy", "n2"), ("if_begin",), ("if_rollback",)],
}


@pytest.mark.parametrize("name", sorted(EVENT_SCENARIOS))
def test_same_events_as_libvirt(name: str, tmp_path: Any) -> None:
    steps = [tuple(a.format(tmp=tmp_path) if isinstance(a, str) and "{tmp}" in a else a for a in step)
             for step in EVENT_SCENARIOS[name]]
    real = h.events_real(U, steps)
    for f in os.listdir(tmp_path):
        os.unlink(tmp_path / f)
    mine = h.events_py(U, steps)
    assert real, "libvirt emitted no events: the scenario is broken"
    assert mine == real
