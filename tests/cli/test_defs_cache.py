"""The marshal copy of cmddefs.json gives the same definitions, and a stale copy is ignored."""

from __future__ import annotations

import json
import marshal
from pathlib import Path

import pytest

from pyvirt.cli import options


def _json() -> dict:
    return json.loads(Path(options._DEFS).read_text(encoding="utf-8"))


def test_cache_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(options, "_CACHE", str(tmp_path / "defs.marshal"))
    assert options.write_defs_cache()
    cached = options._read_defs()
    want = _json()
    assert set(cached) == set(want)
    assert cached["groups"] == want["groups"] and cached["command_aliases"] == want["command_aliases"]
    table = options.CommandTable(cached["commands"])
    plain = options.CommandTable(want["commands"])
    assert list(table) == list(plain)
    for name in plain:
        assert table[name] == plain[name]


def test_stale_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "defs.marshal"
    monkeypatch.setattr(options, "_CACHE", str(cache))
    cache.write_bytes(marshal.dumps(((0, 0), {"commands": {}, "groups": [], "command_aliases": {}})))
    assert options._read_defs() == _json()


def test_unwritable_cache_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(options, "_CACHE", str(tmp_path / "missing-dir-file" / "x" / "defs.marshal"))
    (tmp_path / "missing-dir-file").write_text("not a directory")
    assert not options.write_defs_cache()
    assert options._read_defs() == _json()
