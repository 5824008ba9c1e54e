"""libvirt's wire protocol: framing, XDR codecs, the procedure table.

Used by the remote driver (client side) and by pyvirtd (server side).

Framing (:mod:`.packet`)::

    from pyvirt.rpc import (Header, PacketReader, pack_packet, parse_length, parse_header,
                            reply_packet, error_packet, CALL, REPLY, MESSAGE, STREAM, OK, ERROR,
                            CONTINUE, MESSAGE_MAX, ProtocolError)
    n = parse_length(first4)        # body length; ProtocolError if len < 28 or > 32 MiB + 4
    hdr, payload = parse_header(body)  # Header(prog, vers, proc, type, serial, status), bytes
    frames = PacketReader().feed(data)  # incremental: [(Header, payload), ...]
    pack_packet(prog, vers, proc, type, serial, status, payload) -> bytes (len word included)
    reply_packet(hdr, payload)      # REPLY/OK echoing the call's prog/vers/proc/serial
    error_packet(hdr, exc)          # REPLY/ERROR with exc (any exception) as remote_error

Procedures (:mod:`.protocol`)::

    p = procedure(hdr.prog, hdr.proc)       # Procedure | None (unknown program or number)
    p = procedure_by_name("DOMAIN_GET_INFO") ; procedure_by_method("domain_get_info")
    p.program ("REMOTE"|"QEMU"|"LXC"|"KEEPALIVE"), p.number, p.name, p.method ("domain_get_info"),
    p.kind ("call" | "message"), p.priority ("high"|"low"), p.acl, p.stream (("read"|"write", n)|None)
    args = p.decode_args(payload)   # NamedTuple of the args struct, fields in wire order
                                    # (None for procedures without args)
    payload = p.encode_ret(value)   # value: a tuple in the ret struct's field order (None/() if void)
    p.is_write(args)                # True -> refuse on a read-only connection (from @acl rules)
    p.readonly                      # False when every call of it is a write
    p.args / p.ret                  # the Codec objects (p.args.cls: the NamedTuple class)

Values: structs are NamedTuples (encode accepts any tuple in wire field order);
``remote_nonnull_domain`` etc. decode to pyvirt.drivers.base Refs (DomainRef,
NetworkRef, StoragePoolRef, StorageVolRef, NodeDeviceRef, InterfaceRef, SnapshotRef;
the others to generated NamedTuples with the wire field names); optional fields
are None; strings str; opaque bytes; uuid 16 bytes; arrays lists; unions
``(discriminant, value)``; char arrays str. Field names that are Python keywords
get a trailing underscore (``from_``). ``codec("remote_typed_param")`` gives the
codec of any named XDR type.

Errors and typed parameters (:mod:`.values`)::

    encode_error(exc) -> bytes; decode_error(payload) -> LibvirtError
    params_to_wire({"cpu_shares": 1024}, types=None) -> [("cpu_shares", (VIR_TYPED_PARAM_*, v))]
    params_from_wire(wire_list) -> {"cpu_shares": 1024}

Decoders raise only :class:`ProtocolError` (a LibvirtError, VIR_ERR_RPC / VIR_FROM_RPC)
on bad input; encoders raise it for values that do not fit the type.

Client side (:mod:`.client`, :mod:`.transport`)::

    ep = open_endpoint(parse_uri(uri), read_only, "test:///default")  # UNIX/TCP/TLS/SSH/ext
    client = Client(ep, on_message=fn(hdr, payload), on_close=fn(reason))
    client.call(procedure_by_name("DOMAIN_LOOKUP_BY_NAME"), ("test",), timeout=None) -> ret struct
    client.start_keepalive(5, 5)            # PING when idle; dead peer -> every waiting call fails
    stream, ret = client.open_stream(proc, args)  # stream.send/recv/recv_all/finish/abort
    client.close()

One asyncio thread per connection does all socket I/O (TLS included); callers
block on their own threads, calls overlap and are matched by serial; event
MESSAGEs run on a separate event thread. Stream readers that fall behind pause
the socket instead of buffering without limit.
"""

from __future__ import annotations

from .packet import (
    CALL, CALL_WITH_FDS, CONTINUE, ERROR, FRAME_PREFIX, HEADER_SIZE, LEGACY_PAYLOAD_MAX, MESSAGE,
    MESSAGE_MAX, NUM_FDS_MAX, OK, PAYLOAD_MAX, REPLY, REPLY_WITH_FDS, STREAM, STREAM_HOLE, STRING_MAX,
    Header, PacketReader, error_packet, pack_packet, parse_header, parse_length, reply_packet, split_fds,
)
from .protocol import (
    KEEPALIVE_PING, KEEPALIVE_PONG, KEEPALIVE_PROGRAM, LXC_PROGRAM, PROGRAMS, PROTOCOL_VERSION,
    QEMU_PROGRAM, REMOTE_PROGRAM, Procedure, procedure, procedure_by_method, procedure_by_name,
    procedures,
)
from .values import decode_error, encode_error, error_from_wire, error_to_wire, params_from_wire, params_to_wire
from .xdr import VOID, Codec, ProtocolError, codec

__all__ = [
    "CALL", "CALL_WITH_FDS", "CONTINUE", "ERROR", "FRAME_PREFIX", "HEADER_SIZE", "LEGACY_PAYLOAD_MAX",
    "MESSAGE", "MESSAGE_MAX", "NUM_FDS_MAX", "OK", "PAYLOAD_MAX", "REPLY", "REPLY_WITH_FDS", "STREAM",
    "STREAM_HOLE", "STRING_MAX", "Header", "PacketReader", "error_packet", "pack_packet", "parse_header",
    "parse_length", "reply_packet", "split_fds",
    "KEEPALIVE_PING", "KEEPALIVE_PONG", "KEEPALIVE_PROGRAM", "LXC_PROGRAM", "PROGRAMS", "PROTOCOL_VERSION",
    "QEMU_PROGRAM", "REMOTE_PROGRAM", "Procedure", "procedure", "procedure_by_method", "procedure_by_name",
    "procedures",
    "decode_error", "encode_error", "error_from_wire", "error_to_wire", "params_from_wire", "params_to_wire",
    "VOID", "Codec", "ProtocolError", "codec",
]
