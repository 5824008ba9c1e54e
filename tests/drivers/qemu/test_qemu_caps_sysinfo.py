"""``virsh sysinfo`` of the QEMU driver: dmidecode's output as libvirt's ``<sysinfo>``."""

from __future__ import annotations

import html
import io
import re
import subprocess
from pathlib import Path

import pytest

import pyvirt
from pyvirt import constants as c
from pyvirt.cli.main import main as pyvirsh
from pyvirt.drivers.qemu.caps_sysinfo import format_sysinfo, parse_dmidecode
from pyvirt.errors import LibvirtError

#: libvirt's own sysinfo test data (dmidecode output and the XML libvirt makes of it), when unpacked
LIBVIRT_DATA = Path("/work/ref/libvirt-9.0.0/tests/sysinfodata")

SAMPLE = """# dmidecode 3.4
Handle 0x0000, DMI type 0, 24 bytes
BIOS Information
\tVendor: SeaBIOS   
\tVersion: 1.16.2-debian-1.16.2-1
\tRelease Date: 04/01/2014
\tAddress: 0xE8000

Handle 0x0100, DMI type 1, 27 bytes
System Information
\tManufacturer: QEMU
\tProduct Name: Standard PC (i440FX + PIIX, 1996)
\tVersion: pc-i440fx-7.2
\tSerial Number: Not Specified
\tUUID: 0c2f1e7a-5f6e-4a4b-9d7c-3a9f1b2c4d5e

Handle 0x1100, DMI type 17, 40 bytes
Memory Device
\tSize: No Module Installed
\tLocator: DIMM 0

Handle 0x1101, DMI type 17, 40 bytes
Memory Device
\tSize: 128 MB
\tForm Factor: DIMM
\tLocator: DIMM 1
\tType: RAM
"""

EXPECTED = """<sysinfo type='smbios'>
  <bios>
    <entry name='vendor'>SeaBIOS</entry>
    <entry name='version'>1.16.2-debian-1.16.2-1</entry>
    <entry name='date'>04/01/2014</entry>
  </bios>
  <system>
    <entry name='manufacturer'>QEMU</entry>
    <entry name='product'>Standard PC (i440FX + PIIX, 1996)</entry>
    <entry name='version'>pc-i440fx-7.2</entry>
    <entry name='serial'>Not Specified</entry>
    <entry name='uuid'>0c2f1e7a-5f6e-4a4b-9d7c-3a9f1b2c4d5e</entry>
  </system>
  <memory_device>
    <entry name='size'>128 MB</entry>
    <entry name='form_factor'>DIMM</entry>
    <entry name='locator'>DIMM 1</entry>
    <entry name='type'>RAM</entry>
  </memory_device>
</sysinfo>
"""


def test_format_of_a_qemu_guests_dmidecode() -> None:
    assert format_sysinfo(parse_dmidecode(SAMPLE, lambda _i: None)) == EXPECTED
    assert format_sysinfo(parse_dmidecode("# dmidecode 3.4\n", lambda _i: None)) == "<sysinfo type='smbios'/>\n"


def test_same_xml_as_libvirt_for_its_own_test_data() -> None:
    if not LIBVIRT_DATA.is_dir():
        pytest.skip("libvirt 9.0's source tree (tests/sysinfodata) is not unpacked here")
    expected = (LIBVIRT_DATA / "x86sysinfo.expect").read_text()
    raw_oem = [html.unescape(v) for v in re.findall(r"<entry>(.*?)</entry>", expected, re.S)]
    asked: list[int] = []

    def read_oem(index: int) -> str:
        asked.append(index)  # dmidecode --dump --oem-string INDEX
        return raw_oem[index - 1]

    got = format_sysinfo(parse_dmidecode((LIBVIRT_DATA / "x86sysinfo.data").read_text(), read_oem))
    assert got == expected
    assert asked  # the strings with a dot were read again raw


def test_sysinfo_without_smbios(tmp_path: Path) -> None:
    proc = subprocess.run(["dmidecode", "-q", "-t", "0"], capture_output=True, text=True) \
        if Path("/usr/sbin/dmidecode").exists() else None
    conn = pyvirt.open(f"qemu:///embed?root={tmp_path}")
    try:
        if proc is None or proc.returncode != 0:
            with pytest.raises(LibvirtError) as err:
                conn.get_sysinfo()
            assert err.value.get_error_code() == c.VIR_ERR_CONFIG_UNSUPPORTED
            assert "Host SMBIOS information is not available" in str(err.value)
            out, errout = io.StringIO(), io.StringIO()
            rc = pyvirsh(["virsh", "-c", conn.get_uri(), "sysinfo"], stdin=io.StringIO(""), stdout=out,
                         stderr=errout)
            assert rc == 1 and errout.getvalue() == ("error: failed to get sysinfo\nerror: unsupported "
                                                     "configuration: Host SMBIOS information is not available\n")
        else:
            assert conn.get_sysinfo().startswith("<sysinfo type='smbios'>")
    finally:
        conn.close()
