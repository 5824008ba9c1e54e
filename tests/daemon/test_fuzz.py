"""Garbage at a running pyvirtd: it answers or hangs up, and keeps serving everyone else."""

from __future__ import annotations

import socket
import struct
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvirt.rpc import pack_packet as pack_frame

from .conftest import REMOTE, Daemon, RawClient, start_pyvirtd, virsh

_PROCS = st.integers(min_value=-5, max_value=460)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = start_pyvirtd(tmp_path_factory.mktemp("fuzz"), max_clients=50)
    yield d
    assert d.stop() == 0


def _frame(prog: int, proc: int, type_: int, status: int, payload: bytes) -> bytes:
    return pack_frame(prog, 1, proc, type_, 0, status, payload)


packets = st.one_of(
    st.binary(max_size=200),                                                       # raw noise
    st.builds(lambda n, rest: struct.pack(">I", n) + rest,                          # lying lengths
              st.integers(min_value=0, max_value=2**32 - 1), st.binary(max_size=64)),
    st.builds(_frame, st.sampled_from([REMOTE, 0x6B656570, 0x20008087, 0, 0xFFFFFFFF]), _PROCS,
              st.integers(min_value=-1, max_value=8), st.integers(min_value=-1, max_value=3),
              st.binary(max_size=128)),                                             # framed junk
    st.builds(lambda procs, payload: b"".join(_frame(REMOTE, p, 0, 0, payload) for p in procs),
              st.lists(_PROCS, max_size=6), st.binary(max_size=48)),                # pipelined junk calls
)


def _open_then(preamble: bool) -> bytes:
    """AUTH_LIST and CONNECT_OPEN test:///default, so junk also reaches the driver paths."""
    if not preamble:
        return b""
    name = b"test:///default"
    args = struct.pack(">II", 1, len(name)) + name + b"\0" * (-len(name) % 4) + struct.pack(">I", 0)
    return _frame(REMOTE, 66, 0, 0, b"") + _frame(REMOTE, 1, 0, 0, args)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=packets, preamble=st.booleans(), ro=st.booleans())
def test_garbage_then_normal_client(daemon: Daemon, junk: bytes, preamble: bool, ro: bool) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(daemon.ro if ro else daemon.rw)
    try:
        s.sendall(_open_then(preamble) + junk)
        s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(65536):  # read whatever comes back until the daemon hangs up
                pass
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    assert daemon.proc.poll() is None
    _normal_client(daemon)


def _normal_client(daemon: Daemon) -> None:
    cl = RawClient(daemon.rw)
    try:
        cl.send_raw(_open_then(True))
        assert cl.recv()[0][5] == 0 and cl.recv()[0][5] == 0
        hdr, body = cl.call(3)
        assert hdr[5] == 0 and body == struct.pack(">I", 4) + b"TEST"
    finally:
        cl.close()


def test_still_serving_virsh_after_garbage(daemon: Daemon) -> None:
    for junk in (b"\xff" * 64, struct.pack(">I", 40) + b"\0" * 8, _frame(REMOTE, 16, 0, 0, b"\x01\x02")):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(daemon.rw)
        s.sendall(junk)
        s.close()
    r = virsh(daemon.uri(), "dominfo", "test")
    assert r.returncode == 0, r.stderr
    assert "Name:           test" in r.stdout
