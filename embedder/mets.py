"""METS issues: the articles a library's METS file defines over its ALTO pages.

What the national libraries' newspaper profiles share, and what is read here:

- ``fileSec``: the ALTO file of each page (``FLocat xlink:href``, relative to the METS
  folder, plain or as ``file://./…``); page images may be named and not shipped.
- the logical ``structMap``: a tree of divisions. ``ARTICLE`` divisions are articles;
  ``ADVERTISEMENT`` divisions are kept apart (their own records, section
  ``advertisement``); a ``SECTION`` names the section of the articles inside it; mastheads,
  publishing statements and illustrations are left out.
- where an article's text is, two ways:
  ``area`` elements inside the division (Europeana Newspapers, BnF, BnL: ``BEGIN`` names an
  ALTO ``TextBlock``), or ``structLink`` arcs from the division to page areas of the
  physical ``structMap`` whose ``area`` elements name the ALTO words (British Library:
  ``BEGIN``/``END`` name the first and last ``String``).
- headings: ``HEADING``/``TITLE``/``HEADLINE`` divisions (``OVERLINE`` is the kicker,
  ``SUBHEADLINE`` the subtitle), else ALTO blocks set larger than the body.
- MODS: the article's ``titleInfo/title``; the issue's title (the paper) and
  ``dateIssued``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlparse

from lxml import etree

from semsearch.embedder.alto import AltoDocument, is_alto, split_paragraphs
from semsearch.embedder.cleaning import is_heading_like
from semsearch.embedder.dates import normalize_date
from semsearch.embedder.layout import LayoutBlock
from semsearch.embedder.newspaper import standalone_byline
from semsearch.embedder.reading import BadInput
from semsearch.embedder.xmlsafe import local_name, read_xml

_XLINK = "{http://www.w3.org/1999/xlink}"
# Suffixes of the text files a fileSec names; images and PDFs of the issue are not read.
ALTO_SUFFIXES = frozenset({".xml", ".alto"})
# Page images a fileSec may name (read only to draw a page).
PAGE_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".jp2", ".j2k", ".tif", ".tiff"})
# Division types (lower case) that are articles, and those kept apart with their section.
ARTICLE_TYPES = frozenset({"article"})
KEPT_APART_TYPES = {"advertisement": "advertisement"}
SECTION_TYPES = frozenset({"section"})
# Divisions whose text is not an article: mastheads, imprint, pictures.
SKIPPED_TYPES = frozenset(
    {"title_section", "publishing_stmt", "illustration", "image", "map", "cover"}
)
# Divisions whose MODS describe the issue, nearest first.
ISSUE_TYPES = ("issue", "volume", "newspaper")
_ROLE_TYPES = {
    "overline": "kicker",
    "subheadline": "subtitle",
    "heading": "title",
    "headline": "title",
    "title": "title",
}
# ``01.08.1821`` (Europeana Newspapers profile): day first.
_DOTTED_DATE_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


class Role(StrEnum):
    """What a block is in its article, as the METS says."""

    KICKER = "kicker"
    TITLE = "title"
    SUBTITLE = "subtitle"
    HEADING = "heading"  # set large, role unknown: read like a page's heading run
    BODY = "body"


@dataclass(frozen=True)
class MetsPart:
    """A block of an article with its role."""

    block: LayoutBlock
    role: Role


@dataclass(frozen=True)
class MetsUnit:
    """An article (or a record kept apart) as its METS division defines it.

    ``title`` is the MODS title (or the division's label), when the METS gives one.
    """

    ident: str
    parts: tuple[MetsPart, ...]
    kind: str = "article"
    title: str | None = None
    label: str | None = None
    section: str | None = None


@dataclass(frozen=True)
class MetsIssue:
    """What a METS file says: its articles, else its pages, and the issue's metadata."""

    units: tuple[MetsUnit, ...] = ()
    pages: tuple[tuple[LayoutBlock, ...], ...] = ()
    source: str | None = None
    date: str | None = None


def read_mets(root: etree._Element, path: Path) -> MetsIssue:
    """Read a METS issue.

    Without article divisions in a logical structMap, the issue is its ALTO pages (the
    caller segments them like printed pages).

    Raises:
        BadInput: An ALTO file is missing or outside the METS folder, an area names a file
            not in the fileSec or an ID the ALTO file does not have, or there is no text.
    """
    files = alto_files(root, path)
    reader = _Reader(root, path, files)
    units = tuple(reader.units())
    source, date = _issue_metadata(root, reader.mods)
    if units:
        return MetsIssue(units=units, source=source, date=date)
    pages = tuple(tuple(split_paragraphs(reader.document(file_id).blocks())) for file_id in files)
    return MetsIssue(pages=pages, source=source, date=date)


def alto_files(root: etree._Element, path: Path) -> dict[str, Path]:
    """The ALTO files a METS file's fileSec names, by file id (resolved paths).

    Raises:
        BadInput: A remote or missing ALTO file, any file outside the METS folder, or no
            ALTO file at all.
    """
    folder = path.resolve().parent
    files: dict[str, Path] = {}
    for element in root.iter():
        if local_name(element) != "file":
            continue
        for locator in element:
            if local_name(locator) != "FLocat":
                continue
            href = locator.get(f"{_XLINK}href", "")
            target = local_target(href, folder, path)
            if target.suffix.lower() not in ALTO_SUFFIXES or element.get("MIMETYPE", "").startswith(
                "image/"
            ):
                continue  # page images and PDFs: a missing one is no error
            if not target.is_file():
                raise BadInput(str(path), f"ALTO file {href!r} named in the METS is missing")
            files[element.get("ID", "")] = target
    if not files:
        raise BadInput(str(path), "METS fileSec names no ALTO (.xml) files")
    return files


def mets_page_files(root: etree._Element, path: Path) -> dict[int, tuple[Path, list[Path]]]:
    """Page number → (its ALTO file, the images named beside it), numbered as read.

    A page's image is any image file the same page division of a structMap points at
    (``div TYPE="page"``, ``np:page``, a ``pagearea``), present or not.
    """
    files = alto_files(root, path)
    numbers = _Reader(root, path, files)._pages
    folder = path.resolve().parent
    targets: dict[str, Path] = {}
    for element in root.iter():
        if local_name(element) != "file":
            continue
        for locator in element:
            if local_name(locator) == "FLocat":
                try:
                    target = local_target(locator.get(f"{_XLINK}href", ""), folder, path)
                except BadInput:
                    continue  # a remote image: nothing to draw from
                if element.get("MIMETYPE", "").startswith("image/") or (
                    target.suffix.lower() in PAGE_IMAGE_SUFFIXES
                ):
                    targets[element.get("ID", "")] = target
    images: dict[str, list[Path]] = {file_id: [] for file_id in files}
    for struct_map in root:
        if local_name(struct_map) != "structMap":
            continue
        for div in struct_map.iter():
            if local_name(div) != "div" or "page" not in div.get("TYPE", "").lower():
                continue
            named = [e.get("FILEID", "") for e in div.iter() if isinstance(e.tag, str)]
            for file_id in (i for i in named if i in files):
                images[file_id].extend(
                    targets[i] for i in named if i in targets and targets[i] not in images[file_id]
                )
    return {numbers[file_id]: (files[file_id], images[file_id]) for file_id in files}


def local_target(href: str, folder: Path, path: Path) -> Path:
    parsed = urlparse(href)
    if parsed.scheme not in ("", "file") or (
        parsed.scheme == "file" and parsed.netloc not in ("", ".", "localhost")
    ):
        raise BadInput(str(path), f"fileSec names {href!r}; only local files are read")
    relative = unquote(parsed.path)
    if parsed.netloc == ".":
        relative = relative.lstrip("/")  # ``file://./ALTO/x.xml`` is ``ALTO/x.xml``
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder):
        raise BadInput(str(path), f"fileSec names {href!r}, outside the METS folder")
    return target


@dataclass
class _Reader:
    root: etree._Element
    path: Path
    files: dict[str, Path]
    mods: dict[str, etree._Element] = field(default_factory=dict)
    _ids: dict[str, etree._Element] = field(default_factory=dict)
    _links: dict[str, list[str]] = field(default_factory=dict)
    _documents: dict[str, AltoDocument] = field(default_factory=dict)
    _pages: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for element in self.root.iter():
            if not isinstance(element.tag, str):
                continue
            ident = element.get("ID")
            if ident:
                self._ids[ident] = element
            name = local_name(element)
            if name == "dmdSec" and ident:
                found = next((e for e in element.iter() if local_name(e) == "mods"), None)
                if found is not None:
                    self.mods[ident] = found
            elif name == "smLinkGrp":
                self._read_link_group(element)
            elif name == "smLink":
                source = element.get(f"{_XLINK}from", "")
                self._links.setdefault(source, []).append(element.get(f"{_XLINK}to", ""))
        self._pages = self._page_numbers()

    def _read_link_group(self, group: etree._Element) -> None:
        # Locators name divisions by ``#ID`` under a label; arcs join labels.
        labels: dict[str, list[str]] = {}
        for element in group:
            if local_name(element) == "smLocatorLink":
                label = element.get(f"{_XLINK}label", "")
                labels.setdefault(label, []).append(element.get(f"{_XLINK}href", "").lstrip("#"))
        for element in group:
            if local_name(element) != "smArcLink":
                continue
            for source in labels.get(element.get(f"{_XLINK}from", ""), []):
                targets = labels.get(element.get(f"{_XLINK}to", ""), [])
                self._links.setdefault(source, []).extend(targets)

    def _page_numbers(self) -> dict[str, int]:
        # The physical structMap's page order; else the order of the fileSec.
        pages = {file_id: number for number, file_id in enumerate(self.files, start=1)}
        for struct_map in _struct_maps(self.root, "PHYSICAL"):
            for div in struct_map.iter():
                if local_name(div) != "div" or div.get("TYPE", "").lower() != "page":
                    continue
                order = div.get("ORDER", "")
                for pointer in div.iter():
                    file_id = pointer.get("FILEID", "")
                    if order.isdigit() and file_id in self.files:
                        pages[file_id] = int(order)
        return pages

    def document(self, file_id: str) -> AltoDocument:
        if file_id not in self.files:
            raise BadInput(str(self.path), f"structMap area names file {file_id!r}, not in fileSec")
        if file_id not in self._documents:
            alto_path = self.files[file_id]
            alto = read_xml(alto_path)
            if not is_alto(alto):
                raise BadInput(str(alto_path), "not an ALTO file (named in the METS fileSec)")
            self._documents[file_id] = AltoDocument(
                alto, str(alto_path), page=self._pages.get(file_id)
            )
        return self._documents[file_id]

    def units(self) -> Iterator[MetsUnit]:
        for struct_map in _struct_maps(self.root, "LOGICAL"):
            for div in struct_map:
                if local_name(div) == "div":
                    yield from self._walk(div, None)

    def _walk(self, div: etree._Element, section: str | None) -> Iterator[MetsUnit]:
        kind = div.get("TYPE", "").lower()
        if kind in SKIPPED_TYPES:
            return
        if kind in ARTICLE_TYPES or kind in KEPT_APART_TYPES:
            unit = self._unit(div, KEPT_APART_TYPES.get(kind, "article"), section)
            if unit.parts:
                yield unit
        elif kind in SECTION_TYPES:
            name = self._title(div) or (div.get("LABEL") or "").strip() or None
            own = self._unit(div, "article", name)
            if any(part.role is Role.BODY for part in own.parts):
                yield own  # the section's own text, outside its articles
            section = name or section
        for child in _child_divs(div):
            yield from self._walk(child, section)  # nested units; the rest yields nothing

    def _unit(self, div: etree._Element, kind: str, section: str | None) -> MetsUnit:
        parts = [
            part for area, role in self._areas(div, Role.BODY) for part in self._parts(area, role)
        ]
        for target in self._links.get(div.get("ID", ""), []):
            linked = self._ids.get(target)
            if linked is not None:
                parts.extend(
                    p for a, r in self._areas(linked, Role.BODY) for p in self._parts(a, r)
                )
        return MetsUnit(
            ident=div.get("ID", ""),
            parts=with_headings(parts),
            kind=kind,
            title=self._title(div),
            label=(div.get("LABEL") or "").strip() or None,
            section=section if kind == "article" else kind,
        )

    def _areas(self, div: etree._Element, role: Role) -> Iterator[tuple[etree._Element, Role]]:
        # The division's areas in document order, nested units left to their own walk.
        for child in div:
            if not isinstance(child.tag, str):
                continue
            name = local_name(child)
            if name == "div":
                if _is_unit(child):
                    continue
                kind = child.get("TYPE", "").lower()
                inner = Role(_ROLE_TYPES[kind]) if kind in _ROLE_TYPES else role
                if role is not Role.BODY and inner is Role.TITLE:
                    inner = role  # a TITLE inside an OVERLINE stays the kicker
                yield from self._areas(child, inner)
            elif name == "area":
                yield child, role
            else:
                yield from self._areas(child, role)

    def _parts(self, area: etree._Element, role: Role) -> list[MetsPart]:
        file_id, begin = area.get("FILEID", ""), area.get("BEGIN")
        named = self._ids.get(file_id)
        if not begin or (
            file_id not in self.files and named is not None and local_name(named) == "file"
        ):
            return []  # a region of a page image (SHAPE/COORDS), not text
        document = self.document(file_id)
        if not document.has(begin):
            raise BadInput(
                str(self.path), f"structMap area names block {begin!r}, not in {file_id}"
            )
        return [MetsPart(block, role) for block in document.area(begin, area.get("END"))]

    def _title(self, div: etree._Element) -> str | None:
        for dmd in (div.get("DMDID") or "").split():
            mods = self.mods.get(dmd)
            if mods is not None:
                title = mods_title(mods)
                if title:
                    return title
        return None


def with_headings(parts: list[MetsPart]) -> tuple[MetsPart, ...]:
    """Headings the METS names first; else the leading blocks set large are the headings.

    Body blocks are split into paragraphs; a large block after body text is a sub-heading
    and stays in the body.
    """
    marked = [part for part in parts if part.role is not Role.BODY]
    body = [part.block for part in parts if part.role is Role.BODY]
    if not marked:
        lead = next((i for i, block in enumerate(body) if not _looks_heading(block)), len(body))
        marked = [MetsPart(block, Role.HEADING) for block in body[:lead]]
        body = body[lead:]
    return (*marked, *(MetsPart(block, Role.BODY) for block in split_paragraphs(body)))


def _looks_heading(block: LayoutBlock) -> bool:
    # Set large, or short without sentence punctuation as the .txt rules read headlines.
    text = block.text()
    return block.heading or (is_heading_like(text) and standalone_byline(text) is None)


def mods_title(mods: etree._Element) -> str | None:
    """The title a MODS record gives (its ``titleInfo`` parts joined), or None."""
    pieces: list[str] = []
    for info in mods:
        if local_name(info) != "titleInfo" or info.get("type") in ("abbreviated", "alternative"):
            continue
        for element in info:
            if local_name(element) in ("nonSort", "title", "subTitle") and element.text:
                pieces.append(" ".join(element.text.split()))
    title = " ".join(piece for piece in pieces if piece)
    return title if any(char.isalnum() for char in title) else None


def _issue_metadata(
    root: etree._Element, mods: dict[str, etree._Element]
) -> tuple[str | None, str | None]:
    """The paper's title and the issue date from the MODS of the issue, volume or paper."""
    records: list[etree._Element] = []
    for kind in ISSUE_TYPES:
        for struct_map in _struct_maps(root, "LOGICAL"):
            for div in struct_map.iter():
                if local_name(div) == "div" and div.get("TYPE", "").lower() == kind:
                    records.extend(
                        mods[dmd] for dmd in (div.get("DMDID") or "").split() if dmd in mods
                    )
    source = next((t for record in records if (t := mods_title(record))), None)
    date = next((d for record in [*records, *mods.values()] if (d := _mods_date(record))), None)
    return source, date


def _mods_date(mods: etree._Element) -> str | None:
    for element in mods.iter():
        if local_name(element) == "dateIssued" and element.text:
            text = element.text.strip()
            dotted = _DOTTED_DATE_RE.match(text)
            if dotted:
                day, month, year = dotted.groups()
                text = f"{year}-{int(month):02d}-{int(day):02d}"
            found = normalize_date(text)
            if found:
                return found
    return None


def _struct_maps(root: etree._Element, kind: str) -> Iterator[etree._Element]:
    for element in root:
        if local_name(element) == "structMap" and element.get("TYPE", "").upper() == kind:
            yield element


def _child_divs(div: etree._Element) -> Iterator[etree._Element]:
    for child in div:
        if isinstance(child.tag, str) and local_name(child) == "div":
            yield child


def _is_unit(div: etree._Element) -> bool:
    kind = div.get("TYPE", "").lower()
    return local_name(div) == "div" and (
        kind in ARTICLE_TYPES or kind in KEPT_APART_TYPES or kind in SECTION_TYPES
    )
