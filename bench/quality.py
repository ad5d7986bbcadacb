"""Retrieval quality of semsearch's three search modes on every BEIR set in ``../shared/eval``.

The same code path as ``semsearch eval`` (``service.evaluation``): each corpus entry is an
article cut by the project's chunker, results are collapsed to articles, metrics come from
pytrec_eval. The default embedding backend and the embedding cache are used, so a rerun
costs search time only. Run: ``python -m bench.quality [--quick]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.service.evaluation import EVAL_MODES, EvalReport, evaluate, load_beir

from .harness import ROOT, SHARED, options, table, write_section

SECTION = "quality"
QUICK_SETS = ("sohu2021_dd_retrieval", "xquad_en2zh_q2p")
QUICK_QUERIES = 100
RESULTS_JSON = ROOT / "var" / "bench" / "quality.json"


def eval_sets(quick: bool) -> list[Path]:
    """The BEIR folders to run: all of ``../shared/eval`` (two in quick mode)."""
    root = SHARED / "eval"
    found = sorted(p for p in root.iterdir() if (p / "corpus.jsonl").is_file())
    if quick:
        found = [p for p in found if p.name in QUICK_SETS]
    return found


def report_rows(report: EvalReport) -> list[list[object]]:
    """One table row per mode."""
    rows: list[list[object]] = []
    for result in report.results:
        m, t = result.metrics, result.timings
        rows.append(
            [
                report.dataset,
                result.mode,
                result.queries,
                report.passages,
                m["ndcg@10"],
                m["recall@10"],
                m["recall@100"],
                m["mrr@10"],
                f"{t['search_p50_ms']:.1f}",
                f"{t['search_p99_ms']:.1f}",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and record it."""
    parser = options(__doc__, quick=f"two sets, {QUICK_QUERIES} queries")
    args = parser.parse_args(argv)
    if not (SHARED / "eval").is_dir():
        print(f"skip: {SHARED / 'eval'} not found")
        return
    settings = Settings(progress=False)
    embedder = Embedder.from_settings(settings)
    limit = QUICK_QUERIES if args.quick else None
    rows: list[list[object]] = []
    saved: dict[str, Any] = {}
    for folder in eval_sets(args.quick):
        report = evaluate(load_beir(folder, limit=limit), embedder, modes=EVAL_MODES)
        rows += report_rows(report)
        saved[report.dataset] = {r.mode: {**r.metrics, **r.timings} for r in report.results}
        summary = ", ".join(f"{r.mode} {r.metrics['ndcg@10']:.3f}" for r in report.results)
        print(f"{report.dataset}: nDCG@10 {summary}", file=sys.stderr, flush=True)
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(saved, indent=1), encoding="utf-8")
    body = (
        f"Article-level retrieval quality of `semsearch eval` ({embedder.backend_name} embeddings, "
        f"exact vector search, results collapsed to articles; metrics by pytrec_eval"
        + (f"; first {limit} queries per set" if limit else "; all judged queries")
        + "). Latency is the search call with the query vector already cached "
        "(see the peers section for end-to-end latency).\n\n"
        + table(
            [
                "set",
                "mode",
                "queries",
                "passages",
                "nDCG@10",
                "Recall@10",
                "Recall@100",
                "MRR@10",
                "p50 ms",
                "p99 ms",
            ],
            rows,
        )
    )
    command = "python -m bench.quality" + (" --quick" if args.quick else "")
    write_section(SECTION, "Retrieval quality", command, body)
    print(body)


if __name__ == "__main__":
    main()
