"""``queries``: a file of queries run in batch, each with its top passages and articles."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.errors import InputError
from semsearch.embedder.reading import json_objects
from semsearch.service.reports import knn
from semsearch.service.reports.corpus import Corpus
from semsearch.service.reports.model import HEATMAP_MAX, Heatmap, Report, score_summary, snippet

QUERY_ID_FIELDS = ("id", "_id", "query_id", "qid")
QUERY_TEXT_FIELDS = ("text", "query")
# Passages fetched per wanted article: several passages of one article often rank together.
PASSAGES_PER_ARTICLE = 5
MIN_PASSAGE_DEPTH = 50

QUERY_COLUMNS = (
    "query_id",
    "query",
    "level",
    "rank",
    "score",
    "article_id",
    "title",
    "url",
    "passage_id",
    "snippet",
)


def read_queries(path: Path) -> list[tuple[str, str]]:
    """Read queries: ``.txt`` one per line, ``.jsonl`` or ``.csv``/``.tsv`` with id and text.

    Args:
        path: The query file.

    Returns:
        ``(query_id, text)`` pairs; plain lines are numbered ``q1``, ``q2``...

    Raises:
        InputError: Missing or unreadable file, no queries, a record without text.
    """
    if not path.is_file():
        raise InputError(f"query file not found: {path}")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        records = list(json_objects(enumerate(content.splitlines(), 1), path))
    elif suffix in (".csv", ".tsv"):
        reader = csv.DictReader(content.splitlines(), delimiter="\t" if suffix == ".tsv" else ",")
        records = list(enumerate(reader, 2))
    else:
        lines = [line.strip() for line in content.splitlines()]
        queries = [(f"q{n}", text) for n, text in enumerate(lines, 1) if text]
        if not queries:
            raise InputError(f"{path} holds no queries")
        return queries
    queries = []
    for number, record in records:
        text = next((str(record[f]) for f in QUERY_TEXT_FIELDS if record.get(f)), "").strip()
        if not text:
            raise InputError(
                f"{path}:{number}: no query text (fields: {', '.join(QUERY_TEXT_FIELDS)})"
            )
        given = next(
            (str(record[f]) for f in QUERY_ID_FIELDS if record.get(f) not in (None, "")), None
        )
        queries.append((given or f"q{number}", text))
    if not queries:
        raise InputError(f"{path} holds no queries")
    return queries


def queries_report(
    corpus: Corpus,
    embedder: TextEmbedder,
    queries: list[tuple[str, str]],
    *,
    k: int,
    progress: bool,
) -> Report:
    """Build the ``queries`` report (dense search over passage vectors).

    Args:
        corpus: The collection.
        embedder: Embeds the queries (with the model's query prompt).
        queries: ``(query_id, text)`` pairs.
        k: Passages and articles per query.
        progress: Show progress bars.

    Returns:
        The report.
    """
    vectors = embedder.embed_queries([text for _, text in queries])
    owner = np.repeat(np.arange(corpus.size), np.diff(corpus.offsets))
    index = knn.build_index(corpus.passage_vectors)
    depth = max(MIN_PASSAGE_DEPTH, k * PASSAGES_PER_ARTICLE)
    found = knn.search(index, vectors, depth, progress=progress, desc="queries")
    records: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    top_scores: list[float] = []
    for q, (query_id, text) in enumerate(queries):
        passages: list[dict[str, Any]] = []
        articles: dict[int, dict[str, Any]] = {}
        for row, score in zip(found.ids[q], found.scores[q], strict=True):
            if row < 0:
                break
            article = int(owner[row])
            hit = {
                "score": round(float(score), 4),
                "article_id": corpus.article_ids[article],
                "title": corpus.titles[article],
                "url": corpus.urls[article],
                "passage_id": int(corpus.passage_ids[row]),
                "snippet": snippet(corpus.passage_texts[row]),
            }
            if len(passages) < k:
                passages.append({"rank": len(passages) + 1, **hit})
            if article in articles:
                articles[article]["matched_passages"] += 1
            elif len(articles) < k:
                articles[article] = {"rank": len(articles) + 1, **hit, "matched_passages": 1}
        if passages:
            top_scores.append(passages[0]["score"])
        records.append(
            {
                "query_id": query_id,
                "query": text,
                "passages": passages,
                "articles": list(articles.values()),
            }
        )
        for level, hits in (("article", list(articles.values())), ("passage", passages)):
            for hit in hits:
                rows.append(
                    {"query_id": query_id, "query": text, "level": level}
                    | {c: hit[c] for c in QUERY_COLUMNS[3:]}
                )
    scores = np.asarray(top_scores, dtype=np.float32)
    summary = {
        "collection": corpus.path,
        "articles": corpus.size,
        "passages": len(corpus.passage_ids),
        "queries": len(queries),
        "k": k,
        **score_summary(scores),
    }
    heatmap = None
    if len(queries) <= HEATMAP_MAX and 1 < corpus.size <= HEATMAP_MAX:
        heatmap = Heatmap(
            row_titles=[text for _, text in queries],
            col_titles=list(corpus.titles),
            matrix=vectors @ corpus.article_vectors.T,
            caption="cosine similarity between each query and each article's mean vector",
        )
    return Report(
        kind="queries",
        title=f"Batch queries — {corpus.path}",
        summary=summary,
        columns=QUERY_COLUMNS,
        rows=rows,
        records=records,
        scores=scores,
        score_label="cosine similarity of each query's best passage",
        heatmap=heatmap,
        notes=["Dense (semantic) search; article score = its best passage's score."],
    )
