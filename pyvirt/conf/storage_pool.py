"""libvirt's storage pool XML (``<pool>``): parse, validate, fill defaults, format.

Mirrors libvirt 9.0's storage_conf.c: per pool type, which ``<source>``
children are used (host, device, dir, adapter, name, initiator), the pool
format enum and its default, and the target path rules (logical and zfs pools
derive it from the source name; rbd, sheepdog, gluster and iscsi-direct have
no target).
"""

from __future__ import annotations

import copy
import re

from .. import constants as c
from ..errors import make_error
from .netcommon import (add, ByteCount, drop_attr, E, format_doc, format_pci_address, keep_open, new_uuid, parse_doc,
                        parse_int, parse_uuid, tristate, xml_err, XMLModel, xs)
from .xmlutil import Element

__all__ = ["StoragePoolDef", "POOL_TYPES", "sanitize_path", "format_perms", "parse_perms", "parse_pool_source"]

DOM = c.VIR_FROM_STORAGE

SRC_HOST, SRC_DEVICE, SRC_DIR, SRC_ADAPTER, SRC_NAME, SRC_IQN, SRC_NETWORK = (1 << i for i in range(7))

_FS_FORMATS = ("auto", "ext2", "ext3", "ext4", "ufs", "iso9660", "udf", "gfs", "gfs2", "vfat", "hfs+", "xfs",
               "ocfs2", "vmfs")
_NETFS_FORMATS = ("auto", "nfs", "glusterfs", "cifs")
_DISK_FORMATS = ("unknown", "dos", "dvh", "gpt", "mac", "bsd", "pc98", "sun", "lvm2")
_LOGICAL_FORMATS = ("unknown", "lvm2")

#: pool type -> (source flags, pool formats or None, default format index)
POOL_TYPES: dict[str, tuple[int, tuple[str, ...] | None, int]] = {
    "dir": (0, None, 0),
    "fs": (SRC_DEVICE, _FS_FORMATS, 0),
    "netfs": (SRC_HOST | SRC_DIR, _NETFS_FORMATS, 0),
    "logical": (SRC_NAME | SRC_DEVICE, _LOGICAL_FORMATS, 1),
    "disk": (SRC_DEVICE, _DISK_FORMATS, 0),
    "iscsi": (SRC_HOST | SRC_DEVICE | SRC_IQN, None, 0),
    "iscsi-direct": (SRC_HOST | SRC_DEVICE | SRC_NETWORK | SRC_IQN, None, 0),
    "scsi": (SRC_ADAPTER, None, 0),
    "mpath": (0, None, 0),
    "rbd": (SRC_HOST | SRC_NETWORK | SRC_NAME, None, 0),
    "sheepdog": (SRC_HOST | SRC_NETWORK | SRC_NAME, None, 0),
    "gluster": (SRC_HOST | SRC_NETWORK | SRC_NAME | SRC_DIR, None, 0),
    "zfs": (SRC_NAME | SRC_DEVICE, None, 0),
    "vstorage": (SRC_NAME, None, 0),
}
_NO_TARGET = ("rbd", "sheepdog", "gluster", "iscsi-direct")


def _err(detail: str, code: int = c.VIR_ERR_XML_ERROR) -> Exception:
    return xml_err(detail, DOM, code)


def sanitize_path(path: str) -> str:
    """virFileSanitizePath: collapse repeated '/', drop a trailing '/' (keeps a leading '//')."""
    lead = "//" if path.startswith("//") and not path.startswith("///") else ""
    body = re.sub(r"/+", "/", path[len(lead):])
    if len(body) > 1 and body.endswith("/"):
        body = body[:-1]
    return lead + body


def parse_perms(src: Element | None) -> Element | None:
    """virStorageDefParsePerms + format: ``<permissions>`` with mode/owner/group/label or None."""
    if src is None:
        return None
    mode_s = xs(src, "./mode")
    mode = None
    if mode_s:
        try:
            mode = int(mode_s.strip(), 8)
        except ValueError:
            mode = -1
        if mode < 0 or mode & ~0o777:
            raise _err("malformed octal mode")
    ids: dict[str, int | None] = {}
    for tag, what in (("owner", "owner"), ("group", "group")):
        if src.find(tag) is None:
            ids[tag] = None
            continue
        val = parse_int(xs(src, f"./{tag}"))
        if val is None or not (-1 <= val <= 0xFFFFFFFF):
            raise _err(f"malformed {what} element")
        ids[tag] = None if val in (-1, 0xFFFFFFFF) else val
    label = xs(src, "./label") or None
    out = E("permissions")
    if mode is not None:
        out.append(E("mode", text=f"0{mode:o}"))
    if ids["owner"] is not None:
        out.append(E("owner", text=str(ids["owner"])))
    if ids["group"] is not None:
        out.append(E("group", text=str(ids["group"])))
    if label is not None:
        out.append(E("label", text=label))
    return out if len(out) else None


format_perms = parse_perms


def parse_secret_lookup(node: Element, stype: str | None) -> Element:
    """virSecretLookupParseSecret + Format (errors from util/virsecret.c: domain none)."""
    uuid, usage = node.get("uuid"), node.get("usage")
    if uuid is None and usage is None:
        raise xml_err("missing secret uuid or usage attribute", c.VIR_FROM_NONE)
    if uuid is not None and usage is not None:
        raise xml_err("either secret uuid or usage expected", c.VIR_FROM_NONE)
    out = E("secret", ("type", stype))
    if uuid is not None:
        parsed = parse_uuid(uuid)
        if parsed is None:
            raise xml_err(f"invalid secret uuid '{uuid}'", c.VIR_FROM_NONE)
        out.set("uuid", parsed)
    else:
        out.set("usage", usage or "")
    return out


def _secret(auth: Element) -> Element:
    node = auth.find("secret")
    if node is None:
        raise _err("Missing <secret> element in auth")
    return parse_secret_lookup(node, node.get("type"))


def parse_auth(src: Element) -> Element:
    """virStorageAuthDefParse + Format."""
    user = src.get("username")
    if not user:
        raise _err("missing username for auth")
    atype = src.get("type") or None
    if atype is not None and atype not in ("none", "chap", "ceph"):
        raise _err(f"unknown auth type '{atype}'", c.VIR_ERR_CONFIG_UNSUPPORTED)
    secret = _secret(src)
    if atype in (None, "none"):
        out = E("auth", ("username", user))
    else:
        out = E("auth", ("type", atype), ("username", user))
    out.append(secret)
    return out


def _valid_wwn(wwn: str) -> bool:
    """virValidateWWN."""
    s = wwn[2:] if wwn.lower().startswith("0x") else wwn
    if len(s) != 16 or not all(ch in "0123456789abcdefABCDEF" for ch in s):
        raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"Malformed wwn: {wwn}", c.VIR_FROM_NONE)
    return True


def _adapter(src: Element) -> Element | None:
    atype = src.get("type")
    if atype is not None and atype not in ("scsi_host", "fc_host"):
        raise xml_err(f"Invalid value for attribute 'type' in element 'adapter': '{atype}'.", c.VIR_FROM_XML)
    if atype is None:
        if src.get("wwnn") or src.get("wwpn") or src.get("parent"):
            raise _err("Use of 'wwnn', 'wwpn', and 'parent' attributes requires use of the adapter 'type'")
        if src.find("parentaddr") is not None:
            raise _err("Use of 'parentaddr' element requires use of the adapter 'type'")
        name = src.get("name")
        return E("adapter", ("type", "scsi_host"), ("name", name)) if name is not None else None
    if atype == "fc_host":
        managed = tristate(src, "managed", DOM)
        wwnn, wwpn = src.get("wwnn"), src.get("wwpn")
        if wwnn is None or wwpn is None:
            raise _err("'wwnn' and 'wwpn' must be specified for adapter type 'fchost'")
        _valid_wwn(wwnn)
        _valid_wwn(wwpn)
        pwwnn, pwwpn, fabric = src.get("parent_wwnn"), src.get("parent_wwpn"), src.get("parent_fabric_wwn")
        if pwwnn is not None and pwwpn is None:
            raise _err(f"when providing parent_wwnn='{pwwnn}', the parent_wwpn must also be provided")
        if pwwpn is not None and pwwnn is None:
            raise _err(f"when providing parent_wwpn='{pwwpn}', the parent_wwnn must also be provided")
        for w in (pwwnn, pwwpn, fabric):
            if w is not None:
                _valid_wwn(w)
        return E("adapter", ("type", "fc_host"), ("parent", src.get("parent")), ("parent_wwnn", pwwnn),
                 ("parent_wwpn", pwwpn), ("parent_fabric_wwn", fabric), ("managed", managed),
                 ("wwnn", wwnn), ("wwpn", wwpn))
    name = src.get("name")
    paddr = src.find("parentaddr")
    out = E("adapter", ("type", "scsi_host"), ("name", name))
    if paddr is not None:
        addr = paddr.find("address")
        if addr is None:
            raise _err("Missing scsi_host PCI address element")
        uid = parse_int(xs(paddr, "./@unique_id") or None)
        if uid is None or uid < 0 or uid > 0x7FFFFFFF:
            raise _err("Missing or invalid scsi adapter 'unique_id' value")
        if name is not None:
            raise _err("Both 'name' and 'parent' cannot be specified for the 'scsi_host' adapter")
        pa = E("parentaddr", ("unique_id", uid))
        pa.append(format_pci_address(addr, DOM))
        drop_attr(pa[0], "type")
        out.append(pa)
    elif name is None:
        raise _err("Either 'name' or 'parent' must be specified for the 'scsi_host' adapter")
    return out


def _source(ptype: str, src: Element | None,
            pool_name: str | None) -> tuple[Element, str | None, list[Exception]]:
    """Parse <source>; returns the canonical element (before name defaulting) and the source name."""
    flags, formats, default_fmt = POOL_TYPES[ptype]
    out = E("source")
    name = (xs(src, "./name") if src is not None else "") or None
    if ptype == "rbd" and name is None and src is not None:
        raise _err("element 'name' is mandatory for RBD pool")
    fmt: str | None = None
    if formats is not None:
        fmt_s = xs(src, "./format/@type") if src is not None else ""
        if not fmt_s:
            fmt = formats[default_fmt]
        elif fmt_s in formats:
            fmt = fmt_s
        else:
            raise _err(f"unknown pool format type {fmt_s}", c.VIR_ERR_CONFIG_UNSUPPORTED)
    hosts, devices = [], []
    sdir = adapter = auth = None
    iqn = proto = vendor = product = None
    if src is not None:
        for host in src.findall("host"):
            hname = host.get("name")
            if hname is None:
                raise _err("missing storage pool host name")
            port = None
            if host.get("port") is not None:
                port = parse_int(host.get("port"))
                if port is None or not -0x80000000 <= port <= 0x7FFFFFFF:
                    raise xml_err(f"Invalid value for attribute 'port' in element 'host': "
                                  f"'{host.get('port')}'. Expected integer value", c.VIR_FROM_XML)
            hosts.append(E("host", ("name", hname), ("port", port or None)))
        iqn = xs(src, "./initiator/iqn/@name") or None
        for dev in src.findall("device"):
            path = dev.get("path")
            if path is None:
                raise _err("missing storage pool source device path")
            sep = tristate(dev, "part_separator", DOM)
            # <freeExtent> is output-only (filled by a pool refresh): not parsed, like libvirt
            devices.append(E("device", ("path", path), ("part_separator", sep)))
        sdir_s = xs(src, "./dir/@path")
        sdir = sanitize_path(sdir_s) if sdir_s else None
        anode = src.find("adapter")
        if anode is not None:
            adapter = _adapter(anode)
        anode = src.find("auth")
        if anode is not None:
            auth = parse_auth(anode)
            if auth.get("type") is None:
                raise _err("storage pool missing auth type", c.VIR_ERR_CONFIG_UNSUPPORTED)
        proto = xs(src, "./protocol/@ver") or None
        if proto is not None:
            if fmt not in ("nfs", "auto") or ptype != "netfs":
                raise _err(f"storage pool protocol ver unsupported for pool type '{fmt}'",
                           c.VIR_ERR_CONFIG_UNSUPPORTED)
            if "," in proto:
                raise _err(f"storage pool protocol ver '{proto}' must not contain ','", c.VIR_ERR_XML_DETAIL)
        vendor = xs(src, "./vendor/@name") or None
        product = xs(src, "./product/@name") or None
    if sdir is None and ptype == "gluster":
        sdir = "/"
    if flags & SRC_HOST:
        for h in hosts:
            out.append(h)
    if flags & SRC_DEVICE:
        for d in devices:
            out.append(d)
    if flags & SRC_DIR and sdir is not None:
        out.append(E("dir", ("path", sdir)))
    if flags & SRC_ADAPTER and adapter is not None:
        out.append(adapter)
    if flags & SRC_NAME:
        out.append(E("name", text="@@NAME@@"))
    if flags & SRC_IQN and iqn:
        init = E("initiator")
        init.append(E("iqn", ("name", iqn)))
        out.append(init)
    if fmt is not None:
        out.append(E("format", ("type", fmt)))
    add(out, auth)
    if proto:
        out.append(E("protocol", ("ver", proto)))
    if vendor:
        out.append(E("vendor", ("name", vendor)))
    if product:
        out.append(E("product", ("name", product)))
    # checks libvirt makes after the pool's name and uuid: returned for the caller to raise
    late: list[Exception] = []
    if flags & SRC_HOST and not hosts:
        late.append(_err("missing storage pool source host name"))
    if flags & SRC_DIR and sdir is None:
        late.append(_err("missing storage pool source path"))
    if flags & SRC_ADAPTER and adapter is None:
        late.append(_err("missing storage pool source adapter"))
    if flags == SRC_DEVICE and not devices:
        late.append(_err("missing storage pool source device name"))
    return out, name, late


def parse_pool_source(xml: str | bytes, pool_type: str) -> Element:
    """virStoragePoolDefParseSourceString: a ``<source>`` spec (virConnectFindStoragePoolSources)
    for a pool of *pool_type*, checked as libvirt checks it; returns the canonical element."""
    if pool_type not in POOL_TYPES:
        raise make_error(c.VIR_ERR_INTERNAL_ERROR, f"unknown storage pool type {pool_type}", DOM)
    src = parse_doc(xml, "source", "storage_source_specification", DOM)
    out, _name, _late = _source(pool_type, src, None)
    name = out.find("name")
    if name is not None:
        if src.find("name") is None or not xs(src, "./name"):
            out.remove(name)
        else:
            name.text = xs(src, "./name")
    return out


class StoragePoolDef(XMLModel):
    """A storage pool definition backed by its canonical XML tree."""

    def __init__(self, root: Element) -> None:
        self.root = root

    @classmethod
    def parse(cls, xml: str | bytes) -> "StoragePoolDef":
        """Parse and validate *xml* as virStoragePoolDefParse does."""
        src = parse_doc(xml, "pool", "storage_pool_definition", DOM)
        return cls(_canonical(src))

    @classmethod
    def from_element(cls, elem: Element) -> "StoragePoolDef":
        """Validate and canonicalize an already parsed ``<pool>`` element."""
        return cls(_canonical(elem))

    def copy(self) -> "StoragePoolDef":
        """A deep copy."""
        return StoragePoolDef(copy.deepcopy(self.root))

    @property
    def name(self) -> str:
        """The pool's name."""
        return self.root.findtext("name") or ""

    @name.setter
    def name(self, value: str) -> None:
        node = self.root.find("name")
        assert node is not None
        node.text = value

    @property
    def uuid(self) -> str:
        """The UUID string."""
        return self.root.findtext("uuid") or ""

    @property
    def uuid_bytes(self) -> bytes:
        """The UUID's 16 raw bytes."""
        return bytes.fromhex(self.uuid.replace("-", ""))

    @property
    def type(self) -> str:
        """Pool type: dir, fs, netfs, logical, ..."""
        return self.root.get("type", "")

    capacity = ByteCount("capacity", "Capacity in bytes.")
    allocation = ByteCount("allocation", "Allocation in bytes.")
    available = ByteCount("available", "Free space in bytes.")

    @property
    def target_path(self) -> str | None:
        """The target path (None for network pools)."""
        return self.root.findtext("target/path")

    @target_path.setter
    def target_path(self, value: str) -> None:
        node = self.root.find("target/path")
        if node is not None:
            node.text = value

    @property
    def source_name(self) -> str | None:
        """``<source><name>`` (logical VG, rbd pool, ...)."""
        return self.root.findtext("source/name")

    @property
    def source_hosts(self) -> list[tuple[str, int | None]]:
        """``<source><host>`` names and ports."""
        return [(h.get("name", ""), int(h.get("port", "0")) or None) for h in self.root.findall("source/host")]

    @property
    def source_devices(self) -> list[str]:
        """``<source><device path>`` values."""
        return [d.get("path", "") for d in self.root.findall("source/device")]

    @property
    def source_dir(self) -> str | None:
        """``<source><dir path>``."""
        d = self.root.find("source/dir")
        return d.get("path") if d is not None else None

    @property
    def source_format(self) -> str | None:
        """``<source><format type>`` (for pool types that have one)."""
        f = self.root.find("source/format")
        return f.get("type") if f is not None else None

    @property
    def source_adapter(self) -> Element | None:
        """The canonical ``<source><adapter>`` element (scsi pools), if any."""
        return self.root.find("source/adapter")

    def to_xml(self, inactive: bool = False, *, capacity: int | None = None, allocation: int | None = None,
               available: int | None = None) -> str:
        """The XML libvirt prints for the pool (sizes may be given for this output only)."""
        out = copy.deepcopy(self.root)
        for tag, value in (("capacity", capacity), ("allocation", allocation), ("available", available)):
            node = out.find(tag)
            if value is not None and node is not None:
                node.text = str(int(value))
        src = out.find("source")
        if src is not None:
            keep_open(src)
        return format_doc(out)


def _canonical(src: Element) -> Element:
    ptype = src.get("type")
    if ptype is None:
        raise xml_err("Missing required attribute 'type' in element 'pool'", c.VIR_FROM_XML)
    if ptype not in POOL_TYPES:
        raise xml_err(f"Invalid value for attribute 'type' in element 'pool': '{ptype}'.", c.VIR_FROM_XML)
    flags = POOL_TYPES[ptype][0]
    source, source_name, late = _source(ptype, src.find("source"), None)
    name = xs(src, "./name") or None
    if name is None and flags & SRC_NAME:
        name = source_name
    if name is None:
        raise _err("missing pool source name element")
    if "/" in name:
        raise _err(f"name {name} cannot contain '/'")
    uuid_s = xs(src, "./uuid")
    if uuid_s:
        uuid = parse_uuid(uuid_s)
        if uuid is None:
            raise _err("malformed uuid element")
    else:
        uuid = new_uuid()
    cow_node = src.find("features/cow")
    cow = tristate(cow_node, "state", DOM)
    if cow is not None and ptype not in ("fs", "dir"):
        raise make_error(c.VIR_ERR_NO_SUPPORT, "cow feature may only be used for 'fs' and 'dir' pools", DOM)
    if late:
        raise late[0]
    if flags & SRC_NAME:
        if source_name is None:
            source_name = name
        sname = source.find("name")
        assert sname is not None
        sname.text = source_name
    target = None
    if not flags & SRC_NETWORK:
        if ptype == "logical":
            tpath = f"/dev/{source_name}"
        elif ptype == "zfs":
            tpath = f"/dev/zvol/{source_name}"
        else:
            tpath = xs(src, "./target/path")
            if not tpath:
                raise _err("missing storage pool target path")
        perms = parse_perms(src.find("target/permissions"))
        target = E("target")
        target.append(E("path", text=sanitize_path(tpath)))
        add(target, perms)
    if ptype == "iscsi-direct" and source.find("initiator") is None:
        raise _err("missing initiator IQN", c.VIR_ERR_CONFIG_UNSUPPORTED)
    refresh_alloc = xs(src, "./refresh/volume/@allocation")
    if refresh_alloc and refresh_alloc not in ("default", "capacity"):
        raise _err(f"unknown storage pool volume refresh allocation type {refresh_alloc}",
                   c.VIR_ERR_CONFIG_UNSUPPORTED)
    root = E("pool", ("type", ptype))
    root.append(E("name", text=name))
    root.append(E("uuid", text=uuid))
    for tag in ("capacity", "allocation", "available"):
        root.append(E(tag, ("unit", "bytes"), text="0"))
    if cow is not None:
        feats = E("features")
        feats.append(E("cow", ("state", cow)))
        root.append(feats)
    root.append(source)
    if ptype not in _NO_TARGET and target is not None:
        root.append(target)
    if refresh_alloc:
        refresh = E("refresh")
        refresh.append(E("volume", ("allocation", refresh_alloc)))
        root.append(refresh)
    return root
