"""libvirt's storage volume XML (``<volume>``): parse, validate, format.

The volume's formats depend on its pool's type (file formats for dir/fs/netfs/
gluster/vstorage/rbd, partition types for disk pools, none for the rest), as
in libvirt 9.0's storage_conf.c.
"""

from __future__ import annotations

import copy

from .. import constants as c
from ..errors import make_error
from .netcommon import (add, ByteCount, E, format_doc, keep_open, parse_doc, parse_uint, scaled_integer, xml_err, XMLModel, xs)
from .storage_pool import StoragePoolDef, parse_perms, parse_secret_lookup
from .xmlutil import Element

__all__ = ["StorageVolDef", "VOL_TYPES", "FILE_FORMATS"]

DOM = c.VIR_FROM_STORAGE
VOL_TYPES = ("file", "block", "dir", "network", "netdir", "ploop")
FILE_FORMATS = ("none", "raw", "dir", "bochs", "cloop", "dmg", "iso", "vpc", "vdi", "fat", "vhd", "ploop",
                "cow", "qcow", "qcow2", "qed", "vmdk")
DISK_VOL_FORMATS = ("none", "linux", "fat16", "fat32", "linux-swap", "linux-lvm", "linux-raid", "extended")
_FEATURES = ("lazy_refcounts", "extended_l2")


def _err(detail: str, code: int = c.VIR_ERR_XML_ERROR) -> Exception:
    return xml_err(detail, DOM, code)


def _vol_formats(pool_type: str) -> tuple[tuple[str, ...], str] | None:
    """(accepted formats, default) for volumes of *pool_type*, or None if it has none."""
    if pool_type in ("dir", "fs", "netfs", "gluster", "vstorage", "rbd"):
        return FILE_FORMATS[1:], "raw"
    if pool_type == "disk":
        return DISK_VOL_FORMATS, "none"
    return None


def _scale(value: int, unit: str | None, limit: int) -> int:
    """virScaleInteger with libvirt's errors."""
    try:
        result = scaled_integer(str(value), unit)
    except KeyError:
        raise make_error(c.VIR_ERR_INVALID_ARG, f"unknown suffix '{unit}'", c.VIR_FROM_NONE) from None
    except OverflowError:
        result = None
    if result is None or result > limit:
        raise make_error(c.VIR_ERR_OVERFLOW, f"value too large: {value}{unit or ''}", c.VIR_FROM_NONE)
    return result


def _size(value: str, unit: str | None) -> int:
    """virStorageSize: decimal bytes times *unit*, at most 2^63-1."""
    if not value.strip().isdigit() or value != value.rstrip() or int(value) > 0xFFFFFFFFFFFFFFFF:
        raise _err("malformed capacity element")
    return _scale(int(value), unit, 0x7FFFFFFFFFFFFFFF)


def _encryption(src: Element) -> Element:
    """virStorageEncryptionParseNode + Format."""
    fmt = src.get("format") or None
    if fmt is None:
        raise _err("unknown volume encryption format")
    if fmt not in ("default", "qcow", "luks", "luks2"):
        raise _err(f"unknown volume encryption format type {fmt}", c.VIR_ERR_CONFIG_UNSUPPORTED)
    engine = src.get("engine")
    if engine is not None and engine not in ("qemu", "librbd"):
        raise xml_err(f"Invalid value for attribute 'engine' in element 'encryption': '{engine}'.", c.VIR_FROM_XML)
    out = E("encryption", ("format", fmt), ("engine", engine))
    for sec in src.findall("secret"):
        stype = sec.get("type") or None
        if stype is None:
            raise _err("unknown volume encryption secret type")
        if stype != "passphrase":
            raise _err(f"unknown volume encryption secret type {stype}", c.VIR_ERR_CONFIG_UNSUPPORTED)
        out.append(parse_secret_lookup(sec, stype))
    if fmt == "luks":
        cipher, ivgen = src.find("cipher"), src.find("ivgen")
        name = None
        if cipher is not None:
            name = cipher.get("name")
            if name is None:
                raise _err("cipher info missing 'name' attribute")
            size = parse_uint(cipher, "size", c.VIR_FROM_XML, required=True)
            out.append(E("cipher", ("name", name), ("size", size), ("mode", cipher.get("mode")),
                         ("hash", cipher.get("hash"))))
        if ivgen is not None:
            if name is None:
                raise _err("ivgen element found, but cipher is missing")
            if ivgen.get("name") is None:
                raise _err("missing ivgen info name string")
            out.append(E("ivgen", ("name", ivgen.get("name")), ("hash", ivgen.get("hash"))))
    keep_open(out)
    return out


def _check_compat(compat: str) -> None:
    parts = compat.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise _err("forbidden characters in 'compat' attribute")


class StorageVolDef(XMLModel):
    """A storage volume definition backed by its canonical XML tree."""

    def __init__(self, root: Element, pool_type: str, has_allocation: bool = True) -> None:
        self.root = root
        self.pool_type = pool_type
        self.has_allocation = has_allocation

    @classmethod
    def parse(cls, xml: str | bytes, pool: StoragePoolDef | None = None, pool_type: str | None = None,
              no_capacity: bool = False, opt_capacity: bool = False) -> "StorageVolDef":
        """Parse *xml* for a volume of *pool* (or of a pool of *pool_type*; 'dir' by default)."""
        ptype = pool.type if pool is not None else (pool_type or "dir")
        src = parse_doc(xml, "volume", "storage_volume_definition", DOM)
        root, has_alloc = _canonical(src, ptype, no_capacity, opt_capacity)
        return cls(root, ptype, has_alloc)

    @classmethod
    def from_element(cls, elem: Element, pool: StoragePoolDef | None = None,
                     pool_type: str | None = None) -> "StorageVolDef":
        """Validate and canonicalize an already parsed ``<volume>`` element."""
        ptype = pool.type if pool is not None else (pool_type or "dir")
        root, has_alloc = _canonical(elem, ptype, False)
        return cls(root, ptype, has_alloc)

    def copy(self) -> "StorageVolDef":
        """A deep copy."""
        return StorageVolDef(copy.deepcopy(self.root), self.pool_type, self.has_allocation)

    @property
    def name(self) -> str:
        """The volume's name."""
        return self.root.findtext("name") or ""

    @name.setter
    def name(self, value: str) -> None:
        node = self.root.find("name")
        assert node is not None
        node.text = value

    @property
    def key(self) -> str | None:
        """The volume's key (usually its path)."""
        return self.root.findtext("key")

    @key.setter
    def key(self, value: str | None) -> None:
        node = self.root.find("key")
        if value is None:
            if node is not None:
                self.root.remove(node)
            return
        if node is None:
            node = E("key")
            self.root.insert(1, node)
        node.text = value

    @property
    def type(self) -> str:
        """Volume type: file, block, dir, network, netdir, ploop."""
        return self.root.get("type", "file")

    @type.setter
    def type(self, value: str) -> None:
        self.root.set("type", value)

    @property
    def path(self) -> str | None:
        """The target path."""
        return self.root.findtext("target/path")

    @path.setter
    def path(self, value: str | None) -> None:
        target = self.root.find("target")
        assert target is not None
        node = target.find("path")
        if value is None:
            if node is not None:
                target.remove(node)
            return
        if node is None:
            node = E("path")
            target.insert(0, node)
        node.text = value

    target_path = path

    capacity = ByteCount("capacity", "Capacity in bytes.")
    allocation = ByteCount("allocation", "Allocation in bytes.")

    @property
    def format(self) -> str | None:
        """The target format type (raw, qcow2, ...) or None if the pool type has none."""
        f = self.root.find("target/format")
        return f.get("type") if f is not None else None

    @property
    def backing_path(self) -> str | None:
        """The backing store path, if any."""
        return self.root.findtext("backingStore/path")

    def to_xml(self, inactive: bool = False, *, vol_type: str | None = None) -> str:
        """The XML libvirt prints for the volume (``vol_type`` overrides the type for this output)."""
        if vol_type is None:
            return format_doc(self.root)
        out = copy.deepcopy(self.root)
        out.set("type", vol_type)
        return format_doc(out)


def _target(src: Element | None, tag: str, formats: tuple[tuple[str, ...], str] | None,
            path: str | None, fmt_s: str | None) -> Element:
    out = E(tag)
    if path:
        out.append(E("path", text=path))
    if formats is not None:
        accepted, default = formats
        if not fmt_s:
            fmt = default
        elif fmt_s in accepted:
            fmt = fmt_s
        else:
            raise _err(f"unknown volume format type {fmt_s}", c.VIR_ERR_CONFIG_UNSUPPORTED)
        out.append(E("format", ("type", fmt)))
    add(out, parse_perms(src.find("permissions") if src is not None else None))
    return out


def _canonical(src: Element, pool_type: str, no_capacity: bool,
               opt_capacity: bool = False) -> tuple[Element, bool]:
    """virStorageVolDefParseXML: ``no_capacity`` (VIR_VOL_XML_PARSE_NO_CAPACITY) and ``opt_capacity``
    (VIR_VOL_XML_PARSE_OPT_CAPACITY: optional when there is a backing store)."""
    formats = _vol_formats(pool_type)
    name = xs(src, "./name")
    if not name:
        raise _err("missing volume name element")
    key = xs(src, "./key") or None
    vtype = xs(src, "./@type") or None
    if vtype is not None and vtype not in VOL_TYPES:
        raise _err(f"unknown volume type '{vtype}'", c.VIR_ERR_CONFIG_UNSUPPORTED)
    backing_path = xs(src, "./backingStore/path") or None
    backing = None
    if backing_path:
        bsrc = src.find("backingStore")
        backing = _target(bsrc, "backingStore", formats, backing_path,
                          xs(src, "./backingStore/format/@type") or None)
    cap_s = xs(src, "./capacity")
    cap_unit = xs(src, "./capacity/@unit") or None
    capacity = 0
    if cap_s:
        capacity = _size(cap_s, cap_unit)
    elif not no_capacity and not (opt_capacity and backing is not None):
        raise _err("missing capacity element")
    alloc_s = xs(src, "./allocation")
    has_alloc = bool(alloc_s)
    if alloc_s:
        allocation = _size(alloc_s, xs(src, "./allocation/@unit") or None)
    else:
        allocation = capacity
    tsrc = src.find("target")
    tpath = xs(src, "./target/path") or None
    target = _target(tsrc, "target", formats, tpath, xs(src, "./target/format/@type") or None)
    enc = src.find("target/encryption")
    if enc is not None:
        target.append(_encryption(enc))
    compat = xs(src, "./target/compat") or None
    if compat:
        _check_compat(compat)
    nocow = src.find("target/nocow") is not None
    cluster = None
    cluster_s = xs(src, "./target/clusterSize")
    if cluster_s:
        if not cluster_s.isdigit():
            raise xml_err(f"Invalid value '{cluster_s}' for element or attribute './target/clusterSize'",
                          c.VIR_FROM_XML)
        cluster = _scale(int(cluster_s), xs(src, "./target/clusterSize/@unit") or None, 0xFFFFFFFFFFFFFFFF)
    features = None
    fsrc = src.find("target/features")
    if fsrc is not None:
        if not compat:
            compat = "1.1"
        names = [ch.tag for ch in fsrc if isinstance(ch.tag, str)]
        for fname in names:
            if fname not in _FEATURES:
                raise _err(f"unsupported feature {fname}", c.VIR_ERR_CONFIG_UNSUPPORTED)
        features = E("features")
        for fname in _FEATURES:
            if fname in names:
                features.append(E(fname))
    if compat:
        target.append(E("compat", text=compat))
    if cluster:
        target.append(E("clusterSize", ("unit", "B"), text=str(cluster)))
    add(target, features)
    del nocow  # parsed but, like libvirt, never formatted
    root = E("volume", ("type", vtype or "file"))
    root.append(E("name", text=name))
    if key:
        root.append(E("key", text=key))
    root.append(E("capacity", ("unit", "bytes"), text=str(capacity)))
    root.append(E("allocation", ("unit", "bytes"), text=str(allocation)))
    root.append(target)
    add(root, backing)
    return root, has_alloc
