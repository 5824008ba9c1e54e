"""pyvirt's remote driver against pyvirt's own daemon: the same answers real libvirt-python gets from it."""

from __future__ import annotations

from typing import Any

import pytest

import pyvirt.libvirt as pylibvirt

from .test_libvirtd import _facts

libvirt = pytest.importorskip("libvirt")


def test_facts_through_pyvirtd_match_libvirt_python(pyvirtd: str) -> None:
    ours = _facts(pylibvirt, pyvirtd)
    theirs = _facts(libvirt, pyvirtd)
    diff = [k for k in theirs if ours.get(k) != theirs[k]]
    assert diff == []
