"""libvirtd.conf parsing: virConf syntax, key types, libvirt-worded errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyvirt import constants as c
from pyvirt.daemon.config import (AUTH_NONE, AUTH_POLKIT, ConfError, config_from_text, load_config,
                                  parse_conf)

DATA = Path(__file__).parent.parent / "data" / "daemon"


def test_syntax_values_and_lines() -> None:
    text = ('# comment\n'
            'a = "x y"  # trailing\n'
            "b = 'q'; c = -12\n"
            'd = [ "1",\n  "2", ]\n'
            'e = """multi\nline"""\n'
            'f = +7\n')
    got = parse_conf(text, "f.conf")
    assert got == {"a": ("x y", 2), "b": ("q", 3), "c": (-12, 3), "d": (["1", "2"], 4),
                   "e": ("multi\nline", 6), "f": (7, 8)}


@pytest.mark.parametrize("text,message", [
    ("x = ", "configuration file syntax error: f.conf:1: expecting a value"),
    ("\n\nx", "configuration file syntax error: f.conf:3: expecting an assignment"),
    ('x = "abc', "configuration file syntax error: f.conf:1: unterminated string"),
    ("x = [ 1 2 ]", "configuration file syntax error: f.conf:1: expecting a separator in list"),
    ("x = [ 1 ", "configuration file syntax error: f.conf:1: list is not closed with ]"),
    ("x = [ 1, ", "configuration file syntax error: f.conf:1: expecting a value"),
    ("x = 1 y = 2", "configuration file syntax error: f.conf:1: expecting a separator"),
    ("1x = 2", "configuration file syntax error: f.conf:1: expecting a name"),
    ("x = -", "configuration file syntax error: f.conf:1: unterminated number"),
])
def test_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(ConfError) as exc:
        parse_conf(text, "f.conf")
    assert exc.value.message == message
    assert exc.value.code == c.VIR_ERR_CONF_SYNTAX
    assert exc.value.domain == c.VIR_FROM_CONF


def test_settings_and_defaults() -> None:
    cfg = config_from_text('listen_tcp = 1\nauth_tcp = "none"\ntcp_port = "1234"\n'
                           'tls_allowed_dn_list = ["C=GB,*"]\nmax_workers = 3\n'
                           'unix_sock_dir = "/tmp/x"\nauth_unix_rw = "polkit"\n', "l.conf")
    assert cfg.listen_tcp is True and cfg.listen_tls is True
    assert cfg.auth_tcp == AUTH_NONE and cfg.auth_unix_rw == AUTH_POLKIT
    assert cfg.unix_sock_rw_perms == "0777"  # polkit widens the rw socket like libvirtd
    assert cfg.tcp_port == "1234" and cfg.tls_port == "16514"
    assert cfg.tls_allowed_dn_list == ["C=GB,*"]
    assert cfg.max_workers == 3 and cfg.max_client_requests == 5 and cfg.max_clients == 5000
    assert cfg.unix_sock_dir == "/tmp/x"


@pytest.mark.parametrize("text,code,message", [
    ('listen_tcp = "yes"', c.VIR_ERR_INTERNAL_ERROR,
     "internal error: l.conf:1: expected a bool for 'listen_tcp' parameter"),
    ("listen_tcp = 2", c.VIR_ERR_INTERNAL_ERROR,
     "internal error: l.conf:1: value for 'listen_tcp' parameter must be 0 or 1"),
    ('\nmax_clients = "5"', c.VIR_ERR_INTERNAL_ERROR,
     "internal error: l.conf:2: expected an unsigned integer for 'max_clients' parameter"),
    ("unix_sock_dir = 5", c.VIR_ERR_INTERNAL_ERROR,
     "internal error: l.conf:1: expected a string for 'unix_sock_dir' parameter"),
    ("tls_allowed_dn_list = [1]", c.VIR_ERR_CONF_SYNTAX,
     "configuration file syntax error: l.conf:1: expected a string list for 'tls_allowed_dn_list' parameter"),
    ('auth_tcp = "krb"', c.VIR_ERR_CONFIG_UNSUPPORTED,
     "unsupported configuration: l.conf:1: auth_tcp: unsupported auth krb"),
    ('auth_tcp = "sasl"', c.VIR_ERR_CONFIG_UNSUPPORTED,
     "unsupported configuration: l.conf:1: auth_tcp: unsupported auth sasl"),
    ("bogus_key = 1", c.VIR_ERR_CONF_SYNTAX,
     "configuration file syntax error: l.conf:1: unknown setting 'bogus_key'"),
    ("max_workers = 0", c.VIR_ERR_INTERNAL_ERROR, "internal error: 'max_workers' must be greater than 0"),
])
def test_bad_settings(text: str, code: int, message: str) -> None:
    with pytest.raises(ConfError) as exc:
        config_from_text(text, "l.conf")
    assert exc.value.code == code
    assert exc.value.message == message


def test_admin_settings_ignored_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    cfg = config_from_text("admin_max_workers = 4\n", "l.conf")
    assert cfg.max_workers == 20
    assert "admin_max_workers" in caplog.text


def test_full_conf_file() -> None:
    """A libvirtd.conf setting every supported key, in the documented example style."""
    cfg = load_config(str(DATA / "libvirtd-full.conf"))
    assert (cfg.listen_tls, cfg.listen_tcp, cfg.listen_addr) == (False, True, "127.0.0.1")
    assert (cfg.tcp_port, cfg.tls_port) == ("16609", "16614")
    assert cfg.unix_sock_group == "libvirt" and cfg.unix_sock_ro_perms == "0777"
    assert cfg.tls_allowed_dn_list == ["DN1", "DN2"]
    assert (cfg.max_clients, cfg.max_anonymous_clients, cfg.max_workers, cfg.max_client_requests) == (50, 10, 7, 3)
    assert (cfg.keepalive_interval, cfg.keepalive_count) == (-1, 3)
    assert cfg.log_outputs == "3:syslog:libvirtd"


def test_debian_libvirtd_conf_parses() -> None:
    """Debian's shipped libvirtd.conf (all comments) gives the defaults."""
    import os
    path = "/etc/libvirt/libvirtd.conf"
    if not os.path.exists(path):
        pytest.skip("libvirt-daemon's libvirtd.conf not installed")
    assert load_config(path).max_workers == 20


def test_missing_file() -> None:
    with pytest.raises(ConfError) as exc:
        load_config("/nonexistent/libvirtd.conf")
    assert "Failed to open file '/nonexistent/libvirtd.conf'" in exc.value.message
