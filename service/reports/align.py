"""Span alignment of two normalised texts: the passages they share and where.

Seed and extend, as passim does for text reuse: exact matches of :data:`SEED_CHARS`
characters are extended to maximal common runs, the longest runs that do not overlap in
either text are kept, and runs that follow each other in both texts with small gaps (an OCR
misread, a changed word) are joined into one aligned span.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A seed is this many normalised characters matching exactly (8 Chinese characters rarely
# recur by chance between different articles; shorter seeds only add noise work).
SEED_CHARS = 8
# Seeds that occur more often than this in the other text (repeated phrases) are skipped.
SEED_MAX_REPEATS = 16
# Runs whose gaps in both texts are at most this many characters join into one span:
# an OCR misread or a replaced word breaks an exact run but not the copy.
JOIN_GAP = 12


@dataclass(frozen=True)
class Span:
    """An aligned span: ``a[start:end]`` corresponds to ``b[other_start:other_end]``."""

    start: int
    end: int
    other_start: int
    other_end: int
    matched: int  # characters matching exactly inside the span

    @property
    def length(self) -> int:
        """Length of the span in the first text."""
        return self.end - self.start


@dataclass(frozen=True)
class Alignment:
    """The aligned spans of two texts and the share of each text they cover."""

    spans: list[Span]
    share: float  # of text a covered by the spans
    other_share: float  # of text b

    @property
    def longest(self) -> int:
        """Characters of the longest aligned span (in text a)."""
        return max((s.length for s in self.spans), default=0)

    @property
    def matched(self) -> int:
        """Characters matching exactly over all spans."""
        return sum(s.matched for s in self.spans)


def _runs(a: str, b: str) -> list[tuple[int, int, int]]:
    """Maximal exact common runs ``(i, j, length)`` of at least :data:`SEED_CHARS`."""
    k = SEED_CHARS
    positions: dict[str, list[int]] = {}
    for j in range(len(b) - k + 1):
        positions.setdefault(b[j : j + k], []).append(j)
    runs = []
    for i in range(len(a) - k + 1):
        found = positions.get(a[i : i + k])
        if not found or len(found) > SEED_MAX_REPEATS:
            continue
        for j in found:
            if i and j and a[i - 1] == b[j - 1]:
                continue  # inside a run already started on this diagonal
            length = k
            while i + length < len(a) and j + length < len(b) and a[i + length] == b[j + length]:
                length += 1
            runs.append((i, j, length))
    return runs


def _disjoint(
    runs: list[tuple[int, int, int]], size_a: int, size_b: int
) -> list[tuple[int, int, int]]:
    """The longest runs first, each cut to its longest part not yet used in either text.

    Cutting rather than dropping matters where a run overran into the next sentence by a
    character or two (a dropped sentence whose successor starts alike).
    """
    used_a = np.zeros(size_a, dtype=bool)
    used_b = np.zeros(size_b, dtype=bool)
    kept = []
    for i, j, length in sorted(runs, key=lambda r: (-r[2], r[0], r[1])):
        free = ~(used_a[i : i + length] | used_b[j : j + length])
        if not free.any():
            continue
        if not free.all():
            # The longest stretch of free positions.
            edges = np.diff(np.concatenate([[0], free.astype(np.int8), [0]]))
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            best = int(np.argmax(ends - starts))
            offset, length = int(starts[best]), int(ends[best] - starts[best])
            if length < SEED_CHARS:
                continue
            i, j = i + offset, j + offset
        used_a[i : i + length] = True
        used_b[j : j + length] = True
        kept.append((i, j, length))
    return sorted(kept)


def _join(runs: list[tuple[int, int, int]]) -> list[Span]:
    """Join runs in order in both texts separated by gaps of at most :data:`JOIN_GAP`."""
    spans: list[Span] = []
    for i, j, length in runs:
        if spans:
            last = spans[-1]
            gap_a, gap_b = i - last.end, j - last.other_end
            if 0 <= gap_a <= JOIN_GAP and 0 <= gap_b <= JOIN_GAP:
                spans[-1] = Span(
                    last.start, i + length, last.other_start, j + length, last.matched + length
                )
                continue
        spans.append(Span(i, i + length, j, j + length, length))
    return spans


def align(a: str, b: str) -> Alignment:
    """Align two normalised texts.

    Args:
        a: First text (normalised, see :mod:`normalise`).
        b: Second text.

    Returns:
        The aligned spans (ordered by position in ``a``) and the share of each text that
        they cover (small joined gaps included).
    """
    spans = _join(_disjoint(_runs(a, b), len(a), len(b)))
    covered_a = sum(s.end - s.start for s in spans)
    covered_b = sum(s.other_end - s.other_start for s in spans)
    return Alignment(
        spans=spans,
        share=covered_a / len(a) if a else 0.0,
        other_share=covered_b / len(b) if b else 0.0,
    )
