"""A test guest's serial console over a UNIX socket chardev: read all output, send commands.

The reader thread drains the socket at all times: a guest writing to a full
console blocks (a kernel panic's backtrace is long), so nobody may stop reading.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

__all__ = ["Console", "serial_xml"]


def serial_xml(path: Path) -> str:
    return f"<serial type='unix'><source mode='bind' path='{path}'/></serial>"


class Console:
    def __init__(self, path: Path, timeout: float = 60.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(str(path))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self.text = ""
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            with self.cond:
                if not data:
                    self.cond.notify_all()
                    return
                self.text += data.decode(errors="replace")
                self.cond.notify_all()

    def wait_for(self, needle: str, count: int = 1, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.text.count(needle) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{needle!r} (x{count}) never appeared: {self.text[-800:]!r}")
                self.cond.wait(left)

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\n")

    def close(self) -> None:
        self.sock.close()
