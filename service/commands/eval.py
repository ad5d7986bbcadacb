"""``semsearch eval DATASET_DIR``: retrieval quality on a BEIR-layout folder."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from semsearch.service.cli import add_common_options, at_least, settings_from_args
from semsearch.service.context import CommandContext
from semsearch.service.evaluation import (
    EVAL_MODES,
    MODES_ALL,
    BeirDataset,
    EvalReport,
    Progress,
    evaluate,
    load_beir,
    parse_modes,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval`` command.

    Args:
        subparsers: The top-level sub-parser collection.
    """
    parser = subparsers.add_parser(
        "eval",
        help="measure retrieval quality on a BEIR-layout folder",
        description="Index the folder's corpus.jsonl (one article per entry, cut into passages "
        "as by `ingest`) into a temporary collection, run every judged query of queries.jsonl, "
        "collapse hits to articles and score them against qrels.tsv: nDCG@k (graded), "
        "Recall@k, Recall@100 and MRR@k. Embeddings are cached, so repeat runs are fast.",
    )
    add_common_options(parser)
    parser.add_argument("dataset", type=Path, metavar="DATASET_DIR", help="BEIR-layout folder")
    parser.add_argument(
        "--mode",
        default=MODES_ALL,
        help=f"{'|'.join(EVAL_MODES)}|{MODES_ALL} (default {MODES_ALL})",
    )
    parser.add_argument(
        "-k", type=int, default=10, help="cutoff of nDCG, Recall and MRR (default 10)"
    )
    parser.add_argument("--limit", type=at_least(1), metavar="N", help="only the first N judged queries")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, context: CommandContext) -> int:
    """Evaluate and print one line (or JSON object) per mode."""
    modes = parse_modes(args.mode)
    dataset = load_beir(args.dataset, limit=args.limit)
    settings = settings_from_args(args)
    show = settings.progress and not args.json and sys.stderr.isatty()
    report = evaluate(
        dataset,
        context.load_embedder(settings),
        modes=modes,
        k=args.k,
        progress=_bars() if show else None,
    )
    if args.json:
        for result in report.results:
            print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        _print_table(report, dataset)
    return 0


def _bars() -> Callable[[str, int], Progress]:
    def factory(label: str, total: int) -> Progress:
        bar = tqdm(total=total, desc=label, leave=False)

        def advance(count: int) -> None:
            bar.update(count)
            if bar.n >= total:
                bar.close()

        return advance

    return factory


def _print_table(report: EvalReport, dataset: BeirDataset) -> None:
    k = report.k
    skipped = f", {report.skipped} corpus records skipped" if report.skipped else ""
    timings = report.results[0].timings
    print(
        f"{dataset.name}: {report.articles} articles, {report.passages} passages, "
        f"{len(dataset.queries)} queries{skipped} (indexed in {timings['ingest_s']:.1f} s)"
    )
    header = f"{'mode':8} {f'nDCG@{k}':>8} {f'R@{k}':>7} {'R@100':>7} {f'MRR@{k}':>7} {'p50 ms':>7} {'p99 ms':>7}"
    print(header)
    for result in report.results:
        m = result.metrics
        print(
            f"{result.mode:8} {m[f'ndcg@{k}']:8.3f} {m[f'recall@{k}']:7.3f} "
            f"{m['recall@100']:7.3f} {m[f'mrr@{k}']:7.3f} "
            f"{result.timings['search_p50_ms']:7.1f} {result.timings['search_p99_ms']:7.1f}"
        )
