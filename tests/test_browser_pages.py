"""The page view of an article read from a PDF: links to its printed page, hit marked.

Real model, Debian's headless Chromium (driven by Playwright) and a test page printed from
the sample page (tests/pages.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from semsearch import Collection, iter_articles, prepare_articles
from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime
from tests.helpers.paths import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS

from . import pages
from .live_server import serving

pytestmark = pytest.mark.slow

if not CHROMIUM.exists() or pages.CHROMIUM is None:
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, real_embedder: object) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("page-view")
    pdf = pages.render_pdf(pages.seed_page(), folder / "page-2023-04-20.pdf")
    # A wire copy of the page's second article: most of its text, a credit line added.
    original = list(iter_articles([pages.seed_page()]))[1]
    copy = {"id": "copy-1", "title": "转载：" + original.title, "date": "2023-04-21",
            "text": original.text[: len(original.text) * 3 // 4] + "\n（来源：郑州晚报）"}
    (folder / "wire.jsonl").write_text(json.dumps(copy, ensure_ascii=False) + "\n", encoding="utf-8")
    with Collection.create(folder / "index", real_embedder) as collection:  # type: ignore[arg-type]
        collection.upsert(prepare_articles([pdf, folder / "wire.jsonl"], real_embedder))  # type: ignore[arg-type]
    settings = ServiceSettings(page_dirs=(folder,))
    runtime = Runtime(folder / "index", real_embedder, settings)  # type: ignore[arg-type]
    try:
        with serving(create_app(runtime)) as base:
            yield base
    finally:
        runtime.close()


def test_article_view_links_to_the_printed_page_with_the_hit_marked(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(server + "/?q=" + "数字经济核心产业")
            first = page.locator(".hit a").first
            expect(first).to_be_visible(timeout=60_000)
            first.click()
            link = page.locator("a.page-link", has_text="hit marked")
            expect(link).to_have_count(1, timeout=60_000)
            href = link.get_attribute("href")
            assert href and href.startswith("/articles/") and "/pages/1?passage=" in href
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "page-view-article.png"), full_page=True)
            response = page.goto(server + href)
            assert response is not None and response.status == 200
            assert response.headers["content-type"] == "image/png"
            page.screenshot(path=str(ARTIFACTS / "page-view-page.png"))
        finally:
            browser.close()


def test_article_view_shows_copies_with_the_shared_text_marked(server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    original = list(iter_articles([pages.seed_page()]))[1]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(server + "/?article=" + original.id)
            link = page.locator(".reuse-link", has_text="copy")
            expect(link).to_have_count(1, timeout=60_000)
            assert link.locator("a").get_attribute("href") == "/?article=copy-1"
            shared = page.locator("mark.reused").first.text_content() or ""
            assert len(shared) > 100 and shared in original.text
            expect(page.locator("p.reused-paragraph").first).to_be_visible()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "page-view-reuse.png"), full_page=True)
        finally:
            browser.close()
