"""``reuse``: copy and text-reuse links between a collection's articles, with aligned spans.

Each link names the two articles, its level (``copy`` or ``reuse``, see ``levels``), the
aligned spans as offsets into both stored article texts, the share of each text they cover,
and the likely source: the earliest dated article of the link's cluster (articles joined
by copy or reuse links).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from semsearch.service.reports.corpus import Corpus
from semsearch.service.reports.levels import COPY_MIN_COVER, COPY_MIN_OTHER, REUSE_MIN_CHARS
from semsearch.service.reports.model import Report, score_summary, snippet
from semsearch.service.reports.normalise import Normalised
from semsearch.service.reports.textreuse import Link, clusters, earliest, find_links

LINK_COLUMNS = (
    "article_id",
    "title",
    "other_id",
    "other_title",
    "level",
    "share",
    "other_share",
    "longest_span",
    "span_count",
    "spans",
    "source_id",
    "first_span_text",
)


def span_records(link: Link, left: Normalised, right: Normalised) -> list[dict[str, int]]:
    """The link's spans as original offsets ``{start, end, other_start, other_end}``."""
    records = []
    for span in link.alignment.spans:
        start, end = left.original_span(span.start, span.end)
        other_start, other_end = right.original_span(span.other_start, span.other_end)
        records.append(
            {"start": start, "end": end, "other_start": other_start, "other_end": other_end}
        )
    return records


def corpus_links(corpus: Corpus, *, progress: bool) -> tuple[list[Link], list[Normalised]]:
    """Copy and reuse links among the corpus's articles and their normalised texts."""
    normal = [corpus.normalised(i) for i in range(corpus.size)]
    return find_links(normal, progress=progress), normal


def link_records(
    corpus: Corpus, links: list[Link], normal: list[Normalised]
) -> list[dict[str, Any]]:
    """One record per link, the likely source named from its cluster.

    Args:
        corpus: The collection (texts loaded).
        links: Its copy and reuse links.
        normal: Its normalised texts.

    Returns:
        The records, ordered by article.
    """
    source_of: dict[int, int] = {}
    for members in clusters(corpus.size, links, ("copy", "reuse")):
        first = earliest(members, corpus.dates)
        source_of.update(dict.fromkeys(members, first))
    records = []
    for link in links:
        spans = span_records(link, normal[link.i], normal[link.j])
        records.append(
            {
                "article_id": corpus.article_ids[link.i],
                "title": corpus.titles[link.i],
                "url": corpus.urls[link.i],
                "date": corpus.dates[link.i],
                "other_id": corpus.article_ids[link.j],
                "other_title": corpus.titles[link.j],
                "other_url": corpus.urls[link.j],
                "other_date": corpus.dates[link.j],
                "level": link.level,
                "spans": spans,
                "share": round(link.alignment.share, 4),
                "other_share": round(link.alignment.other_share, 4),
                "longest_span": link.alignment.longest,
                "source_id": corpus.article_ids[source_of[link.i]],
            }
        )
    return records


def _row(record: dict[str, Any], corpus: Corpus, number: int) -> dict[str, Any]:
    spans = record["spans"]
    first = spans[0] if spans else None
    text = corpus.texts[number][first["start"] : first["end"]] if first else ""
    return {
        **{key: record[key] for key in LINK_COLUMNS if key in record and key != "spans"},
        "span_count": len(spans),
        "spans": ";".join(
            f"{s['start']}-{s['end']}:{s['other_start']}-{s['other_end']}" for s in spans
        ),
        "first_span_text": snippet(text),
    }


def reuse_report(corpus: Corpus, *, progress: bool) -> Report:
    """Build the ``reuse`` report.

    Args:
        corpus: The collection, with its article texts.
        progress: Show progress bars.

    Returns:
        The report; ``texts`` holds the linked articles' texts for the HTML page.
    """
    links, normal = corpus_links(corpus, progress=progress)
    records = link_records(corpus, links, normal)
    number = {article: i for i, article in enumerate(corpus.article_ids)}
    rows = [_row(r, corpus, number[r["article_id"]]) for r in records]
    shown = {i for link in links for i in (link.i, link.j)}
    covered = np.asarray([max(r["share"], r["other_share"]) for r in records], dtype=np.float32)
    summary = {
        "collection": corpus.path,
        "articles": corpus.size,
        "links": len(records),
        "copy_links": sum(r["level"] == "copy" for r in records),
        "reuse_links": sum(r["level"] == "reuse" for r in records),
        "articles_linked": len({r[k] for r in records for k in ("article_id", "other_id")}),
        "reuse_min_chars": REUSE_MIN_CHARS,
        **score_summary(covered),
    }
    return Report(
        kind="reuse",
        title=f"Copies and text reuse — {corpus.path}",
        summary=summary,
        columns=LINK_COLUMNS,
        rows=rows,
        records=records,
        scores=covered,
        score_label="share of the more covered article in each link",
        threshold=COPY_MIN_COVER,
        notes=[
            f"copy: the spans cover at least {COPY_MIN_COVER:.0%} of one article and "
            f"{COPY_MIN_OTHER:.0%} of the other; reuse: an aligned span of at least "
            f"{REUSE_MIN_CHARS} characters (letters and digits, spaces and punctuation not "
            "counted). Offsets are into the stored article texts; source_id is the earliest "
            "dated article of the linked cluster."
        ],
        texts={corpus.article_ids[i]: corpus.texts[i] for i in sorted(shown)},
    )
