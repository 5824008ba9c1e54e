"""Fuzzing the packet reader and the XDR decoders: any input either decodes or raises ProtocolError.

Memory: decoders check every announced count against the bytes that remain, so a
small input can never make them allocate much; the resource limit below makes
a regression fail loudly instead of swapping.
"""

from __future__ import annotations

import resource
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvirt import rpc
from pyvirt.drivers.base import DomainRef

# Every payload struct of every procedure, plus the error struct and typed parameters.
_TYPES = sorted({t for p in rpc.procedures() for t in (p.args_type, p.ret_type) if t}
                | {"remote_error", "remote_typed_param", "virNetStreamHole"})
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def _memory_cap() -> object:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = 4 << 30
    if soft == resource.RLIM_INFINITY or soft > cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _decode_or_protocol_error(type_name: str, data: bytes) -> None:
    try:
        rpc.codec(type_name).decode(data)
    except rpc.ProtocolError:
        pass


@FUZZ
@given(st.sampled_from(_TYPES), st.binary(max_size=512))
def test_random_payloads(type_name: str, data: bytes) -> None:
    _decode_or_protocol_error(type_name, data)


@FUZZ
@given(st.sampled_from(_TYPES), st.lists(st.integers(0, 0xFFFFFFFF), max_size=64))
def test_random_words(type_name: str, words: list[int]) -> None:
    # word-aligned garbage reaches deeper into structs than random bytes
    _decode_or_protocol_error(type_name, struct.pack(f">{len(words)}I", *words))


@FUZZ
@given(st.sampled_from([0, 1, 2, 3, 0x7FFFFFFF, 0xFFFFFFFF, 16384, 16385, 4194304, 4194305]),
       st.sampled_from(_TYPES), st.integers(0, 40))
def test_huge_counts_never_allocate(count: int, type_name: str, position: int) -> None:
    data = bytearray(struct.pack(">I", 1) * 16)
    data[position:position + 4] = struct.pack(">I", count)
    _decode_or_protocol_error(type_name, bytes(data))


def _valid_samples() -> list[tuple[str, bytes]]:
    dom = DomainRef("vm-1", bytes(range(16)), 3)
    out = [
        ("remote_connect_list_all_domains_ret", rpc.codec("remote_connect_list_all_domains_ret").encode(([dom] * 3, 3))),
        ("remote_error", rpc.encode_error(rpc.ProtocolError("x"))),
        ("remote_domain_get_scheduler_parameters_flags_ret",
         rpc.codec("remote_domain_get_scheduler_parameters_flags_ret").encode(
             (rpc.params_to_wire({"a": 1, "b": "two", "c": 2.5, "d": True}),))),
        ("remote_node_get_info_ret", rpc.codec("remote_node_get_info_ret").encode(("x86_64", 1, 2, 3, 4, 5, 6, 7))),
        ("remote_domain_event_callback_lifecycle_msg",
         rpc.codec("remote_domain_event_callback_lifecycle_msg").encode((1, (dom, 2, 0)))),
    ]
    return out


@FUZZ
@given(st.sampled_from(_valid_samples()), st.data())
def test_mutated_valid_encodings(sample: tuple[str, bytes], data: st.DataObject) -> None:
    type_name, raw = sample
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    _decode_or_protocol_error(type_name, bytes(buf[:cut]))


@FUZZ
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_packet_reader_on_random_streams(chunks: list[bytes]) -> None:
    reader = rpc.PacketReader()
    try:
        for chunk in chunks:
            for hdr, payload in reader.feed(chunk):
                assert isinstance(hdr, rpc.Header) and isinstance(payload, bytes)
    except rpc.ProtocolError:
        return
    assert reader.pending < 32 * 1024 * 1024 + 4


@FUZZ
@given(st.integers(0, 0xFFFFFFFF), st.binary(max_size=40))
def test_packet_reader_length_word(length: int, rest: bytes) -> None:
    reader = rpc.PacketReader()
    try:
        packets = reader.feed(struct.pack(">I", length) + rest)
    except rpc.ProtocolError:
        assert length < 28 or length - 4 > rpc.MESSAGE_MAX
        return
    assert 28 <= length <= rpc.MESSAGE_MAX + 4
    if length - 4 <= len(rest):
        assert len(packets) == 1 and len(packets[0][1]) == length - 28
    else:
        assert packets == []  # waits for the rest, holding only what it got
        assert reader.pending == len(rest)
