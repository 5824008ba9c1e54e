"""What a QEMU binary can do, asked once per binary and cached on disk.

Like libvirt, the binary is started with ``-machine none`` and QMP (here on
stdio), asked query-version, query-target, query-machines,
query-cpu-definitions, query-commands, query-kvm and qom-list-types, and quit;
the answer is cached as JSON in ``ROOT/cache/qemu/capabilities/<sha256 of the
path>.json``, keyed by the binary's path, mtime, ctime and size, so a replaced
binary is probed again. The probe is time-limited: a hung QEMU is killed and
reported, never waited for.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ... import constants as c
from .errors import qemu_error as _err

__all__ = ["QemuCaps", "Machine", "CpuModel", "probe", "load_caps", "forget", "cache_file", "PROBE_TIMEOUT", "FORMAT"]

PROBE_TIMEOUT = 30.0
#: bumped when the cached layout changes (old files are then probed again)
FORMAT = 1

#: libvirt's preferred machine per QEMU target arch (moved to the front of the list)
_PREFERRED = {"x86_64": "pc", "i386": "pc"}
_ARCH = {"x86_64": "x86_64", "i386": "i686"}

_QUERIES: list[tuple[str, dict[str, Any] | None]] = [
    ("query-version", None), ("query-target", None), ("query-machines", None),
    ("query-cpu-definitions", None), ("query-commands", None), ("query-kvm", None),
    ("qom-list-types", {"implements": "device", "abstract": False}),
]


@dataclass
class Machine:
    """A machine type as QEMU lists it."""

    name: str
    alias: str | None = None
    max_cpus: int = 0
    is_default: bool = False
    deprecated: bool = False
    default_cpu: str | None = None


@dataclass
class CpuModel:
    """A CPU model of query-cpu-definitions (usable under TCG when nothing blocks it)."""

    name: str
    usable: bool = True
    deprecated: bool = False
    blockers: list[str] = field(default_factory=list)


@dataclass
class QemuCaps:
    """The probed facts of one binary."""

    emulator: str
    stamp: list[float] = field(default_factory=list)  # mtime, ctime, size
    version: int = 0  # major * 1_000_000 + minor * 1000 + micro
    package: str = ""
    arch: str = ""  # libvirt's arch name (x86_64, i686)
    machines: list[Machine] = field(default_factory=list)  # libvirt's order: preferred first
    cpu_models: list[CpuModel] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    kvm_present: bool = False
    format: int = FORMAT

    @property
    def default_machine(self) -> str | None:
        return self.machines[0].name if self.machines else None

    def canonical_machine(self, name: str) -> str:
        """The machine *name* stands for (``pc`` -> ``pc-i440fx-7.2``); *name* itself if not an alias."""
        for m in self.machines:
            if m.alias == name:
                return m.name
        return name

    def machine(self, name: str) -> Machine | None:
        canonical = self.canonical_machine(name)
        return next((m for m in self.machines if m.name == canonical), None)

    def has_command(self, name: str) -> bool:
        return name in self.commands

    def has_device(self, name: str) -> bool:
        return name in self.devices

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "QemuCaps":
        data = dict(data)
        data["machines"] = [Machine(**m) for m in data.get("machines", [])]
        data["cpu_models"] = [CpuModel(**m) for m in data.get("cpu_models", [])]
        return cls(**data)


def _stamp(emulator: str) -> list[float]:
    st = os.stat(emulator)
    return [st.st_mtime, st.st_ctime, float(st.st_size)]


def _run_qmp(emulator: str, timeout: float) -> dict[str, Any]:
    """Answers of :data:`_QUERIES` by id, from QEMU's QMP on stdio."""
    lines: list[dict[str, Any]] = [{"execute": "qmp_capabilities"}]
    lines += [{"execute": cmd, **({"arguments": args} if args else {}), "id": i}
              for i, (cmd, args) in enumerate(_QUERIES)]
    lines.append({"execute": "quit"})
    payload = "".join(json.dumps(x) + "\n" for x in lines)
    argv = [emulator, "-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none",
            "-accel", "tcg", "-qmp", "stdio", "-display", "none"]
    try:
        proc = subprocess.run(argv, input=payload, capture_output=True, text=True, timeout=timeout,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}, cwd="/")
    except subprocess.TimeoutExpired as exc:
        raise _err(c.VIR_ERR_INTERNAL_ERROR,
                   f"Failed to probe capabilities for {emulator}: no answer within {timeout:.0f} s") from exc
    except OSError as exc:
        raise _err(c.VIR_ERR_INTERNAL_ERROR,
                   f"Failed to probe capabilities for {emulator}: {exc.strerror}") from exc
    out: dict[str, Any] = {}
    for line in proc.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if isinstance(msg, dict) and "id" in msg:
            out[_QUERIES[int(msg["id"])][0]] = msg.get("return")
    if "query-version" not in out or "query-machines" not in out:
        detail = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise _err(c.VIR_ERR_INTERNAL_ERROR, f"Failed to probe capabilities for {emulator}: {detail[0]}")
    return out


def _machines(raw: list[dict[str, Any]], arch: str) -> list[Machine]:
    machines: list[Machine] = []
    preferred = default = -1
    for m in raw:
        if m.get("name") == "none":
            continue
        mach = Machine(name=str(m["name"]), alias=m.get("alias"), max_cpus=int(m.get("cpu-max", 0)),
                       is_default=bool(m.get("is-default")), deprecated=bool(m.get("deprecated")),
                       default_cpu=m.get("default-cpu-type"))
        machines.append(mach)
        if _PREFERRED.get(arch) in (mach.alias, mach.name):
            preferred = len(machines) - 1
        if mach.is_default:
            default = len(machines) - 1
    first = preferred if preferred >= 0 else default
    if first > 0:
        machines.insert(0, machines.pop(first))
    return machines


def probe(emulator: str, timeout: float = PROBE_TIMEOUT) -> QemuCaps:
    """Ask *emulator* for its capabilities (no cache)."""
    if not os.access(emulator, os.X_OK):
        raise _err(c.VIR_ERR_INTERNAL_ERROR, f"Cannot find QEMU binary {emulator}: No such file or directory")
    stamp = _stamp(emulator)
    out = _run_qmp(emulator, timeout)
    ver = out.get("query-version") or {}
    q = ver.get("qemu", {})
    target = str((out.get("query-target") or {}).get("arch", ""))
    cpus = []
    for d in out.get("query-cpu-definitions") or []:
        blockers = [str(x) for x in d.get("unavailable-features", [])]
        cpus.append(CpuModel(name=str(d["name"]), usable=not blockers, deprecated=bool(d.get("deprecated")),
                             blockers=blockers))
    return QemuCaps(
        emulator=emulator, stamp=stamp,
        version=int(q.get("major", 0)) * 1_000_000 + int(q.get("minor", 0)) * 1000 + int(q.get("micro", 0)),
        package=str(ver.get("package", "")).strip(), arch=_ARCH.get(target, target),
        machines=_machines(out.get("query-machines") or [], target), cpu_models=cpus,
        commands=sorted(str(x["name"]) for x in out.get("query-commands") or []),
        devices=sorted(str(x["name"]) for x in out.get("qom-list-types") or []),
        kvm_present=bool((out.get("query-kvm") or {}).get("present")))


_LOCK = threading.Lock()
_MEMO: dict[tuple[str, str], QemuCaps] = {}


def cache_file(cache_dir: Path, emulator: str) -> Path:
    return cache_dir / f"{hashlib.sha256(emulator.encode()).hexdigest()}.json"


def load_caps(emulator: str, cache_dir: Path, timeout: float = PROBE_TIMEOUT) -> QemuCaps:
    """The capabilities of *emulator*: from memory, else the cache file, else a fresh probe
    (written to the cache). A binary whose mtime, ctime or size changed is probed again."""
    try:
        stamp = _stamp(emulator)
    except OSError as exc:
        raise _err(c.VIR_ERR_INTERNAL_ERROR,
                   f"Cannot find QEMU binary {emulator}: {exc.strerror}") from exc
    key = (str(cache_dir), emulator)
    with _LOCK:
        caps = _MEMO.get(key)
        if caps is not None and caps.stamp == stamp:
            return caps
        path = cache_file(cache_dir, emulator)
        try:
            data = json.loads(path.read_text())
            caps = QemuCaps.from_json(data)
            if caps.stamp != stamp or caps.format != FORMAT or caps.emulator != emulator:
                caps = None
        except (OSError, ValueError, TypeError, KeyError):
            caps = None
        if caps is None:
            caps = probe(emulator, timeout)
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(asdict(caps), indent=1))
            os.replace(tmp, path)
        _MEMO[key] = caps
        return caps


def forget() -> None:
    """Drop the in-memory copies (the cache files stay): the next load reads or probes again."""
    with _LOCK:
        _MEMO.clear()
