"""Cost of the match set (``total``, facets) and of phrase queries, in process.

Builds (once, kept under ``var/bench``) a collection of the first ``--records`` records
of ``news-112k.jsonl`` with the real model: the whole corpus takes about 15 minutes to
embed on two shared cores, a subset a few. Then, for distinct queries from
``bench.http.make_queries``, it times ``Collection.search`` (hybrid, k=10, per-article):

- plain, as before counting existed (``count=False``);
- with ``total`` and ``facets=source,section,year,month`` (what ``GET /search`` with
  ``facets=`` runs);
- phrase queries (four consecutive Chinese characters taken from the subset's own texts,
  quoted, so every one matches) in lexical and hybrid mode.

The query embedding comes from the on-disk embedding cache after a first run, so
each query is run once per variant, variants interleaved. Run:
``python -m bench.query_speed [--records N] [--queries N]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.index import Collection

from .common import ROOT, table, write_section
from .corpus import BENCH_DIR, NEWS
from .http import make_queries

SECTION = "5d-query-speed"
RECORDS = 4000
QUERIES = 60
FACETS = ["source", "section", "year", "month"]
CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")


def subset_collection(records: int) -> Path:
    """The first ``records`` news records ingested with the real model (built once)."""
    target = BENCH_DIR / f"news-first{records}"
    if (target / "manifest.json").is_file():
        return target
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    source = BENCH_DIR / f"news-first{records}.jsonl"
    with NEWS.open(encoding="utf-8") as src, source.open("w", encoding="utf-8") as out:
        out.writelines(itertools.islice(src, records))
    command = [sys.executable, "-m", "semsearch.service.cli", "ingest", str(source),
               "--index", str(target), "--source", "news112k", "--no-progress"]
    subprocess.run(command, cwd=ROOT, check=True)
    return target


def corpus_phrases(source: Path, n: int) -> list[str]:
    """``n`` quoted four-character Chinese runs from the subset's texts (fixed seed)."""
    rng = random.Random(14)
    runs: list[str] = []
    with source.open(encoding="utf-8") as handle:
        for line in handle:
            runs += [r for r in CJK_RUN.findall(json.loads(line)["text"]) if len(r) >= 4]
    picked = rng.sample(runs, n)
    return [f'"{run[i : i + 4]}"' for run in picked for i in [rng.randrange(len(run) - 3)]]


def _timed(run: object) -> float:
    began = time.perf_counter()
    run()  # type: ignore[operator]
    return (time.perf_counter() - began) * 1000.0


def main(argv: list[str] | None = None) -> None:
    """Measure and write the section."""
    parser = argparse.ArgumentParser(prog="python -m bench.query_speed")
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--queries", type=int, default=QUERIES)
    args = parser.parse_args(argv)
    path = subset_collection(args.records)
    embedder = Embedder.from_settings(Settings(progress=False))
    queries = make_queries(args.queries)
    phrases = corpus_phrases(BENCH_DIR / f"news-first{args.records}.jsonl", args.queries)
    times: dict[str, list[float]] = {k: [] for k in ("plain", "counted", "phrase-lex", "phrase-hyb")}
    sizes: list[int] = []
    phrase_hits: list[int] = []
    with Collection.open(path, embedder, read_only=True) as coll:
        passages = coll.info().passages
        coll.search("经济", k=10)  # warm-up: jieba, FAISS, SQLite pages
        for query, phrase in zip(queries, phrases, strict=True):
            coll.search(query, k=10, collapse=True)  # embeds the query once for both runs
            times["plain"].append(_timed(lambda q=query: coll.search(q, k=10, collapse=True)))
            times["counted"].append(
                _timed(lambda q=query: coll.search(q, k=10, collapse=True, facets=FACETS))
            )
            sizes.append(coll.search(query, k=10, collapse=True, count=True).total or 0)
            times["phrase-lex"].append(
                _timed(lambda p=phrase: coll.search(p, mode="lexical", k=10, count=True))
            )
            phrase_hits.append(coll.search(phrase, mode="lexical", k=10, count=True).total or 0)
            coll.search(phrase, k=10)
            times["phrase-hyb"].append(_timed(lambda p=phrase: coll.search(p, k=10, count=True)))
    p50 = {k: statistics.median(v) for k, v in times.items()}
    p90 = {k: float(np.percentile(v, 90)) for k, v in times.items()}
    rows = [
        ["hybrid, plain (count=False)", f"{p50['plain']:.1f}", f"{p90['plain']:.1f}"],
        ["hybrid + total + facets " + ",".join(FACETS), f"{p50['counted']:.1f}",
         f"{p90['counted']:.1f}"],
        ["phrase query, lexical, with total", f"{p50['phrase-lex']:.1f}",
         f"{p90['phrase-lex']:.1f}"],
        ["phrase query, hybrid, with total", f"{p50['phrase-hyb']:.1f}",
         f"{p90['phrase-hyb']:.1f}"],
    ]
    body = "\n\n".join(
        [
            f"A subset, not the 112k collection: the first {args.records:,} records of "
            f"news-112k ({passages:,} passages, real model, flat index), built in this "
            "worktree; the full corpus takes ~15 minutes to embed on the shared machine. "
            f"{args.queries} distinct queries per row, in process (`Collection.search`, "
            "k=10, per article; query vectors come from the embedding cache after a first run, so "
            "the rows compare the search itself). Seven other developers (and this worktree's own "
            "bench.matchset run) were running "
            "tests and builds on the same two cores, so absolute figures are noisy.",
            table(["query", "p50 ms", "p90 ms"], rows),
            f"Facets and total add {p50['counted'] - p50['plain']:.1f} ms to the hybrid p50 "
            f"here (mean match set {statistics.mean(sizes):.0f} articles). Phrase queries "
            f"matched {statistics.mean(phrase_hits):.1f} articles on average (median "
            f"{statistics.median(phrase_hits):.0f}). The 112k "
            "collection was not measured: the dense range search and the FTS5 phrase "
            "lookup both grow with the collection, so these figures are a lower bound "
            "for it.",
        ]
    )
    write_section(
        SECTION,
        "Query syntax and counting: speed",
        f"python -m bench.query_speed --records {args.records} --queries {args.queries}",
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
