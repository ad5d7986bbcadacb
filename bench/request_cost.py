"""What one search request is made of: the query model, the search, and the HTTP round trip.

Issue 25's latency targets are for a whole HTTP request. This bench takes one apart on a
bench collection, every part measured on the same queries in one run:

1. **Query model**: ``Embedder.embed_queries`` of one query, in process, no cache (what a
   server does for every new query): back to back, and after a pause of :data:`PAUSE_S`
   (a server's model sits idle between one client's requests, and an inference after a
   pause costs more). The server's own model seconds per request (``/metrics``) are
   shown beside the HTTP rows.
2. **Search**: ``Collection.run`` as the API calls it (k + 1 hits, total, facets), in
   process, the query vector already known (an in-memory cache filled beforehand): hybrid
   and lexical.
3. **HTTP**: ``GET /healthz`` (the round trip with nothing to do), then ``GET /search``
   hybrid and lexical with the same facets, on a server that has not seen the queries,
   with the server's CPU time per request (``/proc``).

The parts take turns of :data:`BLOCK` queries, so a change of machine speed hits all of
them alike. The in-process parts and the HTTP rows draw from two sets of queries (same
kind, none shared): a query searched in process just before would leave the pages and
cache lines the server then needs warm (the engine's files are shared through the page
cache). The sum of model, search and round trip is set beside the HTTP figure; what is
left over is the hand-offs between the server's threads (event loop, worker, model).

With ``--before TREE`` a server of another checkout (the previous release, its own
``.venv``) answers every HTTP turn as well, so a change's effect on a whole request is a
ratio within one run.

Run: ``python -m bench.request_cost [--size 112k|1m] [--queries N] [--block N]
[--before TREE] [--quick]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx

from semsearch import Collection, Embedder, Settings
from semsearch.index import SearchRequest, SnippetStyle
from semsearch.service.app import MARK_POST, MARK_PRE
from semsearch.service.runtime import QueryEncoder

from .corpus import BENCH_DIR
from .engine import machine_speed
from .harness import (
    MS,
    ROOT,
    load_text,
    machine,
    options,
    percentiles,
    query_count,
    served,
    table,
    timed,
    write_section,
)
from .http import K, make_queries
from .query_speed import FACETS

SECTION = "request-cost"
QUERIES = 200
QUICK_QUERIES = 30
WARMUP = 10
BLOCK = 20
# About one request's time: the gap a lone client leaves between two of the model's calls.
PAUSE_S = 0.01
MODEL_ROW = "query model (in process)"
PAUSED_ROW = f"query model after a {PAUSE_S * 1000:.0f} ms pause (in process)"
BEFORE_SUFFIX = ", previous release"
SIZES = {"10k": "news-10k", "112k": "news-112k", "1m": "news-1m"}
# Issue 25's single-client HTTP targets for hybrid with total and facets, per size.
TARGETS_MS = {"112k": 12.0, "1m": 20.0}
# The API's highlight markers, so snippets cost what they cost a server.
SNIPPETS = SnippetStyle(pre=MARK_PRE, post=MARK_POST)


def _cpu_ms(pid: int) -> float:
    """User + system CPU milliseconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def _request(query: str, mode: str) -> SearchRequest:
    # What GET /search builds: one extra hit tells whether there is a next page.
    return SearchRequest(
        query=query,
        mode=mode,
        k=K + 1,
        snippet_style=SNIPPETS,
        facets=tuple(FACETS),
        count=True,
    )


def _model_seconds(client: httpx.Client) -> float:
    """The server's cumulative seconds in its embedding model (its ``/metrics``)."""
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("semsearch_model_seconds_total "):
            return float(line.split()[1])
    raise SystemExit("/metrics has no semsearch_model_seconds_total")


def _paused(embed: Callable[[list[str]], object], texts: list[str]) -> float:
    time.sleep(PAUSE_S)
    return timed(embed, texts)


def _get(client: httpx.Client, path: str, params: dict[str, str | int] | None) -> float:
    began = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
    return elapsed


def measure(
    index: Path,
    queries: list[str],
    served_queries: list[str],
    block: int,
    before: Path | None = None,
) -> tuple[dict[str, list[float]], dict[str, float], dict[str, float]]:
    """Latencies (seconds) per part, and the server's CPU and model milliseconds per
    request per row (``queries`` in process, ``served_queries`` over HTTP; warm-up from
    the first). With ``before``, a server of that tree answers every HTTP turn too."""
    model = Embedder.from_settings(Settings(progress=False, cache=False))
    cached = QueryEncoder(model, cache_size=len(queries) + WARMUP, window_s=0.0, max_batch=1)
    times: dict[str, list[float]] = {}
    cpu: dict[str, float] = {}
    in_model: dict[str, float] = {}
    facets = ",".join(FACETS)
    http_rows: dict[str, tuple[str, Callable[[str], dict[str, str | int] | None]]] = {
        "HTTP round trip (GET /healthz)": ("/healthz", lambda q: None),
        "HTTP hybrid + facets": ("/search", lambda q: {"q": q, "k": K, "facets": facets}),
        "HTTP lexical + facets": (
            "/search",
            lambda q: {"q": q, "k": K, "mode": "lexical", "facets": facets},
        ),
    }
    warmup, measured = queries[:WARMUP], queries[WARMUP:]
    with (
        served(index) as (process, base),
        httpx.Client(base_url=base, timeout=60) as client,
        Collection.open(index, cached, read_only=True) as collection,
        ExitStack() as stack,
    ):
        servers = [("", process, client)]
        if before is not None:
            old, old_base = stack.enter_context(served(index, tree=before))
            old_client = stack.enter_context(httpx.Client(base_url=old_base, timeout=60))
            servers.append((BEFORE_SUFFIX, old, old_client))
        for query in warmup:
            model.embed_queries([query])
            collection.run(_request(query, "hybrid"))
            for path, params in http_rows.values():
                for _, _, each in servers:
                    _get(each, path, params(query))
        for start in range(0, len(measured), block):
            turn = measured[start : start + block]
            for query in turn:
                times.setdefault(MODEL_ROW, []).append(timed(model.embed_queries, [query]))
                cached.embed_queries([query])  # known from here on: the search alone
            for query in turn:
                times.setdefault(PAUSED_ROW, []).append(_paused(model.embed_queries, [query]))
            for mode in ("hybrid", "lexical"):
                row = f"search, {mode} + facets (in process, vector known)"
                for query in turn:
                    times.setdefault(row, []).append(timed(collection.run, _request(query, mode)))
            served_turn = served_queries[start : start + block]
            for name, (path, params) in http_rows.items():
                for suffix, server, each in servers:
                    row = name + suffix
                    used, seconds = _cpu_ms(server.pid), _model_seconds(each)
                    for query in served_turn:
                        times.setdefault(row, []).append(_get(each, path, params(query)))
                    cpu[row] = cpu.get(row, 0.0) + _cpu_ms(server.pid) - used
                    in_model[row] = in_model.get(row, 0.0) + _model_seconds(each) - seconds
    cached.close()
    return (
        times,
        {row: total / len(measured) for row, total in cpu.items()},
        {row: total * 1000.0 / len(measured) for row, total in in_model.items()},
    )


def main(argv: list[str] | None = None) -> None:
    """Measure and write the section."""
    parser = options(
        __doc__,
        prog="python -m bench.request_cost",
        quick="the 10k collection, fewer queries",
        queries=QUERIES,
    )
    parser.add_argument("--size", choices=list(SIZES), default="112k", help="bench collection")
    parser.add_argument("--block", type=int, default=BLOCK, help="queries per turn")
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of the previous release (with its .venv): its server answers "
        "every HTTP turn too, for a ratio in the same run",
    )
    args = parser.parse_args(argv)
    size = "10k" if args.quick else args.size
    index = BENCH_DIR / SIZES[size]
    if not (index / "manifest.json").is_file():
        builder = (
            "bench.million"
            if size == "1m"
            else "bench.corpus" + (" --quick" if size == "10k" else "")
        )
        subprocess.run([sys.executable, "-m", *builder.split()], cwd=ROOT, check=True)
    n = query_count(args, QUERIES, QUICK_QUERIES)
    load_start, speed_start = load_text(), machine_speed()
    queries = make_queries(WARMUP + 2 * n)
    times, cpu, in_model = measure(
        index, queries[: WARMUP + n], queries[WARMUP + n :], args.block, args.before
    )
    load_end, speed_end = load_text(), machine_speed()
    p50 = {row: percentiles(values, scale=MS) for row, values in times.items()}
    rows = [
        [
            row,
            len(values),
            f"{p50[row][0]:.1f}",
            f"{p50[row][1]:.1f}",
            f"{cpu[row]:.1f}" if row in cpu else "",
            f"{in_model[row]:.1f}" if row in in_model else "",
        ]
        for row, values in times.items()
    ]
    model = p50[PAUSED_ROW][0]
    trip = p50["HTTP round trip (GET /healthz)"][0]
    parts = []
    for mode in ("hybrid", "lexical"):
        search = p50[f"search, {mode} + facets (in process, vector known)"][0]
        whole = p50[f"HTTP {mode} + facets"][0]
        summed = (model if mode == "hybrid" else 0.0) + search + trip
        parts.append(
            [
                mode,
                f"{model:.1f}" if mode == "hybrid" else "",
                f"{search:.1f}",
                f"{trip:.1f}",
                f"{summed:.1f}",
                f"{whole:.1f}",
                f"{whole - summed:.1f}",
            ]
        )
    compared = ""
    if args.before is not None:
        ratios = [
            f"{name.removeprefix('HTTP ')} {p50[name][0] / p50[name + BEFORE_SUFFIX][0]:.2f}"
            for name in ("HTTP hybrid + facets", "HTTP lexical + facets")
        ]
        compared = (
            f'Rows marked "{BEFORE_SUFFIX.removeprefix(", ")}" are a server of '
            f"`{args.before}` on the same collection, answering each turn's queries right "
            f"after this tree's server. p50 this tree / previous release: {', '.join(ratios)}."
        )
    target = TARGETS_MS.get(size)
    room = (
        f"Issue 25 asks hybrid HTTP p50 ≤ {target:.0f} ms at this size: with the query model's "
        f"{model:.1f} ms and the round trip's {trip:.1f} ms, that leaves "
        f"{target - model - trip:.1f} ms for the search and the hand-offs."
        if target is not None
        else ""
    )
    body = "\n\n".join(
        part
        for part in [
            f"Collection `{index.name}`; {n} distinct queries in process and {n} others over "
            f"HTTP (none shared), the parts in turns of {args.block}; the server embeds with "
            "its own model, no query seen before. "
            f"{machine()}. Load average (1/5/15 min) at the start {load_start}, at the end "
            f"{load_end}; machine speed (bench.engine's loop of a million additions) "
            f"{speed_start:.0f} ms at the start, {speed_end:.0f} ms at the end.",
            table(
                [
                    "part",
                    "n",
                    "p50 ms",
                    "p99 ms",
                    "server CPU ms / request",
                    "server model ms / request (mean)",
                ],
                rows,
            ),
            "Medians side by side (ms): the parts (the query model after a pause), their sum, "
            "the whole request, and what is left (thread hand-offs, the request's parsing and "
            "the page's JSON):",
            table(["mode", "query model", "search", "round trip", "sum", "HTTP", "left"], parts),
            compared,
            room,
        ]
        if part
    )
    write_section(
        f"{SECTION}-{size}",
        f"What one search request is made of ({size})",
        f"python -m bench.request_cost --size {size}"
        + (" --quick" if args.quick else "")
        + (" --before TREE" if args.before is not None else ""),
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
