"""``report entities``: how often each person, place and organisation is named per month,
and which are named together.

CSV has one row per entity and month (``table`` ``month``) and one per pair (``table``
``pair``); JSONL one record per entity (its months nested) and one per pair; the HTML page
the most named entities with their months, and the most frequent pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np

from semsearch.index import ENTITY_TYPES, Collection
from semsearch.service.reports.model import Report

COLUMNS = (
    "table", "type", "name", "printed", "month", "articles", "mentions", "other_type", "other_name",
)  # fmt: skip
# Entities and pairs the HTML page lists (the CSV and JSONL hold all).
HTML_ENTITIES = 100
HTML_PAIRS = 100


@dataclass(frozen=True)
class EntityReportConfig:
    """What ``report entities`` covers.

    Attributes:
        types: Entity types listed.
        min_pair_articles: A pair is listed when named together in this many articles.
        pair_limit: At most this many pairs, most frequent first.
    """

    types: tuple[str, ...] = ENTITY_TYPES
    min_pair_articles: int = 2
    pair_limit: int = 10_000


def entities_report(collection: Collection, config: EntityReportConfig) -> Report:
    """Counts per entity and month, and co-occurrence pairs, as a report."""
    counts = collection.entity_counts(
        config.types, min_pair_articles=config.min_pair_articles, pair_limit=config.pair_limit
    )
    rows: list[dict[str, Any]] = []
    entities: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, name, printed, month, articles, mentions in counts.months:
        rows.append(
            {"table": "month", "type": kind, "name": name, "printed": printed,
             "month": month or None, "articles": articles, "mentions": mentions}
        )  # fmt: skip
        entry = entities.setdefault(
            (kind, name),
            {"record": "entity", "type": kind, "name": name, "printed": printed,
             "articles": 0, "mentions": 0, "months": {}},
        )  # fmt: skip
        entry["articles"] += articles
        entry["mentions"] += mentions
        entry["months"][month or "undated"] = articles
    for kind, name, other_kind, other_name, articles in counts.pairs:
        rows.append(
            {"table": "pair", "type": kind, "name": name, "other_type": other_kind,
             "other_name": other_name, "articles": articles}
        )  # fmt: skip
    ranked = sorted(entities.values(), key=lambda e: (-e["articles"], e["type"], e["name"]))
    records = ranked + [
        {"record": "pair", "type": a, "name": b, "other_type": c, "other_name": d, "articles": n}
        for a, b, c, d, n in counts.pairs
    ]
    months = sorted({m for e in ranked for m in e["months"] if m != "undated"})
    tagged = collection.tagged_articles()
    return Report(
        kind="entities",
        title="Named entities 命名实体",
        summary={
            "articles tagged": tagged,
            **{f"{kind} entities": sum(1 for e in ranked if e["type"] == kind) for kind in config.types},
            "months": len(months),
            "pairs": len(counts.pairs),
        },
        columns=COLUMNS,
        rows=rows,
        records=records,
        scores=np.zeros(0),
        score_label="",
        notes=[
            f"Pairs named together in at least {config.min_pair_articles} articles"
            f" (at most {config.pair_limit}); counts are of articles."
        ]
        + ([] if tagged else ["No article is tagged yet: run `semsearch index enrich`."]),
    )


def render_entities(report: Report) -> str:
    """The HTML body of ``report entities`` (every value escaped)."""
    entities = [r for r in report.records if r["record"] == "entity"]
    pairs = [r for r in report.records if r["record"] == "pair"]
    months = sorted({m for e in entities for m in e["months"]})
    parts = ["<h2>Most named 提及最多</h2>"]
    if len(entities) > HTML_ENTITIES:
        parts.append(
            f'<p class="muted">Showing {HTML_ENTITIES} of {len(entities)} entities; the CSV '
            "and JSONL outputs hold all of them.</p>"
        )
    head = "".join(f'<th class="num">{escape(m)}</th>' for m in months)
    parts.append(
        "<table><tr><th>type</th><th>name</th><th class=\"num\">articles</th>"
        f'<th class="num">mentions</th>{head}</tr>'
    )
    for entity in entities[:HTML_ENTITIES]:
        cells = "".join(f'<td class="num">{entity["months"].get(m, "")}</td>' for m in months)
        shown = entity["printed"] if entity["printed"] == entity["name"] else f"{entity['name']} ({entity['printed']})"
        parts.append(
            f"<tr><td>{escape(entity['type'])}</td><td>{escape(shown)}</td>"
            f'<td class="num">{entity["articles"]}</td><td class="num">{entity["mentions"]}</td>{cells}</tr>'
        )
    parts.append("</table>")
    parts.append("<h2>Named together 共同出现</h2>")
    if not pairs:
        parts.append('<p class="muted">No pair reaches the threshold.</p>')
        return "\n".join(parts)
    parts.append('<table><tr><th>entity</th><th>entity</th><th class="num">articles</th></tr>')
    for pair in pairs[:HTML_PAIRS]:
        parts.append(
            f"<tr><td>{escape(pair['name'])} <span class=\"muted\">{escape(pair['type'])}</span></td>"
            f"<td>{escape(pair['other_name'])} <span class=\"muted\">{escape(pair['other_type'])}</span></td>"
            f'<td class="num">{pair["articles"]}</td></tr>'
        )
    parts.append("</table>")
    return "\n".join(parts)


def parse_types(spec: str | None) -> tuple[str, ...]:
    """``--types person,org`` as a tuple (None: all)."""
    if spec is None:
        return ENTITY_TYPES
    return tuple(dict.fromkeys(t.strip() for t in spec.split(",") if t.strip()))


__all__: Sequence[str] = ("EntityReportConfig", "entities_report", "parse_types", "render_entities")
