"""The host's SMBIOS data as libvirt's ``<sysinfo type='smbios'>`` (``virsh sysinfo``).

Read with ``dmidecode -q -t 0,1,2,3,4,11,17`` like libvirt on x86. Each field is
the text after its label at the first place the label occurs after the start
of its section (libvirt's reading, kept so both print the same). An OEM string
with a dot may be an escaped newline: it is read again raw
(``dmidecode --dump --oem-string N``).
"""

from __future__ import annotations

import subprocess
from typing import Callable

from ... import constants as c
from ...conf.xmlutil import escape_text
from .errors import qemu_error as _err

__all__ = ["read_sysinfo", "parse_dmidecode", "format_sysinfo", "Section"]

#: (section title, XML element, [(label, entry name)]), in libvirt's output order
_SINGLE = [
    ("BIOS Information", "bios", [("Vendor: ", "vendor"), ("Version: ", "version"),
                                  ("Release Date: ", "date"), ("BIOS Revision: ", "release")]),
    ("System Information", "system", [("Manufacturer: ", "manufacturer"), ("Product Name: ", "product"),
                                      ("Version: ", "version"), ("Serial Number: ", "serial"),
                                      ("UUID: ", "uuid"), ("SKU Number: ", "sku"), ("Family: ", "family")]),
]
_BOARD = ("Base Board Information", "baseBoard",
          [("Manufacturer: ", "manufacturer"), ("Product Name: ", "product"), ("Version: ", "version"),
           ("Serial Number: ", "serial"), ("Asset Tag: ", "asset"), ("Location In Chassis: ", "location")])
_CHASSIS = ("Chassis Information", "chassis",
            [("Manufacturer: ", "manufacturer"), ("Version: ", "version"), ("Serial Number: ", "serial"),
             ("Asset Tag: ", "asset"), ("SKU Number: ", "sku")])
_PROCESSOR = ("Processor Information", "processor",
              [("Socket Designation: ", "socket_destination"), ("Type: ", "type"), ("Family: ", "family"),
               ("Manufacturer: ", "manufacturer"), ("Signature: ", "signature"), ("Version: ", "version"),
               ("External Clock: ", "external_clock"), ("Max Speed: ", "max_speed"), ("Status: ", "status"),
               ("Serial Number: ", "serial_number"), ("Part Number: ", "part_number")])
_MEMORY = ("Memory Device", "memory_device",
           [("Size: ", "size"), ("Form Factor: ", "form_factor"), ("Locator: ", "locator"),
            ("Bank Locator: ", "bank_locator"), ("Type: ", "type"), ("Type Detail: ", "type_detail"),
            ("Speed: ", "speed"), ("Manufacturer: ", "manufacturer"), ("Serial Number: ", "serial_number"),
            ("Part Number: ", "part_number")])

Section = tuple[str, list[tuple[str, str]]]  # (element, [(entry name, value)])
OemReader = Callable[[int], str | None]


def _value(text: str, start: int, label: str) -> str | None:
    at = text.find(label, start)
    if at < 0:
        return None
    begin = at + len(label)
    eol = text.find("\n", begin)
    if eol < 0:
        return None
    value = text[begin:eol].rstrip(" \t\r")
    return value or None


def _raw(text: str, start: int, label: str) -> str | None:
    at = text.find(label, start)
    if at < 0:
        return None
    eol = text.find("\n", at)
    return text[at + len(label):eol if eol >= 0 else len(text)]


def _fields(text: str, start: int, labels: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for label, name in labels:
        value = _value(text, start, label)
        if value is not None:
            out.append((name, value))
    return out


def _repeated(text: str, title: str, tag: str, labels: list[tuple[str, str]],
              memory: bool = False) -> list[Section]:
    out: list[Section] = []
    at = text.find(title)
    while at >= 0:
        base = at + len(title) if title == _BOARD[0] else at
        if not (memory and _raw(text, base, "Size: ") == "No Module Installed"):
            fields = _fields(text, base, labels)
            if fields:
                out.append((tag, fields))
        at = text.find(title, at + len(title))
    return out


def _oem_strings(text: str, read_oem: OemReader) -> list[str] | None:
    at = text.find("OEM Strings")
    if at < 0:
        return None
    values: list[str] = []
    index = 1
    cur = text.find("String ", at)
    while cur >= 0:
        cur += len("String ")
        eol = text.find("\n", cur)
        if eol < 0:
            raise _err(c.VIR_ERR_INTERNAL_ERROR, "Malformed output of dmidecode")
        while cur < eol and text[cur].isdigit():
            cur += 1
        if text[cur] != ":":
            raise _err(c.VIR_ERR_INTERNAL_ERROR, "Malformed output of dmidecode")
        cur += 2
        value = text[cur:eol].rstrip(" \t\r")
        if value:
            if "." in value:  # maybe an escaped newline: ask for the raw string
                raw = read_oem(index)
                if raw is None:
                    raise _err(c.VIR_ERR_INTERNAL_ERROR, f"Failed to read OEM string {index}")
                value = raw
            values.append(value)
            index += 1
        cur = text.find("String ", eol)
    return values


def parse_dmidecode(text: str, read_oem: OemReader) -> list[Section | tuple[str, list[str]]]:
    """The sysinfo sections of dmidecode's output, in libvirt's order."""
    out: list[Section | tuple[str, list[str]]] = []
    for title, tag, labels in _SINGLE:
        at = text.find(title)
        if at >= 0:
            fields = _fields(text, at, labels)
            if fields:
                out.append((tag, fields))
    out += _repeated(text, *_BOARD)
    at = text.find(_CHASSIS[0])
    if at >= 0:
        fields = _fields(text, at, _CHASSIS[2])
        if fields:
            out.append((_CHASSIS[1], fields))
    out += _repeated(text, *_PROCESSOR)
    out += _repeated(text, *_MEMORY, memory=True)
    oem = _oem_strings(text, read_oem)
    if oem is not None:
        out.append(("oemStrings", oem))
    return out


def format_sysinfo(sections: list[Section | tuple[str, list[str]]]) -> str:
    """``<sysinfo type='smbios'>`` as libvirt formats it."""
    if not sections:
        return "<sysinfo type='smbios'/>\n"
    lines = ["<sysinfo type='smbios'>"]
    for tag, fields in sections:
        lines.append(f"  <{tag}>")
        for item in fields:
            if isinstance(item, tuple):
                lines.append(f"    <entry name='{item[0]}'>{escape_text(item[1])}</entry>")
            else:
                lines.append(f"    <entry>{escape_text(item)}</entry>")
        lines.append(f"  </{tag}>")
    lines.append("</sysinfo>")
    return "\n".join(lines) + "\n"


def _dmidecode(*args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(["dmidecode", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _read_oem(index: int) -> str | None:
    proc = _dmidecode("--dump", "--oem-string", str(index))
    if proc is None or proc.returncode != 0 or proc.stderr:
        return None
    return proc.stdout


def read_sysinfo() -> str:
    """This host's sysinfo XML, or libvirt's error when there is no SMBIOS data to read."""
    proc = _dmidecode("-q", "-t", "0,1,2,3,4,11,17")
    if proc is None or proc.returncode != 0:
        raise _err(c.VIR_ERR_CONFIG_UNSUPPORTED, "Host SMBIOS information is not available")
    return format_sysinfo(parse_dmidecode(proc.stdout, _read_oem))
