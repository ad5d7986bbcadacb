"""A real browser (Debian's headless Chromium via Playwright) uses the search page.

Skips when /usr/bin/chromium is absent; screenshots go to ``artifacts/`` at the repo root.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime

from .conftest import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from .live_server import serving
from .test_api_model import SECOND_TITLE, build_seed_index

pytestmark = pytest.mark.slow

# A phone-sized viewport: the page must work there.
PHONE_WIDTH, PHONE_HEIGHT = 390, 844
TIMEOUT_MS = 30_000

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, model_dir: Path, real_embedder: object
) -> Iterator[str]:
    path = build_seed_index(tmp_path_factory.mktemp("browser") / "index", model_dir)
    runtime = Runtime(path, real_embedder, ServiceSettings())  # type: ignore[arg-type]
    try:
        with serving(create_app(runtime)) as base:
            yield base
    finally:
        runtime.close()


def test_query_on_the_page_shows_the_article(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server + "/")
            page.fill("#q", "数字经济 核心产业")
            page.click("#go")
            first = page.locator(".hit h2 a").first
            expect(first).to_have_text(SECOND_TITLE)
            expect(page.locator(".hit .snippet mark").first).to_be_visible()
            assert "q=" in page.url  # the search is a shareable link
            page.screenshot(path=str(ARTIFACTS / "browser-search.png"), full_page=True)

            first.click()  # the article view, scrolled to the hit
            expect(page.locator("#article h2")).to_have_text(SECOND_TITLE)
            expect(page.locator("#article p.hit-paragraph mark").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "browser-article.png"))

            page.go_back()
            expect(page.locator(".hit h2 a").first).to_have_text(SECOND_TITLE)
            page.locator(".more-like-this").first.click()
            expect(page.locator(".hit").first).to_be_visible()
            assert "like=" in page.url
            page.screenshot(path=str(ARTIFACTS / "browser-similar.png"), full_page=True)
        finally:
            browser.close()


def test_facets_timeline_sort_and_syntax_help(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server + "/")
            page.click("#syntax-help summary")
            expect(page.locator("#syntax-help")).to_contain_text("exact phrase")
            page.fill("#q", '"数字经济" OR "项目为王"')
            page.click("#options summary")
            page.select_option("#sort", "date-desc")
            page.check("#collapse")
            page.click("#go")
            expect(page.locator(".hit")).to_have_count(2)
            expect(page.locator("#status")).to_contain_text("of 2 articles")
            year = page.locator('.facet-group[data-facet="year"] .facet-value')
            expect(year).to_have_count(1)
            expect(year.locator(".facet-count")).to_have_text("2")
            bar = page.locator(".timeline-bar")
            expect(bar).to_have_count(1)
            assert bar.get_attribute("title") == "2023-04: 2"
            assert "sort=date-desc" in page.url
            page.screenshot(path=str(ARTIFACTS / "browser-facets.png"), full_page=True)

            bar.click()  # narrows the dates to that month
            expect(page.locator(".hit")).to_have_count(2)
            assert "date_from=2023-04-01" in page.url and "date_to=2023-04-30" in page.url
            year.click()  # a year facet sets the whole year
            expect(page.locator(".hit")).to_have_count(2)
            assert "date_from=2023-01-01" in page.url and "date_to=2023-12-31" in page.url

            page.fill("#q", '"项目为王')
            page.click("#go")
            expect(page.locator("#status")).to_contain_text("unbalanced quote")
            page.screenshot(path=str(ARTIFACTS / "browser-syntax-error.png"))
        finally:
            browser.close()
