"""HTTP latency and throughput of ``semsearch serve`` over loopback (hybrid search).

Starts the server as a child process on an existing collection (nothing is built), then
measures p50/p99 latency for one client issuing queries back to back, and throughput and
latency for 8 concurrent clients. Every query is distinct, so the in-memory query cache
never answers: the model runs for each request (micro-batching may group concurrent ones).
Run: ``python -m bench.http --index /work/var/news-index [--quick]``.
"""

from __future__ import annotations

import itertools
import threading
import time

import httpx

from .corpus import news_collection
from .harness import (
    MS,
    free_port,
    options,
    percentiles,
    start_server,
    stop_server,
    table,
    write_section,
)

SINGLE_QUERIES = 200
CONCURRENT_QUERIES = 800
QUICK_SINGLE = 30
QUICK_CONCURRENT = 80
CLIENTS = 8
WARMUP = 10
K = 10
# Topic words combined into distinct queries in the archive's languages.
TOPICS = [
    "经济",
    "改革",
    "农业",
    "教育",
    "医疗",
    "环境保护",
    "科技创新",
    "交通",
    "住房",
    "就业",
    "外交",
    "体育",
    "文化",
    "旅游",
    "能源",
    "金融",
    "税收",
    "扶贫",
    "城市建设",
    "人工智能",
]
ASPECTS = [
    "政策",
    "发展",
    "会议",
    "增长",
    "问题",
    "改革开放",
    "国际合作",
    "地方政府",
    "投资",
    "报道",
]
ENGLISH = ["economic growth", "foreign trade", "flood relief", "rural schools", "stock market"]


def make_queries(n: int) -> list[str]:
    """``n`` distinct queries (Chinese topic pairs, some English)."""
    combos = [f"{a}{b}" for a, b in itertools.product(TOPICS, ASPECTS)]
    combos += [f"{a} {b}" for a, b in itertools.product(TOPICS, ASPECTS)]
    combos += [f"{e} {t}" for e, t in itertools.product(ENGLISH, TOPICS)]
    combos += [f"{a}{b}{c}" for a, b, c in itertools.product(TOPICS, ASPECTS, ASPECTS) if b != c]
    if n > len(combos):
        raise SystemExit(f"at most {len(combos)} distinct queries")
    return combos[:n]


def run_client(
    base: str,
    queries: list[str],
    latencies: list[float],
    errors: list[str],
    params: dict[str, str | int] | None = None,
    answers: list[dict] | None = None,
) -> None:
    """Issue the queries one after another on one connection, recording latency or errors.

    Args:
        base: The server's base URL.
        queries: Sent as ``q``, one request each.
        latencies: Gets each successful request's latency in seconds.
        errors: Gets a line per failed request.
        params: Other ``GET /search`` parameters (default hybrid, k=10).
        answers: Gets each successful response body, when given.
    """
    with httpx.Client(base_url=base, timeout=60) as client:
        for query in queries:
            timed_search(client, query, latencies, errors, params, answers)


def timed_search(
    client: httpx.Client,
    query: str,
    latencies: list[float],
    errors: list[str],
    params: dict[str, str | int] | None = None,
    answers: list[dict] | None = None,
) -> None:
    """One ``GET /search`` on an open client; see :func:`run_client` for the arguments."""
    began = time.perf_counter()
    try:
        response = client.get(
            "/search", params={"q": query, "k": K, "mode": "hybrid", **(params or {})}
        )
        body = response.json()
        ok = response.status_code == 200 and "results" in body
    except (httpx.HTTPError, ValueError) as exc:
        errors.append(str(exc))
        return
    latencies.append(time.perf_counter() - began)
    if not ok:
        errors.append(f"{response.status_code}: {response.text[:200]}")
    elif answers is not None:
        answers.append(body)


def concurrent_run(base: str, queries: list[str], latencies: list[float], errors: list[str]) -> float:
    """The queries shared among :data:`CLIENTS` clients at once; seconds the whole took."""
    threads = [
        threading.Thread(target=run_client, args=(base, queries[i::CLIENTS], latencies, errors))
        for i in range(CLIENTS)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def throughput(base: str, queries: list[str]) -> tuple[float, float, float]:
    """Queries a second with :data:`CLIENTS` clients, and their p50 / p99 latency (ms)."""
    latencies: list[float] = []
    errors: list[str] = []
    elapsed = concurrent_run(base, queries, latencies, errors)
    if errors:
        raise SystemExit(f"{len(errors)} failed requests, first: {errors[0]}")
    p50, p99 = percentiles(latencies, scale=MS)
    return len(queries) / elapsed, p50, p99


def main() -> None:
    """Run the benchmark and record it."""
    parser = options(__doc__, record=True, index=True)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    single_n = QUICK_SINGLE if args.quick else SINGLE_QUERIES
    concurrent_n = QUICK_CONCURRENT if args.quick else CONCURRENT_QUERIES
    queries = make_queries(WARMUP + single_n + concurrent_n)
    warmup, single, concurrent = (
        queries[:WARMUP],
        queries[WARMUP : WARMUP + single_n],
        queries[WARMUP + single_n :],
    )
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    index = args.index or news_collection(quick=args.quick)
    process = start_server(index, port)
    try:
        ready = httpx.get(base + "/readyz").json()
        errors: list[str] = []
        run_client(base, warmup, [], errors)
        one: list[float] = []
        run_client(base, single, one, errors)
        many: list[float] = []
        elapsed = concurrent_run(base, concurrent, many, errors)
        metrics = httpx.get(base + "/metrics").text
    finally:
        stop_server(process)
    p50_one, p99_one = percentiles(one, scale=MS)
    p50_many, p99_many = percentiles(many, scale=MS)
    batch_line = next(
        (
            line
            for line in metrics.splitlines()
            if line.startswith("semsearch_query_batch_size_sum")
        ),
        "",
    )
    count_line = next(
        (
            line
            for line in metrics.splitlines()
            if line.startswith("semsearch_query_batch_size_count")
        ),
        "",
    )
    mean_batch = (
        float(batch_line.split()[-1]) / float(count_line.split()[-1])
        if batch_line and count_line and float(count_line.split()[-1])
        else float("nan")
    )
    rows = [
        ["1 client, sequential", len(one), p50_one, p99_one, len(one) / (sum(one) or 1)],
        [f"{CLIENTS} concurrent clients", len(many), p50_many, p99_many, len(many) / elapsed],
    ]
    body = (
        f"Collection `{index.name}`: {ready['articles']} articles, {ready['passages']} passages; "
        f"hybrid mode, k={K}, distinct queries (no query-cache hits, on-disk embedding cache off), loopback HTTP, server "
        f"`semsearch serve` in its own process, clients in this one. "
        f"Mean queries per model call across the run: {mean_batch:.2f}. "
        f"Errors: {len(errors)}.\n\n"
        + table(["load", "requests", "p50 ms", "p99 ms", "requests/s"], rows)
    )
    if errors:
        body += "\n\nFirst error: " + errors[0]
    command = "python -m bench.http" + (f" --index {args.index}" if args.index else "")
    command += " --quick" if args.quick else ""
    if not args.no_record:
        write_section("http", "HTTP service", command, body)
    print(body)
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
