"""Cost of the match set (``total``, facets) and of phrase queries on the 112k collection.

Two parts, one after the other in the same run (never at once on the shared cores):

1. Over loopback HTTP against ``semsearch serve`` (started by :func:`bench.http.start_server`,
   on-disk embedding cache off), one client, one row per request shape, the rows
   interleaved query by query so load changes hit them alike:

   - hybrid, as the API answers by default (it always counts ``total``);
   - hybrid with ``facets=`` (what the search page asks for);
   - phrase queries, lexical and hybrid, with the same facets.

   Every request is distinct (no query-cache answer, each query embedded by the model).
   Phrases are jieba words of three or more Chinese characters taken from random records
   of the corpus (fixed seed, weighted by how often words occur), quoted, so each matches.
2. In process on the same collection, read-only: ``Collection.search`` with
   ``count=False`` (no match set, as before counting existed) against ``count=True`` and
   the facets, for the same queries; the query vector comes from a warm-up search, so the
   pair compares the search itself. HTTP cannot switch counting off, so this is the
   figure for what counting adds.

Run: ``python -m bench.query_speed [--index DIR] [--queries N] [--quick]``.
"""

from __future__ import annotations

import json
import random
import re
import statistics
from functools import partial
from pathlib import Path

import httpx

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.index import Collection
from semsearch.index.lexical import tokenize

from .corpus import NEWS, news_collection
from .harness import (
    MS,
    free_port,
    load_text,
    options,
    percentiles,
    query_count,
    start_server,
    stop_server,
    table,
    timed,
    write_section,
)
from .http import make_queries, run_client, timed_search

SECTION = "query-speed"
QUERIES = 200
QUICK_QUERIES = 30
WARMUP = 10
# The page's facets plus one metadata facet: the corpus has one source and no dates, so
# meta.src (five values) is the facet that has values to count.
FACETS = ["source", "year", "month", "meta.src"]
PHRASE_MIN_CHARS = 3
TARGET_ADDED_MS = 30.0
TARGET_PHRASE_MS = 30.0
_CJK_WORD = re.compile(r"[\u4e00-\u9fff]+")


def corpus_phrases(n: int, *, seed: int = 14) -> list[str]:
    """``n`` distinct quoted words of the corpus, each from a random record.

    Args:
        n: How many.
        seed: Random seed (the list is the same every run).

    Returns:
        Phrases such as ``'"人民群众"'``.
    """
    rng = random.Random(seed)
    lines = NEWS.read_text(encoding="utf-8").splitlines()
    phrases: dict[str, None] = {}
    for index in rng.sample(range(len(lines)), len(lines)):
        words = [
            w
            for w in tokenize(json.loads(lines[index])["text"])
            if len(w) >= PHRASE_MIN_CHARS and _CJK_WORD.fullmatch(w)
        ]
        if words:
            phrases.setdefault(f'"{rng.choice(words)}"', None)
        if len(phrases) == n:
            return list(phrases)
    raise SystemExit(f"the corpus has fewer than {n} distinct phrases")


def _row(name: str, latencies: list[float], answers: list[dict]) -> list[object]:
    p50, p99 = percentiles(latencies, scale=MS)
    totals = [a["total"] for a in answers]
    return [
        name,
        len(latencies),
        f"{p50:.1f}",
        f"{p99:.1f}",
        f"{statistics.median(totals):.0f}",
        f"{statistics.mean(totals):.1f}",
        sum(t == 0 for t in totals),
    ]


def measure_http(
    index: Path, warmup: list[str], rows: dict[str, tuple[list[str], dict]]
) -> tuple[dict, dict, str]:
    """Run each row's queries against a fresh server, interleaved query by query.

    Args:
        index: The collection.
        warmup: Queries sent first, not measured.
        rows: Name -> (queries, extra ``GET /search`` parameters); equal lengths.

    Returns:
        Latencies and answers by row name, and ``/readyz`` as text.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_server(index, port)
    latencies: dict[str, list[float]] = {name: [] for name in rows}
    answers: dict[str, list[dict]] = {name: [] for name in rows}
    errors: list[str] = []
    try:
        ready = httpx.get(base + "/readyz").json()
        run_client(base, warmup, [], errors, {"facets": ",".join(FACETS)})
        count = len(next(iter(rows.values()))[0])
        with httpx.Client(base_url=base, timeout=60) as client:  # one kept-alive connection
            for i in range(count):
                for name, (queries, params) in rows.items():
                    timed_search(client, queries[i], latencies[name], errors, params, answers[name])
    finally:
        stop_server(process)
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    return latencies, answers, f"{ready['articles']:,} articles, {ready['passages']:,} passages"


def measure_in_process(index: Path, queries: list[str]) -> tuple[list[float], list[float]]:
    """Hybrid search without counting and with total + facets, same queries, in turn.

    Returns:
        Milliseconds per query: plain, counted.
    """
    embedder = Embedder.from_settings(Settings(progress=False))
    plain: list[float] = []
    counted: list[float] = []
    with Collection.open(index, embedder, read_only=True) as coll:
        coll.search("经济", k=10)  # warm-up: jieba, FAISS, SQLite pages
        for query in queries:
            coll.search(query, k=10, collapse=True)  # embeds the query once for both runs
            plain.append(MS * timed(partial(coll.search, query, k=10, collapse=True)))
            counted.append(
                MS * timed(partial(coll.search, query, k=10, collapse=True, facets=FACETS))
            )
    return plain, counted


def main(argv: list[str] | None = None) -> None:
    """Measure and write the section."""
    parser = options(
        __doc__, prog="python -m bench.query_speed", record=True, index=True, queries=QUERIES
    )
    args = parser.parse_args(argv)
    n = query_count(args, QUERIES, QUICK_QUERIES)
    index = args.index or news_collection(quick=args.quick)
    words = make_queries(WARMUP + 3 * n)
    phrases = corpus_phrases(2 * n)
    facets = {"facets": ",".join(FACETS)}
    rows = {
        "hybrid": (words[WARMUP::2][:n], {}),
        "hybrid + facets": (words[WARMUP + 1 :: 2][:n], facets),
        "phrase, lexical + facets": (phrases[0::2], {**facets, "mode": "lexical"}),
        "phrase, hybrid + facets": (phrases[1::2], facets),
    }
    load_before = load_text()
    latencies, answers, size = measure_http(index, words[:WARMUP], rows)
    load_http = load_text()
    # The in-process queries are the HTTP run's unused third: none was embedded before.
    plain, counted = measure_in_process(index, words[WARMUP + 2 * n :][:n])
    load_after = load_text()
    http_rows = [_row(name, latencies[name], answers[name]) for name in latencies]
    p50 = {name: percentiles(v, scale=MS)[0] for name, v in latencies.items()}
    plain_p50, counted_p50 = statistics.median(plain), statistics.median(counted)
    added_http = p50["hybrid + facets"] - p50["hybrid"]
    added = counted_p50 - plain_p50
    phrase_worst = max(p50["phrase, lexical + facets"], p50["phrase, hybrid + facets"])

    def verdict(value: float, target: float) -> str:
        return f"**{value:.1f} ms** (target ≤ {target:.0f} ms: {'met' if value <= target else 'missed'})"

    facet_list = ",".join(FACETS)
    body = "\n\n".join(
        [
            f"Collection `{index.name}` ({size}; HNSW, one source, no dates: the year and "
            f"month facets count nothing here, meta.src has five values). Facets asked: "
            f"`{facet_list}`. Load average (1/5/15 min) before the run {load_before}, after "
            f"the HTTP part {load_http}, at the end {load_after}: other developers' tests "
            "and benchmarks share the two cores, so compare rows of this run with each other.",
            f"**Over HTTP**: `semsearch serve`, one client, {n} distinct requests per row "
            "(k=10, rows interleaved request by request, on-disk embedding cache off, every "
            f"query embedded by the model; {WARMUP} warm-up requests first). `total` is the "
            "API's count of matching articles; the last three columns describe it per request.",
            table(
                [
                    "request",
                    "requests",
                    "p50 ms",
                    "p99 ms",
                    "median total",
                    "mean total",
                    "total = 0",
                ],
                http_rows,
            ),
            f"**In process**, the same collection, {n} other distinct hybrid queries "
            "(`Collection.search`, k=10, per article, query vectors cached by a warm-up search):",
            table(
                ["search", "p50 ms", "p99 ms"],
                [
                    [
                        "hybrid, count=False (no match set)",
                        f"{plain_p50:.1f}",
                        f"{percentiles(plain)[1]:.1f}",
                    ],
                    [
                        f"hybrid + total + facets {facet_list}",
                        f"{counted_p50:.1f}",
                        f"{percentiles(counted)[1]:.1f}",
                    ],
                ],
            ),
            f"Facets and total add {verdict(added, TARGET_ADDED_MS)} to the p50 of a hybrid "
            f"search in process; over HTTP, asking for the facets adds {added_http:.1f} ms "
            f"to the p50 (`total` is in both rows). Phrase queries over HTTP, with total and "
            f"facets: p50 lexical {p50['phrase, lexical + facets']:.1f} ms, hybrid "
            f"{p50['phrase, hybrid + facets']:.1f} ms; the slower is "
            f"{verdict(phrase_worst, TARGET_PHRASE_MS)}.",
        ]
    )
    command = "python -m bench.query_speed" + (f" --index {args.index}" if args.index else "")
    command += f" --queries {args.queries}" if args.queries else ""
    command += " --quick" if args.quick else ""
    if not args.no_record:
        write_section(SECTION, "Query syntax and counting: speed", command, body)
    print(body)


if __name__ == "__main__":
    main()
