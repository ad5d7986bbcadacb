"""One-article upsert latency as a collection grows (optionally against another tree).

``python -m bench.upsert`` builds a ``flat`` collection with the test suite's fake
embedder (384-d), grows it to each size up to 1M passages, and times single-article
upserts there (p50, p90, max, and bytes the process wrote per upsert, from
/proc/self/io). ``--before TREE`` runs the same in another tree's own interpreter first
(that tree is only read: no bytecode is written), for a before/after table. Collections
live in a temporary directory. Results go to docs/bench/upsert.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .harness import (
    ROOT,
    load_average,
    options,
    table,
    tree_python,
    write_section,
)

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)
UPSERTS = 40
PASSAGES_PER_ARTICLE = 5
DIMENSION = 384  # the figures used the fake embedder at the model's dimension

# Runs inside the measured tree's interpreter (cwd = that tree): prints one JSON line a size.
WORKER = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, ".")
from semsearch.index import Collection
from tests.fakes import FakeEmbedder, make_article

path, sizes, upserts, per, dim = Path(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
words = "经济 项目 数字 产业 城市 交通 科技 人才 市场 郑州 建设 发展".split()

def article(n):
    paras = [f"{words[n % 12]}{words[(n // 12 + j) % 12]} {n} {j}" for j in range(per)]
    return make_article(f"a{n}", paras)

def written():
    for line in open("/proc/self/io"):
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0

coll = Collection.create(path, FakeEmbedder(dimension=dim), kind="flat")
have = 0
for size in sizes:
    started = time.perf_counter()
    want = size // per
    for start in range(have, want, 20_000):
        coll.upsert([article(n) for n in range(start, min(want, start + 20_000))])
    have = want
    build_s = time.perf_counter() - started
    times, wrote = [], []
    for i in range(upserts):
        item = article(10_000_000 + size + i)
        before_b, before_t = written(), time.perf_counter()
        coll.upsert([item])
        times.append((time.perf_counter() - before_t) * 1000.0)
        wrote.append(written() - before_b)
    times.sort(); wrote.sort()
    print(json.dumps({"passages": coll.info().passages, "p50_ms": times[len(times) // 2],
                      "p90_ms": times[int(len(times) * 0.9)], "max_ms": times[-1],
                      "write_mb_p50": wrote[len(wrote) // 2] / 1e6, "build_s": build_s}), flush=True)
coll.close()
"""


def measure(tree: Path, python: Path, sizes: tuple[int, ...], workdir: Path) -> list[dict]:
    """Run the worker in ``tree`` with ``python``; one result dict per size."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [
            str(python),
            "-B",
            "-c",
            WORKER,
            str(workdir / tree.name),
            json.dumps(list(sizes)),
            str(UPSERTS),
            str(PASSAGES_PER_ARTICLE),
            str(DIMENSION),
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def main(argv: list[str] | None = None) -> None:
    """Measure both trees and write the section."""
    parser = options(__doc__, quick="smaller sizes")
    parser.add_argument("--before", type=Path, help="another tree to compare against")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    trees = [("after", ROOT)]
    if args.before is not None:
        trees.insert(0, ("before", args.before.resolve()))
    results = {}
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, tree in trees:
            loads.append(load_average()[0])
            results[label] = measure(tree, tree_python(tree), sizes, Path(tmp))
            loads.append(load_average()[0])
    if args.before is None:
        write_alone(results["after"], loads, quick=args.quick)
        return
    before_tree = args.before.resolve()
    rows = []
    for old, new in zip(results["before"], results["after"], strict=True):
        rows.append(
            [
                f"{new['passages']:,}",
                f"{old['p50_ms']:.1f}",
                f"{new['p50_ms']:.1f}",
                f"{old['p50_ms'] / new['p50_ms']:.1f}×",
                f"{old['p90_ms']:.1f} / {old['max_ms']:.1f}",
                f"{new['p90_ms']:.1f} / {new['max_ms']:.1f}",
                f"{old['write_mb_p50']:.2f}",
                f"{new['write_mb_p50']:.3f}",
            ]
        )
    body = table(
        [
            "passages",
            "before p50 ms",
            "after p50 ms",
            "speed-up",
            "before p90 / max ms",
            "after p90 / max ms",
            "before MB written",
            "after MB written",
        ],
        rows,
    )
    small = results["after"][0]["p50_ms"]
    body += (
        f"\n\nOne-article upsert ({PASSAGES_PER_ARTICLE} passages, fake embedder at"
        f" {DIMENSION}-d, `flat` kind, {UPSERTS} upserts per size), before = `{before_tree}`,"
        f" after = this tree, run one after the other in this process's run. After, the"
        f" largest size's p50 is {results['after'][-1]['p50_ms'] / small:.1f}× the smallest's."
        " MB written is the median of what the process wrote per upsert (/proc/self/io"
        " write_bytes: the vectors file before; the new segment, SQLite's WAL and the"
        " manifest after). The max column includes the writes that ran a merge."
        f" Load average (1 min) before/after each tree: {', '.join(f'{x:.1f}' for x in loads)}"
        " on a machine shared with other developers' tests and builds."
    )
    command = "python -m bench.upsert --before " + str(before_tree) + (" --quick" if args.quick else "")
    write_section("upsert", "One-article upsert: segmented vectors against one file", command, body)
    print(body)


def write_alone(results: list[dict], loads: list[float], *, quick: bool) -> None:
    """The section for this tree alone: p50 per size and its ratio to the smallest."""
    small = results[0]["p50_ms"]
    rows = [
        [
            f"{r['passages']:,}",
            f"{r['p50_ms']:.1f}",
            f"{r['p50_ms'] / small:.2f}×",
            f"{r['p90_ms']:.1f} / {r['max_ms']:.1f}",
            f"{r['write_mb_p50']:.3f}",
            f"{r['build_s']:.0f}",
        ]
        for r in results
    ]
    body = table(
        ["passages", "p50 ms", "p50 / smallest", "p90 / max ms", "MB written", "grow s"], rows
    )
    body += (
        f"\n\nOne-article upsert ({PASSAGES_PER_ARTICLE} passages, fake embedder at"
        f" {DIMENSION}-d, `flat` kind, {UPSERTS} upserts per size, merges inside the writes as"
        " the CLI does), one process growing one collection. MB written is the median of"
        " what the process wrote per upsert (/proc/self/io write_bytes: the new segment,"
        " SQLite's WAL and the manifest); the max column includes writes that ran a merge;"
        " grow s is the time the bulk writes took to reach the size. Targets (issue 17):"
        " p50 ≤ 50 ms at 1M and within 2× of the 10k figure."
        f" Load average (1 min) before/after: {', '.join(f'{x:.1f}' for x in loads)}."
    )
    command = "python -m bench.upsert" + (" --quick" if quick else "")
    write_section("upsert", "One-article upsert as the collection grows", command, body)
    print(body)


if __name__ == "__main__":
    sys.exit(main())
