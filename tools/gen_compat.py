"""Write docs/compat.md: per libvirt API call and virsh command, what pyvirt implements.

    .venv/bin/python tools/gen_compat.py [--check]

The tables are derived from the code, so they cannot drift: which driver method each public
method calls (read from the public modules' source), which drivers define that method (or,
for the remote driver, which wire procedures exist), and which virsh commands pyvirsh has a
handler for. ``--check`` fails when docs/compat.md is out of date (the test suite runs it).
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pyvirt import libvirt as compat  # noqa: E402
from pyvirt.drivers.base import Driver, api_name  # noqa: E402

PUBLIC = {
    "virConnect": "connection.py", "virDomain": "domain.py", "virNetwork": "network.py",
    "virStoragePool": "storage.py", "virStorageVol": "storage.py", "virNodeDevice": "nodedev.py",
    "virInterface": "interface.py", "virDomainSnapshot": "snapshot.py", "virDomainCheckpoint": "checkpoint.py",
    "virStream": "stream.py",
}
PUBLIC_CLASS = {
    "virConnect": "Connection", "virDomain": "Domain", "virNetwork": "Network",
    "virStoragePool": "StoragePool", "virStorageVol": "StorageVolume", "virNodeDevice": "NodeDevice",
    "virInterface": "Interface", "virDomainSnapshot": "DomainSnapshot", "virDomainCheckpoint": "DomainCheckpoint",
    "virStream": "Stream",
}
DRIVERS = ("test", "qemu", "remote")
_BASE_DELEGATES = {name for name, value in vars(Driver).items() if callable(value) and not name.startswith("_")}


def driver_calls() -> dict[tuple[str, str], list[str]]:
    """(public class, method) -> the driver methods its body calls."""
    out: dict[tuple[str, str], list[str]] = {}
    for module in sorted(set(PUBLIC.values())):
        tree = ast.parse((ROOT / "pyvirt" / module).read_text())
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
            for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
                calls = []
                for node in ast.walk(fn):
                    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                            and node.value.attr in ("_driver", "_drv") and not node.attr.startswith("_"):
                        calls.append(node.attr)
                    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                            and node.value.id == "self" and node.attr in ("_drv",):
                        pass
                out[(cls.name, fn.name)] = list(dict.fromkeys(calls))
    return out


def implementer(name: str) -> Callable[[str], bool] | None:
    try:
        module = importlib.import_module(f"pyvirt.drivers.{name}")
    except Exception:  # a driver that cannot load here implements nothing here
        return None
    if name == "remote":
        from pyvirt.rpc.protocol import procedure_by_method

        def remote(method: str) -> bool:
            if method in _BASE_DELEGATES and method not in ("connect_close",):
                return True
            proc = procedure_by_method(method)
            return proc is not None or hasattr(module.RemoteDriver, method)
        return remote
    classes = [obj for obj in vars(module).values() if isinstance(obj, type) and issubclass(obj, Driver)
               and obj is not Driver]
    for sub in ("driver", "common"):
        try:
            m = importlib.import_module(f"pyvirt.drivers.{name}.{sub}")
        except Exception:
            continue
        classes += [obj for obj in vars(m).values() if isinstance(obj, type) and issubclass(obj, Driver)
                    and obj is not Driver]
    # the most derived class that the opener returns is the one with the most methods
    best = max(classes, key=lambda k: len(dir(k)), default=None)
    if best is None:
        return None

    def local(method: str) -> bool:
        if method not in dir(best):
            return False
        if method in _BASE_DELEGATES and getattr(best, method) is getattr(Driver, method):
            # a plain call the base delegates to its Flags variant: implemented if that is
            target = {"domain_define_xml": "domain_define_xml_flags", "domain_create": "domain_create_with_flags",
                      "network_define_xml": "network_define_xml_flags",
                      "network_create_xml": "network_create_xml_flags"}.get(method, method + "_flags")
            return target in dir(best) and getattr(best, target, None) is not getattr(Driver, target, None)
        return True
    return local


def api_table() -> list[str]:
    calls = driver_calls()
    impls = {name: implementer(name) for name in DRIVERS}
    lines = ["| libvirt-python | pyvirt | C API | " + " | ".join(DRIVERS) + " |",
             "|---|---|---|" + "---|" * len(DRIVERS)]
    for cls_name, methods in compat._METHODS.items():
        pub_cls = PUBLIC_CLASS[cls_name]
        for camel in methods:
            snake = compat.snake_name(camel)
            targets = calls.get((pub_cls, snake))
            if targets == [] and cls_name == "virStream":
                # the stream object's own methods: they work on whatever stream a driver opened
                cells = ["any"] * len(DRIVERS)
                lines.append(f"| `{cls_name}.{camel}` | `{pub_cls}.{snake}` | (stream) | " + " | ".join(cells) + " |")
                continue
            if not targets:
                cells = ["—"] * len(DRIVERS)
                lines.append(f"| `{cls_name}.{camel}` | — | — | " + " | ".join(cells) + " |")
                continue
            cells = []
            for name in DRIVERS:
                impl = impls[name]
                ok = impl is not None and all(impl(t) for t in targets)
                cells.append("yes" if ok else "—")
            c_api = ", ".join(api_name(t) for t in targets)
            lines.append(f"| `{cls_name}.{camel}` | `{pub_cls}.{snake}` | {c_api} | " + " | ".join(cells) + " |")
    return lines


def virsh_table() -> list[str]:
    from pyvirt.cli import commands  # noqa: F401 - registers the handlers
    from pyvirt.cli.options import COMMANDS, GROUPS
    lines = ["| group | virsh command | pyvirsh |", "|---|---|---|"]
    for group in GROUPS:
        for cmd in (COMMANDS[name] for name in group.commands):
            if cmd.hidden:
                continue
            lines.append(f"| {group.name} | `{cmd.name}` | {'yes' if cmd.handler else '—'} |")
    return lines


def render() -> str:
    api = api_table()
    virsh = virsh_table()
    n_api = sum(1 for line in api[2:] if "yes" in line)
    n_virsh = sum(1 for line in virsh[2:] if line.endswith("yes |"))
    return "\n".join([
        "# Compatibility: what pyvirt implements",
        "",
        "Generated by `tools/gen_compat.py` from the code (a test fails when it is stale).",
        "",
        f"## libvirt API calls ({n_api} of {len(api) - 2} libvirt-python methods served by at least one driver)",
        "",
        "Every libvirt-python method exists in `pyvirt.libvirt`; where no driver implements it,",
        "it raises `libvirtError` with VIR_ERR_NO_SUPPORT. `remote` means the call is carried by",
        "the wire protocol: the daemon at the other end decides what it supports. `any` (virStream):",
        "a method of the stream object itself, working on whatever stream a driver opened.",
        "",
        *api,
        "",
        f"## virsh commands ({n_virsh} of {len(virsh) - 2} in pyvirsh)",
        "",
        "The others answer `error: command '...' is not implemented by pyvirsh`.",
        "",
        *virsh,
        "",
    ])


def main() -> int:
    target = ROOT / "docs" / "compat.md"
    text = render()
    if "--check" in sys.argv:
        if not target.exists() or target.read_text() != text:
            print("docs/compat.md is out of date: run tools/gen_compat.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
