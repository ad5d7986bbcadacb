"""Scores of one reading of a generated issue against its truth.

Articles are matched by shared character 4-grams (text compared without spacing, NFKC):
a piece the reader gave *holds* a truth article when it shares at least
``HOLD_GRAMS`` of its 4-grams, or half of them for a short one. A truth article is
*found* when exactly one piece holds it, that piece holds no other, and it has at least
``FOUND_SHARE`` of its 4-grams; *split* when several pieces hold it; a piece holding two
or more truth articles is *merged* (articles run together across a headline). Pieces that
hold no truth article (an advertisement or banner read as an article) are *extra*.

Titles: the truth headline against the title of the piece holding the article's first
paragraph, exactly (without spacing, NFKC). Paragraph boundaries: each paragraph start
after an article's first, named by its first ``KEY_CHARS`` characters; a predicted start
matches a truth start of the same article within ``KEY_EDITS`` edits (OCR misreads).
CER: the truth article's paragraphs against the text of the pieces holding it, in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from semsearch.embedder.records import Article

from .harness import edit_distance
from .layout_alto import squeeze
from .layout_pages import Issue, TruthArticle

HOLD_GRAMS = 40
FOUND_SHARE = 0.8
KEY_CHARS = 10
KEY_EDITS = 2


@dataclass
class Score:
    """Counts summed over issues; the rates are computed at the end."""

    articles: int = 0
    found: int = 0
    split: int = 0
    merged: int = 0
    extra: int = 0
    titles: int = 0
    boundaries_true: int = 0
    boundaries_said: int = 0
    boundaries_hit: int = 0
    edits: int = 0
    chars: int = 0

    def add(self, other: Score) -> None:
        """Add another issue's counts."""
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def title_rate(self) -> float:
        return self.titles / max(1, self.articles)

    @property
    def precision(self) -> float:
        return self.boundaries_hit / max(1, self.boundaries_said)

    @property
    def recall(self) -> float:
        return self.boundaries_hit / max(1, self.boundaries_true)

    @property
    def f1(self) -> float:
        both = self.precision + self.recall
        return 2 * self.precision * self.recall / both if both else 0.0

    @property
    def cer(self) -> float:
        return self.edits / max(1, self.chars)


def _grams(text: str) -> set[str]:
    return {text[i : i + 4] for i in range(max(0, len(text) - 3))}


def _holds(shared: int, truth_grams: int) -> bool:
    return shared >= min(HOLD_GRAMS, 0.5 * truth_grams) and shared > 0


def _truth_text(article: TruthArticle) -> str:
    return squeeze("".join(article.paragraphs))


def score_issue(issue: Issue, pieces: Sequence[Article]) -> Score:
    """Score the articles a reader gave for one issue (in the reader's order)."""
    truths = list(issue.articles.values())
    truth_grams = [_grams(_truth_text(t)) for t in truths]
    piece_grams = [_grams(squeeze(p.title + p.text)) for p in pieces]
    holds: list[list[int]] = []  # per piece, the truth articles it holds
    shared: dict[tuple[int, int], int] = {}
    for p, grams in enumerate(piece_grams):
        held = []
        for t, wanted in enumerate(truth_grams):
            count = len(grams & wanted)
            shared[p, t] = count
            if _holds(count, len(wanted)):
                held.append(t)
        holds.append(held)
    score = Score(articles=len(truths))
    score.merged = sum(1 for held in holds if len(held) > 1)
    score.extra = sum(
        1
        for held, piece in zip(holds, pieces, strict=True)
        if not held and piece.section != "advertisement"  # kept apart, as METS says
    )
    for t, truth in enumerate(truths):
        holders = [p for p, held in enumerate(holds) if t in held]
        if len(holders) > 1:
            score.split += 1
        elif holders and len(holds[holders[0]]) == 1:
            score.found += shared[holders[0], t] >= FOUND_SHARE * len(truth_grams[t])
        _score_text(score, truth, [pieces[p] for p in holders])
    return score


def _score_text(score: Score, truth: TruthArticle, pieces: list[Article]) -> None:
    keys = [squeeze(p)[:KEY_CHARS] for p in truth.paragraphs]
    first = keys[0]
    owner = next(
        (
            piece
            for piece in pieces
            if any(_close(squeeze(par.text)[:KEY_CHARS], first) for par in piece.paragraphs)
        ),
        pieces[0] if pieces else None,
    )
    if owner is not None and squeeze(owner.title) == squeeze(truth.title):
        score.titles += 1
    wanted = keys[1:]
    # The article's own start is no boundary (and its byline lead may have been moved out).
    said = [
        squeeze(par.text)[:KEY_CHARS]
        for piece in pieces
        for number, par in enumerate(piece.paragraphs)
        if not (piece is owner and number == 0)
    ]
    unmatched = list(wanted)
    for key in said:
        hit = next((k for k in unmatched if _close(k, key)), None)
        if hit is not None:
            unmatched.remove(hit)
            score.boundaries_hit += 1
    score.boundaries_true += len(wanted)
    score.boundaries_said += len(said)
    reference = _truth_text(truth)
    hypothesis = squeeze("".join(piece.text for piece in pieces))
    score.edits += edit_distance(reference, hypothesis)
    score.chars += len(reference)


def _close(a: str, b: str) -> bool:
    return edit_distance(a, b) <= KEY_EDITS
