"""Hostile input in a real browser (Debian's headless Chromium), with the real model.

Issue 16 item 1: a ``javascript:`` url stored through ``POST /articles`` never becomes a
link on the page, and the page runs under its Content-Security-Policy. Item 14: ``/docs``
and ``/redoc`` render with every request off this machine refused (the network "off").
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from semsearch.service.app import create_app
from semsearch.service.config import ServiceSettings
from semsearch.service.runtime import Runtime
from tests.helpers.cli import Cli
from tests.helpers.paths import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from tests.helpers.seed import build_seed_index

from .live_server import serving

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

API_KEY = "browser-safety-key"
TIMEOUT_MS = 60_000
HOSTILE_URLS = {
    "x1": "javascript:alert(document.domain)",
    "x2": " JaVaScRiPt:alert(2)",
    "x3": "data:text/html,<script>alert(3)</script>",
}
SAFE_URLS = {"ok1": "https://example.com/a?b=1", "ok2": "/?article=x1"}
# ReDoc's sidebar footer always loads its vendor's logo from a CDN (hard-coded, no option
# turns it off); the CSP refuses it, as it should, and ReDoc then hides the image.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def server(
    cli: Cli, tmp_path_factory: pytest.TempPathFactory, model_dir: Path, real_embedder: object
) -> Iterator[str]:
    path = build_seed_index(cli, tmp_path_factory.mktemp("browser-safety") / "index", model_dir)
    settings = ServiceSettings(api_key=SecretStr(API_KEY))
    runtime = Runtime(path, real_embedder, settings)  # type: ignore[arg-type]
    records = [
        {"id": key, "title": f"t {key}", "text": "数字经济", "url": url}
        for key, url in (HOSTILE_URLS | SAFE_URLS).items()
    ]
    try:
        with serving(create_app(runtime)) as base:
            request = urllib.request.Request(
                base + "/articles",
                data=json.dumps({"articles": records}).encode("utf-8"),
                headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                assert response.status == 200
            yield base
    finally:
        runtime.close()


class Browser:
    """One Chromium page that records errors, dialogs, CSP reports and outside requests."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._on_dialog)
        # The network "off": only this server answers; anything else is refused and noted.
        page.route("**/*", lambda route: self._route(route, base))

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any, base: str) -> None:
        url = route.request.url
        if url.startswith(base + "/"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort("internetdisconnected")


@pytest.fixture()
def browser(server: str) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield Browser(chromium.new_page(viewport={"width": 1200, "height": 900}), server)
        finally:
            chromium.close()


def _assert_headers(response: Any) -> None:
    assert response is not None and response.status == 200
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    policy = headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no other origin


@pytest.mark.parametrize("article_id", sorted(HOSTILE_URLS))
def test_a_javascript_url_is_shown_as_text_never_as_a_link(
    browser: Browser, server: str, article_id: str
) -> None:
    from playwright.sync_api import expect

    page = browser.page
    _assert_headers(page.goto(f"{server}/?article={article_id}"))
    expect(page.locator("#article h2")).to_have_text(f"t {article_id}")
    shown = page.locator("#article .source-url")
    expect(shown).to_have_text(HOSTILE_URLS[article_id].strip())
    assert shown.evaluate("e => e.tagName") == "SPAN"
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert hrefs and not [h for h in hrefs if not h.startswith(server + "/")], hrefs
    shown.click()  # were it a link, this is where the script would run
    page.wait_for_timeout(300)
    assert browser.dialogs == [] and browser.errors == [] and browser.outside == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-safety-{article_id}.png"))


@pytest.mark.parametrize(("article_id", "url"), sorted(SAFE_URLS.items()))
def test_http_and_relative_urls_stay_links(
    browser: Browser, server: str, article_id: str, url: str
) -> None:
    from playwright.sync_api import expect

    page = browser.page
    page.goto(f"{server}/?article={article_id}")
    link = page.locator("#article a.source-url")
    expect(link).to_have_text(url)
    assert link.evaluate("a => a.href") == urllib.request.urljoin(server + "/", url)
    assert browser.errors == []


def test_search_page_works_under_the_csp(browser: Browser, server: str) -> None:
    from playwright.sync_api import expect

    page = browser.page
    _assert_headers(page.goto(server + "/"))
    page.fill("#q", "数字经济 核心产业")
    page.click("#go")
    expect(page.locator(".hit h2 a").first).to_be_visible()
    assert browser.errors == [] and browser.outside == []


def test_swagger_docs_render_offline_under_the_csp(browser: Browser, server: str) -> None:
    from playwright.sync_api import expect

    page = browser.page
    _assert_headers(page.goto(server + "/docs"))
    expect(page.locator(".opblock").first).to_be_visible()  # the operations were rendered
    expect(page.locator(".info .title")).to_contain_text("semsearch")
    assert page.locator(".opblock").count() >= 8
    assert browser.errors == [] and browser.outside == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-docs-offline.png"))


def test_redoc_renders_offline_under_the_csp(browser: Browser, server: str) -> None:
    from playwright.sync_api import expect

    page = browser.page
    _assert_headers(page.goto(server + "/redoc"))
    expect(page.locator("h1").first).to_contain_text("semsearch")
    expect(page.locator("h2", has_text="Search passages").first).to_be_visible()
    refused = [e for e in browser.errors if REDOC_LOGO in e and "Content Security Policy" in e]
    assert [e for e in browser.errors if e not in refused] == [] and browser.outside == []
    page.screenshot(path=str(ARTIFACTS / "browser-redoc-offline.png"))
