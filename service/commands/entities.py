"""``semsearch entities top|show`` and ``semsearch index enrich``: named entities of a
collection (people, places, organisations)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager

from semsearch.embedder.settings import Settings
from semsearch.index import ENTITY_TYPES, Collection, EntityRef
from semsearch.index.cluster import is_cluster
from semsearch.index.sharded import ShardedCollection
from semsearch.service.cli import add_common_options, at_least, settings_from_args
from semsearch.service.context import CommandContext, collection_path, open_for_reading
from semsearch.service.terminal import printable


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``entities`` group (``index enrich`` is added by :mod:`.manage`).

    Args:
        subparsers: The top-level sub-parser collection.
    """
    group = subparsers.add_parser(
        "entities",
        help="people, places and organisations named",
        description="The named entities ingest (or `semsearch index enrich`) tagged. `top` "
        "lists the most named (`semsearch entities top --type person` prints `2  person  "
        "何雄` on the sample page); `show TYPE NAME` one entity's articles per month, the "
        "entities named with it and its latest articles. Search takes them as facets "
        "(`--facets person,place,org`) and filters (`--entity person:何雄`).",
    )
    verbs = group.add_subparsers(dest="entities_command", required=True)
    top = verbs.add_parser("top", help="the entities most articles name")
    add_common_options(top)
    top.add_argument("--type", choices=list(ENTITY_TYPES), help="only this type (default: all)")
    top.add_argument("-n", type=at_least(1), default=20, help="how many (default 20)")
    top.set_defaults(func=run_top)
    show = verbs.add_parser(
        "show", help="one entity: articles naming it per month, companions, latest articles"
    )
    add_common_options(show)
    show.add_argument("type", choices=list(ENTITY_TYPES))
    show.add_argument("name", help="the name as printed (either script)")
    show.set_defaults(func=run_show)


def add_enrich(verbs: argparse._SubParsersAction) -> None:
    """Add ``index enrich`` to the ``index`` group."""
    enrich = verbs.add_parser(
        "enrich",
        help="tag people, places and organisations of stored articles (no re-embedding)",
        description="Tag the named entities of the articles not tagged yet (a collection "
        "ingested with --no-entities or by an earlier release), 64 articles per write, "
        "without loading the embedding model; an interrupted run resumes. Prints e.g. "
        "`tagged 2 articles: 55 mentions` on the sample page.",
    )
    add_common_options(enrich)
    enrich.add_argument(
        "--all", dest="everything", action="store_true",
        help="tag every article again, not only those never tagged",
    )
    enrich.add_argument(
        "--limit", type=at_least(1), help="tag at most this many articles (resume later)"
    )
    enrich.set_defaults(func=run_enrich)


def _shown(entity: EntityRef) -> str:
    """The folded name (what filters take), and the printed form when it differs
    (``郑州市委`` printed ``市委``, a traditional-script name)."""
    if entity.printed == entity.name:
        return printable(entity.name)
    return f"{printable(entity.name)} ({printable(entity.printed)})"


@contextmanager
def _entity_reader(settings: Settings) -> Iterator[Collection | ShardedCollection]:
    """The collection, or the sharded collection at ``--index`` (its shards' lists merged);
    entity pages need no model."""
    path = settings.resolved_index()
    if is_cluster(path):
        with ShardedCollection.open(path, None) as cluster:
            yield cluster
    else:
        with open_for_reading(settings, with_model=False) as collection:
            yield collection


def run_top(args: argparse.Namespace, context: CommandContext) -> int:
    """Print the most named entities."""
    with _entity_reader(settings_from_args(args)) as collection:
        found = collection.top_entities(args.type, args.n)
        tagged = collection.tagged_articles()
    if args.json:
        print(json.dumps([e.as_json() for e in found], ensure_ascii=False))
        return 0
    if not found:
        hint = "" if tagged else " (no article tagged yet: run `semsearch index enrich`)"
        print(f"no entities{hint}")
    for entity in found:
        print(f"{entity.articles:>6}  {entity.type:<6}  {_shown(entity)}")
    return 0


def run_show(args: argparse.Namespace, context: CommandContext) -> int:
    """Print one entity's page; exit 1 when no article names it."""
    with _entity_reader(settings_from_args(args)) as collection:
        page = collection.entity(args.type, args.name)
    if page is None:
        if args.json:
            print("null")
        else:
            print(f"no article names {args.type} {printable(args.name)}")
        return 1
    if args.json:
        print(json.dumps(page.as_json(), ensure_ascii=False))
        return 0
    print(f"{page.entity.type} {_shown(page.entity)}: {page.entity.articles} articles")
    for month, count in page.months:
        print(f"  {month}  {count}")
    if page.cooccurring:
        named = ", ".join(f"{_shown(e)} ({e.type}) {e.articles}" for e in page.cooccurring)
        print(f"named with: {named}")
    for article in page.latest:
        when = printable(article["date"] or "undated")
        print(f"  {when}  {printable(article['title'])}  [{printable(article['id'])}]")
    return 0


def run_enrich(args: argparse.Namespace, context: CommandContext) -> int:
    """Tag the stored articles not tagged yet (or all) and index their names."""
    settings = settings_from_args(args)
    extractor = context.load_extractor(settings)
    # No model: nothing is embedded again.
    with Collection.open(collection_path(settings, must_exist=True), None) as collection:
        report = collection.enrich(extractor, everything=args.everything, limit=args.limit)
    if args.json:
        print(json.dumps(report.as_json()))
        return 0
    left = f", {report.remaining} left (run again)" if report.remaining else ""
    skipped = f", {report.skipped} changed meanwhile (run again)" if report.skipped else ""
    print(f"tagged {report.articles} articles: {report.mentions} mentions{skipped}{left}")
    return 0
