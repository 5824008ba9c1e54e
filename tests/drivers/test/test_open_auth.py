"""openAuth with libvirt-python's [credtypes, callback, opaque] against a <node> file with <auth>,
compared with real libvirt-python on the same file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

import pyvirt.libvirt as pv

real = pytest.importorskip("libvirt")

NODE = "<node><auth><user password='pw'>alice</user><user>bob</user></auth></node>"


def _cb(user: str | None, pw: str | None, seen: list[tuple[Any, ...]], ret: int = 0) -> Callable[..., int]:
    def cb(creds: list[list[Any]], opaque: Any) -> int:
        for cred in creds:
            seen.append((cred[0], cred[1], cred[2], cred[3], opaque))
            if cred[0] == pv.VIR_CRED_AUTHNAME:
                cred[4] = user
            elif cred[0] in (pv.VIR_CRED_PASSPHRASE, pv.VIR_CRED_NOECHOPROMPT):
                cred[4] = pw
        return ret
    return cb


CASES = {
    "right-password": ([pv.VIR_CRED_AUTHNAME, pv.VIR_CRED_PASSPHRASE], "alice", "pw", 0),
    "wrong-password": ([pv.VIR_CRED_AUTHNAME, pv.VIR_CRED_PASSPHRASE], "alice", "bad", 0),
    "unknown-user": ([pv.VIR_CRED_AUTHNAME, pv.VIR_CRED_PASSPHRASE], "zed", "pw", 0),
    "user-without-password": ([pv.VIR_CRED_AUTHNAME, pv.VIR_CRED_PASSPHRASE], "bob", None, 0),
    "noecho-password": ([pv.VIR_CRED_AUTHNAME, pv.VIR_CRED_NOECHOPROMPT], "alice", "pw", 0),
    "no-passphrase-type": ([pv.VIR_CRED_AUTHNAME], "alice", "pw", 0),
    "no-authname-type": ([pv.VIR_CRED_PASSPHRASE], "alice", "pw", 0),
    "callback-fails": ([pv.VIR_CRED_AUTHNAME, pv.VIR_CRED_PASSPHRASE], "alice", "pw", -1),
}


def _attempt(lib: Any, uri: str, types: list[int], user: str, pw: str | None,
             ret: int) -> tuple[Any, ...]:
    seen: list[tuple[Any, ...]] = []
    try:
        conn = lib.openAuth(uri, [types, _cb(user, pw, seen, ret), "opaque"], 0)
    except lib.libvirtError as exc:
        return ("error", exc.get_error_code(), exc.get_error_domain(), str(exc), seen)
    try:
        return ("ok", conn.getURI(), seen)
    finally:
        conn.close()


@pytest.mark.parametrize("case", sorted(CASES))
def test_open_auth_cred_list_matches_libvirt(case: str, tmp_path: Path) -> None:
    node = tmp_path / "auth.xml"
    node.write_text(NODE)
    uri = f"test://{node}"
    real.registerErrorHandler(lambda *a: None, None)
    try:
        expected = _attempt(real, uri, *CASES[case])
    finally:
        real.registerErrorHandler(None, None)
    assert _attempt(pv, uri, *CASES[case]) == expected


def test_open_auth_cred_list_outcomes(tmp_path: Path) -> None:
    """Without the oracle's help: the right password opens, a wrong one is libvirt's error."""
    node = tmp_path / "auth.xml"
    node.write_text(NODE)
    uri = f"test://{node}"
    ok = _attempt(pv, uri, *CASES["right-password"])
    assert ok[0] == "ok" and ok[1] == uri
    bad = _attempt(pv, uri, *CASES["wrong-password"])
    assert bad[:3] == ("error", pv.VIR_ERR_AUTH_FAILED, pv.VIR_FROM_TEST)
    assert "see test XML for the correct username/password" in bad[3]


def test_open_without_credentials_on_auth_file(tmp_path: Path) -> None:
    node = tmp_path / "auth.xml"
    node.write_text(NODE)
    with pytest.raises(pv.libvirtError) as exc:
        pv.open(f"test://{node}")
    assert exc.value.get_error_code() == pv.VIR_ERR_INVALID_ARG
    assert exc.value.get_error_domain() == pv.VIR_FROM_AUTH
    assert str(exc.value) == "invalid argument: Missing authentication credentials"
