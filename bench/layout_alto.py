"""ALTO pages and METS issues (British Library and Europeana Newspapers profiles) for a
generated issue, made from its printed PDF and its truth.

The lines and boxes are the PDF's (PDFium characters gathered into lines, as an OCR engine
would give them, nothing segmented); which text item each line belongs to comes from the
truth, walking both in document order. Each item's lines make one ALTO ``TextBlock`` per
column it runs through, as OCR engines write them. The METS files say which blocks make each
article, in the two ways the libraries do: ``structLink`` arcs from empty article divisions
to page areas naming word ranges (British Library), or areas inside the article divisions
under heading and paragraph divisions (Europeana Newspapers, BnF).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

from semsearch.embedder.layout import LayoutLine, lines_from_glyphs

from .layout_pages import Issue, Item, Kind

# ALTO pixels per PDF point: the page as scanned at 300 dpi.
PIXELS_PER_POINT = 300 / 72
_STYLES = {
    Kind.TITLE: "HEAD",
    Kind.AD: "HEAD",
    Kind.BANNER: "SUB",
    Kind.KICKER: "SUB",
    Kind.SUBTITLE: "SUB",
    Kind.CAPTION: "SMALL",
}


@dataclass
class Block:
    """An ALTO TextBlock: one item's lines in one column."""

    ident: str
    item: Item
    lines: list[LayoutLine] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # String IDs, one per line


@dataclass
class Page:
    """A page's blocks, in document order."""

    number: int
    width: float
    height: float
    blocks: list[Block] = field(default_factory=list)


def squeeze(text: str) -> str:
    """Text compared without spacing and with one width of letters and punctuation."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def pdf_lines(pdf: Path) -> list[tuple[float, float, list[LayoutLine]]]:
    """Each page's size (points) and its lines in the order the PDF draws them."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    found = []
    try:
        for number in range(1, len(document) + 1):
            page = document[number - 1]
            width, height = page.get_size()
            text = page.get_textpage()
            glyphs = []
            for index in range(text.count_chars()):
                char = text.get_text_range(index, 1)
                if char in ("\r", "\n", "\x02", ""):
                    glyphs.append((" ", (0.0, 0.0, 0.0, 0.0)))
                    continue
                left, bottom, right, top = text.get_charbox(index, loose=True)
                glyphs.append((char, (left, height - top, right, height - bottom)))
            found.append((width, height, lines_from_glyphs(glyphs, number, max_gap=1.0)))
    finally:
        document.close()
    return found


def assign_blocks(issue: Issue, pdf: Path) -> list[Page]:
    """The PDF's lines given to the issue's items, as ALTO blocks.

    Raises:
        RuntimeError: A line matches no item, or an item's text was not all printed.
    """
    result: list[Page] = []
    word = 0
    for (width, height, lines), items in zip(pdf_lines(pdf), issue.pages, strict=True):
        page = Page(len(result) + 1, width, height)
        cursor, consumed = 0, 0
        for line in lines:
            text = squeeze(line.text)
            while cursor < len(items) and not squeeze(items[cursor].text)[consumed:].startswith(
                text
            ):
                if squeeze(items[cursor].text)[consumed:]:
                    raise RuntimeError(
                        f"{issue.name} p{page.number}: line {line.text!r} is not the next of "
                        f"item {items[cursor].text[:30]!r} (at {consumed})"
                    )
                cursor, consumed = cursor + 1, 0
            if cursor == len(items):
                raise RuntimeError(f"{issue.name}: printed line {line.text!r} matches no item")
            item = items[cursor]
            previous = page.blocks[-1] if page.blocks else None
            new_column = (
                previous is not None
                and previous.item is item
                and consumed
                and line.box[1] < previous.lines[-1].box[1]
            )
            if previous is None or previous.item is not item or new_column:
                page.blocks.append(Block(f"P{page.number}_TB{len(page.blocks) + 1:05d}", item))
            word += 1
            page.blocks[-1].lines.append(line)
            page.blocks[-1].words.append(f"P{page.number}_W{word:06d}")
            consumed += len(text)
            if consumed >= len(squeeze(item.text)):
                cursor, consumed = cursor + 1, 0
        if cursor < len(items) and squeeze(items[cursor].text)[consumed:]:
            raise RuntimeError(
                f"{issue.name} p{page.number}: {items[cursor].text[:30]!r} unprinted"
            )
        result.append(page)
    return result


def _box(box: tuple[float, float, float, float]) -> str:
    x0, y0, x1, y1 = (value * PIXELS_PER_POINT for value in box)
    return f'HPOS="{x0:.0f}" VPOS="{y0:.0f}" WIDTH="{x1 - x0:.0f}" HEIGHT="{y1 - y0:.0f}"'


def _outer(lines: list[LayoutLine]) -> tuple[float, float, float, float]:
    return (
        min(line.box[0] for line in lines),
        min(line.box[1] for line in lines),
        max(line.box[2] for line in lines),
        max(line.box[3] for line in lines),
    )


def write_alto(page: Page, out: Path, *, sizes: bool, namespace: str) -> Path:
    """One page as ALTO: a String per line; ``sizes`` declares the font sizes of styles.

    The British Library's docWorks ALTO 1.4 has no namespace and declares no sizes
    (``FONTSIZE="0"``); the Europeana Newspapers' ALTO v2 declares them.
    """
    fonts = {"BODY": 9, "HEAD": 22, "SUB": 13, "SMALL": 7.5} if sizes else {}
    styles = "".join(
        f'<TextStyle ID="{name}" FONTSIZE="{fonts.get(name, 0)}"/>'
        for name in ("BODY", "HEAD", "SUB", "SMALL")
    )
    body = []
    for block in page.blocks:
        style = _STYLES.get(block.item.kind, "BODY")
        body.append(
            f'<TextBlock ID="{block.ident}" {_box(_outer(block.lines))} STYLEREFS="{style}">'
        )
        for number, (line, word) in enumerate(zip(block.lines, block.words, strict=True)):
            box = _box(line.box)
            body.append(
                f'<TextLine ID="{block.ident}_L{number + 1}" {box}>'
                f"<String ID={quoteattr(word)} {box} CONTENT={quoteattr(line.text)}/></TextLine>"
            )
        body.append("</TextBlock>")
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    width, height = page.width * PIXELS_PER_POINT, page.height * PIXELS_PER_POINT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<alto{xmlns}>'
        "<Description><MeasurementUnit>pixel</MeasurementUnit></Description>"
        f"<Styles>{styles}</Styles><Layout>"
        f'<Page ID="P{page.number}" PHYSICAL_IMG_NR="{page.number}" WIDTH="{width:.0f}" '
        f'HEIGHT="{height:.0f}"><PrintSpace>{"".join(body)}</PrintSpace></Page>'
        "</Layout></alto>\n",
        encoding="utf-8",
    )
    return out


_METS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<mets:mets xmlns:mets="http://www.loc.gov/METS/" '
    'xmlns:mods="http://www.loc.gov/mods/v3" xmlns:xlink="http://www.w3.org/1999/xlink">'
)


def _issue_mods(ident: str) -> str:
    return (
        f'<mets:dmdSec ID="{ident}"><mets:mdWrap MDTYPE="MODS"><mets:xmlData><mods:mods>'
        "<mods:titleInfo><mods:title>人民日报</mods:title></mods:titleInfo>"
        "<mods:originInfo><mods:dateIssued>1998-01-05</mods:dateIssued></mods:originInfo>"
        "</mods:mods></mets:xmlData></mets:mdWrap></mets:dmdSec>"
    )


def _units(issue: Issue, pages: list[Page]) -> dict[str, list[tuple[Page, Block]]]:
    """The blocks of each article and advertisement, in document order across pages."""
    units: dict[str, list[tuple[Page, Block]]] = {}
    for page in pages:
        for block in page.blocks:
            key = block.item.article or block.item.unit
            if key:
                units.setdefault(key, []).append((page, block))
    return units


def write_mets_bl(issue: Issue, pages: list[Page], folder: Path) -> Path:
    """British Library profile: ALTO 1.4 files beside the METS, article divisions linked by
    ``structLink`` arcs to physical page areas naming word ranges; no MODS titles."""
    folder.mkdir(parents=True, exist_ok=True)
    files, physical = [], []
    for page in pages:
        alto = write_alto(
            page, folder / f"{issue.name}_{page.number:04d}.xml", sizes=False, namespace=""
        )
        files.append(
            f'<mets:file ID="alto{page.number}" MIMETYPE="text/xml"><mets:FLocat LOCTYPE="URL" '
            f'xlink:href="{alto.name}"/></mets:file>'
        )
        areas = "".join(
            f'<mets:div ID="pa{page.number}_{index}" TYPE="pagearea"><mets:fptr>'
            f'<mets:area FILEID="alto{page.number}" BETYPE="IDREF" BEGIN="{block.words[0]}" '
            f'END="{block.words[-1]}"/></mets:fptr></mets:div>'
            for index, block in enumerate(page.blocks)
        )
        physical.append(f'<mets:div TYPE="page" ORDER="{page.number}">{areas}</mets:div>')
    logical, links = [], []
    for number, (key, parts) in enumerate(_units(issue, pages).items(), start=1):
        kind = "ARTICLE" if key in issue.articles else "ADVERTISEMENT"
        logical.append(f'<mets:div ID="art{number}" TYPE="{kind}" DMDID="modsart{number}"/>')
        locators = "".join(
            f'<mets:smLocatorLink xlink:href="#pa{page.number}_{page.blocks.index(block)}" '
            f'xlink:label="area{number}"/>'
            for page, block in parts
        )
        links.append(
            f'<mets:smLinkGrp><mets:smLocatorLink xlink:href="#art{number}" '
            f'xlink:label="art{number}"/>{locators}<mets:smArcLink xlink:from="art{number}" '
            f'xlink:to="area{number}"/></mets:smLinkGrp>'
        )
    mods = "".join(
        f'<mets:dmdSec ID="modsart{n}"><mets:mdWrap MDTYPE="MODS"><mets:xmlData><mods:mods>'
        "<mods:language><mods:languageTerm>zh</mods:languageTerm></mods:language>"
        "</mods:mods></mets:xmlData></mets:mdWrap></mets:dmdSec>"
        for n in range(1, len(logical) + 1)
    )
    out = folder / f"{issue.name}_mets.xml"
    out.write_text(
        _METS_HEAD
        + _issue_mods("modsissue")
        + mods
        + f'<mets:fileSec><mets:fileGrp USE="TEXT">{"".join(files)}</mets:fileGrp></mets:fileSec>'
        + f'<mets:structMap TYPE="PHYSICAL"><mets:div TYPE="issue">{"".join(physical)}'
        + "</mets:div></mets:structMap>"
        + '<mets:structMap TYPE="LOGICAL"><mets:div TYPE="issue" DMDID="modsissue">'
        + f"{''.join(logical)}</mets:div></mets:structMap>"
        + f"<mets:structLink>{''.join(links)}</mets:structLink></mets:mets>\n",
        encoding="utf-8",
    )
    return out


_EUROPEANA_ROLES = {Kind.KICKER: "OVERLINE", Kind.TITLE: "TITLE", Kind.SUBTITLE: "SUBHEADLINE"}


def write_mets_europeana(issue: Issue, pages: list[Page], folder: Path) -> Path:
    """Europeana Newspapers profile: ALTO v2 under ``ALTO/`` named by ``file://./`` URLs,
    article divisions holding HEADING (OVERLINE/TITLE/SUBHEADLINE) and BODY/PARAGRAPH areas
    naming TextBlocks; the banner in a TITLE_SECTION; no MODS titles."""
    files = []
    for page in pages:
        name = f"ALTO/{issue.name}-{page.number:04d}.xml"
        write_alto(
            page, folder / name, sizes=True, namespace="http://www.loc.gov/standards/alto/ns-v2#"
        )
        files.append(
            f'<mets:file ID="ALTO{page.number:05d}" MIMETYPE="text/xml"><mets:FLocat '
            f'LOCTYPE="URL" xlink:href="file://./{name}"/></mets:file>'
        )

    def area(page: Page, block: Block) -> str:
        return f'<mets:area BETYPE="IDREF" FILEID="ALTO{page.number:05d}" BEGIN="{block.ident}"/>'

    logical = []
    banners = [(p, b) for p in pages for b in p.blocks if b.item.kind == Kind.BANNER]
    if banners:
        inner = "".join(area(p, b) for p, b in banners)
        logical.append(
            f'<mets:div TYPE="TITLE_SECTION"><mets:div TYPE="HEADLINE"><mets:fptr><mets:seq>'
            f"{inner}</mets:seq></mets:fptr></mets:div></mets:div>"
        )
    for number, (key, parts) in enumerate(_units(issue, pages).items(), start=1):
        if key not in issue.articles:
            inner = "".join(area(p, b) for p, b in parts)
            logical.append(
                f'<mets:div ID="DIVL{number}" TYPE="ADVERTISEMENT"><mets:fptr><mets:seq>{inner}</mets:seq>'
                "</mets:fptr></mets:div>"
            )
            continue
        heading, paragraphs = [], []
        for page, block in parts:
            role = _EUROPEANA_ROLES.get(block.item.kind)
            if role:
                heading.append(
                    f'<mets:div TYPE="{role}"><mets:fptr>{area(page, block)}</mets:fptr></mets:div>'
                )
            elif paragraphs and paragraphs[-1][0] is block.item:
                paragraphs[-1][1].append(area(page, block))  # the paragraph's next column
            else:
                paragraphs.append((block.item, [area(page, block)]))
        body = "".join(
            f'<mets:div TYPE="PARAGRAPH" ORDER="{n}"><mets:div TYPE="TEXT"><mets:fptr>'
            f"<mets:seq>{''.join(areas)}</mets:seq></mets:fptr></mets:div></mets:div>"
            for n, (_, areas) in enumerate(paragraphs, start=1)
        )
        logical.append(
            f'<mets:div ID="DIVL{number}" TYPE="ARTICLE"><mets:div TYPE="HEADING">{"".join(heading)}</mets:div>'
            f'<mets:div TYPE="BODY"><mets:div TYPE="BODY_CONTENT">{body}</mets:div></mets:div>'
            "</mets:div>"
        )
    out = folder / f"{issue.name}-METS.xml"
    out.write_text(
        _METS_HEAD
        + _issue_mods("MODSMD_ISSUE1")
        + f'<mets:fileSec><mets:fileGrp ID="ALTOGRP">{"".join(files)}</mets:fileGrp>'
        + "</mets:fileSec>"
        + '<mets:structMap TYPE="LOGICAL"><mets:div TYPE="Newspaper"><mets:div TYPE="ISSUE" '
        + f'DMDID="MODSMD_ISSUE1"><mets:div TYPE="CONTENT">{"".join(logical)}</mets:div>'
        + "</mets:div></mets:div></mets:structMap></mets:mets>\n",
        encoding="utf-8",
    )
    return out
