"""The formatted-XML cache must never serve XML older than the definition it describes.

Each test reads XMLDesc first (filling the cache), changes the domain through the public API,
and checks the new XML shows the change and equals an uncached formatting of the same state.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any, Callable, Iterator

import pytest

import pyvirt.libvirt as libvirt
from pyvirt.conf.domain.model import DomainDef

_names = itertools.count()

XML = """<domain type='test'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>2</vcpu>
  <os><type arch='i686'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/tmp/{name}.img'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>"""


@pytest.fixture()
def dom() -> Iterator[Any]:
    conn = libvirt.open("test:///default")
    name = f"xmlcache{next(_names)}"
    d = conn.defineXML(XML.format(name=name))
    yield d
    try:
        if d.isActive():
            d.destroy()
        for snap in d.listAllSnapshots():
            snap.delete()
        d.undefine()
    except libvirt.libvirtError:
        pass
    conn.close()


def _uncached(xml_before: str, flags: int, d: Any) -> str:
    """What formatting the current definition without any cache gives (via a fresh model)."""
    fresh = DomainDef(copy.deepcopy(_model(d).xml))
    active = bool(d.isActive())
    inactive = bool(flags & libvirt.VIR_DOMAIN_XML_INACTIVE) or not active
    return fresh.to_xml(id=d.ID() if active else None, inactive=inactive,
                        secure=bool(flags & libvirt.VIR_DOMAIN_XML_SECURE))


def _model(d: Any) -> Any:
    conn = d.connect()
    drv = conn._driver  # the test driver behind the public objects
    obj = drv.st.domains[d.name()]
    return obj.def_


def _check(d: Any, change: Callable[[], None], expect: Callable[[str], bool]) -> None:
    for flags in (0, libvirt.VIR_DOMAIN_XML_INACTIVE):
        d.XMLDesc(flags)
    before = d.XMLDesc(0)
    change()
    after = d.XMLDesc(0)
    assert after != before
    assert expect(after), after
    assert after == _uncached(before, 0, d)


def test_setmem(dom: Any) -> None:
    _check(dom, lambda: dom.setMemoryFlags(65536, libvirt.VIR_DOMAIN_AFFECT_CONFIG),
           lambda x: "<currentMemory unit='KiB'>65536</currentMemory>" in x)


def test_setmaxmem(dom: Any) -> None:
    _check(dom, lambda: dom.setMaxMemory(262144), lambda x: "<memory unit='KiB'>262144</memory>" in x)


def test_setvcpus(dom: Any) -> None:
    _check(dom, lambda: dom.setVcpusFlags(1, libvirt.VIR_DOMAIN_AFFECT_CONFIG), lambda x: "current='1'" in x)


def test_rename(dom: Any) -> None:
    new = dom.name() + "r"
    _check(dom, lambda: dom.rename(new, 0), lambda x: f"<name>{new}</name>" in x)


def test_description_and_title(dom: Any) -> None:
    _check(dom, lambda: dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_DESCRIPTION, "hello", None, None,
                                        libvirt.VIR_DOMAIN_AFFECT_CONFIG),
           lambda x: "<description>hello</description>" in x)
    _check(dom, lambda: dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_TITLE, "T1", None, None,
                                        libvirt.VIR_DOMAIN_AFFECT_CONFIG),
           lambda x: "<title>T1</title>" in x)


def test_metadata_element(dom: Any) -> None:
    _check(dom, lambda: dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, "<foo>bar</foo>", "x",
                                        "http://example.org/x", libvirt.VIR_DOMAIN_AFFECT_CONFIG),
           lambda x: "http://example.org/x" in x)


def test_iothread_add_del(dom: Any) -> None:
    _check(dom, lambda: dom.addIOThread(5, libvirt.VIR_DOMAIN_AFFECT_CONFIG), lambda x: "<iothread id='5'/>" in x)
    _check(dom, lambda: dom.delIOThread(5, libvirt.VIR_DOMAIN_AFFECT_CONFIG), lambda x: "<iothread id='5'/>" not in x)


def test_tunables(dom: Any) -> None:
    _check(dom, lambda: dom.setBlkioParameters({"weight": 321}, libvirt.VIR_DOMAIN_AFFECT_CONFIG),
           lambda x: "<weight>321</weight>" in x)


def test_start_stop_changes_id(dom: Any) -> None:
    _check(dom, dom.create, lambda x: x.startswith("<domain type='test' id="))
    _check(dom, dom.destroy, lambda x: x.startswith("<domain type='test'>"))


def test_snapshot_revert(dom: Any) -> None:
    snap = dom.snapshotCreateXML("<domainsnapshot><name>s1</name></domainsnapshot>", 0)
    _check(dom, lambda: dom.setMemoryFlags(65536, libvirt.VIR_DOMAIN_AFFECT_CONFIG),
           lambda x: "65536" in x)
    _check(dom, lambda: dom.revertToSnapshot(snap, 0), lambda x: "<currentMemory unit='KiB'>131072" in x)


def test_redefine(dom: Any) -> None:
    conn = dom.connect()
    xml = dom.XMLDesc(0).replace("<vcpu placement='static'>2</vcpu>", "<vcpu placement='static'>3</vcpu>")
    _check(dom, lambda: conn.defineXML(xml), lambda x: "<vcpu placement='static'>3</vcpu>" in x)
