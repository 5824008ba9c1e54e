"""Domain management commands: define, start, stop, save, memory, vcpus, XML."""
from __future__ import annotations

from typing import Any

from .options import Cmd, command
from .shell import Ctl
from .util import BYID, BYNAME, BYUUID, opt_domain, read_file, xpath_print


def _affect(ctl: Ctl, cmd: Cmd, current_name: str = "current") -> int:
    """The usual --config/--live/--current trio (VIRSH_COMMON_OPT_*)."""
    lv = ctl.lv
    config, live, current = cmd.bool("config"), cmd.bool("live"), cmd.bool(current_name)
    ctl.exclusive_var(current, "current", live, "live")
    ctl.exclusive_var(current, "current", config, "config")
    flags = lv.VIR_DOMAIN_AFFECT_CURRENT
    if config:
        flags |= lv.VIR_DOMAIN_AFFECT_CONFIG
    if live:
        flags |= lv.VIR_DOMAIN_AFFECT_LIVE
    return int(flags)


@command("domname")
def cmd_domname(ctl: Ctl, cmd: Cmd) -> bool:
    dom, _ = opt_domain(ctl, cmd, BYID | BYUUID)
    ctl.print(f"{dom.name()}\n")
    return True


@command("domid")
def cmd_domid(ctl: Ctl, cmd: Cmd) -> bool:
    dom, _ = opt_domain(ctl, cmd, BYNAME | BYUUID)
    ident = dom.ID()
    ctl.print("-\n" if ident in (-1, 2**32 - 1) else f"{ident}\n")
    return True


@command("domuuid")
def cmd_domuuid(ctl: Ctl, cmd: Cmd) -> bool:
    dom, _ = opt_domain(ctl, cmd, BYNAME | BYID)
    ctl.print(f"{dom.UUIDString()}\n")
    return True


@command("dumpxml")
def cmd_dumpxml(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    flags = 0
    for opt, flag in [("inactive", "INACTIVE"), ("security-info", "SECURE"),
                      ("update-cpu", "UPDATE_CPU"), ("migratable", "MIGRATABLE")]:
        if cmd.bool(opt):
            flags |= getattr(lv, f"VIR_DOMAIN_XML_{flag}")
    dom, _ = opt_domain(ctl, cmd)
    xpath = ctl.opt_string_quiet(cmd, "xpath")
    xml = dom.XMLDesc(flags)
    return xpath_print(ctl, xml, xpath, cmd.bool("wrap"))


@command("define")
def cmd_define(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    xml = read_file(ctl, path)
    flags = lv.VIR_DOMAIN_DEFINE_VALIDATE if cmd.bool("validate") else 0
    with ctl.failing(f"Failed to define domain from {path}"):
        dom = ctl.conn.defineXMLFlags(xml, flags) if flags else ctl.conn.defineXML(xml)
    ctl.print_extra(f"Domain '{dom.name()}' defined from {path}\n")
    return True


@command("create")
def cmd_create(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    path = ctl.opt_string(cmd, "file")
    assert path is not None
    xml = read_file(ctl, path)
    flags = 0
    for opt, flag in [("paused", "PAUSED"), ("autodestroy", "AUTODESTROY"),
                      ("validate", "VALIDATE"), ("reset-nvram", "RESET_NVRAM")]:
        if cmd.bool(opt):
            flags |= getattr(lv, f"VIR_DOMAIN_START_{flag}")
    with ctl.failing(f"Failed to create domain from {path}"):
        dom = ctl.conn.createXML(xml, flags)
    ctl.print_extra(f"Domain '{dom.name()}' created from {path}\n")
    return True


@command("start")
def cmd_start(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    dom, _ = opt_domain(ctl, cmd, BYNAME | BYUUID)
    if dom.ID() not in (-1, 2**32 - 1):
        raise ctl.fail("Domain is already active")
    flags = 0
    for opt, flag in [("paused", "PAUSED"), ("autodestroy", "AUTODESTROY"),
                      ("bypass-cache", "BYPASS_CACHE"), ("force-boot", "FORCE_BOOT"),
                      ("reset-nvram", "RESET_NVRAM")]:
        if cmd.bool(opt):
            flags |= getattr(lv, f"VIR_DOMAIN_START_{flag}")
    name = dom.name()
    try:
        if flags:
            try:
                dom.createWithFlags(flags)
            except lv.libvirtError as exc:
                if not flags & lv.VIR_DOMAIN_START_FORCE_BOOT:
                    raise
                if exc.get_error_code() not in (lv.VIR_ERR_NO_SUPPORT, lv.VIR_ERR_INVALID_ARG):
                    ctl.save_error(exc)
                    return False
                try:
                    has_save = dom.hasManagedSaveImage(0)
                except lv.libvirtError:
                    has_save = 0
                if has_save > 0:
                    try:
                        dom.managedSaveRemove(0)
                    except lv.libvirtError as exc2:
                        ctl.save_error(exc2)
                        return False
                flags &= ~lv.VIR_DOMAIN_START_FORCE_BOOT
                dom.createWithFlags(flags) if flags else dom.create()
        else:
            dom.create()
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        raise ctl.fail(f"Failed to start domain '{name}'") from exc
    ctl.print_extra(f"Domain '{name}' started\n")
    return True


@command("destroy")
def cmd_destroy(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    dom, name = opt_domain(ctl, cmd)
    flags = 0
    if cmd.bool("graceful"):
        flags |= lv.VIR_DOMAIN_DESTROY_GRACEFUL
    if cmd.bool("remove-logs"):
        flags |= lv.VIR_DOMAIN_DESTROY_REMOVE_LOGS
    with ctl.failing(f"Failed to destroy domain '{name}'"):
        dom.destroyFlags(flags) if flags else dom.destroy()
    ctl.print_extra(f"Domain '{name}' destroyed\n")
    return True


_SHUTDOWN_MODES = {"acpi": "ACPI_POWER_BTN", "agent": "GUEST_AGENT", "initctl": "INITCTL",
                   "signal": "SIGNAL", "paravirt": "PARAVIRT"}


def _modes(ctl: Ctl, cmd: Cmd, prefix: str) -> int:
    mode = ctl.opt_string(cmd, "mode")
    flags = 0
    if mode is None:
        return 0
    for m in mode.split(","):
        if m in _SHUTDOWN_MODES:
            flags |= getattr(ctl.lv, f"{prefix}_{_SHUTDOWN_MODES[m]}")
        else:
            raise ctl.fail(f"Unknown mode {m} value, expecting 'acpi', 'agent', "
                           "'initctl', 'signal', or 'paravirt'")
    return flags


@command("shutdown")
def cmd_shutdown(ctl: Ctl, cmd: Cmd) -> bool:
    flags = _modes(ctl, cmd, "VIR_DOMAIN_SHUTDOWN")
    dom, name = opt_domain(ctl, cmd)
    with ctl.failing(f"Failed to shutdown domain '{name}'"):
        dom.shutdownFlags(flags) if flags else dom.shutdown()
    ctl.print_extra(f"Domain '{name}' is being shutdown\n")
    return True


@command("reboot")
def cmd_reboot(ctl: Ctl, cmd: Cmd) -> bool:
    flags = _modes(ctl, cmd, "VIR_DOMAIN_REBOOT")
    dom, name = opt_domain(ctl, cmd)
    with ctl.failing(f"Failed to reboot domain '{name}'"):
        dom.reboot(flags)
    ctl.print_extra(f"Domain '{name}' is being rebooted\n")
    return True


def _simple(verb: str, method: str, done: str) -> None:
    def handler(ctl: Ctl, cmd: Cmd) -> bool:
        dom, name = opt_domain(ctl, cmd)
        with ctl.failing(f"Failed to {verb} domain '{name}'"):
            fn = getattr(dom, method)
            fn(0) if method == "reset" else fn()
        ctl.print_extra(f"Domain '{name}' {done}\n")
        return True

    command(verb)(handler)


_simple("reset", "reset", "was reset")
_simple("suspend", "suspend", "suspended")
_simple("resume", "resume", "resumed")


@command("autostart")
def cmd_autostart(ctl: Ctl, cmd: Cmd) -> bool:
    dom, name = opt_domain(ctl, cmd)
    enable = not cmd.bool("disable")
    msg = (f"Failed to mark domain '{name}' as autostarted" if enable
           else f"Failed to unmark domain '{name}' as autostarted")
    with ctl.failing(msg):
        dom.setAutostart(1 if enable else 0)
    if enable:
        ctl.print_extra(f"Domain '{name}' marked as autostarted\n")
    else:
        ctl.print_extra(f"Domain '{name}' unmarked as autostarted\n")
    return True


@command("domrename")
def cmd_domrename(ctl: Ctl, cmd: Cmd) -> bool:
    dom, _ = opt_domain(ctl, cmd)
    new = ctl.opt_string(cmd, "new-name")
    dom.rename(new, 0)
    ctl.print_extra("Domain successfully renamed\n")
    return True


@command("save")
def cmd_save(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    dom, name = opt_domain(ctl, cmd)
    to = ctl.opt_string(cmd, "file")
    flags = 0
    if cmd.bool("bypass-cache"):
        flags |= lv.VIR_DOMAIN_SAVE_BYPASS_CACHE
    if cmd.bool("running"):
        flags |= lv.VIR_DOMAIN_SAVE_RUNNING
    if cmd.bool("paused"):
        flags |= lv.VIR_DOMAIN_SAVE_PAUSED
    xmlfile = ctl.opt_string(cmd, "xml")
    xml = read_file(ctl, xmlfile) if xmlfile else None
    with ctl.failing(f"Failed to save domain '{name}' to {to}"):
        if flags or xml:
            dom.saveFlags(to, xml, flags)
        else:
            dom.save(to)
    ctl.print_extra(f"\nDomain '{name}' saved to {to}\n")
    return True


@command("restore")
def cmd_restore(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    src = ctl.opt_string(cmd, "file")
    flags = 0
    for opt, flag in [("bypass-cache", "BYPASS_CACHE"), ("running", "RUNNING"),
                      ("paused", "PAUSED"), ("reset-nvram", "RESET_NVRAM")]:
        if cmd.bool(opt):
            flags |= getattr(lv, f"VIR_DOMAIN_SAVE_{flag}")
    xmlfile = ctl.opt_string(cmd, "xml")
    xml = read_file(ctl, xmlfile) if xmlfile else None
    with ctl.failing(f"Failed to restore domain from {src}"):
        if flags or xml:
            ctl.conn.restoreFlags(src, xml, flags)
        else:
            ctl.conn.restore(src)
    ctl.print_extra(f"Domain restored from {src}\n")
    return True


@command("managedsave")
def cmd_managedsave(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    flags = 0
    if cmd.bool("bypass-cache"):
        flags |= lv.VIR_DOMAIN_SAVE_BYPASS_CACHE
    if cmd.bool("running"):
        flags |= lv.VIR_DOMAIN_SAVE_RUNNING
    if cmd.bool("paused"):
        flags |= lv.VIR_DOMAIN_SAVE_PAUSED
    dom, name = opt_domain(ctl, cmd)
    with ctl.failing(f"Failed to save domain '{name}' state"):
        dom.managedSave(flags)
    ctl.print_extra(f"\nDomain '{name}' state saved by libvirt\n")
    return True


@command("managedsave-remove")
def cmd_managedsave_remove(ctl: Ctl, cmd: Cmd) -> bool:
    dom, name = opt_domain(ctl, cmd)
    with ctl.failing("Failed to check for domain managed save image"):
        has = dom.hasManagedSaveImage(0)
    if not has:
        ctl.print_extra(f"Domain '{name}' has no manage save image; removal skipped")
        return True
    with ctl.failing(f"Failed to remove managed save image for domain '{name}'"):
        dom.managedSaveRemove(0)
    ctl.print_extra(f"Removed managedsave image for domain '{name}'")
    return True


def _setmem(ctl: Ctl, cmd: Cmd, maximum: bool) -> bool:
    lv = ctl.lv
    flags = _affect(ctl, cmd)
    dom, _ = opt_domain(ctl, cmd)
    limit = (2**64 - 1)
    size = ctl.opt_scaled(cmd, "size", 1024, limit)
    assert size is not None
    kib = size // 1024 if size % 1024 == 0 else size // 1024 + 1
    if maximum:
        with ctl.failing("Unable to change MaxMemorySize"):
            if flags == lv.VIR_DOMAIN_AFFECT_CURRENT:
                dom.setMaxMemory(kib)
            else:
                dom.setMemoryFlags(kib, flags | lv.VIR_DOMAIN_MEM_MAXIMUM)
    else:
        if flags == lv.VIR_DOMAIN_AFFECT_CURRENT:
            dom.setMemory(kib)
        else:
            dom.setMemoryFlags(kib, flags)
    return True


@command("setmem")
def cmd_setmem(ctl: Ctl, cmd: Cmd) -> bool:
    return _setmem(ctl, cmd, False)


@command("setmaxmem")
def cmd_setmaxmem(ctl: Ctl, cmd: Cmd) -> bool:
    return _setmem(ctl, cmd, True)


def _unused(x: Any) -> None:
    return None
