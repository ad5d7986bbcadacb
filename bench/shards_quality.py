"""A sharded collection against one collection: same top-10? same nDCG@10?

Every BEIR set in ``../shared/eval`` is built once as one collection (kept under
``var/eval-cache``, as ``semsearch eval --keep`` keeps it), split into ``--shards``
shards (vectors copied), and every judged query runs in each mode on both, results
collapsed to articles as ``semsearch eval`` does. Dense search merges exact per-shard
lists, so it must agree; lexical and hybrid use BM25 with per-shard statistics (tantivy's
binding takes no outside statistics), which is what this measures.
Run: ``python -m bench.shards_quality [--quick] [--shards 3]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.index.cluster import create_cluster, split_collection
from semsearch.index.sharded import ShardedCollection
from semsearch.service.evaluation import (
    EVAL_MODES,
    kept_collection,
    load_beir,
    mean_scores,
    read_corpus,
    run_mode,
)

from .harness import ROOT, options, table, write_section
from .quality import eval_sets

SECTION = "shards-quality"
QUICK_QUERIES = 100
RESULTS_JSON = ROOT / "var" / "bench" / "shards_quality-{build}.json"
KEEP = ROOT / "var" / "eval-cache"


def overlap(a: dict[str, list[str]], b: dict[str, list[str]], k: int = 10) -> tuple[float, float]:
    """Mean share of a query's top-k both rankings hold, and share of identical top-k lists."""
    # Two empty lists agree fully (an English query can match no Chinese term at all).
    shares = [
        len(set(a[q][:k]) & set(b[q][:k])) / n if (n := max(len(a[q][:k]), len(b[q][:k]))) else 1.0
        for q in a
    ]
    same = [a[q][:k] == b[q][:k] for q in a]
    return sum(shares) / max(1, len(shares)), sum(same) / max(1, len(same))


def main(argv: list[str] | None = None) -> None:
    """Run the comparison and record it."""
    parser = options(__doc__, quick=f"two sets, {QUICK_QUERIES} queries")
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument(
        "--build",
        choices=("split", "fresh"),
        default="fresh",
        help="split: `shard split` of the collection (each shard's engine still counts the "
        "passages it deleted in its BM25 statistics until its segments merge); fresh: empty "
        "shards filled by routed writes (each shard's statistics are its own)",
    )
    parser.add_argument("--queries", type=int, help="first N judged queries per set")
    args = parser.parse_args(argv)
    embedder = Embedder.from_settings(Settings(progress=False))
    limit = QUICK_QUERIES if args.quick else args.queries
    rows: list[list[object]] = []
    saved: dict[str, Any] = {}
    for folder in eval_sets(args.quick):
        dataset = load_beir(folder, limit=limit)
        with tempfile.TemporaryDirectory(prefix="semsearch-shards-") as tmp:
            single = kept_collection(dataset, embedder, KEEP)
            source = single.path
            single.close()
            if args.build == "split":
                split_collection(source, Path(tmp) / "cluster", embedder, args.shards)
            else:
                create_cluster(Path(tmp) / "cluster", embedder, args.shards)
                with ShardedCollection.open(Path(tmp) / "cluster", embedder) as filling:
                    filling.upsert(read_corpus(dataset, embedder).items)
            embedder.embed_queries(list(dataset.queries.values()))
            with single.__class__.open(source, embedder, read_only=True) as one, ShardedCollection.open(
                Path(tmp) / "cluster", embedder
            ) as cluster:
                for mode in EVAL_MODES:
                    a = run_mode(one, dataset, mode)
                    b = run_mode(cluster, dataset, mode)  # type: ignore[arg-type]
                    share, same = overlap(a.rankings, b.rankings)
                    nb = mean_scores(dataset.qrels, b.rankings, 10)["ndcg@10"]
                    na = a.metrics["ndcg@10"]
                    rows.append([dataset.name, mode, len(dataset.queries), na, nb, nb - na, share, same])
                    saved.setdefault(dataset.name, {})[mode] = {
                        "ndcg10_single": na, "ndcg10_sharded": nb, "top10_overlap": share, "top10_identical": same,
                    }
                    print(f"{dataset.name} {mode}: nDCG@10 {na:.4f} -> {nb:.4f}, overlap {share:.4f}", file=sys.stderr, flush=True)
    results = Path(str(RESULTS_JSON).format(build=args.build))
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(saved, indent=1), encoding="utf-8")
    body = (
        f"One collection against the same articles in {args.shards} shards, "
        + (
            "made by `semsearch shard split` (vectors copied; each shard's lexical engine still "
            "counts the passages the split deleted in its BM25 statistics until its segments merge, "
            "so its statistics are still nearly the whole collection's; "
            if args.build == "split"
            else "made by `shard create` and routed writes (each shard's BM25 statistics are its "
            "own: the case of a cluster that grew by writes; "
        )
        + "exact vector search; results collapsed to articles as `semsearch eval` does"
        + (f"; first {limit} queries per set" if limit else "; all judged queries")
        + "). Top-10 overlap: mean share of a query's top 10 articles both return; identical: share of "
        "queries whose top 10 is the same list in the same order. BM25 is computed per shard (tantivy's "
        "Python binding cannot take collection-wide statistics), so lexical and hybrid can differ.\n\n"
        + table(
            ["set", "mode", "queries", "nDCG@10 one", f"nDCG@10 {args.shards} shards", "Δ", "top-10 overlap", "identical top-10"],
            rows,
        )
    )
    command = (
        "python -m bench.shards_quality"
        + (" --quick" if args.quick else "")
        + f" --shards {args.shards} --build {args.build}"
        + (f" --queries {args.queries}" if args.queries else "")
    )
    write_section(
        f"{SECTION}-{args.build}",
        f"Sharded collection: quality against one collection ({args.shards} shards, {args.build})",
        command,
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
