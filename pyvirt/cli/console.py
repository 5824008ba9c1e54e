"""virsh console and screenshot: a guest's serial console and display through streams.

``console`` is virsh's console loop (tools/virsh-console.c) on libvirt-python's
API only, so it runs the same with pyvirt's module and with Debian's libvirt
(``PYVIRSH_BACKEND=libvirt``): a non-blocking stream, stdin/stdout handles and
a stream callback on the default event loop, the terminal in raw mode, and the
escape character (``^]`` unless ``-e`` says otherwise) as the first byte of a
read ending the session.
"""

from __future__ import annotations

import errno
import os
import time
from typing import Any

from .options import Cmd, command
from .shell import Ctl
from .util import opt_domain

__all__ = ["cmd_console", "cmd_screenshot", "escape_byte"]

BUF_STEP = 1024


def escape_byte(spec: str) -> int:
    """virshGetEscapeChar: ``^X`` is Ctrl+X, anything else the character itself."""
    if spec.startswith("^") and len(spec) == 2:
        return ord(spec[1].upper()) & 0x1F
    return ord(spec[0])


class _Console:
    """virConsole: the buffers and watches of one session, driven by the event loop."""

    def __init__(self, ctl: Ctl, escape: int) -> None:
        self.ctl = ctl
        self.lv = ctl.lv
        self.escape = escape
        self.st: Any = None
        self.quit = False
        self.error: Exception | None = None
        self.to_term = bytearray()
        self.to_stream = bytearray()
        self.stdin_watch = -1
        self.stdout_watch = -1

    def shutdown(self, graceful: bool, err: Exception | None = None) -> None:
        """virConsoleShutdown: end the stream (finish or abort) and stop the loop."""
        if self.error is None and err is not None:
            self.error = err
        lv = self.lv
        if self.st is not None:
            st, self.st = self.st, None
            try:
                st.eventRemoveCallback()
            except lv.libvirtError:
                pass
            try:
                st.finish() if graceful else st.abort()
            except lv.libvirtError as exc:
                if self.error is None:
                    self.error = exc
        for watch in (self.stdin_watch, self.stdout_watch):
            if watch != -1:
                lv.virEventRemoveHandle(watch)
        self.stdin_watch = self.stdout_watch = -1
        self.quit = True

    def on_stream(self, st: Any, events: int, _opaque: Any) -> None:
        lv = self.lv
        if self.st is None:
            return  # a late event after the end
        if events & lv.VIR_STREAM_EVENT_READABLE:
            try:
                got = st.recv(BUF_STEP)
            except lv.libvirtError as exc:
                self.shutdown(False, exc)
                return
            if got == -2:
                return
            if not got:
                self.shutdown(True)
                return
            self.to_term += got
            lv.virEventUpdateHandle(self.stdout_watch, lv.VIR_EVENT_HANDLE_WRITABLE)
        if events & lv.VIR_STREAM_EVENT_WRITABLE and self.to_stream:
            try:
                done = st.send(bytes(self.to_stream))
            except lv.libvirtError as exc:
                self.shutdown(False, exc)
                return
            if done == -2:
                return
            del self.to_stream[:done]
        if not self.to_stream and self.st is not None:
            st.eventUpdateCallback(lv.VIR_STREAM_EVENT_READABLE)
        if events & (lv.VIR_STREAM_EVENT_ERROR | lv.VIR_STREAM_EVENT_HANGUP):
            self.shutdown(False)

    def on_stdin(self, _watch: int, fd: int, events: int, _opaque: Any) -> None:
        lv = self.lv
        if self.st is None:
            return
        if events & lv.VIR_EVENT_HANDLE_READABLE:
            try:
                got = os.read(fd, BUF_STEP)
            except OSError as exc:
                if exc.errno != errno.EAGAIN:
                    self.shutdown(False, RuntimeError(f"cannot read from stdin: {exc.strerror}"))
                return
            if not got:
                self.shutdown(False, RuntimeError("internal error: EOF on stdin"))
                return
            if got[0] == self.escape:
                self.shutdown(True)
                return
            self.to_stream += got
            self.st.eventUpdateCallback(lv.VIR_STREAM_EVENT_READABLE | lv.VIR_STREAM_EVENT_WRITABLE)
        if events & lv.VIR_EVENT_HANDLE_ERROR:
            self.shutdown(False, RuntimeError("internal error: IO error on stdin"))
        elif events & lv.VIR_EVENT_HANDLE_HANGUP:
            self.shutdown(False, RuntimeError("internal error: EOF on stdin"))

    def on_stdout(self, _watch: int, fd: int, events: int, _opaque: Any) -> None:
        lv = self.lv
        if self.st is None:
            return
        if events & lv.VIR_EVENT_HANDLE_WRITABLE and self.to_term:
            try:
                done = os.write(fd, bytes(self.to_term))
            except OSError as exc:
                if exc.errno != errno.EAGAIN:
                    self.shutdown(False, RuntimeError(f"cannot write to stdout: {exc.strerror}"))
                return
            del self.to_term[:done]
        if not self.to_term and self.stdout_watch != -1:
            lv.virEventUpdateHandle(self.stdout_watch, 0)
        if events & lv.VIR_EVENT_HANDLE_ERROR:
            self.shutdown(False, RuntimeError("internal error: IO error stdout"))
        elif events & lv.VIR_EVENT_HANDLE_HANGUP:
            self.shutdown(False, RuntimeError("internal error: EOF on stdout"))


def run_console(ctl: Ctl, dom: Any, dev_name: str | None, flags: int) -> bool:
    """virshRunConsole: the session itself, with stdin in raw mode for its duration."""
    import termios
    import tty
    lv = ctl.lv
    saved = None
    try:
        saved = termios.tcgetattr(0)
        tty.setraw(0, termios.TCSAFLUSH)
    except termios.error:
        saved = None
    con = _Console(ctl, escape_byte(ctl.escape_char or "^]"))
    try:
        lv.virEventRegisterDefaultImpl()
        st = ctl.conn.newStream(lv.VIR_STREAM_NONBLOCK)
        dom.openConsole(dev_name, st, flags)
        con.st = st
        con.stdin_watch = lv.virEventAddHandle(0, lv.VIR_EVENT_HANDLE_READABLE, con.on_stdin, None)
        con.stdout_watch = lv.virEventAddHandle(1, 0, con.on_stdout, None)
        st.eventAddCallback(lv.VIR_STREAM_EVENT_READABLE, con.on_stream, None)
        while not con.quit:
            lv.virEventRunDefaultImpl()
    except lv.libvirtError as exc:
        con.shutdown(False, exc)
    finally:
        if con.st is not None:
            con.shutdown(False)
        if con.to_term:  # what the guest said last still reaches the terminal
            try:
                os.write(1, bytes(con.to_term))
            except OSError:
                pass
        if saved is not None:
            termios.tcsetattr(0, termios.TCSAFLUSH, saved)
    if con.error is not None:
        if isinstance(con.error, lv.libvirtError):
            ctl.save_error(con.error)
        else:
            ctl.save_error(str(con.error))  # type: ignore[arg-type]
        return False
    return True


@command("console")
def cmd_console(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    dom, _name = opt_domain(ctl, cmd)
    dev_name = ctl.opt_string(cmd, "devname")
    flags = (lv.VIR_DOMAIN_CONSOLE_FORCE if cmd.bool("force") else 0) | \
        (lv.VIR_DOMAIN_CONSOLE_SAFE if cmd.bool("safe") else 0)
    try:
        state = dom.state()[0]
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        raise ctl.fail("Unable to get domain status")
    if state == lv.VIR_DOMAIN_SHUTOFF:
        raise ctl.fail("The domain is not running")
    if not os.isatty(0):
        raise ctl.fail("Cannot run interactive console without a controlling TTY")
    escape = ctl.escape_char or "^]"
    text = f"Connected to domain '{dom.name()}'\nEscape character is {escape}"
    if escape.startswith("^"):
        text += f" (Ctrl + {escape[1]})"
    ctl.print_extra(text + "\n")
    return run_console(ctl, dom, dev_name, flags)


def _gen_file_name(dom: Any, mime: str) -> str:
    """virshGenFileName: NAME-YYYY-MM-DD-HH:MM:SS plus the MIME type's extension."""
    ext = {"image/x-portable-pixmap": ".ppm", "image/png": ".png"}.get(mime, "")
    return f"{dom.name()}-{time.strftime('%Y-%m-%d-%H:%M:%S')}{ext}"


@command("screenshot")
def cmd_screenshot(ctl: Ctl, cmd: Cmd) -> bool:
    lv = ctl.lv
    file = ctl.opt_string(cmd, "file")
    screen = ctl.opt_uint(cmd, "screen") or 0
    dom, name = opt_domain(ctl, cmd)
    st = ctl.conn.newStream(0)
    try:
        mime = dom.screenshot(st, screen, 0)
    except lv.libvirtError as exc:
        ctl.save_error(exc)
        raise ctl.fail(f"could not take a screenshot of {name}")
    if not file:
        file = _gen_file_name(dom, mime)
    created = False
    try:
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        created = True
    except OSError as exc:
        try:
            if exc.errno != errno.EEXIST:
                raise
            fd = os.open(file, os.O_WRONLY | os.O_TRUNC, 0o666)
        except OSError:
            _abort(lv, st)
            raise ctl.fail(f"cannot create file {file}") from None
    ok = False
    try:
        def sink(_st: Any, data: bytes, _opaque: Any) -> int:
            return os.write(fd, data)
        try:
            st.recvAll(sink, None)
        except (lv.libvirtError, OSError) as exc:
            if isinstance(exc, lv.libvirtError):
                ctl.save_error(exc)
            raise ctl.fail(f"could not receive data from domain '{name}'")
        try:
            os.close(fd)
        except OSError:
            raise ctl.fail(f"cannot close file {file}") from None
        finally:
            fd = -1
        try:
            st.finish()
        except lv.libvirtError as exc:
            ctl.save_error(exc)
            raise ctl.fail(f"cannot close stream on domain '{name}'")
        ctl.print_extra(f"Screenshot saved to {file}, with type of {mime}")
        ok = True
    finally:
        if fd >= 0:
            os.close(fd)
        if not ok and created:
            try:
                os.unlink(file)
            except OSError:
                pass
    return True


def _abort(lv: Any, st: Any) -> None:
    try:
        st.abort()
    except lv.libvirtError:
        pass
