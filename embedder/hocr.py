"""hOCR (Tesseract's and other engines' HTML output): paragraphs and lines with boxes.

Structure is read from the ``class`` of elements: ``ocr_page`` (page number ``ppageno``),
``ocr_par`` (a paragraph; ``ocr_carea`` where an engine writes no paragraphs), the line
classes and ``ocrx_word``; boxes from ``title="bbox x0 y0 x1 y1"``.
"""

from __future__ import annotations

import re

from lxml import etree

from semsearch.embedder.layout import LayoutBlock, LayoutLine, join_lines, layout_blocks
from semsearch.embedder.reading import BadInput

_LINE_CLASSES = frozenset({"ocr_line", "ocrx_line", "ocr_header", "ocr_textfloat", "ocr_caption"})
_BBOX_RE = re.compile(
    r"bbox\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)"
)
_PAGENO_RE = re.compile(r"ppageno\s+(\d+)")


def hocr_blocks(
    root: etree._Element, location: str, *, page: int | None = None
) -> list[LayoutBlock]:
    """The paragraphs and headings of an hOCR document in reading order.

    The engine's lines are put in reading order and grouped into paragraphs by the page's
    geometry, as for PDF (engines' block order differs; CJK word boxes are unreliable, so
    lines are the unit).

    Args:
        root: The parsed document.
        location: For messages.
        page: Page number to give every line (an image OCR'd on its own); default the
            ``ppageno`` of each page plus one.

    Raises:
        BadInput: No ``ocr_page`` or no text.
    """
    pages = [element for element in root.iter() if _has_class(element, {"ocr_page"})]
    if not pages:
        raise BadInput(location, "not hOCR (no ocr_page element)")
    blocks: list[LayoutBlock] = []
    for index, element in enumerate(pages):
        match = _PAGENO_RE.search(element.get("title", ""))
        number = page or (int(match.group(1)) + 1 if match else index + 1)
        blocks.extend(layout_blocks(hocr_lines(element, number)))
    if not any(block.lines for block in blocks):
        raise BadInput(location, "no text recognised on the page")
    return blocks


def hocr_lines(root: etree._Element, page: int = 1) -> list[LayoutLine]:
    """Every line of an hOCR document (or page element) with its text and box."""
    return [
        LayoutLine(text, page, box)
        for line in root.iter()
        if _has_class(line, _LINE_CLASSES)
        and (box := _bbox(line)) is not None
        and (text := _line_text(line))
    ]


def _has_class(element: etree._Element, names: set[str] | frozenset[str]) -> bool:
    classes = element.get("class")
    return bool(classes) and not names.isdisjoint(classes.split())


def _line_text(line: etree._Element) -> str:
    words = [e for e in line.iter() if _has_class(e, {"ocrx_word"})]
    if not words:
        return " ".join("".join(line.itertext()).split())
    return join_lines("".join(word.itertext()) for word in words)


def _bbox(element: etree._Element) -> tuple[float, float, float, float] | None:
    match = _BBOX_RE.search(element.get("title", ""))
    if match is None:
        return None
    x0, y0, x1, y1 = (float(value) for value in match.groups())
    return (x0, y0, x1, y1)
