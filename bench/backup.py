"""Backup and restore speed on the benchmark collection: idle, during searches, during writes.

Each backup made while writes go on is checked against the generation it recorded
(``index check`` passes, counts match). Search latency is measured with and without a
backup thread copying the collection in a loop.
Run: ``python -m bench.backup [--quick]`` (quick: the 10,000-record collection).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import threading
from pathlib import Path

from semsearch import Collection, Embedder, Settings, prepare_articles, restore_collection

from .corpus import news_collection
from .harness import load_average, news_texts, options, table, timed, write_section

RUNS = 3
QUERIES = 60
WRITE_BATCH = 50


def _copies(collection: Collection, work: Path) -> tuple[list[float], list[float], int]:
    """Seconds per backup and per restore (RUNS each) and the backup's size in bytes."""
    backups, restores, size = [], [], 0
    for run in range(RUNS):
        dest = work / f"idle{run}"
        backups.append(timed(collection.backup, dest))
        size = sum(p.stat().st_size for p in dest.iterdir())
        restores.append(timed(restore_collection, dest, work / f"restored{run}"))
        shutil.rmtree(dest)
        shutil.rmtree(work / f"restored{run}")
    return backups, restores, size


def _latencies(collection: Collection, queries: list[str]) -> list[float]:
    """Milliseconds per hybrid top-10 search."""
    return [timed(collection.search, q) * 1000.0 for q in queries]


def _latencies_during_backups(
    collection: Collection, queries: list[str], work: Path
) -> tuple[list[float], int]:
    """Search latencies while another thread backs the collection up in a loop."""
    stop = threading.Event()
    made = [0]

    def back_up() -> None:
        while not stop.is_set():
            dest = work / f"loop{made[0]}"
            collection.backup(dest)
            shutil.rmtree(dest)
            made[0] += 1

    thread = threading.Thread(target=back_up)
    thread.start()
    try:
        latencies = _latencies(collection, queries)
    finally:
        stop.set()
        thread.join()
    return latencies, made[0]


def _backups_during_writes(
    collection: Collection, embedder: Embedder, texts: list[str], work: Path
) -> tuple[list[float], list[int]]:
    """Backup seconds while a thread deletes and re-adds articles; commits during each."""
    records = [{"id": f"bench-w{i}", "title": "", "text": t} for i, t in enumerate(texts)]
    batch = list(prepare_articles(records, embedder))
    collection.upsert(batch)  # embeds once; the cache makes every later upsert cheap
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            collection.delete([article.id for article, _ in batch])
            collection.upsert(batch)

    thread = threading.Thread(target=write)
    thread.start()
    seconds, commits = [], []
    try:
        for run in range(RUNS):
            before = collection.info().generation
            dest = work / f"busy{run}"
            seconds.append(timed(collection.backup, dest))
            commits.append(collection.info().generation - before)
            with Collection.open(dest, embedder, read_only=True) as copy:
                assert copy.check().ok
            shutil.rmtree(dest)
    finally:
        stop.set()
        thread.join()
    collection.delete([article.id for article, _ in batch])
    return seconds, commits


def _ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.0f}"


def main() -> None:
    """Measure and write the docs/bench section."""
    parser = options(__doc__, quick="the 10,000-record collection")
    args = parser.parse_args()
    path = news_collection(quick=args.quick)
    embedder = Embedder.from_settings(Settings(progress=False))
    load_before = load_average()[0]
    queries = news_texts("toutiao_title", QUERIES)
    with (
        tempfile.TemporaryDirectory(dir=path.parent) as tmp,
        Collection.open(path, embedder) as collection,
    ):
        work = Path(tmp)
        info = collection.info()
        backups, restores, size = _copies(collection, work)
        _latencies(collection, queries[:5])  # warm-up
        idle = _latencies(collection, queries)
        during, loops = _latencies_during_backups(collection, queries, work)
        idle_again = _latencies(collection, queries)  # the load drifts: bracket the run
        busy, commits = _backups_during_writes(
            collection, embedder, news_texts("thucnews_title", WRITE_BATCH), work
        )
    load_after = load_average()[0]
    mb = size / 1e6
    rows = [
        [
            "backup, idle",
            f"{statistics.median(backups):.2f}",
            f"{mb / statistics.median(backups):.0f}",
            "",
        ],
        [
            "restore (from a backup)",
            f"{statistics.median(restores):.2f}",
            f"{mb / statistics.median(restores):.0f}",
            "",
        ],
        [
            f"backup while a thread deletes and re-adds {WRITE_BATCH} articles in a loop",
            f"{statistics.median(busy):.2f}",
            f"{mb / statistics.median(busy):.0f}",
            f"{min(commits)}–{max(commits)} writes committed during each backup; every copy passed check",
        ],
    ]
    body = (
        f"Collection: {info.articles:,} articles, {info.passages:,} passages ({info.index_kind}),"
        f" {mb:.1f} MB copied (database, vectors, manifest). Median of {RUNS} runs each.\n\n"
        + table(["operation", "seconds", "MB/s", "notes"], rows)
        + "\n\nHybrid top-10 search latency in the same process (ms, "
        f"{QUERIES} Toutiao headlines as queries):\n\n"
        + table(
            ["while", "p50", "p95"],
            [
                ["nothing else (before)", _ms(idle, 0.5), _ms(idle, 0.95)],
                [
                    f"a thread makes backups in a loop ({loops} made)",
                    _ms(during, 0.5),
                    _ms(during, 0.95),
                ],
                ["nothing else (after)", _ms(idle_again, 0.5), _ms(idle_again, 0.95)],
            ],
        )
        + "\n\nSearches go on during a backup (it takes no collection lock) but share the"
        " CPU with it: copying and checking the copy (SQLite quick_check, loading its vectors)"
        " is CPU work. The before and after rows bracket the machine's drifting load."
        + f"\n\nLoad average {load_before:.1f} before and {load_after:.1f} after the run: the"
        " machine's 2 cores were shared with other developers' tests and builds, so the"
        " figures are pessimistic and vary between runs."
    )
    command = "python -m bench.backup" + (" --quick" if args.quick else "")
    write_section("backup", "Backup and restore", command, body)
    print(body)


if __name__ == "__main__":
    main()
