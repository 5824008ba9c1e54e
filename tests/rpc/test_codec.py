"""XDR codec, framing and procedure table, checked against bytes captured from real libvirt."""

from __future__ import annotations

import struct

import pytest

from pyvirt import constants as c
from pyvirt import rpc
from pyvirt.drivers.base import DomainRef, SnapshotRef, StorageVolRef
from pyvirt.errors import LibvirtError, NotFoundError

UUID = bytes(range(16))


def words(hexwords: str) -> bytes:
    return bytes.fromhex(hexwords.replace(" ", "").replace("|", ""))


def test_auth_list_capture() -> None:
    call = words("0000001c 20008086 00000001 00000042 00000000 00000000 00000000")
    reply = words("00000024 20008086 00000001 00000042 00000001 00000000 00000000 00000001 00000000")
    p = rpc.procedure_by_name("AUTH_LIST")
    assert rpc.pack_packet(rpc.REMOTE_PROGRAM, 1, p.number, rpc.CALL, 0, rpc.OK) == call
    hdr, payload = rpc.parse_header(call[4:])
    assert hdr == rpc.Header(rpc.REMOTE_PROGRAM, 1, 66, rpc.CALL, 0, rpc.OK)
    assert rpc.reply_packet(hdr, p.encode_ret(([0],))) == reply
    assert p.decode_ret(reply[28:]).types == [0]


def test_domain_get_info_ret_is_32_bytes() -> None:
    p = rpc.procedure_by_name("DOMAIN_GET_INFO")
    data = p.encode_ret((1, 8388608, 2097152, 2, 123456789))
    assert len(data) == 32
    assert struct.unpack(">IQQIQ", data) == (1, 8388608, 2097152, 2, 123456789)
    ret = p.decode_ret(data)
    assert (ret.state, ret.maxMem, ret.nrVirtCpu, ret.cpuTime) == (1, 8388608, 2, 123456789)


def test_node_info_char_array_one_char_per_word() -> None:
    p = rpc.procedure_by_name("NODE_GET_INFO")
    data = p.encode_ret(("i686", 3 << 20, 16, 1400, 2, 2, 2, 2))
    assert len(data) == 160
    assert data[:16] == words("00000069 00000036 00000038 00000036")
    assert data[16:128] == bytes(112)
    assert p.decode_ret(data).model == "i686"


def test_security_model_char_array_counts_the_nul() -> None:
    p = rpc.procedure_by_name("NODE_GET_SECURITY_MODEL")
    data = p.encode_ret(("testSecurity", "0"))
    assert struct.unpack_from(">I", data)[0] == 13
    assert p.decode_ret(data) == ("testSecurity", "0")


def test_list_all_domains_capture() -> None:
    raw = words("00000001 00000004 74657374") + UUID + words("00000001 00000001")
    p = rpc.procedure_by_name("CONNECT_LIST_ALL_DOMAINS")
    ret = p.decode_ret(raw)
    assert ret.domains == [DomainRef("test", UUID, 1)]
    assert type(ret.domains[0]) is DomainRef
    assert ret.ret == 1
    assert p.encode_ret(ret) == raw


def test_optional_and_string_padding() -> None:
    p = rpc.procedure_by_name("CONNECT_OPEN")
    assert p.encode_args(("test:///default", 0)) == words("00000001 0000000f") + b"test:///default\0" + bytes(4)
    assert p.encode_args((None, 1)) == words("00000000 00000001")
    assert p.decode_args(words("00000000 00000001")) == (None, 1)


def test_snapshot_ref_field_order_is_mapped() -> None:
    snap = SnapshotRef(DomainRef("d", UUID, -1), "s1")
    cd = rpc.codec("remote_nonnull_domain_snapshot")
    data = cd.encode(snap)
    assert data.startswith(words("00000002") + b"s1\0\0")  # name first on the wire
    assert cd.decode(data) == snap


def test_storage_vol_ref() -> None:
    vol = StorageVolRef("default-pool", "v.img", "/p/v.img")
    assert rpc.codec("remote_nonnull_storage_vol").decode(rpc.codec("remote_nonnull_storage_vol").encode(vol)) == vol


def test_typed_params_roundtrip() -> None:
    wire = rpc.params_to_wire({"cpu_shares": (c.VIR_TYPED_PARAM_ULLONG, 1024), "name": "x", "on": True,
                               "d": 1.5, "neg": -3})
    p = rpc.procedure_by_name("DOMAIN_GET_SCHEDULER_PARAMETERS_FLAGS")
    data = p.encode_ret((wire,))
    back = p.decode_ret(data).params
    assert back[0] == ("cpu_shares", (c.VIR_TYPED_PARAM_ULLONG, 1024))
    assert rpc.params_from_wire(back) == {"cpu_shares": 1024, "name": "x", "on": True, "d": 1.5, "neg": -3}
    assert [t for _, (t, _) in back] == [4, 7, 6, 5, 1]


def test_error_roundtrip_matches_libvirtd_shape() -> None:
    err = rpc.decode_error(rpc.codec("remote_error").encode(
        (42, 12, "Domain not found", 2, None, "Domain not found", None, None, -1, -1, None)))
    assert isinstance(err, NotFoundError)
    assert (err.code, err.domain, err.message, err.level, err.str1, err.int1) == (42, 12, "Domain not found", 2,
                                                                                   "Domain not found", -1)
    again = rpc.decode_error(rpc.encode_error(err))
    assert again.err == err.err
    internal = rpc.decode_error(rpc.encode_error(RuntimeError("boom")))
    assert internal.code == c.VIR_ERR_INTERNAL_ERROR and "boom" in internal.message


def test_error_packet_is_reply_with_error_status() -> None:
    hdr = rpc.Header(rpc.REMOTE_PROGRAM, 1, 23, rpc.CALL, 7, rpc.OK)
    pkt = rpc.error_packet(hdr, LibvirtError("x", c.VIR_ERR_NO_DOMAIN, c.VIR_FROM_TEST))
    back, payload = rpc.parse_header(pkt[4:])
    assert (back.type, back.status, back.serial, back.proc) == (rpc.REPLY, rpc.ERROR, 7, 23)
    assert rpc.decode_error(payload).code == c.VIR_ERR_NO_DOMAIN


def test_procedure_table_complete() -> None:
    remote = rpc.procedures("REMOTE")
    assert len(remote) == 443 and [p.number for p in remote] == list(range(1, 444))
    tsv = {}
    with open("/work/shared/reference/remote-protocol-procedures.tsv") as fh:
        for line in fh:
            if line.strip() and not line.startswith("#"):
                num, name = line.split()
                tsv[int(num)] = name
    assert {p.number: p.name for p in remote} == tsv
    qemu, lxc, ping = (rpc.procedure(rpc.QEMU_PROGRAM, 1), rpc.procedure(rpc.LXC_PROGRAM, 1),
                       rpc.procedure(rpc.KEEPALIVE_PROGRAM, 1))
    assert qemu is not None and qemu.method == "domain_qemu_monitor_command"
    assert lxc is not None and lxc.method == "domain_lxc_open_namespace"
    assert ping is not None and ping.kind == "message"
    assert rpc.procedure_by_name("DOMAIN_EVENT_CALLBACK_LIFECYCLE").kind == "message"
    assert rpc.procedure_by_name("STORAGE_VOL_UPLOAD").stream == ("write", 1)
    assert rpc.procedure_by_name("STORAGE_VOL_DOWNLOAD").stream == ("read", 1)
    assert rpc.procedure(rpc.REMOTE_PROGRAM, 999) is None
    # every struct named by the table compiles
    for p in rpc.procedures():
        p.args, p.ret  # noqa: B018


@pytest.mark.parametrize("name,args,write", [
    ("DOMAIN_GET_INFO", None, False),
    ("CONNECT_LIST_ALL_DOMAINS", None, False),
    ("CONNECT_OPEN", None, False),
    ("AUTH_LIST", None, False),
    ("DOMAIN_DESTROY", None, True),
    ("DOMAIN_DEFINE_XML", None, True),
    ("DOMAIN_CREATE", None, True),
    ("NETWORK_CREATE", None, True),
    ("CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY", None, False),
    ("STORAGE_VOL_DOWNLOAD", None, True),
    ("DOMAIN_GET_XML_DESC", (DomainRef("t", UUID, 1), 0), False),
    ("DOMAIN_GET_XML_DESC", (DomainRef("t", UUID, 1), c.VIR_DOMAIN_XML_SECURE), True),
    ("DOMAIN_GET_XML_DESC", (DomainRef("t", UUID, 1), c.VIR_DOMAIN_XML_INACTIVE), False),
    ("DOMAIN_GET_VCPUS_FLAGS", (DomainRef("t", UUID, 1), 0), False),
    ("DOMAIN_GET_VCPUS_FLAGS", (DomainRef("t", UUID, 1), c.VIR_DOMAIN_VCPU_GUEST), True),
    ("DOMAIN_INTERFACE_ADDRESSES", (DomainRef("t", UUID, 1), c.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0), False),
    ("DOMAIN_INTERFACE_ADDRESSES", (DomainRef("t", UUID, 1), c.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, 0), True),
])
def test_read_only_classification(name: str, args: tuple | None, write: bool) -> None:
    p = rpc.procedure_by_name(name)
    decoded = p.decode_args(p.encode_args(args)) if args is not None else None
    assert p.is_write(decoded) is write


def test_packet_reader_splits_and_joins() -> None:
    a = rpc.pack_packet(rpc.REMOTE_PROGRAM, 1, 3, rpc.CALL, 1, rpc.OK)
    b = rpc.pack_packet(rpc.REMOTE_PROGRAM, 1, 59, rpc.REPLY, 2, rpc.OK, b"\0\0\0\1x\0\0\0")
    r = rpc.PacketReader()
    data = a + b
    got = []
    for i in range(len(data)):
        got += r.feed(data[i:i + 1])
    assert [(h.proc, h.serial, pl) for h, pl in got] == [(3, 1, b""), (59, 2, b"\0\0\0\1x\0\0\0")]
    assert r.pending == 0


@pytest.mark.parametrize("length", [0, 3, 27, 33554432 + 5, 0xFFFFFFFF])
def test_packet_length_limits(length: int) -> None:
    with pytest.raises(rpc.ProtocolError):
        rpc.parse_length(struct.pack(">I", length))
    with pytest.raises(rpc.ProtocolError):
        rpc.PacketReader().feed(struct.pack(">I", length))


def test_decoders_reject_lies() -> None:
    p = rpc.procedure_by_name("CONNECT_LIST_ALL_DOMAINS")
    with pytest.raises(rpc.ProtocolError):
        p.decode_ret(words("00004001"))  # count above REMOTE_DOMAIN_LIST_MAX
    with pytest.raises(rpc.ProtocolError):
        p.decode_ret(words("00000002 00000004 74657374"))  # truncated
    with pytest.raises(rpc.ProtocolError):
        rpc.procedure_by_name("DOMAIN_LOOKUP_BY_NAME").decode_args(words("00400001"))  # > STRING_MAX
    with pytest.raises(rpc.ProtocolError):
        rpc.codec("remote_typed_param").decode(words("00000001 61000000 00000009 00000000"))  # bad union arm


def test_encoders_reject_values_that_do_not_fit() -> None:
    p = rpc.procedure_by_name("DOMAIN_LOOKUP_BY_UUID")
    with pytest.raises(rpc.ProtocolError):
        p.encode_args((b"short",))
    with pytest.raises(rpc.ProtocolError):
        rpc.procedure_by_name("CONNECT_SUPPORTS_FEATURE").encode_args((2**40,))
    with pytest.raises(rpc.ProtocolError):
        rpc.procedure_by_name("CONNECT_LIST_ALL_DOMAINS").encode_ret(([DomainRef("a", UUID, 1)] * 16385, 0))


def test_generated_table_is_current() -> None:
    """tools/gen_protocol.py run on libvirt 9.0's .x files gives the committed table (PYVIRT_REGEN=1 rewrites)."""
    import importlib.util
    import os
    from pathlib import Path

    src = "/work/ref/libvirt-9.0.0"
    if not os.path.isdir(os.path.join(src, "src", "remote")):
        pytest.skip("libvirt 9.0 source tree not available")
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("gen_protocol", root / "tools" / "gen_protocol.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    text = gen.generate(src)
    table = root / "pyvirt" / "rpc" / "_table.py"
    if os.environ.get("PYVIRT_REGEN") == "1":
        table.write_text(text)
    assert table.read_text() == text
