"""``translation`` links: articles in different scripts aligned passage by passage.

A Chinese article that translates a foreign wire story shares no characters with it, so
MinHash cannot propose the pair; the multilingual passage vectors can. Candidates come from
a FAISS k-NN search over passage vectors, each script's passages against the passages of
the other scripts (never all pairs, and nothing at all in a one-script collection). Each
candidate pair of articles is aligned passage by passage: the monotone chain of passage
pairs at or above :data:`~service.reports.levels.TRANSLATION_FLOOR` with the largest
total margin over the floor (a translation keeps the order of its original; one Chinese
passage may carry what two English ones say, so a passage may pair with several). The link
holds when the aligned passages cover at least
:data:`~service.reports.levels.TRANSLATION_MIN_SHARE` of one article's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from semsearch.service.reports import knn
from semsearch.service.reports.corpus import Corpus
from semsearch.service.reports.levels import (
    TRANSLATION_CANDIDATES,
    TRANSLATION_FLOOR,
    TRANSLATION_MIN_SHARE,
    Level,
)
from semsearch.service.reports.scripts import script_of


@dataclass(frozen=True)
class PassageAlignment:
    """Aligned passage pairs of two articles and the share of each text they cover."""

    pairs: list[tuple[int, int, float]]  # (passage row of a, passage row of b, cosine)
    share: float
    other_share: float

    @property
    def score(self) -> float:
        """Mean cosine of the aligned pairs (0 when none)."""
        return float(np.mean([c for _, _, c in self.pairs])) if self.pairs else 0.0


@dataclass(frozen=True)
class CrossLink:
    """A ``translation`` link between articles ``i < j`` and its passage alignment."""

    i: int
    j: int
    level: Level
    alignment: PassageAlignment


def monotone_chain(sims: np.ndarray, floor: float) -> list[tuple[int, int]]:
    """The chain of cells ``(r, c)``, both non-decreasing, with most total ``sims - floor``.

    Only cells at or above ``floor`` take part; a row or column may recur (many-to-one).

    Args:
        sims: ``(m, n)`` cosines between two articles' passages, in reading order.
        floor: Lowest cosine of an aligned pair.

    Returns:
        The chain, in order.
    """
    m, n = sims.shape
    # reach[r, c] / last[r, c]: best chain value within rows < r and columns < c (0: the
    # empty chain) and its last cell; prev[r, c]: the cell before (r, c) in its best chain.
    reach = np.zeros((m + 1, n + 1))
    last = np.full((m + 1, n + 1, 2), -1, dtype=np.int64)
    prev = np.full((m, n, 2), -1, dtype=np.int64)
    for r in range(m):
        for c in range(n):
            # Everything in the rectangle up to (r, c) but the cell itself.
            source = (r, c + 1) if reach[r, c + 1] >= reach[r + 1, c] else (r + 1, c)
            value, cell = reach[source], last[source]
            if sims[r, c] >= floor:
                prev[r, c] = cell
                value, cell = value + sims[r, c] - floor, np.asarray((r, c))
            reach[r + 1, c + 1] = value
            last[r + 1, c + 1] = cell
    chain = []
    r, c = (int(x) for x in last[m, n])
    while r >= 0:
        chain.append((r, c))
        r, c = (int(x) for x in prev[r, c])
    return chain[::-1]


def _covered(starts: np.ndarray, ends: np.ndarray, rows: Sequence[int]) -> int:
    """Characters in the union of the passages ``rows`` (offsets ``starts``/``ends``)."""
    total, reach = 0, -1
    for start, end in sorted((int(starts[r]), int(ends[r])) for r in set(rows)):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def align_passages(corpus: Corpus, i: int, j: int, floor: float) -> PassageAlignment:
    """Align articles ``i`` and ``j`` of ``corpus`` passage by passage.

    Args:
        corpus: The collection.
        i: First article number.
        j: Second article number.
        floor: Lowest cosine of an aligned passage pair.

    Returns:
        The aligned pairs (rows within each article) and each text's covered share: the
        union of its aligned passages over the union of all its passages.
    """
    rows_i, rows_j = corpus.passage_rows(i), corpus.passage_rows(j)
    sims = corpus.passage_vectors[rows_i] @ corpus.passage_vectors[rows_j].T
    chain = monotone_chain(sims, floor)
    starts, ends = corpus.passage_starts, corpus.passage_ends
    all_i = range(rows_i.start, rows_i.stop)
    all_j = range(rows_j.start, rows_j.stop)
    whole_i, whole_j = _covered(starts, ends, all_i), _covered(starts, ends, all_j)
    got_i = _covered(starts, ends, [rows_i.start + r for r, _ in chain])
    got_j = _covered(starts, ends, [rows_j.start + c for _, c in chain])
    return PassageAlignment(
        pairs=[(r, c, float(sims[r, c])) for r, c in chain],
        share=got_i / whole_i if whole_i else 0.0,
        other_share=got_j / whole_j if whole_j else 0.0,
    )


def article_scripts(corpus: Corpus) -> list[str | None]:
    """The script of every article (its stored text, else its passages)."""
    if corpus.texts:
        return [script_of(text) for text in corpus.texts]
    return [
        script_of("".join(corpus.passage_texts[corpus.passage_rows(a)])) for a in range(corpus.size)
    ]


def candidate_pairs(
    corpus: Corpus,
    scripts: Sequence[str | None],
    *,
    floor: float = TRANSLATION_FLOOR,
    k: int = TRANSLATION_CANDIDATES,
    progress: bool = False,
) -> set[tuple[int, int]]:
    """Article pairs ``(i, j)``, ``i < j``, in different scripts with a passage pair ≥ floor.

    Each script's passages are indexed once and queried by the passages of every smaller
    script, so a pair of scripts is searched once and the main script of an archive never
    queries itself.

    Args:
        corpus: The collection.
        scripts: Script of each article (None: no letters, never a candidate).
        floor: Lowest passage cosine of a candidate.
        k: Nearest passages kept per query passage.
        progress: Show progress bars.

    Returns:
        The candidate pairs.
    """
    owner = np.repeat(np.arange(corpus.size), np.diff(corpus.offsets))
    passage_script = np.asarray([scripts[a] or "" for a in owner.tolist()], dtype=object)
    names = sorted({s for s in scripts if s}, key=lambda s: (int((passage_script == s).sum()), s))
    pairs: set[tuple[int, int]] = set()
    for position, base_name in enumerate(names[1:], 1):
        base_rows = np.flatnonzero(passage_script == base_name)
        query_rows = np.flatnonzero(np.isin(passage_script, names[:position]))
        index = knn.build_index(corpus.passage_vectors[base_rows])
        found = knn.search(
            index,
            corpus.passage_vectors[query_rows],
            k,
            progress=progress,
            desc=f"passages vs {base_name}",
        )
        hit_q, hit_c = np.nonzero((found.scores >= floor) & (found.ids >= 0))
        left = owner[query_rows[hit_q]]
        right = owner[base_rows[found.ids[hit_q, hit_c]]]
        pairs.update(
            zip(np.minimum(left, right).tolist(), np.maximum(left, right).tolist(), strict=True)
        )
    return pairs


def find_translations(
    corpus: Corpus,
    *,
    floor: float = TRANSLATION_FLOOR,
    min_share: float = TRANSLATION_MIN_SHARE,
    progress: bool = False,
) -> list[CrossLink]:
    """``translation`` links between the corpus's articles of different scripts.

    Args:
        corpus: The collection, with passage offsets.
        floor: Lowest cosine of an aligned passage pair.
        min_share: Share of one article's text the aligned passages must cover.
        progress: Show progress bars.

    Returns:
        Links ordered by ``(i, j)``.
    """
    scripts = article_scripts(corpus)
    links = []
    for i, j in tqdm(
        sorted(candidate_pairs(corpus, scripts, floor=floor, progress=progress)),
        desc="aligning passages",
        unit="pair",
        disable=not progress,
    ):
        alignment = align_passages(corpus, i, j, floor)
        if max(alignment.share, alignment.other_share) >= min_share:
            links.append(CrossLink(i, j, "translation", alignment))
    return links
