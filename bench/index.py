"""Vector index benchmark: build time, memory, recall@10 against exact search, latency.

For the ~100k real passage embeddings of the benchmark collection (``news-112k.jsonl``
ingested with the real model, see ``bench.corpus``) and for 1M vectors derived from them
(real embeddings plus small Gaussian noise, re-normalised: uniform random vectors would
misrepresent ANN recall). Memory is measured in a fresh process that only loads the index.
Run: ``python -m bench.index vectors [--quick] [--index DIR]``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np

from semsearch import Collection, InputError
from semsearch.index.vectors import VectorIndex

from .corpus import news_collection
from .harness import ROOT, load_average, table, write_section

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
# FAISS's bundled type stubs miss much of its SWIG API (downcasts, HNSW storage, params).
faiss: Any = _faiss
# Built indexes are cached here (var/ is gitignored) so search-time settings can be swept
# without rebuilding: a 1M HNSW takes minutes to build.
CACHE_DIR = ROOT / "var" / "bench" / "index-cache"
# Params that only steer a search; a list of values sweeps them over one built index.
SEARCH_PARAMS = ("efSearch", "nprobe")
# Kinds that store exact vectors, so their code ceiling is exact search itself.
EXACT_KINDS = ("flat", "hnsw", "ivf_flat")
FINGERPRINT_ROWS = 4096
EXACT_BLOCK = 100_000
# A brute-force scan of 1M quantised codes costs ~0.2 s per query here: estimate the code
# ceiling from this many queries (standard error ~0.005 at recall 0.95).
CEILING_QUERIES = 500
# ~100k: exact, the automatic large kind, and the small and the 1M choices beside it.
DEFAULT_SMALL_KINDS = 'flat;ivf_sq8;hnsw:{"M":32};hnsw_fp16'
# 1M: hnsw_fp16, whose recall grows with efSearch to the targets, and the trade-offs:
# hnsw_sq8 is smaller, ivf_sq8 smallest and quickest to build, both capped by 8-bit codes.
DEFAULT_LARGE_KINDS = (
    'hnsw_fp16:{"M":16,"efSearch":[128,256,384,512]};'
    'hnsw_sq8:{"M":32,"efSearch":[128,256,512]};'
    'ivf_sq8:{"nlist":4096,"nprobe":[64,128]}'
)


# ---------------------------------------------------------------------- vector index


def real_vectors(collection: Path) -> np.ndarray:
    """Every live passage vector of a collection (real embeddings of real news).

    Works for the kinds that keep exact vectors (flat, hnsw); tombstoned vectors are left
    out (the collection reads live passages only).

    Args:
        collection: Collection directory.

    Returns:
        ``(n, dimension)`` float32, grouped by article.
    """
    with Collection.open(collection, None, read_only=True) as opened:
        try:
            return opened.passage_vectors().vectors
        except InputError as exc:
            raise SystemExit(f"{collection}: {exc}; the bench needs flat or hnsw") from exc


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
    """Exact inner-product top-k row indices, computed in blocks.

    Each block's top-k is cut before merging, so memory stays at one block of scores
    (2000 queries x 100k rows: 0.8 GB) on a machine shared with other jobs.
    """
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(data), EXACT_BLOCK):
        sims = queries @ data[start : start + EXACT_BLOCK].T
        cut = min(k, sims.shape[1])
        top = np.argpartition(-sims, cut - 1, axis=1)[:, :cut]
        all_s = np.hstack([best_s, np.take_along_axis(sims, top, axis=1)])
        all_i = np.hstack([best_i, top + start])
        keep = np.argpartition(-all_s, k - 1, axis=1)[:, :k]
        best_s = np.take_along_axis(all_s, keep, axis=1)
        best_i = np.take_along_axis(all_i, keep, axis=1)
    return best_i


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean share of each query's exact top-k that ``found`` holds."""
    n = min(len(found), len(truth))
    return float(
        np.mean(
            [len(set(found[i, :k].tolist()) & set(truth[i, :k].tolist())) / k for i in range(n)]
        )
    )


# ---------------------------------------------------------------------- what to measure


@dataclass(frozen=True)
class KindSpec:
    """One index to build and the search-time settings to probe it with."""

    kind: str
    build: dict[str, Any]
    searches: tuple[dict[str, Any], ...] = ({},)

    def label(self) -> str:
        """The spec as written on the command line."""
        return f"{self.kind}:{json.dumps(self.build, sort_keys=True)}"


def parse_kinds(text: str) -> list[KindSpec]:
    """Parse ``kind:{json params};kind2...``; search-time params may be lists to sweep.

    ``hnsw_fp16:{"M":16,"efSearch":[128,256]}`` builds one index and probes it twice.

    Args:
        text: The option's value.

    Returns:
        One spec per kind.
    """
    specs = []
    for item in text.split(";"):
        if not item.strip():
            continue
        kind, _, raw = item.partition(":")
        params = json.loads(raw) if raw.strip() else {}
        if not isinstance(params, dict):
            raise argparse.ArgumentTypeError(f"{item!r}: params must be a JSON object")
        build = {key: value for key, value in params.items() if key not in SEARCH_PARAMS}
        if any(isinstance(value, list) for value in build.values()):
            raise argparse.ArgumentTypeError(
                f"{item!r}: only search-time params ({', '.join(SEARCH_PARAMS)}) can be swept"
            )
        swept = {
            key: value if isinstance(value, list) else [value]
            for key, value in params.items()
            if key in SEARCH_PARAMS
        }
        searches = tuple(
            dict(zip(swept, values, strict=True)) for values in itertools.product(*swept.values())
        )
        specs.append(KindSpec(kind.strip(), build, searches))
    return specs


@dataclass(frozen=True)
class Built:
    """A saved index: where it is and how it was made."""

    path: Path
    params: dict[str, Any]
    build_s: float
    build_load: float
    file_mb: float
    cached: bool


def fingerprint(data: np.ndarray) -> str:
    """A short digest of a vector set (shape and a strided sample of rows)."""
    digest = hashlib.sha256(repr(data.shape).encode())
    digest.update(np.ascontiguousarray(data[:: max(1, len(data) // FINGERPRINT_ROWS)]).tobytes())
    return digest.hexdigest()[:16]


def build_cached(data: np.ndarray, spec: KindSpec, cache: Path, *, rebuild: bool) -> Built:
    """Build and save ``spec``'s index over ``data``, or reuse the copy cached earlier.

    Args:
        data: Vectors, stored under ids ``0..n-1``.
        spec: Kind and build-time params.
        cache: Directory for index files and their build records.
        rebuild: Build even when a cached copy exists.

    Returns:
        The saved index.
    """
    key = hashlib.sha256(
        json.dumps(
            {"kind": spec.kind, "build": spec.build, "data": fingerprint(data)}, sort_keys=True
        ).encode()
    ).hexdigest()[:16]
    path = cache / f"{spec.kind}-{len(data)}-{key}.faiss"
    record = path.with_suffix(".json")
    if not rebuild and path.is_file() and record.is_file():
        meta = json.loads(record.read_text(encoding="utf-8"))
        size_mb = path.stat().st_size / 2**20
        return Built(path, meta["params"], meta["build_s"], meta["load"], size_mb, True)
    cache.mkdir(parents=True, exist_ok=True)
    load = load_average()[0]
    started = time.perf_counter()
    index = VectorIndex(data.shape[1], spec.kind, dict(spec.build))
    index.add(np.arange(len(data), dtype=np.int64), data)
    build_s = time.perf_counter() - started
    index.save(path)
    meta = {"spec": spec.label(), "params": index.params, "build_s": build_s, "load": load}
    record.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return Built(path, index.params, build_s, load, path.stat().st_size / 2**20, False)


def code_ceiling(
    built: Built, kind: str, queries: np.ndarray, truth: np.ndarray, k: int
) -> float | None:
    """Recall@k of exact search over the index's stored codes: what quantisation leaves.

    Graph kinds: a brute-force scan of the HNSW storage; IVF kinds: every list probed.

    The result is kept in the index's build record: the scan takes minutes at 1M.

    Returns:
        The recall, or None for kinds that store exact vectors.
    """
    if kind in EXACT_KINDS:
        return None
    record = built.path.with_suffix(".json")
    meta = json.loads(record.read_text(encoding="utf-8"))
    if meta.get("ceiling_queries") == CEILING_QUERIES:
        return float(meta["ceiling"])
    ceiling = _scan_codes(faiss.read_index(str(built.path)), kind, queries, truth, k)
    meta.update(ceiling=ceiling, ceiling_queries=CEILING_QUERIES)
    record.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return ceiling


def _scan_codes(index: Any, kind: str, queries: np.ndarray, truth: np.ndarray, k: int) -> float:
    queries, truth = queries[:CEILING_QUERIES], truth[:CEILING_QUERIES]
    if kind.startswith("ivf"):
        ivf = faiss.extract_index_ivf(index)
        params = faiss.SearchParametersIVF(nprobe=ivf.nlist)
        _, found = index.search(queries, k, params=params)
        return recall_at_k(found, truth, k)
    inner = faiss.downcast_index(index.index)
    _, rows = faiss.downcast_index(inner.storage).search(queries, k)
    found = faiss.vector_to_array(index.id_map)[rows]
    return recall_at_k(found, truth, k)


_PROBE = """
import json, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from pathlib import Path
import faiss
faiss.omp_set_num_threads(1)
from bench.harness import MS, percentiles, rss_mb
from semsearch.index.vectors import VectorIndex
queries = np.load({queries!r})
before = rss_mb()
started = time.perf_counter()
vi = VectorIndex.load(Path({path!r}), dimension=queries.shape[1], kind={kind!r},
                      params={params!r}, read_only=True)
load_s = time.perf_counter() - started
lat, cpu, ids = [], [], []
for q in queries:
    t, c = time.perf_counter(), time.thread_time()
    _, found = vi.search(q[None, :], {k})
    lat.append(time.perf_counter() - t)
    cpu.append(time.thread_time() - c)
    ids.append(found[0])
def ms(times, q):
    return percentiles(times, (q,), scale=MS)[0]
print(json.dumps({{"rss_index_mb": rss_mb() - before, "load_s": load_s,
    "p50_ms": ms(lat, 50), "p99_ms": ms(lat, 99), "p50_cpu_ms": ms(cpu, 50),
    "p99_cpu_ms": ms(cpu, 99), "ids": np.asarray(ids).tolist()}}))
"""


def probe(
    built: Built, queries_path: Path, kind: str, params: dict[str, Any], k: int
) -> dict[str, Any]:
    """Load the index in a fresh process; measure its RSS (after all queries, so pages a
    memory-mapped index touched count) and one-thread latency.

    Returns:
        ``rss_index_mb``, ``load_s``, ``p50_ms``, ``p99_ms`` and the found ``ids``.
    """
    code = _PROBE.format(
        root=str(ROOT),
        queries=str(queries_path),
        path=str(built.path),
        kind=kind,
        params=params,
        k=k,
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def bench_spec(
    label: str,
    data: np.ndarray,
    queries_path: Path,
    truth: np.ndarray,
    spec: KindSpec,
    args: argparse.Namespace,
    k: int,
) -> list[dict[str, Any]]:
    """Build (or reuse) one index, then probe it once per search-time setting.

    Returns:
        One result row per setting.
    """
    built = build_cached(data, spec, args.cache, rebuild=args.rebuild)
    queries = np.load(queries_path)
    ceiling = code_ceiling(built, spec.kind, queries, truth, k) if args.ceilings else None
    rows = []
    for search in spec.searches:
        params = {**built.params, **search}
        load = load_average()[0]
        measured = probe(built, queries_path, spec.kind, params, k)
        row = {
            "set": label,
            "n": len(data),
            "kind": spec.kind,
            "params": params,
            "build_s": round(built.build_s, 1),
            "file_mb": round(built.file_mb, 1),
            "rss_index_mb": round(measured["rss_index_mb"], 1),
            "ceiling": None if ceiling is None else round(ceiling, 4),
            "recall@10": round(recall_at_k(np.asarray(measured["ids"]), truth, k), 4),
            "p50_ms": round(measured["p50_ms"], 3),
            "p99_ms": round(measured["p99_ms"], 3),
            "p50_cpu_ms": round(measured["p50_cpu_ms"], 3),
            "p99_cpu_ms": round(measured["p99_cpu_ms"], 3),
            "build_load": round(built.build_load, 1),
            "load": round(load, 1),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def run_vectors(args: argparse.Namespace) -> None:
    collection = args.index or news_collection(quick=args.quick)
    base = real_vectors(collection)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(SEED)
    k = 10
    rows: list[dict[str, Any]] = []
    # Queries: held-out real passages with noise, so they are not in the index verbatim.
    held = rng.choice(len(base), BENCH_QUERIES + LATENCY_QUERIES, replace=False)
    mask = np.ones(len(base), dtype=bool)
    mask[held] = False
    data = base[mask]
    queries = derive(base[held], len(held), DERIVED_NOISE, seed=SEED + 1)[:LATENCY_QUERIES]
    label = f"real {len(data) // 1000}k"
    if len(data) < SMALL_SET and not args.quick:
        label = f"100k derived from {len(data):,} real"
        data = derive(data, SMALL_SET, DERIVED_NOISE, seed=SEED + 2)
    with tempfile.TemporaryDirectory() as tmp:
        queries_path = Path(tmp) / "queries.npy"
        np.save(queries_path, queries)
        truth = exact_top_k(data, queries, k)
        for spec in args.small_kinds:
            rows += bench_spec(label, data, queries_path, truth, spec, args, k)
        if args.million:
            del data, truth
            big = derive(base[mask], DERIVED_SIZE, DERIVED_NOISE)
            truth = exact_top_k(big, queries, k)
            for spec in args.large_kinds:
                rows += bench_spec("derived 1M", big, queries_path, truth, spec, args, k)
    header = [
        "vectors",
        "n",
        "kind",
        "params",
        "build s",
        "file MB",
        "index RSS MB",
        "code ceiling",
        "recall@10",
        "p50 ms",
        "p99 ms",
        "p50 CPU ms",
        "p99 CPU ms",
        "load build/probe",
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
                "-" if r["ceiling"] is None else r["ceiling"],
                r["recall@10"],
                r["p50_ms"],
                r["p99_ms"],
                r["p50_cpu_ms"],
                r["p99_cpu_ms"],
                f"{r['build_load']:.1f}/{r['load']:.1f}",
            ]
            for r in rows
        ],
    )
    note = (
        f"Real vectors: {len(base):,} passage embeddings of `{collection.name}`; "
        f"{BENCH_QUERIES + LATENCY_QUERIES} of them held out, the first {LATENCY_QUERIES} "
        "(with noise) are the queries. "
        "Latency: one query at a time on one thread in a fresh process, vector search only; "
        "index RSS is that process's growth after loading the index and running every query. "
        "Code ceiling: recall@10 of exact search over the index's stored (quantised) codes "
        f"(first {CEILING_QUERIES} queries), the most any search setting can reach. "
        "Load: the machine's one-minute load average when the index was built and before the "
        "probe (2 cores, shared with other jobs): above 2, work waits for a core, so build "
        "times and wall-clock latency inflate; the CPU time per query (the search thread's "
        "own) is given too, and on an idle core the two agree. Build times are for 2 threads, "
        "from the run that built the cached index. "
        "Targets at 1M: index RSS <= 1 GB, recall@10 >= 0.95, p50 <= 5 ms. "
        "Exact search scores below 1.0 because the corpus repeats some headlines: identical "
        "vectors tie, and FAISS and numpy order ties differently."
    )
    command = "python -m bench.index vectors" + (" --quick" if args.quick else "")
    write_section("index", "Vector index", command, note + "\n\n" + body)
    print(body)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    vec = sub.add_parser("vectors", help="vector index build/RSS/recall/latency")
    vec.add_argument(
        "--index", type=Path, help="collection with exact vectors (default: the bench collection)"
    )
    vec.add_argument("--quick", action="store_true", help="10k real vectors, no 1M set")
    vec.add_argument("--no-million", dest="million", action="store_false")
    vec.add_argument(
        "--small-kinds",
        type=parse_kinds,
        default=parse_kinds(DEFAULT_SMALL_KINDS),
        help="kind:{json params};... for the ~100k set; efSearch/nprobe may be lists",
    )
    vec.add_argument(
        "--large-kinds",
        type=parse_kinds,
        default=parse_kinds(DEFAULT_LARGE_KINDS),
        help="the same for the 1M set",
    )
    vec.add_argument("--cache", type=Path, default=CACHE_DIR, help="built indexes (reused)")
    vec.add_argument("--rebuild", action="store_true", help="build even when cached")
    vec.add_argument(
        "--no-ceilings",
        dest="ceilings",
        action="store_false",
        help="skip exact search over quantised codes",
    )
    vec.set_defaults(func=run_vectors)
    args = parser.parse_args(argv)
    if args.quick:
        args.million = False
    args.func(args)


if __name__ == "__main__":
    main()
