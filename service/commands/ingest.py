"""``semsearch ingest FILES...``: read, clean, cut, embed (here or on Ray) and index articles."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.errors import SemsearchError
from semsearch.embedder.ingest import (
    DEFAULT_MAX_PAGES,
    ON_DUPLICATE,
    IngestOptions,
    IngestStats,
    expand_paths,
    prepare_articles,
    scan,
)
from semsearch.embedder.records import Article, Passage
from semsearch.index.cluster import is_cluster
from semsearch.index.sharded import ShardedCollection
from semsearch.service.cli import (
    add_common_options,
    at_least,
    build_settings,
    iso_date,
    settings_from_args,
)
from semsearch.service.config import ServiceSettings
from semsearch.service.context import CommandContext, open_for_writing
from semsearch.service.terminal import printable

# Inputs smaller than this finish before a progress bar would tell anything.
PROGRESS_MIN_BYTES = 2_000_000


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ingest`` command.

    Args:
        subparsers: The top-level sub-parser collection.
    """
    parser = subparsers.add_parser(
        "ingest",
        help="add files (newspaper .txt/.pdf pages, ALTO/METS, hOCR, page images with --ocr, "
        ".jsonl/.csv records, .html) to a collection",
        description="Read, clean and index articles. Re-ingesting unchanged input adds nothing; "
        "a changed article (same id) replaces its passages. Without --skip-bad the first bad "
        "input stops the run before anything is written.",
    )
    add_common_options(parser)
    parser.add_argument("paths", nargs="+", type=Path, help="files or directories")
    parser.add_argument("--encoding", help="force a text encoding (default: detected)")
    parser.add_argument(
        "--no-entities",
        dest="entities",
        action="store_false",
        default=None,
        help="do not tag people, places and organisations (faster; `semsearch index enrich`"
        " adds them later; default: SEMSEARCH_ENTITIES, on)",
    )
    parser.add_argument("--source", help="source name for articles that carry none")
    parser.add_argument(
        "--date", type=iso_date, help="publication date YYYY-MM-DD for articles that carry none"
    )
    parser.add_argument("--section", help="section for articles that carry none")
    parser.add_argument(
        "--skip-bad", action="store_true", help="skip and count bad records instead of stopping"
    )
    parser.add_argument(
        "--ocr",
        action="store_true",
        help="read page images (.png/.jpg/.tif) and PDF pages without a text layer with "
        "Tesseract (apt-get install tesseract-ocr tesseract-ocr-chi-sim)",
    )
    parser.add_argument(
        "--max-pages",
        type=at_least(1),
        default=DEFAULT_MAX_PAGES,
        metavar="N",
        help=f"refuse PDFs with more pages (default {DEFAULT_MAX_PAGES})",
    )
    parser.add_argument(
        "--overlap",
        type=at_least(0),
        default=0,
        metavar="N",
        help="sentences shared by consecutive passages of a long paragraph",
    )
    parser.add_argument(
        "--on-duplicate",
        choices=ON_DUPLICATE,
        default="error",
        help="an id read twice with other content: stop (error, default), keep the first, "
        "or let the last replace it",
    )
    parser.add_argument(
        "--max-record-bytes",
        type=at_least(1024),
        metavar="N",
        help="refuse a record (or file line) over N UTF-8 bytes (env SEMSEARCH_MAX_RECORD_BYTES)",
    )
    parser.add_argument(
        "--max-title-chars",
        type=at_least(1),
        metavar="N",
        help="refuse a title over N characters (env SEMSEARCH_MAX_TITLE_CHARS)",
    )
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        help="embed in this process (local, default) or on Ray (env SEMSEARCH_INGEST_ENGINE)",
    )
    parser.add_argument(
        "--address",
        help="Ray cluster to join: auto or ray://host:10001 (default: a private local Ray)",
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="Ray embedding actors (env SEMSEARCH_RAY_WORKERS)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, context: CommandContext) -> int:
    """Validate everything, then index it in one atomic write (embedding here or on Ray)."""
    settings = _service_settings(args)
    ray_engine = settings.ingest_engine == "ray"
    if ray_engine:
        # Without the extra, say so before reading anything.
        from semsearch.service import distributed

        distributed.require_ray()
    options = IngestOptions(
        encoding=args.encoding,
        source=args.source,
        date=args.date,
        section=args.section,
        skip_bad=args.skip_bad,
        on_duplicate=args.on_duplicate,
        ocr=args.ocr,
        max_pages=args.max_pages,
        max_record_bytes=settings.max_record_bytes,
        max_title_chars=settings.max_title_chars,
    )
    files = expand_paths(args.paths)
    # A first pass costs seconds and means a bad line stops us before any model time is spent
    # and before an empty collection is created.
    planned = scan(files, options=options)
    total_bytes = sum(p.stat().st_size for p in files)
    reader = _Reader(
        files,
        options,
        args.overlap,
        total=planned.articles,
        show=settings.progress and not args.json and total_bytes >= PROGRESS_MIN_BYTES,
    )
    extra: dict[str, object] = {}
    cluster = is_cluster(settings.resolved_index())
    failed: list[int] = []
    per_shard: list[dict[str, Any]] = []
    workers = 0
    if cluster and ray_engine:
        parts = distributed.ingest_cluster(
            settings, reader.items, load=context.load_embedder, extractor=context.load_extractor
        )
        report, path, failed = parts.report, parts.path, parts.failed
        per_shard = [p.as_json() for p in parts.parts]
        extra = {
            "shards": len(parts.parts),
            "engine": "ray",
            "workers": parts.job.workers,
            "embedded_texts": parts.job.texts,
            "embed_seconds": round(parts.job.seconds, 3),
            "write_seconds": round(parts.write_seconds, 3),
            "per_shard": per_shard,
        }
        workers = parts.job.workers
    elif cluster:
        embedder = context.load_embedder(settings)
        entities = context.load_extractor(settings) if settings.entities else None
        with ShardedCollection.open(settings.resolved_index(), embedder, entities=entities) as sharded:
            # Routed per article; each shard's part is one atomic write of that shard.
            report = sharded.upsert(list(reader.items(embedder)))
        path = settings.resolved_index()
        extra = {"shards": sharded.manifest.shards}
    elif ray_engine:
        done = distributed.ingest(
            settings, reader.items, load=context.load_embedder, extractor=context.load_extractor
        )
        report, path = done.report, done.path
        extra = {
            "engine": "ray",
            "workers": done.job.workers,
            "embedded_texts": done.job.texts,
            "embed_seconds": round(done.job.seconds, 3),
            "commit_seconds": round(done.commit_seconds, 3),
        }
        workers = done.job.workers
    else:
        with open_for_writing(
            settings, create=True, load=context.load_embedder, extractor=context.load_extractor
        ) as collection:
            report = collection.upsert(reader.items(collection.embedder))
            path = collection.path
    stats = reader.stats
    summary = {
        "files": stats.files,
        "articles": stats.articles,
        "paragraphs": stats.paragraphs,
        "passages": reader.passages,
        "skipped": stats.skipped,
        "skip_reasons": dict(stats.skip_reasons),
        "duplicates_in_input": stats.duplicates,
        "added": report.added,
        "replaced": report.replaced,
        "unchanged": report.metadata_only + report.unchanged,
        "index": str(path),
        **extra,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        engine = f" on Ray ({workers} workers)" if ray_engine else ""
        print(
            f"{summary['articles']} articles, {summary['paragraphs']} paragraphs, "
            f"{summary['passages']} passages, {summary['skipped']} skipped "
            f"({report.added} added, {report.replaced} replaced, {summary['unchanged']} unchanged)"
            f"{engine} -> {path}"
        )
        for part in per_shard:
            state = "written" if part["written"] else f"NOT written ({part['error']})"
            if part["written"] and not part["articles"]:
                state = "nothing routed here"
            print(f"  shard {part['shard']}: {part['articles']} articles, {part['passages']} passages, {state}")
        for example in stats.skip_examples:
            print(f"  skipped: {printable(example)}")
    if failed:
        # The report above says what was written; the shards not written are as they were.
        raise SemsearchError(
            f"shard{'s' if len(failed) > 1 else ''} {', '.join(map(str, failed))} not written"
            f" (the others were); ingest the same input again to complete {path}"
        )
    return 0


def _service_settings(args: argparse.Namespace) -> ServiceSettings:
    """Common settings plus the engine fields, each flag overriding its variable."""
    base = settings_from_args(args)
    flags = {
        "ingest_engine": args.engine,
        "ray_address": args.address,
        "ray_workers": args.workers,
        "max_record_bytes": args.max_record_bytes,
        "max_title_chars": args.max_title_chars,
        "entities": args.entities,
    }
    given = {k: v for k, v in flags.items() if v is not None}
    return build_settings(ServiceSettings, **{**base.model_dump(), **given})


class _Reader:
    """Reads, cleans and cuts the input; each call of :meth:`items` is one fresh pass.

    The Ray engine reads twice (embed, then commit) rather than keep a corpus in memory;
    the counts are those of the last pass.
    """

    def __init__(
        self, files: list[Path], options: IngestOptions, overlap: int, *, total: int, show: bool
    ) -> None:
        self.files = files
        self.options = options
        self.overlap = overlap
        self.total = total
        self.show = show
        self.stats = IngestStats()
        self.passages = 0

    def items(self, embedder: TextEmbedder | None) -> Iterator[tuple[Article, list[Passage]]]:
        """``(article, passages)`` of every input article, cut with ``embedder``'s tokenizer."""
        assert embedder is not None
        self.stats, self.passages = IngestStats(), 0
        with tqdm(total=self.total, unit="article", desc="ingesting", disable=not self.show) as bar:
            for article, passages in prepare_articles(
                self.files,
                embedder,
                options=self.options,
                stats=self.stats,
                overlap_sentences=self.overlap,
            ):
                self.passages += len(passages)
                bar.update(1)
                yield article, passages
