"""``make bench``: run every benchmark, each in its own process, and rebuild docs/benchmarks.md.

Each benchmark writes its own section (``docs/bench/*.md``); a failing one is reported and
the others still run. ``--quick`` passes through for a smaller, faster development pass.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from .common import ROOT, SHARED

# (module, extra arguments); order = cheapest prerequisites first.
BENCHMARKS: list[tuple[str, list[str]]] = [
    ("bench.embed", []),
    ("bench.index", ["vectors"]),
    ("bench.quality", []),
    ("bench.fusion_tuning", []),
    ("bench.folding", []),
    ("bench.matchset", []),
    ("bench.http", []),
    ("bench.query_speed", []),
    ("bench.engine", []),
    ("bench.reports", []),
    ("bench.peers", []),
    ("bench.distributed", []),
    ("bench.backup", []),
    ("bench.reuse", []),
    ("bench.reuse_crosslingual", []),
    ("bench.reuse_scale", []),
    ("bench.upsert", []),
    ("bench.hostile", []),
    ("bench.layout", []),
    ("bench.entities", []),
    ("bench.million", []),
    ("bench.engine", ["--size", "1m"]),
]


def main() -> int:
    """Run the benchmarks; exit non-zero when any failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for development")
    parser.add_argument(
        "--only", nargs="+", metavar="MODULE", help="run only these (e.g. bench.embed)"
    )
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"bench: {SHARED} is missing; the benchmarks need its corpora", file=sys.stderr)
        return 1
    failed = []
    for module, extra in BENCHMARKS:
        if args.only and module not in args.only:
            continue
        command = [sys.executable, "-m", module, *extra, *(["--quick"] if args.quick else [])]
        print(f"== {' '.join(command[1:])}", flush=True)
        began = time.perf_counter()
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            failed.append(module)
        print(f"== {module}: {time.perf_counter() - began:.0f} s", flush=True)
    if failed:
        print(f"bench: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
