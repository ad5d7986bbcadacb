"""KB (National Library of the Netherlands) editions: an MPEG-21 DIDL file over ALTO pages.

A Delpher edition folder holds ``didl.xml``, one ALTO file per page and one
``…_articletext.xml`` per article. The DIDL describes the edition (its ``dc:title`` is the
paper, ``dc:date`` the issue date), its pages (a component whose identifier ends in
``:alto`` names the page's ALTO file in ``dcx:filename``) and its articles: items whose
identifier ends in ``:aNNNN`` carry a ``dc:subject`` (``artikel``, ``advertentie``,
``familiebericht``…), a ``dc:title`` and a ``dcx:zoning`` whose ``article-part`` elements
name ALTO ``TextBlock`` IDs page by page. Articles are read from those blocks (so they keep
their page boxes), as a METS issue's are; the article-text files say nothing more and are
not read.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from semsearch.embedder.alto import AltoDocument, is_alto
from semsearch.embedder.dates import normalize_date
from semsearch.embedder.mets import (
    MetsIssue,
    MetsPart,
    MetsUnit,
    Role,
    local_target,
    with_headings,
)
from semsearch.embedder.reading import BadInput
from semsearch.embedder.xmlsafe import local_name, read_xml

_DC_IDENTIFIER = "{http://purl.org/dc/elements/1.1/}identifier"
# The article-level items (``ddd:010179815:mpeg21:a0002``); page-level copies of them
# (``…:p001:a0001``) are skipped.
_ARTICLE_ID_RE = re.compile(r":a\d+$")
_PAGE_PART_RE = re.compile(r":p\d+:a\d+$")
_PAGE_ID_RE = re.compile(r":p\d+$")
# ``dc:subject`` values kept apart from articles, with the section they get.
KEPT_APART_SUBJECTS = {"advertentie": "advertisement", "familiebericht": "family notice"}


def is_didl(root: etree._Element) -> bool:
    """True for a ``<DIDL>`` root element."""
    return local_name(root) == "DIDL"


def _attribute(element: etree._Element, name: str) -> str:
    # KB writes its own attributes in the dcx namespace: matched by local name.
    for key, value in element.attrib.items():
        if str(key).rsplit("}", 1)[-1] == name:
            return str(value)
    return ""


def _component_files(root: etree._Element, role: str) -> list[str]:
    """The ``dcx:filename`` of every component whose identifier ends in ``:role``."""
    names: list[str] = []
    for component in root.iter():
        if local_name(component) != "Component":
            continue
        if not component.get(_DC_IDENTIFIER, "").endswith(f":{role}"):
            continue
        for resource in component:
            if local_name(resource) == "Resource" and _attribute(resource, "filename"):
                names.append(_attribute(resource, "filename"))
    return names


def didl_files(root: etree._Element, path: Path) -> tuple[dict[str, Path], set[Path]]:
    """The edition's ALTO files by file name, in page order, and its article-text files.

    Raises:
        BadInput: An ALTO file is missing or outside the edition folder, or none is named.
    """
    folder = path.resolve().parent
    altos: dict[str, Path] = {}
    for name in _component_files(root, "alto"):
        target = local_target(name, folder, path)
        if not target.is_file():
            raise BadInput(str(path), f"ALTO file {name!r} named in the DIDL is missing")
        altos[name] = target
    if not altos:
        raise BadInput(str(path), "DIDL names no ALTO files")
    texts = {local_target(name, folder, path) for name in _component_files(root, "ocr")}
    return altos, texts


def didl_page_files(root: etree._Element, path: Path) -> dict[int, tuple[Path, list[Path]]]:
    """Page number → (its ALTO file, the images its page item names), numbered as read."""
    altos, _ = didl_files(root, path)
    numbers = {name: number for number, name in enumerate(altos, start=1)}
    folder = path.resolve().parent
    pages: dict[int, tuple[Path, list[Path]]] = {}
    for item in root.iter():
        if local_name(item) != "Item" or not _PAGE_ID_RE.search(item.get(_DC_IDENTIFIER, "")):
            continue
        alto: str | None = None
        images: list[Path] = []
        for component in item:
            if local_name(component) != "Component":
                continue
            role = component.get(_DC_IDENTIFIER, "").rsplit(":", 1)[-1]
            for resource in component:
                if local_name(resource) != "Resource":
                    continue
                name = _attribute(resource, "filename")
                if role == "alto":
                    alto = name
                elif role.startswith("image"):
                    # The access copy by its file name; the preservation copy by a
                    # relative ``ref``.
                    for candidate in (name, resource.get("ref", "")):
                        if candidate and "://" not in candidate:
                            try:
                                images.append(local_target(candidate, folder, path))
                            except BadInput:
                                continue
        if alto in numbers:
            pages[numbers[alto]] = (altos[alto], images)
    return pages


def read_didl(root: etree._Element, path: Path) -> MetsIssue:
    """Read a KB edition: its articles over its ALTO pages, its paper and date.

    Raises:
        BadInput: A named ALTO file is missing, not ALTO, or lacks a block an article names.
    """
    altos, _ = didl_files(root, path)
    documents: dict[str, AltoDocument] = {}
    for number, (name, alto_path) in enumerate(altos.items(), start=1):
        alto = read_xml(alto_path)
        if not is_alto(alto):
            raise BadInput(str(alto_path), "not an ALTO file (named in the DIDL)")
        documents[name] = AltoDocument(alto, str(alto_path), page=number)
    units = tuple(
        unit
        for item in root.iter()
        if local_name(item) == "Item"
        and _ARTICLE_ID_RE.search(ident := item.get(_DC_IDENTIFIER, ""))
        and not _PAGE_PART_RE.search(ident)
        for unit in [_unit(item, ident, documents, path)]
        if unit.parts
    )
    source, date = _edition_metadata(root)
    return MetsIssue(units=units, source=source, date=date)


def _metadata(item: etree._Element) -> dict[str, str]:
    # The item's own metadata record (its ``dcx`` in a metadata component), first values.
    found: dict[str, str] = {}
    for component in item:
        if local_name(component) != "Component" or not component.get(_DC_IDENTIFIER, "").endswith(
            ":metadata"
        ):
            continue
        for element in component.iter():
            name = local_name(element)
            if name in ("title", "date", "subject") and element.text and name not in found:
                found[name] = " ".join(element.text.split())
    return found


def _unit(
    item: etree._Element, ident: str, documents: dict[str, AltoDocument], path: Path
) -> MetsUnit:
    fields = _metadata(item)
    parts: list[MetsPart] = []
    for part in sorted(
        (e for e in item.iter() if local_name(e) == "article-part"),
        key=lambda e: int(e.get("order", "0")) if e.get("order", "").isdigit() else 0,
    ):
        for blocks in part:
            if local_name(blocks) != "blocks":
                continue
            name = _attribute(blocks, "alto")
            document = documents.get(name)
            if document is None:
                raise BadInput(str(path), f"article {ident} names {name!r}, not among the pages")
            for block in blocks:
                block_id = block.get("ID", "")
                if local_name(block) != "TextBlock":
                    continue
                if not document.has(block_id):
                    raise BadInput(
                        str(path), f"article {ident} names block {block_id!r}, not in {name}"
                    )
                parts.extend(MetsPart(b, Role.BODY) for b in document.area(block_id))
    subject = fields.get("subject", "").casefold()
    kept_apart = KEPT_APART_SUBJECTS.get(subject)
    marked = with_headings(parts)
    return MetsUnit(
        ident=ident,
        parts=marked,
        kind=kept_apart or "article",
        title=_title(fields.get("title"), marked),
        section=kept_apart,
    )


def _title(title: str | None, parts: tuple[MetsPart, ...]) -> str | None:
    """KB's title, unless it is only the article's first line (KB's fallback, often cut
    mid-word: ``De Notaris HARM JAN VAN BOLHUIS, refide-``)."""
    if not title or not parts:
        return title or None
    first = _letters(parts[0].block.text())
    return None if first.startswith(_letters(title)) else title


def _letters(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


def _edition_metadata(root: etree._Element) -> tuple[str | None, str | None]:
    for item in root.iter():
        if local_name(item) == "Item":
            fields = _metadata(item)
            return fields.get("title"), normalize_date(fields.get("date", "")) or None
    return None, None
