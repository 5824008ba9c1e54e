"""Parsing and formatting XML the way libvirt does.

``parse_xml`` turns text into an lxml element with libvirt's error messages
(``(domain_definition):3: Opening and ending tag mismatch ...`` with the line
and a caret, or ``expecting root element of 'domain', not 'network'``).
``format_xml`` writes an element as libvirt writes XML: two-space indent,
single-quoted attributes, ``<empty/>`` elements, a trailing newline.
"""

from __future__ import annotations

from typing import Iterable

from lxml import etree

from .. import constants as c
from ..errors import make_error

__all__ = ["parse_xml", "format_xml", "escape_attr", "escape_text", "Element", "xml_error",
           "SubElement", "new_element"]

Element = etree._Element

_PARSER = etree.XMLParser(remove_blank_text=False, resolve_entities=False, no_network=True,
                          huge_tree=False, remove_comments=True)


def xml_error(detail: str, domain: int = c.VIR_FROM_XML) -> Exception:
    """libvirt's VIR_ERR_XML_ERROR ("XML error: <detail>")."""
    return make_error(c.VIR_ERR_XML_ERROR, detail, domain)


def parse_xml(text: str | bytes, root: str | None = None, what: str = "domain_definition",
              domain: int = c.VIR_FROM_XML) -> Element:
    """Parse *text*; check the root element is *root*. Errors are libvirt's.

    *what* names the document in syntax errors, as libvirt does
    ("domain_definition", "network_definition", ...).
    """
    if isinstance(text, str):
        data = text.encode("utf-8")
    else:
        data = text
    if not data.strip():
        raise make_error(c.VIR_ERR_XML_DETAIL, None, domain, message=f"({what}):1: Document is empty")
    etree.clear_error_log()  # lxml keeps earlier documents' errors in its log
    try:
        elem = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc, data, what, domain) from None
    if root is not None and elem.tag != root:
        raise make_error(c.VIR_ERR_XML_ERROR,
                         f"expecting root element of '{root}', not '{_tag_name(elem)}'",
                         c.VIR_FROM_XML)
    return elem


def _tag_name(elem: Element) -> str:
    tag = elem.tag
    if not isinstance(tag, str):
        return str(tag)
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        prefix = elem.prefix
        return f"{prefix}:{local}" if prefix else local
    return tag


def _syntax_error(exc: etree.XMLSyntaxError, data: bytes, what: str, domain: int) -> Exception:
    entries = list(exc.error_log)  # type: ignore[call-overload]
    entry = entries[0] if entries else None
    line = entry.line if entry is not None else (exc.lineno or 1)
    column = entry.column if entry is not None else 1
    msg = entry.message if entry is not None else str(exc)
    lines = data.decode("utf-8", "replace").splitlines() or [""]
    src = lines[min(max(line, 1), len(lines)) - 1]
    text = f"({what}):{line}: {msg}\n{src}\n{'-' * max(column - 1, 0)}^"
    return make_error(c.VIR_ERR_XML_DETAIL, None, domain, message=text)


def escape_attr(value: str) -> str:
    """Escape an attribute value for single quotes, as libvirt does."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&apos;").replace('"', "&quot;"))


def escape_text(value: str) -> str:
    """Escape element text, as libvirt does."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _qname(elem: Element, tag: str) -> str:
    if tag.startswith("{"):
        ns, local = tag[1:].split("}", 1)
        for prefix, uri in (elem.nsmap or {}).items():
            if uri == ns and prefix:
                return f"{prefix}:{local}"
        return local
    return tag


def _format(elem: Element, indent: int, out: list[str], parent_nsmap: dict[str | None, str]) -> None:
    pad = "  " * indent
    if not isinstance(elem.tag, str):  # comments and processing instructions are dropped
        return
    name = _qname(elem, elem.tag)
    attrs = [f" {_qname(elem, str(key))}='{escape_attr(str(value))}'" for key, value in elem.attrib.items()]
    nsmap = dict(elem.nsmap or {})
    for prefix, uri in nsmap.items():
        if parent_nsmap.get(prefix) != uri:
            attrs.append(f" xmlns:{prefix}='{escape_attr(uri)}'" if prefix else f" xmlns='{escape_attr(uri)}'")
    head = f"{pad}<{name}{''.join(attrs)}"
    children = [ch for ch in elem if isinstance(ch.tag, str)]
    text = elem.text if elem.text is not None and (not children or elem.text.strip()) else None
    if not children:
        if text:
            out.append(f"{head}>{escape_text(text)}</{name}>")
        else:
            out.append(f"{head}/>")
        return
    if text and text.strip():
        # Mixed content (rare in libvirt XML): keep it verbatim on one line.
        out.append(head + ">" + escape_text(text)
                   + "".join(etree.tostring(ch, encoding="unicode") for ch in children) + f"</{name}>")
        return
    out.append(head + ">")
    for child in children:
        _format(child, indent + 1, out, nsmap)
    out.append(f"{pad}</{name}>")


def format_xml(elem: Element, indent: int = 0) -> str:
    """*elem* as libvirt formats XML, ending in a newline."""
    out: list[str] = []
    _format(elem, indent, out, {})
    return "\n".join(out) + "\n"


def new_element(tag: str, attrib: dict[str, str] | None = None, text: str | None = None,
                nsmap: dict[str | None, str] | None = None) -> Element:
    """A new element with optional attributes and text."""
    elem = etree.Element(tag, nsmap=nsmap)  # type: ignore[arg-type]
    for key, value in (attrib or {}).items():
        elem.set(key, value)
    if text is not None:
        elem.text = text
    return elem


def SubElement(parent: Element, tag: str, attrib: dict[str, str] | None = None,  # noqa: N802
               text: str | None = None) -> Element:
    """Append a child *tag* to *parent* with optional attributes and text."""
    elem = etree.SubElement(parent, tag)
    for key, value in (attrib or {}).items():
        elem.set(key, value)
    if text is not None:
        elem.text = text
    return elem


def children_named(elem: Element, tags: Iterable[str]) -> list[Element]:
    """Direct children of *elem* whose tag is in *tags*, in document order."""
    wanted = set(tags)
    return [ch for ch in elem if ch.tag in wanted]
