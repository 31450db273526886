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


def test_filters_restrict_the_answer(page: Any) -> None:
    page.get_by_text("Filters").click()
    source = page.locator("#khabar-source input")
    source.fill("no-such-source")
    source.press("Enter")
    box = page.locator("#khabar-question textarea")
    box.fill("Who did Putin receive in the Kremlin?")
    box.press("Enter")
    page.get_by_text("No article matches the filters").first.wait_for(timeout=60_000)
    source.fill("samples")  # the sample's source is its file path
    source.press("Enter")
    since = page.locator("#khabar-since textarea, #khabar-since input").first
    since.fill("2020-01-01")  # the sample has no date: a date filter leaves it out
    box.fill("Who did Putin receive in the Kremlin?")
    box.press("Enter")
    page.wait_for_function(
        "() => document.body.innerText.split('No article matches the filters').length > 2",
        timeout=60_000,
    )
    since.fill("")
    before = page.locator("#khabar-chat mark.khabar-answer").count()
    box.fill("Who did Putin receive in the Kremlin?")
    box.press("Enter")
    page.wait_for_function(
        f"() => document.querySelectorAll('#khabar-chat mark.khabar-answer').length > {before}",
        timeout=60_000,
    )
    best = "#khabar-chat .khabar-hit:not(.khabar-more .khabar-hit) > .khabar-cite"
    last = page.locator(best).last.inner_text()
    assert "putin-syria-ministers.ar.txt" in last  # the source is shown in the citation


@pytest.fixture(scope="module")
def wiki_page(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local 'wiki' page (another origin) that frames khabar's /embed, and a khabar server
    whose frame-ancestors allow that origin only."""
    import functools
    import http.server
    import threading

    from khabar.api import ApiSettings
    from khabar.service import Khabar
    from khabar.web import serve
    from tests.conftest import free_port

    wiki_port = free_port()
    wiki_origin = f"http://127.0.0.1:{wiki_port}"
    folder = tmp_path_factory.mktemp("embed") / "index"
    shutil.copytree(sample_index, folder)
    service = Khabar.open(folder)
    server = serve(
        service,
        host="127.0.0.1",
        port=free_port(),
        block=False,
        api=ApiSettings(frame_ancestors=f"'self' {wiki_origin}"),
    )
    assert server is not None
    site = tmp_path_factory.mktemp("wiki")
    question = "What did Putin say about Israel?"
    (site / "index.html").write_text(
        "<!doctype html><html><body><h1>Team wiki</h1>"
        f'<iframe id="khabar" src="{server.url}embed?q={question}" width="600" height="700" '
        'style="border:1px solid #ccc"></iframe></body></html>',
        encoding="utf-8",
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", wiki_port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"{wiki_origin}/index.html"
    httpd.shutdown()
    server.close()
    service.close()


def test_embed_page_in_a_wiki_iframe(page: Any, wiki_page: str, artifacts: Path) -> None:
    page.set_viewport_size({"width": 700, "height": 820})
    page.goto(wiki_page, wait_until="load")
    frame = page.frame_locator("#khabar")
    mark = frame.locator("mark").first
    mark.wait_for(timeout=60_000)
    assert mark.inner_text().startswith("وجدد بوتين موقف موسكو")
    hit = frame.locator(".hit").first
    assert hit.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert "paragraph 7" in frame.locator(".cite").first.inner_text()
    page.screenshot(path=str(artifacts / "embed.png"))


def test_embed_refuses_other_framers(page: Any, server_url: str, tmp_path: Path) -> None:
    # server_url allows only 'self' as a framer: a page of another origin gets no content.
    page.set_content(f'<iframe id="k" src="{server_url}embed?q=Putin"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frame(url=lambda url: "embed" in url)
    assert frame is None or frame.locator("#q").count() == 0
