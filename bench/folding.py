"""Traditional ⇄ simplified folding: simplified queries against a traditional-script corpus.

An eval set's corpus is converted to traditional script with OpenCC (``s2t``, phrase-level,
as a converted archive would be); queries and qrels stay as they are (simplified). Each
corpus is indexed with the previous default analyzer (``jieba+bigrams``) and with the
folding one (``jieba+bigrams+fold``), and scored through ``service.evaluation`` like
``semsearch eval`` (articles, collapsed). Folding works when the traditional-corpus figures
match the simplified-corpus ones. Run: ``python -m bench.folding [--limit N] [--quick]``.
"""

from __future__ import annotations

import argparse
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

from .common import ROOT, SHARED, table, write_section

SECTION = "5c-folding"
DEFAULT_SETS = ("cmrc2018_dev_q2p",)
ANALYZERS = ("jieba+bigrams", "jieba+bigrams+fold")
MODES = ("lexical", "hybrid", "dense")
QUICK_QUERIES = 200
WORK = ROOT / "var" / "bench" / "folding"
RESULTS_JSON = ROOT / "var" / "bench" / "folding.json"


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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS), help="eval folder names")
    parser.add_argument("--limit", type=int, default=None, help="first N judged queries per set")
    parser.add_argument("--quick", action="store_true", help=f"first {QUICK_QUERIES} queries")
    args = parser.parse_args(argv)
    if not (SHARED / "eval").is_dir():
        print(f"skip: {SHARED / 'eval'} not found")
        return
    limit = args.limit or (QUICK_QUERIES if args.quick else None)
    embedder = Embedder.from_settings(Settings(progress=False))
    converter = opencc.OpenCC("s2t")
    rows: list[list[object]] = []
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
                        m = result.metrics
                        key = f"{name}/{script}/{analyzer}/{mode}"
                        saved[key] = {**m, **result.timings, "queries": result.queries}
                        rows.append(
                            [
                                name,
                                script,
                                analyzer,
                                mode,
                                result.queries,
                                m["ndcg@10"],
                                m["mrr@10"],
                                m["recall@100"],
                            ]
                        )
                        print(f"{key}: nDCG@10 {m['ndcg@10']:.4f}", file=sys.stderr, flush=True)
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(saved, indent=1), encoding="utf-8")
    body = (
        "Simplified queries against the set's corpus as published (simplified) and converted "
        "to traditional script with OpenCC `s2t` (queries and qrels unchanged). "
        "`jieba+bigrams` is the analyzer that was the default before folding; "
        "`jieba+bigrams+fold` folds text and query to simplified, character by character. "
        "Article-level metrics as in `semsearch eval` (pytrec_eval, results collapsed)"
        + (f"; first {limit} judged queries" if limit else "; all judged queries")
        + f". Whole run {time.perf_counter() - began:.0f} s; other developers' jobs shared "
        "the machine's 2 cores during the run, so timings are not comparable, scores are.\n\n"
        + table(
            ["set", "corpus", "analyzer", "mode", "queries", "nDCG@10", "MRR@10", "Recall@100"],
            rows,
        )
    )
    command = (
        "python -m bench.folding"
        + (f" --limit {args.limit}" if args.limit else "")
        + (" --quick" if args.quick and not args.limit else "")
    )
    if args.sets != list(DEFAULT_SETS):
        command += " --sets " + " ".join(args.sets)
    write_section(SECTION, "Traditional ⇄ simplified folding", command, body)
    print(body)


if __name__ == "__main__":
    main()
