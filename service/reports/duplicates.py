"""``duplicates``: groups of copies (default) or of same-event articles.

``copy`` groups join articles linked at the copy level (MinHash LSH candidates, span
alignment, see ``textreuse``) into connected components. ``same_event`` groups: candidate
pairs come from a k-NN search over article vectors (never all pairs); pairs at or above the
threshold are joined into groups by complete linkage (see :func:`find_groups`).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from semsearch.service.reports import knn
from semsearch.service.reports.corpus import Corpus
from semsearch.service.reports.events import (
    EVENT_CANDIDATES,
    event_pairs,
)
from semsearch.service.reports.levels import COPY_MIN_COVER
from semsearch.service.reports.model import HEATMAP_MAX, Heatmap, Report, score_summary
from semsearch.service.reports.related import explain
from semsearch.service.reports.reuse import corpus_links
from semsearch.service.reports.textreuse import Link, clusters

DuplicateLevel = Literal["copy", "same_event"]

# Neighbours examined per article (see events): a group larger than this is still found, as each member
# links to some of the others.
CANDIDATES = EVENT_CANDIDATES
# Members whose pairwise cosine is computed for a group's minimum score (bigger groups are
# sampled to these many).
GROUP_MATRIX_MAX = 200

GROUP_COLUMNS = (
    "group_id",
    "group_size",
    "article_id",
    "title",
    "url",
    "date",
    "source",
    "best_match_id",
    "best_match_score",
)


def find_groups(
    found: knn.Neighbours, vectors: np.ndarray, threshold: float
) -> tuple[list[list[int]], list[tuple[int, int, float]]]:
    """Group articles so that every two members of a group score at least ``threshold``.

    Candidate pairs (k-NN hits at or above the threshold, and within
    :data:`RELATIVE_MARGIN` of both ends' best match) are taken best first; a pair merges
    its two groups only if all pairs across them reach the threshold (complete linkage).
    The calibrated threshold is a pairwise decision, so this keeps it true for every pair
    in a group, and one loose pair cannot chain two events together.

    Args:
        found: Article k-NN result (self excluded).
        vectors: Article vectors (rows as in ``found``), L2-normalised.
        threshold: Minimum cosine between any two members.

    Returns:
        ``(groups, links)``: groups of two or more article numbers (largest first, members
        ascending) and the pairs ``(i, j, score)``, ``i < j``, whose merges formed them.
    """
    candidates = event_pairs(found, threshold)
    group_of: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    links: list[tuple[int, int, float]] = []
    for (i, j), score in sorted(candidates.items(), key=lambda item: -item[1]):
        gi, gj = group_of.get(i, i), group_of.get(j, j)
        if gi == gj:
            continue
        left, right = members.get(gi, [i]), members.get(gj, [j])
        if len(left) * len(right) > 1:
            cross = vectors[left] @ vectors[right].T
            if float(cross.min()) < threshold:
                continue
        keep, drop = (gi, gj) if len(left) >= len(right) else (gj, gi)
        merged = left + right
        members[keep] = merged
        members.pop(drop, None)
        for node in merged:
            group_of[node] = keep
        links.append((i, j, score))
    groups = sorted((sorted(g) for g in members.values()), key=lambda g: (-len(g), g[0]))
    return groups, sorted(links)


def copy_groups(corpus: Corpus, *, progress: bool) -> list[tuple[list[int], list[Link]]]:
    """Connected components of copy links, each with its links (largest group first)."""
    links = corpus_links(corpus, progress=progress)
    copies = [link for link in links if link.level == "copy"]
    groups = clusters(corpus.size, copies, ("copy",))
    group_of = {node: number for number, group in enumerate(groups) for node in group}
    by_group: list[list[Link]] = [[] for _ in groups]
    for link in copies:
        by_group[group_of[link.i]].append(link)
    return list(zip(groups, by_group, strict=True))


def duplicates_report(
    corpus: Corpus,
    *,
    threshold: float,
    k: int = CANDIDATES,
    level: DuplicateLevel = "copy",
    progress: bool,
) -> Report:
    """Build the ``duplicates`` report.

    Args:
        corpus: The collection (with texts for the ``copy`` level).
        threshold: Minimum centred cosine for two articles to be grouped (``same_event``).
        k: Candidate neighbours per article (``same_event``).
        level: ``copy`` (edited copies of one text) or ``same_event``.
        progress: Show progress bars.

    Returns:
        The report.
    """
    events = corpus.event_vectors()
    index = knn.build_index(events)
    found = knn.search(index, events, k, exclude_self=True, progress=progress)
    if level == "copy":
        found_groups = copy_groups(corpus, progress=progress)
        groups = [g for g, _ in found_groups]
        edges = [
            (link.i, link.j, max(link.alignment.share, link.alignment.other_share))
            for _, group_links in found_groups
            for link in group_links
        ]
    else:
        groups, edges = find_groups(found, events, threshold)
    group_of = {node: number for number, group in enumerate(groups, 1) for node in group}
    edges_by_group: dict[int, list[tuple[int, int, float]]] = {}
    for edge in edges:
        edges_by_group.setdefault(group_of[edge[0]], []).append(edge)
    records: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for number, group in enumerate(groups, 1):
        vectors = events[group[:GROUP_MATRIX_MAX]]
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, np.inf)
        best = np.argmax(np.where(np.isinf(sims), -np.inf, sims), axis=1)
        pairs = [
            {
                "article_id": corpus.article_ids[i],
                "other_id": corpus.article_ids[j],
                "score": round(score, 4),
                **explain(corpus, i, corpus, j),
            }
            for i, j, score in edges_by_group.get(number, [])
        ]
        members = []
        for position, node in enumerate(group):
            member: dict[str, Any] = dict(corpus.article_dict(node))
            if position < GROUP_MATRIX_MAX:
                other = group[int(best[position])]
                member["best_match_id"] = corpus.article_ids[other]
                member["best_match_score"] = round(float(sims[position, best[position]]), 4)
            members.append(member)
            rows.append({"group_id": number, "group_size": len(group), **member})
        low = min(p["score"] for p in pairs) if level == "copy" else sims[np.isfinite(sims)].min()
        records.append(
            {
                "group_id": number,
                "level": level,
                "size": len(group),
                "min_score": round(float(low), 4),
                "max_score": round(max(p["score"] for p in pairs), 4),
                "members": members,
                "pairs": pairs,
            }
        )
    nearest = found.scores[:, 0] if found.scores.shape[1] else np.zeros(0, dtype=np.float32)
    nearest = nearest[np.isfinite(nearest)]
    grouped = sum(len(g) for g in groups)
    summary = {
        "collection": corpus.path,
        "articles": corpus.size,
        "passages": len(corpus.passage_ids),
        "level": level,
        "threshold": COPY_MIN_COVER if level == "copy" else threshold,
        "candidates_per_article": k,
        "groups": len(groups),
        "articles_in_groups": grouped,
        "largest_group": len(groups[0]) if groups else 0,
        **score_summary(nearest),
    }
    copy_note = (
        "Copy groups: articles joined by copy links (aligned text covering at least "
        f"{COPY_MIN_COVER:.0%} of one article); a pair's score is that coverage."
    )
    event_note = (
        "Every two members of a group score at least the threshold (complete linkage); "
        "min_score is the lowest cosine between any two members."
    )
    return Report(
        kind="duplicates",
        title=f"{'Copy' if level == 'copy' else 'Same-event'} groups — {corpus.path}",
        summary=summary,
        columns=GROUP_COLUMNS,
        rows=rows,
        records=records,
        scores=nearest,
        score_label="same-event score (centred cosine) of each article and its nearest neighbour",
        threshold=threshold if level == "same_event" else None,
        heatmap=_group_heatmap(
            corpus,
            list(range(corpus.size))
            if corpus.size <= HEATMAP_MAX
            else [i for g in groups for i in g],
        ),
        notes=[copy_note if level == "copy" else event_note],
    )


def _group_heatmap(corpus: Corpus, articles: list[int]) -> Heatmap | None:
    """Same-event scores of all articles of a small corpus, else of the largest groups'
    members (``articles`` in group order), up to :data:`HEATMAP_MAX`."""
    chosen = articles[:HEATMAP_MAX]
    if len(chosen) < 2:
        return None
    vectors = corpus.event_vectors()[chosen]
    titles = [corpus.titles[i] for i in chosen]
    return Heatmap(
        row_titles=titles,
        col_titles=titles,
        matrix=vectors @ vectors.T,
        caption="same-event score (centred cosine) between articles",
    )
