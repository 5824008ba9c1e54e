"""Post-parse normalization of tuning, units, bitmaps and assorted libvirt rewrites."""

from __future__ import annotations

from ... import constants as c
from ...errors import make_error
from ..xmlutil import Element

from .devdefaults import _chardev, _hex
from .props import drop_attr
from .units import scale_bytes, scale_to_kib

_NET_PORTS = {"http": "80", "https": "443", "ftp": "21", "ftps": "990", "tftp": "69", "sheepdog": "7000",
              "nbd": "10809", "ssh": "22", "iscsi": "3260", "gluster": "24007", "vxhs": "9999"}


def parse_bitmap(text: str) -> list[int]:
    """libvirt's bitmap syntax ('0-3,^2,8') as a sorted list."""
    on: set[int] = set()
    off: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        neg = part.startswith("^")
        part = part.lstrip("^")
        lo, _, hi = part.partition("-")
        rng = range(int(lo), int(hi or lo) + 1)
        (off if neg else on).update(rng)
    return sorted(on - off)


def format_bitmap(bits: list[int]) -> str:
    """Ranges as libvirt writes them ('0-3,5')."""
    out: list[str] = []
    i = 0
    while i < len(bits):
        j = i
        while j + 1 < len(bits) and bits[j + 1] == bits[j] + 1:
            j += 1
        out.append(str(bits[i]) if i == j else f"{bits[i]}-{bits[j]}")
        i = j + 1
    return ",".join(out)


_BITMAPS = (("vcpu", "cpuset"), ("cputune/vcpupin", "cpuset"), ("cputune/emulatorpin", "cpuset"),
            ("cputune/iothreadpin", "cpuset"), ("numatune/memory", "nodeset"),
            ("numatune/memnode", "nodeset"), ("cpu/numa/cell", "cpus"),
            ("memoryBacking/hugepages/page", "nodeset"))


def pretty_size(nbytes: int) -> tuple[int, str]:
    """libvirt's virFormatIntPretty: the largest unit dividing *nbytes* exactly."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    if nbytes == 0 or nbytes % 1024:
        return nbytes, "B"
    idx = 0
    while idx < len(units) - 1 and nbytes % 1024 == 0:
        nbytes //= 1024
        idx += 1
    return nbytes, units[idx]


def _iothreads(root: Element) -> None:
    count_el = root.find("iothreads")
    ids_el = root.find("iothreadids")
    given = ids_el.findall("iothread") if ids_el is not None else []
    count = int((count_el.text or "0").strip() or 0) if count_el is not None else 0
    count = max(count, len(given))
    if given and len(given) < count and ids_el is not None:
        used = {int(t.get("id", "0")) for t in given}
        nxt = 1
        while len(ids_el.findall("iothread")) < count:
            while nxt in used:
                nxt += 1
            ids_el.append(ids_el.makeelement("iothread", {"id": str(nxt)}))
            used.add(nxt)
    if count_el is None and count:
        count_el = root.makeelement("iothreads", {})
        root.append(count_el)
    if count_el is not None:
        if count:
            count_el.text = str(count)
        else:
            root.remove(count_el)


def _metadata(root: Element) -> None:
    meta = root.find("metadata")
    if meta is None:
        return
    seen: set[str] = set()
    for child in list(meta):
        ns = child.tag[1:].split("}", 1)[0] if isinstance(child.tag, str) and child.tag.startswith("{") else None
        if ns is None or ns in seen:
            meta.remove(child)
            continue
        seen.add(ns)


def _units(root: Element, tags: set[object]) -> None:
    for path, attr in _BITMAPS:
        if path.rsplit("/", 1)[-1] not in tags:
            continue
        for node in root.findall(path):
            if node.get(attr):
                try:
                    node.set(attr, format_bitmap(parse_bitmap(node.get(attr, ""))))
                except ValueError:
                    pass
    for tag in ("hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee") if "memtune" in tags else ():
        limit = root.find(f"memtune/{tag}")
        if limit is None:
            continue
        node = limit
        kib = scale_to_kib(node.text, node.get("unit"), tag)
        if kib >= 9007199254740991:
            root.find("memtune").remove(node)  # type: ignore[union-attr]
            continue
        node.text = str(kib)
        node.attrib.clear()
        node.set("unit", "KiB")
    memtune = root.find("memtune") if "memtune" in tags else None
    if memtune is not None and not len(memtune):
        root.remove(memtune)
    for path in ("features/hpt/maxpagesize", "devices/controller/pcihole64"):
        if path.rsplit("/", 1)[-1] not in tags:
            continue
        for node in root.findall(path):
            node.text = str(scale_to_kib(node.text, node.get("unit"), path.rsplit("/", 1)[-1]))
            node.set("unit", "KiB")
    for page in root.findall("memoryBacking/hugepages/page") if "page" in tags else ():
        if page.get("size"):
            page.set("size", str(scale_to_kib(page.get("size"), page.get("unit"), "size")))
            page.set("unit", "KiB")
    tseg = root.find("features/smm/tseg") if "tseg" in tags else None
    if tseg is not None:
        kib = scale_to_kib(tseg.text, tseg.get("unit"), "tseg", default_unit="MiB")
        value, unit = pretty_size(kib * 1024)
        tseg.text = str(value)
        tseg.set("unit", unit)
    for size in root.findall("devices/shmem/size") if "shmem" in tags else ():
        kib = scale_to_kib(size.text, size.get("unit"), "size", default_unit="b")
        size.text = str(kib // 1024)
        size.set("unit", "M")


def _network_sources(root: Element) -> None:
    for src in root.iter("source"):
        proto = src.get("protocol")
        if proto is None:
            continue
        if proto == "iscsi" and src.get("name") and "/" not in src.get("name", ""):
            src.set("name", src.get("name", "") + "/0")
        for host in src.findall("host"):
            if host.get("transport") in (None, "tcp") and host.get("port") is None \
                    and host.get("socket") is None and proto in _NET_PORTS:
                host.set("port", _NET_PORTS[proto])


def _split_sched(cputune: Element, tag: str, attr: str) -> None:
    """libvirt keeps scheduler settings per vCPU / I/O thread and writes one element each."""
    scheds = cputune.findall(tag)
    if not scheds:
        return
    entries: dict[int, dict[str, str]] = {}
    for sched in scheds:
        try:
            ids = parse_bitmap(sched.get(attr, ""))
        except ValueError:
            return
        for ident in ids:
            entries.setdefault(ident, {str(k): str(v) for k, v in sched.attrib.items() if k != attr})
    anchor = cputune.makeelement("_m", {})
    scheds[0].addprevious(anchor)
    for sched in scheds:
        cputune.remove(sched)
    for ident in sorted(entries):
        node = cputune.makeelement(tag, {attr: str(ident)})
        for key, value in entries[ident].items():
            node.set(key, value)
        anchor.addprevious(node)
    cputune.remove(anchor)


def _firmware(root: Element) -> None:
    fw = root.find("os/firmware")
    if fw is None:
        return
    feats = {f.get("name"): f for f in fw.findall("feature")}
    enrolled = feats.get("enrolled-keys")
    if enrolled is None or enrolled.get("enabled") != "yes":
        return
    secure = feats.get("secure-boot")
    if secure is not None and secure.get("enabled") == "no":
        raise make_error(c.VIR_ERR_XML_DETAIL, "firmware feature 'enrolled-keys' cannot be enabled when "
                         "firmware feature 'secure-boot' is disabled", c.VIR_FROM_DOMAIN)
    if secure is None:
        fw.append(fw.makeelement("feature", {"enabled": "yes", "name": "secure-boot"}))
    else:
        secure.set("enabled", "yes")


def _misc(root: Element, devices: Element) -> None:
    # most rewrites below concern elements a given domain does not have: skip those cheaply
    tags: set[object] = {e.tag for e in root.iter()}
    _units(root, tags)
    if "firmware" in tags:
        _firmware(root)
    for size in root.iter("max_size") if "max_size" in tags else ():
        parent = size.getparent()
        if parent is not None and parent.tag == "metadata_cache":
            size.text = str(scale_bytes(size.text, size.get("unit"), "max_size"))
            size.set("unit", "bytes")
    _iothreads(root)
    if "metadata" in tags:
        _metadata(root)
    for menu in root.findall("os/bootmenu") if "bootmenu" in tags else ():
        if menu.get("enable") != "yes":
            drop_attr(menu, "timeout")
    for tgt in devices.findall("channel/target") if "channel" in tags else ():
        drop_attr(tgt, "state")
    for net_src in devices.findall("interface/source"):
        drop_attr(net_src, "portid")
    for net in devices.findall("interface"):
        if net.get("type") in ("hostdev", "vhostuser", "vdpa", "user", "null", "vds"):
            for ref in net.findall("filterref"):
                net.remove(ref)
    for boot in root.iter("boot") if "boot" in tags else ():
        if boot.get("loadparm"):
            boot.set("loadparm", boot.get("loadparm", "").upper())
    for zpci in root.iter("zpci") if "zpci" in tags else ():
        zpci.set("uid", _hex(zpci.get("uid"), 4))
        zpci.set("fid", _hex(zpci.get("fid"), 8))
    for fs in devices.findall("filesystem"):
        for attr in ("fmode", "dmode"):
            if fs.get(attr):
                fs.set(attr, "0" + format(int(fs.get(attr, "0"), 8), "o").rjust(3, "0"))
    for disk in devices.findall("disk"):
        if disk.get("snapshot") == "no" and disk.find("readonly") is not None:
            drop_attr(disk, "snapshot")
    for cell_parent in root.findall("cpu/numa") if "numa" in tags else ():
        cells = cell_parent.findall("cell")
        ordered = sorted(cells, key=lambda x: int(x.get("id", "0")))
        if ordered != cells:
            for cell in cells:
                cell_parent.remove(cell)
            for cell in ordered:
                cell_parent.append(cell)
    cputune = root.find("cputune") if "cputune" in tags else None
    if cputune is not None:
        _split_sched(cputune, "vcpusched", "vcpus")
        _split_sched(cputune, "iothreadsched", "iothreads")
        pins = cputune.findall("iothreadpin")
        ordered = sorted(pins, key=lambda x: int(x.get("iothread", "0")))
        if ordered != pins:
            anchor = cputune.makeelement("_m", {})
            pins[0].addprevious(anchor)
            for pin in pins:
                cputune.remove(pin)
            for pin in ordered:
                anchor.addprevious(pin)
            cputune.remove(anchor)
    _network_sources(devices)
    for fs in devices.findall("filesystem"):
        if fs.get("type") is None:
            fs.set("type", "mount")
    for backend in devices.findall("rng/backend") if "rng" in tags else ():
        if backend.get("model") == "random" and not (backend.text or "").strip():
            backend.text = "/dev/random"
    cpu = root.find("cpu") if "cpu" in tags else None
    if cpu is not None and cpu.get("mode") in ("host-model", "host-passthrough", "maximum"):
        model = cpu.find("model")
        if model is not None and not (model.text or "").strip() \
                and not set(model.attrib) - {"fallback"} and cpu.get("mode") == "host-model":
            cpu.remove(model)
    # tristate features written as <pmu state='on'/> (acpi, apic, pae... stay bare)
    for tag in ("pmu", "vmcoreinfo", "pvspinlock", "hap", "vmport", "smm", "htm", "nested-hv",
                "ccf-assist") if "features" in tags else ():
        node = root.find(f"features/{tag}")
        if node is not None and node.get("state") is None:
            node.set("state", "on")
    for backend in devices.findall("rng/backend") if "rng" in tags else ():
        if backend.get("model") == "egd":
            _chardev(backend)
    for disk in devices.findall("disk"):
        for mirror in disk.findall("mirror"):
            disk.remove(mirror)
        if disk.get("type") == "vhostuser" and disk.get("snapshot") is None:
            disk.set("snapshot", "no")
    for shmem in devices.findall("shmem") if "shmem" in tags else ():
        if shmem.find("model") is None:
            shmem.insert(0, shmem.makeelement("model", {"type": "ivshmem"}))
    for vid in devices.findall("video"):
        model = vid.find("model")
        if model is not None and model.get("primary") == "no":
            drop_attr(model, "primary")
    hyperv = root.find("features/hyperv") if "hyperv" in tags else None
    if hyperv is not None and hyperv.get("mode") is None:
        hyperv.set("mode", "custom")
    for fs in devices.findall("filesystem"):
        if fs.get("type", "mount") == "mount" and fs.get("accessmode") is None \
                and fs.find("driver[@type='virtiofs']") is None:
            fs.set("accessmode", "passthrough")
    for tag in ("channel", "serial", "console", "parallel", "smartcard", "redirdev"):
        for chr_ in devices.findall(tag):
            _chardev(chr_)
            src = chr_.find("source")
            if (chr_.get("type") == "unix" and src is not None and src.get("path") is None
                    and not len(src)):
                chr_.remove(src)



def _cpu(root: Element) -> None:
    cpu = root.find("cpu")
    if cpu is None:
        return
    if not len(cpu) and not cpu.attrib:
        root.remove(cpu)
        return
    mode = cpu.get("mode")
    model = cpu.find("model")
    if mode is None:
        mode = "custom"
        if model is not None:
            cpu.set("mode", mode)
    for i, cell in enumerate(cpu.findall("numa/cell")):
        if cell.get("id") is None:
            cell.set("id", str(i))
    if mode == "custom" and model is not None and cpu.get("match") is None:
        cpu.set("match", "exact")
    if model is not None and model.get("fallback") is None and (mode == "custom" or (model.text or "").strip()):
        model.set("fallback", "allow")


