"""Vector index benchmark: build time, memory, recall@10 against exact search, latency.

For the ~100k real passage embeddings of the benchmark collection (``news-112k.jsonl``
ingested with the real model, see ``bench.corpus``) and for 1M vectors derived from them
(real embeddings plus small Gaussian noise, re-normalised: uniform random vectors would
misrepresent ANN recall). Memory is measured in a fresh process that only loads the index.
Run: ``python -m bench.index vectors [--quick] [--index DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.vectors import VectorIndex

from .common import ROOT, table, write_section
from .corpus import news_collection

BENCH_QUERIES = 1000
LATENCY_QUERIES = 2000
DERIVED_SIZE = 1_000_000
SMALL_SET = 100_000
# Noise per coordinate for derived vectors. Measured on the 112k news embeddings: the
# nearest other passage has median cosine 0.94, the 10th 0.92, a random pair 0.86. Noise
# 0.015 puts a copy at cosine ~0.96 to its source (a close paraphrase); 0.025 (~0.90) would
# scatter copies beyond the real 10th neighbour and erase the data's structure.
DERIVED_NOISE = 0.015
SEED = 0


# ---------------------------------------------------------------------- shared helpers


def rss_mb() -> float:
    """Current resident set size of this process in MB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ---------------------------------------------------------------------- vector index


def real_vectors(collection: Path) -> np.ndarray:
    """Every passage vector of a flat-index collection (real embeddings of real news)."""
    import faiss

    manifest = json.loads((collection / "manifest.json").read_text(encoding="utf-8"))
    index = faiss.read_index(str(collection / manifest["vectors_file"]))
    inner = faiss.downcast_index(index.index)
    return np.asarray(inner.reconstruct_n(0, inner.ntotal), dtype=np.float32)


def derive(base: np.ndarray, size: int, noise: float, seed: int = SEED) -> np.ndarray:
    """``size`` vectors: real ones plus Gaussian noise, L2-normalised."""
    rng = np.random.default_rng(seed)
    out = np.empty((size, base.shape[1]), dtype=np.float32)
    step = 100_000
    for start in range(0, size, step):
        stop = min(size, start + step)
        rows = base[np.arange(start, stop) % len(base)]
        chunk = rows + rng.normal(0.0, noise, rows.shape).astype(np.float32)
        out[start:stop] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def exact_top_k(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact inner-product top-k row indices, computed in blocks."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    step = 200_000
    for start in range(0, len(data), step):
        sims = queries @ data[start : start + step].T
        idx = np.arange(start, start + sims.shape[1])
        all_s = np.hstack([best_s, sims])
        all_i = np.hstack([best_i, np.broadcast_to(idx, sims.shape)])
        top = np.argpartition(-all_s, k - 1, axis=1)[:, :k]
        best_s = np.take_along_axis(all_s, top, axis=1)
        best_i = np.take_along_axis(all_i, top, axis=1)
    return best_i


def _probe(
    index_path: Path, queries_path: Path, kind: str, params: dict[str, Any], k: int
) -> dict[str, Any]:
    """Run in a fresh process: load the index, measure its RSS and latency."""
    code = f"""
import json, sys, time, numpy as np
sys.path.insert(0, {str(ROOT)!r})
from pathlib import Path
from bench.index import rss_mb
import faiss
faiss.omp_set_num_threads(1)
from index.vectors import VectorIndex
before = rss_mb()
queries = np.load({str(queries_path)!r})
t = time.perf_counter()
vi = VectorIndex.load(Path({str(index_path)!r}), dimension=queries.shape[1], kind={kind!r}, params={params!r}, read_only=True)
load_s = time.perf_counter() - t
lat = []
ids = []
for q in queries:
    t = time.perf_counter(); _, found = vi.search(q[None, :], {k}); lat.append(time.perf_counter() - t)
    ids.append(found[0])
print(json.dumps({{"rss_index_mb": rss_mb() - before, "load_s": load_s,
    "p50_ms": float(np.percentile(lat, 50) * 1000), "p99_ms": float(np.percentile(lat, 99) * 1000),
    "ids": np.asarray(ids).tolist()}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def bench_kind(
    label: str,
    data: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
    kind: str,
    params: dict[str, Any],
    k: int,
) -> dict[str, Any]:
    """Build, save, then probe one index kind over ``data``."""
    ids = np.arange(len(data), dtype=np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        index = VectorIndex(data.shape[1], kind, dict(params))
        index.add(ids, data)
        build_s = time.perf_counter() - started
        path = Path(tmp) / "v.faiss"
        index.save(path)
        size_mb = path.stat().st_size / 2**20
        qpath = Path(tmp) / "q.npy"
        np.save(qpath, queries[:LATENCY_QUERIES])
        probe = _probe(path, qpath, kind, index.params, k)
        found = np.asarray(probe.pop("ids"))
        n = min(len(found), len(truth))
        recall = float(
            np.mean([len(set(found[i].tolist()) & set(truth[i].tolist())) / k for i in range(n)])
        )
    return {
        "set": label,
        "n": len(data),
        "kind": kind,
        "params": index.params,
        "build_s": round(build_s, 1),
        "file_mb": round(size_mb, 1),
        "rss_index_mb": round(probe["rss_index_mb"], 1),
        "recall@10": round(recall, 4),
        "p50_ms": round(probe["p50_ms"], 3),
        "p99_ms": round(probe["p99_ms"], 3),
    }


def run_vectors(args: argparse.Namespace) -> None:
    collection = args.index or news_collection(quick=args.quick)
    base = real_vectors(collection)
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(SEED)
    k = 10
    rows: list[dict[str, Any]] = []
    # Queries: held-out real passages with noise, so they are not in the index verbatim.
    held = rng.choice(len(base), BENCH_QUERIES + LATENCY_QUERIES, replace=False)
    mask = np.ones(len(base), dtype=bool)
    mask[held] = False
    data = base[mask]
    queries = derive(base[held], len(held), DERIVED_NOISE, seed=SEED + 1)
    label = f"real {len(data) // 1000}k"
    if len(data) < SMALL_SET and not args.quick:
        label = f"100k derived from {len(data):,} real"
        data = derive(data, SMALL_SET, DERIVED_NOISE, seed=SEED + 2)
    truth = exact_top_k(data, queries[:LATENCY_QUERIES], k)
    for kind, params in args.small_kinds:
        rows.append(bench_kind(label, data, queries, truth, kind, params, k))
        print(json.dumps(rows[-1]), flush=True)
    if args.million:
        big = derive(data, DERIVED_SIZE, DERIVED_NOISE)
        truth = exact_top_k(big, queries[:LATENCY_QUERIES], k)
        for kind, params in args.large_kinds:
            rows.append(bench_kind("derived 1M", big, queries, truth, kind, params, k))
            print(json.dumps(rows[-1]), flush=True)
    header = [
        "vectors",
        "n",
        "kind",
        "params",
        "build s",
        "file MB",
        "index RSS MB",
        "recall@10",
        "p50 ms",
        "p99 ms",
    ]
    body = table(
        header,
        [
            [
                r["set"],
                f"{r['n']:,}",
                r["kind"],
                json.dumps(r["params"]),
                r["build_s"],
                r["file_mb"],
                r["rss_index_mb"],
                r["recall@10"],
                r["p50_ms"],
                r["p99_ms"],
            ]
            for r in rows
        ],
    )
    note = (
        f"Real vectors: {len(base):,} passage embeddings of `{collection.name}`; "
        f"{BENCH_QUERIES + LATENCY_QUERIES} of them held out as queries (with noise). "
        "Latency: one query at a time on one thread, vector search only. "
        "Targets at 1M: index RSS <= 1 GB, recall@10 >= 0.95, p50 <= 5 ms. "
        "Exact search scores below 1.0 because the corpus repeats some headlines: identical "
        "vectors tie, and FAISS and numpy order ties differently."
    )
    command = "python -m bench.index vectors" + (" --quick" if args.quick else "")
    write_section("2-index", "Vector index", command, note + "\n\n" + body)
    print(body)


def _kinds(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for item in text.split(";"):
        kind, _, raw = item.partition(":")
        out.append((kind.strip(), json.loads(raw) if raw else {}))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    vec = sub.add_parser("vectors", help="vector index build/RSS/recall/latency")
    vec.add_argument(
        "--index", type=Path, help="collection with a flat index (default: the bench collection)"
    )
    vec.add_argument("--quick", action="store_true", help="10k real vectors, no 1M set")
    vec.add_argument("--no-million", dest="million", action="store_false")
    vec.add_argument("--small-kinds", type=_kinds, default=_kinds('flat;ivf_sq8;hnsw:{"M":32}'))
    vec.add_argument(
        "--large-kinds",
        type=_kinds,
        default=_kinds('ivf_sq8:{"nlist":4096,"nprobe":64}'),
    )
    vec.set_defaults(func=run_vectors)
    args = parser.parse_args(argv)
    if args.quick:
        args.million = False
    args.func(args)


if __name__ == "__main__":
    main()
