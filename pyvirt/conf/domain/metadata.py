"""virDomainGetMetadata / virDomainSetMetadata on a domain tree."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from lxml import etree

from ... import constants as c
from ...errors import make_error
from ..xmlutil import Element, parse_xml

if TYPE_CHECKING:
    from .model import DomainDef

__all__ = ["get_metadata", "set_metadata"]


def _not_found() -> Exception:
    return make_error(c.VIR_ERR_NO_DOMAIN_METADATA, "Requested metadata element is not present",
                      c.VIR_FROM_DOMAIN)


def _find(dom: "DomainDef", uri: str) -> Element | None:
    meta = dom.xml.find("metadata")
    if meta is None:
        return None
    for child in meta:
        if isinstance(child.tag, str) and etree.QName(child).namespace == uri:
            return child
    return None


def _strip_ns(elem: Element, uri: str) -> Element:
    """A copy of *elem* with namespace *uri* removed from it and its children."""
    out = copy.deepcopy(elem)
    for node in out.iter():
        if isinstance(node.tag, str) and etree.QName(node).namespace == uri:
            node.tag = etree.QName(node).localname
    etree.cleanup_namespaces(out)
    fresh = etree.fromstring(etree.tostring(out))
    return fresh


def get_metadata(dom: "DomainDef", type_: int, uri: str | None) -> str:
    """The title, description or the element in namespace *uri* (libvirt's text)."""
    if type_ == c.VIR_DOMAIN_METADATA_DESCRIPTION:
        value = dom.description
    elif type_ == c.VIR_DOMAIN_METADATA_TITLE:
        value = dom.title
    elif type_ == c.VIR_DOMAIN_METADATA_ELEMENT:
        if uri is None:
            raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_DOMAIN,
                             message="uri in virDomainGetMetadata must not be NULL")
        node = _find(dom, uri)
        if node is None:
            raise _not_found()
        plain = _strip_ns(node, uri)
        for sub in plain.iter():
            if len(sub) and sub.text is not None and not sub.text.strip():
                sub.text = None
            if sub.tail is not None and not sub.tail.strip():
                sub.tail = None
        return etree.tostring(plain, pretty_print=True, encoding="unicode").rstrip("\n")
    else:
        raise make_error(c.VIR_ERR_INVALID_ARG, f"unknown metadata type '{type_}'", c.VIR_FROM_DOMAIN)
    if not value:
        raise _not_found()
    return value


def set_metadata(dom: "DomainDef", type_: int, value: str | None, key: str | None,
                 uri: str | None) -> None:
    """Set (or with None/empty value remove) title, description or a namespaced element."""
    if type_ in (c.VIR_DOMAIN_METADATA_DESCRIPTION, c.VIR_DOMAIN_METADATA_TITLE):
        if key is not None or uri is not None:
            what = "key" if key is not None else "uri"
            raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_DOMAIN,
                             message=f"{what} in virDomainSetMetadata must be NULL")
        if type_ == c.VIR_DOMAIN_METADATA_TITLE:
            if value and "\n" in value:
                raise make_error(c.VIR_ERR_INVALID_ARG, "Domain title can't contain newlines",
                                 c.VIR_FROM_DOMAIN)
            dom.title = value or None
        else:
            dom.description = value or None
        return
    if type_ != c.VIR_DOMAIN_METADATA_ELEMENT:
        raise make_error(c.VIR_ERR_INVALID_ARG, f"unknown metadata type '{type_}'", c.VIR_FROM_DOMAIN)
    if uri is None:
        raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_DOMAIN,
                         message="uri in virDomainSetMetadata must not be NULL")
    new: Element | None = None
    if value:
        if key is None:
            raise make_error(c.VIR_ERR_INVALID_ARG, None, c.VIR_FROM_DOMAIN,
                             message="key in virDomainSetMetadata must not be NULL")
        parsed = parse_xml(value, what="metadata_xml", domain=c.VIR_FROM_DOMAIN)
        new = _in_namespace(parsed, key, uri)
    old = _find(dom, uri)
    meta = dom.xml.find("metadata")
    if old is not None and meta is not None:
        meta.remove(old)
    if new is not None:
        if meta is None:
            meta = dom.xml.makeelement("metadata", {})
            dom.xml.append(meta)
        meta.append(new)


def _in_namespace(elem: Element, prefix: str, uri: str) -> Element:
    """*elem* with it and its un-namespaced descendants moved into (prefix, uri)."""
    nsmap = {prefix: uri}

    def convert(node: Element) -> Element:
        qn = etree.QName(node)
        tag = f"{{{uri}}}{qn.localname}" if qn.namespace is None else node.tag
        out = etree.Element(tag, nsmap=nsmap) if node is elem else etree.Element(tag)
        for k, v in node.attrib.items():
            out.set(k, v)
        out.text = node.text
        out.tail = node.tail
        for child in node:
            if isinstance(child.tag, str):
                out.append(convert(child))
        return out

    result = convert(elem)
    result.tail = None
    return result
