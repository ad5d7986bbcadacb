"""A real browser (Debian's headless Chromium via Playwright) uses the search page.

Skips when /usr/bin/chromium is absent; screenshots go to ``artifacts/`` at the repo root.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime
from tests.helpers.paths import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, SEED
from tests.helpers.seed import SECOND_TITLE

from .live_server import serving

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.slow

# A phone-sized viewport: the page must work there.
PHONE_WIDTH, PHONE_HEIGHT = 390, 844
TIMEOUT_MS = 30_000

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(seed_server: str) -> str:
    return seed_server


# The sample page's two articles again under these dates: a timeline of three months.
MONTH_DATES = ["2023-02-10", "2023-04-20", "2023-06-05"]


@pytest.fixture(scope="module")
def months_server(tmp_path_factory: pytest.TempPathFactory, real_embedder: object) -> Iterator[str]:
    from semsearch import Collection, prepare_articles

    path = tmp_path_factory.mktemp("browser-months") / "index"
    read = list(prepare_articles([SEED], real_embedder))  # type: ignore[arg-type]
    copies = []
    for date in MONTH_DATES:
        for article, passages in read:
            new_id = f"{article.id}-{date}"
            moved = [replace(p, article_id=new_id) for p in passages]
            copies.append((replace(article, id=new_id, date=date), moved))
    with Collection.create(path, real_embedder) as coll:  # type: ignore[arg-type]
        coll.upsert(copies)
    runtime = Runtime(path, real_embedder, ServiceSettings())  # type: ignore[arg-type]
    try:
        with serving(create_app(runtime)) as base:
            yield base
    finally:
        runtime.close()


def _drag(page: Page, start: Locator, end: Locator) -> None:
    """Press the mouse on one element and move it onto another (the caller releases it)."""
    first, last = start.bounding_box(), end.bounding_box()
    assert first is not None and last is not None
    page.mouse.move(first["x"] + first["width"] / 2, first["y"] + first["height"] / 2)
    page.mouse.down()
    page.mouse.move(last["x"] + last["width"] / 2, last["y"] + last["height"] / 2, steps=8)


def test_timeline_drag_click_and_keyboard_narrow_the_dates(months_server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(months_server + "/?" + "q=%22数字经济%22+OR+%22项目为王%22&collapse=true")
            expect(page.locator("#status")).to_contain_text("of 6 articles")
            bars = page.locator(".timeline-bar")
            expect(bars).to_have_count(3)
            assert [bars.nth(i).get_attribute("title") for i in range(3)] == [
                "2023-02: 2", "2023-04: 2", "2023-06: 2"
            ]
            # Drag from February to April: the bars on the way are marked while pressed.
            _drag(page, bars.nth(0), bars.nth(1))
            expect(page.locator(".timeline-bar.in-range")).to_have_count(2)
            page.screenshot(path=str(ARTIFACTS / "browser-timeline-drag.png"), full_page=True)
            page.mouse.up()
            expect(page.locator("#status")).to_contain_text("of 4 articles")
            assert "date_from=2023-02-01" in page.url and "date_to=2023-04-30" in page.url
            expect(page.locator("#date_from")).to_have_value("2023-02-01")
            expect(page.locator("#date_to")).to_have_value("2023-04-30")
            expect(bars).to_have_count(2)
            expect(page.locator(".timeline-bar.active")).to_have_count(2)
            dates = page.locator(".hit .meta").all_inner_texts()
            assert dates and all(d.startswith(("2023-02", "2023-04")) for d in dates)
            page.screenshot(path=str(ARTIFACTS / "browser-timeline-range.png"), full_page=True)

            # Right to left gives the same kind of range; a release off the bars does nothing.
            page.go_back()
            expect(bars).to_have_count(3)
            _drag(page, bars.nth(2), bars.nth(1))
            page.mouse.up()
            expect(page.locator("#status")).to_contain_text("of 4 articles")
            assert "date_from=2023-04-01" in page.url and "date_to=2023-06-30" in page.url
            page.go_back()
            expect(bars).to_have_count(3)
            _drag(page, bars.nth(0), page.locator("#status"))
            page.mouse.up()
            expect(page.locator(".timeline-bar.in-range")).to_have_count(0)
            assert "date_from" not in page.url

            # A click still narrows to one month.
            bars.nth(1).click()
            expect(page.locator("#status")).to_contain_text("of 2 articles")
            assert "date_from=2023-04-01" in page.url and "date_to=2023-04-30" in page.url

            # Keyboard: Shift+Enter marks the start of a range, Enter on another bar ends it.
            page.go_back()
            expect(bars).to_have_count(3)
            bars.nth(0).focus()
            page.keyboard.press("Shift+Enter")
            expect(page.locator(".timeline-bar.in-range")).to_have_count(1)
            assert "date_from" not in page.url
            bars.nth(2).focus()
            page.keyboard.press("Enter")
            expect(page.locator("#status")).to_contain_text("of 6 articles")
            assert "date_from=2023-02-01" in page.url and "date_to=2023-06-30" in page.url
            expect(page.locator(".timeline-bar.active")).to_have_count(3)
        finally:
            browser.close()


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

            # Pasted text with a quote that closes no phrase: searched as text, with a hint.
            page.fill("#q", "他指出，重大项目是经济发展的“压舱石")
            page.click("#go")
            expect(page.locator(".hit").first).to_be_visible()
            expect(page.locator("#query-note")).to_contain_text("unbalanced quote “ read as text")
            page.screenshot(path=str(ARTIFACTS / "browser-query-note.png"))
            page.fill("#q", "-项目")  # no reading: an error, and the old hint goes
            page.click("#go")
            expect(page.locator("#status")).to_contain_text("only exclusions")
            expect(page.locator("#query-note")).to_be_hidden()
        finally:
            browser.close()
