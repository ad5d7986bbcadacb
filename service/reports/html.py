"""The self-contained HTML report: inline CSS and SVG figures, no scripts, no network."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from html import escape
from typing import Any

from semsearch.service.reports.entities import render_entities
from semsearch.service.reports.model import Heatmap, Report
from semsearch.service.reports.plots import heatmap_svg, histogram_svg

# Records rendered as tables; the machine outputs always hold everything.
HTML_MAX_ITEMS = 300
# Only these become links: a javascript: (or data:, ...) url in the input stays text.
_SAFE_SCHEMES = ("http://", "https://")
# Defence in depth for a page opened from disk: even markup that slipped through could
# not run a script or fetch anything (the page needs only its inline CSS and SVG).
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",
"Microsoft YaHei",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1.05rem}
.cards{display:flex;flex-wrap:wrap;gap:.6rem}.card{background:#f4f6f8;border-radius:6px;
padding:.5rem .8rem}.card b{display:block;font-size:1.15rem}.card span{font-size:.8rem;color:#555}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#fafafa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.why{color:#444;font-size:.85rem}.why q{quotes:none;background:#fff7d6}.dup{color:#c0392b;font-weight:600}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#555}svg{max-width:100%;height:auto}
.muted{color:#777;font-size:.85rem}ol.legend{columns:2;font-size:.85rem}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem}.pair div{white-space:pre-wrap;
max-height:24rem;overflow:auto;font-size:.85rem;border:1px solid #e3e3e3;padding:.4rem}
mark{background:#ffe08a}
"""


def render_html(report: Report) -> str:
    """Render a report as one self-contained HTML page.

    Args:
        report: The report.

    Returns:
        The HTML document.
    """
    body = [f"<h1>{escape(report.title)}</h1>"]
    body.append(
        f'<p class="muted">semsearch report <b>{escape(report.kind)}</b>, generated '
        f"{escape(time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))}</p>"
    )
    body.append("<h2>Summary</h2>" + _cards(report.summary))
    body += [f'<p class="muted">{escape(note)}</p>' for note in report.notes]
    histogram = histogram_svg(report.scores, report.score_label, report.threshold)
    if histogram:
        body.append("<h2>Similarity scores</h2>")
        body.append(
            f"<figure>{histogram}<figcaption>{escape(report.score_label)}"
            f"{_threshold_note(report.threshold)}</figcaption></figure>"
        )
    if report.heatmap is not None:
        body.append(_heatmap(report.heatmap))
    body.append(_RENDERERS[report.kind](report))
    return (
        '<!DOCTYPE html>\n<html lang="zh"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(report.title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def _threshold_note(threshold: float | None) -> str:
    return "" if threshold is None else f"; dashed line: threshold {threshold:.3f}"


def _cards(summary: dict[str, Any]) -> str:
    cards = []
    for key, value in summary.items():
        shown = "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)
        cards.append(f'<div class="card"><b>{escape(shown)}</b><span>{escape(key)}</span></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _heatmap(heatmap: Heatmap) -> str:
    parts = ["<h2>Similarity heatmap</h2>", f"<figure>{heatmap_svg(heatmap.matrix)}"]
    parts.append(f"<figcaption>{escape(heatmap.caption)}</figcaption></figure>")
    same = heatmap.row_titles == heatmap.col_titles
    parts.append("<h3>Rows and columns</h3>" if same else "<h3>Rows</h3>")
    parts.append(_legend(heatmap.row_titles))
    if not same:
        parts.append("<h3>Columns</h3>" + _legend(heatmap.col_titles))
    return "\n".join(parts)


def _legend(titles: list[str]) -> str:
    items = "".join(f"<li>{escape(t or '(untitled)')}</li>" for t in titles)
    return f'<ol class="legend">{items}</ol>'


def anchor(article_id: str) -> str:
    """A safe HTML id for an article id (any characters allowed in ids)."""
    return "a-" + hashlib.sha1(article_id.encode("utf-8")).hexdigest()[:12]


def _link(title: str | None, url: str | None, article_id: str, anchored: set[str]) -> str:
    text = escape(title or article_id or "(untitled)")
    if url and url.startswith(_SAFE_SCHEMES):
        return f'<a href="{escape(url, quote=True)}">{text}</a>'
    if article_id in anchored:
        return f'<a href="#{anchor(article_id)}">{text}</a>'
    return text


def _limited(records: list[dict[str, Any]], what: str) -> tuple[list[dict[str, Any]], str]:
    if len(records) <= HTML_MAX_ITEMS:
        return records, ""
    note = (
        f'<p class="muted">Showing {HTML_MAX_ITEMS} of {len(records)} {what}; the CSV and JSONL '
        "outputs hold all of them.</p>"
    )
    return records[:HTML_MAX_ITEMS], note


def _why(item: dict[str, Any]) -> str:
    return (
        f'<div class="why"><q>{escape(item["passage_snippet"])}</q> ↔ '
        f"<q>{escape(item['neighbor_passage_snippet'])}</q> "
        f'<span class="muted">(passage cosine {item["passage_score"]:.3f})</span></div>'
    )


def _neighbours(report: Report) -> str:
    ordered = sorted(
        report.records,
        key=lambda r: -(r["neighbors"][0]["score"] if r["neighbors"] else -1.0),
    )
    shown, note = _limited(ordered, "articles (most similar first)")
    anchored = {r["article_id"] for r in shown}
    heading = "Matches" if report.kind == "match" else "Neighbours"
    parts = [f"<h2>{heading}</h2>", note]
    for record in shown:
        parts.append(
            f'<section id="{anchor(record["article_id"])}"><h3>'
            f"{_link(record['title'], record['url'], record['article_id'], set())}"
            f' <span class="muted">{escape(record["article_id"])}'
            f"{' · ' + escape(record['date']) if record.get('date') else ''}</span></h3>"
        )
        rows = []
        for item in record["neighbors"]:
            level = item["level"]
            flag = f' <span class="dup">{escape(level)}</span>' if level != "related" else ""
            target = anchored if report.kind == "related" else set()
            rows.append(
                f'<tr><td class="num">{item["rank"]}</td><td>'
                f"{_link(item['neighbor_title'], item['neighbor_url'], item['neighbor_id'], target)}"
                f'{flag}{_why(item)}</td><td class="num">{item["score"]:.3f}</td></tr>'
            )
        parts.append(
            "<table><tr><th>#</th><th>article and best passage pair</th><th>score</th></tr>"
            + "".join(rows)
            + "</table></section>"
        )
    return "\n".join(parts)


def _groups(report: Report) -> str:
    shown, note = _limited(report.records, "groups")
    parts = ["<h2>Groups</h2>", note]
    if not shown:
        parts.append("<p>No group: no two articles reach the threshold.</p>")
    for group in shown:
        parts.append(
            f"<section><h3>Group {group['group_id']} — {group['size']} articles, "
            f"scores {group['min_score']:.3f}–{group['max_score']:.3f}</h3>"
        )
        rows = [
            f"<tr><td>{_link(m['title'], m['url'], m['article_id'], set())}</td>"
            f"<td>{escape(m['article_id'])}</td><td>{escape(m.get('date') or '')}</td>"
            f"<td>{escape(m.get('source') or '')}</td>"
            f'<td class="num">{m.get("best_match_score", float("nan")):.3f}</td></tr>'
            for m in group["members"]
        ]
        parts.append(
            "<table><tr><th>title</th><th>id</th><th>date</th><th>source</th>"
            "<th>best match</th></tr>" + "".join(rows) + "</table>"
        )
        pairs = [
            f"<tr><td>{escape(p['article_id'])} ↔ {escape(p['other_id'])}{_why(p)}</td>"
            f'<td class="num">{p["score"]:.3f}</td></tr>'
            for p in group["pairs"]
        ]
        parts.append(
            "<table><tr><th>linking pair and best passage pair</th><th>score</th></tr>"
            + "".join(pairs)
            + "</table></section>"
        )
    return "\n".join(parts)


def _queries(report: Report) -> str:
    shown, note = _limited(report.records, "queries")
    parts = ["<h2>Queries</h2>", note]
    for record in shown:
        parts.append(
            f"<section><h3>{escape(record['query'])} "
            f'<span class="muted">{escape(record["query_id"])}</span></h3>'
        )
        rows = [
            f'<tr><td class="num">{hit["rank"]}</td><td>'
            f"{_link(hit['title'], hit['url'], hit['article_id'], set())}"
            f'<div class="why">{escape(hit["snippet"])}</div></td>'
            f'<td class="num">{hit["matched_passages"]}</td>'
            f'<td class="num">{hit["score"]:.3f}</td></tr>'
            for hit in record["articles"]
        ]
        parts.append(
            "<table><tr><th>#</th><th>article and best passage</th><th>passages</th>"
            "<th>score</th></tr>" + "".join(rows) + "</table></section>"
        )
    return "\n".join(parts)


def marked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` escaped, the ``[start, end)`` spans inside ``<mark>``."""
    parts, position = [], 0
    for start, end in sorted(spans):
        start = max(start, position)
        if end <= start:
            continue
        parts.append(escape(text[position:start]))
        parts.append(f"<mark>{escape(text[start:end])}</mark>")
        position = end
    parts.append(escape(text[position:]))
    return "".join(parts)


def _link_figures(link: dict[str, Any], source: str | None) -> str:
    """The shares, span and source line of a reuse link (escaped)."""
    parts = []
    if link["share"] is not None:
        parts += [
            f"{escape(link['article_id'])} covers {link['share']:.0%}",
            f"{escape(link['other_id'])} covers {link['other_share']:.0%}",
            f"longest span {link['longest_span']} characters",
        ]
    if link.get("score") is not None:
        parts.append(f"score {link['score']:.3f}")
    if link.get("cross_lingual"):
        parts.append(f"{escape(str(link['script']))} ↔ {escape(str(link['other_script']))}")
    if source is not None:
        parts.append(f"likely source {escape(source)}")
    return " · ".join(parts)


def _reuse(report: Report) -> str:
    shown, note = _limited(report.records, "links")
    parts = ["<h2>Links</h2>", note]
    if not shown:
        parts.append("<p>No link.</p>")
    for link in shown:
        left = [(s["start"], s["end"]) for s in link["spans"]]
        right = [(s["other_start"], s["other_end"]) for s in link["spans"]]
        source = link["source_id"]
        parts.append(
            f'<section><h3><span class="dup">{escape(link["level"])}</span> '
            f"{_link(link['title'], link['url'], link['article_id'], set())} ↔ "
            f"{_link(link['other_title'], link['other_url'], link['other_id'], set())}</h3>"
            f'<p class="muted">{_link_figures(link, source)}</p>'
            f'<div class="pair"><div>{marked(report.texts.get(link["article_id"], ""), left)}'
            f"</div><div>{marked(report.texts.get(link['other_id'], ''), right)}</div></div>"
            "</section>"
        )
    return "\n".join(parts)


_RENDERERS: dict[str, Callable[[Report], str]] = {
    "entities": render_entities,
    "reuse": _reuse,
    "related": _neighbours,
    "match": _neighbours,
    "duplicates": _groups,
    "queries": _queries,
}
