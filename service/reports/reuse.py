"""``reuse``: copy, text-reuse, translation and same-event links between a collection's articles.

Each link names the two articles, its level (see ``levels``), the aligned spans as offsets
into both stored article texts, the share of each text they cover, and the likely source:
the earliest dated article of the link's cluster (articles joined by copy, reuse or
translation links). ``copy``/``reuse`` come from MinHash LSH candidates and character
alignment (``textreuse``), ``translation`` from passage k-NN across scripts and passage
alignment (``crosslingual``), ``same_event`` (on request) from article k-NN and the centred
cosine rule (``duplicates``): no level needs all pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from semsearch.service.reports import knn
from semsearch.service.reports.corpus import Corpus
from semsearch.service.reports.crosslingual import CrossLink, article_scripts, find_translations
from semsearch.service.reports.events import DUPLICATE_THRESHOLD, EVENT_CANDIDATES, event_pairs
from semsearch.service.reports.levels import (
    COPY_MIN_COVER,
    COPY_MIN_OTHER,
    REUSE_MIN_CHARS,
    TRANSLATION_FLOOR,
    TRANSLATION_MARGIN,
    TRANSLATION_MARGIN_K,
    TRANSLATION_MIN_SHARE,
    Level,
)
from semsearch.service.reports.model import Report, score_summary, snippet
from semsearch.service.reports.normalise import Normalised, normalise
from semsearch.service.reports.textreuse import Link, clusters, earliest, find_links

# The levels `report reuse` can list, and those it lists unless told otherwise (same_event
# links are many and need a k-NN search over all articles: on request).
REUSE_LEVELS: tuple[Level, ...] = ("copy", "reuse", "translation", "same_event")
DEFAULT_REUSE_LEVELS: tuple[Level, ...] = ("copy", "reuse", "translation")

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
    "score",
    "script",
    "other_script",
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


def corpus_links(corpus: Corpus, *, progress: bool) -> list[Link]:
    """Copy and reuse links among the corpus's articles.

    Only the normalised strings are kept for the whole corpus (their offset maps, eight
    bytes a character, are rebuilt for the linked articles alone, see :func:`link_records`).
    """
    normal = [normalise(text).text for text in corpus.texts] if corpus.texts else []
    return find_links(normal or [""] * corpus.size, progress=progress)


AnyLink = Link | CrossLink | tuple[int, int, float]


def _ends(link: AnyLink) -> tuple[int, int]:
    return (link[0], link[1]) if isinstance(link, tuple) else (link.i, link.j)


def _passage_spans(corpus: Corpus, link: CrossLink) -> list[dict[str, int]]:
    rows_i, rows_j = corpus.passage_rows(link.i), corpus.passage_rows(link.j)
    starts, ends = corpus.passage_starts, corpus.passage_ends
    return [
        {
            "start": int(starts[rows_i.start + r]),
            "end": int(ends[rows_i.start + r]),
            "other_start": int(starts[rows_j.start + c]),
            "other_end": int(ends[rows_j.start + c]),
        }
        for r, c, _ in link.alignment.pairs
    ]


def link_records(
    corpus: Corpus, links: Sequence[AnyLink], scripts: Sequence[str | None]
) -> list[dict[str, Any]]:
    """One record per link, the likely source named from its cluster.

    Args:
        corpus: The collection (texts loaded).
        links: Its copy/reuse links, translation links and same-event pairs
            ``(i, j, score)``.
        scripts: The script of each article.

    Returns:
        The records, ordered by article pair (then by level, closest first).
    """
    text_links = [link for link in links if isinstance(link, Link | CrossLink)]
    source_of: dict[int, int] = {}
    for members in clusters(corpus.size, text_links, ("copy", "reuse", "translation")):
        first = earliest(members, corpus.dates)
        source_of.update(dict.fromkeys(members, first))
    normal: dict[int, Normalised] = {}
    records = []
    for link in sorted(links, key=lambda x: (*_ends(x), not isinstance(x, Link))):
        i, j = _ends(link)
        entry: dict[str, Any]
        if isinstance(link, Link):
            for k in (i, j):
                if k not in normal:
                    normal[k] = normalise(corpus.texts[k])
            entry = {
                "level": link.level,
                "spans": span_records(link, normal[i], normal[j]),
                "share": round(link.alignment.share, 4),
                "other_share": round(link.alignment.other_share, 4),
                "longest_span": link.alignment.longest,
                "score": None,
            }
        elif isinstance(link, CrossLink):
            spans = _passage_spans(corpus, link)
            entry = {
                "level": link.level,
                "spans": spans,
                "share": round(link.alignment.share, 4),
                "other_share": round(link.alignment.other_share, 4),
                "longest_span": max(s["end"] - s["start"] for s in spans),
                "score": round(link.alignment.score, 4),
            }
        else:
            entry = {
                "level": "same_event",
                "spans": [],
                "share": None,
                "other_share": None,
                "longest_span": None,
                "score": round(link[2], 4),
            }
        records.append(
            {
                "article_id": corpus.article_ids[i],
                "title": corpus.titles[i],
                "url": corpus.urls[i],
                "date": corpus.dates[i],
                "other_id": corpus.article_ids[j],
                "other_title": corpus.titles[j],
                "other_url": corpus.urls[j],
                "other_date": corpus.dates[j],
                **entry,
                "cross_lingual": scripts[i] != scripts[j],
                "script": scripts[i],
                "other_script": scripts[j],
                "source_id": corpus.article_ids[source_of[i]] if i in source_of else None,
            }
        )
    return records


def same_event_links(
    corpus: Corpus, linked: set[tuple[int, int]], threshold: float, *, progress: bool
) -> list[tuple[int, int, float]]:
    """Same-event pairs ``(i, j, score)`` by article k-NN, pairs already linked left out.

    Args:
        corpus: The collection.
        linked: Pairs ``(i, j)``, ``i < j``, with a closer link.
        threshold: Same-event threshold (centred cosine).
        progress: Show a progress bar.

    Returns:
        The pairs, ordered.
    """
    events = corpus.event_vectors()
    index = knn.build_index(events)
    found = knn.search(
        index, events, EVENT_CANDIDATES, exclude_self=True, progress=progress, desc="events"
    )
    pairs = event_pairs(found, threshold)
    return sorted((i, j, score) for (i, j), score in pairs.items() if (i, j) not in linked)


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


def reuse_report(
    corpus: Corpus,
    *,
    levels: Sequence[Level] = DEFAULT_REUSE_LEVELS,
    threshold: float | None = None,
    progress: bool,
) -> Report:
    """Build the ``reuse`` report.

    Args:
        corpus: The collection, with its article texts.
        levels: Levels to list, of :data:`REUSE_LEVELS`.
        threshold: Same-event threshold (default: the calibrated one).
        progress: Show progress bars.

    Returns:
        The report; ``texts`` holds the linked articles' texts for the HTML page.
    """
    event_threshold = DUPLICATE_THRESHOLD if threshold is None else threshold
    links: list[AnyLink] = []
    if "copy" in levels or "reuse" in levels:
        links += [link for link in corpus_links(corpus, progress=progress) if link.level in levels]
    if "translation" in levels:
        links += find_translations(corpus, progress=progress)
    if "same_event" in levels:
        linked = {_ends(link) for link in links}
        links += same_event_links(corpus, linked, event_threshold, progress=progress)
    scripts = article_scripts(corpus)
    records = link_records(corpus, links, scripts)
    number = {article: i for i, article in enumerate(corpus.article_ids)}
    rows = [_row(r, corpus, number[r["article_id"]]) for r in records]
    shown = {i for link in links for i in _ends(link)}
    covered = np.asarray(
        [max(r["share"], r["other_share"]) for r in records if r["share"] is not None],
        dtype=np.float32,
    )
    summary = {
        "collection": corpus.path,
        "articles": corpus.size,
        "levels": ",".join(levels),
        "links": len(records),
        **{f"{level}_links": sum(r["level"] == level for r in records) for level in levels},
        "articles_linked": len({r[k] for r in records for k in ("article_id", "other_id")}),
        "reuse_min_chars": REUSE_MIN_CHARS,
        **score_summary(covered),
    }
    notes = [
        f"copy: the spans cover at least {COPY_MIN_COVER:.0%} of one article and "
        f"{COPY_MIN_OTHER:.0%} of the other; reuse: an aligned span of at least "
        f"{REUSE_MIN_CHARS} characters (letters and digits, spaces and punctuation not "
        "counted). Offsets are into the stored article texts; source_id is the earliest "
        "dated article of the linked cluster.",
        "translation: articles in different scripts whose passages align in order over at "
        f"least {TRANSLATION_MIN_SHARE:.0%} of one article, each pair at cosine ≥ "
        f"{TRANSLATION_FLOOR} and ratio margin ≥ {TRANSLATION_MARGIN} (cosine over the mean "
        f"cosine of the two passages to their {TRANSLATION_MARGIN_K} nearest passages of "
        "other scripts); each span is an aligned passage pair, score the mean cosine of "
        "those pairs.",
    ]
    if "same_event" in levels:
        notes.append(
            f"same_event: centred cosine ≥ {event_threshold} (score), no shared text found; "
            "no spans."
        )
    return Report(
        kind="reuse",
        title=f"Copies, text reuse and translations — {corpus.path}",
        summary=summary,
        columns=LINK_COLUMNS,
        rows=rows,
        records=records,
        scores=covered,
        score_label="share of the more covered article in each link",
        threshold=COPY_MIN_COVER,
        notes=notes,
        texts={corpus.article_ids[i]: corpus.texts[i] for i in sorted(shown)},
    )
