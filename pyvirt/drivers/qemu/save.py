"""Save images: save/restore to a file and managed save for the QEMU driver.

An image is pyvirt's own format (libvirt's header layout is not reproduced): a
fixed header, the domain XML, zero padding to a 4 KiB boundary, then QEMU's
migration stream. Saving pauses the guest and runs QMP ``migrate`` to a
descriptor handed over with ``getfd``; restoring starts a new QEMU with
``-incoming defer`` and ``migrate-incoming`` from a descriptor positioned at
the stream.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from ... import constants as c
from ...conf.domain import DomainDef
from ...errors import make_error
from .errors import qemu_error as _err
from ..base import DomainRef

if TYPE_CHECKING:
    from .driver import Dom, QemuState

__all__ = ["SaveMixin", "write_header", "read_header", "MAGIC"]

MAGIC = b"PyvirtQemudSave\0"
_HEAD = struct.Struct("<16sIII")  # magic, version, XML length, was running
_VERSION = 1
_ALIGN = 4096




def write_header(fd: int, xml: str, running: bool) -> None:
    """Write the image header and XML, padded so the migration stream starts aligned."""
    data = xml.encode()
    head = _HEAD.pack(MAGIC, _VERSION, len(data), int(running)) + data
    head += b"\0" * (-len(head) % _ALIGN)
    os.write(fd, head)


def read_header(path: str) -> tuple[str, bool, int]:
    """(domain XML, whether the guest was running, offset of the migration stream) of an image."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_HEAD.size)
            if len(raw) < _HEAD.size:
                raise _err(c.VIR_ERR_OPERATION_FAILED, "failed to read qemu header")
            magic, version, xml_len, running = _HEAD.unpack(raw)
            if magic != MAGIC:
                raise _err(c.VIR_ERR_OPERATION_FAILED, "image magic is incorrect")
            if version != _VERSION:
                raise _err(c.VIR_ERR_OPERATION_FAILED,
                           f"image version is not supported ({version} > {_VERSION})")
            xml = fh.read(xml_len)
    except OSError as exc:
        raise make_error(c.VIR_ERR_SYSTEM_ERROR,
                         f"Failed to open domain image file '{path}': {exc.strerror}", c.VIR_FROM_QEMU) from exc
    if len(xml) != xml_len:
        raise _err(c.VIR_ERR_OPERATION_FAILED, "failed to read domain XML")
    size = _HEAD.size + xml_len
    return xml.decode(), bool(running), size + (-size % _ALIGN)


class SaveMixin:
    """The save/restore entries of :class:`~.driver.QemuDriver`."""

    st: "QemuState"

    if TYPE_CHECKING:  # provided by QemuDriver and Driver
        def check_writable(self) -> None: ...
        def _dom(self, ref: DomainRef) -> "Dom": ...
        def _parse(self, xml: str) -> DomainDef: ...
        def _check_clash(self, defn: DomainDef) -> "Dom | None": ...
        def _start(self, d: "Dom", defn: DomainDef, flags: int, restore_fd: int | None = None) -> None: ...

    def _managed_path(self, name: str) -> Path:
        return self.st.root / "lib" / "qemu" / "save" / f"{name}.save"

    def _save(self, dom: DomainRef, to: str, dxml: str | None, flags: int) -> None:
        if flags & ~(c.VIR_DOMAIN_SAVE_BYPASS_CACHE | c.VIR_DOMAIN_SAVE_RUNNING | c.VIR_DOMAIN_SAVE_PAUSED):
            raise make_error(c.VIR_ERR_INVALID_ARG, f"unsupported flags (0x{flags:x}) in function qemuDomainSaveFlags",
                             c.VIR_FROM_QEMU)
        if flags & c.VIR_DOMAIN_SAVE_RUNNING and flags & c.VIR_DOMAIN_SAVE_PAUSED:
            raise make_error(c.VIR_ERR_INVALID_ARG, "Flags 'running' and 'paused' are mutually exclusive",
                             c.VIR_FROM_QEMU)
        with self.st.lock:
            d = self._dom(dom)
            vm = d.vm
            if vm is None:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "domain is not running")
            defn = vm.live
            if dxml is not None:
                defn = self._parse(dxml)
                if defn.name != vm.live.name or defn.uuid != vm.live.uuid:
                    raise _err(c.VIR_ERR_INVALID_ARG, "cannot change domain name or uuid in the saved XML")
        # not under the state lock: stopping QEMU reports through it
        running = vm.state == c.VIR_DOMAIN_RUNNING
        if flags & c.VIR_DOMAIN_SAVE_RUNNING:
            running = True
        elif flags & c.VIR_DOMAIN_SAVE_PAUSED:
            running = False
        tmp = f"{to}.pyvirt-tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise make_error(c.VIR_ERR_SYSTEM_ERROR, f"Failed to create file '{to}': {exc.strerror}",
                             c.VIR_FROM_QEMU) from exc
        try:
            write_header(fd, defn.to_xml(inactive=True, secure=True), running)
            vm.save_to(fd)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink(tmp)
            raise
        os.close(fd)
        os.replace(tmp, to)

    def _restore(self, frm: str, dxml: str | None, flags: int, into: "Dom | None" = None) -> DomainRef:
        if flags & ~(c.VIR_DOMAIN_SAVE_BYPASS_CACHE | c.VIR_DOMAIN_SAVE_RUNNING | c.VIR_DOMAIN_SAVE_PAUSED):
            raise make_error(c.VIR_ERR_INVALID_ARG,
                             f"unsupported flags (0x{flags:x}) in function qemuDomainRestoreFlags", c.VIR_FROM_QEMU)
        xml, running, offset = read_header(frm)
        defn = self._parse(dxml if dxml is not None else xml)
        saved = DomainDef.parse(xml, default_arch="x86_64")
        if defn.name != saved.name or defn.uuid != saved.uuid:
            raise _err(c.VIR_ERR_INVALID_ARG, "cannot change domain name or uuid in the saved XML")
        if flags & c.VIR_DOMAIN_SAVE_RUNNING:
            running = True
        elif flags & c.VIR_DOMAIN_SAVE_PAUSED:
            running = False
        from .driver import Dom  # a cycle at import time otherwise

        with self.st.lock:
            existing = into if into is not None else self._check_clash(defn)
            if existing is not None and existing.active():
                raise make_error(c.VIR_ERR_OPERATION_INVALID, f"domain '{defn.name}' is already active",
                                 c.VIR_FROM_DOMAIN)
            d = existing or Dom(None)
            self.st.doms[defn.name] = d
            fd = os.open(frm, os.O_RDONLY)
            try:
                os.lseek(fd, offset, os.SEEK_SET)
                self._start(d, defn, 0 if running else c.VIR_DOMAIN_START_PAUSED, restore_fd=fd)
            except BaseException:
                if existing is None:
                    self.st.doms.pop(defn.name, None)
                raise
            finally:
                os.close(fd)
            return d.ref()

    # --- driver entries ------------------------------------------------------
    def domain_save_flags(self, dom: DomainRef, to: str, dxml: str | None = None, flags: int = 0) -> None:
        """Save the running guest's state and XML to *to*; the domain stops (shutoff, saved)."""
        self.check_writable()
        self._save(dom, to, dxml, flags)

    def domain_restore_flags(self, frm: str, dxml: str | None = None, flags: int = 0) -> None:
        """Start a new QEMU from an image written by :meth:`domain_save_flags`."""
        self.check_writable()
        self._restore(frm, dxml, flags)

    def domain_save_image_get_xml_desc(self, file: str, flags: int = 0) -> str:
        """The domain XML stored in a save image."""
        xml, _running, _offset = read_header(file)
        return DomainDef.parse(xml, default_arch="x86_64").to_xml(
            inactive=True, secure=bool(flags & c.VIR_DOMAIN_SAVE_IMAGE_XML_SECURE))

    def domain_managed_save(self, dom: DomainRef, flags: int = 0) -> None:
        """Save into the driver's own image; the next start restores from it."""
        self.check_writable()
        with self.st.lock:
            d = self._dom(dom)
            if d.config is None:
                raise _err(c.VIR_ERR_OPERATION_INVALID, "cannot do managed save for transient domain")
            path = self._managed_path(d.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._save(dom, str(path), None, flags)

    def domain_has_managed_save_image(self, dom: DomainRef, flags: int = 0) -> int:
        with self.st.lock:
            return int(self._managed_path(self._dom(dom).name).exists())

    def domain_managed_save_remove(self, dom: DomainRef, flags: int = 0) -> None:
        self.check_writable()
        with self.st.lock:
            _unlink(str(self._managed_path(self._dom(dom).name)))

    def _start_managed(self, d: "Dom", flags: int) -> bool:
        """Start *d* from its managed save image if it has one (the image is removed); False if none."""
        path = self._managed_path(d.name)
        if not path.exists():
            return False
        if flags & c.VIR_DOMAIN_START_FORCE_BOOT:
            _unlink(str(path))
            return False
        rflags = c.VIR_DOMAIN_SAVE_PAUSED if flags & c.VIR_DOMAIN_START_PAUSED else 0
        self._restore(str(path), None, rflags, into=d)
        _unlink(str(path))
        return True


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
