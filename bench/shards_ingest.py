"""Ingest into a sharded collection: the local routed path against ``--engine ray``.

Both write the same People's Daily paragraphs (``news-112k.jsonl``) into a fresh 3-shard
cluster through the CLI, embedding cache off so both really embed, entities tagged (the
default). Local: this process embeds and tags every article, then writes shard after shard.
Ray: a private local Ray embeds on an actor pool, then one task per shard tags and writes
that shard's part, the shards in parallel; Ray's start-up and the actors' model loads are
in its figure, and a run over a handful of paragraphs measures that fixed overhead.
Run: ``python -m bench.shards_ingest [--quick]``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from semsearch.service.cli import main as cli

from .distributed import _write_corpus
from .harness import load_average, options, table, write_section

PARAGRAPHS = 1000
QUICK_PARAGRAPHS = 300
OVERHEAD_PARAGRAPHS = 10
SHARDS = 3
WORKERS = 2


def _run(argv: list[str]) -> tuple[float, float, dict[str, Any]]:
    """Seconds, the 1-minute load when it started (the machine is shared), and the JSON."""
    load = load_average()[0]
    out = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli([*argv, "--no-progress", "--json"])
    seconds = time.perf_counter() - began
    if code != 0:
        raise SystemExit(f"bench: {' '.join(argv[:1])} failed ({code})")
    lines = out.getvalue().strip().splitlines()
    return seconds, load, json.loads(lines[-1]) if lines else {}


def _ingest(corpus: Path, cluster: Path, *extra: str) -> tuple[float, float, dict[str, Any]]:
    _run(["shard", "create", str(cluster), "--shards", str(SHARDS)])
    return _run(["ingest", str(corpus), "--index", str(cluster), "--no-cache", *extra])


def main() -> None:
    """Run the benchmark and record it."""
    args = options(__doc__, prog="python -m bench.shards_ingest").parse_args()
    n = QUICK_PARAGRAPHS if args.quick else PARAGRAPHS
    ray_args = ("--engine", "ray", "--workers", str(WORKERS))
    with tempfile.TemporaryDirectory(prefix="bench-shards-ingest-") as tmp:
        root = Path(tmp)
        corpus, tiny = root / "news.jsonl", root / "tiny.jsonl"
        _write_corpus(corpus, n)
        _write_corpus(tiny, OVERHEAD_PARAGRAPHS)
        local_s, local_load, local = _ingest(corpus, root / "local")
        ray_s, ray_load, ray = _ingest(corpus, root / "ray", *ray_args)
        tiny_s, tiny_load, _ = _ingest(tiny, root / "tiny", *ray_args)
    passages = local["passages"]
    assert ray["passages"] == passages and ray["added"] == local["added"]
    split = "/".join(str(p["articles"]) for p in ray["per_shard"])
    rows = [
        ["local, routed (one process)", passages, local_s, passages / local_s, "-", "-", local_load],
        [
            f"Ray, {WORKERS} embedding actors, {SHARDS} shard writers",
            passages,
            ray_s,
            passages / ray_s,
            f"{ray['embed_seconds']:.1f} s",
            f"{ray['write_seconds']:.1f} s",
            ray_load,
        ],
        [
            f"Ray, {OVERHEAD_PARAGRAPHS} paragraphs (fixed overhead)",
            OVERHEAD_PARAGRAPHS,
            tiny_s,
            OVERHEAD_PARAGRAPHS / tiny_s,
            "-",
            "-",
            tiny_load,
        ],
    ]
    steady = passages / max(ray_s - tiny_s, 1e-9)
    body = (
        f"`semsearch ingest --no-cache` of {passages} People's Daily paragraphs into a fresh "
        f"{SHARDS}-shard cluster (articles per shard {split}), entities tagged, wall time of "
        "the whole command (model load, reading, embedding, tagging, writing every shard). "
        f"{os.cpu_count()} cores shared with other jobs on this machine: `load avg` is the "
        "1-minute load when each run started; compare rows only when their loads are alike.\n\n"
        + table(
            ["engine", "passages", "seconds", "passages/s", "Ray embed stage", "shard writes", "load avg"],
            rows,
        )
        + f"\n\nRay's rate with its fixed overhead (the {OVERHEAD_PARAGRAPHS}-paragraph run) "
        f"subtracted: {steady:.0f} passages/s, against {passages / local_s:.0f} for the local "
        "routed path. `shard writes` is the parallel stage (tagging and writing each shard's "
        "part, one Ray task per shard). On 2 cores Ray's actors and writers share the cores a "
        "local run already uses, so no speed-up is expected here; the layout pays off when "
        "actors and shard writers run on more machines (docs/distributed.md).\n"
    )
    write_section(
        "shards-ingest",
        "Ingest into a sharded collection",
        "python -m bench.shards_ingest" + (" --quick" if args.quick else ""),
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
