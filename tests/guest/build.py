"""Build the tiny test guest: Debian's cloud kernel plus a busybox initramfs.

The guest boots by direct kernel boot (``-kernel``/``-initrd``), prints
:data:`READY_LINE` on the serial console (ttyS0) and powers off when it gets
the ACPI power button (QMP ``system_powerdown``): /init loads ``evdev.ko`` and
``button.ko`` from the same kernel package and runs busybox ``acpid -d``,
whose PWRF action runs ``poweroff -f``. The ready line is printed only once
acpid has opened the input device, so a power button pressed after it is never lost; then
a busybox shell reads commands from the serial console.

Everything comes from Debian packages fetched with ``apt-get download`` and
unpacked with ``dpkg-deb`` (nothing is installed). The result is cached under
a directory keyed by the package versions, so a build happens once per
kernel/busybox version. Run as a script to build and print the paths::

    python tests/guest/build.py [CACHE_DIR]
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Guest", "READY_LINE", "build_guest", "DEFAULT_CACHE", "KERNEL_CMDLINE"]

READY_LINE = "PYVIRT-TEST-GUEST-READY"
DEFAULT_CACHE = Path(os.environ.get("PYVIRT_GUEST_CACHE", "/var/tmp/pyvirt-guest"))
KERNEL_CMDLINE = "console=ttyS0 panic=-1 quiet"
KERNEL_META = "linux-image-cloud-amd64"
BUSYBOX = "busybox-static"

#: Kernel modules loaded by /init, in dependency order: the power button, then virtio (PCI
#: transport, block, balloon, net) and the ISA pvpanic device (for crash reporting).
MODULES = (
    "drivers/input/evdev.ko", "drivers/acpi/button.ko",
    "drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci.ko", "drivers/block/virtio_blk.ko", "drivers/virtio/virtio_balloon.ko",
    "net/core/failover.ko", "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko",
    "drivers/misc/pvpanic/pvpanic.ko", "drivers/misc/pvpanic/pvpanic-mmio.ko",
)
_INSMODS = "".join(f"insmod /lib/modules/{m.rsplit('/', 1)[1]}\n" for m in MODULES)

INIT_SCRIPT = f"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /etc/acpi/PWRF /var/log
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
{_INSMODS}acpid -d -c /etc/acpi >/dev/null 2>&1 &
acpid_pid=$!
# Announce readiness only once acpid listens on the power button's event device.
i=0
while [ $i -lt 500 ] && ! ls -l /proc/$acpid_pid/fd 2>/dev/null | grep -q input/event; do
    usleep 10000
    i=$((i + 1))
done
echo "{READY_LINE}"
# An interactive shell on the serial console (for console tests); a new one if it exits.
while true; do sh; done
"""

POWER_ACTION = """#!/bin/sh
echo "PYVIRT-TEST-GUEST-POWEROFF"
poweroff -f
"""


@dataclass(frozen=True)
class Guest:
    """A built guest: kernel, initramfs and the kernel command line to boot them."""

    kernel: Path
    initrd: Path
    cmdline: str = KERNEL_CMDLINE
    ready_line: str = READY_LINE


def _apt_field(pkg: str, field: str) -> str:
    out = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise RuntimeError(f"apt-cache show {pkg}: no {field}")


def _apt_lists_stamp() -> str:
    """Changes whenever the apt package lists change (apt-get update)."""
    lists = Path("/var/lib/apt/lists")
    try:
        return repr(sorted((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in lists.iterdir()))
    except OSError:
        return ""


def _resolve_cached(cache: Path) -> dict[str, str]:
    """:func:`_resolve`, remembered in *cache* while the apt lists stay the same (apt-cache is slow)."""
    memo = cache / "resolved.json"
    stamp = hashlib.sha256(_apt_lists_stamp().encode()).hexdigest()
    try:
        saved = json.loads(memo.read_text())
        if saved.get("stamp") == stamp:
            return dict(saved["packages"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    pkgs = _resolve()
    tmp = memo.with_name(f"{memo.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"stamp": stamp, "packages": pkgs}))
    os.replace(tmp, memo)
    return pkgs


def _resolve() -> dict[str, str]:
    """Package name -> candidate version for the kernel image and busybox-static."""
    depends = _apt_field(KERNEL_META, "Depends")
    kernel_pkg = next(d.strip().split()[0] for d in depends.split(",")
                      if d.strip().startswith("linux-image-"))
    return {kernel_pkg: _apt_field(kernel_pkg, "Version"), BUSYBOX: _apt_field(BUSYBOX, "Version")}


def _download(pkgs: dict[str, str], dest: Path) -> dict[str, Path]:
    subprocess.run(["apt-get", "download", "-q"] + [f"{p}={v}" for p, v in pkgs.items()],
                   cwd=dest, check=True, capture_output=True)
    debs: dict[str, Path] = {}
    for p in pkgs:
        found = sorted(dest.glob(f"{p}_*.deb"))
        if not found:
            raise RuntimeError(f"apt-get download did not produce {p}")
        debs[p] = found[0]
    return debs


def _extract(deb: Path, wanted: list[str], dest: Path) -> dict[str, Path]:
    """Extract members whose path ends with one of *wanted* suffixes; suffix -> extracted path."""
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    found: dict[str, Path] = {}
    with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
        for member in tar:
            for suffix in wanted:
                if member.isfile() and member.name.endswith(suffix) and suffix not in found:
                    src = tar.extractfile(member)
                    assert src is not None
                    out = dest / Path(suffix).name
                    with open(out, "wb") as fh:
                        shutil.copyfileobj(src, fh)
                    found[suffix] = out
    proc.wait()
    missing = [w for w in wanted if w not in found]
    if missing:
        raise RuntimeError(f"{deb.name} lacks {missing}")
    return found


def _ko_data(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".xz"):
        import lzma
        data = lzma.decompress(data)
    elif path.name.endswith(".zst"):
        data = subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout
    return data


class _Cpio:
    """A cpio "newc" archive writer (device nodes need no privileges this way)."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> None:
        namez = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(namez), 0]
        self.ino += 1
        self.buf.write(b"070701" + b"".join(f"{f:08X}".encode() for f in fields))
        self.buf.write(namez)
        self.buf.write(b"\0" * (-(110 + len(namez)) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-len(data) % 4))

    def dir(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, perm: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | perm, data)

    def chardev(self, name: str, major: int, minor: int) -> None:
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        self.buf.write(b"\0" * (-self.buf.tell() % 512))
        return self.buf.getvalue()


def _initramfs(busybox: bytes, modules: dict[str, bytes]) -> bytes:
    cpio = _Cpio()
    for d in ("bin", "dev", "proc", "sys", "tmp", "etc", "etc/acpi", "etc/acpi/PWRF", "lib",
              "lib/modules", "var", "var/log"):
        cpio.dir(d)
    cpio.chardev("dev/console", 5, 1)
    cpio.chardev("dev/null", 1, 3)
    cpio.file("bin/busybox", busybox, 0o755)
    for name, data in modules.items():
        cpio.file(f"lib/modules/{name}", data)
    cpio.file("etc/acpi/PWRF/00000080", POWER_ACTION.encode(), 0o755)
    cpio.file("init", INIT_SCRIPT.encode(), 0o755)
    return gzip.compress(cpio.finish(), compresslevel=6, mtime=0)


def _build(pkgs: dict[str, str], out: Path) -> None:
    kernel_pkg = next(p for p in pkgs if p != BUSYBOX)
    kver = kernel_pkg.removeprefix("linux-image-")
    with tempfile.TemporaryDirectory(prefix="pyvirt-guest-") as tmp:
        work = Path(tmp)
        debs = _download(pkgs, work)
        kfiles = _extract(debs[kernel_pkg], [f"boot/vmlinuz-{kver}"], work)
        mods: dict[str, bytes] = {}
        for mod in MODULES:
            got = _find_module(debs[kernel_pkg], mod, work)
            mods[Path(mod).name] = _ko_data(got)
        bb = _extract(debs[BUSYBOX], ["bin/busybox"], work)["bin/busybox"].read_bytes()
        staging = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
        staging.chmod(0o755)
        shutil.copyfile(kfiles[f"boot/vmlinuz-{kver}"], staging / "vmlinuz")
        (staging / "initrd.gz").write_bytes(_initramfs(bb, mods))
        (staging / "VERSIONS").write_text("".join(f"{p}={v}\n" for p, v in sorted(pkgs.items())))
        try:
            os.rename(staging, out)
        except OSError:  # someone else finished first
            shutil.rmtree(staging, ignore_errors=True)


def _find_module(deb: Path, mod: str, work: Path) -> Path:
    for suffix in ("", ".xz", ".zst"):
        try:
            return _extract(deb, [mod + suffix], work)[mod + suffix]
        except RuntimeError:
            continue
    raise RuntimeError(f"{deb.name} has no {mod}")


def build_guest(cache: Path = DEFAULT_CACHE) -> Guest:
    """The test guest, built on first use and cached under *cache* by package versions."""
    cache.mkdir(parents=True, exist_ok=True)
    try:
        pkgs = _resolve_cached(cache)
    except (subprocess.CalledProcessError, FileNotFoundError, RuntimeError, StopIteration):
        # No apt metadata (offline machine): fall back to any guest built earlier.
        built = sorted(p for p in cache.iterdir() if (p / "VERSIONS").exists())
        if not built:
            raise
        out = built[-1]
    else:
        key = hashlib.sha256(repr(sorted(pkgs.items())).encode()
                             + INIT_SCRIPT.encode() + POWER_ACTION.encode()
                             + repr(MODULES).encode()).hexdigest()[:16]
        out = cache / key
        if not (out / "VERSIONS").exists():
            _build(pkgs, out)
    return Guest(kernel=out / "vmlinuz", initrd=out / "initrd.gz")


if __name__ == "__main__":
    g = build_guest(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CACHE)
    print(f"kernel={g.kernel}\ninitrd={g.initrd}\ncmdline={g.cmdline}")
