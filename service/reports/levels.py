"""The levels of likeness between two articles, each with its own rule.

From closest to loosest:

- ``copy``: the same text, edited (truncated, sentences dropped, boilerplate or datelines
  added, OCR spacing and punctuation noise, traditional vs simplified script).
- ``reuse``: otherwise different articles sharing an aligned span of at least
  :data:`REUSE_MIN_CHARS` normalised characters (letters and digits, see ``normalise``).
- ``translation``: articles in different scripts (a Chinese translation of an English wire
  story) whose passages align, passage by passage, over a share of one text (``crosslingual``).
- ``same_event``: different texts on one event: the centred-cosine rule calibrated on SOHU
  same-event pairs (``duplicates.DUPLICATE_THRESHOLD``).
- ``related``: anything else a similarity search returned.

The copy and reuse rules were calibrated on the tuning half of the labelled set built by
``bench/reuse_set.py``; ``python -m bench.reuse`` reproduces the held-out figures in
docs/benchmarks.md.
"""

from __future__ import annotations

from typing import Literal

from semsearch.service.reports.align import Alignment

Level = Literal["copy", "reuse", "translation", "same_event", "related"]
# The levels a `related` neighbour can have (translation needs a passage alignment).
LEVELS: tuple[Level, ...] = ("copy", "reuse", "same_event", "related")

# About two short sentences: longer than a dateline, an agency credit or a headline, so
# those alone never make two articles a reuse pair.
REUSE_MIN_CHARS = 50
# A copy covers most of one article (the shorter, as truncation only shortens) ...
COPY_MIN_COVER = 0.8
# ... and a fair part of the other (a long article quoting a short one is reuse).
COPY_MIN_OTHER = 0.3


def text_level(alignment: Alignment) -> Level | None:
    """``copy`` or ``reuse`` from an alignment of two normalised texts, None if neither.

    Args:
        alignment: The two texts' alignment.

    Returns:
        The level the shared text supports.
    """
    high = max(alignment.share, alignment.other_share)
    low = min(alignment.share, alignment.other_share)
    if high >= COPY_MIN_COVER and low >= COPY_MIN_OTHER and alignment.matched >= SHORT_COPY:
        return "copy"
    if alignment.longest >= REUSE_MIN_CHARS:
        return "reuse"
    return None


# Texts shorter than this (normalised characters) are copies only when identical, so two
# headlines sharing a few words are not copies.
SHORT_COPY = 8


def level_of(alignment: Alignment | None, event_score: float, threshold: float) -> Level:
    """The level of a pair from its alignment (None: not aligned) and same-event score.

    Args:
        alignment: Alignment of the two normalised texts, or None.
        event_score: Centred cosine of the two articles.
        threshold: Same-event threshold.

    Returns:
        The closest level the pair reaches.
    """
    level = text_level(alignment) if alignment is not None else None
    if level is not None:
        return level
    return "same_event" if event_score >= threshold else "related"


# ``translation`` (cross-lingual reuse), see ``crosslingual``. Raw cosines between passages of
# two scripts vary with the passage (hubs, boilerplate, short lines), so passages pair on a
# ratio margin, as in bitext mining (Artetxe & Schwenk 2019, LASER): their cosine over the
# mean cosine of each one's TRANSLATION_MARGIN_K nearest passages in the other script. A pair
# holds at a margin of at least TRANSLATION_MARGIN and a cosine of at least TRANSLATION_FLOOR
# (in a small collection every passage's nearest are few, so a margin alone could pair
# strangers); the link holds when the aligned passages cover TRANSLATION_MIN_SHARE of one
# article's text. Values chosen on the tuning half of NTREX (bench/reuse_crosslingual.py).
TRANSLATION_FLOOR = 0.78
# Only articles of some length, written mostly in one script, take part: a headline, a URL
# or a line mixing brand names into Chinese is no translation of anything, and among the
# few short Latin-script items of a Chinese archive a margin stands out too easily (on
# news-112k, before this rule, 550 such links, nearly all wrong). Words as in
# ``scripts.script_words`` (an alphabetic word or a Han character each).
TRANSLATION_MIN_WORDS = 50
TRANSLATION_SCRIPT_SHARE = 0.8
TRANSLATION_MARGIN = 1.0
TRANSLATION_MARGIN_K = 3
TRANSLATION_MIN_SHARE = 0.3
# Nearest passages of another script looked at per passage (candidate article pairs); at
# least TRANSLATION_MARGIN_K, as the same search gives the margins.
TRANSLATION_CANDIDATES = 5
