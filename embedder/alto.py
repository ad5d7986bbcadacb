"""ALTO (v2–v4) pages and METS issues: text blocks with boxes, articles from the structMap.

ALTO versions differ in namespace only as far as text is concerned, so elements are matched
by local name. A METS file names its ALTO files (``fileSec``) and, in its logical
``structMap``, which ALTO blocks (``area BEGIN``) make each article.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from urllib.parse import unquote, urlparse

from lxml import etree

from semsearch.embedder.layout import (
    HEADING_SIZE_RATIO,
    LayoutBlock,
    LayoutLine,
    body_line_height,
    join_lines,
    mark_headings,
)
from semsearch.embedder.reading import BadInput
from semsearch.embedder.xmlsafe import local_name, read_xml

_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
# METS division types that hold an article, and those inside one that hold its headline.
_ARTICLE_TYPES = frozenset({"article"})
_HEADING_TYPES = frozenset({"heading", "headline", "title"})


def is_alto(root: etree._Element) -> bool:
    """True for an ``<alto>`` root element."""
    return local_name(root) == "alto"


def is_mets(root: etree._Element) -> bool:
    """True for a ``<mets>`` root element."""
    return local_name(root) == "mets"


def alto_blocks(root: etree._Element, location: str) -> list[LayoutBlock]:
    """The text blocks of an ALTO document in document order, headings marked by size.

    Raises:
        BadInput: The document has no text.
    """
    font_sizes = {
        style.get("ID", ""): _number(style.get("FONTSIZE"))
        for style in root.iter()
        if local_name(style) == "TextStyle"
    }
    blocks: list[LayoutBlock] = []
    styled: dict[int, float] = {}
    for page_number, page in enumerate(
        (element for element in root.iter() if local_name(element) == "Page"), start=1
    ):
        number = int(_number(page.get("PHYSICAL_IMG_NR")) or page_number)
        for element in page.iter():
            if local_name(element) != "TextBlock":
                continue
            block = LayoutBlock(ident=element.get("ID", ""))
            for line in element:
                if local_name(line) == "TextLine":
                    text = _line_text(line)
                    if text:
                        block.lines.append(LayoutLine(text, number, _box(line)))
            if block.lines:
                size = _style_size(element, font_sizes)
                if size:
                    styled[len(blocks)] = size
                blocks.append(block)
    if not blocks:
        raise BadInput(location, "ALTO file has no text")
    mark_headings(blocks, body_line_height([line for b in blocks for line in b.lines]))
    if styled:
        # Declared font sizes, where given, say more than box heights do.
        body = statistics.median(styled.values())
        for index, size in styled.items():
            blocks[index].heading = size >= HEADING_SIZE_RATIO * body
    return blocks


def _line_text(line: etree._Element) -> str:
    words: list[str] = []
    for item in line:
        if local_name(item) != "String":
            continue
        kind = item.get("SUBS_TYPE")
        if kind == "HypPart2":
            continue  # the whole word came with its first part
        content = item.get("SUBS_CONTENT") if kind == "HypPart1" else item.get("CONTENT")
        if content:
            words.append(content)
    return join_lines(words)


def _style_size(block: etree._Element, font_sizes: dict[str, float | None]) -> float | None:
    for ref in (block.get("STYLEREFS") or "").split():
        if font_sizes.get(ref):
            return font_sizes[ref]
    return None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _box(element: etree._Element) -> tuple[float, float, float, float]:
    x = _number(element.get("HPOS")) or 0.0
    y = _number(element.get("VPOS")) or 0.0
    return (
        x,
        y,
        x + (_number(element.get("WIDTH")) or 0.0),
        y + (_number(element.get("HEIGHT")) or 0.0),
    )


def mets_articles(root: etree._Element, path: Path) -> list[list[LayoutBlock]]:
    """The articles of a METS issue as lists of ALTO blocks, in structMap order.

    Without article divisions in a logical structMap, every ALTO file's blocks are one
    list (the caller segments them like a page).

    Raises:
        BadInput: An ALTO file is missing, outside the METS folder, or an area names a
            block the ALTO file does not have.
    """
    location = str(path)
    files = alto_files(root, path)
    blocks: dict[str, dict[str, LayoutBlock]] = {}

    def block(file_id: str, block_id: str) -> LayoutBlock:
        if file_id not in files:
            raise BadInput(location, f"structMap area names file {file_id!r}, not in fileSec")
        if file_id not in blocks:
            alto_path = files[file_id]
            alto = read_xml(alto_path)
            if not is_alto(alto):
                raise BadInput(str(alto_path), "not an ALTO file (named in the METS fileSec)")
            blocks[file_id] = {b.ident: b for b in alto_blocks(alto, str(alto_path))}
        if block_id not in blocks[file_id]:
            raise BadInput(location, f"structMap area names block {block_id!r}, not in {file_id}")
        return blocks[file_id][block_id]

    articles: list[list[LayoutBlock]] = []
    for struct_map in root.iter():
        if local_name(struct_map) != "structMap" or struct_map.get("TYPE", "").upper() != "LOGICAL":
            continue
        for div in struct_map.iter():
            if local_name(div) != "div" or div.get("TYPE", "").lower() not in _ARTICLE_TYPES:
                continue
            article: list[LayoutBlock] = []
            for area in div.iter():
                if local_name(area) == "area" and area.get("BEGIN"):
                    found = block(area.get("FILEID", ""), area.get("BEGIN", ""))
                    if _in_heading(area, div):
                        found.heading = True
                    article.append(found)
            if article:
                articles.append(article)
    if articles:
        return articles
    whole: list[LayoutBlock] = []
    for file_id in files:
        alto = read_xml(files[file_id])
        if is_alto(alto):
            whole.extend(alto_blocks(alto, str(files[file_id])))
    if not whole:
        raise BadInput(location, "METS file names no ALTO text")
    return [whole]


def _in_heading(area: etree._Element, article: etree._Element) -> bool:
    parent = area.getparent()
    while parent is not None and parent is not article:
        if local_name(parent) == "div" and parent.get("TYPE", "").lower() in _HEADING_TYPES:
            return True
        parent = parent.getparent()
    return False


def alto_files(root: etree._Element, path: Path) -> dict[str, Path]:
    """The ALTO files a METS file's fileSec names, by file id (resolved paths).

    Raises:
        BadInput: A remote or missing file, one outside the METS folder, or none at all.
    """
    folder = path.resolve().parent
    files: dict[str, Path] = {}
    for element in root.iter():
        if local_name(element) != "file":
            continue
        for locator in element:
            if local_name(locator) != "FLocat":
                continue
            href = locator.get(_XLINK_HREF, "")
            parsed = urlparse(href)
            if parsed.scheme not in ("", "file"):
                raise BadInput(str(path), f"fileSec names {href!r}; only local files are read")
            target = (folder / unquote(parsed.path)).resolve()
            if not target.is_relative_to(folder):
                raise BadInput(str(path), f"fileSec names {href!r}, outside the METS folder")
            if target.suffix.lower() not in (".xml", ".alto"):
                continue  # images and PDFs of the issue
            if not target.is_file():
                raise BadInput(str(path), f"ALTO file {href!r} named in the METS is missing")
            files[element.get("ID", "")] = target
    if not files:
        raise BadInput(str(path), "METS fileSec names no ALTO (.xml) files")
    return files
