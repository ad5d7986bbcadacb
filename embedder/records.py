"""Plain records that flow from ingestion to the index: articles, paragraphs, passages."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Region:
    """Where text sits on a page: 1-based page number and its line boxes.

    Boxes are ``(x0, y0, x1, y1)``, ``y`` growing downwards, in the source's units (PDF
    points, image pixels, ALTO measurement units).
    """

    page: int
    boxes: tuple[tuple[float, float, float, float], ...]

    def as_json(self) -> dict[str, Any]:
        """The JSON form stored with passages and returned by the API."""
        return {"page": self.page, "boxes": [[round(v, 1) for v in box] for box in self.boxes]}


@dataclass(frozen=True, kw_only=True)
class Paragraph:
    """One cleaned paragraph of an article.

    ``start``/``end`` are character offsets into :attr:`Article.text`.
    ``fragment`` marks a paragraph whose beginning was lost (e.g. cut by the page).
    ``regions`` says where it was printed, for inputs with a layout (PDF, ALTO, hOCR).
    """

    index: int
    text: str
    start: int
    end: int
    fragment: bool = False
    regions: tuple[Region, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Passage:
    """The unit that is embedded and searched: a paragraph or a sentence-aligned piece of one.

    ``start``/``end`` are character offsets into the article's clean text, so a hit can be
    shown in context; ``ordinal`` numbers passages within the article from 0. ``regions``
    are those of its paragraph (page and line boxes), empty for inputs without a layout.
    """

    article_id: str
    ordinal: int
    paragraph_index: int
    start: int
    end: int
    text: str
    regions: tuple[Region, ...] = ()

    def layout(self) -> list[dict[str, Any]] | None:
        """Pages and boxes as JSON (``None`` without a layout)."""
        return [region.as_json() for region in self.regions] or None

    @property
    def key(self) -> str:
        """Stable textual key ``<article_id>#<ordinal>``."""
        return f"{self.article_id}#{self.ordinal}"


@dataclass(kw_only=True)
class Article:
    """A cleaned article with its metadata.

    ``text`` is the clean body: the paragraphs joined by blank lines (offsets refer to it);
    ``original`` keeps the text as read, before cleaning. ``metadata`` holds any extra
    fields of the input record (kept and filterable). ``page_file`` is the PDF or page
    image ingest read the article from (absolute path); only the layout readers set it, never
    a record, since the page route draws that file.
    """

    id: str
    title: str
    text: str
    paragraphs: list[Paragraph]
    original: str = ""
    date: str | None = None
    source: str | None = None
    section: str | None = None
    url: str | None = None
    author: str | None = None
    kicker: str | None = None
    subtitle: str | None = None
    reporters: list[str] = field(default_factory=list)
    event_dates: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    page_file: str | None = None

    def content_hash(self) -> str:
        """Hash of what is embedded and indexed: title plus clean text."""
        return content_hash(self.title, self.text)


def content_hash(title: str, text: str) -> str:
    """Return a short, stable hash of an article's title and clean text.

    Args:
        title: Article title.
        text: Clean article body.

    Returns:
        16 hex characters of SHA-256.
    """
    digest = hashlib.sha256()
    digest.update(title.encode("utf-8"))
    digest.update(b"\x00")
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()[:16]
