"""pyvirtd's system/session modes: --prefix, --session, the prefix key, socket and pid file places."""

from __future__ import annotations

import pytest

from pyvirt.daemon.config import ConfError, config_from_text
from pyvirt.daemon.main import apply_mode, daemon_mode, default_pidfile


def test_prefix_key() -> None:
    cfg = config_from_text('prefix = "/srv/pv"\n', "/etc/pyvirtd.conf")
    assert cfg.prefix == "/srv/pv" and "prefix" in cfg.given
    with pytest.raises(ConfError, match="/etc/pyvirtd.conf:1: 'prefix' must be an absolute path"):
        config_from_text('prefix = "srv"\n', "/etc/pyvirtd.conf")


def test_prefix_moves_sockets_unless_configured() -> None:
    cfg = config_from_text("", "f")
    apply_mode(cfg, "system", "/srv/pv")
    assert cfg.unix_sock_dir == "/srv/pv/run/libvirt"
    cfg = config_from_text('unix_sock_dir = "/tmp/s"\n', "f")
    apply_mode(cfg, "system", "/srv/pv")
    assert cfg.unix_sock_dir == "/tmp/s"


def test_session_mode_uses_the_user_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    cfg = config_from_text("", "f")
    apply_mode(cfg, "session", None)
    assert cfg.unix_sock_dir == "/run/user/1000/libvirt"
    assert default_pidfile("session") == "/run/user/1000/libvirt/pyvirtd.pid"
    assert default_pidfile("system", "/srv/pv") == "/srv/pv/run/pyvirtd.pid"
    assert default_pidfile("system") == "/run/pyvirtd.pid"


def test_mode_choice() -> None:
    assert daemon_mode(True, None) == "session"
    assert daemon_mode(False, "/srv/pv") == "system"
    import os
    assert daemon_mode(False, None) == ("system" if os.geteuid() == 0 else "session")


def test_remote_driver_declines_local_uris_inside_the_daemon(tmp_path: object) -> None:
    import pyvirt
    from pyvirt.drivers.remote import open_remote, set_inside_daemon
    from pyvirt.uri import parse_uri
    set_inside_daemon(True)
    try:
        assert open_remote(parse_uri("qemu:///system"), False) is None
        assert open_remote(parse_uri("qemu+unix:///session"), False) is None
        # an explicit socket (or a host) is another daemon: allowed, and here nothing listens
        with pytest.raises(pyvirt.LibvirtError, match="Failed to connect socket to '/nonexistent/sock'"):
            open_remote(parse_uri("qemu+unix:///system?socket=/nonexistent/sock"), False)
    finally:
        set_inside_daemon(False)
