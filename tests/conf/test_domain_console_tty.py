"""The console that mirrors serial 0 names its pty (``tty=``) in live XML only, as libvirt formats it."""

from __future__ import annotations

from pyvirt.conf.domain import DomainDef

XML = """<domain type='qemu'><name>t</name><memory unit='KiB'>65536</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices><serial type='pty'><source path='/dev/pts/7'/><target port='0'/></serial>
  <console type='pty'><source path='/dev/pts/7'/><target type='serial' port='0'/></console></devices>
</domain>"""


def test_live_console_has_tty() -> None:
    defn = DomainDef.parse(XML, inactive=False)
    live = defn.to_xml()
    assert "<console type='pty' tty='/dev/pts/7'>\n      <source path='/dev/pts/7'/>" in live
    assert "<serial type='pty'>\n      <source path='/dev/pts/7'/>" in live  # serials have no tty=


def test_inactive_console_has_no_tty() -> None:
    defn = DomainDef.parse(XML, inactive=False)
    assert "tty=" not in defn.to_xml(inactive=True)
