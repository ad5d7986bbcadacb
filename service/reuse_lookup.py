"""One article's copy and reuse links, for the API: candidates by passage similarity.

The batch report finds links over the whole collection with MinHash LSH; a request for one
article cannot afford that, so its candidates are the articles of the passages most like
each of its passages (a reused span sits in a passage whose vector is close to the
donor's), aligned and named by the same rules (``service.reports.levels``).
"""

from __future__ import annotations

from dataclasses import dataclass

from semsearch.index import Collection
from semsearch.service.reports.align import Alignment, align
from semsearch.service.reports.levels import Level, text_level
from semsearch.service.reports.normalise import normalise

# Similar passages looked at per passage of the article.
PASSAGE_NEIGHBOURS = 5
# Passages of the article used as queries (its first ones: long articles stay cheap).
MAX_QUERY_PASSAGES = 40


@dataclass(frozen=True)
class ReuseLink:
    """A copy or reuse link of the asked article to ``other_id``, spans in original offsets."""

    other_id: str
    level: Level
    spans: list[tuple[int, int, int, int]]  # (start, end, other_start, other_end)
    share: float
    other_share: float
    longest_span: int


def _spans(alignment: Alignment, text: str, other: str) -> list[tuple[int, int, int, int]]:
    left, right = normalise(text), normalise(other)
    out = []
    for span in alignment.spans:
        start, end = left.original_span(span.start, span.end)
        other_start, other_end = right.original_span(span.other_start, span.other_end)
        out.append((start, end, other_start, other_end))
    return out


def article_reuse(collection: Collection, article_id: str) -> list[ReuseLink] | None:
    """The copy and reuse links of one stored article, closest first; None when absent.

    Args:
        collection: The collection.
        article_id: The article.

    Returns:
        Links ordered by level (copies first) then by the share of the asked article.
    """
    found = collection.article_with_passages(article_id)
    if found is None:
        return None
    row, passages = found
    text = str(row["text"])
    candidates: list[str] = []
    for passage in passages[:MAX_QUERY_PASSAGES]:
        hits = collection.similar(passage_id=passage.id, k=PASSAGE_NEIGHBOURS).results
        candidates += [h.article_id for h in hits if h.article_id != article_id]
    mine = normalise(text).text
    links = []
    for other_id in dict.fromkeys(candidates):
        other = collection.get_article(other_id)
        if other is None:
            continue
        other_text = str(other["text"])
        alignment = align(mine, normalise(other_text).text)
        level = text_level(alignment)
        if level is None:
            continue
        links.append(
            ReuseLink(
                other_id=other_id,
                level=level,
                spans=_spans(alignment, text, other_text),
                share=round(alignment.share, 4),
                other_share=round(alignment.other_share, 4),
                longest_span=alignment.longest,
            )
        )
    return sorted(links, key=lambda link: (link.level != "copy", -link.share, link.other_id))
