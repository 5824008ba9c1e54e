"""Golden-file helpers for the XML model tests: real libvirt 9.0 (test:///default) is the oracle.

Inputs are ``tests/data/conf/<kind>/NAME-in.xml``; expected outputs ``NAME-out.xml`` are what
libvirt prints. Error cases live in ``<kind>/errors/NAME.xml`` with ``NAME.err`` holding
libvirt's ``{"code", "domain", "message"}``. ``PYVIRT_REGEN=1`` re-runs libvirt and rewrites them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

DATA = Path(__file__).resolve().parent.parent / "data" / "conf"
REGEN = os.environ.get("PYVIRT_REGEN") == "1"


def cases(kind: str) -> list[str]:
    """Names of the golden cases of *kind*."""
    return sorted(p.name[:-len("-in.xml")] for p in (DATA / kind).glob("*-in.xml"))


def error_cases(kind: str) -> list[str]:
    """Names of the error cases of *kind*."""
    return sorted(p.stem for p in (DATA / kind / "errors").glob("*.xml"))


def golden(kind: str, name: str, suffix: str, produce: Callable[[str], str]) -> str:
    """The expected text for case *name*; with PYVIRT_REGEN=1, produced by libvirt and stored."""
    src = (DATA / kind / f"{name}-in.xml").read_text()
    out = DATA / kind / f"{name}-{suffix}.xml"
    if REGEN or not out.exists():
        out.write_text(produce(src))
    return out.read_text()


def golden_error(kind: str, name: str, produce: Callable[[str], None]) -> dict[str, object]:
    """libvirt's error for error case *name* as {code, domain, message}."""
    src = (DATA / kind / "errors" / f"{name}.xml").read_text()
    out = DATA / kind / "errors" / f"{name}.err"
    if REGEN or not out.exists():
        import libvirt  # the real one, only needed to regenerate
        try:
            produce(src)
        except libvirt.libvirtError as exc:
            data = {"code": exc.get_error_code(), "domain": exc.get_error_domain(),
                    "message": exc.get_error_message()}
        else:
            raise AssertionError(f"libvirt accepted error case {kind}/{name}")
        out.write_text(json.dumps(data, indent=1) + "\n")
    result: dict[str, object] = json.loads(out.read_text())
    return result


def oracle_conn() -> Any:
    """A connection to real libvirt's test:///default (state is shared within a process)."""
    import libvirt
    libvirt.registerErrorHandler(lambda *_: None, None)
    return libvirt.open("test:///default")


def restore_default_interface(conn: Any, name: str, saved: str | None) -> None:
    """Put test:///default's interface *name* back after a case replaced and undefined it."""
    if saved is None:
        return
    import libvirt
    try:
        conn.interfaceLookupByName(name)
    except libvirt.libvirtError:
        iface = conn.interfaceDefineXML(saved)
        iface.create(0)


def saved_interface(conn: Any, xml: str) -> tuple[str, str | None]:
    """(name, current XML) of the test:///default interface *xml* would replace, if any."""
    import libvirt
    from lxml import etree
    name = etree.fromstring(xml.encode()).get("name") or ""
    try:
        return name, str(conn.interfaceLookupByName(name).XMLDesc(0))
    except libvirt.libvirtError:
        return name, None
