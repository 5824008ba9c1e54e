"""Small XML helpers shared by the test driver's stand-in models."""

from __future__ import annotations

import copy
import uuid as uuidlib
from typing import Any

from lxml import etree

from ... import constants as c
from ...errors import make_error

__all__ = ["TEST_NS", "uuid_str", "uuid_bytes", "scaled", "parse_uuid_text", "XmlBase"]

TEST_NS = "http://libvirt.org/schemas/domain/test/1.0"

_UNITS = {"b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024 ** 2, "mib": 1024 ** 2,
          "mb": 1000 ** 2, "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3, "t": 1024 ** 4,
          "tib": 1024 ** 4, "tb": 1000 ** 4, "p": 1024 ** 5, "pib": 1024 ** 5, "pb": 1000 ** 5,
          "e": 1024 ** 6, "eib": 1024 ** 6, "eb": 1000 ** 6}


def uuid_str(raw: bytes) -> str:
    return str(uuidlib.UUID(bytes=bytes(raw)))


def uuid_bytes(text: str) -> bytes:
    return uuidlib.UUID(text.replace("-", "").strip()).bytes


def scaled(elem: Any, default_unit: str) -> int:
    unit = (elem.get("unit") or default_unit).lower()
    try:
        value = int((elem.text or "").strip())
    except ValueError:
        raise make_error(c.VIR_ERR_XML_ERROR, f"invalid value '{elem.text}'", c.VIR_FROM_XML) from None
    if unit not in _UNITS:
        raise make_error(c.VIR_ERR_INVALID_ARG, f"unknown suffix '{unit}'", c.VIR_FROM_XML)
    return value * _UNITS[unit]


def parse_uuid_text(root: Any, what: str) -> str:
    text = root.findtext("uuid")
    if text is None:
        return str(uuidlib.uuid4())
    try:
        return str(uuidlib.UUID(text.strip()))
    except ValueError:
        raise make_error(c.VIR_ERR_INTERNAL_ERROR, "malformed uuid element", c.VIR_FROM_XML) from None


class XmlBase:
    """An lxml tree with name/uuid helpers."""

    root_tag = ""
    what = ""

    def __init__(self, root: Any) -> None:
        self.root = root

    def copy(self) -> Any:
        new = type(self)(copy.deepcopy(self.root))
        if "_pv_tunables" in self.__dict__:
            new.__dict__["_pv_tunables"] = copy.deepcopy(self.__dict__["_pv_tunables"])
        return new

    @property
    def name(self) -> str:
        return (self.root.findtext("name") or "").strip()

    @name.setter
    def name(self, value: str) -> None:
        el = self.root.find("name")
        if el is None:
            el = etree.SubElement(self.root, "name")
        el.text = value
