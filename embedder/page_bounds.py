"""How large a page may be drawn or decoded: bounds shared by the page route and OCR ingest.

A PDF page states its size in points and renders to as many pixels as the scale asks, so a
page of 14,400 points is billions of bytes at a reader's scale; an image file states its
pixels in its header. Both are checked before any pixel is made.
"""

from __future__ import annotations

from dataclasses import dataclass

from semsearch.embedder.errors import InputError

# The longest side of a drawn page: a broadsheet at 144 dpi is ~3,400 pixels tall.
DEFAULT_MAX_SIDE = 4000
# The most pixels a page image may hold to be decoded at all (ingest and drawing): a
# broadsheet scanned at 400 dpi is ~37 million; decoding costs 3 bytes a pixel.
DEFAULT_MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class PageBounds:
    """What one drawing may cost: the drawn page's longest side, the pixels of a source image.

    A PDF page is rendered straight at the scale that fits ``max_side`` (never at full size
    first), so its memory is bounded whatever size the page claims; a page image is decoded
    whole, so one of more than ``max_pixels`` is refused.
    """

    max_side: int = DEFAULT_MAX_SIDE
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.max_side < 16 or self.max_pixels < self.max_side:
            raise InputError("max_side must be at least 16 and max_pixels at least max_side")


def fit_scale(width: float, height: float, scale: float, max_side: int) -> float:
    """``scale``, or less where it would draw a side longer than ``max_side`` pixels."""
    longest = max(width, height, 1e-6)
    return min(scale, max_side / longest)


def pixel_excess(size: tuple[float, float], max_pixels: int) -> str | None:
    """Why an image of ``size`` pixels is refused, or None when it is within ``max_pixels``."""
    width, height = size
    if width * height <= max_pixels:
        return None
    return (
        f"a page of {round(width)}x{round(height)} pixels is larger than the limit of "
        f"{max_pixels:,} pixels"
    )
