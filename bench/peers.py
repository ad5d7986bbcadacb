"""semsearch side by side with its peers: quality on every BEIR set, ingest and query speed.

Peers, all over the very same passages (the project's chunker output) and the same model:

- baseline: what a user hand-rolls, sentence-transformers fp32 + ``faiss.IndexFlatIP``,
  dense only;
- txtai with its hybrid search on (default BM25 + dense), run by ``bench/peers_txtai.py`` in
  its own virtualenv (``var/peers-venv``, created here on first use: txtai's dependencies
  must not bend the project's pins).

Passage rankings of every engine are collapsed to articles (best passage) and scored by
``service.metrics_ir``. Speed is measured on one set with every cache off: ingest
passages/s, and end-to-end per-query latency (embed the query, search, top 10).
Run: ``python -m bench.peers [--quick]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.index import Collection
from semsearch.service.evaluation import BeirDataset, Corpus, evaluate, load_beir, read_corpus
from semsearch.service.metrics_ir import RECALL_DEEP, mean_scores

from .harness import ROOT, SHARED, options, percentiles, table, timed, write_section
from .quality import eval_sets

SECTION = "peers"
PEERS_VENV = ROOT / "var" / "peers-venv"
PEERS_CACHE = ROOT / "var" / "peers-cache"
RESULTS_JSON = ROOT / "var" / "bench" / "peers.json"
TXTAI_SCRIPT = Path(__file__).with_name("peers_txtai.py")
# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
VENV_INSTALLS = (("torch==2.13.0",), ("txtai", "faiss-cpu"))
QUICK_SETS = ("sohu2021_dd_retrieval",)
QUICK_QUERIES = 100
SPEED_SET = "sohu2021_dd_retrieval"
LATENCY_QUERIES = 200
QUICK_LATENCY_QUERIES = 50
# Speed runs per engine in this process, interleaved (ours, baseline, ours, ...); each figure
# is the median over runs, so one run's warm-up or a noisy neighbour does not decide it.
SPEED_RUNS = 3
# Passages fetched per query before collapsing to articles: enough for Recall@100.
PASSAGE_DEPTH = 4 * RECALL_DEEP
TOP_K = 10
BATCH = 32


def log(message: str) -> None:
    """Progress line on stderr."""
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- peers venv


def _venv_python() -> Path:
    return PEERS_VENV / "bin" / "python"


def ensure_peers_venv() -> Path | None:
    """The peers virtualenv's python, created (idempotently) when missing or incomplete.

    Returns:
        The interpreter, or None when it could not be set up (the txtai column is skipped).
    """
    python = _venv_python()
    check = [str(python), "-c", "import txtai, faiss"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    log(f"peers: creating {PEERS_VENV} (txtai and its dependencies from the package index)")
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        for packages in VENV_INSTALLS:
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)
        subprocess.run(check, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"peers: txtai venv unavailable ({exc}); txtai is left out")
        return None
    return python


# ---------------------------------------------------------------------- helpers


def collapse(
    passage_ids: Sequence[int], owners: Sequence[str], depth: int = RECALL_DEEP
) -> list[str]:
    """Passage ranking -> article ranking (each article at its best passage's place).

    Args:
        passage_ids: Indexes into ``owners``, best first (negative ids are padding).
        owners: Article id of each passage.
        depth: Articles to keep.

    Returns:
        Article ids, best first.
    """
    seen: dict[str, None] = {}
    for pid in passage_ids:
        if pid >= 0:
            seen.setdefault(owners[pid], None)
            if len(seen) >= depth:
                break
    return list(seen)


def passage_table(corpus: Corpus) -> tuple[list[str], list[str]]:
    """Flatten a corpus into passage texts and their article ids."""
    texts: list[str] = []
    owners: list[str] = []
    for article, passages in corpus.items:
        for passage in passages:
            texts.append(passage.text)
            owners.append(article.id)
    return texts, owners


# ---------------------------------------------------------------------- baseline


class Baseline:
    """sentence-transformers fp32 + ``faiss.IndexFlatIP``: the hand-rolled dense search."""

    def __init__(self, model_dir: str, threads: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self.model = SentenceTransformer(model_dir, device="cpu")

    def encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        """Normalised fp32 vectors with the model's ``query``/``passage`` prompt."""
        vectors = self.model.encode(
            list(texts), prompt_name=prompt, batch_size=BATCH, normalize_embeddings=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def cached(self, name: str, texts: Sequence[str], prompt: str) -> np.ndarray:
        """:meth:`encode` through a per-set ``.npy`` cache (keyed by the texts)."""
        digest = hashlib.sha1("\x00".join([prompt, *texts]).encode("utf-8")).hexdigest()[:16]
        path = PEERS_CACHE / f"{name}.{prompt}.{digest}.npy"
        if path.exists():
            return np.load(path)
        vectors = self.encode(texts, prompt)
        PEERS_CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
        return vectors

    @staticmethod
    def index(vectors: np.ndarray) -> Any:
        """An exact inner-product index over ``vectors``."""
        import faiss

        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        return flat


def run_baseline(
    baseline: Baseline, dataset: BeirDataset, texts: list[str], owners: list[str]
) -> dict[str, float]:
    """Quality of the baseline on one set."""
    index = baseline.index(baseline.cached(dataset.name, texts, "passage"))
    qids = list(dataset.queries)
    queries = baseline.cached(dataset.name, [dataset.queries[q] for q in qids], "query")
    _, found = index.search(queries, min(PASSAGE_DEPTH, len(texts)))
    rankings = {qid: collapse(row.tolist(), owners) for qid, row in zip(qids, found, strict=True)}
    return mean_scores(dataset.qrels, rankings)


# ---------------------------------------------------------------------- txtai


def run_txtai(
    python: Path, dataset: BeirDataset, texts: list[str], owners: list[str], latency_queries: int
) -> dict[str, Any]:
    """Quality (and timings) of txtai's hybrid search on one set, in the peers venv."""
    qids = list(dataset.queries)
    job = {
        "model": Settings().resolved_model(),
        "passages": texts,
        "queries": [dataset.queries[q] for q in qids],
        "depth": min(PASSAGE_DEPTH, len(texts)),
        "latency_queries": latency_queries,
        "threads": Settings().threads,
    }
    # txtai embeds every passage in fp32 on each run (the costliest part of this bench): its
    # rankings are kept per job, so only the timed set is re-run when nothing changed.
    digest = hashlib.sha1(json.dumps(job, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]
    saved_rankings = PEERS_CACHE / f"{dataset.name}.txtai.{digest}.json"
    if latency_queries == 0 and saved_rankings.exists():
        out = json.loads(saved_rankings.read_text(encoding="utf-8"))
    else:
        out = _txtai_job(python, job)
        PEERS_CACHE.mkdir(parents=True, exist_ok=True)
        saved_rankings.write_text(
            json.dumps({k: out[k] for k in ("version", "rankings")}), encoding="utf-8"
        )
    rankings = {qid: collapse(row, owners) for qid, row in zip(qids, out["rankings"], strict=True)}
    p50, p99 = percentiles(out.get("latency_ms") or [0.0])
    index_s = float(out.get("index_s", 0.0))
    return {
        **mean_scores(dataset.qrels, rankings),
        "version": out["version"],
        "passages_per_s": len(texts) / index_s if index_s > 0 else 0.0,
        "p50_ms": p50,
        "p99_ms": p99,
    }


def _txtai_job(python: Path, job: dict[str, Any]) -> dict[str, Any]:
    """Run ``bench/peers_txtai.py`` on one job in the peers venv and return its output."""
    with tempfile.TemporaryDirectory(prefix="semsearch-peers-") as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        done = subprocess.run(
            # -P: the script's folder must not lead sys.path, or bench/http.py would shadow
            # the standard library's http package inside the peer's imports.
            [str(python), "-P", str(TXTAI_SCRIPT), str(job_path), str(out_path)],
            capture_output=True,
            text=True,
            env=env,
        )
        if done.returncode != 0:
            raise RuntimeError(f"txtai peer failed: {done.stderr.strip().splitlines()[-1:]}")
        return dict(json.loads(out_path.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------- speed


def semsearch_speed(dataset: BeirDataset, queries: list[str]) -> dict[str, float]:
    """Uncached ingest rate and end-to-end hybrid query latency of semsearch."""
    embedder = Embedder.from_settings(Settings(cache=False, progress=False))
    corpus = read_corpus(dataset, embedder)
    with tempfile.TemporaryDirectory(prefix="semsearch-peers-") as tmp:
        collection = Collection.create(Path(tmp) / "c", embedder)
        try:
            seconds = timed(collection.upsert, corpus.items)
            collection.search(queries[0], k=TOP_K, collapse=True)  # warm-up
            latency: list[float] = []
            for query in queries:
                began = time.perf_counter()
                collection.search(query, k=TOP_K, collapse=True)
                latency.append((time.perf_counter() - began) * 1000.0)
        finally:
            collection.close()
    p50, p99 = percentiles(latency)
    return {"passages_per_s": corpus.passages / seconds, "p50_ms": p50, "p99_ms": p99}


def baseline_speed(
    baseline: Baseline, texts: list[str], owners: list[str], queries: list[str]
) -> dict[str, float]:
    """Uncached ingest rate and end-to-end query latency of the baseline."""
    holder: dict[str, Any] = {}

    def build() -> None:
        holder["index"] = baseline.index(baseline.encode(texts, "passage"))

    seconds = timed(build)
    index = holder["index"]

    def query(text: str) -> list[str]:
        _, found = index.search(baseline.encode([text], "query"), min(4 * TOP_K, len(texts)))
        return collapse(found[0].tolist(), owners, TOP_K)

    query(queries[0])  # warm-up
    latency: list[float] = []
    for text in queries:
        began = time.perf_counter()
        query(text)
        latency.append((time.perf_counter() - began) * 1000.0)
    p50, p99 = percentiles(latency)
    return {"passages_per_s": len(texts) / seconds, "p50_ms": p50, "p99_ms": p99}


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over repeated runs, and how many runs there were."""
    out = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    out["runs"] = len(runs)
    return out


# ---------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    """Run the comparison and record it."""
    parser = options(__doc__, quick=f"{SPEED_SET} only, {QUICK_QUERIES} queries")
    parser.add_argument("--no-txtai", action="store_true", help="leave txtai out")
    args = parser.parse_args(argv)
    if not (SHARED / "eval").is_dir():
        print(f"skip: {SHARED / 'eval'} not found")
        return
    settings = Settings(progress=False)
    embedder = Embedder.from_settings(settings)
    baseline = Baseline(settings.resolved_model(), settings.threads)
    python = None if args.no_txtai else ensure_peers_venv()
    limit = QUICK_QUERIES if args.quick else None
    latency_n = QUICK_LATENCY_QUERIES if args.quick else LATENCY_QUERIES
    # Each speed run embeds the speed set uncached twice (ours, the baseline's fp32).
    speed_runs = 1 if args.quick else SPEED_RUNS
    folders = [f for f in eval_sets(False) if not args.quick or f.name in QUICK_SETS]
    quality_rows: list[list[object]] = []
    saved: dict[str, Any] = {"sets": {}}
    txtai_version = "-"
    txtai_speed: dict[str, float] | None = None
    for folder in folders:
        dataset = load_beir(folder, limit=limit)
        report = evaluate(dataset, embedder)
        ours = {r.mode: r.metrics for r in report.results}
        texts, owners = passage_table(read_corpus(dataset, embedder))
        log(f"{dataset.name}: {len(texts)} passages, {len(dataset.queries)} queries")
        base = run_baseline(baseline, dataset, texts, owners)
        peer: dict[str, Any] | None = None
        if python is not None:
            try:
                peer = run_txtai(
                    python, dataset, texts, owners, latency_n if dataset.name == SPEED_SET else 0
                )
                txtai_version = str(peer["version"])
                if dataset.name == SPEED_SET:
                    txtai_speed = peer
            except RuntimeError as exc:
                log(str(exc))
        quality_rows.append(
            [
                dataset.name,
                len(dataset.queries),
                ours["dense"]["ndcg@10"],
                ours["lexical"]["ndcg@10"],
                ours["hybrid"]["ndcg@10"],
                base["ndcg@10"],
                peer["ndcg@10"] if peer else "n/a",
            ]
        )
        saved["sets"][dataset.name] = {"semsearch": ours, "baseline": base, "txtai": peer}
        log(" | ".join(str(c) for c in quality_rows[-1]))

    speed_set = load_beir(SHARED / "eval" / SPEED_SET)
    queries = list(speed_set.queries.values())[:latency_n]
    speed_texts, speed_owners = passage_table(read_corpus(speed_set, embedder))
    ours_runs: list[dict[str, float]] = []
    base_runs: list[dict[str, float]] = []
    for _ in range(speed_runs):
        ours_runs.append(semsearch_speed(speed_set, queries))
        base_runs.append(baseline_speed(baseline, speed_texts, speed_owners, queries))
    ours_speed, base_speed = median_run(ours_runs), median_run(base_runs)
    speed_rows: list[list[object]] = [
        [f"semsearch hybrid ({embedder.backend_name})", *_speed_cells(ours_speed)],
        ["baseline: sentence-transformers fp32 + IndexFlatIP", *_speed_cells(base_speed)],
    ]
    if txtai_speed is not None:
        speed_rows.append([f"txtai {txtai_version} hybrid", *_speed_cells(txtai_speed)])
    saved["speed"] = {
        "semsearch": ours_speed,
        "baseline": base_speed,
        "txtai": txtai_speed,
        "runs": {"semsearch": ours_runs, "baseline": base_runs},
    }
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(saved, indent=1, default=str), encoding="utf-8")

    body = (
        "Article-level nDCG@10 over the same passages (the project's chunker) and the same "
        f"model; semsearch embeds with {embedder.backend_name}, the peers with fp32 torch"
        + (f"; first {limit} queries per set" if limit else "; all judged queries")
        + ". Baseline: sentence-transformers fp32 + `faiss.IndexFlatIP`, dense only. "
        f"txtai {txtai_version}: `Embeddings(hybrid=True)` with e5 prompts, in its own venv.\n\n"
        + table(
            [
                "set",
                "queries",
                "semsearch dense",
                "semsearch lexical",
                "semsearch hybrid",
                "baseline",
                "txtai hybrid",
            ],
            quality_rows,
        )
        + f"\n\nSpeed on {SPEED_SET} ({len(speed_texts)} passages), every cache off, "
        f"{settings.threads} threads: ingest = embed and index all passages; latency = one "
        f"query end to end (embed, search, top {TOP_K}), {len(queries)} queries. semsearch and"
        f" the baseline run {speed_runs} times each, interleaved, and each figure is the median"
        " of its runs (txtai, in its own process, runs once).\n\n"
        + table(["engine", "ingest passages/s", "query p50 ms", "query p99 ms"], speed_rows)
    )
    command = "python -m bench.peers" + (" --quick" if args.quick else "")
    write_section(SECTION, "Peers: baseline and txtai", command, body)
    print(body)


def _speed_cells(values: dict[str, Any]) -> list[str]:
    return [
        f"{values['passages_per_s']:.1f}",
        f"{values['p50_ms']:.1f}",
        f"{values['p99_ms']:.1f}",
    ]


if __name__ == "__main__":
    main()
