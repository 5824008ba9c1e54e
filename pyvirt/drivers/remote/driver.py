"""The remote driver: every driver call is an RPC to a libvirt daemon (libvirtd or pyvirtd)."""

from __future__ import annotations

import logging
from typing import Any, Callable

from ... import constants as c
from ...errors import LibvirtError, make_error
from ...rpc import _table
from ...rpc.client import Client, Stream, _Pending, client_error
from ...rpc.packet import CALL, FRAME_PREFIX, OK, Header
from ...rpc.protocol import Procedure, procedure_by_method, procedure_by_name
from ...rpc.values import params_to_wire
from ...uri import URI
from ..base import Driver
from .autostart import open_endpoint_autostart
from .events import EventsMixin
from .generic import make_method
from .special import SpecialMixin

__all__ = ["RemoteDriver", "driver_uri_for"]

log = logging.getLogger("pyvirt.remote")

# Procedures that are not plain driver calls (handled by the connection itself).
_INTERNAL = frozenset({
    "connect_open", "connect_close", "auth_list", "auth_sasl_init", "auth_sasl_start", "auth_sasl_step",
    "auth_polkit", "connect_register_close_callback", "connect_unregister_close_callback",
})

REMOTE_AUTH_NONE, REMOTE_AUTH_SASL, REMOTE_AUTH_POLKIT = 0, 1, 2
FEATURE_PROGRAM_KEEPALIVE = 10
FEATURE_REMOTE_EVENT_CALLBACK = 14
FEATURE_REMOTE_CLOSE_CALLBACK = 15


def driver_uri_for(uri: URI) -> str:
    """The URI sent in CONNECT_OPEN: no transport, host, port, user or client-side parameters."""
    name = uri.param("name")
    if name is not None:
        return name
    if uri.driver == "remote":
        return ""
    return str(uri.local())


def _base_shortcuts() -> list[str]:
    own = set(vars(SpecialMixin)) | set(vars(EventsMixin))
    return [n for n, v in vars(Driver).items()
            if callable(v) and not n.startswith("_") and n not in own and n not in _INTERNAL
            and n not in ("connect_get_uri", "connect_is_alive", "check_writable")
            and procedure_by_method(n) is not None]


_BASE_SHORTCUTS = _base_shortcuts()


class RemoteDriver(SpecialMixin, EventsMixin, Driver):
    """A connection to a daemon over libvirt's RPC protocol."""

    _type: str | None = None

    @property
    def type_name(self) -> str:  # type: ignore[override]
        """The hypervisor type of the far side (CONNECT_GET_TYPE, asked once)."""
        if self._type is None:
            self._type = str(self._call(procedure_by_name("CONNECT_GET_TYPE")).type)
        return self._type

    def connect_get_type(self) -> str:
        return self.type_name

    def __init__(self, uri: URI, read_only: bool = False, keepalive: tuple[float, int] = (5.0, 5)) -> None:
        super().__init__(str(uri), read_only)
        self._uri = uri
        self._param_types: dict[str, int] = dict(_table.PARAM_TYPES)
        self._open_uri = driver_uri_for(uri)
        endpoint = open_endpoint_autostart(uri, read_only, self._open_uri)
        self._transport = uri.transport or ("tls" if uri.server else "unix")
        self._client = Client(endpoint, on_message=self._on_message, on_close=self._on_close)
        self._init_events()
        # Driver's convenience fallbacks (plain call -> *_flags) would change what goes on the
        # wire: libvirt's client sends the plain procedure, so use the table's method instead.
        for name in _BASE_SHORTCUTS:
            proc = procedure_by_method(name)
            if proc is not None:
                self.__dict__[name] = make_method(self, proc)
        try:
            self._authenticate(uri.param("auth"))
            if self._supports(FEATURE_PROGRAM_KEEPALIVE) and keepalive[0] > 0:
                self._client.start_keepalive(*keepalive)
            self._call(procedure_by_name("CONNECT_OPEN"),
                       (self._open_uri, c.VIR_CONNECT_RO if read_only else 0))
            self.callback_events = self._supports(FEATURE_REMOTE_EVENT_CALLBACK)
            self.close_callback = self._supports(FEATURE_REMOTE_CLOSE_CALLBACK)
        except BaseException:
            self._client.close()
            raise

    # --- plumbing ---------------------------------------------------------------------
    def _call(self, proc: Procedure, args: Any = None, timeout: float | None = None) -> Any:
        return self._client.call(proc, args, timeout)

    def _supports(self, feature: int) -> bool:
        try:
            return bool(self._call(procedure_by_name("CONNECT_SUPPORTS_FEATURE"), (feature,)).supported)
        except LibvirtError:
            return False

    def _authenticate(self, wanted: str | None) -> None:
        try:
            types = self._call(procedure_by_name("AUTH_LIST")).types
        except LibvirtError as exc:
            if exc.code == c.VIR_ERR_NO_SUPPORT:
                return  # an old server without AUTH_LIST
            raise
        if not types:
            return
        kind = types[0]
        if wanted:
            want = REMOTE_AUTH_SASL if wanted.lower() == "sasl" or wanted.lower().startswith("sasl.") else \
                REMOTE_AUTH_POLKIT if wanted.lower() == "polkit" else None
            if want is None:
                raise make_error(c.VIR_ERR_AUTH_FAILED, f"unknown authentication type {wanted}", c.VIR_FROM_REMOTE)
            if want not in types:
                raise make_error(c.VIR_ERR_AUTH_FAILED, f"requested authentication type {wanted} rejected",
                                 c.VIR_FROM_REMOTE)
            kind = want
        if kind == REMOTE_AUTH_NONE:
            return
        if kind == REMOTE_AUTH_POLKIT:
            self._call(procedure_by_name("AUTH_POLKIT"))
            return
        if kind == REMOTE_AUTH_SASL:
            raise make_error(c.VIR_ERR_AUTH_FAILED, "SASL authentication is not supported by pyvirt's remote "
                             "driver; use TLS client certificates, SSH or a UNIX socket", c.VIR_FROM_REMOTE)
        raise make_error(c.VIR_ERR_AUTH_FAILED, f"unsupported authentication type {kind}", c.VIR_FROM_REMOTE)

    def _params_for(self, proc: Procedure, value: Any) -> Any:
        """Typed parameters for the wire from a dict (types from libvirt's documented names)."""
        if isinstance(value, list) and all(isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], tuple)
                                           for v in value):
            return value
        return params_to_wire(value, self._param_types)

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and name not in _INTERNAL:
            proc = procedure_by_method(name)
            if proc is not None and proc.kind == "call" and proc.stream is None \
                    and "_event_register" not in name and "_event_deregister" not in name \
                    and "_event_callback_" not in name:
                method = make_method(self, proc)
                self.__dict__[name] = method
                return method
        return super().__getattr__(name)

    # --- connection-level calls ---------------------------------------------------------
    def connect_close(self) -> None:
        if not self._client.is_open:
            self._client.close()
            return
        try:
            self._close_events()
            self._call(procedure_by_name("CONNECT_CLOSE"), timeout=30)
        except LibvirtError:
            pass
        finally:
            self._client.close()

    def connect_set_keep_alive(self, interval: int, count: int) -> int:
        """libvirt's virConnectSetKeepAlive: 1 when the daemon does not support keepalive."""
        if not self._supports(FEATURE_PROGRAM_KEEPALIVE):
            return 1
        self._client.stop_keepalive()
        if interval > 0:
            self._client.start_keepalive(interval, count)
        return 0

    def connect_is_alive(self) -> int:
        return 1 if self._client.is_open else 0

    def connect_is_encrypted(self) -> int:
        """Encrypted when the transport is TLS and the far side's driver is secure (libvirt's rule)."""
        secure = self._call(procedure_by_name("CONNECT_IS_SECURE")).secure
        return 1 if self._transport == "tls" and secure else 0

    def connect_is_secure(self) -> int:
        """Secure when the transport is (TLS, UNIX, SSH, ext) and the far side's driver is."""
        secure = self._call(procedure_by_name("CONNECT_IS_SECURE")).secure
        return 1 if self._transport != "tcp" and secure else 0

    def connect_get_uri(self) -> str:
        return self.uri

    # --- streams ----------------------------------------------------------------------
    def _open_stream(self, name: str, args: Any) -> tuple["EventStream", Any]:
        """Call a stream-opening procedure; an :class:`EventStream` that reports new data."""
        client = self._client
        proc = procedure_by_name(name)
        pend = _Pending()
        with client._lock:
            if client._closed_error is not None:
                raise client_error(c.VIR_ERR_INTERNAL_ERROR, "client socket is closed")
            serial = next(client._serials) & 0xFFFFFFFF
            client._pending[serial] = pend
            stream = EventStream(client, proc, serial)
            client._streams[serial] = stream
        payload = proc.args.encode(args) if proc.args_type else b""
        client._send(FRAME_PREFIX.pack(28 + len(payload), proc.prog, proc.vers, proc.number, CALL, serial, OK)
                     + payload)
        pend.done.wait()
        if pend.error is not None:
            client._streams.pop(serial, None)
            raise pend.error
        return stream, (proc.ret.decode(pend.payload) if proc.ret_type else None)

    def storage_vol_upload(self, vol: Any, offset: int, length: int, flags: int = 0) -> Stream:
        """Open an upload stream: ``send()`` the data, then ``finish()``."""
        return self._open_stream("STORAGE_VOL_UPLOAD", (vol, offset, length, flags))[0]

    def storage_vol_download(self, vol: Any, offset: int, length: int, flags: int = 0) -> Stream:
        """Open a download stream: ``recv()`` until b"", then ``finish()``."""
        return self._open_stream("STORAGE_VOL_DOWNLOAD", (vol, offset, length, flags))[0]

    def domain_open_console(self, dom: Any, dev_name: str | None = None, flags: int = 0) -> Stream:
        """A two-way stream joined to the guest's console."""
        return self._open_stream("DOMAIN_OPEN_CONSOLE", (dom, dev_name, flags))[0]

    def domain_open_channel(self, dom: Any, name: str | None = None, flags: int = 0) -> Stream:
        return self._open_stream("DOMAIN_OPEN_CHANNEL", (dom, name, flags))[0]

    def domain_screenshot(self, dom: Any, screen: int, flags: int = 0) -> tuple[str | None, Stream]:
        """(mime type, stream of the image)."""
        stream, ret = self._open_stream("DOMAIN_SCREENSHOT", (dom, screen, flags))
        return ret.mime, stream


class EventStream(Stream):
    """An RPC stream that tells its owner when data, the end or an error arrives.

    ``set_notify(fn)`` registers ``fn()`` (called on the connection's I/O thread);
    :meth:`has_pending` and :meth:`recv_nonblock` serve non-blocking readers.
    """

    _notify: Callable[[], None] | None = None

    def set_notify(self, fn: Callable[[], None] | None) -> None:
        self._notify = fn
        if fn is not None and self.has_pending():
            fn()

    def _ping(self) -> None:
        fn = self._notify
        if fn is not None:
            try:
                fn()
            except Exception:  # a broken callback must not kill the I/O thread
                log.exception("stream notification failed")

    def _incoming(self, hdr: Header, payload: bytes) -> None:
        super()._incoming(hdr, payload)
        self._ping()

    def _lost(self, err: LibvirtError) -> None:
        super()._lost(err)
        self._ping()

    def has_pending(self) -> bool:
        """Whether :meth:`recv` would return at once (data, the end, or an error)."""
        return bool(self._leftover or self._hole_left or self._eof or not self._chunks.empty())

    def recv_nonblock(self, nbytes: int) -> bytes | None:
        """Like :meth:`recv`, but None instead of waiting."""
        if not self.has_pending():
            return None
        return self.recv(nbytes)
