"""libvirt's ``<domainsnapshot>`` XML: parse, align disks with the domain, format."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field

from lxml import etree

from .. import constants as c
from ..errors import make_error
from .domain import DomainDef
from .xmlutil import Element, escape_attr, parse_xml

__all__ = ["SnapshotDef", "SnapshotDiskDef", "STATES", "LOCATIONS"]

STATES = ("nostate", "running", "blocked", "paused", "shutdown", "shutoff", "crashed",
          "pmsuspended", "disk-snapshot")
LOCATIONS = ("default", "no", "internal", "external", "manual")
_STORAGE_TYPES = ("file", "block", "dir", "network", "volume", "nvme", "vhostuser", "vhostvdpa")
_SOURCE_ATTR = {"file": "file", "block": "dev", "network": "name"}


def _xml_error(detail: str) -> Exception:
    return make_error(c.VIR_ERR_XML_ERROR, detail, c.VIR_FROM_DOMAIN_SNAPSHOT)


def _unsupported(detail: str) -> Exception:
    return make_error(c.VIR_ERR_CONFIG_UNSUPPORTED, detail, c.VIR_FROM_DOMAIN_SNAPSHOT)


def _location(node: Element, attr: str) -> str:
    value = node.get(attr)
    if value is None:
        return "default"
    if value not in LOCATIONS or value == "default":
        raise make_error(c.VIR_ERR_XML_ERROR,
                         f"Invalid value for attribute '{attr}' in element '{node.tag}': '{value}'.",
                         c.VIR_FROM_XML)
    return value


@dataclass
class SnapshotDiskDef:
    """One ``<disks>/<disk>`` entry."""

    name: str
    snapshot: str = "default"
    type: str = "file"
    driver_type: str | None = None
    source: str | None = None
    source_xml: Element | None = None

    @classmethod
    def parse(cls, node: Element) -> "SnapshotDiskDef":
        name = node.get("name")
        if not name:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, "missing name from disk snapshot element",
                             c.VIR_FROM_DOMAIN_SNAPSHOT)
        disk = cls(name=name, snapshot=_location(node, "snapshot"))
        stype = node.get("type", "file")
        if stype not in _STORAGE_TYPES:
            raise make_error(c.VIR_ERR_XML_ERROR,
                             f"Invalid value for attribute 'type' in element 'disk': '{stype}'.",
                             c.VIR_FROM_XML)
        if stype in ("volume", "dir"):
            raise _xml_error(f"unsupported disk snapshot type '{stype}'")
        disk.type = stype
        src = node.find("source")
        if src is not None:
            disk.source = src.get(_SOURCE_ATTR.get(stype, "file"))
            disk.source_xml = src
        disk.driver_type = node.find("driver").get("type") if node.find("driver") is not None else None  # type: ignore[union-attr]
        if disk.source and stype == "file" and not disk.source.startswith("/"):
            raise _xml_error(f"disk snapshot image path '{disk.source}' must be absolute")
        if disk.snapshot == "default" and (disk.source or disk.driver_type):
            disk.snapshot = "external"
        return disk

    def format(self, out: list[str], pad: str) -> None:
        attrs = f" name='{escape_attr(self.name)}'"
        if self.snapshot != "default":
            attrs += f" snapshot='{self.snapshot}'"
        children: list[str] = []
        if self.source or self.driver_type:
            attrs += f" type='{self.type}'"
            if self.driver_type:
                children.append(f"{pad}  <driver type='{escape_attr(self.driver_type)}'/>")
            if self.source:
                key = _SOURCE_ATTR.get(self.type, "file")
                children.append(f"{pad}  <source {key}='{escape_attr(self.source)}'/>")
        if children:
            out.append(f"{pad}<disk{attrs}>")
            out.extend(children)
            out.append(f"{pad}</disk>")
        else:
            out.append(f"{pad}<disk{attrs}/>")


@dataclass
class SnapshotDef:
    """A domain snapshot definition (``virsh snapshot-dumpxml``)."""

    name: str
    creation_time: int
    description: str | None = None
    state: str | None = None
    parent: str | None = None
    memory: str = "default"
    memory_file: str | None = None
    disks: list[SnapshotDiskDef] = field(default_factory=list)
    domain: DomainDef | None = None
    inactive_domain: DomainDef | None = None

    @classmethod
    def parse(cls, xml: str | bytes, domain: DomainDef | None = None, *, redefine: bool = False,
              offline: bool = False, now: int | None = None) -> "SnapshotDef":
        """Parse ``<domainsnapshot>``; *domain* (the current definition) is copied in.

        Without *redefine*, creationTime is *now* (default: the clock) and the
        name defaults to it, as libvirt does.
        """
        root = parse_xml(xml, root="domainsnapshot", what="domain_snapshot",
                         domain=c.VIR_FROM_DOMAIN_SNAPSHOT)
        name = root.findtext("name")
        if name is None and redefine:
            raise _xml_error("a redefined snapshot must have a name")
        snap = cls(name=name or "", creation_time=0, description=root.findtext("description"))
        if redefine:
            text = (root.findtext("creationTime") or "").strip()
            try:
                snap.creation_time = int(text)
            except ValueError:
                raise make_error(c.VIR_ERR_INTERNAL_ERROR, "missing creationTime from existing snapshot",
                                 c.VIR_FROM_DOMAIN_SNAPSHOT) from None
            snap.parent = root.findtext("parent/name")
            state = root.findtext("state")
            if state is None:
                raise _xml_error("missing state from existing snapshot")
            if state not in STATES[1:]:
                raise _unsupported(f"Invalid state '{state}' in domain snapshot XML")
            snap.state = state
            offline = state in ("shutoff", "disk-snapshot")
            dom_el = root.find("domain")
            if dom_el is not None and dom_el.get("type"):
                snap.domain = DomainDef.parse(etree.tostring(dom_el))
            inactive = root.find("inactiveDomain")
            if inactive is not None:
                inactive.tag = "domain"
                snap.inactive_domain = DomainDef.parse(etree.tostring(inactive))
        else:
            snap.creation_time = int(time.time()) if now is None else now
            if not snap.name:
                snap.name = str(snap.creation_time)
            if domain is not None:
                snap.domain = domain.copy()
        mem = root.find("memory")
        if mem is not None:
            snap.memory_file = mem.get("file")
            snap.memory = _location(mem, "snapshot")
            if snap.memory == "manual":
                raise _xml_error("'manual' memory snapshot mode not supported")
        if snap.memory == "default":
            if snap.memory_file:
                snap.memory = "external"
            elif redefine:
                snap.memory = "no" if offline else "internal"
        if snap.memory_file and snap.memory != "external":
            raise _xml_error(f"memory filename '{snap.memory_file}' requires external snapshot")
        if not snap.memory_file and snap.memory == "external":
            raise _xml_error("external memory snapshots require a filename")
        if offline and snap.memory not in ("default", "no"):
            raise _xml_error("memory state cannot be saved with offline or disk-only snapshot")
        if snap.memory_file and not snap.memory_file.startswith("/"):
            raise _xml_error(f"memory snapshot file path ({snap.memory_file}) must be absolute")
        disks = root.find("disks")
        if disks is not None:
            snap.disks = [SnapshotDiskDef.parse(d) for d in disks if isinstance(d.tag, str)]
        return snap

    def align_disks(self, default: str = "internal", uniform_internal: bool = True,
                    domain: DomainDef | None = None) -> None:
        """libvirt's virDomainSnapshotAlignDisks: one entry per domain disk, in its order."""
        dom = self.domain or domain
        if dom is None:
            raise make_error(c.VIR_ERR_INTERNAL_ERROR, "missing domain in snapshot", c.VIR_FROM_DOMAIN_SNAPSHOT)
        ddisks = dom.disks
        if len(self.disks) > len(ddisks):
            raise _unsupported("too many disk snapshot requests for domain")
        require_match = uniform_internal and default == "internal"
        if not ddisks:
            return
        chosen: dict[str, SnapshotDiskDef] = {}
        for sdisk in self.disks:
            ddisk = next((d for d in ddisks if d.target == sdisk.name or
                          (d.source is not None and d.source == sdisk.name)), None)
            if ddisk is None:
                raise _unsupported(f"no disk named '{sdisk.name}'")
            if ddisk.target in chosen:
                raise _unsupported(f"disk '{sdisk.name}' specified twice")
            chosen[ddisk.target or ""] = sdisk
            dsnap = _disk_snapshot(ddisk.xml)
            if sdisk.snapshot == "default":
                if dsnap != "default" and (not require_match or dsnap == "no"):
                    sdisk.snapshot = dsnap
                else:
                    sdisk.snapshot = default
            elif require_match and sdisk.snapshot != default and not (sdisk.snapshot == "no" and dsnap == "no"):
                raise _unsupported(f"disk '{sdisk.name}' must use snapshot mode '{default}'")
            if sdisk.source and sdisk.snapshot != "external":
                raise _unsupported(f"file '{sdisk.source}' for disk '{sdisk.name}' requires "
                                   "use of external snapshot mode")
            sdisk.name = ddisk.target or sdisk.name
        aligned: list[SnapshotDiskDef] = []
        for ddisk in ddisks:
            if ddisk.target in chosen:
                aligned.append(chosen[ddisk.target or ""])
                continue
            snapshot = "no" if not ddisk.source else _disk_snapshot(ddisk.xml)
            if snapshot == "default":
                snapshot = default
            aligned.append(SnapshotDiskDef(name=ddisk.target or "", snapshot=snapshot))
        self.disks = aligned
        for i, sdisk in enumerate(self.disks):
            if sdisk.snapshot != "external" or sdisk.source:
                continue
            orig = ddisks[i].source
            if sdisk.type != "file":
                raise _unsupported(f"cannot generate external snapshot name for disk '{sdisk.name}' "
                                   f"on a '{sdisk.type}' device")
            if not orig:
                raise _unsupported(f"cannot generate external snapshot name for disk '{sdisk.name}' "
                                   "without source")
            try:
                regular = stat.S_ISREG(os.stat(orig).st_mode)
            except OSError:
                regular = False
            if not regular:
                raise _unsupported(f"source for disk '{sdisk.name}' is not a regular file; refusing to "
                                   "generate external snapshot name")
            base, dot, ext = orig.rpartition(".")
            stem = base if dot and "/" not in ext else orig
            sdisk.source = f"{stem}.{self.name}"
            for other in self.disks[:i]:
                if other.source == sdisk.source:
                    raise _unsupported(f"cannot generate external snapshot name for disk '{sdisk.name}': "
                                       f"collision with disk '{other.name}'")

    def align_for_create(self, domain_state: str, disk_only: bool = False) -> None:
        """State, memory and disk defaults as libvirt's test driver sets them on create.

        *domain_state* is the domain's state name ('running', 'paused', 'shutoff'...).
        """
        for disk in self.disks:
            if disk.snapshot == "manual":
                raise make_error(c.VIR_ERR_OPERATION_UNSUPPORTED,
                                 "'manual' snapshot mode is not supported by the test driver",
                                 c.VIR_FROM_TEST)
        location = "internal"
        if disk_only:
            location = "external"
            self.state = "disk-snapshot" if domain_state != "shutoff" else "shutoff"
            self.memory = "no"
        elif self.memory == "external":
            self.state = domain_state
            location = "external"
        else:
            self.state = domain_state
            self.memory = "no" if domain_state == "shutoff" else "internal"
        self.align_disks(location, True)

    def to_xml(self, *, secure: bool = False, internal: bool = False, current: bool = False,
               domain_uuid: str | None = None) -> str:
        """The snapshot as libvirt formats it."""
        out = ["<domainsnapshot>"]
        pad = "  "
        out.append(f"{pad}<name>{escape_attr(self.name)}</name>")
        if self.description:
            out.append(f"{pad}<description>{escape_attr(self.description)}</description>")
        if self.state:
            out.append(f"{pad}<state>{self.state}</state>")
        if self.parent:
            out += [f"{pad}<parent>", f"{pad}  <name>{escape_attr(self.parent)}</name>", f"{pad}</parent>"]
        if self.creation_time:
            out.append(f"{pad}<creationTime>{self.creation_time}</creationTime>")
        if self.memory != "default":
            file_attr = f" file='{escape_attr(self.memory_file)}'" if self.memory_file else ""
            out.append(f"{pad}<memory snapshot='{self.memory}'{file_attr}/>")
        if self.disks:
            out.append(f"{pad}<disks>")
            for disk in self.disks:
                disk.format(out, pad + "  ")
            out.append(f"{pad}</disks>")
        if self.domain is not None:
            out += _indented(self.domain.to_xml(inactive=True, secure=secure))
        elif domain_uuid:
            out += [f"{pad}<domain>", f"{pad}  <uuid>{domain_uuid}</uuid>", f"{pad}</domain>"]
        if self.inactive_domain is not None:
            text = self.inactive_domain.to_xml(inactive=True, secure=secure)
            lines = _indented(text)
            lines[0] = lines[0].replace("<domain", "<inactiveDomain", 1)
            lines[-1] = lines[-1].replace("</domain>", "</inactiveDomain>")
            out += lines
        if internal:
            out.append(f"{pad}<active>{1 if current else 0}</active>")
        out.append("</domainsnapshot>")
        return "\n".join(out) + "\n"


def _disk_snapshot(disk: Element) -> str:
    """A domain disk's snapshot mode; read-only and vhost-user disks default to 'no'."""
    value = disk.get("snapshot")
    if value:
        return value
    if disk.find("readonly") is not None or disk.get("type") == "vhostuser":
        return "no"
    return "default"


def _indented(text: str) -> list[str]:
    return ["  " + line for line in text.rstrip("\n").split("\n")]
