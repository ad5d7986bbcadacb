"""Calibrate the dense floor of the match set and measure the set's precision and recall.

The match set (``index/_search.py``) is what ``total`` counts, facets tally and date
order lists. Its dense side keeps passages whose cosine with the query reaches a floor.
For each Chinese-document set in ``../shared/eval`` (kept collections under
``var/eval-cache``, shared with ``bench.fusion_tuning``) every judged query's cosine with
every article (its best passage) is computed once; queries split by a hash of their id
(``bench.fusion_tuning.split_of``) into a tuning and a held-out half. The floor with the
best mean F1 over the sets' tuning halves wins (precision and recall are micro-averaged
over (query, article) pairs, relevant = qrels score > 0). Then the held-out queries run
through ``Collection.search(sort="date-desc")`` itself, which lists the whole match set,
in each mode, with the floor the code ships (``MatchConfig.dense_floor``).

Run: ``python -m bench.matchset [--quick]``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass

import numpy as np

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.index import Collection, MatchConfig
from semsearch.service.evaluation import BeirDataset, kept_collection, load_beir

from .fusion_tuning import HELD_OUT, TUNING, split_of
from .harness import ROOT, SHARED, options, table, write_section

SECTION = "matchset"
KEEP_DIR = ROOT / "var" / "eval-cache"
RESULTS_JSON = ROOT / "var" / "bench" / "matchset.json"
SETS = ("sohu2021_dd_retrieval", "ntrex_zh_headline2zh_doc", "xquad_zh_q2p", "cmrc2018_dev_q2p")
QUICK_SETS = ("sohu2021_dd_retrieval", "xquad_zh_q2p")
FLOORS = tuple(round(0.70 + 0.005 * i, 3) for i in range(53))
DENSE_FLOOR = MatchConfig().dense_floor
DENSE_MARGIN = MatchConfig().dense_margin
# Margins near the best hit tried on the tuning halves (0: the floor alone).
MARGINS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08)
# Held-out queries run through the real search per set and mode (keeps the run short).
REAL_QUERIES = 150
QUICK_REAL_QUERIES = 40
# Deeper than any match set of these corpora (at most 1,874 articles): the page is the set.
ALL = 100_000


@dataclass
class Counts:
    """Matched, relevant and both, summed over queries."""

    matched: int = 0
    relevant: int = 0
    correct: int = 0

    def add(self, matched: set[str], relevant: set[str]) -> None:
        self.matched += len(matched)
        self.relevant += len(relevant)
        self.correct += len(matched & relevant)

    @property
    def precision(self) -> float:
        return self.correct / self.matched if self.matched else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.relevant if self.relevant else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def article_cosines(
    collection: Collection, embedder: Embedder, dataset: BeirDataset
) -> tuple[list[str], list[str], np.ndarray]:
    """Query ids, article ids and each query's cosine with each article (best passage)."""
    rows = collection.passage_vectors()
    qids = list(dataset.queries)
    queries = embedder.embed_queries([dataset.queries[q] for q in qids])
    sims = queries @ rows.vectors.T
    articles = sorted(set(rows.owners))
    column = {a: i for i, a in enumerate(articles)}
    best = np.full((len(qids), len(articles)), -1.0, dtype=np.float32)
    owner_idx = np.asarray([column[o] for o in rows.owners])
    for j in range(sims.shape[1]):
        best[:, owner_idx[j]] = np.maximum(best[:, owner_idx[j]], sims[:, j])
    return qids, articles, best


def sweep(
    cosines: dict[str, tuple[list[str], list[str], np.ndarray]],
    datasets: dict[str, BeirDataset],
    half: int,
    margin: float = 0.0,
    floors: tuple[float, ...] = FLOORS,
) -> dict[float, dict[str, Counts]]:
    """Dense match set counts per floor and set, on one half of the queries.

    A passage matches at ``floor`` or within ``margin`` of the query's best cosine
    (``MatchConfig.dense_margin``; 0 leaves the floor alone).
    """
    out: dict[float, dict[str, Counts]] = {}
    for floor in floors:
        out[floor] = {}
        for name, (qids, articles, best) in cosines.items():
            counts = Counts()
            names = np.asarray(articles)
            for row, qid in enumerate(qids):
                if split_of(qid) != half:
                    continue
                edge = min(floor, float(best[row].max()) - margin) if margin else floor
                matched = set(names[best[row] >= edge].tolist())
                relevant = {d for d, s in datasets[name].qrels[qid].items() if s > 0}
                counts.add(matched, relevant)
            out[floor][name] = counts
    return out


def real_counts(
    collection: Collection, dataset: BeirDataset, mode: str, limit: int, half: int = HELD_OUT
) -> tuple[Counts, float]:
    """The match set as search lists it, on one half's queries; also the mean set size."""
    counts = Counts()
    sizes: list[int] = []
    held = [q for q in dataset.queries if split_of(q) == half][:limit]
    for qid in held:
        response = collection.search(
            dataset.queries[qid], mode=mode, k=ALL, collapse=True, sort="date-desc", syntax=False
        )
        matched = {hit.article_id for hit in response.results}
        sizes.append(len(matched))
        counts.add(matched, {d for d, s in dataset.qrels[qid].items() if s > 0})
    return counts, float(np.mean(sizes)) if sizes else 0.0


def main(argv: list[str] | None = None) -> None:
    """Sweep, choose, verify through search, and write the section."""
    parser = options(__doc__, prog="python -m bench.matchset", quick="two sets, fewer queries")
    args = parser.parse_args(argv)
    names = QUICK_SETS if args.quick else SETS
    limit = QUICK_REAL_QUERIES if args.quick else REAL_QUERIES
    started = time.time()
    embedder = Embedder.from_settings(Settings(progress=False))
    datasets = {n: load_beir(SHARED / "eval" / n) for n in names}
    collections = {n: kept_collection(datasets[n], embedder, KEEP_DIR) for n in names}
    cosines = {n: article_cosines(collections[n], embedder, datasets[n]) for n in names}
    tuning = sweep(cosines, datasets, TUNING)
    best = max(FLOORS, key=lambda f: (np.mean([c.f1 for c in tuning[f].values()]), f))
    print(f"best floor on tuning halves: {best} (shipped: {DENSE_FLOOR})", file=sys.stderr)
    # The margin near the best hit, swept at the shipped floor on the tuning halves.
    margin_f1 = {
        m: float(np.mean([c.f1 for c in sweep(cosines, datasets, TUNING, m, (DENSE_FLOOR,))[DENSE_FLOOR].values()]))
        for m in MARGINS
    }
    best_margin = max(MARGINS, key=lambda m: (margin_f1[m], -m))
    print(f"best margin on tuning halves: {best_margin} (shipped: {DENSE_MARGIN})", file=sys.stderr)
    held = sweep(cosines, datasets, HELD_OUT, DENSE_MARGIN)
    sweep_rows = []
    for floor in FLOORS[::4] + ((best,) if best not in FLOORS[::4] else ()):
        mean_f1 = np.mean([c.f1 for c in tuning[floor].values()])
        sweep_rows.append([floor, round(float(mean_f1), 3)] + [
            f"{tuning[floor][n].precision:.2f} / {tuning[floor][n].recall:.2f}" for n in names
        ])
    sweep_rows.sort(key=lambda r: r[0])
    held_rows = []
    results: dict[str, object] = {
        "best_floor": best, "shipped_floor": DENSE_FLOOR, "best_margin": best_margin,
        "shipped_margin": DENSE_MARGIN, "margin_f1": margin_f1, "sets": {},
    }
    for n in names:
        offline = held[DENSE_FLOOR][n] if DENSE_FLOOR in held else held[best][n]
        row: list[object] = [n, f"{offline.precision:.3f} / {offline.recall:.3f}"]
        per_mode = {}
        for mode in ("dense", "hybrid", "lexical"):
            counts, size = real_counts(collections[n], datasets[n], mode, limit)
            per_mode[mode] = {"precision": counts.precision, "recall": counts.recall, "size": size}
            row.append(f"{counts.precision:.3f} / {counts.recall:.3f} ({size:.1f})")
        results["sets"][n] = per_mode  # type: ignore[index]
        held_rows.append(row)
    for c in collections.values():
        c.close()
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(results, indent=2), encoding="utf-8")
    body = "\n\n".join(
        [
            "The match set (`index/_search.py`) is what `total` counts, what facets tally "
            "and what `--sort date-desc|date-asc` lists. Article-level precision / recall, "
            "relevant = qrels score > 0. Dense floor chosen for the best mean F1 over the "
            f"tuning halves: **{best}**; shipped `MatchConfig.dense_floor` = **{DENSE_FLOOR}**.",
            "Margin near the best hit (a passage within it of the query's best cosine "
            "matches however low that is, so the best hit always does), swept at the "
            f"shipped floor on the tuning halves: best **{best_margin}**; shipped "
            f"`MatchConfig.dense_margin` = **{DENSE_MARGIN}**.",
            table(["margin", "mean F1 (tuning)"], [[m, round(f, 3)] for m, f in margin_f1.items()]),
            "Lexical side: a passage matches when it holds every keyword of the query's "
            "plain words (jieba's words, stopwords left out), as keyword search does; no "
            "tunable.",
            "Tuning halves, dense floor sweep (every 4th floor; precision / recall per set):",
            table(["floor", "mean F1", *names], sweep_rows),
            f"Held-out halves (first {limit} held-out queries per set for the search rows): "
            "the offline dense figure at the shipped floor and margin, then the match set as "
            "`Collection.search(sort=\"date-desc\", collapse=True)` lists it in each mode — "
            "precision / recall (mean articles in the set):",
            table(
                ["set", "dense floor, offline", "dense (search)", "hybrid (search)",
                 "lexical (search)"],
                held_rows,
            ),
            "Evaluation queries are whole sentences, so holding every keyword is rare: "
            "the lexical set is small and precise, and hybrid is mostly its dense side.",
            f"Wall time {time.time() - started:.0f} s.",
        ]
    )
    write_section(
        SECTION,
        "Match set: dense floor, precision and recall",
        "python -m bench.matchset" + (" --quick" if args.quick else ""),
        body,
    )


if __name__ == "__main__":
    main()
