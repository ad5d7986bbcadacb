"""Batch reports: duplicate-threshold calibration on SOHU same-event pairs, and report speed.

Calibration: the 1,000 labelled SOHU 2021 news pairs (``../shared/eval/pairs/sohu2021-dd-
test.jsonl`` short-short and ``-dc-test.jsonl`` short-long; label 5 = same event is the
positive class) scored as reports score articles (cleaned, cut into passages, embedded,
mean vector, cosine). Records ROC AUC, the F1-maximising threshold and precision/recall at
the shipped default ``DUPLICATE_THRESHOLD``.

Speed: ``related`` and ``duplicates`` on a collection given with ``--index`` (e.g. the
100k-passage news collection), wall time and peak RSS.

Run: ``python -m bench.reports [--index DIR] [--quick]``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.service.reports import (
    DUPLICATE_THRESHOLD,
    duplicates_report,
    load_corpus,
    related_report,
    write_report,
)
from semsearch.service.reports.calibration import (
    SAME_EVENT_LABEL,
    best_f1_threshold,
    load_pairs,
    pair_scores,
    quality_at,
)
from semsearch.service.reports.centroid import NEWS_CENTROID_B64, encode_centroid

from .corpus import news_collection
from .harness import (
    SHARED,
    options,
    peak_rss_mb,
    table,
    write_section,
)

PAIR_SETS = ("sohu2021-dd-test", "sohu2021-dc-test")
QUICK_PAIRS = 200
RELATED_K = 5


def calibrate(embedder: Embedder, quick: bool) -> str:
    """Score the SOHU pairs and return the markdown of the calibration part."""
    paths = [SHARED / "eval" / "pairs" / f"{name}.jsonl" for name in PAIR_SETS]
    pairs = load_pairs(paths)
    if quick:
        keep = np.r_[0:QUICK_PAIRS, 500 : 500 + QUICK_PAIRS]
        pairs = type(pairs)(
            [pairs.left[i] for i in keep],
            [pairs.right[i] for i in keep],
            pairs.labels[keep],
            [pairs.sets[i] for i in keep],
        )
    began = time.perf_counter()
    scores, mean = pair_scores(embedder, pairs)
    if not quick and encode_centroid(mean) != NEWS_CENTROID_B64:
        print(f"centroid differs from the shipped one: {encode_centroid(mean)}")
    seconds = time.perf_counter() - began
    positive = pairs.labels == SAME_EVENT_LABEL
    sets = np.asarray(pairs.sets)
    best = best_f1_threshold(scores, positive)
    rows = []
    for name in (*PAIR_SETS, "both"):
        mask = np.ones(len(scores), bool) if name == "both" else sets == name
        at_default = quality_at(scores[mask], positive[mask], DUPLICATE_THRESHOLD)
        own = best_f1_threshold(scores[mask], positive[mask])
        rows.append(
            [
                name,
                int(mask.sum()),
                at_default.positives,
                at_default.auc,
                at_default.precision,
                at_default.recall,
                at_default.f1,
                own.threshold,
                own.f1,
            ]
        )
    # Out-of-sample check: a threshold fitted on one set, applied to the other.
    cross = []
    for fit, test in (PAIR_SETS, PAIR_SETS[::-1]):
        fitted = best_f1_threshold(scores[sets == fit], positive[sets == fit])
        applied = quality_at(scores[sets == test], positive[sets == test], fitted.threshold)
        cross.append([fit, test, fitted.threshold, applied.precision, applied.recall, applied.f1])
    label_means = [
        [label, int((pairs.labels == label).sum()), float(scores[pairs.labels == label].mean())]
        for label in sorted(set(pairs.labels.tolist()))
    ]
    return (
        f"### Duplicate threshold calibration\n\n{len(scores)} SOHU 2021 pairs "
        f"({embedder.model_name}, {embedder.backend_name}; scoring took {seconds:.0f} s, "
        "embedding cache included). Positive = label 5 (same event); labels 3 (same topic) "
        "and 0 are negatives. Score = cosine of the article mean vectors centred on the news "
        "centroid (service/reports/centroid.py).\n\n"
        f"F1-maximising threshold on all pairs: **{best.threshold:.4f}** (precision "
        f"{best.precision:.3f}, recall {best.recall:.3f}, F1 {best.f1:.3f}). Shipped default "
        f"`DUPLICATE_THRESHOLD` = {DUPLICATE_THRESHOLD}:\n\n"
        + table(
            [
                "pairs",
                "n",
                "same event",
                "ROC AUC",
                "precision",
                "recall",
                "F1",
                "own best threshold",
                "its F1",
            ],
            rows,
        )
        + "\n\nThreshold fitted on one set, applied to the other (out of sample):\n\n"
        + table(["fitted on", "applied to", "threshold", "precision", "recall", "F1"], cross)
        + "\n\nMean score by label:\n\n"
        + table(["label", "pairs", "mean cosine"], label_means)
    )


def speed(embedder: Embedder, index: Path) -> str:
    """Time ``related`` and ``duplicates`` on a collection; return the markdown part."""
    rows = []
    began = time.perf_counter()
    corpus = load_corpus(index, embedder, progress=True)
    load_s = time.perf_counter() - began
    rows.append(["load passages, article means", load_s, "", peak_rss_mb()])
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("related", "duplicates"):
            began = time.perf_counter()
            if kind == "related":
                report = related_report(
                    corpus, k=RELATED_K, threshold=DUPLICATE_THRESHOLD, progress=True
                )
            else:
                report = duplicates_report(corpus, threshold=DUPLICATE_THRESHOLD, progress=True)
            built = time.perf_counter() - began
            began = time.perf_counter()
            for ext in (".jsonl", ".csv", ".html"):
                write_report(report, Path(tmp) / f"{kind}{ext}")
            written = time.perf_counter() - began
            extra = f"{report.summary.get('groups', len(report.rows))} " + (
                "groups" if kind == "duplicates" else "neighbour rows"
            )
            rows.append(
                [f"{kind} (build + write csv/jsonl/html)", built + written, extra, peak_rss_mb()]
            )
    return (
        f"### Report speed\n\n`{index}`: {corpus.size} articles, {len(corpus.passage_ids)} "
        f"passages, {embedder.dimension}-d; related k={RELATED_K}, duplicates with the default "
        "threshold and 10 candidates per article; exact FAISS k-NN in batches.\n\n"
        + table(["step", "seconds", "output", "peak RSS MB"], rows)
    )


def main() -> None:
    """Run the benchmark and record it."""
    parser = options(__doc__, quick="400 pairs instead of 1,000", index=True)
    parser.add_argument("--no-calibrate", action="store_true")
    args = parser.parse_args()
    embedder = Embedder.from_settings(Settings(progress=True))
    parts = []
    if not args.no_calibrate:
        parts.append(calibrate(embedder, args.quick))
    parts.append(speed(embedder, args.index or news_collection(quick=args.quick)))
    command = "python -m bench.reports" + (f" --index {args.index}" if args.index else "")
    command += " --quick" if args.quick else ""
    command += " --no-calibrate" if args.no_calibrate else ""
    body = "\n\n".join(parts)
    write_section("reports", "Batch similarity reports", command, body)
    print(body)


if __name__ == "__main__":
    main()
