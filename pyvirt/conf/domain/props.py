"""Small helpers mapping typed Python values onto an lxml tree (virtinst style)."""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from ..xmlutil import Element

__all__ = ["drop_attr", "detach_node", "find_or_make", "get_text", "set_text", "get_attr", "set_attr", "XmlProp", "ElemProp"]

T = TypeVar("T")


def drop_attr(elem: Element, *names: str) -> None:
    """Remove the attributes *names* from *elem* when present."""
    for name in names:
        if name in elem.attrib:
            del elem.attrib[name]


def detach_node(node: Element) -> None:
    """Remove *node* from its parent (no-op for a root)."""
    parent = node.getparent()
    if parent is not None:
        parent.remove(node)


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p and p != "."]


def find_or_make(root: Element, path: str, order_hook: Callable[[Element, Element], None] | None = None) -> Element:
    """The element at *path* below *root*, created (with parents) if missing."""
    node = root
    for part in _split(path):
        nxt = node.find(part)
        if nxt is None:
            nxt = node.makeelement(part, {})
            node.append(nxt)
            if order_hook is not None:
                order_hook(node, nxt)
        node = nxt
    return node


def get_text(root: Element, path: str) -> str | None:
    node = root.find(path)
    return None if node is None else (node.text or "")


def set_text(root: Element, path: str, value: str | None) -> None:
    """Set the text at *path*; None removes the element."""
    if value is None:
        node = root.find(path)
        if node is not None:
            detach_node(node)
        return
    find_or_make(root, path).text = value


def get_attr(root: Element, path: str, attr: str) -> str | None:
    node = root if path in ("", ".") else root.find(path)
    return None if node is None else node.get(attr)


def set_attr(root: Element, path: str, attr: str, value: str | None) -> None:
    """Set *attr* on the element at *path*; None removes the attribute."""
    if value is None:
        node = root if path in ("", ".") else root.find(path)
        if node is not None and attr in node.attrib:
            del node.attrib[attr]
        return
    node = root if path in ("", ".") else find_or_make(root, path)
    node.set(attr, value)


class XmlProp(Generic[T]):
    """A typed attribute (``attr`` given) or element text at ``path`` of ``self.xml``."""

    def __init__(self, path: str, attr: str | None = None, conv: Callable[[str], T] = str,  # type: ignore[assignment]
                 out: Callable[[T], str] = str, doc: str = "") -> None:
        self.path = path
        self.attr = attr
        self.conv = conv
        self.out = out
        self.__doc__ = doc

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        root: Element = obj.xml
        raw = get_attr(root, self.path, self.attr) if self.attr else get_text(root, self.path)
        return None if raw is None else self.conv(raw)

    def __set__(self, obj: Any, value: T | None) -> None:
        root: Element = obj.xml
        text = None if value is None else self.out(value)
        if self.attr:
            set_attr(root, self.path, self.attr, text)
        else:
            set_text(root, self.path, text)


class ElemProp:
    """True when the element at ``path`` exists (``<readonly/>``); settable."""

    def __init__(self, path: str, doc: str = "") -> None:
        self.path = path
        self.__doc__ = doc

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        return obj.xml.find(self.path) is not None

    def __set__(self, obj: Any, value: bool) -> None:
        node = obj.xml.find(self.path)
        if value and node is None:
            find_or_make(obj.xml, self.path)
        elif not value and node is not None:
            detach_node(node)
