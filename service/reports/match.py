"""``match``: a second corpus (files or a collection) matched against this collection.

For each article of B, the best articles of A, with the passage pair behind each match,
e.g. a wire feed checked against the archive.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.errors import InputError
from semsearch.embedder.ingest import IngestOptions, expand_paths, prepare_articles, scan
from semsearch.index import Collection
from semsearch.service.reports import knn
from semsearch.service.reports.corpus import Corpus, load_corpus
from semsearch.service.reports.model import HEATMAP_MAX, Heatmap, Report, score_summary
from semsearch.service.reports.related import NEIGHBOUR_COLUMNS, neighbour_records


def load_other(
    inputs: list[Path], embedder: TextEmbedder, *, options: IngestOptions, progress: bool
) -> Corpus:
    """Load corpus B: one collection directory, or files ingested into a temporary collection.

    Files go through the same pipeline as ``semsearch ingest`` (validated first, then
    read, cleaned, cut and embedded); the temporary collection is deleted afterwards.

    Args:
        inputs: A collection directory, or files and directories of articles.
        embedder: The model of collection A.
        options: Ingest options for files.
        progress: Show progress bars.

    Returns:
        Corpus B.

    Raises:
        InputError: No inputs, or unusable files.
    """
    if not inputs:
        raise InputError("match needs the articles to match: files or a collection directory")
    if len(inputs) == 1 and Collection.exists(inputs[0]):
        return load_corpus(inputs[0], embedder, progress=progress)
    files = expand_paths(inputs)
    scan(files, options=options)
    with tempfile.TemporaryDirectory(prefix="semsearch-match-") as tmp:
        path = Path(tmp) / "b"
        with Collection.create(path, embedder) as collection:
            collection.upsert(prepare_articles(files, embedder, options=options))
        corpus = load_corpus(path, embedder, progress=progress)
    corpus.path = ", ".join(str(p) for p in inputs)
    return corpus


def match_report(
    archive: Corpus, other: Corpus, *, k: int, threshold: float, progress: bool
) -> Report:
    """Build the ``match`` report: for each article of ``other``, the best of ``archive``.

    Args:
        archive: Collection A (searched).
        other: Corpus B (each article asks).
        k: Matches per B article.
        threshold: Score from which a match is flagged ``duplicate``.
        progress: Show progress bars.

    Returns:
        The report.
    """
    index = knn.build_index(archive.article_vectors)
    found = knn.search(index, other.article_vectors, k, progress=progress, desc="matching")
    records, rows = neighbour_records(other, archive, found, threshold=threshold, progress=progress)
    best = np.asarray(
        [r["neighbors"][0]["event_score"] for r in records if r["neighbors"]], dtype=np.float32
    )
    summary = {
        "collection": archive.path,
        "matched": other.path,
        "articles": archive.size,
        "matched_articles": other.size,
        "k": k,
        "threshold": threshold,
        "with_duplicate": int((best >= threshold).sum()),
        **score_summary(best),
    }
    heatmap = None
    if 0 < other.size <= HEATMAP_MAX and 0 < archive.size <= HEATMAP_MAX:
        heatmap = Heatmap(
            row_titles=list(other.titles),
            col_titles=list(archive.titles),
            matrix=other.article_vectors @ archive.article_vectors.T,
            caption="cosine similarity: matched articles (rows) against the collection (columns)",
        )
    return Report(
        kind="match",
        title=f"Matches of {other.path} in {archive.path}",
        summary=summary,
        columns=NEIGHBOUR_COLUMNS,
        rows=rows,
        records=records,
        scores=best,
        score_label="same-event score (centred cosine) of each matched article's best match",
        threshold=threshold,
        heatmap=heatmap,
        notes=["Rows: articles of the matched corpus; neighbor_*: articles of the collection."],
    )
