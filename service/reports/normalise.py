"""Text normalised for copy and reuse detection, with the way back to original offsets.

Copies differ in what a reader ignores: spaces from OCR column breaks, punctuation (full-
or half-width, dropped or doubled), traditional or simplified script, letter case. The
normalised text keeps only letters and digits, folded to one form, and records for each of
its characters the offset of the original character it came from.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from semsearch.embedder.folding import fold_table

# Unicode categories dropped: punctuation, symbols, separators (spaces), controls.
_DROPPED = ("P", "S", "Z", "C")


@dataclass(frozen=True)
class Normalised:
    """``text`` normalised; ``origin[i]`` is the original offset of ``text[i]``."""

    text: str
    origin: np.ndarray  # (len(text),) int64

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` offsets covering normalised ``[start, end)``."""
        return int(self.origin[start]), int(self.origin[end - 1]) + 1


@lru_cache(maxsize=65536)
def _fold(char: str) -> str:
    """One original character as normalised characters ('' when ignored)."""
    out = []
    for part in unicodedata.normalize("NFKC", char):
        if unicodedata.category(part)[0] in _DROPPED:
            continue
        out.append(fold_table().get(ord(part), part).lower())
    return "".join(out)


def normalise(text: str) -> Normalised:
    """Normalise ``text`` for copy and reuse matching.

    NFKC (full-width letters and digits to ASCII), traditional to simplified script
    (OpenCC's character table, :func:`~semsearch.embedder.folding.fold_table`, so offsets
    stay exact), lower case; spaces,
    punctuation, symbols and controls dropped.

    Args:
        text: Original text.

    Returns:
        The normalised text with its offset map.
    """
    chars: list[str] = []
    origin: list[int] = []
    for offset, char in enumerate(text):
        folded = _fold(char)
        for part in folded:
            chars.append(part)
            origin.append(offset)
    return Normalised("".join(chars), np.asarray(origin, dtype=np.int64))
