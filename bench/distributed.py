"""Distributed ingest: passages/s of ``semsearch ingest`` locally vs on Ray with 2 workers.

Same texts for both (the first 2,000 People's Daily paragraphs of ``news-112k.jsonl``),
embedding cache off so both really embed, each run in this process through the CLI. Ray
runs start a private local Ray (as a user without a cluster would), so its start-up, the
actors' model loads and the second read of the input are in its figure; a run over a
handful of paragraphs measures that fixed overhead.
Run: ``python -m bench.distributed [--quick]``.
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

from .harness import SHARED, load_average, options, table, write_section

PARAGRAPHS = 2000
QUICK_PARAGRAPHS = 300
OVERHEAD_PARAGRAPHS = 10
WORKERS = 2
_LOADS: list[float] = []


def _write_corpus(path: Path, n: int) -> None:
    lines = []
    with (SHARED / "corpus" / "news-112k.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            if json.loads(line)["src"] == "pd1998_para":
                lines.append(line)
                if len(lines) == n:
                    break
    path.write_text("".join(lines), encoding="utf-8")


def _ingest(corpus: Path, index: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    # The machine is shared: record its load so that a skewed comparison shows as such.
    _LOADS.append(load_average()[0])
    argv = ["ingest", str(corpus), "--index", str(index), "--no-cache", "--no-progress", "--json"]
    out = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = cli([*argv, *extra])
    seconds = time.perf_counter() - began
    if code != 0:
        raise SystemExit(f"bench: ingest {' '.join(extra)} failed ({code})")
    return seconds, json.loads(out.getvalue().strip().splitlines()[-1])


def main() -> None:
    """Run the benchmark and record it."""
    parser = options(__doc__)
    args = parser.parse_args()
    n = QUICK_PARAGRAPHS if args.quick else PARAGRAPHS
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-distributed-") as tmp:
        root = Path(tmp)
        corpus, tiny = root / "news.jsonl", root / "tiny.jsonl"
        _write_corpus(corpus, n)
        _write_corpus(tiny, OVERHEAD_PARAGRAPHS)
        local_s, local = _ingest(corpus, root / "local")
        ray_args = ("--engine", "ray", "--workers", str(WORKERS))
        ray_s, ray = _ingest(corpus, root / "ray", *ray_args)
        overhead_s, _ = _ingest(tiny, root / "tiny", *ray_args)
    load = dict(zip(("local", "ray", "tiny"), _LOADS, strict=True))
    passages = local["passages"]
    assert ray["passages"] == passages
    rows.append(
        [
            "local (one process, all cores)",
            passages,
            local_s,
            passages / local_s,
            "-",
            "-",
            load["local"],
        ]
    )
    rows.append(
        [
            f"Ray, {WORKERS} workers x 1 CPU",
            passages,
            ray_s,
            passages / ray_s,
            f"{ray['embed_seconds']:.1f} s",
            f"{ray['commit_seconds']:.1f} s",
            load["ray"],
        ]
    )
    rows.append(
        [
            f"Ray, {WORKERS} workers, {OVERHEAD_PARAGRAPHS} paragraphs (fixed overhead)",
            OVERHEAD_PARAGRAPHS,
            overhead_s,
            OVERHEAD_PARAGRAPHS / overhead_s,
            "-",
            "-",
            load["tiny"],
        ]
    )
    steady = passages / max(ray_s - overhead_s, 1e-9)
    body = (
        f"`semsearch ingest --no-cache` of {passages} People's Daily paragraphs, wall time of the "
        f"whole command (model load, reading, embedding, writing the collection); {os.cpu_count()} "
        "cores shared with other jobs on this machine, so figures are indicative.\n\n"
        + table(
            [
                "engine",
                "passages",
                "seconds",
                "passages/s",
                "Ray embed stage",
                "commit",
                "load avg",
            ],
            rows,
        )
        + f"\n\nRay's rate with its fixed overhead (Ray start, actor start-up, model loads; the "
        f"{OVERHEAD_PARAGRAPHS}-paragraph run) subtracted: {steady:.0f} passages/s, against "
        f"{passages / local_s:.0f} locally. `load avg` is the machine's 1-minute load when each "
        f"run started; on {os.cpu_count()} cores, a load above that means other jobs took CPU "
        "from the run, so compare rows only when their loads are alike. On an idle machine Ray "
        "can only add overhead (its actors share the cores a local run already uses); when "
        "other jobs compete for the cores, Ray's extra processes can win a larger share of "
        "them, so it may come out ahead. It pays off when the actors run on more machines "
        "(docs/distributed.md).\n"
    )
    write_section(
        "distributed",
        "Distributed ingest",
        "python -m bench.distributed" + (" --quick" if args.quick else ""),
        body,
    )
    print(body)


if __name__ == "__main__":
    main()
