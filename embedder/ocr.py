"""OCR of page images with Debian's Tesseract, read back through its hOCR output."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree
from PIL import Image, UnidentifiedImageError

from semsearch.embedder.errors import InputError
from semsearch.embedder.hocr import hocr_lines
from semsearch.embedder.layout import LayoutBlock, LayoutLine, layout_blocks
from semsearch.embedder.page_bounds import DEFAULT_MAX_PIXELS, pixel_excess
from semsearch.embedder.reading import BadInput

TESSERACT_INSTALL = "apt-get install tesseract-ocr tesseract-ocr-chi-sim"
# Simplified Chinese first: the archive's language; English for Latin words and numbers.
OCR_LANGUAGES = "chi_sim+eng"
# A broadsheet page at 200 dpi takes about a minute; a hung engine must not hang the run.
OCR_TIMEOUT_SECONDS = 600
# Smaller images are icons or photos, not pages.
MIN_PAGE_PIXELS = 300
# Gray levels below this are ink.
INK_LEVEL = 128


@cache
def tesseract(languages: str = OCR_LANGUAGES) -> str:
    """Path of the Tesseract binary, checked to have the language data.

    Raises:
        InputError: Tesseract or a language's data is not installed (names the package).
    """
    binary = shutil.which("tesseract")
    if binary is None:
        raise InputError(f"OCR needs Tesseract, which is not installed ({TESSERACT_INSTALL})")
    listed = subprocess.run(
        [binary, "--list-langs"], capture_output=True, text=True, timeout=60, check=False
    )
    have = set(listed.stdout.split())
    for language in languages.split("+"):
        if language not in have:
            package = "tesseract-ocr-" + language.replace("_", "-")
            raise InputError(f"OCR needs Tesseract's {language} data (apt-get install {package})")
    return binary


def ocr_image(
    image: bytes, page: int, location: str, languages: str = OCR_LANGUAGES
) -> list[LayoutBlock]:
    """Recognise one page image and return its blocks (boxes in pixels).

    The page is first cut into text regions (columns, headline rows) by its blank bands
    (:func:`page_regions`), and each region is recognised as one block of text: Tesseract's
    own page analysis runs lines across the narrow column gaps of a newspaper page.

    Args:
        image: PNG, JPEG or TIFF bytes.
        page: Page number given to the lines.
        location: For messages.
        languages: Tesseract language data, ``+``-joined.

    Raises:
        InputError: Tesseract missing (see :func:`tesseract`).
        BadInput: Not an image, too small to be a page, no text found, or OCR failed.
    """
    gray = _open_page(image, location)
    binary = tesseract(languages)
    lines: list[LayoutLine] = []
    for x0, y0, x1, y1 in page_regions(gray):
        buffer = io.BytesIO()
        gray.crop((x0, y0, x1, y1)).save(buffer, format="PNG")
        root = _run(binary, buffer.getvalue(), languages, location)
        for line in hocr_lines(root):
            bx0, by0, bx1, by1 = line.box
            lines.append(LayoutLine(line.text, page, (bx0 + x0, by0 + y0, bx1 + x0, by1 + y0)))
    if not lines:
        raise BadInput(location, "no text recognised on the image")
    return layout_blocks(lines)


def page_regions(gray: Image.Image) -> list[tuple[int, int, int, int]]:
    """Cut a page image into text regions by recursive XY-cut on its ink.

    Rows are cut at blank bands at least one text-line high, columns at blank bands at
    least one line high too (wider than a space, narrower than a column gap); the line
    height is the median height of the page's ink rows.

    Returns:
        Region boxes ``(x0, y0, x1, y1)`` in reading order.
    """
    ink = np.asarray(gray) < INK_LEVEL
    runs = _runs(ink.any(axis=1))
    line_height = int(np.median([end - start for start, end in runs])) if runs else 0
    if line_height == 0:
        return []
    gap = max(2, line_height)
    regions: list[tuple[int, int, int, int]] = []

    def cut(x0: int, y0: int, x1: int, y1: int) -> None:
        rows = _runs(ink[y0:y1, x0:x1].any(axis=1))
        if not rows:
            return
        pieces = _split(rows, gap)
        if len(pieces) > 1:
            for start, end in pieces:
                cut(x0, y0 + start, x1, y0 + end)
            return
        top, bottom = y0 + rows[0][0], y0 + rows[-1][1]
        columns = _runs(ink[top:bottom, x0:x1].any(axis=0))
        pieces = _split(columns, gap)
        if len(pieces) > 1:
            for start, end in pieces:
                cut(x0 + start, top, x0 + end, bottom)
            return
        pad = line_height // 2
        left, right = x0 + columns[0][0], x0 + columns[-1][1]
        regions.append(
            (
                max(0, left - pad),
                max(0, top - pad),
                min(ink.shape[1], right + pad),
                min(ink.shape[0], bottom + pad),
            )
        )

    cut(0, 0, ink.shape[1], ink.shape[0])
    return regions


def _runs(mask: Any) -> list[tuple[int, int]]:
    """``(start, end)`` of each run of True values in a 1-D boolean array."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _split(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Merge ink runs separated by less than ``gap`` into pieces."""
    pieces = [runs[0]]
    for start, end in runs[1:]:
        if start - pieces[-1][1] >= gap:
            pieces.append((start, end))
        else:
            pieces[-1] = (pieces[-1][0], end)
    return pieces


def _run(binary: str, image: bytes, languages: str, location: str) -> etree._Element:
    # One thread: the machine's other work (and other pages) share the cores. psm 6: the
    # region is one uniform block of text.
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    command = [binary, "stdin", "stdout", "-l", languages, "--psm", "6", "hocr"]
    try:
        done = subprocess.run(
            command,
            input=image,
            capture_output=True,
            timeout=OCR_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BadInput(location, f"OCR took longer than {OCR_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0 or not done.stdout.strip():
        reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise BadInput(location, f"OCR failed ({reason[0]})")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(done.stdout, parser)


def ocr_file(path: Path, languages: str = OCR_LANGUAGES) -> list[LayoutBlock]:
    """Recognise a page image file (PNG, JPEG, TIFF; the first frame of a TIFF)."""
    return ocr_image(path.read_bytes(), 1, str(path), languages)


def _open_page(image: bytes, location: str) -> Image.Image:
    try:
        with Image.open(io.BytesIO(image)) as opened:
            # The header states the size: refuse before decoding, not after.
            excess = pixel_excess(opened.size, DEFAULT_MAX_PIXELS)
            if excess:
                raise BadInput(location, excess)
            gray = opened.convert("L")
    except UnidentifiedImageError as exc:
        # Its message names an in-memory buffer, which tells the reader nothing.
        reason = "not a readable image (its contents are not a known image format)"
        raise BadInput(location, reason) from exc
    except (Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise BadInput(location, f"not a readable image ({exc})") from exc
    width, height = gray.size
    if min(width, height) < MIN_PAGE_PIXELS:
        raise BadInput(location, f"image of {width}x{height} pixels is too small to be a page")
    return gray
