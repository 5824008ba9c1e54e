"""Helpers shared by command modules: object lookup, files, XML, state names."""
from __future__ import annotations

from typing import Any

from lxml import etree

from .options import Cmd
from .shell import Ctl, strtol

STATES = ["no state", "running", "idle", "paused", "in shutdown", "shut off", "crashed",
          "pmsuspended"]
REASONS = [
    ["unknown"],
    ["unknown", "booted", "migrated", "restored", "from snapshot", "unpaused",
     "migration canceled", "save canceled", "event wakeup", "crashed", "post-copy",
     "post-copy failed"],
    ["unknown"],
    ["unknown", "user", "migrating", "saving", "dumping", "I/O error", "watchdog",
     "from snapshot", "shutting down", "creating snapshot", "crashed", "starting up",
     "post-copy", "post-copy failed"],
    ["unknown", "user"],
    ["unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",
     "from snapshot", "daemon"],
    ["unknown", "panicked"],
    ["unknown"],
]

BYID, BYUUID, BYNAME = 1, 2, 4


def state_str(state: int) -> str:
    return STATES[state] if 0 <= state < len(STATES) else "no state"


def reason_str(state: int, reason: int) -> str:
    if 0 <= state < len(REASONS) and 0 <= reason < len(REASONS[state]):
        return REASONS[state][reason]
    return "unknown"


def lookup_domain(ctl: Ctl, name: str, flags: int = BYID | BYUUID | BYNAME) -> Any:
    """virshLookupDomainInternal: try id, uuid, then name; report failure."""
    conn = ctl.conn
    lv = ctl.lv
    dom = None
    if flags & BYID:
        ident = strtol(name, 0, 2**31 - 1)
        if ident is not None:
            try:
                dom = conn.lookupByID(ident)
            except lv.libvirtError:
                dom = None
    if dom is None and flags & BYUUID and len(name) == 36:
        try:
            dom = conn.lookupByUUIDString(name)
        except lv.libvirtError:
            dom = None
    if dom is None and flags & BYNAME:
        try:
            dom = conn.lookupByName(name)
        except lv.libvirtError:
            dom = None
    ctl.reset_error()
    if dom is None:
        raise ctl.fail(f"failed to get domain '{name}'")
    return dom


def opt_domain(ctl: Ctl, cmd: Cmd, flags: int = BYID | BYUUID | BYNAME,
               optname: str = "domain") -> tuple[Any, str]:
    """virshCommandOptDomainBy: the domain named by the option, and the name given."""
    name = ctl.opt_string(cmd, optname)
    if name is None:
        raise ctl.fail(f"Failed to get option '{optname}': Mandatory option not present")
    return lookup_domain(ctl, name, flags), name


def affect_flags(ctl: Ctl, cmd: Cmd) -> tuple[int, bool, bool, bool, bool]:
    """(flags, current, config, live, persistent) of --current/--config/--live/--persistent after
    virsh's exclusivity checks (--persistent means the config too)."""
    lv = ctl.lv
    cur, cfg, live, pers = cmd.bool("current"), cmd.bool("config"), cmd.bool("live"), cmd.bool("persistent")
    ctl.exclusive_var(pers, "persistent", cur, "current")
    ctl.exclusive_var(cur, "current", live, "live")
    ctl.exclusive_var(cur, "current", cfg, "config")
    flags = 0
    if cfg or pers:
        flags |= lv.VIR_DOMAIN_AFFECT_CONFIG
    if live:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    return flags, cur, cfg, live, pers


def read_file(ctl: Ctl, path: str) -> str:
    """virFileReadAll with virsh's error wording."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as exc:
        raise ctl.fail(f"Failed to open file '{path}': {exc.strerror}") from exc


def xpath_print(ctl: Ctl, xml: str, xpath: str | None, wrap: bool) -> bool:
    """virshDumpXML: print XML, or the nodes an XPath selects (optionally wrapped)."""
    if xpath is None:
        ctl.print(xml if xml.endswith("\n") else xml + "\n")
        return True
    doc = etree.fromstring(xml.encode())
    try:
        res = doc.xpath(xpath)
    except etree.XPathError:
        raise ctl.fail(f"Failed to evaluate XPath '{xpath}'")
    if not isinstance(res, list):
        raise ctl.fail(f"internal error: Incorrect xpath '{xpath}'")
    if wrap:
        root = etree.Element("nodes")
        for n in res:
            if isinstance(n, etree._Element):
                root.append(_copy(n))
            elif getattr(n, "is_attribute", False):
                root.set(getattr(n, "attrname"), str(n))
            elif len(root):
                root[-1].tail = (root[-1].tail or "") + str(n)
            else:
                root.text = (root.text or "") + str(n)
        ctl.print(_ser(root) + "\n")
        return True
    for n in res:
        if isinstance(n, etree._Element):
            ctl.print(_ser(_copy(n)) + "\n")
        elif getattr(n, "is_attribute", False):
            value = str(n).replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            ctl.print(f' {getattr(n, "attrname")}="{value}"\n')
        else:
            ctl.print(str(n) + "\n")
    return True


def _xp_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else str(v)
    return str(v)


def _copy(n: Any) -> Any:
    import copy

    c = copy.deepcopy(n)
    c.tail = None
    return c


def _ser(n: Any) -> str:
    etree.indent(n, space="  ")
    return str(etree.tostring(n, encoding="unicode"))


def yes_no(v: Any) -> str:
    return "yes" if v else "no"
