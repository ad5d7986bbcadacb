"""``semsearch ingest FILES...``: read, clean, cut, embed and index articles."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from embedder.embedder import Embedder
from embedder.ingest import IngestOptions, IngestStats, expand_paths, iter_articles, scan
from embedder.passages import cut_passages
from embedder.records import Article, Passage
from service.cli import add_common_options, settings_from_args
from service.context import open_for_writing

# Inputs smaller than this finish before a progress bar would tell anything.
PROGRESS_MIN_BYTES = 2_000_000


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ingest`` command.

    Args:
        subparsers: The top-level sub-parser collection.
    """
    parser = subparsers.add_parser(
        "ingest",
        help="add files (newspaper .txt pages, .jsonl/.csv records, .html) to a collection",
        description="Read, clean and index articles. Re-ingesting unchanged input adds nothing; "
        "a changed article (same id) replaces its passages. Without --skip-bad the first bad "
        "input stops the run before anything is written.",
    )
    add_common_options(parser)
    parser.add_argument("paths", nargs="+", type=Path, help="files or directories")
    parser.add_argument("--encoding", help="force a text encoding (default: detected)")
    parser.add_argument("--source", help="source name for articles that carry none")
    parser.add_argument("--date", help="publication date YYYY-MM-DD for articles that carry none")
    parser.add_argument("--section", help="section for articles that carry none")
    parser.add_argument(
        "--skip-bad", action="store_true", help="skip and count bad records instead of stopping"
    )
    parser.add_argument(
        "--overlap",
        type=int,
        default=0,
        metavar="N",
        help="sentences shared by consecutive passages of a long paragraph",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate everything, then index it in one atomic write."""
    settings = settings_from_args(args)
    options = IngestOptions(
        encoding=args.encoding,
        source=args.source,
        date=args.date,
        section=args.section,
        skip_bad=args.skip_bad,
    )
    files = expand_paths(args.paths)
    # A first pass costs seconds and means a bad line stops us before any model time is spent
    # and before an empty collection is created.
    planned = scan(files, options=options)
    total_bytes = sum(p.stat().st_size for p in files)
    with open_for_writing(settings, create=True) as collection:
        embedder = collection.embedder
        assert isinstance(embedder, Embedder)
        stats = IngestStats()
        counts = {"passages": 0}
        show = settings.progress and not args.json and total_bytes >= PROGRESS_MIN_BYTES
        with tqdm(
            total=planned.articles, unit="article", desc="ingesting", disable=not show
        ) as bar:
            items = _with_passages(
                iter_articles(files, options=options, stats=stats),
                embedder,
                args.overlap,
                counts,
                bar,
            )
            report = collection.upsert(items)
    summary = {
        "files": stats.files,
        "articles": stats.articles,
        "paragraphs": stats.paragraphs,
        "passages": counts["passages"],
        "skipped": stats.skipped,
        "skip_reasons": dict(stats.skip_reasons),
        "duplicates_in_input": stats.duplicates,
        "added": report.added,
        "replaced": report.replaced,
        "unchanged": report.metadata_only + report.unchanged,
        "index": str(collection.path),
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
        return 0
    print(
        f"{summary['articles']} articles, {summary['paragraphs']} paragraphs, "
        f"{summary['passages']} passages, {summary['skipped']} skipped "
        f"({report.added} added, {report.replaced} replaced, {summary['unchanged']} unchanged) "
        f"-> {collection.path}"
    )
    for example in stats.skip_examples:
        print(f"  skipped: {example}")
    return 0


def _with_passages(
    articles: Iterator[Article], embedder: Embedder, overlap: int, counts: dict[str, int], bar: tqdm
) -> Iterator[tuple[Article, list[Passage]]]:
    for article in articles:
        passages = cut_passages(
            article,
            count_tokens=embedder.count_tokens,
            max_tokens=embedder.max_tokens,
            overlap_sentences=overlap,
        )
        counts["passages"] += len(passages)
        bar.update(1)
        yield article, passages
