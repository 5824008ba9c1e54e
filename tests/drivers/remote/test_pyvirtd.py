"""pyvirt's remote driver against pyvirt's own daemon: the same answers real libvirt-python gets from it."""

from __future__ import annotations

import pytest

import pyvirt.libvirt as pylibvirt

from .test_libvirtd import FACTS, facts

libvirt = pytest.importorskip("libvirt")

def test_facts_through_pyvirtd_match_libvirt_python(pyvirtd: str) -> None:
    ours = facts(pylibvirt, pyvirtd)
    theirs = facts(libvirt, pyvirtd)
    assert "error" not in theirs["cpustats"]  # libvirt-python parses pyvirtd's CPU stats
    assert {k: v for k, v in ours.items() if v != theirs[k]} == {}
