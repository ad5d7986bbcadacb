"""Retrieval evaluation on BEIR-layout folders: what ``semsearch eval`` and the benches run.

A folder holds ``corpus.jsonl`` (``{"_id","title","text"}``), ``queries.jsonl``
(``{"_id","text"}``) and ``qrels.tsv`` (``query-id  corpus-id  score``, header optional).
Each corpus entry is ingested as one article exactly as ``semsearch ingest`` would read it
(cleaning, the project's chunker) into a temporary collection; every judged query is run
with results collapsed to articles, and article-level metrics are computed by
:mod:`service.metrics_ir`.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.errors import InputError
from semsearch.embedder.ingest import IngestOptions, IngestStats, prepare_articles
from semsearch.embedder.reading import json_objects
from semsearch.embedder.records import Article, Passage
from semsearch.index import DEFAULT_ANALYZER, Collection
from semsearch.index.results import SEARCH_MODES
from semsearch.service.metrics_ir import RECALL_DEEP, mean_scores, relevant_queries

CORPUS_FILE = "corpus.jsonl"
QUERIES_FILE = "queries.jsonl"
QRELS_FILE = "qrels.tsv"
MODES_ALL = "all"
# Report order of ``--mode all``: the default mode first.
EVAL_MODES = ("hybrid", "dense", "lexical")
QRELS_COLUMNS = 3
LATENCY_PERCENTILES = (50, 99)
# Bump when ingestion or the lexical index changes what a built collection holds, so kept
# collections (``keep_dir``) are rebuilt instead of silently reused.
BUILD_VERSION = 1

Progress = Callable[[int], None]


@dataclass(frozen=True)
class BeirDataset:
    """A BEIR-layout evaluation set, judged queries only.

    ``corpus_path`` is read by the ingestion code itself (so evaluation sees what
    ``semsearch ingest`` sees); ``queries`` keeps file order and ``--limit``.
    """

    name: str
    folder: Path
    corpus_path: Path
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Corpus:
    """The articles of a set cut into passages, with what reading skipped."""

    items: list[tuple[Article, list[Passage]]]
    skipped: int
    skip_examples: list[str]

    @property
    def passages(self) -> int:
        """Number of passages."""
        return sum(len(passages) for _, passages in self.items)


@dataclass
class ModeResult:
    """Scores and timings of one search mode."""

    mode: str
    queries: int
    metrics: dict[str, float]
    timings: dict[str, float]
    rankings: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` object: mode, queries, the metrics, then ``timings``."""
        return {
            "mode": self.mode,
            "queries": self.queries,
            **{name: round(value, 4) for name, value in self.metrics.items()},
            "timings": {name: round(value, 3) for name, value in self.timings.items()},
        }


@dataclass
class EvalReport:
    """The outcome of evaluating one set."""

    dataset: str
    articles: int
    passages: int
    skipped: int
    k: int
    results: list[ModeResult]


def parse_modes(mode: str) -> list[str]:
    """Expand a ``--mode`` value.

    Args:
        mode: ``hybrid``, ``dense``, ``lexical`` or ``all``.

    Returns:
        The modes to run, in report order.

    Raises:
        InputError: Unknown mode.
    """
    if mode == MODES_ALL:
        return list(EVAL_MODES)
    if mode not in SEARCH_MODES:
        raise InputError(
            f"unknown mode {mode!r}; choose one of {', '.join([*EVAL_MODES, MODES_ALL])}"
        )
    return [mode]


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig") as handle:
        yield from json_objects(enumerate(handle, 1), path)


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) != QRELS_COLUMNS:
                raise InputError(
                    f"{path}:{number}: expected 3 tab-separated columns (query-id, corpus-id, score)"
                )
            qid, doc, raw = (part.strip() for part in parts)
            try:
                score = int(raw)
            except ValueError:
                if number == 1:  # the header row
                    continue
                raise InputError(f"{path}:{number}: score {raw!r} is not an integer") from None
            qrels.setdefault(qid, {})[doc] = score
    return qrels


def load_beir(folder: str | Path, *, limit: int | None = None) -> BeirDataset:
    """Read a BEIR-layout folder's queries and qrels, and check its corpus is there.

    Args:
        folder: Directory with ``corpus.jsonl``, ``queries.jsonl``, ``qrels.tsv``.
        limit: Keep only the first N judged queries (file order).

    Returns:
        The set; only queries with a relevant document are kept.

    Raises:
        InputError: Missing folder or file, unreadable line, no judged query, bad limit.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a directory (expected a BEIR folder)")
    paths = {name: folder / name for name in (CORPUS_FILE, QUERIES_FILE, QRELS_FILE)}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if missing:
        raise InputError(f"{folder}: missing {', '.join(missing)} (expected a BEIR folder)")
    if limit is not None and limit < 1:
        raise InputError("limit must be at least 1")
    qrels = _read_qrels(paths[QRELS_FILE])
    wanted = set(relevant_queries(qrels))
    queries: dict[str, str] = {}
    for number, record in _read_jsonl(paths[QUERIES_FILE]):
        qid, text = str(record.get("_id", "")).strip(), record.get("text")
        if not qid or not isinstance(text, str):
            raise InputError(f"{paths[QUERIES_FILE]}:{number}: needs string fields _id and text")
        if qid in wanted and text.strip() and qid not in queries:
            queries[qid] = text
            if limit is not None and len(queries) >= limit:
                break
    if not queries:
        raise InputError(f"{folder}: no query with a relevant document in {QRELS_FILE}")
    return BeirDataset(
        name=folder.resolve().name,
        folder=folder,
        corpus_path=paths[CORPUS_FILE],
        queries=queries,
        qrels={qid: qrels[qid] for qid in queries},
    )


def read_corpus(
    dataset: BeirDataset, embedder: TextEmbedder, *, progress: Progress | None = None
) -> Corpus:
    """Read the corpus as ``semsearch ingest`` would and cut it into passages.

    Records without text are skipped (BEIR corpora have a few); unreadable JSON is an error.

    Args:
        dataset: The set.
        embedder: Supplies the token counter and budget of the chunker.
        progress: Called with 1 per article read.

    Returns:
        Articles with their passages.

    Raises:
        InputError: Unreadable corpus, or nothing left of it.
    """
    _check_corpus_json(dataset.corpus_path)
    stats = IngestStats()
    options = IngestOptions(skip_bad=True)
    items: list[tuple[Article, list[Passage]]] = []
    for article, passages in prepare_articles(
        [dataset.corpus_path], embedder, options=options, stats=stats
    ):
        if passages:
            items.append((article, passages))
        if progress is not None:
            progress(1)
    if not items:
        raise InputError(f"{dataset.corpus_path}: no article with text")
    return Corpus(items, stats.skipped, list(stats.skip_examples))


def _check_corpus_json(path: Path) -> None:
    # Ingestion with skip_bad would quietly drop a broken line; a benchmark must not.
    for _ in _read_jsonl(path):
        pass


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def run_mode(
    collection: Collection,
    dataset: BeirDataset,
    mode: str,
    *,
    k: int = 10,
    progress: Progress | None = None,
) -> ModeResult:
    """Run every query in one mode, collapsed to articles, and score the rankings.

    Args:
        collection: The set's collection.
        dataset: Queries and qrels.
        mode: ``hybrid``, ``dense`` or ``lexical``.
        k: Main cutoff (nDCG@k, Recall@k, MRR@k); Recall@100 is always reported.
        progress: Called with 1 per query.

    Returns:
        Scores, per-query latencies and the rankings.
    """
    depth = max(k, RECALL_DEEP)
    rankings: dict[str, list[str]] = {}
    latencies: list[float] = []
    started = time.perf_counter()
    for qid, text in dataset.queries.items():
        began = time.perf_counter()
        # Evaluation queries are natural text: their quotes are not phrases.
        # Rankings only: snippet windows and highlights were about three quarters of the
        # search time on long passages (sohu2021_dc_retrieval, 120 queries).
        response = collection.search(
            text, mode=mode, k=depth, collapse=True, syntax=False, snippets=False
        )
        latencies.append((time.perf_counter() - began) * 1000.0)
        rankings[qid] = [hit.article_id for hit in response.results]
        if progress is not None:
            progress(1)
    total = time.perf_counter() - started
    timings = {
        "search_s": total,
        **{f"search_p{q}_ms": _percentile(latencies, q) for q in LATENCY_PERCENTILES},
    }
    return ModeResult(
        mode=mode,
        queries=len(dataset.queries),
        metrics=mean_scores(dataset.qrels, rankings, k),
        timings=timings,
        rankings=rankings,
    )


def evaluate(
    dataset: BeirDataset,
    embedder: TextEmbedder,
    *,
    modes: Sequence[str] = EVAL_MODES,
    k: int = 10,
    workdir: Path | None = None,
    progress: Callable[[str, int], Progress] | None = None,
) -> EvalReport:
    """Build a temporary collection from the corpus and score every mode.

    Query vectors are computed in one batch first (through the embedder's cache, when it
    has one), so the per-query timings are search time, not model time.

    Args:
        dataset: The set.
        embedder: The model (its cache makes repeat runs cheap).
        modes: Search modes to run.
        k: Main cutoff.
        workdir: Where the temporary collection goes (default: the system temp dir).
        progress: Factory ``(label, total) -> advance`` for progress bars.

    Returns:
        The report; each mode's timings also hold the shared ingest and embedding times.

    Raises:
        InputError: Bad input, unknown mode, or ``k`` below 1.
    """
    if k < 1:
        raise InputError("-k must be at least 1")
    for mode in modes:
        parse_modes(mode)
    started = time.perf_counter()
    corpus = read_corpus(dataset, embedder)
    with tempfile.TemporaryDirectory(prefix="semsearch-eval-", dir=workdir) as tmp:
        collection = Collection.create(Path(tmp) / "collection", embedder, kind="flat")
        try:
            advance = progress("indexing", corpus.passages) if progress else None
            collection.upsert(_counted(corpus.items, advance))
            ingest_s = time.perf_counter() - started
            embed_s = 0.0
            if any(mode != "lexical" for mode in modes):
                began = time.perf_counter()
                embedder.embed_queries(list(dataset.queries.values()))
                embed_s = time.perf_counter() - began
            results = []
            for mode in modes:
                advance = progress(mode, len(dataset.queries)) if progress else None
                result = run_mode(collection, dataset, mode, k=k, progress=advance)
                result.timings = {
                    "ingest_s": ingest_s,
                    "passages_per_s": corpus.passages / ingest_s if ingest_s > 0 else 0.0,
                    "query_embed_s": embed_s if mode != "lexical" else 0.0,
                    **result.timings,
                }
                results.append(result)
        finally:
            collection.close()
    return EvalReport(
        dataset=dataset.name,
        articles=len(corpus.items),
        passages=corpus.passages,
        skipped=corpus.skipped,
        k=k,
        results=results,
    )


def kept_collection(
    dataset: BeirDataset,
    embedder: TextEmbedder,
    keep_dir: Path,
    *,
    analyzer: str = DEFAULT_ANALYZER,
) -> Collection:
    """Open the set's collection kept under ``keep_dir``, building it on first use.

    Tuning runs search one set thousands of times; rebuilding it per run would cost the
    ingestion (segmentation, FTS5) each time. The kept copy is keyed by the corpus bytes,
    the model fingerprint, the embedding backend, the lexical analyzer and
    :data:`BUILD_VERSION`, so a changed input rebuilds it.

    Args:
        dataset: The set.
        embedder: The model.
        keep_dir: Parent folder of kept collections (e.g. ``var/eval-cache``).
        analyzer: Lexical analyzer of the collection.

    Returns:
        The open collection (writable; close it when done).
    """
    digest = hashlib.sha256()
    digest.update(dataset.corpus_path.read_bytes())
    # The backend too: int8 and bf16 vectors of the same weights differ slightly.
    backend = getattr(embedder, "backend_name", "")
    digest.update(f"{embedder.fingerprint}:{backend}:{analyzer}:{BUILD_VERSION}".encode())
    path = keep_dir / f"{dataset.name}-{digest.hexdigest()[:12]}"
    if Collection.exists(path):
        return Collection.open(path, embedder)
    corpus = read_corpus(dataset, embedder)
    building = path.with_name(path.name + ".building")
    if building.exists():
        for entry in building.iterdir():
            entry.unlink()
    collection = Collection.create(building, embedder, kind="flat", analyzer=analyzer)
    try:
        collection.upsert(corpus.items)
    finally:
        collection.close()
    # Only a complete build gets the final name, so an interrupted one is never reused.
    building.rename(path)
    return Collection.open(path, embedder)


def _counted(
    items: list[tuple[Article, list[Passage]]], advance: Progress | None
) -> Iterator[tuple[Article, list[Passage]]]:
    for article, passages in items:
        yield article, passages
        if advance is not None:
            advance(len(passages))
