"""What entity facets add to a search: the same queries with the search page's facets
before this release (source, year, month) and with person, place and org added, in process.

Each query runs once to embed it (the query cache then serves both timed runs), then the
two facet sets alternate (which goes first alternates too, so a warming cache favours
neither). Hybrid and lexical mode, ``count=True`` and one hit per article, as the page asks.
Target (issue #30): entity facets add at most 5 ms to the p50.

Run: ``python -m bench.entity_facets [--index DIR] [--queries N] [--quick] [--no-record]``;
the default collection is ``bench.corpus``'s (ingested with entities, the default).
"""

from __future__ import annotations

import statistics

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.index import Collection, SearchRequest

from .corpus import BENCH_DIR, news_collection
from .harness import (
    MS,
    load_text,
    options,
    percentiles,
    query_count,
    table,
    timed,
    write_section,
)
from .http import ASPECTS, TOPICS, make_queries

SECTION = "entity-facets"
QUERIES = 200
QUICK_QUERIES = 30
BEFORE = ("source", "year", "month")
AFTER = (*BEFORE, "person", "place", "org")
TARGET_ADDED_MS = 5.0


def measure(coll: Collection, queries: list[str], mode: str) -> tuple[list[float], list[float], list[int]]:
    """Milliseconds per query without and with entity facets, and each query's total."""
    before: list[float] = []
    after: list[float] = []
    totals: list[int] = []
    for number, query in enumerate(queries):
        plain = SearchRequest(query=query, mode=mode, collapse=True, facets=BEFORE)
        entities = SearchRequest(query=query, mode=mode, collapse=True, facets=AFTER)
        totals.append(coll.run(plain).total or 0)  # embeds the query once for both runs
        pair = [(before, plain), (after, entities)]
        for sink, request in pair if number % 2 else reversed(pair):
            sink.append(MS * timed(coll.run, request))
    return before, after, totals


def entity_counts(coll: Collection) -> tuple[int, int]:
    """Articles tagged and distinct entities named."""
    return coll.tagged_articles(), len(coll.top_entities(limit=10_000_000))


def main(argv: list[str] | None = None) -> None:
    """Measure and write the section."""
    parser = options(
        __doc__,
        prog="python -m bench.entity_facets",
        quick="the 10k collection, fewer queries",
        record=True,
        index=True,
        queries=QUERIES,
    )
    parser.add_argument(
        "--size",
        choices=["112k", "1m"],
        default="112k",
        help="bench collection (1m: bench.million's, tagged with `semsearch index enrich`)",
    )
    args = parser.parse_args(argv)
    n = query_count(args, QUERIES, QUICK_QUERIES)
    million = args.size == "1m" and not args.quick
    index = args.index or (BENCH_DIR / "news-1m" if million else news_collection(quick=args.quick))
    queries = make_queries(2 * n)
    embedder = Embedder.from_settings(Settings(progress=False))
    rows = []
    loads = [load_text()]
    with Collection.open(index, embedder, read_only=True) as coll:
        articles, passages = coll.counts()
        tagged, named = entity_counts(coll)
        coll.run(SearchRequest(query="经济", facets=AFTER))  # warm-up: jieba, FAISS, SQLite, engine
        # One topic or aspect word alone: broad match sets (thousands of articles; above
        # the counting limit, estimates).
        broad = [*TOPICS, *ASPECTS]
        for label, mode, chosen in (
            ("hybrid", "hybrid", queries[0::2]),
            ("lexical", "lexical", queries[1::2]),
            ("lexical, one word", "lexical", broad),
            ("hybrid, one word", "hybrid", broad),
        ):
            before, after, totals = measure(coll, chosen, mode)
            loads.append(load_text())
            added = [b - a for a, b in zip(before, after, strict=True)]
            p50_before, p99_before = percentiles(before)
            p50_after, p99_after = percentiles(after)
            rows.append(
                [
                    label, len(chosen), f"{p50_before:.1f}", f"{p99_before:.1f}",
                    f"{p50_after:.1f}", f"{p99_after:.1f}", f"{p50_after - p50_before:+.1f}",
                    f"{statistics.median(added):+.1f}", f"{statistics.median(totals):.0f}",
                ]
            )  # fmt: skip
    body = "\n\n".join(
        [
            f"Collection: {index.name}, {articles:,} articles, {passages:,} passages; "
            f"{tagged:,} articles tagged (LAC with the project's rules"
            + (", by `semsearch index enrich`), " if million else ", at ingest), ")
            +
            f"{named:,} distinct entities. In process, read-only, the default backend's "
            f"query embeddings cached after a first run. Facets before: {', '.join(BEFORE)}; "
            f"after: also person, place, org (up to 100 values each). "
            f"Load average (1/5/15 min) before and after each row: {' → '.join(loads)}.",
            table(
                [
                    "queries", "n", "p50 before ms", "p99 before ms", "p50 with entities ms",
                    "p99 with entities ms", "p50 added ms", "median per-query added ms",
                    "median matching articles",
                ],
                rows,
            ),
            f"Target: entity facets add at most {TARGET_ADDED_MS:.0f} ms to the p50 "
            "(issue #30 asks it at 1M passages; measured here at the size above). The "
            "counts are exact up to the match set's counting limit (10,000 passages): one "
            "passage per matching article (the set itself when, as in this corpus of one "
            "passage per article, no article matches twice) goes through one terms "
            "aggregation of the three entity fields; above the limit, the engine's estimates "
            "as for the other facets. The machine is shared: rows move by several ms "
            "between runs at this load; the one-word rows (hundreds of matching articles) "
            "are where the added cost grows.",
        ]
    )
    print(body)
    if not args.no_record:
        command = "python -m bench.entity_facets" + (" --quick" if args.quick else "")
        command += " --size 1m" if million else ""
        if args.index:
            command += f" --index {args.index}"
        title = "Entity facets: what they add to a search" + (" (1M)" if million else "")
        write_section(f"{SECTION}-1m" if million else SECTION, title, command, body)


if __name__ == "__main__":
    main()
