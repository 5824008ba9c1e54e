"""The daemon's server: listeners, clients, the worker pool, idle timeout, shutdown."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import os
import pwd
import signal
import socket
import struct
import threading
from typing import Awaitable, Callable

from ..identity import Identity, caller
from ..rpc import Header
from .client import Client
from .config import DaemonConfig
from .listeners import Service, dn_allowed, peer_dn, tcp_services, unix_services

__all__ = ["Server"]

log = logging.getLogger("pyvirt.daemon")


def _peer_identity(sock: socket.socket | None, service: Service, dn: str | None) -> Identity:
    """Who is on the other end: SO_PEERCRED for UNIX sockets, the x509 DN for TLS."""
    if service.is_unix and sock is not None:
        try:
            pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                  struct.calcsize("3i")))
        except OSError:
            pid, uid, gid = -1, -1, -1
        try:
            name = pwd.getpwuid(uid).pw_name
        except (KeyError, OverflowError):
            name = str(uid)
        return Identity(name, uid, gid, pid, read_only=service.read_only)
    return Identity("", -1, -1, -1, x509_dn=dn, read_only=service.read_only)


#: driver modules whose every call is quick and in memory (safe to serve on the loop thread)
INLINE_DRIVER_MODULES = ("pyvirt.drivers.test",)
_inline_types: dict[type, bool] = {}
_inline_procs: dict[tuple[int, int], bool] = {}


def _runs_inline(driver: object, hdr: Header) -> bool:
    """Whether a call may be served on the loop thread (see :meth:`Server.submit`)."""
    if driver is None:
        return False
    kind = type(driver)
    ok = _inline_types.get(kind)
    if ok is None:
        ok = _inline_types[kind] = kind.__module__.startswith(INLINE_DRIVER_MODULES)
    if not ok:
        return False
    key = (hdr.prog, hdr.proc)
    inline = _inline_procs.get(key)
    if inline is None:
        from .wire import procedure
        spec = procedure(hdr.proc, hdr.prog)
        inline = _inline_procs[key] = spec is not None and spec.stream is None  # streams may wait: workers
    return inline


class Server:
    """pyvirtd's server object; run it with :meth:`serve`."""

    #: seconds a stopping daemon waits for calls still running
    SHUTDOWN_GRACE = 30

    def __init__(self, config: DaemonConfig, listen: bool = False, timeout: int = 0,
                 dispatch: Callable[[Client, Header, bytes], bytes | None] | None = None) -> None:
        self.config = config
        self.listen = listen
        self.timeout = timeout
        if dispatch is None:
            from .dispatch import dispatch_call
            dispatch = dispatch_call
        self._dispatch = dispatch
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=config.max_workers, thread_name_prefix="pyvirtd-worker")
        self.services: list[Service] = []
        self.clients: set[Client] = set()
        self._client_tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._servers: list[asyncio.AbstractServer] = []
        self._stop: asyncio.Event | None = None
        self._activity: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.loop_thread = 0  # thread id of the loop, once serving

    # --- setup ------------------------------------------------------------------
    def open_listeners(self) -> None:
        """Bind every socket (before daemonizing, so errors reach the terminal)."""
        self.services = unix_services(self.config)
        if self.listen:
            try:
                self.services += tcp_services(self.config)
            except BaseException:
                self.close_listeners()
                raise

    def close_listeners(self) -> None:
        """Close listening sockets and remove the UNIX socket files."""
        for svc in self.services:
            for s in svc.sockets:
                try:
                    s.close()
                except OSError:
                    pass
            if svc.path:
                try:
                    os.unlink(svc.path)
                except OSError:
                    pass

    # --- running ----------------------------------------------------------------
    async def serve(self) -> None:
        """Accept clients until :meth:`stop` (or a signal, or the idle timeout)."""
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self._stop = asyncio.Event()
        self._activity = asyncio.Event()
        for sig, handler in ((signal.SIGTERM, self.stop), (signal.SIGINT, self.stop),
                             (signal.SIGHUP, self._reload)):
            try:
                self.loop.add_signal_handler(sig, handler)
            except (RuntimeError, ValueError):  # not the main thread (tests)
                pass
        for svc in self.services:
            for sock in svc.sockets:
                cb = self._acceptor(svc)
                if svc.is_unix:
                    srv = await asyncio.start_unix_server(cb, sock=sock)
                else:
                    srv = await asyncio.start_server(cb, sock=sock, ssl=svc.tls,
                                                     ssl_handshake_timeout=30 if svc.tls else None)
                self._servers.append(srv)
        idle = asyncio.ensure_future(self._idle_watch()) if self.timeout > 0 else None
        try:
            await self._stop.wait()
        finally:
            if idle is not None:
                idle.cancel()
            await self._shutdown()

    def _reload(self) -> None:
        # libvirtd reloads its drivers' state on SIGHUP and keeps running; pyvirt's drivers
        # have nothing to reload, but the daemon must not die of the default action.
        log.info("SIGHUP received: nothing to reload")

    def stop(self) -> None:
        """Ask :meth:`serve` to return (loop thread)."""
        if self._stop is not None:
            self._stop.set()

    def stop_threadsafe(self) -> None:
        self.loop.call_soon_threadsafe(self.stop)

    async def _idle_watch(self) -> None:
        assert self._activity is not None
        while True:
            self._activity.clear()
            if self.clients:
                await self._activity.wait()
                continue
            try:
                await asyncio.wait_for(self._activity.wait(), self.timeout)
            except asyncio.TimeoutError:
                if not self.clients:
                    log.info("no clients for %d seconds, exiting", self.timeout)
                    self.stop()
                    return

    async def _shutdown(self) -> None:
        for srv in self._servers:
            srv.close()
        self.close_listeners()
        closing = [client.close() for client in list(self.clients)]
        hung = False
        if closing:
            try:
                # running calls finish (nothing half-done), but a hung driver must not keep us alive
                await asyncio.wait_for(asyncio.gather(*closing), self.SHUTDOWN_GRACE)
            except asyncio.TimeoutError:
                hung = True
                log.warning("calls still running after %d seconds, exiting anyway", self.SHUTDOWN_GRACE)
        for task in list(self._client_tasks):
            task.cancel()
        self.executor.shutdown(wait=not hung, cancel_futures=True)

    def _acceptor(self, svc: Service) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._accept(svc, reader, writer)
        return accept

    async def _accept(self, svc: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._stop is not None and self._stop.is_set():
            writer.close()
            return
        if len(self.clients) >= self.config.max_clients:
            log.warning("Too many active clients (%d), dropping connection", len(self.clients))
            writer.close()
            return
        if svc.auth != 0 and sum(1 for cl in self.clients if not cl.authenticated) >= \
                self.config.max_anonymous_clients:
            log.warning("Too many clients waiting for authentication (%d), dropping connection",
                        self.config.max_anonymous_clients)
            writer.close()
            return
        dn = None
        if svc.tls is not None:
            dn = peer_dn(writer.get_extra_info("ssl_object"))
            if not self.config.tls_no_verify_certificate and not dn_allowed(dn, self.config.tls_allowed_dn_list):
                log.warning("Client's Distinguished Name '%s' is not on the list of allowed clients "
                            "(tls_allowed_dn_list)", dn)
                writer.close()
                return
            writer.write(b"\x01")  # libvirt's "certificate checks passed" byte
        identity = _peer_identity(writer.get_extra_info("socket"), svc, dn)
        client = Client(self, svc, reader, writer, identity, next(self._ids))
        self.clients.add(client)
        if self._activity is not None:
            self._activity.set()
        task = asyncio.current_task()
        if task is not None:
            self._client_tasks.add(task)
        try:
            await client.run()
        finally:
            if task is not None:
                self._client_tasks.discard(task)

    def client_gone(self, client: Client) -> None:
        self.clients.discard(client)
        if self._activity is not None:
            self._activity.set()

    # --- calls --------------------------------------------------------------------
    def submit(self, client: Client, hdr: Header, payload: bytes) -> None:
        """Run one call on the worker pool; its reply goes out unless the client left.

        Calls on a connection to a driver that never blocks (all in memory: the test driver)
        run right here on the loop thread instead: two thread handoffs per call cost more
        than the call itself there, and nothing can make other clients wait on it.
        """
        if _runs_inline(client.driver, hdr):
            client.deferred = []  # events the call raises for this client go out after its reply
            try:
                reply = self._run_call(client, hdr, payload)
            finally:
                deferred, client.deferred = client.deferred, None
            if reply is not None and not client.closed:
                client.send(b"".join([reply, *deferred]) if deferred else reply)  # one write
            else:
                for frame in deferred:
                    client.send(frame)
            client.request_done()
            return
        try:
            fut = self.executor.submit(self._run_call, client, hdr, payload)
        except RuntimeError:  # pool shut down
            client.request_done()
            return
        fut.add_done_callback(lambda f: self._finish_threadsafe(client, f))

    def _finish_threadsafe(self, client: Client, fut: "concurrent.futures.Future[bytes | None]") -> None:
        try:
            self.loop.call_soon_threadsafe(self._finish, client, fut)
        except RuntimeError:  # the loop is gone: the daemon stopped, the reply has nowhere to go
            pass

    def _run_call(self, client: Client, hdr: Header, payload: bytes) -> bytes | None:
        caller.set(client.identity)
        try:
            return self._dispatch(client, hdr, payload)
        except Exception:
            log.exception("client %d: dispatch of proc %d failed", client.id, hdr.proc)
            return None

    def _finish(self, client: Client, fut: "concurrent.futures.Future[bytes | None]") -> None:
        try:
            reply = None if fut.cancelled() else fut.result()
        except Exception:
            reply = None
        if reply is not None and not client.closed:
            client.send(reply)
        client.request_done()
