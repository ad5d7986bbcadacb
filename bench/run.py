"""``make bench``: run every benchmark of the registry, each in its own process.

Full runs write their sections to docs/bench and rebuild docs/benchmarks.md; ``--quick``
runs each entry's quick variant, whose sections go to var/bench-quick (a development pass
that checks every benchmark still runs, not figures to publish). A failing benchmark is
reported and the others still run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from .harness import ROOT, SECTIONS, SHARED, load_text
from .registry import BENCHMARKS


def main() -> int:
    """Run the benchmarks; exit non-zero when any failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="each entry's quick variant")
    parser.add_argument(
        "--only", nargs="+", metavar="MODULE", help="run only these (e.g. bench.embed)"
    )
    parser.add_argument("--list", action="store_true", help="print the commands and stop")
    args = parser.parse_args()
    if not SHARED.exists():
        print(f"bench: {SHARED} is missing; the benchmarks need its corpora", file=sys.stderr)
        return 1
    failed = []
    for bench in BENCHMARKS:
        if args.only and bench.module not in args.only:
            continue
        argv = bench.command(quick=args.quick)
        if argv is None:
            print(f"== {bench.module} {' '.join(bench.args)}: no quick variant ({bench.why})")
            continue
        command = [sys.executable, *argv]
        print(f"== {' '.join(argv[1:])} (load {load_text()})", flush=True)
        if args.list:
            continue
        began = time.perf_counter()
        before = _published()
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            failed.append(" ".join(argv[1:]))
        elif args.quick and _published() != before:
            # Its command line lacks --quick, so the harness took it for a full run.
            print(f"bench: {bench.module}'s quick pass wrote {SECTIONS}", file=sys.stderr)
            failed.append(" ".join(argv[1:]))
        print(f"== {bench.module}: {time.perf_counter() - began:.0f} s", flush=True)
    if failed:
        print(f"bench: failed: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _published() -> dict[Path, int]:
    """The published sections and when each was last written."""
    return {path: path.stat().st_mtime_ns for path in SECTIONS.glob("*.md")}


if __name__ == "__main__":
    sys.exit(main())
