"""Canonical output of a domain tree: libvirt's element and attribute order.

The model keeps the parsed lxml tree; :func:`canonical_copy` returns a copy
with children and attributes in the order libvirt's formatter writes them
(see :mod:`.order`), and :func:`serialize` writes it as libvirt does, with
``<metadata>`` children dumped by libxml2 (double quotes), as libvirt does.
"""

from __future__ import annotations

from lxml import etree

from ..xmlutil import Element, escape_attr
from .order import ATTR_ORDER, CHILD_ORDER

__all__ = ["canonical_copy", "serialize", "path_key", "sort_children", "sort_attrs"]

OPAQUE = {"metadata"}


def path_key(path: list[str]) -> str:
    """The :mod:`.order` key for an element at *path* (tags from the root)."""
    if len(path) >= 2 and path[1] == "devices":
        if len(path) == 2:
            return "devices"
        rest = path[2:]
        if rest[-1] == "address" and (len(rest) < 2 or rest[-2] != "source"):
            return "address"
        collapsed: list[str] = []
        for tag in rest:
            if tag == "backingStore" and collapsed and collapsed[-1] == "backingStore":
                continue
            collapsed.append(tag)
        return "/".join(collapsed)
    return "/".join(path)


def _rank(order: tuple[str, ...] | None, name: str) -> int:
    if order is None:
        return 0
    try:
        return order.index(name)
    except ValueError:
        return len(order)


def sort_attrs(elem: Element, key: str) -> None:
    """Reorder *elem*'s attributes in place, as libvirt writes them."""
    order = ATTR_ORDER.get(key)
    if order is None or len(elem.attrib) < 2:
        return
    items = list(elem.attrib.items())
    items.sort(key=lambda kv: _rank(order, str(kv[0])))
    elem.attrib.clear()
    for name, value in items:
        elem.set(name, value)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def sort_children(elem: Element, key: str) -> None:
    """Reorder *elem*'s element children in place (stable for equal tags)."""
    order = CHILD_ORDER.get(key)
    kids = [ch for ch in elem if isinstance(ch.tag, str)]
    if order is None or len(kids) < 2:
        return
    ranked = sorted(kids, key=lambda ch: _rank(order, _local(ch.tag)))
    if ranked == kids:
        return
    for ch in kids:
        elem.remove(ch)
    for ch in ranked:
        elem.append(ch)


def _canon(elem: Element, path: list[str]) -> None:
    key = path_key(path)
    sort_attrs(elem, key)
    if path[-1] in OPAQUE:
        return
    if key == "interface" and elem.get("type") == "hostdev":
        key = "interface[hostdev]"
    sort_children(elem, key)
    for ch in elem:
        if isinstance(ch.tag, str):
            _canon(ch, path + [_local(ch.tag)])


def canonical_copy(root: Element) -> Element:
    """A deep copy of *root* with children and attributes in libvirt's order."""
    copy = etree.fromstring(etree.tostring(root))
    _canon(copy, [_local(copy.tag)])
    return copy


def _dump_metadata_child(elem: Element, pad: str, out: list[str]) -> None:
    # libvirt copies each metadata element into a fresh document and dumps it
    # with libxml2's formatter: namespace declared on it, double quotes.
    clean = etree.fromstring(etree.tostring(elem))
    for node in clean.iter():
        if len(node) and node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    etree.cleanup_namespaces(clean)
    text = etree.tostring(clean, pretty_print=True, encoding="unicode").rstrip("\n")
    for line in text.split("\n"):
        out.append(pad + line)


def _write(elem: Element, indent: int, out: list[str]) -> None:
    pad = "  " * indent
    name = _local(elem.tag)
    attrs = "".join(f" {k!s}='{escape_attr(str(v))}'" for k, v in elem.attrib.items())
    kids = [ch for ch in elem if isinstance(ch.tag, str)]
    if not kids:
        text = elem.text
        if name in ("devices", "redirdev") or (name == "hyperv" and elem.get("mode") == "passthrough"):
            out.append(f"{pad}<{name}{attrs}>")
            out.append(f"{pad}</{name}>")
        elif text and text.strip():
            out.append(f"{pad}<{name}{attrs}>{escape_attr(text)}</{name}>")
        else:
            out.append(f"{pad}<{name}{attrs}/>")
        return
    out.append(f"{pad}<{name}{attrs}>")
    if name == "metadata":
        for ch in kids:
            _dump_metadata_child(ch, pad + "  ", out)
    else:
        for ch in kids:
            _write(ch, indent + 1, out)
    out.append(f"{pad}</{name}>")


def serialize(root: Element, indent: int = 0) -> str:
    """Write a canonical tree as libvirt does (trailing newline included)."""
    out: list[str] = []
    _write(root, indent, out)
    return "\n".join(out) + "\n"
