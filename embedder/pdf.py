"""PDF pages: the text layer read with PDFium (pypdfium2), or the rendered page through OCR.

PDFium gives each character with its box; characters are gathered into lines, lines put in
reading order by XY-cut (:func:`~embedder.layout.order_lines`) and grouped into paragraphs
and headings by :mod:`embedder.layout`. A page without a text layer (a scan saved as PDF) is
rendered and read by Tesseract when OCR is on.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

from semsearch.embedder.layout import (
    Box,
    LayoutBlock,
    LayoutLine,
    layout_blocks,
    lines_from_glyphs,
)
from semsearch.embedder.page_bounds import DEFAULT_MAX_PIXELS, pixel_excess
from semsearch.embedder.reading import BadInput

# Fewer characters than this on a page means it has no text layer worth reading.
MIN_TEXT_CHARS = 20
# Resolution pages are rendered at for OCR: 9-point Chinese type is ~25 pixels high.
OCR_DPI = 200
# A gap between two characters wider than this many line heights ends the line (a column gap).
MAX_CHAR_GAP_LINES = 1.0

# Image bytes (PNG) and the 1-based page number → the page's blocks, boxes in image pixels.
OcrPage = Callable[[bytes, int], list[LayoutBlock]]


def read_pdf(path: Path, *, max_pages: int, ocr: OcrPage | None) -> list[LayoutBlock]:
    """Read every page of a PDF into blocks in reading order.

    Args:
        path: The PDF.
        max_pages: A file with more pages is refused (not a newspaper page or edition).
        ocr: Reads a rendered page without a text layer; ``None`` refuses such pages.

    Returns:
        The blocks of all pages, page by page; boxes in PDF points from the top left.

    Raises:
        BadInput: Not a PDF, damaged, encrypted, too many pages, or a page without text
            while OCR is off.
    """
    import pypdfium2 as pdfium  # imported here: only PDF input needs it

    location = str(path)
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise BadInput(location, f"not a readable PDF ({exc})") from exc
    try:
        pages = len(document)
        if pages > max_pages:
            raise BadInput(
                location,
                f"PDF has {pages} pages, more than the limit of {max_pages}",
                options=("max_pages",),
            )
        blocks: list[LayoutBlock] = []
        for number in range(1, pages + 1):
            blocks.extend(_read_page(document[number - 1], number, location, ocr))
        return blocks
    finally:
        document.close()


def _read_page(page: object, number: int, location: str, ocr: OcrPage | None) -> list[LayoutBlock]:
    import pypdfium2 as pdfium

    assert isinstance(page, pdfium.PdfPage)
    height = page.get_height()
    text_page = page.get_textpage()
    lines = _text_lines(text_page, number, height)
    if sum(len(line.text) for line in lines) >= MIN_TEXT_CHARS:
        return layout_blocks(lines)
    if ocr is None:
        raise BadInput(
            f"{location}: page {number}",
            "no text layer (a scanned page); read it with OCR",
            options=("ocr",),
        )
    width, height = page.get_size()
    # Checked before rendering: a page claiming 14,400 points would take gigabytes.
    excess = pixel_excess((width * OCR_DPI / 72, height * OCR_DPI / 72), DEFAULT_MAX_PIXELS)
    if excess:
        raise BadInput(f"{location}: page {number}", f"{excess} at {OCR_DPI} dpi for OCR")
    image = page.render(scale=OCR_DPI / 72).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    scale = 72 / OCR_DPI
    blocks = ocr(buffer.getvalue(), number)
    for block in blocks:  # pixels of the rendering → PDF points, as for text-layer pages
        block.lines = [
            LayoutLine(line.text, number, (x0 * scale, y0 * scale, x1 * scale, y1 * scale))
            for line in block.lines
            for x0, y0, x1, y1 in [line.box]
        ]
    return blocks


def _text_lines(text_page: object, number: int, page_height: float) -> list[LayoutLine]:
    """The page's characters with their boxes (top-left origin), gathered into lines."""
    import pypdfium2 as pdfium

    assert isinstance(text_page, pdfium.PdfTextPage)

    def glyphs() -> Iterator[tuple[str, Box]]:
        for index in range(text_page.count_chars()):
            char = text_page.get_text_range(index, 1)
            if char in ("\r", "\n", "\x02", ""):
                yield " ", (0.0, 0.0, 0.0, 0.0)
                continue
            left, bottom, right, top = text_page.get_charbox(index, loose=True)
            yield char, (left, page_height - top, right, page_height - bottom)  # y grows up

    return lines_from_glyphs(glyphs(), number, max_gap=MAX_CHAR_GAP_LINES)
