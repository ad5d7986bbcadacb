"""The text the tagger reads: script-folded, OCR spaces inside Chinese words taken out.

Newspaper OCR leaves spaces where a column line broke (``上街 区``, ``新 郑市``); the tagger
reads such a space as a word break and misses the name. It also reads simplified script
best. A :class:`TagView` is the text folded to simplified (:func:`fold_script`, same
length) with whitespace between two Han characters removed, and the offset in the original
text of every character it keeps, so a span found in the view is a span of the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from semsearch.embedder.folding import fold_script
from semsearch.embedder.passages import split_sentences

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Whitespace with a Han character on both sides (lookarounds keep the neighbours).
_INNER_SPACE_RE = re.compile(rf"(?<=[{_HAN}])\s+(?=[{_HAN}])")


@dataclass(frozen=True)
class TagView:
    """``text`` (what the tagger reads) and ``origin[i]``, the original offset of ``text[i]``."""

    text: str
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of ``text[start:end]`` (``end > start``)."""
        return self.origin[start], self.origin[end - 1] + 1


def tag_view(original: str) -> TagView:
    """Fold ``original`` and drop whitespace between Han characters, keeping offsets."""
    folded = fold_script(original)
    keep = [True] * len(folded)
    for match in _INNER_SPACE_RE.finditer(folded):
        for position in range(match.start(), match.end()):
            keep[position] = False
    origin = tuple(i for i, kept in enumerate(keep) if kept)
    return TagView("".join(folded[i] for i in origin), origin)


def windows(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Cut ``text`` into spans of at most ``max_chars``, at sentence ends where possible.

    Sentences are packed whole; a longer sentence is cut every ``max_chars`` characters
    (a name across that cut is lost, which is rare at 512 characters). Text between
    sentences (whitespace) is left out.
    """
    if len(text) <= max_chars:
        return [(0, len(text))] if text else []
    spans: list[tuple[int, int]] = []
    start = end = -1
    for first, last in split_sentences(text):
        if start >= 0 and last - start <= max_chars:
            end = last
            continue
        if start >= 0:
            spans.append((start, end))
        while last - first > max_chars:
            spans.append((first, first + max_chars))
            first += max_chars
        start, end = first, last
    if start >= 0:
        spans.append((start, end))
    return spans
