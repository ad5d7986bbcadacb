"""Traditional ⇄ simplified folding: simplified queries against a traditional-script corpus.

An eval set's corpus is converted to traditional script with OpenCC (``s2t``, phrase-level,
as a converted archive would be); queries and qrels stay as they are (simplified). Each
corpus is indexed with the previous default analyzer (``jieba+bigrams``) and with the
folding one (``jieba+bigrams+fold``), and scored through ``service.evaluation`` like
``semsearch eval`` (articles, collapsed). Folding works when the traditional-corpus figures
match the simplified-corpus ones. Run: ``python -m bench.folding [--limit N] [--quick]``
(``--render`` rewrites the docs section from the saved results).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import opencc

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.service.evaluation import (
    CORPUS_FILE,
    QRELS_FILE,
    QUERIES_FILE,
    kept_collection,
    load_beir,
    run_mode,
)

from .harness import ROOT, SHARED, options, table, write_section

SECTION = "folding"
DEFAULT_SETS = ("cmrc2018_dev_q2p",)
ANALYZERS = ("jieba+bigrams", "jieba+bigrams+fold")
MODES = ("lexical", "hybrid", "dense")
QUICK_QUERIES = 200
# The quick pass's set: a fifth of cmrc2018's corpus, so its traditional copy embeds fast.
QUICK_SETS = ("xquad_zh_q2p",)
WORK = ROOT / "var" / "bench" / "folding"
RESULTS_JSON = ROOT / "var" / "bench" / "folding.json"
# Key of the run's settings in the saved results.
META = "_run"


def traditional_copy(folder: Path, converter: opencc.OpenCC) -> Path:
    """A copy of a BEIR folder whose corpus titles and texts are in traditional script."""
    target = WORK / f"{folder.name}-hant"
    corpus = target / CORPUS_FILE
    if corpus.is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in (QUERIES_FILE, QRELS_FILE):
        shutil.copyfile(folder / name, target / name)
    partial = corpus.with_suffix(".partial")
    with (
        (folder / CORPUS_FILE).open(encoding="utf-8") as src,
        partial.open("w", encoding="utf-8") as dst,
    ):
        for line in src:
            if not line.strip():
                continue
            doc = json.loads(line)
            for key in ("title", "text"):
                if isinstance(doc.get(key), str):
                    doc[key] = converter.convert(doc[key])
            dst.write(json.dumps(doc, ensure_ascii=False) + "\n")
    partial.rename(corpus)
    return target


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and record it."""
    parser = options(__doc__, quick=f"{QUICK_SETS[0]}, first {QUICK_QUERIES} queries")
    parser.add_argument(
        "--sets", nargs="+", help=f"eval folder names (default {DEFAULT_SETS}; quick {QUICK_SETS})"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N judged queries per set")
    parser.add_argument(
        "--render", action="store_true", help="rewrite the section from saved results"
    )
    args = parser.parse_args(argv)
    if args.render:
        print(record(json.loads(RESULTS_JSON.read_text()), RESULTS_JSON.stat().st_mtime))
        return
    if not (SHARED / "eval").is_dir():
        print(f"skip: {SHARED / 'eval'} not found")
        return
    limit = args.limit or (QUICK_QUERIES if args.quick else None)
    args.sets = args.sets or list(QUICK_SETS if args.quick else DEFAULT_SETS)
    embedder = Embedder.from_settings(Settings(progress=False))
    converter = opencc.OpenCC("s2t")
    saved: dict[str, Any] = {}
    began = time.perf_counter()
    for name in args.sets:
        original = SHARED / "eval" / name
        for script, folder in (
            ("simplified", original),
            ("traditional", traditional_copy(original, converter)),
        ):
            dataset = load_beir(folder, limit=limit)
            embedder.embed_queries(list(dataset.queries.values()))  # once, cached for all runs
            for analyzer in ANALYZERS:
                with kept_collection(
                    dataset, embedder, WORK / "collections", analyzer=analyzer
                ) as coll:
                    for mode in MODES:
                        result = run_mode(coll, dataset, mode)
                        key = f"{name}/{script}/{analyzer}/{mode}"
                        saved[key] = {**result.metrics, **result.timings, "queries": result.queries}
                        ndcg = result.metrics["ndcg@10"]
                        print(f"{key}: nDCG@10 {ndcg:.4f}", file=sys.stderr, flush=True)
    command = (
        "python -m bench.folding"
        + (f" --limit {args.limit}" if args.limit else "")
        + (" --quick" if args.quick and not args.limit else "")
    )
    if args.sets != list(QUICK_SETS if args.quick else DEFAULT_SETS):
        command += " --sets " + " ".join(args.sets)
    saved[META] = {"limit": limit, "run_s": time.perf_counter() - began, "command": command}
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(saved, indent=1), encoding="utf-8")
    print(record(saved))


def gaps(saved: dict[str, Any]) -> list[str]:
    """Per set and analyzer: traditional minus simplified nDCG@10, lexical and hybrid."""
    lines = []
    sets = dict.fromkeys(key.split("/")[0] for key in saved if key != META)
    for name in sets:
        for analyzer in ANALYZERS:
            parts = []
            for mode in ("lexical", "hybrid"):
                simplified = saved[f"{name}/simplified/{analyzer}/{mode}"]["ndcg@10"]
                traditional = saved[f"{name}/traditional/{analyzer}/{mode}"]["ndcg@10"]
                parts.append(
                    f"{mode} {traditional:.4f} vs {simplified:.4f} ({traditional - simplified:+.4f})"
                )
            lines.append(f"- {name}, `{analyzer}`: " + "; ".join(parts))
    return lines


def record(saved: dict[str, Any], measured: float | None = None) -> str:
    """Write the docs section from saved results and return its body."""
    meta = saved[META]
    limit = meta["limit"]
    rows: list[list[object]] = []
    for key, m in saved.items():
        if key != META:
            rows.append([*key.split("/"), m["queries"], m["ndcg@10"], m["mrr@10"], m["recall@100"]])
    body = (
        "Simplified queries against the set's corpus as published (simplified) and converted "
        "to traditional script with OpenCC `s2t` (queries and qrels unchanged). "
        "`jieba+bigrams` is the analyzer that was the default before folding; "
        "`jieba+bigrams+fold` folds text and query to simplified (OpenCC `t2s`, "
        "length-preserving). Article-level metrics as in `semsearch eval` (pytrec_eval, "
        "results collapsed)"
        + (f"; first {limit} judged queries" if limit else "; all judged queries")
        + f". Whole run {meta['run_s']:.0f} s; other developers' jobs shared the machine's "
        "2 cores during the run, so timings are not comparable, scores are.\n\n"
        "nDCG@10, traditional corpus vs simplified corpus:\n\n"
        + "\n".join(gaps(saved))
        + "\n\n"
        + table(
            ["set", "corpus", "analyzer", "mode", "queries", "nDCG@10", "MRR@10", "Recall@100"],
            rows,
        )
    )
    write_section(
        SECTION, "Traditional ⇄ simplified folding", meta["command"], body, measured=measured
    )
    return body


if __name__ == "__main__":
    main()
