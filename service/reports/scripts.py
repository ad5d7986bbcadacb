"""The writing system an article is in, from the Unicode ranges of its letters.

Cross-lingual links are for texts that character shingles cannot match: an article in
another writing system than its counterpart. No language is recorded at ingest, so the
script is read from the text itself. Counting code points in fixed ranges needs neither a
new dependency nor a model download (language-identification packages either ship their own
model or fetch one at run time), and it is exact for the case that matters here, Chinese
against English or another alphabetic language. Two languages of one script (English and
French) are not told apart: their translations are not cross-script links.

Scripts are weighed by words, not code points: an alphabetic word (a run of letters of one
alphabetic script) counts once, as does each Han, kana or Hangul character, which carries
about a word's meaning. Counting letters would make a Chinese headline with a brand name
("Facebook CEO女友曝光", "AMG GT 63 S Edition 1 官图正式发布") Latin, and pair it with
Chinese headlines as a "translation".
"""

from __future__ import annotations

import numpy as np

# (first, last code point, script). Ranges of letters only: digits, punctuation and spaces
# count for no script.
_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x005A, "latin"),
    (0x0061, 0x007A, "latin"),
    (0x00C0, 0x024F, "latin"),
    (0x0370, 0x03FF, "greek"),
    (0x0400, 0x052F, "cyrillic"),
    (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"),
    (0x0900, 0x097F, "devanagari"),
    (0x0E00, 0x0E7F, "thai"),
    (0x1100, 0x11FF, "hangul"),
    (0x3040, 0x30FF, "kana"),
    (0x3400, 0x4DBF, "han"),
    (0x4E00, 0x9FFF, "han"),
    (0xAC00, 0xD7AF, "hangul"),
    (0xF900, 0xFAFF, "han"),
    (0x20000, 0x2FA1F, "han"),
)
_STARTS = np.asarray([r[0] for r in _RANGES], dtype=np.int64)
_ENDS = np.asarray([r[1] for r in _RANGES], dtype=np.int64)
_NAMES = sorted({r[2] for r in _RANGES})
_SCRIPT_OF_RANGE = np.asarray([_NAMES.index(r[2]) for r in _RANGES], dtype=np.int64)
# Scripts written in words of several letters: a run of their letters counts once.
_ALPHABETIC = np.asarray(
    [name in {"latin", "greek", "cyrillic", "hebrew", "arabic", "devanagari"} for name in _NAMES]
)
# Characters read per article: enough to know its script, cheap on long texts.
SAMPLE_CHARS = 2000
# Japanese mixes kana into Han text; this share of kana among the two makes it Japanese.
# Japanese prose runs at a third or more kana (particles, endings); a Chinese article naming
# a brand in katakana (ダイアナ) stays well below.
KANA_SHARE = 0.25


def script_words(text: str) -> tuple[str | None, int, int]:
    """The dominant script of ``text``, its words and all words (see :func:`script_of`).

    Args:
        text: An article text.

    Returns:
        ``(script, words in it, words in any script)`` among the first
        :data:`SAMPLE_CHARS` characters; ``(None, 0, 0)`` without letters.
    """
    codes = np.frombuffer(text[:SAMPLE_CHARS].encode("utf-32-le"), dtype=np.uint32)
    codes = codes.astype(np.int64)
    where = np.searchsorted(_STARTS, codes, side="right") - 1
    inside = (where >= 0) & (codes <= _ENDS[np.maximum(where, 0)])
    if not inside.any():
        return None, 0, 0
    script = np.where(inside, _SCRIPT_OF_RANGE[np.maximum(where, 0)], -1)
    # An alphabetic letter counts only where a run of its script starts.
    starts = np.concatenate(([True], script[1:] != script[:-1]))
    counted = inside & (starts | ~_ALPHABETIC[np.maximum(script, 0)])
    counts = np.bincount(script[counted], minlength=len(_NAMES))
    total = int(counts.sum())
    han, kana = counts[_NAMES.index("han")], counts[_NAMES.index("kana")]
    if kana and kana >= KANA_SHARE * (han + kana):
        return "japanese", int(han + kana), total
    best = int(np.argmax(counts))
    return _NAMES[best], int(counts[best]), total


def script_of(text: str) -> str | None:
    """The dominant script of ``text`` (``han``, ``latin``, ``japanese``, …), None if no letters.

    Args:
        text: An article text.

    Returns:
        The script with most words (alphabetic words, Han/kana/Hangul characters) among the
        first :data:`SAMPLE_CHARS` characters.
    """
    return script_words(text)[0]
