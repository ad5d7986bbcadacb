"""One article's copy, reuse and translation links, for the API: candidates by passage similarity.

The batch report finds links over the whole collection with MinHash LSH and a cross-script
k-NN search; a request for one article cannot afford that, so its candidates are the
articles of the passages most like each of its passages (a reused span sits in a passage
whose vector is close to the donor's; a translated one in a passage close across languages),
aligned and named by the same rules (``service.reports.levels``, ``crosslingual``). Only the
asked article's passages query, so in an archive mostly in one script, a translation is
found from its minority-script side surely, and from the other side only when its passages
are among the nearest :data:`TRANSLATION_NEIGHBOURS` (the batch report has no such limit).
The margin of a passage pair needs each passage's nearest passages of other scripts: they
are read from the same similar-passage lists (hits in another script than the passage's
own), the unseen ones bounded by the list's last score, so a margin here is never above the
report's; mutual neighbours likewise from both passages' lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from semsearch.index import SearchHit
from semsearch.index.searchable import Searchable
from semsearch.service.reports.align import Alignment, align
from semsearch.service.reports.corpus import build_corpus
from semsearch.service.reports.crosslingual import align_passages, top_mean, translation_script
from semsearch.service.reports.levels import (
    TRANSLATION_CANDIDATES,
    TRANSLATION_FLOOR,
    TRANSLATION_MARGIN_K,
    TRANSLATION_MIN_SHARE,
    Level,
    text_level,
)
from semsearch.service.reports.normalise import normalise
from semsearch.service.reports.scripts import script_of

# Similar passages looked at per passage of the article.
PASSAGE_NEIGHBOURS = 5
# Passages of the article used as queries (its first ones: long articles stay cheap).
MAX_QUERY_PASSAGES = 40
# Similar passages looked at per passage for translations (other scripts, at or above the
# passage floor): more than for copies, as same-script passages crowd the list.
TRANSLATION_NEIGHBOURS = 20


@dataclass(frozen=True)
class ReuseLink:
    """A copy or reuse link of the asked article to ``other_id``, spans in original offsets."""

    other_id: str
    level: Level
    spans: list[tuple[int, int, int, int]]  # (start, end, other_start, other_end)
    share: float
    other_share: float
    longest_span: int
    score: float | None = None  # translation: mean cosine of the aligned passages
    cross_lingual: bool = False


def _spans(alignment: Alignment, text: str, other: str) -> list[tuple[int, int, int, int]]:
    left, right = normalise(text), normalise(other)
    out = []
    for span in alignment.spans:
        start, end = left.original_span(span.start, span.end)
        other_start, other_end = right.original_span(span.other_start, span.other_end)
        out.append((start, end, other_start, other_end))
    return out


def article_reuse(collection: Searchable, article_id: str) -> list[ReuseLink] | None:
    """The copy and reuse links of one stored article, closest first; None when absent.

    Args:
        collection: The collection.
        article_id: The article.

    Returns:
        Links ordered by level (copies first) then by the share of the asked article.
    """
    found = collection.article_with_passages(article_id)
    if found is None:
        return None
    row, passages = found
    text = str(row["text"])
    candidates: list[str] = []
    across: dict[str, None] = {}
    lists: dict[int, list[SearchHit]] = {}
    for passage in passages[:MAX_QUERY_PASSAGES]:
        lists[passage.id] = _similar(collection, passage.id)
        hits = [h for h in lists[passage.id] if h.article_id != article_id]
        candidates += [h.article_id for h in hits[:PASSAGE_NEIGHBOURS]]
        across.update(dict.fromkeys(h.article_id for h in hits if h.score >= TRANSLATION_FLOOR))
    mine = normalise(text).text
    script = script_of(text)
    eligible = translation_script(text) is not None
    links = []
    translated: dict[str, str] = {}
    for other_id in dict.fromkeys([*candidates, *across]):
        other = collection.get_article(other_id)
        if other is None:
            continue
        other_text = str(other["text"])
        if script_of(other_text) != script:
            if other_id in across and eligible and translation_script(other_text) is not None:
                translated[other_id] = other_text
            continue
        alignment = align(mine, normalise(other_text).text)
        level = text_level(alignment)
        if level is None:
            continue
        links.append(
            ReuseLink(
                other_id=other_id,
                level=level,
                spans=_spans(alignment, text, other_text),
                share=round(alignment.share, 4),
                other_share=round(alignment.other_share, 4),
                longest_span=alignment.longest,
            )
        )
    links += _translations(collection, article_id, text, translated, lists)
    order = {"copy": 0, "reuse": 1, "translation": 2}
    return sorted(links, key=lambda link: (order[link.level], -link.share, link.other_id))


def _similar(collection: Searchable, passage_id: int) -> list[SearchHit]:
    """The passages most like one passage (the lists candidates and margins come from)."""
    return collection.similar(passage_id=passage_id, k=TRANSLATION_NEIGHBOURS).results


def _cross(hits: Sequence[SearchHit], script: str | None) -> tuple[float, set[int]]:
    """A passage's mean cosine to its nearest passages of other scripts, and their ids.

    Args:
        hits: Its similar-passage list.
        script: The script of its article.

    Returns:
        The mean (of :data:`TRANSLATION_MARGIN_K`) and the passage ids of its
        :data:`TRANSLATION_CANDIDATES` nearest passages of other scripts.
    """
    other = [h for h in hits if script_of(h.text) not in (script, None)]
    lowest = hits[-1].score if len(hits) >= TRANSLATION_NEIGHBOURS else None
    mean = top_mean([h.score for h in other], TRANSLATION_MARGIN_K, lowest)
    return mean, {h.passage_id for h in other[:TRANSLATION_CANDIDATES]}


def _translations(
    collection: Searchable,
    article_id: str,
    text: str,
    others: dict[str, str],
    lists: dict[int, list[SearchHit]],
) -> list[ReuseLink]:
    """Translation links of one article to candidate articles of other scripts.

    ``lists`` holds the similar-passage lists already fetched, by passage id.
    """
    if not others:
        return []
    exported = collection.passage_vectors(article_ids=[article_id, *others])
    corpus = build_corpus("", exported, {article_id: text, **others})
    number = {a: n for n, a in enumerate(corpus.article_ids)}
    if article_id not in number:
        return []
    mine = number[article_id]
    scripts = {a: script_of(corpus.texts[n]) for a, n in number.items()}
    owner = np.repeat(np.arange(corpus.size), np.diff(corpus.offsets))
    found = [
        _cross(lists.get(pid) or _similar(collection, pid), scripts[corpus.article_ids[a]])
        for pid, a in zip(corpus.passage_ids.tolist(), owner.tolist(), strict=True)
    ]
    means = np.asarray([mean for mean, _ in found])
    row_of = {pid: row for row, pid in enumerate(corpus.passage_ids.tolist())}
    nearest = [{row_of[p] for p in ids if p in row_of} for _, ids in found]
    mutual = {(a, b) for a, near in enumerate(nearest) for b in near if a in nearest[b]}
    links = []
    for other_id in others:
        if other_id not in number:
            continue
        rows_i, rows_j = corpus.passage_rows(mine), corpus.passage_rows(number[other_id])
        alignment = align_passages(corpus, mine, number[other_id], means, mutual)
        if max(alignment.share, alignment.other_share) < TRANSLATION_MIN_SHARE:
            continue
        starts, ends = corpus.passage_starts, corpus.passage_ends
        spans = [
            (
                int(starts[rows_i.start + r]),
                int(ends[rows_i.start + r]),
                int(starts[rows_j.start + c]),
                int(ends[rows_j.start + c]),
            )
            for r, c, _ in alignment.pairs
        ]
        links.append(
            ReuseLink(
                other_id=other_id,
                level="translation",
                spans=spans,
                share=round(alignment.share, 4),
                other_share=round(alignment.other_share, 4),
                longest_span=max(end - start for start, end, _, _ in spans),
                score=round(alignment.score, 4),
                cross_lingual=True,
            )
        )
    return links
