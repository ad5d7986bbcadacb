"""PDFs with a text layer, written with PDFium itself (no Chromium): a headline and body lines.

Standard PDF fonts hold Latin letters only, so these pages are in English; they give the
layout readers a page with real glyph boxes, enough for tests of what is done with a page.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

# A headline this size over body lines of BODY_SIZE reads as a heading (embedder.layout).
HEADLINE_SIZE = 24.0
BODY_SIZE = 10.0


def text_pdf(
    out: Path, headline: str, body: list[str], *, width: float = 595.0, height: float = 842.0
) -> Path:
    """Write a one-page PDF: ``headline`` at the top, then one body line per item.

    Args:
        out: Where to write it.
        headline: The large first line.
        body: Lines of body text, top to bottom.
        width: Page width in points.
        height: Page height in points.

    Returns:
        ``out``.
    """
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    document = pdfium.PdfDocument.new()
    try:
        page = document.new_page(width, height)
        font = raw.FPDFText_LoadStandardFont(document.raw, b"Helvetica")
        top = 60.0
        lines = [(headline, HEADLINE_SIZE), *((line, BODY_SIZE) for line in body)]
        for text, size in lines:
            obj = raw.FPDFPageObj_CreateTextObj(document.raw, font, size)
            encoded = (text + "\0").encode("utf-16-le")
            buffer = ctypes.create_string_buffer(encoded)
            raw.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(raw.FPDF_WCHAR)))
            top += size * 1.4
            raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 50, height - top)
            raw.FPDFPage_InsertObject(page.raw, obj)
        page.gen_content()
        document.save(str(out))
    finally:
        document.close()
    return out
