"""HTML reports over hostile urls: only http(s) urls become links (issue 16 item 1)."""

from __future__ import annotations

import re
from pathlib import Path

from semsearch.index import Collection
from semsearch.service.reports import load_corpus, queries_report, related_report, write_report
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.browser import render_in_chromium
from tests.helpers.paths import ARTIFACTS

BODY = ["郑州市举行重大项目观摩活动，市领导分别带队观摩。", "安伟强调要立足改造提升传统产业。"]
URLS = {
    "js": "javascript:alert(document.domain)",
    "js2": " JAVASCRIPT:alert(1)",
    "data": "data:text/html,<script>alert(1)</script>",
    "quote": 'https://x.example/"><script>alert(1)</script>',
    "ok": "https://example.com/ok",
}


def _hostile_report_pages(tmp_path: Path) -> list[Path]:
    fake = FakeEmbedder()
    items = []
    for key, url in URLS.items():
        article = make_article(key, BODY, title=f"title {key}")
        article[0].url = url
        items.append(article)
    items.append(make_article("other", ["The weather in London was rainy today."]))
    with Collection.create(tmp_path / "index", fake) as collection:
        collection.upsert(items)
    corpus = load_corpus(tmp_path / "index", fake)
    pages = []
    for report in (
        related_report(corpus, k=3, threshold=0.5, progress=False),
        queries_report(corpus, fake, [("q1", BODY[0])], k=5, progress=False),
    ):
        pages.append(tmp_path / f"{report.kind}.html")
        write_report(report, pages[-1])
    return pages


def test_only_http_urls_become_links_in_html_reports(tmp_path: Path) -> None:
    for page in _hostile_report_pages(tmp_path):
        html = page.read_text(encoding="utf-8")
        hrefs = re.findall(r'<a href="([^"]*)"', html)  # links (SVG figures embed their own data)
        assert "https://example.com/ok" in hrefs
        assert [h for h in hrefs if not h.startswith(("https://", "#"))] == []
        assert not re.search(r"<a [^>]*(javascript|data):", html, re.IGNORECASE)
        assert "<script" not in html  # the quote-breaking url stays inside its attribute
        assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_hostile_html_report_renders_in_chromium_without_errors(tmp_path: Path) -> None:
    for page in _hostile_report_pages(tmp_path):
        errors, counts = render_in_chromium(page, ARTIFACTS / f"report-hostile-{page.stem}.png")
        assert errors == [] and counts["table"] > 0
