"""``semsearch info``, ``semsearch delete`` and ``semsearch index
optimize|check|repair|reanalyze|enrich|backup|restore``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from semsearch.embedder.errors import InputError
from semsearch.index import (
    ANALYZERS,
    DEFAULT_ANALYZER,
    KINDS,
    BackupReport,
    CheckReport,
    CollectionError,
    restore_collection,
)
from semsearch.service.cli import add_common_options, settings_from_args
from semsearch.service.commands.entities import add_enrich
from semsearch.service.context import CommandContext, open_for_reading, open_for_writing


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``info``, ``delete`` and the ``index`` group.

    Args:
        subparsers: The top-level sub-parser collection.
    """
    info = subparsers.add_parser("info", help="what a collection holds")
    add_common_options(info)
    info.set_defaults(func=run_info)

    delete = subparsers.add_parser("delete", help="delete articles by id")
    add_common_options(delete)
    delete.add_argument("article_ids", nargs="+", metavar="ARTICLE_ID")
    delete.set_defaults(func=run_delete)

    index = subparsers.add_parser("index", help="maintain a collection's vector index")
    verbs = index.add_subparsers(dest="index_command", required=True)
    optimize = verbs.add_parser("optimize", help="rebuild the vector index as another kind")
    add_common_options(optimize)
    optimize.add_argument("--kind", default="auto", choices=["auto", *KINDS])
    optimize.add_argument(
        "--param", action="append", metavar="NAME=INT", help="index parameter, e.g. nlist=4096"
    )
    optimize.set_defaults(func=run_optimize)
    check = verbs.add_parser("check", help="check manifest, SQLite and FAISS against each other")
    add_common_options(check)
    check.set_defaults(func=run_check)
    repair = verbs.add_parser("repair", help="check, and rebuild what is inconsistent")
    add_common_options(repair)
    repair.set_defaults(func=run_repair)
    reanalyze = verbs.add_parser(
        "reanalyze", help=f"rebuild the lexical index with another analyzer (default {DEFAULT_ANALYZER})"
    )
    add_common_options(reanalyze)
    reanalyze.add_argument("--analyzer", default=DEFAULT_ANALYZER, choices=list(ANALYZERS))
    reanalyze.set_defaults(func=run_reanalyze)
    backup = verbs.add_parser(
        "backup", help="copy the collection consistently to DEST while it is searched and written"
    )
    add_common_options(backup)
    backup.add_argument("dest", type=Path, metavar="DEST", help="new (or empty) directory")
    backup.set_defaults(func=run_backup)
    add_enrich(verbs)
    restore = verbs.add_parser("restore", help="restore a backup into a new collection directory")
    restore.add_argument("src", type=Path, metavar="SRC", help="a backup (or a collection)")
    restore.add_argument("dest", type=Path, metavar="DEST", help="new (or empty) directory")
    restore.add_argument("--json", action="store_true", help="machine-readable output")
    restore.set_defaults(func=run_restore)


def run_info(args: argparse.Namespace, context: CommandContext) -> int:
    """Print counts, model and index kind."""
    with open_for_reading(settings_from_args(args), with_model=False) as collection:
        info = collection.info()
    if args.json:
        print(json.dumps(info.to_dict(), ensure_ascii=False))
        return 0
    recall = f", recall@10 {info.recall_at_10:.3f}" if info.recall_at_10 is not None else ""
    print(f"{info.path}: {info.articles} articles, {info.passages} passages")
    print(f"model {info.model} ({info.model_fingerprint}), {info.dimension} dimensions")
    print(
        f"index {info.index_kind} {info.index_params or ''}{recall}, {info.size_bytes / 1e6:.1f} MB"
    )
    upgrade = (
        f" (`semsearch index reanalyze` upgrades it to {DEFAULT_ANALYZER})"
        if info.lexical_analyzer != DEFAULT_ANALYZER
        else ""
    )
    print(f"lexical analyzer {info.lexical_analyzer}{upgrade}")
    print(f"generation {info.generation}: {len(info.segments)} segments, {info.tombstones} tombstones")
    for segment in info.segments:
        state = "sealed" if segment["sealed"] else "appendable"
        print(f"  {segment['file']}  {state} {segment['kind']}  {segment['vectors']} vectors")
    return 0


def run_delete(args: argparse.Namespace, context: CommandContext) -> int:
    """Delete articles; unknown ids are reported, not an error for the others."""
    settings = settings_from_args(args)
    with open_for_writing(settings, create=False, load=context.load_embedder) as collection:
        deleted = collection.delete(args.article_ids)
    if args.json:
        print(json.dumps({"requested": len(set(args.article_ids)), "deleted": deleted}))
    else:
        print(f"deleted {deleted} of {len(set(args.article_ids))} articles")
    return 0


def _params(items: list[str] | None) -> dict[str, int]:
    params: dict[str, int] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not value.lstrip("-").isdigit():
            raise InputError(f"--param expects NAME=INTEGER, got {item!r}")
        params[name] = int(value)
    return params


def run_optimize(args: argparse.Namespace, context: CommandContext) -> int:
    """Rebuild the vector index and print the measured recall."""
    params = _params(args.param)
    settings = settings_from_args(args)
    with open_for_writing(settings, create=False, load=context.load_embedder) as collection:
        info = collection.optimize(args.kind, params)
    if args.json:
        print(json.dumps(info.to_dict()))
    else:
        recall = f", recall@10 {info.recall_at_10:.3f}" if info.recall_at_10 is not None else ""
        print(f"rebuilt as {info.index_kind} {info.index_params}{recall}")
    return 0


def run_check(args: argparse.Namespace, context: CommandContext) -> int:
    """Check consistency without changing anything; exit 1 when inconsistent."""
    try:
        with open_for_reading(settings_from_args(args), with_model=False) as collection:
            report = collection.check()
    except CollectionError as exc:
        # Opening checks too: an inconsistent collection is this command's answer, not a failure.
        report = CheckReport(ok=False, problems=[str(exc)])
    print(
        json.dumps(report.to_dict())
        if args.json
        else ("ok" if report.ok else "; ".join(report.problems))
    )
    return 0 if report.ok else 1


def run_reanalyze(args: argparse.Namespace, context: CommandContext) -> int:
    """Rebuild the lexical index with the chosen analyzer (no re-embedding)."""
    settings = settings_from_args(args)
    with open_for_writing(settings, create=False, load=context.load_embedder) as collection:
        passages = collection.reanalyze(args.analyzer)
        info = collection.info()
    if args.json:
        print(json.dumps(info.to_dict(), ensure_ascii=False))
    else:
        print(f"lexical index rebuilt with {info.lexical_analyzer}: {passages} passages")
    return 0


def run_repair(args: argparse.Namespace, context: CommandContext) -> int:
    """Repair inconsistencies (rebuilding vectors from the embedding cache)."""
    settings = settings_from_args(args)
    with open_for_writing(settings, create=False, load=context.load_embedder) as collection:
        report = collection.repair()
    print(
        json.dumps(report.to_dict())
        if args.json
        else ("; ".join(report.repaired) or "nothing to repair")
    )
    return 0 if report.ok else 1


def run_backup(args: argparse.Namespace, context: CommandContext) -> int:
    """Back the collection up into DEST and say which generation the copy holds."""
    with open_for_reading(settings_from_args(args), with_model=False) as collection:
        report = collection.backup(args.dest)
    _print_copy(args, "backed up", report)
    return 0


def run_restore(args: argparse.Namespace, context: CommandContext) -> int:
    """Restore SRC (a backup or a collection) into the new collection directory DEST."""
    _print_copy(args, "restored", restore_collection(args.src, args.dest))
    return 0


def _print_copy(args: argparse.Namespace, verb: str, report: BackupReport) -> None:
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    print(
        f"{verb} {report.source} to {report.path}: generation {report.generation},"
        f" {report.articles} articles, {report.passages} passages,"
        f" {report.size_bytes / 1e6:.1f} MB"
    )
