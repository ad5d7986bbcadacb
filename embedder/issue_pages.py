"""Page images of METS issues and KB editions, so their articles get a page view.

A METS issue names each page's image beside its ALTO file (the same physical page
division points at both; NDNP lists master TIFF and service JP2); a KB DIDL page item has
an ``:image`` component next to its ``:alto``. Many issues are published without the
images: only pages whose image is there can be drawn. Boxes are stored in ALTO units
(pixels of the master scan, ``mm10``, ``inch1200``…); they are drawn on the image scaled
by the ratio of the image's size to the ALTO page's ``WIDTH``/``HEIGHT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from semsearch.embedder.alto import is_alto
from semsearch.embedder.didl import didl_page_files, is_didl
from semsearch.embedder.mets import mets_page_files
from semsearch.embedder.reading import BadInput
from semsearch.embedder.xmlsafe import local_name, read_xml

# Image kinds a page may come in, most convenient first (a master TIFF is the largest).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".jp2", ".j2k", ".tif", ".tiff")


@dataclass(frozen=True)
class IssuePage:
    """A page's image and the size of its ALTO page (the units its boxes are in)."""

    image: Path
    size: tuple[float, float]


def page_candidates(root: etree._Element, path: Path) -> dict[int, tuple[Path, list[Path]]]:
    """Page number → (its ALTO file, the images named for it), for a METS or DIDL file."""
    return didl_page_files(root, path) if is_didl(root) else mets_page_files(root, path)


def _best_image(candidates: list[Path]) -> Path | None:
    present = [image for image in candidates if image.is_file()]
    ranked = sorted(
        present,
        key=lambda image: (
            IMAGE_SUFFIXES.index(image.suffix.lower())
            if image.suffix.lower() in IMAGE_SUFFIXES
            else len(IMAGE_SUFFIXES)
        ),
    )
    return ranked[0] if ranked else None


def pages_with_images(root: etree._Element, path: Path) -> frozenset[int]:
    """The page numbers whose image is there to draw."""
    return frozenset(
        page
        for page, (_, images) in page_candidates(root, path).items()
        if _best_image(images) is not None
    )


def issue_page(path: Path, page: int) -> IssuePage:
    """The image of page ``page`` of a METS issue or KB edition, with its ALTO page size.

    Raises:
        BadInput: The issue has no such page, its image is missing, or its ALTO page
            gives no size.
    """
    root = read_xml(path)
    pages = page_candidates(root, path)
    if page not in pages:
        raise BadInput(str(path), f"no page {page} (it has {len(pages)})")
    alto_path, images = pages[page]
    image = _best_image(images)
    if image is None:
        raise BadInput(str(path), f"the image of page {page} is not there")
    alto = read_xml(alto_path)
    if not is_alto(alto):
        raise BadInput(str(alto_path), "not an ALTO file")
    for element in alto.iter():
        if local_name(element) == "Page":
            try:
                width, height = float(element.get("WIDTH", "")), float(element.get("HEIGHT", ""))
            except ValueError:
                break
            if width > 0 and height > 0:
                return IssuePage(image, (width, height))
            break
    raise BadInput(str(alto_path), "the ALTO page gives no WIDTH and HEIGHT")
