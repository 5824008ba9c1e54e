"""Packet framing: ``len:u32 | prog vers proc type serial status | payload``.

``len`` counts the whole packet including itself. All numbers big-endian.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from ._table import CONSTS
from .xdr import ProtocolError

__all__ = [
    "Header", "CALL", "REPLY", "MESSAGE", "STREAM", "CALL_WITH_FDS", "REPLY_WITH_FDS", "STREAM_HOLE",
    "OK", "ERROR", "CONTINUE", "MESSAGE_MAX", "HEADER_MAX", "PAYLOAD_MAX", "LEGACY_PAYLOAD_MAX",
    "STRING_MAX", "NUM_FDS_MAX", "HEADER_SIZE", "FRAME_PREFIX", "pack_packet", "parse_length",
    "parse_header", "PacketReader", "split_fds", "reply_packet", "error_packet",
]

# virNetMessageType
CALL, REPLY, MESSAGE, STREAM, CALL_WITH_FDS, REPLY_WITH_FDS, STREAM_HOLE = range(7)
# virNetMessageStatus
OK, ERROR, CONTINUE = range(3)

MESSAGE_MAX: int = CONSTS["VIR_NET_MESSAGE_MAX"]  # largest len - 4
HEADER_MAX: int = CONSTS["VIR_NET_MESSAGE_HEADER_MAX"]  # 24
PAYLOAD_MAX: int = CONSTS["VIR_NET_MESSAGE_PAYLOAD_MAX"]
LEGACY_PAYLOAD_MAX: int = CONSTS["VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX"]  # biggest stream chunk to send
STRING_MAX: int = CONSTS["VIR_NET_MESSAGE_STRING_MAX"]
NUM_FDS_MAX: int = CONSTS["VIR_NET_MESSAGE_NUM_FDS_MAX"]
HEADER_SIZE = 24

#: ``len`` plus the six header words, packed in one go.
FRAME_PREFIX = struct.Struct(">IIIiiIi")
_HEADER = struct.Struct(">IIiiIi")
_U32 = struct.Struct(">I")


class Header(NamedTuple):
    """A decoded packet header."""

    prog: int
    vers: int
    proc: int
    type: int
    serial: int
    status: int


def pack_packet(prog: int, vers: int, proc: int, type: int, serial: int, status: int,
                payload: bytes = b"") -> bytes:
    """One whole packet (length word, header, payload)."""
    n = 28 + len(payload)
    if n - 4 > MESSAGE_MAX:
        raise ProtocolError(f"packet too large ({n} bytes, at most {MESSAGE_MAX + 4})")
    return FRAME_PREFIX.pack(n, prog, vers, proc, type, serial, status) + payload


def parse_length(prefix: bytes) -> int:
    """The body size (``len - 4``) announced by a 4-byte length word; checks libvirt's limits."""
    (n,) = _U32.unpack_from(prefix)
    if n < 4 + HEADER_SIZE or n - 4 > MESSAGE_MAX:
        raise ProtocolError(f"packet length {n} out of range")
    return n - 4


def parse_header(body: bytes) -> tuple[Header, bytes]:
    """Split a packet body (everything after the length word) into header and payload."""
    if len(body) < HEADER_SIZE:
        raise ProtocolError("Unable to decode message header")
    return Header._make(_HEADER.unpack_from(body)), body[HEADER_SIZE:]


def split_fds(payload: bytes) -> tuple[int, bytes]:
    """For *_WITH_FDS packets: the fd count and the XDR payload after it."""
    if len(payload) < 4:
        raise ProtocolError("Unable to decode number of FDs")
    (nfds,) = _U32.unpack_from(payload)
    if nfds > NUM_FDS_MAX:
        raise ProtocolError(f"Too many FDs to receive: {nfds}, max {NUM_FDS_MAX}")
    return nfds, payload[4:]


class PacketReader:
    """Incremental packet parser: :meth:`feed` bytes, get whole packets.

    Memory is bounded: at most one partial packet (<= 32 MiB, the protocol
    limit) is buffered; a bad length raises ProtocolError at once.
    """

    __slots__ = ("_buf", "_need")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need = -1  # body length of the packet in progress, -1 = reading the length word

    def feed(self, data: bytes) -> list[tuple[Header, bytes]]:
        """Add *data*; return the packets completed by it."""
        buf = self._buf
        buf += data
        out: list[tuple[Header, bytes]] = []
        pos = 0
        while True:
            if self._need < 0:
                if len(buf) - pos < 4:
                    break
                self._need = parse_length(bytes(buf[pos:pos + 4]))
                pos += 4
            if len(buf) - pos < self._need:
                break
            body = bytes(buf[pos:pos + self._need])
            pos += self._need
            self._need = -1
            out.append(parse_header(body))
        if pos:
            del buf[:pos]
        return out

    @property
    def pending(self) -> int:
        """Bytes buffered for the packet in progress."""
        return len(self._buf)


def reply_packet(call: Header, payload: bytes = b"") -> bytes:
    """A REPLY (status OK) to *call*, echoing its prog, vers, proc and serial."""
    return pack_packet(call.prog, call.vers, call.proc, REPLY, call.serial, OK, payload)


def error_packet(call: Header, exc: BaseException) -> bytes:
    """A REPLY with status ERROR carrying *exc* as ``remote_error`` (libvirtd's shape)."""
    from .values import encode_error
    return pack_packet(call.prog, call.vers, call.proc, REPLY, call.serial, ERROR, encode_error(exc))
