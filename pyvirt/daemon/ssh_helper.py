"""``pyvirt-ssh-helper``: join stdin/stdout to a daemon's UNIX socket (libvirt's virt-ssh-helper).

A client on another host runs it through ``ssh`` and speaks libvirt's protocol over the pipe::

    pyvirt-ssh-helper [-r] URI            # like virt-ssh-helper: the socket the URI's daemon uses
    pyvirt-ssh-helper [-q0] -U SOCKET     # like ``nc -U``: so it also serves as a URI's ``netcat=``

The socket is the URI's ``socket=`` parameter if it has one, else the one libvirt's clients pick
for that URI (``/var/run/libvirt/libvirt-sock[-ro]`` for system URIs, ``$XDG_RUNTIME_DIR`` for
session ones); ``-U``/``--socket`` names it outright. Real virsh reaches pyvirtd with
``test+ssh://host/default?socket=PATH&netcat=pyvirt-ssh-helper``.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import sys
from typing import Sequence

__all__ = ["main", "socket_for", "relay"]

_CHUNK = 1 << 16


def socket_for(uri_text: str, read_only: bool) -> str:
    """The daemon socket for *uri_text*, as the client library would choose it on this host."""
    from ..rpc.transport import default_unix_socket
    from ..uri import parse_uri

    uri = parse_uri(uri_text)
    given = uri.param("socket")
    if given:
        return given
    return default_unix_socket(uri, read_only)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def relay(sock: socket.socket, fd_in: int, fd_out: int) -> None:
    """Copy *fd_in* to *sock* and *sock* to *fd_out* until the daemon side closes."""
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, "sock")
    sel.register(fd_in, selectors.EVENT_READ, "in")
    try:
        while True:
            for key, _ in sel.select():
                if key.data == "sock":
                    data = sock.recv(_CHUNK)
                    if not data:
                        return  # the daemon hung up: so do we
                    _write_all(fd_out, data)
                else:
                    data = os.read(fd_in, _CHUNK)
                    if not data:  # the client is done sending; let the daemon finish answering
                        sel.unregister(fd_in)
                        sock.shutdown(socket.SHUT_WR)
                        continue
                    sock.sendall(data)
    finally:
        sel.close()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pyvirt-ssh-helper",
                                description="Join stdin/stdout to the UNIX socket of a libvirt daemon (pyvirtd).")
    p.add_argument("-r", "--readonly", action="store_true", help="use the read-only socket")
    p.add_argument("-U", "--socket", metavar="PATH", help="connect to this socket (nc -U style)")
    p.add_argument("-q", metavar="SECS", help="accepted and ignored (nc compatibility)")
    p.add_argument("uri", nargs="?", help="the connection URI whose daemon to reach")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pyvirt-ssh-helper``; exit status 0 when the daemon closed the connection."""
    args = _parser().parse_args(argv)
    prog = "pyvirt-ssh-helper"
    if args.socket:
        path = args.socket
    elif args.uri:
        try:
            path = socket_for(args.uri, args.readonly)
        except Exception as exc:  # LibvirtError from a malformed URI
            print(f"{prog}: {exc}", file=sys.stderr)
            return 1
    else:
        print(f"{prog}: a URI or -U SOCKET is required", file=sys.stderr)
        return 1
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        print(f"{prog}: Failed to connect socket to '{path}': {exc.strerror or exc}", file=sys.stderr)
        return 1
    try:
        relay(sock, sys.stdin.fileno(), sys.stdout.fileno())
    except (BrokenPipeError, ConnectionError):
        pass  # either side vanished mid-stream: nothing left to join
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
