"""Opening a page in the system Chromium (Debian's; browser downloads do not work here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.paths import CHROMIUM, CHROMIUM_FLAGS

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
