"""Layout files (PDF, ALTO, METS, hOCR, page images) → groups of blocks for segmentation.

A group is either a whole page (or document) to segment into articles, or, for METS with a
logical structMap, one article as the METS defines it. Results are kept for the last few
files, so the validating first pass of an ingest and the real pass OCR a page only once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from semsearch.embedder.alto import alto_blocks, is_alto, is_mets
from semsearch.embedder.didl import didl_files, is_didl, read_didl
from semsearch.embedder.hocr import hocr_blocks
from semsearch.embedder.issue_pages import pages_with_images
from semsearch.embedder.layout import LayoutBlock
from semsearch.embedder.mets import MetsIssue, alto_files, read_mets
from semsearch.embedder.reading import BadInput, Format, detect_format, read_sample
from semsearch.embedder.xmlsafe import read_xml

# Files whose layout is remembered between the scan and the ingest pass.
LAYOUT_CACHE_FILES = 8


@dataclass(frozen=True)
class LayoutGroups:
    """Blocks of a file, each group a page (or document) to segment into articles.

    ``issue`` is set for METS: its articles as the METS defines them (then ``groups``
    is empty) or its pages, and the issue's metadata.
    """

    groups: tuple[tuple[LayoutBlock, ...], ...]
    issue: MetsIssue | None = None
    # Pages of a METS issue or KB edition whose image is there (the page view draws them).
    drawable_pages: frozenset[int] = frozenset()


def read_layout(path: Path, file_format: Format, *, ocr: bool, max_pages: int) -> LayoutGroups:
    """Read a layout file into groups of blocks.

    Args:
        path: The file.
        file_format: One of the layout formats.
        ocr: Recognise page images and PDF pages without a text layer with Tesseract.
        max_pages: Refuse PDFs with more pages.

    Raises:
        BadInput: The file is unreadable, hostile, or needs OCR while ``ocr`` is off.
        InputError: OCR is on but Tesseract is not installed.
    """
    stat = path.stat()
    if file_format is Format.METS:
        # An issue's text is in the ALTO files it names, which the key below cannot see;
        # reading METS/ALTO again is cheap next to the OCR the cache is there to save.
        return _read_cached.__wrapped__(path.resolve(), 0, 0, file_format, ocr, max_pages)
    return _read_cached(path.resolve(), stat.st_mtime_ns, stat.st_size, file_format, ocr, max_pages)


def forget_read_layouts() -> None:
    """Drop the cached readings (a benchmark times the reading itself)."""
    _read_cached.cache_clear()


@lru_cache(maxsize=LAYOUT_CACHE_FILES)
def _read_cached(
    path: Path, _mtime: int, _size: int, file_format: Format, ocr: bool, max_pages: int
) -> LayoutGroups:
    location = str(path)
    if file_format is Format.PDF:
        from semsearch.embedder.ocr import ocr_image
        from semsearch.embedder.pdf import read_pdf

        def ocr_page(image: bytes, page: int) -> list[LayoutBlock]:
            return ocr_image(image, page, f"{location}: page {page}")

        return LayoutGroups(
            (tuple(read_pdf(path, max_pages=max_pages, ocr=ocr_page if ocr else None)),)
        )
    if file_format is Format.IMAGE:
        if not ocr:
            raise BadInput(location, "a page image; read it with OCR", options=("ocr",))
        from semsearch.embedder.ocr import ocr_file

        return LayoutGroups((tuple(ocr_file(path)),))
    if file_format is Format.HOCR:
        try:
            root = read_xml(path)
        except BadInput as error:
            if "not well-formed" not in error.reason:
                raise
            root = read_xml(path, html=True)  # hOCR from engines that write plain HTML
        return LayoutGroups((tuple(hocr_blocks(root, location)),))
    root = read_xml(path)
    if is_didl(root) or file_format is Format.METS or is_mets(root):
        issue = read_didl(root, path) if is_didl(root) else read_mets(root, path)
        return LayoutGroups(issue.pages, issue=issue, drawable_pages=pages_with_images(root, path))
    if not is_alto(root):
        raise BadInput(location, "not an ALTO file")
    return LayoutGroups((tuple(alto_blocks(root, location)),))


def mets_members(files: Iterable[Path]) -> set[Path]:
    """The ALTO files (resolved paths) named by the METS files among ``files``, and the
    article-text files a KB DIDL names.

    A file that cannot be read names nothing here; reading it reports the problem.
    """
    members: set[Path] = set()
    for path in files:
        if path.suffix.lower() not in (".xml", ".mets"):
            continue
        try:
            if detect_format(path, read_sample(path)) is not Format.METS:
                continue
            root = read_xml(path)
            if is_didl(root):
                altos, texts = didl_files(root, path)
                members.update(altos.values(), texts)
            else:
                members.update(alto_files(root, path).values())
        except BadInput:
            continue
    return members
