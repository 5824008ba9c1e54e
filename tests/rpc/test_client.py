"""The RPC client against a scripted in-process peer: serial matching, keepalive, events, streams,
broken peers. Waits are bounded; nothing here may hang."""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import Callable

import pytest

from pyvirt import constants as c
from pyvirt import rpc
from pyvirt.errors import LibvirtError
from pyvirt.rpc.client import Client, Endpoint

Handler = Callable[["Peer", rpc.Header, bytes], None]


class Peer:
    """The server end of a socketpair, run by a thread calling *handler* per packet."""

    def __init__(self, handler: Handler) -> None:
        self.sock, theirs = socket.socketpair()
        self.handler = handler
        self.seen: list[rpc.Header] = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.client_end = theirs

    def _run(self) -> None:
        reader = rpc.PacketReader()
        while not self.stop:
            try:
                ready, _, _ = select.select([self.sock], [], [], 0.2)
                if not ready:
                    continue
                data = self.sock.recv(65536)
            except (OSError, ValueError):
                return
            if not data:
                return
            for hdr, payload in reader.feed(data):
                self.seen.append(hdr)
                self.handler(self, hdr, payload)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        self.stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def make(handler: Handler, **kw: object) -> tuple[Peer, Client]:
    peer = Peer(handler)
    client = Client(Endpoint(peer.client_end, "socketpair"), **kw)  # type: ignore[arg-type]
    return peer, client


GET_TYPE = rpc.procedure_by_name("CONNECT_GET_TYPE")
LOOKUP = rpc.procedure_by_name("DOMAIN_LOOKUP_BY_NAME")


def answer_type(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
    if hdr.type == rpc.CALL and hdr.proc == GET_TYPE.number:
        peer.send(rpc.reply_packet(hdr, GET_TYPE.encode_ret(("FAKE",))))


def test_call_and_serials_start_at_zero() -> None:
    peer, client = make(answer_type)
    try:
        assert client.call(GET_TYPE).type == "FAKE"
        assert client.call(GET_TYPE).type == "FAKE"
        assert [h.serial for h in peer.seen] == [0, 1]
    finally:
        client.close()
        peer.close()


def test_replies_out_of_order_reach_their_callers() -> None:
    held: list[rpc.Header] = []

    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        name = LOOKUP.decode_args(payload).name
        if name == "first":
            held.append(hdr)  # answered after the second call
            return
        peer.send(rpc.reply_packet(hdr, LOOKUP.encode_ret(((name, bytes(16), 2),))))
        for h in held:
            peer.send(rpc.reply_packet(h, LOOKUP.encode_ret((("first", bytes(16), 1),))))

    peer, client = make(handler)
    try:
        results: dict[str, object] = {}
        t = threading.Thread(target=lambda: results.setdefault("first", client.call(LOOKUP, ("first",), 10)))
        t.start()
        while not held:
            threading.Event().wait(0.01)
        assert client.call(LOOKUP, ("second",), 10).dom.id == 2
        t.join(10)
        assert results["first"].dom.id == 1  # type: ignore[attr-defined]
    finally:
        client.close()
        peer.close()


def test_error_reply_and_unknown_procedure_rewrite() -> None:
    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        if hdr.proc == LOOKUP.number:
            peer.send(rpc.error_packet(hdr, LibvirtError("Domain not found", c.VIR_ERR_NO_DOMAIN, c.VIR_FROM_TEST)))
        else:
            err = LibvirtError(f"unknown procedure: {hdr.proc}", c.VIR_ERR_RPC, c.VIR_FROM_RPC)
            peer.send(rpc.error_packet(hdr, err))

    peer, client = make(handler)
    try:
        with pytest.raises(LibvirtError) as info:
            client.call(LOOKUP, ("x",), 10)
        assert (info.value.code, info.value.domain) == (c.VIR_ERR_NO_DOMAIN, c.VIR_FROM_TEST)
        with pytest.raises(LibvirtError) as info:
            client.call_raw(rpc.REMOTE_PROGRAM, 1, 999, b"", 10)
        assert info.value.code == c.VIR_ERR_NO_SUPPORT
        assert client.is_open
    finally:
        client.close()
        peer.close()


def test_reply_with_unknown_serial_drops_the_connection() -> None:
    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        peer.send(rpc.pack_packet(hdr.prog, hdr.vers, hdr.proc, rpc.REPLY, hdr.serial + 77, rpc.OK))

    peer, client = make(handler)
    try:
        with pytest.raises(LibvirtError) as info:
            client.call(GET_TYPE, None, 10)
        assert "no call waiting for reply" in info.value.message
        assert not client.is_open
        with pytest.raises(LibvirtError):
            client.call(GET_TYPE, None, 10)
    finally:
        client.close()
        peer.close()


def test_peer_hangup_fails_waiting_calls() -> None:
    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        peer.sock.shutdown(socket.SHUT_RDWR)

    peer, client = make(handler)
    try:
        with pytest.raises(LibvirtError) as info:
            client.call(GET_TYPE, None, 10)
        assert info.value.message == "End of file while reading data: Input/output error"
    finally:
        client.close()
        peer.close()


def test_bad_length_from_peer_is_a_protocol_error() -> None:
    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        peer.send(struct.pack(">I", 0xFFFFFFF0) + b"junk")

    peer, client = make(handler)
    try:
        with pytest.raises(rpc.ProtocolError):
            client.call(GET_TYPE, None, 10)
    finally:
        client.close()
        peer.close()


def test_keepalive_pong_and_timeout() -> None:
    pings: list[int] = []

    def silent(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        if hdr.prog == rpc.KEEPALIVE_PROGRAM:
            pings.append(hdr.proc)  # never answered

    peer, client = make(silent)
    try:
        # the peer's own PING gets a PONG
        peer.send(rpc.pack_packet(rpc.KEEPALIVE_PROGRAM, 1, rpc.KEEPALIVE_PING, rpc.MESSAGE, 0, rpc.OK))
        client.start_keepalive(0.1, 2)
        with pytest.raises(LibvirtError) as info:
            client.call(GET_TYPE, None, 30)  # never answered: keepalive ends the wait
        assert "keepalive timeout" in info.value.message
        assert rpc.KEEPALIVE_PONG in pings and pings.count(rpc.KEEPALIVE_PING) >= 2
    finally:
        client.close()
        peer.close()


def test_call_timeout_then_late_reply_is_ignored() -> None:
    late: list[rpc.Header] = []

    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        if late:
            for h in late:
                peer.send(rpc.reply_packet(h, GET_TYPE.encode_ret(("LATE",))))
            peer.send(rpc.reply_packet(hdr, GET_TYPE.encode_ret(("FAKE",))))
        else:
            late.append(hdr)

    peer, client = make(handler)
    try:
        with pytest.raises(LibvirtError) as info:
            client.call(GET_TYPE, None, 0.2)
        assert info.value.code == c.VIR_ERR_OPERATION_TIMEOUT
        assert client.call(GET_TYPE, None, 10).type == "FAKE"
        assert client.is_open
    finally:
        client.close()
        peer.close()


def test_event_messages_reach_the_handler() -> None:
    got: list[tuple[int, bytes]] = []
    done = threading.Event()
    lifecycle = rpc.procedure_by_name("DOMAIN_EVENT_CALLBACK_LIFECYCLE")
    body = lifecycle.encode_args((7, (("vm", bytes(16), 3), 2, 0)))

    def on_message(hdr: rpc.Header, payload: bytes) -> None:
        got.append((hdr.proc, payload))
        done.set()

    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        peer.send(rpc.pack_packet(rpc.REMOTE_PROGRAM, 1, lifecycle.number, rpc.MESSAGE, 1, rpc.OK, body))
        answer_type(peer, hdr, payload)

    peer, client = make(handler, on_message=on_message)
    try:
        client.call(GET_TYPE, None, 10)
        assert done.wait(10)
        assert got == [(lifecycle.number, body)]
        msg = lifecycle.decode_args(got[0][1])
        assert (msg.callbackID, msg.msg.dom.name, msg.msg.event) == (7, "vm", 2)
    finally:
        client.close()
        peer.close()


DOWNLOAD = rpc.procedure_by_name("STORAGE_VOL_DOWNLOAD")
UPLOAD = rpc.procedure_by_name("STORAGE_VOL_UPLOAD")
VOL = ("pool", "vol", "/p/vol")


def test_download_stream() -> None:
    data = bytes(range(256)) * 3000  # several chunks

    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        if hdr.type == rpc.CALL:
            peer.send(rpc.reply_packet(hdr))
            for off in range(0, len(data), rpc.LEGACY_PAYLOAD_MAX):
                peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM, hdr.serial, rpc.CONTINUE,
                                          data[off:off + rpc.LEGACY_PAYLOAD_MAX]))
            peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM, hdr.serial, rpc.OK))
        elif hdr.type == rpc.STREAM and hdr.status == rpc.OK:  # the client's finish: confirm
            peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM, hdr.serial, rpc.OK))

    peer, client = make(handler)
    try:
        stream, _ = client.open_stream(DOWNLOAD, (VOL, 0, 0, 0), 10)
        assert stream.recv_all() == data
        stream.finish(10)
        assert [(h.type, h.status) for h in peer.seen] == [(rpc.CALL, rpc.OK), (rpc.STREAM, rpc.OK)]
    finally:
        client.close()
        peer.close()


def test_upload_stream_and_server_error() -> None:
    received = bytearray()

    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        if hdr.type == rpc.CALL:
            peer.send(rpc.reply_packet(hdr))
        elif hdr.type == rpc.STREAM and hdr.status == rpc.CONTINUE:
            received.extend(payload)
        elif hdr.status == rpc.OK:
            if len(received) > 1000:
                peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM, hdr.serial, rpc.OK))
            else:
                peer.send(rpc.error_packet(hdr, LibvirtError("too short", c.VIR_ERR_OPERATION_FAILED,
                                                             c.VIR_FROM_STORAGE)))

    peer, client = make(handler)
    try:
        stream, _ = client.open_stream(UPLOAD, (VOL, 0, 0, 0), 10)
        blob = b"x" * 600000
        assert stream.send(blob) == len(blob)
        stream.send_hole(4096)
        stream.finish(10)
        assert bytes(received) == blob
        holes = [h for h in peer.seen if h.type == rpc.STREAM_HOLE]
        assert len(holes) == 1 and holes[0].status == rpc.CONTINUE
        chunks = [h for h in peer.seen if h.type == rpc.STREAM and h.status == rpc.CONTINUE]
        assert len(chunks) == 3  # 262120-byte chunks like libvirt
        received.clear()
        short, _ = client.open_stream(UPLOAD, (VOL, 0, 0, 0), 10)
        short.send(b"abc")
        with pytest.raises(LibvirtError) as info:
            short.finish(10)
        assert info.value.message == "too short"
    finally:
        client.close()
        peer.close()


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.booleans())
def test_garbage_from_the_peer_never_hangs_a_call(garbage: bytes, framed: bool) -> None:
    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        if framed:  # a well-framed reply whose payload is garbage
            peer.send(rpc.pack_packet(hdr.prog, hdr.vers, hdr.proc, rpc.REPLY, hdr.serial,
                                      garbage[0] % 3 if garbage else rpc.OK, garbage))
        else:
            peer.send(garbage)
            peer.sock.shutdown(socket.SHUT_WR)

    peer, client = make(handler)
    try:
        try:
            client.call(LOOKUP, ("x",), 20)
        except LibvirtError as exc:
            assert exc.code != c.VIR_ERR_OPERATION_TIMEOUT
    finally:
        client.close()
        peer.close()


def test_slow_stream_reader_pauses_the_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyvirt.rpc import client as client_mod

    monkeypatch.setattr(client_mod, "STREAM_HIGH_WATER", 300000)
    data = bytes(range(256)) * 16384  # 4 MiB in 17 chunks
    sent = threading.Event()

    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        if hdr.type == rpc.CALL and hdr.proc == DOWNLOAD.number:
            peer.send(rpc.reply_packet(hdr))
            for off in range(0, len(data), rpc.LEGACY_PAYLOAD_MAX):
                peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM, hdr.serial, rpc.CONTINUE,
                                          data[off:off + rpc.LEGACY_PAYLOAD_MAX]))
            peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM, hdr.serial, rpc.OK))
            sent.set()
        elif hdr.type == rpc.STREAM and hdr.status == rpc.OK:
            peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM, hdr.serial, rpc.OK))
        elif hdr.type == rpc.CALL:
            answer_type(peer, hdr, payload)

    peer, client = make(handler)
    peer.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    try:
        stream, _ = client.open_stream(DOWNLOAD, (VOL, 0, 0, 0), 10)
        first = stream.recv(1000)
        # the client stopped reading: the peer cannot have written all 4 MiB into the socket
        assert not sent.wait(0.5)
        rest = stream.recv_all()
        assert first + rest == data
        assert sent.wait(10)
        stream.finish(10)
        # abandoning a paused stream must not block the connection
        stream2, _ = client.open_stream(DOWNLOAD, (VOL, 0, 0, 0), 10)
        stream2.recv(10)
        stream2.finish(10)
        assert client.call(GET_TYPE, None, 10).type == "FAKE"
    finally:
        client.close()
        peer.close()


def test_sparse_stream_holes_read_as_zeros() -> None:
    hole = rpc.codec("virNetStreamHole").encode((3 << 30, 0))  # a 3 GiB hole: never materialised at once

    def handler(peer: Peer, hdr: rpc.Header, payload: bytes) -> None:
        if hdr.type == rpc.CALL:
            peer.send(rpc.reply_packet(hdr))
            peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM, hdr.serial, rpc.CONTINUE, b"head"))
            peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM_HOLE, hdr.serial, rpc.CONTINUE, hole))
            peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM, hdr.serial, rpc.CONTINUE, b"tail"))
            peer.send(rpc.pack_packet(hdr.prog, 1, hdr.proc, rpc.STREAM, hdr.serial, rpc.OK))

    peer, client = make(handler)
    try:
        stream, _ = client.open_stream(DOWNLOAD, (VOL, 0, 0, c.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM), 10)
        assert stream.recv(100) == b"head"
        zeros = stream.recv(1 << 20)
        assert zeros == bytes(1 << 20)
        assert stream.holes == [3 << 30]
        stream._hole_left = 5  # skip ahead (reading 3 GiB of zeros is not the point)
        assert stream.recv(100) == bytes(5)
        assert stream.recv(100) == b"tail"
        assert stream.recv(100) == b""
    finally:
        client.close()
        peer.close()
