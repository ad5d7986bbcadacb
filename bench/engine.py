"""The lexical engine (tantivy) against the release before it (SQLite FTS5), in one run.

Both serve the same 112k collection: the previous release builds it (``--before TREE``,
a checkout of that release with its own ``.venv``, whose ``python -m bench.corpus`` makes
``TREE/var/bench/news-112k``), and this tree takes a copy of it, which moves to the engine
on its first writable open (timed: the in-place upgrade of a real collection). Then:

1. **HTTP, one client**: both servers run; every query goes to one, then the other, row
   by row (hybrid with facets, as the search page asks; lexical words; phrases in lexical
   and hybrid mode), so load changes hit both alike. Every query is distinct and embedded
   by each server's model (no query cache, no on-disk embedding cache).
2. **HTTP, 8 clients**: hybrid throughput, one server after the other.
3. **In process** (this tree): hybrid ``count=False`` against ``count=True`` with facets.
4. **Disk**: the FTS5 tables (SQLite ``dbstat``) against the engine directory.
5. **Agreement**: top-10 passage overlap of lexical answers between the two.

Run: ``python -m bench.engine --before TREE [--queries N] [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from .common import ROOT, table, write_section
from .corpus import BENCH_DIR
from .http import (
    CLIENTS,
    free_port,
    make_queries,
    percentiles,
    run_client,
    start_server,
    timed_search,
)
from .query_speed import FACETS, corpus_phrases, measure_in_process

SECTION = "5e-engine"
QUERIES = 200
QUICK_QUERIES = 30
CONCURRENT = 400
QUICK_CONCURRENT = 80
WARMUP = 10
TARGET_HYBRID_P50_MS = 12.0
TARGET_QPS = 100.0
TARGET_COUNT_ADDS_MS = 3.0


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fts_bytes(database: Path) -> int:
    """Bytes of the FTS5 tables (and their shadow tables) in a collection database."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'passages_fts%'"
            " OR name LIKE 'passages_vocab%'"
        ).fetchone()
        return int(row[0] or 0)
    finally:
        conn.close()


def before_collection(tree: Path, python: Path) -> Path:
    """The previous release's 112k collection, built by its own code when missing."""
    target = tree / "var" / "bench" / "news-112k"
    if not (target / "manifest.json").is_file():
        subprocess.run([str(python), "-m", "bench.corpus"], cwd=tree, check=True)
    return target


def after_collection(before: Path) -> tuple[Path, float]:
    """A copy of the previous release's collection, moved to the engine (seconds taken)."""
    target = BENCH_DIR / "news-112k"
    if (target / "manifest.json").is_file():
        return target, float("nan")
    shutil.copytree(before, target)
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "semsearch.service.cli", "index", "repair", "--index", str(target)],
        cwd=ROOT,
        check=True,
    )
    return target, time.perf_counter() - began


def measure_http(
    servers: dict[str, str], rows: dict[str, tuple[list[str], dict[str, str | int]]], warmup: list[str]
) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], list[dict]]]:
    """Each row's queries, query by query, to every server in turn (one connection each)."""
    latencies: dict[tuple[str, str], list[float]] = {}
    answers: dict[tuple[str, str], list[dict]] = {}
    errors: list[str] = []
    clients = {name: httpx.Client(base_url=base, timeout=60) for name, base in servers.items()}
    try:
        for base in servers.values():
            run_client(base, warmup, [], errors, {"facets": ",".join(FACETS)})
        count = len(next(iter(rows.values()))[0])
        for i in range(count):
            for row, (queries, params) in rows.items():
                for name, client in clients.items():
                    key = (name, row)
                    timed_search(
                        client, queries[i], latencies.setdefault(key, []), errors, params,
                        answers.setdefault(key, []),
                    )
    finally:
        for client in clients.values():
            client.close()
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    return latencies, answers


def throughput(base: str, queries: list[str]) -> tuple[float, float, float]:
    """Queries a second with 8 clients, and their p50 / p99 latency (ms)."""
    latencies: list[float] = []
    errors: list[str] = []
    shares = [queries[i::CLIENTS] for i in range(CLIENTS)]
    threads = [
        threading.Thread(target=run_client, args=(base, share, latencies, errors))
        for share in shares
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    p50, p99 = percentiles(latencies)
    return len(queries) / elapsed, p50, p99


def overlap(left: list[dict], right: list[dict]) -> float:
    """Mean share of top-10 passages two answer lists have in common."""
    shares = []
    for a, b in zip(left, right, strict=True):
        ids_a = {h["passage_id"] for h in a["results"]}
        ids_b = {h["passage_id"] for h in b["results"]}
        if ids_a or ids_b:
            shares.append(len(ids_a & ids_b) / max(len(ids_a), len(ids_b)))
    return statistics.mean(shares) if shares else 1.0


def main(argv: list[str] | None = None) -> None:
    """Measure both trees and write the section."""
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="checkout of the previous release")
    parser.add_argument("--queries", type=int, help=f"per row (default {QUERIES})")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    tree = args.before.resolve()
    python = tree / ".venv" / "bin" / "python"
    n = args.queries or (QUICK_QUERIES if args.quick else QUERIES)
    started = time.time()
    before = before_collection(tree, python)
    after, upgrade_s = after_collection(before)
    words = make_queries(WARMUP + 3 * n + (QUICK_CONCURRENT if args.quick else CONCURRENT))
    phrases = corpus_phrases(2 * n)
    facets = {"facets": ",".join(FACETS)}
    rows: dict[str, tuple[list[str], dict[str, str | int]]] = {
        "hybrid + facets": (words[WARMUP : WARMUP + n], facets),
        "lexical words + facets": (words[WARMUP + n : WARMUP + 2 * n], {**facets, "mode": "lexical"}),
        "phrase, lexical + facets": (phrases[0::2], {**facets, "mode": "lexical"}),
        "phrase, hybrid + facets": (phrases[1::2], facets),
    }
    concurrent = words[WARMUP + 3 * n :]
    ports = {"before (FTS5)": free_port(), "after (engine)": free_port()}
    load_start = _load()
    processes = {
        "before (FTS5)": start_server(before, ports["before (FTS5)"], python=python),
        "after (engine)": start_server(after, ports["after (engine)"]),
    }
    servers = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        latencies, answers = measure_http(servers, rows, words[:WARMUP])
        load_single = _load()
        rates = {name: throughput(base, concurrent) for name, base in servers.items()}
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(timeout=30)
    load_many = _load()
    in_process = words[WARMUP + 2 * n : WARMUP + 3 * n]
    plain, counted = measure_in_process(after, in_process)
    load_end = _load()

    http_rows = []
    for row in rows:
        b = percentiles(latencies[("before (FTS5)", row)])
        a = percentiles(latencies[("after (engine)", row)])
        totals = [x["total"] for x in answers[("after (engine)", row)]]
        http_rows.append([
            row, n, f"{b[0]:.1f} / {b[1]:.1f}", f"{a[0]:.1f} / {a[1]:.1f}",
            f"{a[0] / b[0]:.2f}", f"{statistics.median(totals):.0f}",
        ])
    rate_rows = [
        [name, len(concurrent), f"{q:.1f}", f"{p50:.1f}", f"{p99:.1f}"]
        for name, (q, p50, p99) in rates.items()
    ]
    plain_p50, counted_p50 = statistics.median(plain), statistics.median(counted)
    fts = fts_bytes(before / "collection.sqlite")
    engine = sum(_du(d) for d in after.iterdir() if d.is_dir() and d.name.startswith("lexical-"))
    agree = {
        row: overlap(answers[("before (FTS5)", row)], answers[("after (engine)", row)])
        for row in rows
    }
    hybrid_after = percentiles(latencies[("after (engine)", "hybrid + facets")])[0]
    qps_after = rates["after (engine)"][0]
    body = "\n\n".join([
        f"The previous release is `{tree}` (its own interpreter and code); both serve the "
        f"same 112k collection, the engine's a copy of the FTS5 one moved to the engine on "
        f"first writable open ("
        + (f"{upgrade_s:.0f} s" if upgrade_s == upgrade_s else "done in an earlier run")
        + "). One client, rows interleaved query by query across both servers; "
        "p50 / p99 in ms; `total` is the engine's median matching-article count:",
        table(["request", "n", "before p50 / p99", "after p50 / p99", "after / before", "median total"], http_rows),
        f"8 clients, hybrid (the API counts `total`), {len(concurrent)} queries each:",
        table(["server", "queries", "q/s", "p50 ms", "p99 ms"], rate_rows),
        f"In process (engine), hybrid `count=False` p50 {plain_p50:.1f} ms, with total and "
        f"facets {counted_p50:.1f} ms: counting adds {counted_p50 - plain_p50:.1f} ms "
        f"(target ≤ {TARGET_COUNT_ADDS_MS:.0f}).",
        table(
            ["target", "measured", "met"],
            [
                [f"hybrid HTTP p50 ≤ {TARGET_HYBRID_P50_MS:.0f} ms", f"{hybrid_after:.1f}", hybrid_after <= TARGET_HYBRID_P50_MS],
                [f"≥ {TARGET_QPS:.0f} q/s with 8 clients", f"{qps_after:.1f}", qps_after >= TARGET_QPS],
                [f"total + facets add ≤ {TARGET_COUNT_ADDS_MS:.0f} ms in process", f"{counted_p50 - plain_p50:.1f}", counted_p50 - plain_p50 <= TARGET_COUNT_ADDS_MS],
                ["lexical index ≤ half the FTS5 tables", f"{engine / 1e6:.0f} MB vs {fts / 1e6:.0f} MB", engine <= fts / 2],
            ],
        ),
        "Top-10 passage overlap between the two, per row (BM25 differs in detail: tantivy's "
        "IDF is `ln(1 + (N - n + 0.5) / (n + 0.5))` where FTS5's is `ln((N - n + 0.5) / "
        "(n + 0.5))`, and both count deleted passages until segments merge; the match set "
        "changed by design, so hybrid rows also differ where counting did): "
        + ", ".join(f"{row} {value:.2f}" for row, value in agree.items()) + ".",
        f"Load average (1/5/15 min) at the start {load_start}, after the single-client rows "
        f"{load_single}, after throughput {load_many}, at the end {load_end}. Wall time "
        f"{time.time() - started:.0f} s.",
    ])
    write_section(
        SECTION,
        "Lexical engine: tantivy against FTS5 (112k, before and after)",
        "python -m bench.engine --before TREE" + (" --quick" if args.quick else ""),
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
