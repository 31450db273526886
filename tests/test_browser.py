"""The web UI in a real headless Chromium (Debian's), driven by Playwright."""

from __future__ import annotations

import itertools
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
    # who said it, named above the passage, and what he said underlined in it
    speaker = page.locator("#khabar-chat .khabar-speaker").first
    assert speaker.inner_text() == "— الرئيس الروسي فلاديمير بوتين (وجدد، معتبراً)"
    quote = page.locator("#khabar-chat mark.khabar-answer .khabar-quote").first
    assert quote.inner_text().startswith("موقف موسكو الرافض للانتهاكات الإسرائيلية")
    assert "underline" in quote.evaluate("el => getComputedStyle(el).textDecorationLine")
    # the next passages are one click away
    more = page.locator("#khabar-chat details.khabar-more > summary").first
    more.click()
    assert page.locator("#khabar-chat .khabar-more .khabar-hit").count() == 4
    page.screenshot(path=str(artifacts / "chat.png"), full_page=True)


# The reading order of a citation's parts: each part's first line box, as (top, left).
CITE_ORDER = """el => Array.from(el.childNodes).filter(n => n.textContent.trim()).map(n => {
  const range = document.createRange(); range.selectNodeContents(n);
  const box = range.getClientRects()[0];
  return [n.textContent.trim().slice(0, 24), Math.round(box.top), Math.round(box.left)];
})"""


def assert_left_to_right(parts: list[list[Any]]) -> None:
    """Each part starts after the one before it, as an English line reads."""
    for before, after in itertools.pairwise(parts):
        later_line = after[1] > before[1] + 4
        assert later_line or (abs(after[1] - before[1]) <= 4 and after[2] > before[2]), parts


def test_the_citation_reads_left_to_right_with_an_arabic_title(page: Any) -> None:
    cite = page.locator("#khabar-chat .khabar-hit > .khabar-cite").first
    title = cite.locator("bdi.khabar-cite-title")
    assert (
        title.inner_text() == "بوتين يبحث مع وزيري الخارجية والدفاع السوريين تعزيز التعاون العسكري"
    )
    parts = cite.evaluate(CITE_ORDER)
    assert parts[0][0].startswith("#1") and "paragraph" in parts[2][0] and "score" in parts[-1][0]
    assert_left_to_right(parts)


def test_arabic_heading_and_context_align_right(page: Any) -> None:
    hit = page.locator("#khabar-chat .khabar-hit").first
    hit.locator("details.khabar-context > summary").click()
    for part in (".khabar-speaker", ".khabar-section", ".khabar-passage", ".khabar-neighbour"):
        node = hit.locator(part).first
        assert node.evaluate("el => getComputedStyle(el).textAlign") == "right", part
        # and it sits against the right edge of the passage box
        right_gap = node.evaluate(
            "el => { const r = document.createRange(); r.selectNodeContents(el);"
            " const lines = Array.from(r.getClientRects());"  # a quote's span is a box too
            " return el.getBoundingClientRect().right - Math.max(...lines.map(l => l.right)); }"
        )
        assert right_gap < 12, (part, right_gap)


def test_a_new_answer_scrolls_into_view_after_more_passages(page: Any) -> None:
    opened = page.locator("#khabar-chat details.khabar-more").first
    opened.evaluate("el => { el.open = true; }")
    before = page.locator('#khabar-chat [data-testid="user"]').count()
    box = page.locator("#khabar-question textarea")
    box.fill("Who did Putin receive in the Kremlin?")
    box.press("Enter")
    page.wait_for_function(
        f"() => document.querySelectorAll('#khabar-chat [data-testid=\"bot\"]').length > {before}",
        timeout=60_000,
    )
    page.wait_for_timeout(600)
    visible = page.locator('#khabar-chat [data-testid="user"]').last.evaluate(
        """el => { let box = el.parentElement;
          while (box && !/(auto|scroll)/.test(getComputedStyle(box).overflowY)) {
            box = box.parentElement; }
          const r = el.getBoundingClientRect(), c = box.getBoundingClientRect();
          return r.top >= c.top - 2 && r.top < c.bottom - 40 && r.top < window.innerHeight; }"""
    )
    assert visible, "the newest question is scrolled out of view"


def test_example_button_asks_in_arabic(page: Any) -> None:
    before = page.locator("#khabar-chat details.khabar-more").count()
    page.get_by_role("button", name="هل القواعد الروسية في سوريا آمنة؟").click()
    page.wait_for_function(
        f"() => document.querySelectorAll('#khabar-chat details.khabar-more').length > {before}",
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
    source.fill("putin-syria")  # the sample's source is its file's name
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


def test_a_phone_width_keeps_the_question_box_whole(
    page: Any, server_url: str, artifacts: Path
) -> None:
    phone = page.context.browser.new_page(viewport={"width": 420, "height": 900})
    phone.goto(server_url, wait_until="networkidle")
    box = phone.locator("#khabar-question textarea")
    sizes = box.evaluate(
        """el => { const c = document.createElement('canvas').getContext('2d');
          const cs = getComputedStyle(el); c.font = cs.font;
          const inner = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
          return [inner, c.measureText(el.placeholder).width,
                  document.querySelector('#khabar-ask-row').clientWidth]; }"""
    )
    inner, placeholder, row = sizes
    assert inner >= placeholder, f"the placeholder ({placeholder}px) is cut at {inner}px"
    assert inner >= 0.8 * row, sizes
    phone.screenshot(path=str(artifacts / "phone.png"))
    phone.close()


def shows(page: Any, text: str) -> None:
    """Wait until the Articles table shows ``text`` (its hidden measuring cells aside)."""
    page.wait_for_function(
        "t => document.querySelector('#khabar-articles').innerText.includes(t)",
        arg=text,
        timeout=30_000,
    )


@pytest.fixture
def articles_server(sample_index: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A server of its own (the Articles tests add articles), and its index folder."""
    from khabar.service import Khabar
    from khabar.web import serve
    from tests.conftest import free_port

    folder = tmp_path / "index"
    shutil.copytree(sample_index, folder)
    service = Khabar.open(folder)
    server = serve(service, host="127.0.0.1", port=free_port(), block=False)
    assert server is not None
    yield server.url, folder
    server.close()
    service.close()


def test_the_articles_tab(
    page: Any, articles_server: tuple[str, Path], tmp_path: Path, artifacts: Path
) -> None:
    import subprocess
    import sys

    url, folder = articles_server
    page.set_viewport_size({"width": 1100, "height": 1000})
    page.goto(url, wait_until="networkidle")
    page.get_by_role("tab", name="Articles").click()
    table = page.locator("#khabar-articles")
    shows(page, "putin-syria-ministers")
    font = table.locator("td").first.evaluate("el => getComputedStyle(el).fontFamily")
    assert "mono" not in font.lower(), font
    # an article added from a terminal shows when the tab is opened again, without a reload
    wheat = tmp_path / "wheat.txt"
    wheat.write_text("شحنات القمح\n\nوصلت شحنة قمح جديدة إلى ميناء اللاذقية.\n", "utf-8")
    added = subprocess.run(
        [sys.executable, "-m", "khabar.cli", "add", str(wheat), "--index", str(folder), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert added.returncode == 0, added.stderr
    page.get_by_role("tab", name="Ask").click()
    page.get_by_role("tab", name="Articles").click()
    shows(page, "شحنات القمح")
    # the form is emptied once the article is in
    page.locator("#khabar-title textarea, #khabar-title input").first.fill("الغاز")
    body = page.locator("#khabar-body textarea")
    body.fill("قال الوزير إن إمدادات الغاز إلى أوروبا ستزيد هذا الشتاء.")
    page.locator("#khabar-add").click()
    page.locator("#khabar-status").get_by_text("Added").wait_for(timeout=60_000)
    assert body.input_value() == ""
    assert page.locator("#khabar-title textarea, #khabar-title input").first.input_value() == ""
    # a file, then a file of the wrong type: Add must not send the first file again
    good = tmp_path / "port.txt"
    good.write_text("أعلنت إدارة الميناء توسيع الرصيف الثالث لاستقبال السفن الكبيرة.\n", "utf-8")
    chooser = page.locator("#khabar-upload input[type=file]")
    chooser.set_input_files(str(good))
    page.wait_for_timeout(1500)
    page.locator("#khabar-add").click()
    page.locator("#khabar-status").get_by_text("port").wait_for(timeout=60_000)
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0")
    chooser.set_input_files(str(bad))
    page.wait_for_timeout(1500)
    page.locator("#khabar-add").click()
    page.wait_for_timeout(1500)
    status = page.locator("#khabar-status").inner_text()
    assert "unchanged" not in status and "Added" not in status, status
    page.screenshot(path=str(artifacts / "articles.png"), full_page=True)


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
    assert frame.locator(".speaker").first.inner_text().startswith("— الرئيس الروسي فلاديمير بوتين")
    assert frame.locator("mark .quote").first.inner_text().startswith("موقف موسكو الرافض")
    cite = frame.locator(".cite").first
    assert "paragraph 7" in cite.inner_text()
    assert cite.locator("bdi.cite-title").inner_text().startswith("بوتين يبحث")
    assert_left_to_right(cite.evaluate(CITE_ORDER))
    page.screenshot(path=str(artifacts / "embed.png"))


def test_embed_refuses_other_framers(page: Any, server_url: str, tmp_path: Path) -> None:
    # server_url allows only 'self' as a framer: a page of another origin gets no content.
    page.set_content(f'<iframe id="k" src="{server_url}embed?q=Putin"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frame(url=lambda url: "embed" in url)
    assert frame is None or frame.locator("#q").count() == 0


def test_the_chat_follows_the_conversation_until_a_new_one(page: Any, server_url: str) -> None:
    page.set_viewport_size({"width": 1100, "height": 1000})
    page.goto(server_url, wait_until="networkidle")
    box = page.locator("#khabar-question textarea")
    box.fill("Who did Putin receive in the Kremlin?")
    box.press("Enter")
    page.locator("#khabar-chat mark.khabar-answer").first.wait_for(timeout=60_000)
    box.fill("What did he say about Israel?")
    box.press("Enter")
    searched = page.locator("#khabar-chat .khabar-searched").first
    searched.wait_for(timeout=60_000)
    assert searched.inner_text() == (
        "Searched as: Who did Putin receive in the Kremlin? What did he say about Israel?"
    )
    # the follow-up's first passage: the mark just before the "Searched as" line
    mark = searched.locator("xpath=preceding-sibling::div[1]//mark")
    assert mark.inner_text().startswith("وجدد بوتين موقف موسكو")
    page.locator("#khabar-new").click()
    page.wait_for_function(
        "() => !document.querySelector('#khabar-chat [data-testid=\"user\"]')", timeout=30_000
    )
