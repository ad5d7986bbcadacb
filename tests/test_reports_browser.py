"""The HTML report opened in headless Chromium: it renders, with no console errors."""

from __future__ import annotations

from pathlib import Path

from semsearch.index import Collection
from semsearch.service.reports import duplicates_report, load_corpus, related_report, write_report
from tests.fakes import FakeEmbedder, make_article
from tests.helpers.browser import render_in_chromium
from tests.helpers.paths import ARTIFACTS


def test_html_reports_render_without_console_errors(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    items = [
        make_article(
            f"a{i}", [f"第{i}篇：郑州市重大项目观摩活动举行。", f"段落{i}：发展数字经济。"]
        )
        for i in range(6)
    ]
    items.append(
        make_article("copy", ["第0篇：郑州市重大项目观摩活动举行。", "段落0：发展数字经济。"])
    )
    with Collection.create(tmp_path / "index", fake) as collection:
        collection.upsert(items)
    corpus = load_corpus(tmp_path / "index", fake)
    for report in (
        related_report(corpus, k=3, threshold=0.95, progress=False),
        duplicates_report(corpus, threshold=0.95, progress=False),
    ):
        page = tmp_path / f"{report.kind}.html"
        write_report(report, page)
        errors, counts = render_in_chromium(page, ARTIFACTS / f"report-fake-{report.kind}.png")
        assert errors == []
        assert counts["svg"] >= 2 and counts["table"] >= 1  # histogram, heatmap, tables
