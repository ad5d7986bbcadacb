"""The HTML report opened in headless Chromium: it renders, with no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from semsearch.index import Collection
from semsearch.service.reports import duplicates_report, load_corpus, related_report, write_report

from .conftest import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from .fakes import FakeEmbedder, make_article

VIEWPORT = {"width": 1200, "height": 900}


def render_in_chromium(page_path: Path, screenshot: Path) -> tuple[list[str], dict[str, int]]:
    """Open ``page_path`` in the system Chromium, save a full-page screenshot.

    Returns:
        ``(errors, counts)``: console errors and page exceptions, and how many ``svg``,
        ``table`` and ``img`` elements rendered with a non-zero size.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            # Any request leaving the file would mean the report is not self-contained.
            page.on(
                "request",
                lambda r: (
                    errors.append(f"request {r.url}") if not r.url.startswith("file:") else None
                ),
            )
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            counts = {
                tag: int(
                    page.evaluate(
                        f"[...document.querySelectorAll('{tag}')]"
                        ".filter(e => e.getBoundingClientRect().width > 0).length"
                    )
                )
                for tag in ("svg", "table", "img")
            }
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return errors, counts


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
