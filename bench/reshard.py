"""Re-sharding a cluster against splitting one collection, on People's Daily paragraphs.

One collection is built once through ``semsearch ingest`` (real model, entities tagged),
split into 3 shards, and that cluster is resharded into 2 and into 5. Timed in process
(the model is loaded before the clock starts, so ``split`` pays no model load):
``shard split`` copies each shard as a backup and deletes what it does not own; a reshard
reads every article, passage, vector and mention and writes them again (the lexical index
of each new shard is built anew). Then the top-10 agreement of lexical and hybrid search
between the 3-shard source and each reshard (BM25 statistics are per shard; dense results,
totals and facets are equal, tests/test_reshard.py). Run: ``python -m bench.reshard [--quick]``.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.index.cluster import split_collection
from semsearch.index.reshard import reshard_cluster
from semsearch.index.sharded import ShardedCollection
from semsearch.service.cli import main as cli

from .distributed import _write_corpus
from .harness import load_average, options, table, write_section

PARAGRAPHS = 5000
QUICK_PARAGRAPHS = 600
RUNS = 3
SOURCE_SHARDS = 3
QUERIES = (
    "经济体制改革",
    "香港回归祖国",
    "农业生产和农民收入",
    "国有企业改革",
    "江泽民 新年讲话",
    "科技 教育",
    "抗洪救灾",
    "外交部发言人",
    "体育比赛 冠军",
    "环境保护 污染",
)


def _timed(run: Callable[[Path], object], root: Path, name: str) -> tuple[float, float]:
    """Median seconds of :data:`RUNS` runs into fresh directories, and the 1-minute load
    when the first started (the machine is shared)."""
    load = load_average()[0]
    seconds = []
    for attempt in range(RUNS):
        began = time.perf_counter()
        run(root / f"{name}-{attempt}")
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), load


def _agreement(source: Path, copy: Path, embedder: Embedder, mode: str) -> float:
    """Mean share of the copy's top 10 the source ranks in its top 10 (a hit tied with the
    source's 10th score counts as in)."""
    shares = []
    with ShardedCollection.open(source, embedder) as a, ShardedCollection.open(copy, embedder) as b:
        for query in QUERIES:
            deep = a.search(query, mode=mode, k=100).results
            top = b.search(query, mode=mode, k=10).results
            if not top or not deep:
                continue
            score = {(h.article_id, h.ordinal): h.score for h in deep}
            edge = deep[min(9, len(deep) - 1)].score - 1e-6
            shares.append(sum(score.get((h.article_id, h.ordinal), -1.0) >= edge for h in top) / len(top))
    return statistics.mean(shares)


def main() -> None:
    """Run the benchmark and record it."""
    args = options(__doc__, prog="python -m bench.reshard").parse_args()
    n = QUICK_PARAGRAPHS if args.quick else PARAGRAPHS
    embedder = Embedder.from_settings(Settings(progress=False))
    with tempfile.TemporaryDirectory(prefix="bench-reshard-") as tmp:
        root = Path(tmp)
        corpus, one, source = root / "news.jsonl", root / "one", root / "c3"
        _write_corpus(corpus, n)
        with contextlib.redirect_stdout(io.StringIO()):
            if cli(["ingest", str(corpus), "--index", str(one), "--no-progress"]) != 0:
                raise SystemExit("bench: ingest failed")
        split_collection(one, source, embedder, SOURCE_SHARDS)
        rows = []
        seconds, load = _timed(lambda d: split_collection(one, d, embedder, SOURCE_SHARDS), root, "split")
        rows.append([f"shard split: 1 collection -> {SOURCE_SHARDS}", seconds, "-", "-", load])
        for shards in (2, 5):
            report = reshard_cluster(source, root / f"r{shards}", shards)
            seconds, load = _timed(lambda d, m=shards: reshard_cluster(source, d, m), root, f"r{shards}-t")
            rows.append(
                [
                    f"shard reshard: {SOURCE_SHARDS} -> {shards}",
                    seconds,
                    f"{_agreement(source, root / f'r{shards}', embedder, 'lexical'):.2f}",
                    f"{_agreement(source, root / f'r{shards}', embedder, 'hybrid'):.2f}",
                    load,
                ]
            )
    body = (
        f"{report.articles} articles, {report.passages} passages ({report.tagged} tagged) of "
        f"People's Daily paragraphs. Median of {RUNS} runs in process, model already loaded; "
        "`load avg` is the 1-minute load when the first run started (the machine is shared). "
        f"Top-10 agreement over {len(QUERIES)} queries: share of the reshard's top 10 that "
        f"the {SOURCE_SHARDS}-shard source ranks in its top 10 (ties at its 10th score count).\n\n"
        + table(["operation", "seconds", "lexical top-10", "hybrid top-10", "load avg"], rows)
        + "\n\nA split copies files and deletes; a reshard rewrites every row and rebuilds each "
        "shard's lexical index, so it costs more per passage, and nothing is embedded or tagged "
        "again in either.\n"
    )
    write_section(
        "reshard",
        "Re-sharding a cluster",
        "python -m bench.reshard" + (" --quick" if args.quick else ""),
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
