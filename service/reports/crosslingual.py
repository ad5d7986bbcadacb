"""``translation`` links: articles in different scripts aligned passage by passage.

A Chinese article that translates a foreign wire story shares no characters with it, so
MinHash cannot propose the pair; the multilingual passage vectors can. Candidates come from
a FAISS k-NN search over passage vectors, each script's passages against the passages of
the other scripts (never all pairs, and nothing at all in a one-script collection). The same
search gives each passage's mean cosine to its
:data:`~service.reports.levels.TRANSLATION_MARGIN_K` nearest passages of other scripts, and a
passage pair is scored by its ratio margin: cosine over the mean of the two passages' means
(bitext mining's margin: a pair stands out from what each passage is close to anyway), and
only mutual neighbours pair (each among the other's
:data:`~service.reports.levels.TRANSLATION_CANDIDATES` nearest of other scripts): where the
other script has few passages, every passage's nearest ones are the same few, margins near 1
come cheaply, and one such "hub" passage would otherwise pair with hundreds. Each
candidate pair of articles is aligned passage by passage: the monotone chain of passage pairs
with margin ≥ :data:`~service.reports.levels.TRANSLATION_MARGIN` and cosine ≥
:data:`~service.reports.levels.TRANSLATION_FLOOR` with the largest total margin over its floor
(a translation keeps the order of its original; one Chinese passage may carry what two
English ones say, so a passage may pair with several). The link holds when the aligned
passages cover at least :data:`~service.reports.levels.TRANSLATION_MIN_SHARE` of one
article's text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from semsearch.service.reports import knn
from semsearch.service.reports.corpus import Corpus
from semsearch.service.reports.levels import (
    TRANSLATION_CANDIDATES,
    TRANSLATION_FLOOR,
    TRANSLATION_MARGIN,
    TRANSLATION_MARGIN_K,
    TRANSLATION_MIN_SHARE,
    TRANSLATION_MIN_WORDS,
    TRANSLATION_SCRIPT_SHARE,
    Level,
)
from semsearch.service.reports.scripts import script_of, script_words


@dataclass(frozen=True)
class PassageAlignment:
    """Aligned passage pairs of two articles and the share of each text they cover."""

    pairs: list[tuple[int, int, float]]  # (passage row of a, passage row of b, cosine)
    share: float
    other_share: float
    margins: list[float] = field(default_factory=list)  # ratio margin of each pair

    @property
    def score(self) -> float:
        """Mean cosine of the aligned pairs (0 when none)."""
        return float(np.mean([c for _, _, c in self.pairs])) if self.pairs else 0.0

    @property
    def margin(self) -> float:
        """Mean ratio margin of the aligned pairs (0 when none): what links are ranked by."""
        return float(np.mean(self.margins)) if self.margins else 0.0


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


def margin_matrix(
    sims: np.ndarray, means_a: np.ndarray, means_b: np.ndarray, floor: float
) -> np.ndarray:
    """Ratio margins of the cosines ``sims`` (0 where the cosine is below ``floor``).

    Args:
        sims: ``(m, n)`` cosines between passages ``a`` (rows) and ``b`` (columns).
        means_a: Mean cosine of each ``a`` passage to its nearest passages in other scripts
            (inf: none known, so no margin).
        means_b: The same for the ``b`` passages.
        floor: Lowest cosine of a pair.

    Returns:
        ``sims / ((mean_a + mean_b) / 2)`` where ``sims >= floor``, else 0.
    """
    scale = np.maximum((means_a[:, None] + means_b[None, :]) / 2, 1e-6)
    return np.where(sims >= floor, sims / scale, 0.0)


def align_passages(
    corpus: Corpus,
    i: int,
    j: int,
    means: np.ndarray,
    mutual: set[tuple[int, int]],
    *,
    floor: float = TRANSLATION_FLOOR,
    margin: float = TRANSLATION_MARGIN,
) -> PassageAlignment:
    """Align articles ``i`` and ``j`` of ``corpus`` passage by passage.

    Args:
        corpus: The collection.
        i: First article number.
        j: Second article number.
        means: Per passage row of ``corpus``, its mean cosine to its nearest passages of
            other scripts (see :func:`cross_neighbours`).
        mutual: Passage row pairs ``(a, b)`` of mutual nearest neighbours (either order):
            the only pairs that may align.
        floor: Lowest cosine of an aligned passage pair.
        margin: Lowest ratio margin of an aligned passage pair.

    Returns:
        The aligned pairs (rows within each article) and each text's covered share: the
        union of its aligned passages over the union of all its passages.
    """
    rows_i, rows_j = corpus.passage_rows(i), corpus.passage_rows(j)
    sims = corpus.passage_vectors[rows_i] @ corpus.passage_vectors[rows_j].T
    margins = margin_matrix(sims, means[rows_i], means[rows_j], floor)
    for r, c in zip(*np.nonzero(margins), strict=True):
        if (rows_i.start + int(r), rows_j.start + int(c)) not in mutual:
            margins[r, c] = 0.0
    chain = monotone_chain(margins, margin)
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
        margins=[float(margins[r, c]) for r, c in chain],
    )


def top_mean(scores: Sequence[float], k: int, lowest: float | None = None) -> float:
    """Mean of the ``k`` best ``scores``, padded with ``lowest`` when fewer (inf: none).

    Args:
        scores: Cosines of a passage to passages of other scripts.
        k: Neighbours averaged.
        lowest: A bound on the scores not seen (the last score of a truncated result list),
            or None when ``scores`` are all there are.

    Returns:
        The mean; inf when there is nothing to average (no margin can then be reached).
    """
    best = sorted(scores, reverse=True)[:k]
    if lowest is not None:
        best += [lowest] * (k - len(best))
    return float(np.mean(best)) if best else float("inf")


def article_scripts(corpus: Corpus) -> list[str | None]:
    """The script of every article (its stored text, else its passages)."""
    return [script_of(text) for text in _texts(corpus)]


def _texts(corpus: Corpus) -> list[str]:
    if corpus.texts:
        return corpus.texts
    return ["".join(corpus.passage_texts[corpus.passage_rows(a)]) for a in range(corpus.size)]


def translation_script(text: str) -> str | None:
    """The script of ``text`` if it may take part in a translation link, else None.

    Args:
        text: An article text.

    Returns:
        Its script when it has :data:`~service.reports.levels.TRANSLATION_MIN_WORDS` words,
        :data:`~service.reports.levels.TRANSLATION_SCRIPT_SHARE` of them in that script.
    """
    script, words, total = script_words(text)
    if words < TRANSLATION_MIN_WORDS or words < TRANSLATION_SCRIPT_SHARE * total:
        return None
    return script


@dataclass(frozen=True)
class CrossNeighbours:
    """Each passage's nearest passages of other scripts (rows into the corpus)."""

    means: np.ndarray  # (n_passages,) mean cosine of the k nearest (inf: none searched)
    query: np.ndarray  # (h,) passage row of each hit's query
    found: np.ndarray  # (h,) passage row found
    scores: np.ndarray  # (h,) cosine
    mutual: np.ndarray  # (h,) bool: the query is also among the found passage's hits

    def mutual_pairs(self) -> set[tuple[int, int]]:
        """The mutual hits as passage row pairs, both orders."""
        q, f = self.query[self.mutual].tolist(), self.found[self.mutual].tolist()
        return set(zip(q, f, strict=True)) | set(zip(f, q, strict=True))


def cross_neighbours(
    corpus: Corpus,
    scripts: Sequence[str | None],
    *,
    k: int = TRANSLATION_CANDIDATES,
    k_margin: int = TRANSLATION_MARGIN_K,
    progress: bool = False,
) -> CrossNeighbours:
    """The ``k`` nearest passages of other scripts of every passage, and their mean.

    Each script's passages query an index of the passages of all other scripts: in an
    archive mostly in one script, its many passages search a small index and the few others
    search it once. A one-script collection searches nothing.

    Args:
        corpus: The collection.
        scripts: Script of each article (None: never a candidate, see
            :func:`translation_script`).
        k: Nearest passages kept per passage (candidates).
        k_margin: Nearest passages averaged for the margin (at most ``k``).
        progress: Show progress bars.

    Returns:
        The hits and the means.
    """
    owner = np.repeat(np.arange(corpus.size), np.diff(corpus.offsets))
    passage_script = np.asarray([scripts[a] or "" for a in owner.tolist()], dtype=object)
    names = sorted({s for s in scripts if s})
    means = np.full(len(owner), np.inf)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for name in names if len(names) > 1 else []:
        query_rows = np.flatnonzero(passage_script == name)
        base_rows = np.flatnonzero((passage_script != name) & (passage_script != ""))
        index = knn.build_index(corpus.passage_vectors[base_rows])
        got = knn.search(
            index,
            corpus.passage_vectors[query_rows],
            max(k, k_margin),
            progress=progress,
            desc=f"{name} passages vs other scripts",
        )
        del index
        top = got.scores[:, :k_margin]
        seen = np.isfinite(top)
        with np.errstate(invalid="ignore", divide="ignore"):
            row_means = np.where(seen, top, 0.0).sum(axis=1) / seen.sum(axis=1)
        means[query_rows] = np.where(seen.any(axis=1), row_means, np.inf)
        hit_q, hit_c = np.nonzero(got.ids[:, :k] >= 0)
        parts.append(
            (query_rows[hit_q], base_rows[got.ids[hit_q, hit_c]], got.scores[hit_q, hit_c])
        )
    empty = np.zeros(0, dtype=np.int64)
    query, found, scores = (
        (np.concatenate(x) for x in zip(*parts, strict=True))
        if parts
        else (empty, empty, np.zeros(0, dtype=np.float32))
    )
    size = max(len(owner), 1)
    mutual = np.isin(query * size + found, found * size + query)
    return CrossNeighbours(means=means, query=query, found=found, scores=scores, mutual=mutual)


def candidate_pairs(
    corpus: Corpus,
    neighbours: CrossNeighbours,
    *,
    floor: float = TRANSLATION_FLOOR,
    margin: float = TRANSLATION_MARGIN,
) -> set[tuple[int, int]]:
    """Article pairs ``(i, j)``, ``i < j``, with a mutual passage pair of cosine and margin enough.

    Args:
        corpus: The collection.
        neighbours: From :func:`cross_neighbours`.
        floor: Lowest passage cosine of a candidate.
        margin: Lowest ratio margin of a candidate.

    Returns:
        The candidate pairs.
    """
    owner = np.repeat(np.arange(corpus.size), np.diff(corpus.offsets))
    q, f, s = neighbours.query, neighbours.found, neighbours.scores
    scale = np.maximum((neighbours.means[q] + neighbours.means[f]) / 2, 1e-6)
    keep = (s >= floor) & (s / scale >= margin) & neighbours.mutual
    left, right = owner[q[keep]], owner[f[keep]]
    return set(zip(np.minimum(left, right).tolist(), np.maximum(left, right).tolist(), strict=True))


def find_translations(
    corpus: Corpus,
    *,
    floor: float = TRANSLATION_FLOOR,
    margin: float = TRANSLATION_MARGIN,
    min_share: float = TRANSLATION_MIN_SHARE,
    k_margin: int = TRANSLATION_MARGIN_K,
    progress: bool = False,
) -> list[CrossLink]:
    """``translation`` links between the corpus's articles of different scripts.

    Args:
        corpus: The collection, with passage offsets.
        floor: Lowest cosine of an aligned passage pair.
        margin: Lowest ratio margin of an aligned passage pair.
        min_share: Share of one article's text the aligned passages must cover.
        k_margin: Nearest passages of other scripts averaged for the margin.
        progress: Show progress bars.

    Returns:
        Links ordered by ``(i, j)``.
    """
    scripts = [translation_script(text) for text in _texts(corpus)]
    neighbours = cross_neighbours(corpus, scripts, k_margin=k_margin, progress=progress)
    mutual = neighbours.mutual_pairs()
    links = []
    for i, j in tqdm(
        sorted(candidate_pairs(corpus, neighbours, floor=floor, margin=margin)),
        desc="aligning passages",
        unit="pair",
        disable=not progress,
    ):
        alignment = align_passages(
            corpus, i, j, neighbours.means, mutual, floor=floor, margin=margin
        )
        if max(alignment.share, alignment.other_share) >= min_share:
            links.append(CrossLink(i, j, "translation", alignment))
    return links
