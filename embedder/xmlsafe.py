"""Parsing untrusted XML (ALTO, METS, hOCR) without entity expansion, DTDs or network.

lxml is told not to resolve entities, load DTDs, touch the network or lift libxml2's
size limits (``huge_tree``); on top of that a document that declares entities is refused,
since ALTO, METS and hOCR never need them and they are how XML bombs and external-entity
reads are built.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from semsearch.embedder.reading import BadInput, open_binary

# ALTO of a broadsheet page is a few MB; an issue's METS is smaller.
MAX_XML_BYTES = 64 << 20
# Byte-order marks and wide '<': the entity check below reads the bytes as ASCII.
_WIDE_STARTS = (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")


def _parser(*, html: bool, recover: bool = False) -> etree._FeedParser:
    if html:
        return etree.HTMLParser(no_network=True, remove_comments=True, huge_tree=False)
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        recover=recover,
    )


def _parse_despite_namespaces(data: bytes) -> etree._Element | None:
    """The document if its only faults are undeclared namespace prefixes, else None.

    KB's DIDL files, cut out of their OAI envelope, use ``xsi:type`` without declaring
    ``xsi``: well-formed but for the namespace, which nothing here reads. The recovering
    parser's own log (the exception's may hold earlier parses' errors) must show nothing
    else.
    """
    parser = _parser(html=False, recover=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    errors = list(parser.error_log)
    if root is None or not errors or any(e.domain_name != "NAMESPACE" for e in errors):
        return None
    return root


def read_xml(path: Path, *, html: bool = False) -> etree._Element:
    """Parse a file safely and return its root element.

    Args:
        path: The XML (or, with ``html``, HTML) file; ``.gz`` is looked through.
        html: Use the forgiving HTML parser (hOCR that is not well-formed XHTML).

    Raises:
        BadInput: Too large, not well-formed, or declaring entities.
    """
    location = str(path)
    with open_binary(path) as handle:
        data = handle.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise BadInput(location, f"XML file larger than {MAX_XML_BYTES >> 20} MB")
    if data.startswith(_WIDE_STARTS):
        raise BadInput(location, "UTF-16/UTF-32 XML is not supported; convert it to UTF-8")
    if b"<!ENTITY" in data:
        raise BadInput(location, "XML declares entities (refused: a possible XML bomb)")
    try:
        root = etree.fromstring(data, _parser(html=html))
    except etree.XMLSyntaxError as exc:
        root = None if html else _parse_despite_namespaces(data)
        if root is None:
            raise BadInput(location, f"not well-formed XML ({exc})") from exc
    if root is None:
        raise BadInput(location, "no XML content")
    return root


def local_name(element: etree._Element) -> str:
    """The tag without its namespace (ALTO v2, v3 and v4 differ only in namespace)."""
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""
