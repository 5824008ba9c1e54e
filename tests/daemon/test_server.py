"""The server in process: concurrency, slow calls, disconnects mid-call, limits, bad packets."""

from __future__ import annotations

import asyncio
import struct
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from pyvirt import constants as c
from pyvirt.daemon import codec
from pyvirt.rpc import pack_packet as pack_frame
from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.server import Server
from pyvirt.drivers import register_driver
from pyvirt.drivers.base import DomainRef, Driver
from pyvirt.identity import current_identity

from .conftest import REMOTE, RawClient


class SlowDriver(Driver):
    """A driver whose lookup of 'block' waits for the test to release it."""

    type_name = "SLOW"
    gate = threading.Event()
    entered = threading.Event()
    finished = threading.Event()
    closed = threading.Event()
    seen_uids: list[int] = []
    seen: list[Any] = []

    def domain_lookup_by_name(self, name: str) -> DomainRef:
        SlowDriver.seen_uids.append(current_identity().uid)
        SlowDriver.seen.append(current_identity())
        if name == "block":
            SlowDriver.entered.set()
            SlowDriver.gate.wait(30)
            SlowDriver.finished.set()
        return DomainRef(name, b"\x01" * 16, 7)

    def connect_get_hostname(self) -> str:
        return "fast"

    uploads: list[Any] = []

    def storage_vol_upload(self, vol: Any, offset: int, length: int, flags: int = 0) -> Any:
        class Sink:
            def __init__(self) -> None:
                self.data, self.finished = b"", False

            def send(self, chunk: bytes) -> int:
                self.data += chunk
                return len(chunk)

            def finish(self) -> None:
                if vol.name == "bad":
                    from pyvirt.errors import make_error
                    raise make_error(c.VIR_ERR_OPERATION_FAILED, "disk full")
                self.finished = True
        sink = Sink()
        SlowDriver.uploads.append(sink)
        return sink

    def storage_vol_download(self, vol: Any, offset: int, length: int, flags: int = 0) -> Any:
        class FakeStream:
            def __init__(self, data: bytes) -> None:
                self.data, self.finished = data, False

            def recv(self, n: int) -> bytes:
                out, self.data = self.data[:n], self.data[n:]
                return out

            def finish(self) -> None:
                self.finished = True
        return FakeStream(bytes(range(256)) * 2500)  # 640000 bytes: several stream packets

    def connect_close(self) -> None:
        SlowDriver.closed.set()


register_driver("slowtest", lambda uri, ro, auth: SlowDriver(str(uri), ro) if uri.driver == "slowtest" else None)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    for ev in (SlowDriver.gate, SlowDriver.entered, SlowDriver.finished, SlowDriver.closed):
        ev.clear()
    cfg = DaemonConfig(unix_sock_dir=str(tmp_path / "sock"), max_clients=3, max_workers=4,
                       max_client_requests=5)
    srv = Server(cfg)
    srv.open_listeners()
    started = threading.Event()

    def run() -> None:
        async def main() -> None:
            task = asyncio.ensure_future(srv.serve())
            await asyncio.sleep(0)
            started.set()
            await task
        asyncio.run(main())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    started.wait(10)
    yield srv
    SlowDriver.gate.set()
    srv.stop_threadsafe()
    t.join(20)
    assert not (tmp_path / "sock" / "libvirt-sock").exists()


def _sock(srv: Server) -> str:
    return str(Path(srv.config.unix_sock_dir) / "libvirt-sock")


def _open(cl: RawClient, uri: str = "slowtest:///x") -> None:
    hdr, body = cl.call(66)  # AUTH_LIST
    assert hdr[5] == 0 and codec.decode("remote_auth_list_ret", body) == {"types": [0]}
    hdr, body = cl.call(1, codec.encode("remote_connect_open_args", {"name": uri, "flags": 0}))
    assert hdr[5] == 0, codec.decode("remote_error", body)


def _send(cl: RawClient, proc: int, args_type: str | None, args: Any) -> int:
    serial = cl.serial
    cl.serial += 1
    payload = codec.encode(args_type, args) if args_type else b""
    cl.send_raw(pack_frame(REMOTE, 1, proc, 0, serial, 0, payload))
    return serial


def _error(body: bytes) -> dict[str, Any]:
    return codec.decode("remote_error", body)


def test_slow_call_does_not_block_others_and_disconnect_drops_reply(server: Server) -> None:
    a = RawClient(_sock(server))
    _open(a)
    _send(a, 23, "remote_domain_lookup_by_name_args", {"name": "block"})
    assert SlowDriver.entered.wait(10)
    # the same client is still served while its first call runs
    hdr, body = a.call(59)
    assert codec.decode("remote_connect_get_hostname_ret", body) == {"hostname": "fast"}
    # and so is another client
    b = RawClient(_sock(server))
    _open(b)
    hdr, body = b.call(59)
    assert codec.decode("remote_connect_get_hostname_ret", body) == {"hostname": "fast"}
    # a leaves mid-call: the call completes, the connection closes only afterwards
    a.close()
    assert not SlowDriver.finished.is_set()
    SlowDriver.gate.set()
    assert SlowDriver.finished.wait(10)
    assert SlowDriver.closed.wait(10)
    hdr, body = b.call(23, codec.encode("remote_domain_lookup_by_name_args", {"name": "x"}))
    assert codec.decode("remote_domain_lookup_by_name_ret", body)["dom"] == ("x", b"\x01" * 16, 7)
    b.close()


def test_caller_identity_from_peer_credentials(server: Server) -> None:
    import os
    SlowDriver.seen_uids.clear()
    a = RawClient(_sock(server))
    _open(a)
    a.call(23, codec.encode("remote_domain_lookup_by_name_args", {"name": "x"}))
    assert SlowDriver.seen_uids == [os.getuid()]
    a.close()


def test_max_clients(server: Server) -> None:
    clients = [RawClient(_sock(server)) for _ in range(3)]
    for cl in clients:
        assert cl.call(66)[0][5] == 0
    extra = RawClient(_sock(server))
    assert extra.eof()
    clients[0].close()
    # a slot is free again once the daemon noticed the departure
    import time
    deadline = time.monotonic() + 10
    while True:
        again = RawClient(_sock(server))
        try:
            if again.call(66)[0][5] == 0:
                break
        except (EOFError, OSError):
            pass
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for cl in clients[1:] + [again]:
        cl.close()


def test_protocol_errors_like_libvirtd(server: Server) -> None:
    cl = RawClient(_sock(server))
    # before CONNECT_OPEN
    hdr, body = cl.call(59)
    assert hdr[3:] == (1, 0, 1)  # REPLY, serial 0, ERROR
    e = _error(body)
    assert (e["code"], e["domain"], e["message"]) == (c.VIR_ERR_INTERNAL_ERROR, c.VIR_FROM_RPC,
                                                      "internal error: hypervisor connection not open")
    assert (e["str1"], e["int1"], e["int2"]) == (e["message"], -1, -1)
    # unknown program / version
    hdr, body = cl.call(1, prog=0x12345678)
    assert hdr[0] == 0x12345678 and hdr[5] == 1
    assert _error(body)["message"] == f"Cannot find program {0x12345678} version 1"
    # unknown procedure
    hdr, body = cl.call(999)
    assert _error(body)["message"] == "unknown procedure: 999"
    assert _error(body)["code"] == c.VIR_ERR_RPC
    # truncated payload
    _open(cl, "test:///default")
    hdr, body = cl.call(23, b"\x00\x00\x00\x10ab")
    assert _error(body)["message"] == "Unable to decode message payload"
    # keepalive PING -> PONG, no reply
    cl.send_raw(pack_frame(0x6B656570, 1, 1, 2, 0, 0))
    hdr, body = cl.recv()
    assert hdr == (0x6B656570, 1, 2, 2, 0, 0) and body == b""
    # stray REPLY/MESSAGE/STREAM packets are ignored; the connection still works
    cl.send_raw(pack_frame(REMOTE, 1, 3, 1, 77, 0))
    cl.send_raw(pack_frame(REMOTE, 1, 3, 3, 78, 2, b"data"))
    hdr, body = cl.call(3)
    assert codec.decode("remote_connect_get_type_ret", body) == {"type": "TEST"}
    cl.close()


@pytest.mark.parametrize("junk", [
    struct.pack(">I", 3),                      # length below the minimum
    struct.pack(">I", 27) + b"\0" * 23,        # header cut short
    struct.pack(">I", 33554432 + 5),           # over VIR_NET_MESSAGE_MAX
])
def test_bad_lengths_disconnect(server: Server, junk: bytes) -> None:
    cl = RawClient(_sock(server))
    cl.send_raw(junk)
    assert cl.eof()
    ok = RawClient(_sock(server))
    _open(ok, "test:///default")
    ok.close()




def test_daemon_sends_keepalive_pings(tmp_path: Path) -> None:
    """After a client asks for PROGRAM_KEEPALIVE, an idle client gets PINGs (and may answer PONG)."""
    cfg = DaemonConfig(unix_sock_dir=str(tmp_path / "sock"), keepalive_interval=1, keepalive_count=3)
    srv = Server(cfg)
    srv.open_listeners()
    t = threading.Thread(target=lambda: asyncio.run(srv.serve()), daemon=True)
    t.start()
    try:
        cl = RawClient(_sock(srv))
        hdr, body = cl.call(60, codec.encode("remote_connect_supports_feature_args", {"feature": 10}))
        assert codec.decode("remote_connect_supports_feature_ret", body) == {"supported": 1}
        hdr, body = cl.recv()  # nothing else was sent: the next packet is the daemon's PING
        assert hdr == (0x6B656570, 1, 1, 2, 0, 0) and body == b""
        cl.send_raw(pack_frame(0x6B656570, 1, 2, 2, 0, 0))  # PONG
        hdr, _ = cl.call(66)
        assert hdr[2] == 66 and hdr[5] == 0
        cl.close()
    finally:
        srv.loop.call_soon_threadsafe(srv.stop)
        t.join(20)


def test_max_client_requests_serialises_one_client(tmp_path: Path) -> None:
    """With max_client_requests = 1 a client's second call waits for its first (libvirtd stops reading)."""
    for ev in (SlowDriver.gate, SlowDriver.entered, SlowDriver.finished, SlowDriver.closed):
        ev.clear()
    cfg = DaemonConfig(unix_sock_dir=str(tmp_path / "sock"), max_client_requests=1)
    srv = Server(cfg)
    srv.open_listeners()
    t = threading.Thread(target=lambda: asyncio.run(srv.serve()), daemon=True)
    t.start()
    try:
        a = RawClient(_sock(srv))
        _open(a)
        first = _send(a, 23, "remote_domain_lookup_by_name_args", {"name": "block"})
        second = _send(a, 59, None, None)
        assert SlowDriver.entered.wait(10)
        other = RawClient(_sock(srv))  # other clients are not held up
        _open(other)
        assert other.call(59)[0][5] == 0
        SlowDriver.gate.set()
        assert [a.recv()[0][4] for _ in range(2)] == [first, second]
        a.close()
        other.close()
    finally:
        SlowDriver.gate.set()
        srv.loop.call_soon_threadsafe(srv.stop)
        t.join(20)


@pytest.mark.parametrize("uri", ["nosuchdriver:///system", "test+tcp://h/default", "qemu+ssh://h/system"])
def test_connect_open_never_uses_the_remote_driver(server: Server, uri: str) -> None:
    cl = RawClient(_sock(server))
    cl.call(66)
    hdr, body = cl.call(1, codec.encode("remote_connect_open_args", {"name": uri, "flags": 0}))
    e = _error(body)
    assert hdr[5] == 1 and e["code"] == c.VIR_ERR_NO_CONNECT
    assert e["message"] == f"no connection driver available for {uri}"
    cl.close()


def test_tls_identity_is_the_client_dn(tmp_path: Path) -> None:
    import ssl
    from pyvirt.daemon.certs import main as certs_main
    from .conftest import free_port
    pki = tmp_path / "pki"
    assert certs_main(["--dir", str(pki), "--host", "127.0.0.1", "--client-cn", "alice"]) == 0
    port = free_port()
    cfg = DaemonConfig(unix_sock_dir=str(tmp_path / "sock"), listen_tls=True, listen_addr="127.0.0.1",
                       tls_port=str(port), key_file=str(pki / "serverkey.pem"),
                       cert_file=str(pki / "servercert.pem"), ca_file=str(pki / "cacert.pem"))
    srv = Server(cfg, listen=True)
    srv.open_listeners()
    t = threading.Thread(target=lambda: asyncio.run(srv.serve()), daemon=True)
    t.start()
    SlowDriver.seen.clear()
    try:
        ctx = ssl.create_default_context(cafile=str(pki / "cacert.pem"))
        ctx.load_cert_chain(str(pki / "clientcert.pem"), str(pki / "clientkey.pem"))
        import socket
        raw = socket.create_connection(("127.0.0.1", port), timeout=20)
        tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        assert tls.recv(1) == b"\x01"  # libvirt's "your certificate passed" byte
        cl = RawClient.__new__(RawClient)
        cl.sock, cl.serial = tls, 0
        _open(cl)
        cl.call(23, codec.encode("remote_domain_lookup_by_name_args", {"name": "x"}))
        ident = SlowDriver.seen[-1]
        assert ident.x509_dn == "C=GB,ST=London,L=London,O=pyvirt,CN=alice"
        assert ident.read_only is False
        tls.close()
    finally:
        srv.loop.call_soon_threadsafe(srv.stop)
        t.join(20)


def test_download_stream_protocol(server: Server) -> None:
    cl = RawClient(_sock(server))
    _open(cl)
    serial = _send(cl, 209, "remote_storage_vol_download_args",
                   {"vol": ("pool", "vol", "key"), "offset": 0, "length": 0, "flags": 0})
    hdr, body = cl.recv()
    assert hdr == (REMOTE, 1, 209, 1, serial, 0) and body == b""  # the REPLY opens the stream
    data = b""
    sizes = []
    while True:
        hdr, body = cl.recv()
        assert hdr == (REMOTE, 1, 209, 3, serial, 2)  # STREAM / CONTINUE
        if not body:
            break  # empty CONTINUE: end of the data
        sizes.append(len(body))
        data += body
    assert data == bytes(range(256)) * 2500
    assert max(sizes) <= 262120  # VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX
    cl.send_raw(pack_frame(REMOTE, 1, 209, 3, serial, 0))  # finish
    hdr, body = cl.recv()
    assert hdr == (REMOTE, 1, 209, 3, serial, 0) and body == b""  # confirmed
    hdr, _ = cl.call(59)
    assert hdr[5] == 0
    cl.close()


@pytest.mark.parametrize("name", ["good", "bad"])
def test_upload_stream_protocol(server: Server, name: str) -> None:
    SlowDriver.uploads.clear()
    cl = RawClient(_sock(server))
    _open(cl)
    serial = _send(cl, 208, "remote_storage_vol_upload_args",
                   {"vol": ("pool", name, "key"), "offset": 0, "length": 0, "flags": 0})
    hdr, body = cl.recv()
    assert hdr == (REMOTE, 1, 208, 1, serial, 0)
    payload = bytes(range(256)) * 1000
    for i in range(0, len(payload), 100000):
        cl.send_raw(pack_frame(REMOTE, 1, 208, 3, serial, 2, payload[i:i + 100000]))
    cl.send_raw(pack_frame(REMOTE, 1, 208, 3, serial, 0))  # finish
    hdr, body = cl.recv()
    sink = SlowDriver.uploads[0]
    assert sink.data == payload  # every chunk, in order
    if name == "good":
        assert hdr == (REMOTE, 1, 208, 3, serial, 0) and body == b"" and sink.finished
    else:
        assert hdr == (REMOTE, 1, 208, 3, serial, 1)
        assert _error(body)["message"] == "operation failed: disk full"
    assert cl.call(59)[0][5] == 0
    cl.close()
