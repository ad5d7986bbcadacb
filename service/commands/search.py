"""``semsearch search`` and ``semsearch similar``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from semsearch.embedder.errors import InputError
from semsearch.index import (
    Filters,
    ParsedQuery,
    SearchRequest,
    SearchResponse,
    SnippetStyle,
    parse_entity,
)
from semsearch.service.cli import (
    add_common_options,
    finite_float,
    iso_date,
    settings_from_args,
)
from semsearch.service.context import CommandContext, open_for_search
from semsearch.service.terminal import printable, printable_marked

ANSI_BOLD = ("\033[1m", "\033[0m")
PLAIN_MARKS = ("【", "】")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``search`` and ``similar``.

    Args:
        subparsers: The top-level sub-parser collection.
    """
    search = subparsers.add_parser(
        "search", help="search a collection with a natural-language query"
    )
    add_common_options(search)
    search.add_argument(
        "query",
        nargs="*",
        metavar="QUERY",
        help='the query, in any language the model covers, as one argument or several (joined '
        'by spaces); "exact phrase", +must, -exclude, -"phrase" and A OR B are constraints, '
        "the rest ranks; a quote that closes no phrase (pasted text), a lone +/- and an OR at "
        'an edge are read as text, and a "query read as:" line says so',
    )
    search.add_argument(
        "--mode",
        choices=["hybrid", "dense", "lexical"],
        default="hybrid",
        help="hybrid (default): both rankings fused; dense: the model alone; lexical: BM25"
        " alone. The count says what matched: lexical, passages holding every word;"
        " dense, passages near the query; hybrid, either ('at least' / 'about' when counting"
        " stopped short or was estimated)",
    )
    search.add_argument(
        "--sort",
        choices=["relevance", "date-desc", "date-asc"],
        default="relevance",
        help="result order (date orders list the match set; see README)",
    )
    search.add_argument(
        "--facets",
        type=lambda v: [f.strip() for f in v.split(",") if f.strip()],
        default=[],
        metavar="LIST",
        help="count matching articles per value: source,section,year,month,person,place,org,meta.KEY",
    )
    _add_result_options(search, page_size=_search_page_size)
    search.set_defaults(func=run_search, take_extras=_query_words)

    similar = subparsers.add_parser("similar", help="passages or articles like a given one")
    add_common_options(similar)
    example = similar.add_mutually_exclusive_group(required=True)
    example.add_argument("--passage", type=int, metavar="ID", help="a passage id")
    example.add_argument("--article", metavar="ID", help="an article id")
    example.add_argument("--text", help="free text")
    _add_result_options(similar)
    similar.set_defaults(func=run_similar)


def _add_result_options(parser: argparse.ArgumentParser, page_size: Any = int) -> None:
    parser.add_argument("-k", type=page_size, default=10, help="results per page (default 10)")
    parser.add_argument("--offset", type=int, default=0, help="results to skip (pagination)")
    parser.add_argument(
        "--per-article", dest="collapse", action="store_true", help="one hit per article"
    )
    parser.add_argument(
        "--min-score", type=finite_float, help="drop hits scoring below this"
    )
    parser.add_argument("--date-from", type=iso_date, help="earliest article date, YYYY-MM-DD")
    parser.add_argument("--date-to", type=iso_date, help="latest article date, YYYY-MM-DD")
    parser.add_argument("--source", action="append", help="only this source (repeatable)")
    parser.add_argument("--section", action="append", help="only this section (repeatable)")
    parser.add_argument("--article-id", action="append", help="only this article (repeatable)")
    parser.add_argument(
        "--meta",
        action="append",
        metavar="KEY=VALUE",
        help="metadata field equals value (repeatable)",
    )
    parser.add_argument(
        "--entity",
        action="append",
        metavar="TYPE:NAME",
        help="only articles naming this entity, TYPE person, place or org, e.g. person:何雄"
        " (repeatable: articles naming all)",
    )


def _search_page_size(text: str) -> int:
    """``-k``'s value; argparse also hands over the tail of a query word like ``-kitten``."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number (a query word starting with -k goes after --: "
            "semsearch search [options] -- QUERY)"
        ) from None


def _query_words(args: argparse.Namespace, extras: list[str]) -> None:
    """Take the arguments argparse read as unknown options (``-广告``) as query words.

    argparse treats every argument starting with ``-`` and holding no space as an option;
    an exclusion such as ``-广告`` or ``-"数字经济"`` is one. Their place among the words does
    not matter to the query (exclusions neither rank nor join an ``OR``).

    Raises:
        InputError: An argument starting with ``--`` that is no option of the command.
    """
    for extra in extras:
        if extra.startswith("--"):
            raise InputError(
                f"unrecognized option {extra!r} (to search for a word starting with --, put"
                " the query after --: semsearch search [options] -- QUERY)"
            )
    args.query = [*args.query, *extras]


def filters_from_args(args: argparse.Namespace) -> Filters:
    """Build search filters from the command-line options.

    Raises:
        InputError: A ``--meta`` option without ``=``.
    """
    metadata: dict[str, list[str]] = {}
    for item in args.meta or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--meta expects KEY=VALUE, got {item!r}")
        metadata.setdefault(key, []).append(value)
    return Filters(
        date_from=args.date_from,
        date_to=args.date_to,
        sources=args.source,
        sections=args.section,
        article_ids=args.article_id,
        metadata=dict(metadata),
        entities=[parse_entity(item) for item in args.entity or ()],
    )


def _check_paging(args: argparse.Namespace) -> None:
    if args.k < 1 or args.offset < 0:
        raise InputError("-k must be at least 1 and --offset at least 0")


def run_search(args: argparse.Namespace, context: CommandContext) -> int:
    """Run one query and print the page of results."""
    _check_paging(args)
    query = " ".join(args.query)
    if not query.strip():
        raise InputError("the query is empty")
    request = SearchRequest(
        query=query,
        mode=args.mode,
        k=args.k,
        offset=args.offset,
        filters=filters_from_args(args),
        collapse=args.collapse,
        min_score=args.min_score,
        snippet_style=_snippet_style(args),
        sort=args.sort,
        facets=tuple(args.facets),
        count=True,
    )
    settings = settings_from_args(args)
    load, with_model = context.load_embedder, args.mode != "lexical"
    with open_for_search(settings, with_model=with_model, load=load) as collection:
        response = collection.run(request)
    _print(response, args)
    return 0


def run_similar(args: argparse.Namespace, context: CommandContext) -> int:
    """Query by example and print the page of results."""
    _check_paging(args)
    settings = settings_from_args(args)
    with open_for_search(settings, load=context.load_embedder) as collection:
        response = collection.similar(
            passage_id=args.passage,
            article_id=args.article,
            text=args.text,
            k=args.k,
            offset=args.offset,
            filters=filters_from_args(args),
            collapse=args.collapse,
            min_score=args.min_score,
        )
    _print(response, args)
    return 0


def _snippet_style(args: argparse.Namespace) -> SnippetStyle:
    if args.json:
        return SnippetStyle()
    pre, post = _marks()
    return SnippetStyle(pre=pre, post=post)


def _marks() -> tuple[str, str]:
    """Highlight marks: bold on a terminal, brackets in a pipe or file."""
    return ANSI_BOLD if sys.stdout.isatty() else PLAIN_MARKS


def reading_line(parsed: ParsedQuery) -> str | None:
    """One line saying how a query was read, or None for plain words read as typed.

    Args:
        parsed: The parsed query.

    Returns:
        ``query read as: ...`` listing the constraints, the ranking words and any notes.
    """
    if not (parsed.notes or parsed.constrained or parsed.text != parsed.raw):
        return None
    phrases = set(parsed.phrases)

    def shown(text: str, sign: str) -> str:
        return f'{sign}"{text}"' if text in phrases else f"{sign}{text}"

    parts = [
        *(" OR ".join(shown(t, "" if t in phrases else "+") for t in c) for c in parsed.required),
        *(shown(t, "-") for t in parsed.excluded),
    ]
    pieces = []
    if parts:
        pieces.append(" ".join(parts))
    if parsed.words:
        pieces.append("words " + " ".join(parsed.words))
    pieces.extend(f"note: {note}" for note in parsed.notes)
    return "query read as: " + "; ".join(pieces)


def _print(response: SearchResponse, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(response.to_dict(), ensure_ascii=False))
        return
    line = reading_line(response.parsed) if response.parsed else None
    if line:
        # The query is typed text, but may come from a script: no terminal control.
        print(printable(line))
    if not response.results:
        print(f"no results for {response.query!r} ({response.mode}, {response.took_ms:.0f} ms)")
        return
    # Stored text goes through printable: a title must not drive the terminal.
    marks = _marks()
    for hit in response.results:
        where = printable(", ".join(x for x in (hit.date, hit.source) if x))
        more = f", +{hit.matched_passages} more passages" if hit.matched_passages else ""
        print(
            f"{hit.rank:>3}. {hit.score:.3f}  {printable(hit.title or '(untitled)')}"
            + (f"  ({where})" if where else "")
        )
        print(f"     {printable_marked(hit.snippet, marks)}")
        print(f"     article {printable(hit.article_id)} · passage {hit.passage_id}{more}")
    bound = {"gte": "at least ", "approx": "about "}.get(response.total_relation or "eq", "")
    matching = (
        f" of {bound}{response.total} matching articles ({response.total_passages} passages)"
        if response.total is not None
        else ""
    )
    print(f"{len(response.results)} results{matching} ({response.mode}, {response.took_ms:.0f} ms)")
    for name, values in (response.facets or {}).items():
        listed = ", ".join(f"{printable(str(v['value']))} {v['count']}" for v in values)
        print(f"{name}: {listed or '(none)'}")
