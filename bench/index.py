"""Index benchmarks.

``python bench/index.py vectors``: build time, RSS, recall@10 against exact search and
p50/p99 single-query latency of the vector index for ~100k real passage embeddings and 1M
vectors derived from them (real embeddings plus small Gaussian noise, re-normalised).

``python bench/index.py hybrid``: nDCG@10 of dense, lexical and hybrid search through a real
:class:`index.Collection` on the BEIR sets in ``../shared/eval``, with the real model's
embeddings (computed once and cached as ``.npy`` files in ``--cache``).

Both skip with a message when ``../shared`` or the embeddings are absent.
"""

from __future__ import annotations

import argparse
import json
import math
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from embedder.records import Article, Paragraph, Passage  # noqa: E402
from index.collection import Collection  # noqa: E402
from index.vectors import VectorIndex  # noqa: E402

SHARED = ROOT.parent / "shared"
DEFAULT_CACHE = Path(os.environ.get("SEMSEARCH_BENCH_CACHE", "/tmp/semsearch_eval_cache"))
HYBRID_SETS = ("xquad_en2zh_q2p", "ntrex_en2zh_sentence", "sohu2021_dd_retrieval", "cmrc2018_dev_q2p")
NEWS_CORPUS = SHARED / "corpus" / "news-112k.jsonl"
BENCH_QUERIES = 1000
LATENCY_QUERIES = 2000
DERIVED_SIZE = 1_000_000
SMALL_SET = 100_000
# Noise per coordinate for derived vectors: cosine to the source ~0.9, so copies are
# near-duplicates that still need ranking (a harder case than exact duplicates).
DERIVED_NOISE = 0.025
SEED = 0
NDCG_K = 10


# ---------------------------------------------------------------------- shared helpers


def rss_mb() -> float:
    """Current resident set size of this process in MB."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_model_embedder(cache: Path) -> Any:
    """The real model behind the TextEmbedder protocol, or None when unavailable."""
    model_dir = os.environ.get("SEMSEARCH_MODEL_DIR", "/tmp/models/e5")
    if not Path(model_dir).exists():
        return None
    from tests.fakes import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model_dir)


class CachedEmbedder:
    """Serves precomputed vectors by text (the bench embeds each set once)."""

    def __init__(self, table: dict[str, np.ndarray], dimension: int, fallback: Any = None) -> None:
        self.table = table
        self._dimension = dimension
        self.fallback = fallback

    fingerprint = "bench-cache"
    model_name = "multilingual-e5-small (cached)"
    max_tokens = 512

    @property
    def dimension(self) -> int:
        return self._dimension

    def _get(self, texts: Sequence[str], kind: str) -> np.ndarray:
        return np.vstack([self.table[f"{kind}\x00{t}"] for t in texts]).astype(np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._get(texts, "q")

    def embed_passages(self, texts: Sequence[str], *, progress: bool | None = None) -> np.ndarray:
        return self._get(texts, "p")

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(t) for t in texts]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _embed_cached(cache: Path, name: str, kind: str, texts: list[str], prefix: str) -> np.ndarray:
    path = cache / f"{name}.{kind}.npy"
    if path.exists():
        vectors = np.load(path)
        if len(vectors) == len(texts):
            return vectors
    model = load_model_embedder(cache)
    if model is None:
        raise SystemExit(f"no cached embeddings at {path} and no model (SEMSEARCH_MODEL_DIR)")
    vectors = model.embed_queries(texts) if prefix == "query" else model.embed_passages(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


# ---------------------------------------------------------------------- hybrid quality


def ndcg_at_k(ranked: list[str], relevance: dict[str, int], k: int = NDCG_K) -> float:
    """Graded nDCG@k."""
    dcg = sum((2 ** relevance.get(doc, 0) - 1) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevance.values(), reverse=True)[:k]
    idcg = sum((2**rel - 1) / math.log2(i + 2) for i, rel in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def eval_set(name: str, cache: Path, max_queries: int | None) -> dict[str, float]:
    """nDCG@10 per mode for one BEIR set."""
    folder = SHARED / "eval" / name
    corpus = _read_jsonl(folder / "corpus.jsonl")
    queries = _read_jsonl(folder / "queries.jsonl")
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels.tsv", encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            qid, did, score = line.rstrip("\n").split("\t")
            if int(score) > 0:
                qrels.setdefault(qid, {})[did] = int(score)
    doc_texts = [((d.get("title") or "") + " " + d["text"]).strip() for d in corpus]
    query_texts = [q["text"] for q in queries]
    doc_vecs = _embed_cached(cache, name, "corpus", doc_texts, "passage")
    query_vecs = _embed_cached(cache, name, "queries", query_texts, "query")
    table = {f"p\x00{t}": v for t, v in zip(doc_texts, doc_vecs, strict=True)}
    table.update({f"q\x00{t}": v for t, v in zip(query_texts, query_vecs, strict=True)})
    embedder = CachedEmbedder(table, doc_vecs.shape[1])
    with tempfile.TemporaryDirectory() as tmp:
        collection = Collection.create(Path(tmp) / "c", embedder)
        items = []
        for doc, text in zip(corpus, doc_texts, strict=True):
            paragraph = Paragraph(index=0, text=text, start=0, end=len(text))
            article = Article(id=doc["_id"], title="", text=text, paragraphs=[paragraph])
            passage = Passage(article_id=doc["_id"], ordinal=0, paragraph_index=0, start=0, end=len(text), text=text)
            items.append((article, [passage]))
        collection.upsert(items)
        scores: dict[str, list[float]] = {"dense": [], "lexical": [], "hybrid": []}
        weights: list[float] = []
        judged = [q for q in queries if q["_id"] in qrels][:max_queries]
        for query in judged:
            for mode in scores:
                response = collection.search(query["text"], mode=mode, k=NDCG_K)
                ranked = [hit.article_id for hit in response.results]
                scores[mode].append(ndcg_at_k(ranked, qrels[query["_id"]]))
                if mode == "hybrid":
                    weights.append(response.lexical_weight or 0.0)
        collection.close()
    out = {mode: float(np.mean(values)) for mode, values in scores.items()}
    out["mean_lexical_weight"] = float(np.mean(weights))
    out["queries"] = len(judged)
    return out


def run_hybrid(args: argparse.Namespace) -> None:
    if not (SHARED / "eval").exists():
        print(f"skip: {SHARED / 'eval'} not found")
        return
    print(f"{'set':26} {'queries':>7} {'dense':>7} {'lexical':>7} {'hybrid':>7} {'w_lex':>6}")
    for name in args.sets:
        result = eval_set(name, args.cache, args.max_queries)
        print(
            f"{name:26} {result['queries']:7.0f} {result['dense']:7.3f} {result['lexical']:7.3f}"
            f" {result['hybrid']:7.3f} {result['mean_lexical_weight']:6.3f}",
            flush=True,
        )


# ---------------------------------------------------------------------- vector index


def real_vectors(cache: Path) -> np.ndarray | None:
    """~100k real passage embeddings of news-112k, or None when not computed yet."""
    path = cache / "news112k.npy"
    if path.exists():
        return np.load(path)
    # Fallback: every real embedding the hybrid bench cached (eval corpora and queries).
    parts = [np.load(p) for p in sorted(cache.glob("*.npy")) if not p.name.startswith("news112k")]
    return np.vstack(parts) if parts else None


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


def _probe(index_path: Path, queries_path: Path, kind: str, params: dict[str, Any], k: int) -> dict[str, Any]:
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
    label: str, data: np.ndarray, queries: np.ndarray, truth: np.ndarray, kind: str, params: dict[str, Any], k: int
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
    base = real_vectors(args.cache)
    if base is None:
        print(f"skip: no real embeddings at {args.cache / 'news112k.npy'} (see module docstring)")
        return
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
    if len(data) < SMALL_SET:
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
    if args.markdown:
        print()
        print("| set | n | kind | params | build s | file MB | RSS MB | recall@10 | p50 ms | p99 ms |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['set']} | {r['n']:,} | {r['kind']} | {json.dumps(r['params'])} | {r['build_s']}"
                f" | {r['file_mb']} | {r['rss_index_mb']} | {r['recall@10']} | {r['p50_ms']} | {r['p99_ms']} |"
            )


def _kinds(text: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for item in text.split(";"):
        kind, _, raw = item.partition(":")
        out.append((kind.strip(), json.loads(raw) if raw else {}))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    vec = sub.add_parser("vectors", help="vector index build/RSS/recall/latency")
    vec.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    vec.add_argument("--no-million", dest="million", action="store_false")
    vec.add_argument("--small-kinds", type=_kinds, default=_kinds('flat;ivf_sq8;hnsw:{"M":32}'))
    vec.add_argument("--large-kinds", type=_kinds, default=_kinds('ivf_sq8:{"nlist":2048,"nprobe":16}'))
    vec.add_argument("--markdown", action="store_true")
    vec.set_defaults(func=run_vectors)
    hyb = sub.add_parser("hybrid", help="nDCG@10 of dense / lexical / hybrid on BEIR sets")
    hyb.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    hyb.add_argument("--sets", nargs="+", default=list(HYBRID_SETS))
    hyb.add_argument("--max-queries", type=int, default=None)
    hyb.set_defaults(func=run_hybrid)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
