"""The benchmark collection: ``news-112k.jsonl`` ingested once with the real model.

Index, HTTP and report benchmarks share it. The first build embeds ~112k passages (tens of
minutes on two cores); the embedding cache makes every later build cheap.
Run: ``python -m bench.corpus [--quick]`` prints the collection path.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

from semsearch.index import DEFAULT_ANALYZER

from .harness import ROOT, SHARED, options

NEWS = SHARED / "corpus" / "news-112k.jsonl"
BENCH_DIR = ROOT / "var" / "bench"
QUICK_RECORDS = 10_000


def news_collection(*, quick: bool = False) -> Path:
    """Path of the benchmark collection, ingesting it first when missing.

    Args:
        quick: Use the first 10,000 records only.

    Returns:
        The collection directory.
    """
    target = BENCH_DIR / ("news-10k" if quick else "news-112k")
    if (target / "manifest.json").is_file():
        _current_analyzer(target)
        return target
    source = NEWS
    if quick:
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        source = BENCH_DIR / "news-10k.jsonl"
        with NEWS.open(encoding="utf-8") as src, source.open("w", encoding="utf-8") as out:
            out.writelines(itertools.islice(src, QUICK_RECORDS))
    command = [
        sys.executable,
        "-m",
        "semsearch.service.cli",
        "ingest",
        str(source),
        "--index",
        str(target),
        "--source",
        "news112k",
        "--no-progress",
    ]
    subprocess.run(command, cwd=ROOT, check=True)
    return target


def _current_analyzer(target: Path) -> None:
    """Re-index a kept collection built with an older lexical analyzer (no re-embedding)."""
    cli = [sys.executable, "-m", "semsearch.service.cli"]
    shown = subprocess.run(
        [*cli, "info", "--index", str(target), "--json"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    if json.loads(shown.stdout).get("lexical_analyzer") != DEFAULT_ANALYZER:
        subprocess.run([*cli, "index", "reanalyze", "--index", str(target)], cwd=ROOT, check=True)


def main() -> None:
    """Build (or find) the collection and print its path."""
    parser = options(__doc__)
    print(news_collection(quick=parser.parse_args().quick))


if __name__ == "__main__":
    main()
