"""``semsearch shard create|split|reshard|info``: sharded collections (docs/distributed.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from semsearch.index.cluster import ClusterManifest, create_cluster, read_cluster, split_collection
from semsearch.index.reshard import reshard_cluster
from semsearch.index.sharded import ShardedCollection
from semsearch.service.cli import add_common_options, at_least, settings_from_args
from semsearch.service.context import CommandContext


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``shard`` group.

    Args:
        subparsers: The top-level sub-parser collection.
    """
    shard = subparsers.add_parser("shard", help="make and inspect sharded collections")
    verbs = shard.add_subparsers(dest="shard_command", required=True)
    create = verbs.add_parser("create", help="make an empty sharded collection in DEST")
    add_common_options(create)
    create.add_argument("dest", type=Path, metavar="DEST", help="new (or empty) directory")
    create.add_argument("--shards", type=at_least(1), required=True, help="how many shards")
    create.set_defaults(func=run_create)
    split = verbs.add_parser(
        "split", help="split the collection SRC into DEST's shards (vectors copied, not re-embedded)"
    )
    add_common_options(split)
    split.add_argument("src", type=Path, metavar="SRC", help="a collection")
    split.add_argument("dest", type=Path, metavar="DEST", help="new (or empty) directory")
    split.add_argument("--shards", type=at_least(1), required=True, help="how many shards")
    split.set_defaults(func=run_split)
    # Its own verb, not `split` of a cluster: going from 3 shards to 2 is no split, and a
    # cluster's manifest names the model, so this verb loads none (split does).
    reshard = verbs.add_parser(
        "reshard",
        help="copy the sharded collection SRC into DEST with another shard count"
        " (vectors and entity tags copied, nothing re-embedded)",
    )
    reshard.add_argument("src", type=Path, metavar="SRC", help="a sharded collection (left as it is)")
    reshard.add_argument("dest", type=Path, metavar="DEST", help="new (or empty) directory")
    reshard.add_argument("--shards", type=at_least(1), required=True, help="the new shard count")
    reshard.add_argument("--json", action="store_true", help="machine-readable output")
    reshard.set_defaults(func=run_reshard)
    info = verbs.add_parser("info", help="what each shard of the sharded collection DEST holds")
    info.add_argument("dest", type=Path, metavar="DEST", help="a sharded collection")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=run_info)


def run_create(args: argparse.Namespace, context: CommandContext) -> int:
    """Make the empty shards and the cluster manifest."""
    embedder = context.load_embedder(settings_from_args(args))
    manifest = create_cluster(args.dest, embedder, args.shards)
    return _print(args.dest, manifest, args.json)


def run_split(args: argparse.Namespace, context: CommandContext) -> int:
    """Split a collection into shards."""
    embedder = context.load_embedder(settings_from_args(args))
    manifest = split_collection(args.src, args.dest, embedder, args.shards)
    return _print(args.dest, manifest, args.json)


def run_reshard(args: argparse.Namespace, context: CommandContext) -> int:
    """Copy a cluster into a new one with another shard count."""
    report = reshard_cluster(args.src, args.dest, args.shards)
    if not args.json:
        print(
            f"{args.src} -> {args.dest}: {report.articles} articles, {report.passages} passages"
            f" ({report.tagged} with entity tags) copied in {report.writes}"
            f" write{'' if report.writes == 1 else 's'}"
        )
    return _print(args.dest, report.manifest, args.json)


def run_info(args: argparse.Namespace, context: CommandContext) -> int:
    """Print the manifest and each shard's counts."""
    return _print(args.dest, read_cluster(args.dest), args.json)


def _print(path: Path, manifest: ClusterManifest, as_json: bool) -> int:
    with ShardedCollection.open(path, None) as cluster:
        counts = [shard.counts() for shard in cluster.shards]
    if as_json:
        out = {
            "path": str(path),
            "shards": manifest.shards,
            "routing": manifest.routing,
            "model": manifest.model_name,
            "counts": [{"articles": a, "passages": p} for a, p in counts],
        }
        print(json.dumps(out, ensure_ascii=False))
        return 0
    print(f"{path}: {manifest.shards} shards, routing {manifest.routing}, model {manifest.model_name}")
    for index, (articles, passages) in enumerate(counts):
        print(f"  shard-{index:03d}: {articles} articles, {passages} passages")
    return 0
