"""A source page as a PNG picture, with a passage's line boxes marked.

Pages come from the files the layout readers took them from: a PDF page rendered with PDFium
(its boxes are in PDF points), a page image (boxes in pixels), or the page image a METS
issue or KB edition names (boxes in ALTO units, scaled onto it). The picture is what a
reader checks a hit against, so it is drawn from the file itself, not from stored text.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageDraw

from semsearch.embedder.errors import InputError
from semsearch.embedder.issue_pages import issue_page
from semsearch.embedder.page_bounds import PageBounds, fit_scale, pixel_excess
from semsearch.embedder.reading import BadInput, Format, detect_format, read_sample

# PDF pages are drawn at 2 pixels per point (144 dpi): type stays legible on a screen.
PDF_SCALE = 2.0
# Boxes are drawn this many pixels wide, in a colour that is not newsprint.
BOX_WIDTH = 3
BOX_COLOUR = (220, 40, 40)
DEFAULT_BOUNDS = PageBounds()

Box = tuple[float, float, float, float]


def page_png(
    path: Path, page: int, boxes: Sequence[Box] = (), bounds: PageBounds = DEFAULT_BOUNDS
) -> bytes:
    """Draw page ``page`` (1-based) of a PDF or page image, marking ``boxes``.

    Args:
        path: The PDF, image, METS or DIDL file an article was read from.
        page: Page number, from 1.
        boxes: ``(x0, y0, x1, y1)`` in the source's units (PDF points, image pixels).
        bounds: The largest drawing and source image.

    Returns:
        The PNG bytes; no side longer than ``bounds.max_side``.

    Raises:
        InputError: The file is missing, not a PDF or page image, has no such page, or is
            an image of more than ``bounds.max_pixels`` pixels.
    """
    if not path.is_file():
        raise InputError(f"{path}: the source file is not available")
    file_format = detect_format(path, read_sample(path))
    if file_format is Format.PDF:
        image, scale = _pdf_page(path, page, bounds.max_side)
    elif file_format is Format.IMAGE:
        image, scale = _image_page(path, page, bounds)
    elif file_format is Format.METS:
        image, scale = _issue_page(path, page, bounds)
    else:
        raise InputError(f"{path}: not a PDF, a page image or a METS issue")
    draw = ImageDraw.Draw(image)
    for x0, y0, x1, y1 in boxes:
        draw.rectangle(
            (x0 * scale, y0 * scale, x1 * scale, y1 * scale), outline=BOX_COLOUR, width=BOX_WIDTH
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _pdf_page(path: Path, page: int, max_side: int) -> tuple[Image.Image, float]:
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise InputError(f"{path}: not a readable PDF ({exc})") from None
    try:
        if not 1 <= page <= len(document):
            raise InputError(f"{path}: no page {page} (it has {len(document)})")
        source = document[page - 1]
        width, height = source.get_size()
        scale = fit_scale(width, height, PDF_SCALE, max_side)
        return source.render(scale=scale).to_pil().convert("RGB"), scale
    except pdfium.PdfiumError as exc:
        raise InputError(f"{path}: page {page} cannot be drawn ({exc})") from None
    finally:
        document.close()


def _issue_page(path: Path, page: int, bounds: PageBounds) -> tuple[Image.Image, float]:
    # The page's image from the issue; boxes are in its ALTO units, scaled to the image.
    try:
        found = issue_page(path, page)
    except BadInput as exc:
        raise InputError(f"{exc.location}: {exc.reason}") from None
    image, scale = _image_page(found.image, 1, bounds)
    source_width = image.width / scale  # the image's own width, before fitting
    return image, scale * source_width / found.size[0]


def _image_page(path: Path, page: int, bounds: PageBounds) -> tuple[Image.Image, float]:
    try:
        with Image.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            if not 1 <= page <= frames:
                raise InputError(f"{path}: no page {page} (it has {frames})")
            image.seek(page - 1)
            excess = pixel_excess(image.size, bounds.max_pixels)
            if excess:
                raise InputError(f"{path}: {excess}")
            scale = fit_scale(image.width, image.height, 1.0, bounds.max_side)
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image.draft("RGB", size)  # JPEG decodes straight at a fraction of its size
            drawn = image.convert("RGB")
    except (OSError, Image.DecompressionBombError) as exc:
        raise InputError(f"{path}: not a readable image ({exc})") from None
    if drawn.size != size:
        drawn = drawn.resize(size)
    return drawn, scale
