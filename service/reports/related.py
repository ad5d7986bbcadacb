"""``related``: every article's k most similar articles, each with the passage pair behind it."""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm import tqdm

from semsearch.service.reports import knn
from semsearch.service.reports.align import align
from semsearch.service.reports.centroid import centre
from semsearch.service.reports.corpus import Corpus
from semsearch.service.reports.levels import LEVELS, level_of
from semsearch.service.reports.model import HEATMAP_MAX, Heatmap, Report, score_summary, snippet

NEIGHBOUR_COLUMNS = (
    "article_id",
    "title",
    "rank",
    "neighbor_id",
    "neighbor_title",
    "neighbor_url",
    "score",
    "event_score",
    "level",
    "passage_id",
    "passage_snippet",
    "neighbor_passage_id",
    "neighbor_passage_snippet",
    "passage_score",
)


def explain(left: Corpus, i: int, right: Corpus, j: int) -> dict[str, Any]:
    """The best passage pair between article ``i`` of ``left`` and ``j`` of ``right``.

    Args:
        left: Corpus of the first article.
        i: Its article number.
        right: Corpus of the second article.
        j: Its article number.

    Returns:
        ``passage_id``, ``passage_snippet``, ``neighbor_passage_id``,
        ``neighbor_passage_snippet`` and ``passage_score``.
    """
    rows_i, rows_j = left.passage_rows(i), right.passage_rows(j)
    a, b, cosine = knn.best_passage_pair(
        left.passage_vectors[rows_i], right.passage_vectors[rows_j]
    )
    pa, pb = rows_i.start + a, rows_j.start + b
    return {
        "passage_id": int(left.passage_ids[pa]),
        "passage_snippet": snippet(left.passage_texts[pa]),
        "neighbor_passage_id": int(right.passage_ids[pb]),
        "neighbor_passage_snippet": snippet(right.passage_texts[pb]),
        "passage_score": round(cosine, 4),
    }


def neighbour_records(
    left: Corpus,
    right: Corpus,
    found: knn.Neighbours,
    *,
    threshold: float,
    progress: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Turn a k-NN result (queries = ``left`` articles, base = ``right``) into records and rows.

    Args:
        left: Articles that asked.
        right: Articles that were found.
        found: The k-NN result.
        threshold: Same-event score (centred cosine) from which a pair not sharing text is
            ``same_event``; shared text makes it ``copy`` or ``reuse`` (see ``levels``).
        progress: Show a progress bar over the articles.

    Returns:
        ``(records, rows)``: one record per left article, one row per neighbour.
    """
    records: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    # Both sides centred on the searched corpus's centroid, so scores are comparable.
    left_events = (
        left.event_vectors() if left is right else centre(left.article_vectors, right.centroid())
    )
    right_events = right.event_vectors()
    for i in tqdm(range(left.size), unit="article", desc="explaining", disable=not progress):
        neighbours = []
        for rank, (j, score) in enumerate(zip(found.ids[i], found.scores[i], strict=True), 1):
            if j < 0:
                break
            event = float(left_events[i] @ right_events[j])
            alignment = (
                align(left.normalised(i).text, right.normalised(int(j)).text)
                if left.texts and right.texts
                else None
            )
            item = {
                "rank": rank,
                "neighbor_id": right.article_ids[j],
                "neighbor_title": right.titles[j],
                "neighbor_url": right.urls[j],
                "score": round(float(score), 4),
                "event_score": round(event, 4),
                "level": level_of(alignment, event, threshold),
                **explain(left, i, right, int(j)),
            }
            neighbours.append(item)
            rows.append({"article_id": left.article_ids[i], "title": left.titles[i], **item})
        records.append({**left.article_dict(i), "neighbors": neighbours})
    return records, rows


def full_heatmap(corpus: Corpus, caption: str) -> Heatmap | None:
    """Article-by-article cosine matrix when the corpus is small enough to read one."""
    if not 1 < corpus.size <= HEATMAP_MAX:
        return None
    vectors = corpus.article_vectors
    return Heatmap(
        row_titles=list(corpus.titles),
        col_titles=list(corpus.titles),
        matrix=vectors @ vectors.T,
        caption=caption,
    )


def related_report(corpus: Corpus, *, k: int, threshold: float, progress: bool) -> Report:
    """Build the ``related`` report.

    Args:
        corpus: The collection.
        k: Neighbours per article.
        threshold: Score from which a neighbour is flagged as a duplicate.
        progress: Show progress bars.

    Returns:
        The report.
    """
    index = knn.build_index(corpus.article_vectors)
    found = knn.search(index, corpus.article_vectors, k, exclude_self=True, progress=progress)
    records, rows = neighbour_records(corpus, corpus, found, threshold=threshold, progress=progress)
    top = np.asarray([r["neighbors"][0]["event_score"] for r in records if r["neighbors"]])
    all_scores = found.scores[np.isfinite(found.scores)]
    summary = {
        "collection": corpus.path,
        "articles": corpus.size,
        "passages": len(corpus.passage_ids),
        "k": k,
        "pairs": len(rows),
        "pairs_above_threshold": int(sum(r["event_score"] >= threshold for r in rows)),
        **{f"{level}_pairs": sum(r["level"] == level for r in rows) for level in LEVELS},
        "threshold": threshold,
        **score_summary(all_scores),
    }
    return Report(
        kind="related",
        title=f"Related articles — {corpus.path}",
        summary=summary,
        columns=NEIGHBOUR_COLUMNS,
        rows=rows,
        records=records,
        scores=top,
        score_label="same-event score (centred cosine) of each article and its nearest neighbour",
        threshold=threshold,
        heatmap=full_heatmap(corpus, "cosine similarity between article mean vectors"),
    )
