"""Entity facets and the entity view in a real browser (Debian's headless Chromium via
Playwright), over the sample page ingested with the real model and the LAC tagger.

Skips when /usr/bin/chromium is absent; screenshots go to ``artifacts/`` at the repo root.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.helpers.paths import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.helpers.seed import FIRST_TITLE, SECOND_TITLE

pytestmark = pytest.mark.slow

TIMEOUT_MS = 30_000

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(seed_server: str) -> str:
    return seed_server


def test_entity_facets_filter_and_the_entity_view(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server + "/?q=" + quote('"项目"') + "&collapse=true")
            expect(page.locator("#status")).to_contain_text("of 2 articles")
            people = page.locator('.facet-group[data-facet="person"]')
            expect(people.locator("h3")).to_have_text("People 人物")
            mayor = people.locator(".facet-value", has_text="何雄")
            expect(mayor.locator(".facet-count")).to_have_text("2")
            places = page.locator('.facet-group[data-facet="place"] .facet-value')
            expect(places.filter(has_text="管城区")).to_have_count(1)
            orgs = page.locator('.facet-group[data-facet="org"] .facet-value')
            expect(orgs.filter(has_text="阿里巴巴客户体验中心")).to_have_count(1)
            # Ten values per group at first; the rest behind "more".
            expect(people.locator(".entity-row:visible")).to_have_count(10)
            page.screenshot(path=str(ARTIFACTS / "browser-entity-facets.png"), full_page=True)
            people.locator(".facet-more").click()
            expect(people.locator(".entity-row:visible")).to_have_count(people.locator(".entity-row").count())

            # A click filters to the articles naming them (both, for the mayor; one with 周富强).
            mayor.click()
            expect(page.locator("#status")).to_contain_text("of 2 articles")
            assert "entity=person%3A%E4%BD%95%E9%9B%84" in page.url
            page.locator('.facet-group[data-facet="person"] .facet-value', has_text="周富强").click()
            expect(page.locator("#status")).to_contain_text("of 1 articles")
            expect(page.locator(".hit h2 a")).to_have_text(FIRST_TITLE)
            chips = page.locator(".entity-filters .facet-value")
            expect(chips).to_have_count(2)
            page.screenshot(path=str(ARTIFACTS / "browser-entity-filtered.png"), full_page=True)
            # The filters stay for the next query, and a chip drops one.
            page.fill("#q", "数字经济")
            page.click("#go")
            expect(page.locator(".entity-filters .facet-value")).to_have_count(2)
            page.locator(".entity-filters .facet-value", has_text="周富强").click()
            expect(page.locator(".entity-filters .facet-value")).to_have_count(1)
            expect(page.locator(".hit").first).to_be_visible()

            # The arrow opens the entity view: count, months, companions, latest articles.
            page.locator('.facet-group[data-facet="person"] .entity-row', has_text="何雄").locator(
                ".entity-open"
            ).click()
            expect(page.locator("#article h2")).to_have_text("何雄")
            expect(page.locator("#article .meta").first).to_contain_text("2 articles")
            expect(page.locator("#article .timeline-bar")).to_have_count(1)
            assert page.locator("#article .timeline-bar").get_attribute("title") == "2023-04: 2"
            # Companions by their folded names: the paper's bare 市委 is Zhengzhou's.
            expect(page.locator(".entity-cooccurring .facet-value", has_text="郑州市委 (")).to_have_count(1)
            latest = page.locator(".entity-latest li a")
            expect(latest).to_have_count(2)
            assert set(latest.all_inner_texts()) == {FIRST_TITLE, SECOND_TITLE}
            page.screenshot(path=str(ARTIFACTS / "browser-entity-view.png"), full_page=True)

            # A companion opens its own view; a month bar searches that month's articles.
            page.locator(".entity-cooccurring .facet-value", has_text="周富强").click()
            expect(page.locator("#article h2")).to_have_text("周富强")
            expect(page.locator(".entity-latest li a")).to_have_text([FIRST_TITLE])
            page.locator("#article .timeline-bar").click()
            expect(page.locator("#status")).to_contain_text("of 1 articles")
            assert "date_from=2023-04-01" in page.url and "entity=person" in page.url
            page.go_back()
            page.locator(".entity-latest li a").click()
            expect(page.locator("#article h2")).to_have_text(FIRST_TITLE)

            # An entity nobody names: an error line, nothing from the address is inserted.
            page.goto(server + "/?entity_page=" + quote("person:<img src=x onerror=alert(1)>"))
            expect(page.locator("#status")).to_contain_text("no article names person")
            expect(page.locator("#article img")).to_have_count(0)
        finally:
            browser.close()
