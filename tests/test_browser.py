"""The web UI in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists(),
        reason="Debian chromium is not installed (apt-get install chromium)",
    ),
]

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def page(server_url: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 1000})
        page = context.new_page()
        page.goto(server_url, wait_until="networkidle")
        yield page
        browser.close()


def test_question_typed_in_the_page_shows_the_arabic_passage_rtl(
    page: Any, artifacts: Path
) -> None:
    box = page.locator("#khabar-question textarea")
    box.fill("What did Putin say about Israel?")
    box.press("Enter")
    mark = page.locator("#khabar-chat mark.khabar-answer").first
    mark.wait_for(timeout=60_000)
    assert mark.inner_text().startswith("وجدد بوتين موقف موسكو")
    hit = page.locator("#khabar-chat .khabar-hit").first
    assert hit.get_attribute("dir") == "rtl"
    assert hit.evaluate("el => getComputedStyle(el).direction") == "rtl"
    passage = page.locator("#khabar-chat .khabar-passage").first
    size = float(passage.evaluate("el => parseFloat(getComputedStyle(el).fontSize)"))
    assert size >= 18, f"passage font size {size}px is too small to read Arabic comfortably"
    assert (
        page.locator("#khabar-chat .khabar-section").first.inner_text() == "الانتهاكات الإسرائيلية"
    )
    # the next passages are one click away
    more = page.locator("#khabar-chat details.khabar-more > summary").first
    more.click()
    assert page.locator("#khabar-chat .khabar-more .khabar-hit").count() == 4
    page.screenshot(path=str(artifacts / "chat.png"), full_page=True)


def test_example_button_asks_in_arabic(page: Any) -> None:
    page.get_by_role("button", name="هل القواعد الروسية في سوريا آمنة؟").click()
    page.wait_for_function(
        "() => document.querySelectorAll('#khabar-chat details.khabar-more').length >= 2",
        timeout=60_000,
    )
    last = page.locator("#khabar-chat .khabar-hit:not(.khabar-more .khabar-hit)").last
    assert "قاعدتي روسيا العسكريتين" in last.inner_text()
