"""The web UI (Gradio 6): a chat that answers from the articles, and an Articles tab.

No retrieval logic here: every action is one call on the service facade, and
KhabarError messages are shown to the person, once, at this boundary.
"""

from __future__ import annotations

import hmac
import html
import json
import re
from collections.abc import Iterator, Sequence
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import gradio as gr

from khabar.api import ApiSettings, RunningServer, create_app
from khabar.config import MAX_K
from khabar.conversation import NO_READING, NO_REPLY, reply_passages
from khabar.errors import InputError, KhabarError
from khabar.followup import MAX_HISTORY
from khabar.ingest.files import SUPPORTED_EXTENSIONS
from khabar.llm import check_reply
from khabar.records import Answer, Hit, Reply
from khabar.service import Khabar
from khabar.text import neutralize_bidi

EXAMPLES = (
    "What did Putin say about Israel?",
    "ماذا قال بوتين عن إسرائيل؟",
    "Who did Putin receive in the Kremlin?",
    "هل القواعد الروسية في سوريا آمنة؟",
)

CSS = """
.khabar-hit { font-family: 'Noto Naskh Arabic', 'Amiri', 'Segoe UI', Tahoma, sans-serif; }
.khabar-passage { font-size: 1.3rem; line-height: 2; margin: 0.3rem 0; }
/* the chat's message bubbles align left: an Arabic passage, its heading and its context
   start on the right */
.khabar-hit[dir="rtl"] .khabar-passage, .khabar-hit[dir="rtl"] .khabar-section,
.khabar-hit[dir="rtl"] .khabar-neighbour,
.khabar-hit[dir="rtl"] .khabar-speaker { text-align: right !important; }
.khabar-hit .khabar-cite { text-align: left !important; }
/* Arabic titles in the Articles table: the UI's font, not a monospace one */
#khabar-articles table, #khabar-articles td, #khabar-articles th, #khabar-articles span {
  font-family: 'Noto Naskh Arabic', 'Segoe UI', Tahoma, sans-serif !important; }
/* a phone-width window: the question box takes the whole row, the button goes below */
@media (max-width: 640px) {
  #khabar-ask-row { flex-wrap: wrap !important; }
  #khabar-question { flex: 1 1 100% !important; min-width: 100% !important; }
  #khabar-send, #khabar-new { flex: 1 1 100% !important; }
}
.khabar-passage mark, .khabar-answer { background: #fde68a; color: #111; padding: 0 0.15em;
  border-radius: 0.2em; }
.khabar-section { font-weight: 700; font-size: 1.05rem; color: #92400e; }
.khabar-cite { font-size: 0.85rem; color: #6b7280; margin-top: 0.25rem; }
.khabar-reply { background: #eff6ff; border-left: 4px solid #2563eb; padding: 0.3rem 0.6rem;
  margin-bottom: 0.4rem; }
.khabar-writing { color: #6b7280; }
.khabar-reply-label { font-size: 0.8rem; color: #1e40af; display: block; }
.khabar-note { font-size: 0.8rem; color: #9ca3af; }
.khabar-reading { background: #f3f4f6; padding: 0.3rem 0.6rem; }
.khabar-speaker { font-size: 0.9rem; color: #1e40af; }
.khabar-quote { text-decoration: underline; text-decoration-color: #2563eb;
  text-underline-offset: 0.3em; }
.khabar-searched { font-size: 0.8rem; color: #9ca3af; margin-top: 0.2rem; }
.khabar-neighbour { font-size: 1.05rem; line-height: 1.8; color: #4b5563; }
.khabar-more > summary, .khabar-context > summary { cursor: pointer; color: #2563eb;
  font-size: 0.9rem; }
.khabar-unsure { background: #fef3c7; border-left: 4px solid #d97706; padding: 0.3rem 0.6rem;
  margin-bottom: 0.4rem; font-size: 0.95rem; }
.khabar-more .khabar-hit { border-top: 1px solid #e5e7eb; padding-top: 0.4rem; margin-top: 0.4rem; }
"""


def _text(value: str) -> str:
    return html.escape(neutralize_bidi(value))


def _quoted(text: str, start: int, quotes: Sequence[tuple[int, int]]) -> str:
    """``text`` (which starts at ``start`` of its paragraph) as HTML, the parts of it that
    are quotes (offsets in the paragraph) in a ``khabar-quote`` span."""
    cuts = {0, len(text)}
    for a, b in quotes:
        cuts |= {min(max(a - start, 0), len(text)), min(max(b - start, 0), len(text))}
    bounds = sorted(cuts)
    out = []
    for a, b in pairwise(bounds):
        piece = _text(text[a:b])
        inside = any(qa <= start + a and start + b <= qb for qa, qb in quotes)
        out.append(f'<span class="khabar-quote">{piece}</span>' if inside and piece else piece)
    return "".join(out)


def render_speakers(hit: Hit) -> str:
    """Who speaks in the passage, each with their speech verbs: "— بوتين (جدد، معتبراً)"."""
    verbs: dict[str, list[str]] = {}
    for quote in hit.quotes:
        verbs.setdefault(quote.speaker, [])
        if quote.verb not in verbs[quote.speaker]:
            verbs[quote.speaker].append(quote.verb)
    return "".join(
        f'<div class="khabar-speaker">— <bdi>{_text(who)}</bdi> ({_text("، ".join(said))})</div>'
        for who, said in verbs.items()
    )


def render_hit(hit: Hit, rank: int) -> str:
    """One passage as HTML: who speaks in it, the section, the paragraph with the answering
    sentence marked and its quotes underlined, the citation, and the neighbouring paragraphs
    behind a click."""
    s, e = hit.sentence_start, hit.sentence_end
    quotes = [(q.start, q.end) for q in hit.quotes]
    passage = (
        _quoted(hit.text[:s], 0, quotes)
        + '<mark class="khabar-answer">'
        + _quoted(hit.text[s:e], s, quotes)
        + "</mark>"
        + _quoted(hit.text[e:], e, quotes)
    )
    parts = ['<div class="khabar-hit" dir="rtl" lang="ar">']
    parts.append(render_speakers(hit))
    if hit.section:
        parts.append(f'<div class="khabar-section">{_text(hit.section)}</div>')
    parts.append(f'<p class="khabar-passage">{passage}</p>')
    neighbours = [t for t in (hit.before, hit.after) if t]
    if neighbours:
        parts.append(
            '<details class="khabar-context"><summary dir="ltr">Context: the paragraphs '
            "before and after</summary>"
        )
        if hit.before:
            parts.append(f'<p class="khabar-neighbour">{_text(hit.before)}</p>')
        parts.append('<p class="khabar-neighbour">…</p>')
        if hit.after:
            parts.append(f'<p class="khabar-neighbour">{_text(hit.after)}</p>')
        parts.append("</details>")
    parts.append(citation(hit, rank) + "</div>")
    return "".join(parts)


def citation(hit: Hit, rank: int) -> str:
    """The citation line: left to right, each field that may be Arabic (title, source,
    author) isolated in its own ``<bdi>``, so that an Arabic title cannot reorder it."""
    cite = f'#{rank} · <bdi class="khabar-cite-title">{_text(hit.title)}</bdi>'
    cite += f" · paragraph {hit.paragraph}"
    for name, detail in (
        ("source", hit.source),
        ("author", hit.author),
        ("published", hit.published[:10] if hit.published else None),
    ):
        if detail:
            cite += f' · <bdi class="khabar-cite-{name}">{_text(detail)}</bdi>'
    cite += f" · score {hit.score:.3f}"
    if hit.url:
        href = html.escape(hit.url, quote=True)
        cite += f' · <a href="{href}" target="_blank" rel="noopener">source</a>'
    return f'<div class="khabar-cite" dir="ltr">{cite}</div>'


def message_text(message: dict[str, Any]) -> str:
    """A chat message's text: its content is text, or a list of parts with text."""
    content = message.get("content")
    if isinstance(content, list):
        content = " ".join(
            str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content
        )
    return content.strip() if isinstance(content, str) else ""


def asked_before(messages: list[dict[str, Any]]) -> list[str]:
    """The person's earlier questions in a chat's messages, oldest first (the latest
    MAX_HISTORY)."""
    asked = [message_text(m) for m in messages if m.get("role") == "user"]
    return [q for q in asked if q][-MAX_HISTORY:]


_MARKED = re.compile(r'<mark class="khabar-answer">(.*?)</mark>', re.S)


def marked_in(messages: list[dict[str, Any]]) -> str:
    """The sentence marked in the first passage of the chat's latest answer ('' if none)."""
    for message in reversed(messages):
        found = (
            _MARKED.search(message_text(message)) if message.get("role") == "assistant" else None
        )
        if found:
            return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()
    return ""


def render_notes(notes: Sequence[str]) -> str:
    """What the language model did not do, as small grey lines."""
    return "".join(f'<div class="khabar-note">{_text(n)}</div>' for n in notes)


def render_writing(text: str) -> str:
    """A reply being written (not yet checked)."""
    return (
        '<div class="khabar-reply khabar-writing"><span class="khabar-reply-label">Writing a '
        f"reply from the passages…</span> {_text(text)}</div>"
    )


def render_reply(reply: Reply) -> str:
    """A checked reply, its citations [n] naming the passages #n below."""
    return (
        '<div class="khabar-reply"><span class="khabar-reply-label">Reply, written by a '
        f"language model from the passages below:</span> {_text(reply.text)}</div>"
    )


def render_answer(answer: Answer, filtered: bool = False) -> str:
    """The chat reply: the best passage, then the next ones one click away."""
    if not answer.hits:
        if filtered:
            return "No article matches the filters: widen them under **Filters**."
        return "The index has no articles yet: add one in the **Articles** tab."
    first, rest = answer.hits[0], answer.hits[1:]
    out = ""
    if not answer.answered:
        out += (
            '<div class="khabar-unsure">⚠️ The articles may not answer this question: '
            "these are the closest passages.</div>"
        )
    out += render_hit(first, 1)
    if answer.searched:
        out += f'<div class="khabar-searched">Searched as: {_text(answer.searched)}</div>'
    if rest:
        out += f'<details class="khabar-more"><summary>More passages ({len(rest)})</summary>'
        out += "".join(render_hit(h, i) for i, h in enumerate(rest, start=2))
        out += "</details>"
    return out


# After an answer: bring the newest question to the top of the chat, with its answer below
# (the chat only follows new messages while it is scrolled to the end, and an expanded
# "More passages" leaves it above the end).
SHOW_NEWEST = """() => { setTimeout(() => {
  const rows = document.querySelectorAll('#khabar-chat [data-testid="user"]');
  if (rows.length) rows[rows.length - 1].scrollIntoView({block: "start"});
}, 80); }"""

# The MCP tools' descriptions, for the agents that read them (Gradio would otherwise build
# them from the docstrings, and mangle a JSON shape written there).
ASK_TOOL = (
    "Find the passages of the indexed Arabic news articles that answer a question asked in "
    'English or Arabic, best first. For a follow-up question in a conversation ("and who did '
    "he meet?\"), pass the conversation's earlier questions, oldest first, as history. Returns "
    'one JSON object: {"question": string, "searched": string, "answered": boolean, "hits": '
    '[{"article_id": string, "title": string, "paragraph": integer, "section": string or '
    'null, "text": string, "sentence": string, "score": number, "source": string, "url": '
    'string or null, "published": string or null, "author": string or null, "quotes": '
    '[{"speaker": string, "verb": string, "quote": string, "start": integer, "end": '
    'integer}]}]}. "text" is the Arabic paragraph, "sentence" the sentence in it that '
    'answers, "quotes" the reported speech in it (who said what, "start"/"end" offsets into '
    '"text"); "searched" what was searched (a follow-up with the questions it leans on); '
    '"answered" is false when the articles probably do not answer the question. For a '
    'question about what someone said ("what did Putin say about Israel?") the passages '
    'quoting that person come first and "speaker" says whom it asked about and whether they '
    "are quoted; give no one else's words as theirs. Cite a hit by its title and paragraph."
)
LIST_TOOL = (
    "List the indexed news articles. Returns one JSON object: "
    '{"articles": [{"id": string, "title": string, "source": string, "url": string or null, '
    '"published": string or null, "author": string or null, "paragraphs": integer, '
    '"added_at": string}]}.'
)


def _article_rows(service: Khabar) -> list[list[Any]]:
    return [
        [
            a["id"],
            a["title"],
            a["paragraphs"],
            a["source"],
            a["author"] or "",
            a["published"] or "",
            a["added_at"],
        ]
        for a in service.public_articles()
    ]


ARTICLE_HEADERS = ["id", "title", "paragraphs", "source", "author", "published", "added"]
UPLOAD_TYPES = list(SUPPORTED_EXTENSIONS)


def build_app(service: Khabar, k: int = 5, allow_writes: bool = True) -> gr.Blocks:
    """The Gradio Blocks app over ``service``; ``allow_writes=False`` turns the Articles tab's
    add form off (when an API token protects writes, the UI must not be a way around it)."""

    def respond(
        message: str,
        history: list[dict[str, Any]],
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> Iterator[tuple[list[dict[str, Any]], str]]:
        history = list(history or [])
        earlier = asked_before(history)
        history.append({"role": "user", "content": message})
        try:
            answer = service.ask(
                message, k=k, source=source, since=since, until=until, history=earlier
            )
        except KhabarError as exc:
            history.append({"role": "assistant", "content": f"⚠️ {html.escape(str(exc))}"})
            yield history, ""
            return
        passages = render_notes(answer.notes) + render_answer(
            answer, filtered=bool(source or since or until)
        )
        model = service.llm
        given = reply_passages(answer)
        if model is None or given is None:
            history.append({"role": "assistant", "content": passages})
            yield history, ""
            return
        # The reply streams above the passages, marked as being written; once whole it is
        # checked, and shown only if every sentence cites a passage that was given.
        history.append({"role": "assistant", "content": render_writing("") + passages})
        yield history, ""
        text = ""
        for delta in model.stream_reply(message, given):
            text += delta
            history[-1] = {"role": "assistant", "content": render_writing(text) + passages}
            yield history, ""
        checked = check_reply(text, len(given))
        head = render_reply(checked) if checked else render_notes((NO_REPLY,))
        history[-1] = {"role": "assistant", "content": head + passages}
        yield history, ""

    def english_reading(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        history = list(history or [])
        model = service.llm
        sentence = marked_in(history)
        if model is None or not sentence:
            return history
        reading = model.translate(sentence)
        if reading is None:
            content = render_notes((NO_READING,))
        else:
            content = (
                '<div class="khabar-reading"><b>English reading</b> (machine translation) of '
                f"the marked sentence: {_text(reading)}</div>"
            )
        history.append({"role": "assistant", "content": content})
        return history

    def ask(
        question: str,
        k: int = 5,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        history: list[str] | None = None,
    ) -> str:
        """Find the passages of the indexed Arabic news articles that answer a question.

        Args:
            question: the question, in English or Arabic.
            k: how many passages to return, best first (1-50).
            source: only articles whose source contains this text (any case), if given.
            since: only articles published on or after this day (YYYY-MM-DD), if given.
            until: only articles published on or before this day (YYYY-MM-DD), if given.
            history: the conversation's earlier questions, oldest first (at most 10), if any.
        """
        try:
            if history is not None and (
                not isinstance(history, list) or not all(isinstance(h, str) for h in history)
            ):
                raise InputError("history must be a list of the earlier questions (strings)")
            if isinstance(k, bool) or not isinstance(k, int | float) or int(k) != k:
                raise InputError(f"k must be a whole number from 1 to {MAX_K}, not {k!r}")
            if not 1 <= int(k) <= MAX_K:
                raise InputError(f"k must be from 1 to {MAX_K}, not {int(k)}")
            answer = service.ask(
                question,
                k=int(k),
                context=False,
                source=source,
                since=since,
                until=until,
                history=history or (),
            )
            return json.dumps(answer.to_json(), ensure_ascii=False)
        except KhabarError as exc:
            # a bad question is the asker's error, not the server's: no traceback in the log
            raise gr.Error(str(exc), print_exception=False) from exc

    def list_articles() -> str:
        """List the indexed news articles."""
        return json.dumps({"articles": service.public_articles()}, ensure_ascii=False)

    def add_article(title: str, text: str, upload: str | None) -> tuple[Any, ...]:
        """Add the pasted text or the chosen file; returns the status, the table, and the
        form's fields (emptied after an article went in; the file always, so that a file
        chosen next, or none, is never confused with the one just sent)."""
        keep = (title, text, None)
        if not allow_writes:
            message = (
                "⚠️ Adding articles here is off because an API token is set: use "
                "`POST /api/articles` with the token."
            )
            return message, _article_rows(service), *keep
        try:
            if upload:
                report = service.add_paths([Path(upload)])
                if report.failed:
                    message = report.failed[0][1]
                    for shown in (str(Path(upload).resolve()), str(upload)):
                        message = message.replace(shown, Path(upload).name)
                    raise KhabarError(message)
            elif text and text.strip():
                report = service.add_text(text, title=title.strip() or None)
            else:
                message = "⚠️ Paste an article's text or choose a file first."
                return message, _article_rows(service), *keep
        except KhabarError as exc:
            return f"⚠️ {exc}", _article_rows(service), *keep
        ids = report.added + report.updated
        if ids:
            status = f"✅ Added **{', '.join(ids)}**: you can ask about it now."
        else:
            status = f"Already in the index, unchanged: {', '.join(report.unchanged)}."
        return status, _article_rows(service), "", "", None

    with gr.Blocks(title="khabar — questions about Arabic news") as app:
        gr.Markdown(
            "## khabar · خبر\nAsk about the indexed news articles in English or Arabic; "
            "the answer is the Arabic passage, with the answering sentence marked."
        )
        with gr.Tab("Ask", id="ask"):
            chat = gr.Chatbot(
                label="khabar",
                show_label=False,  # its floating label covered the placeholder on a phone
                height=560,
                elem_id="khabar-chat",
                sanitize_html=True,
                buttons=["copy"],
                feedback_options=None,
                layout="panel",
                placeholder="Ask a question below, or click an example.",
            )
            with gr.Row(elem_id="khabar-ask-row"):
                question = gr.Textbox(
                    show_label=False,
                    placeholder="Ask in English or Arabic… / اسأل بالعربية",
                    elem_id="khabar-question",
                    scale=8,
                    rtl=False,
                    autofocus=True,
                )
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="khabar-send")
                fresh = gr.Button(
                    "New conversation",
                    variant="secondary",
                    scale=1,
                    elem_id="khabar-new",
                    size="sm",
                )
            # Follow-ups are searched with the chat's earlier questions: a new conversation
            # starts from an empty chat.
            # (no gr.State here: a State makes the page hold a heartbeat connection open; the
            # English reading takes its sentence from the chat's latest answer)
            fresh.click(lambda: ([], ""), None, [chat, question], api_visibility="private")
            if service.llm is not None:
                reading = gr.Button(
                    "English reading of the marked sentence (machine translation)",
                    size="sm",
                    variant="secondary",
                    elem_id="khabar-reading",
                )
                reading.click(
                    english_reading,
                    [chat],
                    [chat],
                    api_visibility="private",
                ).then(None, js=SHOW_NEWEST)
            with gr.Accordion("Filters", open=False, elem_id="khabar-filters"), gr.Row():
                source = gr.Dropdown(
                    label="Source contains",
                    choices=["", *service.sources()],
                    value="",
                    allow_custom_value=True,
                    elem_id="khabar-source",
                )
                since = gr.Textbox(
                    label="Published since", placeholder="YYYY-MM-DD", elem_id="khabar-since"
                )
                until = gr.Textbox(
                    label="Published until", placeholder="YYYY-MM-DD", elem_id="khabar-until"
                )
            filters = [source, since, until]
            with gr.Row():
                for example in EXAMPLES:
                    btn = gr.Button(example, size="sm", variant="secondary")
                    btn.click(
                        partial(respond, example),
                        [chat, *filters],
                        [chat, question],
                        api_visibility="private",
                    ).then(None, js=SHOW_NEWEST)
            question.submit(
                respond,
                [question, chat, *filters],
                [chat, question],
                api_name="chat",
                api_visibility="undocumented",  # for scripts, not an MCP tool
                concurrency_limit=8,
            ).then(None, js=SHOW_NEWEST)
            send.click(
                respond,
                [question, chat, *filters],
                [chat, question],
                api_visibility="private",
                concurrency_limit=8,
            ).then(None, js=SHOW_NEWEST)
        with gr.Tab("Articles", id="articles") as articles_tab:
            table = gr.Dataframe(
                headers=ARTICLE_HEADERS,
                column_widths=["16%", "24%", "8%", "18%", "12%", "11%", "11%"],
                interactive=False,
                label="Indexed articles",
                wrap=True,
                elem_id="khabar-articles",
            )
            with gr.Accordion("Add an article", open=True):
                title = gr.Textbox(label="Title (optional)", elem_id="khabar-title")
                body = gr.Textbox(
                    label="Article text (one paragraph per line)",
                    lines=8,
                    rtl=True,
                    elem_id="khabar-body",
                )
                upload = gr.File(
                    label="…or upload a file (" + " ".join(UPLOAD_TYPES) + ")",
                    file_types=UPLOAD_TYPES,
                    type="filepath",
                    elem_id="khabar-upload",
                )
                add = gr.Button("Add to the index", variant="primary", elem_id="khabar-add")
                status = gr.Markdown(elem_id="khabar-status")
            add.click(
                add_article,
                [title, body, upload],
                [status, table, title, body, upload],
                api_name="add_article",
                api_visibility="undocumented",  # a write: never an MCP tool
            )
        # the list as it is now, also after a `khabar add` from a terminal
        articles_tab.select(
            lambda: _article_rows(service), None, table, api_visibility="private", queue=False
        )
        app.load(lambda: _article_rows(service), None, table, api_visibility="private", queue=False)
        app.load(
            lambda: gr.Dropdown(choices=["", *service.sources()]),
            None,
            source,
            api_visibility="private",
            queue=False,
        )
        # The documented endpoints are also the MCP tools (at /gradio_api/mcp/).
        gr.api(ask, api_name="ask", api_description=ASK_TOOL)  # type: ignore[attr-defined]
        gr.api(  # type: ignore[attr-defined]
            list_articles, api_name="list_articles", api_description=LIST_TOOL
        )
    blocks: gr.Blocks = app
    return blocks


def serve(
    service: Khabar,
    host: str = "127.0.0.1",
    port: int = 7860,
    block: bool = True,
    api: ApiSettings | None = None,
) -> RunningServer | None:
    """Serve the UI at ``/``, the JSON API at ``/api``, and ``/embed``, on one server.

    With ``block=False``, return at once with the running server (tests).
    """
    api = api or ApiSettings()
    app = create_app(service, api)
    blocks = build_app(service, k=api.k, allow_writes=not api.token)
    blocks.queue(default_concurrency_limit=4)
    auth = None
    if api.token and not api.public_read:
        token = api.token

        def auth(_user: str, password: str) -> bool:
            return hmac.compare_digest(password.encode(), token.encode())

    app = gr.mount_gradio_app(
        app,
        blocks,
        path="/",
        css=CSS,
        footer_links=["api"],
        blocked_paths=[service.store.location],
        max_file_size=service.max_file_bytes,
        auth=auth,
        auth_message="Sign in with any user name and the khabar API token as the password.",
        show_error=True,
        mcp_server=True,
    )
    if not block:
        return RunningServer(app, host, port)
    import uvicorn

    print(f"khabar: serving http://{host}:{port}/ (API at /api, docs at /api/docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return None
