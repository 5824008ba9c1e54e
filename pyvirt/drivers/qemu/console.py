"""Consoles and screenshots of running QEMU guests (streams).

``domain_open_console`` joins a stream to the host side of a guest's pty
serial/console device, as libvirt's qemuDomainOpenConsole: one session per
pty at a time (libvirt's virChrdevs), FORCE ends the old session (its stream
is aborted, which its daemon reports to that client as an I/O failure).
``domain_screenshot`` asks QEMU for a PNG (QMP ``screendump``) in a temporary
file of the domain's scratch directory and streams it.
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import TYPE_CHECKING, Any

from ... import constants as c
from ...conf.xmlutil import Element
from ...errors import check_flags, make_error
from ...stream import FDStream
from ..base import DomainRef
from .errors import qemu_error as _err

if TYPE_CHECKING:
    from .driver import Dom, QemuState
    from .process import QemuVM

__all__ = ["ConsoleMixin"]

# pty path -> the stream holding it (libvirt keeps one such table per domain; pty paths are
# unique on the host, so one table per process is the same thing)
_sessions: dict[str, FDStream] = {}
_sessions_lock = threading.Lock()


def _release(stream: FDStream) -> None:
    with _sessions_lock:
        if _sessions.get(stream.path) is stream:
            del _sessions[stream.path]


def _alias(elem: Element) -> str | None:
    node = elem.find("alias")
    return node.get("name") if node is not None else None


def _find_chr(vm: "QemuVM", dev_name: str | None) -> Element | None:
    """qemuDomainOpenConsole's search: by alias among consoles, serials, parallels; else the first.

    (A first console that stands for serial 0 is shown, and found, as that serial port.)
    """
    live = vm.live
    consoles = [d.xml for d in live.consoles]
    serials = [d.xml for d in live.serials]
    if dev_name is None:
        return consoles[0] if consoles else (serials[0] if serials else None)
    for group in (consoles, serials, [d.xml for d in live.parallels]):
        for elem in group:
            if _alias(elem) == dev_name:
                return elem
    return None


class ConsoleMixin:
    """Entries of :class:`~.driver.QemuDriver` (mixed in)."""

    st: "QemuState"

    if TYPE_CHECKING:  # provided by QemuDriver and Driver
        def check_writable(self) -> None: ...
        def _running(self, dom: DomainRef) -> tuple["Dom", "QemuVM"]: ...

    def domain_open_console(self, dom: DomainRef, dev_name: str | None = None, flags: int = 0) -> FDStream:
        """A two-way stream on the guest's pty console (first console or serial, or by alias)."""
        check_flags(flags, c.VIR_DOMAIN_CONSOLE_SAFE | c.VIR_DOMAIN_CONSOLE_FORCE, "qemuDomainOpenConsole",
                    c.VIR_FROM_QEMU)
        self.check_writable()
        with self.st.lock:
            _d, vm = self._running(dom)
            chr_ = _find_chr(vm, dev_name)
            if chr_ is None:
                raise _err(c.VIR_ERR_INTERNAL_ERROR, f"cannot find character device {dev_name or '(null)'}")
            if chr_.get("type") != "pty":
                raise _err(c.VIR_ERR_INTERNAL_ERROR,
                           f"character device {dev_name or _alias(chr_) or '(null)'} is not using a PTY")
            src = chr_.find("source")
            path = src.get("path") if src is not None else None
        if not path:
            raise make_error(c.VIR_ERR_OPERATION_FAILED, "PTY device is not yet assigned", c.VIR_FROM_NONE)
        with _sessions_lock:
            old = _sessions.get(path)
            if old is not None and not old.closed:
                if not flags & c.VIR_DOMAIN_CONSOLE_FORCE:
                    raise _err(c.VIR_ERR_OPERATION_FAILED, "Active console session exists for this domain")
                del _sessions[path]
            else:
                old = None
            stream = FDStream.open_pty(path)
            stream.on_close(_release)
            _sessions[path] = stream
        if old is not None:
            old.abort()  # its owner (a daemon, an application's event loop) sees the abort
        return stream

    def domain_screenshot(self, dom: DomainRef, screen: int, flags: int = 0) -> tuple[str, FDStream]:
        """(MIME type, stream of the image) of *screen*; PNG, as libvirt asks of QEMU 7.1 and later."""
        check_flags(flags, 0, "qemuDomainScreenshot", c.VIR_FROM_QEMU)
        self.check_writable()
        with self.st.lock:
            d, vm = self._running(dom)
            videos = vm.live.devices_elem.findall("video")
            if not videos:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "no screens to take screenshot from")
            args: dict[str, Any] = {}
            if screen:
                left = screen
                for video in videos:
                    model = video.find("model")
                    heads = int(model.get("heads", "1")) if model is not None else 1
                    if left < heads:
                        args["device"] = _alias(video) or ""
                        args["head"] = left
                        break
                    left -= heads
                else:
                    raise _err(c.VIR_ERR_OPERATION_INVALID, "no such screen ID")
            lib_dir = vm.paths.lib_dir
        os.makedirs(lib_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix="qemu.screendump.", dir=str(lib_dir))
        os.close(fd)
        try:
            vm.execute("screendump", {"filename": tmp, **args, "format": "png"})
            stream = FDStream.open_file(tmp, unlink=True)
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return "image/png", stream
