"""The cluster path's cost per query and per write against one collection.

One collection (the ``cmrc2018_dev_q2p`` set, kept under ``var/eval-cache``) and the same
collection split into ``--shards`` shards, measured four ways, one after another (never
two at once), queries interleaved between the two sides of each pair:

* in process: ``Collection.search`` against ``ShardedCollection.search`` (shards in this
  process): the merging's own cost;
* over HTTP: ``semsearch serve`` on the collection against ``semsearch serve --cluster``'s
  Ray Serve application (local Ray): the whole cluster path (proxy, ingress, a handle call
  per shard and round);
* writes: one-article ``POST /articles`` on each server (each text new, so the model
  embeds it: a write's real cost), on copies of the collections.

This machine has 2 cores, so shards add no parallelism here: the figures are overhead.
Run: ``python -m bench.shards_speed [--shards 3] [--queries 200]``.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from semsearch.embedder.embedder import Embedder
from semsearch.embedder.settings import Settings
from semsearch.index import Collection
from semsearch.index.backup import backup_collection
from semsearch.index.cluster import split_collection
from semsearch.index.sharded import ShardedCollection
from semsearch.service.config import ServiceSettings
from semsearch.service.evaluation import kept_collection, load_beir

from .harness import (
    MS,
    ROOT,
    SHARED,
    free_port,
    load_text,
    options,
    percentiles,
    query_count,
    start_server,
    table,
    write_section,
)

SECTION = "shards-speed"
SET = "cmrc2018_dev_q2p"
KEY = "bench-key"
WRITES = 20
RESULTS_JSON = ROOT / "var" / "bench" / "shards_speed.json"


def paired(
    a: Callable[[str], Any], b: Callable[[str], Any], queries: list[str]
) -> tuple[list[float], list[float]]:
    """Latency of each query on both sides, alternating which goes first."""
    ta: list[float] = []
    tb: list[float] = []
    for i, query in enumerate(queries):
        order = [(a, ta), (b, tb)] if i % 2 == 0 else [(b, tb), (a, ta)]
        for call, out in order:
            began = time.perf_counter()
            call(query)
            out.append(time.perf_counter() - began)
    return ta, tb


def _get(base: str, mode: str) -> Callable[[str], Any]:
    client = httpx.Client(base_url=base, timeout=60)

    def call(query: str) -> Any:
        response = client.get("/search", params={"q": query, "mode": mode, "k": 10})
        if response.status_code != 200 or response.json().get("partial"):
            raise SystemExit(f"{base}: {response.status_code} {response.text[:200]}")

    return call


def replica_rss() -> dict[str, str]:
    """Resident memory (MB) of each Serve replica process on this machine, by deployment:
    private (anonymous) / file-backed / shared memory (Ray's object store is mapped into
    every worker, so total RSS overstates what a replica costs)."""
    out: dict[str, str] = {}
    for proc in Path("/proc").iterdir():
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "ServeReplica:" not in title:
                continue
            status = (proc / "status").read_text()
        except OSError:
            continue
        name = title.split("ServeReplica:", 1)[1].split()[0]
        fields = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith("Rss")}
        parts = (fields.get(k, 0) / 1024.0 for k in ("RssAnon", "RssFile", "RssShmem"))
        out[name.split(".")[0]] = " / ".join(f"{mb:.0f}" for mb in parts)
    return out


def _writes(base: str, tag: str) -> list[float]:
    out = []
    with httpx.Client(base_url=base, timeout=120, headers={"X-API-Key": KEY}) as client:
        for i in range(WRITES):
            # New text every time: the model embeds it, as a real write's would be.
            text = f"基准写入 {tag} 第{i}篇 {time.time_ns()} 城市交通 地铁 线路 开通 运营。"
            began = time.perf_counter()
            response = client.post("/articles", json={"articles": [{"id": f"{tag}-{i}", "title": "写入", "text": text}]})
            out.append(time.perf_counter() - began)
            if response.status_code != 200:
                raise SystemExit(f"write failed: {response.status_code} {response.text[:200]}")
    return out


def main(argv: list[str] | None = None) -> None:
    """Run the measurements and record them."""
    parser = options(__doc__, quick="30 queries (a development pass)", queries=200)
    parser.add_argument("--shards", type=int, default=3)
    args = parser.parse_args(argv)
    args.queries = query_count(args, 200, 30)
    if not (SHARED / "eval" / SET).is_dir():
        print(f"skip: {SHARED / 'eval' / SET} not found")
        return
    import ray

    from semsearch.service.cluster_serve import ClusterPlan, deploy

    started = time.time()
    loads = {"start": load_text()}
    settings = Settings(progress=False)
    embedder = Embedder.from_settings(settings)
    dataset = load_beir(SHARED / "eval" / SET, limit=args.queries)
    queries = list(dataset.queries.values())
    embedder.embed_queries(queries)  # both sides then find them in the embedding cache
    kept = kept_collection(dataset, embedder, ROOT / "var" / "eval-cache")
    source = kept.path
    kept.close()
    rows: list[list[object]] = []
    saved: dict[str, Any] = {"shards": args.shards, "queries": len(queries)}
    with tempfile.TemporaryDirectory(prefix="semsearch-shards-speed-") as tmp:
        root = Path(tmp)
        backup_collection(source, root / "one")
        split_collection(root / "one", root / "cluster", embedder, args.shards)
        with Collection.open(root / "one", None, read_only=True) as counted:
            articles, passages = counted.counts()
        # In process.
        with Collection.open(root / "one", embedder, read_only=True) as one, ShardedCollection.open(
            root / "cluster", embedder
        ) as cluster:
            for mode in ("hybrid", "dense", "lexical"):
                ta, tb = paired(
                    lambda q, m=mode: one.search(q, mode=m, k=10),
                    lambda q, m=mode: cluster.search(q, mode=m, k=10),
                    queries,
                )
                rows.append(_row("in process", mode, ta, tb))
                print(rows[-1], file=sys.stderr, flush=True)
        loads["after in-process"] = load_text()
        # Over HTTP: the single server in a child process, the cluster on a local Ray.
        env = {"SEMSEARCH_API_KEY": KEY, "SEMSEARCH_CACHE": "true"}
        port = free_port()
        single = start_server(root / "one", port, env=env)
        ray.init(num_cpus=4, include_dashboard=False, logging_level=logging.WARNING)
        try:
            from ray import serve

            cport = free_port()
            service = ServiceSettings(
                api_key=SecretStr(KEY), host="127.0.0.1", port=cport, progress=False
            )
            deploy(ClusterPlan(path=root / "cluster", settings=service))
            cbase = f"http://127.0.0.1:{cport}"
            deadline = time.monotonic() + 300
            while httpx.get(f"{cbase}/readyz", timeout=10).status_code != 200:
                if time.monotonic() > deadline:
                    raise SystemExit("cluster not ready")
                time.sleep(1)
            base = f"http://127.0.0.1:{port}"
            for mode in ("hybrid", "dense", "lexical"):
                warm = queries[:5]
                paired(_get(base, mode), _get(cbase, mode), warm)
                ta, tb = paired(_get(base, mode), _get(cbase, mode), queries)
                rows.append(_row("HTTP", mode, ta, tb))
                print(rows[-1], file=sys.stderr, flush=True)
            loads["after HTTP queries"] = load_text()
            saved["rss_mb"] = replica_rss()
            wa = _writes(base, "single")
            wb = _writes(cbase, "cluster")
            rows.append(_row("HTTP write (1 article)", "-", wa, wb))
            print(rows[-1], file=sys.stderr, flush=True)
            loads["end"] = load_text()
            serve.shutdown()
        finally:
            ray.shutdown()
            single.terminate()
            single.wait(30)
            shutil.rmtree(root, ignore_errors=True)
    saved["rows"] = rows
    saved["loads"] = loads
    RESULTS_JSON.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(saved, indent=1), encoding="utf-8")
    body = (
        f"`{SET}` as one collection ({articles:,} articles, {passages:,} passages, flat vectors) "
        f"and split into {args.shards} shards; {len(queries)} distinct queries per row, k=10, the two "
        "sides alternating query by query; query vectors come from the embedding cache on both "
        "sides, so the figures are search and transport. In process: `Collection.search` vs "
        "`ShardedCollection.search` (shards in the same process). HTTP: `semsearch serve --index` "
        "(uvicorn, one process) vs `semsearch serve --cluster` (Ray Serve: proxy, ingress "
        f"replica, one replica per shard; local Ray). Writes: {WRITES} one-article `POST /articles` "
        "each, new text each time (the model embeds it).\n\n"
        + table(
            ["path", "mode", "n", "one p50 ms", "one p99 ms", "cluster p50 ms", "cluster p99 ms", "p50 overhead ms"],
            rows,
        )
        + "\n\nResident memory of the Serve replicas after the queries, MB private / file / shared: "
        + ", ".join(f"{k} {v}" for k, v in sorted(saved.get("rss_mb", {}).items()))
        + ".\n\nLoad average (1/5/15 min): "
        + ", ".join(f"{k} {v}" for k, v in loads.items())
        + f". Wall time {time.time() - started:.0f} s. Other sessions share this machine, "
        "so the load is theirs as much as this run's."
    )
    write_section(
        SECTION,
        f"Sharded collection: cost of the cluster path ({args.shards} shards)",
        f"python -m bench.shards_speed --shards {args.shards} --queries {args.queries}"
        + (" --quick" if args.quick else ""),
        body,
    )
    print(body)


def _row(path: str, mode: str, a: list[float], b: list[float]) -> list[object]:
    pa, qa = percentiles(a, scale=MS)
    pb, qb = percentiles(b, scale=MS)
    return [path, mode, len(a), round(pa, 1), round(qa, 1), round(pb, 1), round(qb, 1), round(pb - pa, 1)]


if __name__ == "__main__":
    main()
