"""``semsearch report KIND [INPUT...] --out FILE``: batch similarity reports."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from semsearch.embedder.errors import InputError
from semsearch.embedder.ingest import IngestOptions
from semsearch.index import ENTITY_TYPES
from semsearch.service.cli import add_common_options, finite_float, settings_from_args
from semsearch.service.context import CommandContext, collection_path, open_for_reading
from semsearch.service.reports import (
    DUPLICATE_THRESHOLD,
    KINDS,
    Report,
    duplicates_report,
    load_corpus,
    load_other,
    match_report,
    output_format,
    queries_report,
    read_queries,
    related_report,
    reuse_report,
    write_report,
)
from semsearch.service.reports.entities import EntityReportConfig, entities_report, parse_types
from semsearch.service.reports.reuse import DEFAULT_REUSE_LEVELS, REUSE_LEVELS

DEFAULT_K = {"related": 5, "duplicates": 10, "queries": 10, "match": 3, "reuse": 1, "entities": 1}
# --level of report duplicates: the spelling on the command line -> the level.
DUPLICATE_LEVELS = {"copy": "copy", "same-event": "same_event"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` command.

    Args:
        subparsers: The top-level sub-parser collection.
    """
    parser = subparsers.add_parser(
        "report",
        help="batch reports: related, duplicates, queries, match, reuse, entities",
        description="Offline jobs over a whole collection. KIND is related (each article's "
        "most similar articles), duplicates (groups above --threshold), queries (INPUT: a "
        "file of queries, one per line or .jsonl/.csv with id and text) or match (INPUT: "
        "files or a collection matched against this one) or reuse (copy and text-reuse links "
        "with aligned spans) or entities (articles naming each person, place and organisation "
        "per month, and the pairs named together). The format follows --out: .csv, "
        ".jsonl or .html (self-contained).",
    )
    add_common_options(parser)
    parser.add_argument("kind", metavar="KIND", help=f"one of {', '.join(KINDS)}")
    parser.add_argument("inputs", nargs="*", type=Path, metavar="INPUT")
    parser.add_argument("--out", type=Path, required=True, help="output file .csv/.jsonl/.html")
    parser.add_argument(
        "-k",
        type=int,
        help="neighbours / hits per item (default: related 5, duplicates 10 candidates, "
        "queries 10, match 3)",
    )
    parser.add_argument(
        "--threshold",
        type=finite_float,
        default=DUPLICATE_THRESHOLD,
        help=f"cosine from which two articles are duplicates (default {DUPLICATE_THRESHOLD}, "
        "calibrated on SOHU same-event pairs)",
    )
    parser.add_argument(
        "--level",
        choices=list(DUPLICATE_LEVELS),
        default="copy",
        help="duplicates: group edited copies (default) or same-event articles (--threshold)",
    )
    parser.add_argument(
        "--levels",
        default=",".join(DEFAULT_REUSE_LEVELS),
        help=f"reuse: comma-separated levels to list, of {', '.join(REUSE_LEVELS)} "
        f"(default {','.join(DEFAULT_REUSE_LEVELS)}; same_event links use --threshold)",
    )
    parser.add_argument(
        "--types",
        help="entities: comma-separated types of person, place, org (default: all)",
    )
    parser.add_argument(
        "--min-pair",
        type=int,
        default=EntityReportConfig.min_pair_articles,
        help="entities: list a pair named together in at least this many articles"
        f" (default {EntityReportConfig.min_pair_articles})",
    )
    parser.set_defaults(func=run)


def reuse_levels(spec: str) -> list[str]:
    """The levels of ``--levels`` (comma-separated; ``same-event`` spelling accepted)."""
    levels = [part.strip().replace("-", "_") for part in spec.split(",") if part.strip()]
    unknown = [level for level in levels if level not in REUSE_LEVELS]
    if unknown or not levels:
        raise InputError(
            f"--levels: unknown level {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(REUSE_LEVELS)}"
        )
    return list(dict.fromkeys(levels))


def _check(args: argparse.Namespace) -> int:
    if args.kind not in KINDS:
        raise InputError(f"unknown report kind {args.kind!r}; choose one of {', '.join(KINDS)}")
    output_format(args.out)
    k = DEFAULT_K[args.kind] if args.k is None else args.k
    if k < 1:
        raise InputError("-k must be at least 1")
    if not -1.0 <= args.threshold <= 1.0:
        raise InputError("--threshold is a cosine between -1 and 1")
    if args.kind in ("related", "duplicates", "reuse", "entities") and args.inputs:
        raise InputError(f"report {args.kind} takes no INPUT")
    if args.kind == "reuse":
        reuse_levels(args.levels)
    if args.kind == "entities":
        _entity_config(args)
    if args.kind == "queries" and len(args.inputs) != 1:
        raise InputError("report queries needs exactly one query file")
    if args.kind == "match" and not args.inputs:
        raise InputError("report match needs files or a collection directory to match")
    return k


def run(args: argparse.Namespace, context: CommandContext) -> int:
    """Build the report and write it."""
    k = _check(args)
    settings = settings_from_args(args)
    progress = settings.progress and not args.json
    queries = read_queries(args.inputs[0]) if args.kind == "queries" else []
    path = collection_path(settings, must_exist=True)
    if args.kind == "entities":
        # Counts from the store: no model, no vectors.
        with open_for_reading(settings, with_model=False) as collection:
            return _written(args, entities_report(collection, _entity_config(args)))
    embedder = context.load_embedder(settings)
    corpus = load_corpus(path, embedder, progress=progress)
    report: Report
    if args.kind == "related":
        report = related_report(corpus, k=k, threshold=args.threshold, progress=progress)
    elif args.kind == "duplicates":
        report = duplicates_report(
            corpus,
            threshold=args.threshold,
            k=k,
            level=DUPLICATE_LEVELS[args.level],  # type: ignore[arg-type]
            progress=progress,
        )
    elif args.kind == "reuse":
        report = reuse_report(
            corpus,
            levels=reuse_levels(args.levels),  # type: ignore[arg-type]
            threshold=args.threshold,
            progress=progress,
        )
    elif args.kind == "queries":
        report = queries_report(corpus, embedder, queries, k=k, progress=progress)
    else:
        other = load_other(args.inputs, embedder, options=IngestOptions(), progress=progress)
        report = match_report(corpus, other, k=k, threshold=args.threshold, progress=progress)
    return _written(args, report)


def _entity_config(args: argparse.Namespace) -> EntityReportConfig:
    types = parse_types(args.types)
    unknown = [t for t in types if t not in ENTITY_TYPES]
    if unknown or not types:
        raise InputError(f"--types: choose from {', '.join(ENTITY_TYPES)}")
    if args.min_pair < 1:
        raise InputError("--min-pair must be at least 1")
    return EntityReportConfig(types=types, min_pair_articles=args.min_pair)


def _written(args: argparse.Namespace, report: Report) -> int:
    write_report(report, args.out)
    summary = {"kind": report.kind, "out": str(args.out), **report.summary}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        figures = ", ".join(
            f"{key} {value}"
            for key, value in report.summary.items()
            if key not in ("collection", "matched")
        )
        print(f"{report.kind} report -> {args.out} ({figures})")
    return 0
