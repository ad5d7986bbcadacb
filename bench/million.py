"""A 1M-passage collection end to end: build, HTTP latency, vector recall, RSS, writes.

``python -m bench.million`` derives about a million articles from the 112k benchmark
collection (``bench.corpus.news_collection``): each passage becomes an article in
:data:`COPIES` editions. Edition 0 keeps the text and its real embedding; edition ``j``
appends its paper's name to the text and takes the real vector plus Gaussian noise
(cosine :data:`EDITION_COSINE` to it), so every vector is a real model vector or near
one, without embedding a million passages (hours here). The build goes through the
public bulk path (:class:`index.bulk.ShardWriter`, ``Collection.prepare_bulk`` and one
``upsert``) into ``var/bench/news-1m`` (kept for reruns). Then, against
``semsearch serve`` in its own process:

- hybrid HTTP p50/p99 for one client, distinct queries (query encoding included);
- recall@10 of the vector part: ``mode=dense`` against exact search over the vectors;
- server RSS after the queries against the vector files' size plus the RSS of the
  same server on a one-article collection (the model and the runtime);
- the same searches with one ``POST /articles`` a second running beside them,
  alternating blocks with and without writes, and the write latency itself.

``--quick`` does the same on the 10k collection in two editions.
"""

from __future__ import annotations

import itertools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from semsearch import Collection, Embedder, Settings, prepare_articles
from semsearch.index.bulk import ShardStore, ShardWriter, keys_array, text_key, trained_empty_index
from semsearch.service.distributed import ShardEmbedder

from .corpus import BENCH_DIR, news_collection
from .harness import (
    MS,
    ROOT,
    free_port,
    load_average,
    memory_mb,
    options,
    percentiles,
    rss_mb,
    start_server,
    stop_server,
    table,
    write_section,
)
from .http import K, make_queries

COPIES = 9
QUICK_COPIES = 2
EDITION_COSINE = 0.9
PAPERS = [
    "人民日报",
    "光明日报",
    "经济日报",
    "郑州晚报",
    "大河报",
    "新京报",
    "南方日报",
    "解放日报",
    "文汇报",
]
QUERIES = 300
QUICK_QUERIES = 40
RECALL_QUERIES = 200
WRITE_BLOCKS = 4  # alternating blocks without and with writes
WRITE_INTERVAL_S = 1.0
API_KEY = "bench-million"
SEED = 20260420
BUILD_BATCH = 100_000


def truth_dir(target: Path) -> Path:
    """Where the build keeps the derived vectors (for exact search), beside the collection."""
    return target.with_name(f"{target.name}-vectors")


def derived_collection(
    source: Path, target: Path, copies: int, limit: int | None = None
) -> dict[str, float]:
    """Build ``target`` from ``source``'s passages in ``copies`` editions (kept if there).

    ``limit`` takes only that many of the source's passages (a small trial run).

    Returns:
        Build figures: seconds, passages, bytes on disk.
    """
    stamp = target / "bench-build.json"
    if stamp.is_file():
        return dict(json.loads(stamp.read_text()))
    spill = truth_dir(target)
    for stale in (target, spill):
        if stale.exists():
            shutil.rmtree(stale)
    embedder = Embedder.from_settings(Settings())
    with Collection.open(source, None, read_only=True) as base:
        real = base.passage_vectors()
    began = time.perf_counter()
    rng = np.random.default_rng(SEED)
    # |noise|^2 = d * s^2 makes the cosine to the real vector about 1 / sqrt(1 + d * s^2).
    sigma = float(np.sqrt((1 / EDITION_COSINE**2 - 1) / real.vectors.shape[1]))
    records = (
        {
            "id": f"p{pid}-{j}",
            "title": "",
            "text": text if j == 0 else f"{text}（{PAPERS[j % len(PAPERS)]}）",
            "source": PAPERS[j % len(PAPERS)],
            "date": f"{1998 + (pid + j) % 26}-{1 + (pid // 7) % 12:02d}-{1 + pid % 28:02d}",
        }
        for j in range(copies)
        for pid, text in zip(real.passage_ids[:limit].tolist(), real.texts[:limit], strict=True)
    )
    writer = ShardWriter(spill, real.vectors.shape[1], BUILD_BATCH)
    row_of = {int(p): i for i, p in enumerate(real.passage_ids.tolist())}
    items, rows = [], []
    for article, passages in prepare_articles(records, embedder, label="derived"):
        pid, edition = (int(x) for x in article.id[1:].split("-"))
        vector = real.vectors[row_of[pid]]
        if edition:
            noisy = vector + rng.normal(0.0, sigma, vector.shape).astype(np.float32)
            vector = noisy / np.linalg.norm(noisy)
        writer.add(
            keys_array([text_key(p.text) for p in passages]),
            np.repeat(vector[None, :], len(passages), axis=0),
        )
        rows += [f"{article.id}#{p.ordinal}" for p in passages]
        items.append((article, passages))
    writer.flush()
    (spill / "rows.json").write_text(json.dumps(rows))
    prepared_s = time.perf_counter() - began
    store = ShardStore(spill)
    shards = ShardEmbedder(store, embedder)
    with Collection.create(target, shards) as collection:
        index = trained_empty_index(
            embedder.dimension,
            "auto",
            {},
            expected=len(store),
            store=store,
            build={"bench": "million"},
        )
        collection.prepare_bulk(index, auto=True)
        del real, records
        collection.upsert(items)
        info = collection.info()
    figures = {
        "build_s": time.perf_counter() - began,
        "prepare_s": prepared_s,
        "articles": info.articles,
        "passages": info.passages,
        "embedded_here": shards.embedded_here,
        # Every file, the lexical engine's folder included.
        "disk_bytes": sum(p.stat().st_size for p in target.rglob("*") if p.is_file()),
        "vector_bytes": sum((target / s["file"]).stat().st_size for s in info.segments),
        "kind": info.index_kind,
        "segments": len(info.segments),
        "load": load_average()[0],
    }
    stamp.write_text(json.dumps(figures))
    return figures


def vector_recall(target: Path, queries: list[str]) -> float:
    """Recall@10 of ``mode=dense`` against exact inner products over the derived vectors."""
    spill = truth_dir(target)
    rows = np.asarray(json.loads((spill / "rows.json").read_text()))
    vectors = np.concatenate([np.asarray(v) for v in ShardStore(spill).iter_shards()])
    embedder = Embedder.from_settings(Settings())
    hits = 0
    with Collection.open(target, embedder, read_only=True) as collection:
        for query in queries:
            qv = embedder.embed_queries([query])[0]
            truth = set(rows[np.argpartition(-(vectors @ qv), K)[:K]].tolist())
            found = collection.search(query, mode="dense", k=K, syntax=False).results
            hits += len(truth & {f"{h.article_id}#{h.ordinal}" for h in found})
    return hits / (K * len(queries))


def search_latencies(client: httpx.Client, queries: list[str]) -> list[float]:
    """Seconds per hybrid query, one after another."""
    out = []
    for query in queries:
        began = time.perf_counter()
        response = client.get("/search", params={"q": query, "k": K, "mode": "hybrid"})
        if response.status_code != 200:
            raise SystemExit(f"search failed: {response.status_code} {response.text[:200]}")
        out.append(time.perf_counter() - began)
    return out


def write_stream(client: httpx.Client, stop: threading.Event, latencies: list[float]) -> None:
    """One ``POST /articles`` (a distinct new article) a second until ``stop``."""
    for n in itertools.count():
        if stop.wait(WRITE_INTERVAL_S):
            return
        body = {
            "articles": [
                {
                    "id": f"live-{n}",
                    "title": f"滚动新闻 {n}",
                    "text": f"第{n}条滚动新闻：城市交通建设项目进展顺利，市场经济平稳。",
                }
            ]
        }
        began = time.perf_counter()
        response = client.post("/articles", json=body, headers={"X-API-Key": API_KEY})
        if response.status_code >= 300:
            raise SystemExit(f"write failed: {response.status_code} {response.text[:200]}")
        latencies.append(time.perf_counter() - began)


def serve(index: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``semsearch serve`` on ``index`` with writes enabled; its base URL."""
    port = free_port()
    process = start_server(index, port, env={"SEMSEARCH_API_KEY": API_KEY})
    return process, f"http://127.0.0.1:{port}"


def model_only_rss(workdir: Path) -> float:
    """RSS (MB) of the server on a one-article collection after a few queries."""
    tiny = workdir / "tiny"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "semsearch.service.cli",
            "ingest",
            str(ROOT / "data" / "samples"),
            "--index",
            str(tiny),
            "--no-progress",
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    process, base = serve(tiny)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            search_latencies(client, make_queries(20))
        return rss_mb(process.pid)
    finally:
        stop_server(process)


def main() -> None:
    """Build (or reuse) the derived collection, measure it, write the section."""
    parser = options(__doc__, quick="10k collection, two editions")
    parser.add_argument("--copies", type=int, help=f"editions of each passage (default {COPIES})")
    parser.add_argument("--limit", type=int, help="use only this many source passages (a trial)")
    args = parser.parse_args()
    copies = args.copies or (QUICK_COPIES if args.quick else COPIES)
    n_queries = QUICK_QUERIES if args.quick else QUERIES
    source = news_collection(quick=args.quick)
    name = "news-1m" if copies == COPIES and not args.quick else f"{source.name}-x{copies}"
    target = BENCH_DIR / (f"{name}-{args.limit}" if args.limit else name)
    build = derived_collection(source, target, copies, args.limit)
    queries = make_queries(n_queries * (WRITE_BLOCKS + 1) + RECALL_QUERIES)
    recall_queries, queries = queries[:RECALL_QUERIES], queries[RECALL_QUERIES:]
    recall = vector_recall(target, recall_queries[: n_queries if args.quick else RECALL_QUERIES])
    loads = [load_average()[0]]
    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as tmp:
        base_rss = model_only_rss(Path(tmp))
        work = Path(tmp) / "live"
        # Writes go to a copy: the built collection stays as measured for the next run.
        shutil.copytree(target, work)
        process, base = serve(work)
        try:
            with httpx.Client(base_url=base, timeout=120) as client:
                search_latencies(client, make_queries(400)[-20:])  # warm-up, not measured
                single = search_latencies(client, queries[:n_queries])
                rss = memory_mb(process.pid)
                loads.append(load_average()[0])
                quiet: list[float] = []
                busy: list[float] = []
                writes: list[float] = []
                block = n_queries // WRITE_BLOCKS
                for b in range(WRITE_BLOCKS):
                    chunk = queries[n_queries * (1 + b) : n_queries * (1 + b) + 2 * block]
                    quiet += search_latencies(client, chunk[:block])
                    stop = threading.Event()
                    with httpx.Client(base_url=base, timeout=120) as writer_client:
                        thread = threading.Thread(
                            target=write_stream, args=(writer_client, stop, writes)
                        )
                        thread.start()
                        busy += search_latencies(client, chunk[block:])
                        stop.set()
                        thread.join()
                rss_after = memory_mb(process.pid)
                loads.append(load_average()[0])
        finally:
            stop_server(process)
    p50, p99 = percentiles(single, scale=MS)
    q50, q99 = percentiles(quiet, scale=MS)
    w50, w99 = percentiles(busy, scale=MS)
    vector_mb = build["vector_bytes"] / 1e6
    body = "\n\n".join(
        [
            f"Collection `{target.name}`: {build['articles']:,} articles, {build['passages']:,} passages"
            f" ({copies} editions of each passage of `{source.name}`; edition 0 is the real text and"
            f" embedding, the others append a paper name and take the real vector plus noise at cosine"
            f" {EDITION_COSINE}). Index `{build['kind']}` in {build['segments']} segment(s);"
            f" {build['embedded_here']} passages had to be embedded by the model during the build.",
            table(
                [
                    "build s",
                    "of which prepare s",
                    "disk MB",
                    "vector files MB",
                    "load at build end",
                ],
                [
                    [
                        f"{build['build_s']:.0f}",
                        f"{build['prepare_s']:.0f}",
                        f"{build['disk_bytes'] / 1e6:.0f}",
                        f"{vector_mb:.0f}",
                        f"{build['load']:.1f}",
                    ]
                ],
            ),
            table(
                ["measure", "value", "target"],
                [
                    ["hybrid HTTP p50 ms, 1 client", f"{p50:.1f}", "≤ 25"],
                    ["hybrid HTTP p99 ms, 1 client", f"{p99:.1f}", "≤ 60"],
                    [
                        f"recall@10 of `mode=dense` vs exact ({len(recall_queries[: n_queries if args.quick else RECALL_QUERIES])} queries)",
                        f"{recall:.3f}",
                        "≥ 0.95",
                    ],
                    [
                        "server RSS MB after the queries (anon / file)",
                        f"{rss['VmRSS']:.0f} ({rss['RssAnon']:.0f} / {rss['RssFile']:.0f})",
                        "",
                    ],
                    [
                        "server RSS MB on a one-article collection (model + runtime)",
                        f"{base_rss:.0f}",
                        "",
                    ],
                    [
                        "RSS / (vector files + model-only RSS)",
                        f"{rss['VmRSS'] / (vector_mb + base_rss):.2f}",
                        "≤ 1.3",
                    ],
                    [
                        "server RSS MB after the write blocks (peak)",
                        f"{rss_after['VmRSS']:.0f} ({rss_after['VmHWM']:.0f})",
                        "",
                    ],
                ],
            ),
            "Searches with and without a write stream (one `POST /articles` a second, background"
            f" merges on), {WRITE_BLOCKS} alternating blocks of {block} distinct queries each:",
            table(
                ["searches", "n", "p50 ms", "p99 ms"],
                [
                    ["without writes", len(quiet), f"{q50:.1f}", f"{q99:.1f}"],
                    ["with writes", len(busy), f"{w50:.1f}", f"{w99:.1f}"],
                    ["ratio with / without", "", f"{w50 / q50:.2f}", f"{w99 / q99:.2f}"],
                ],
            ),
            f"The {len(writes)} writes themselves (one article, embedded by the server's model):"
            f" p50 {statistics.median(writes) * 1000:.1f} ms, max {max(writes) * 1000:.1f} ms."
            if writes
            else "No write completed.",
            f"Load average (1 min) at the start, after the single-client run and at the end:"
            f" {', '.join(f'{x:.1f}' for x in loads)}.",
        ]
    )
    write_section(
        "million",
        "A 1M-passage collection end to end",
        "python -m bench.million" + (" --quick" if args.quick else ""),
        body,
    )


if __name__ == "__main__":
    main()
