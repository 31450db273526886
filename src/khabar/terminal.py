"""Answers as plain text, for a terminal or a pipe (``khabar ask``, ``khabar chat``)."""

from __future__ import annotations

import re
from typing import TextIO

from khabar.records import Answer, Hit
from khabar.store.quote_rows import QuoteRow


def print_answer(answer: Answer, out: TextIO, filtered: bool = False) -> None:
    """Plain-text answer: per hit, the citation, the section, and the paragraph with the
    answering sentence marked (bold in a terminal, between ⟦ ⟧ otherwise)."""
    if not answer.hits:
        if filtered:
            print("No passages: no article matches --source/--since/--until.", file=out)
        else:
            print("No passages: the index is empty. Add articles with `khabar add PATH`.", file=out)
        return
    tty = out.isatty()
    for note in answer.notes:
        print(f"({note})", file=out)
    if answer.reply is not None:
        print("Reply (written by a language model from the passages below):", file=out)
        print(f"    {answer.reply.text}\n", file=out)
    if answer.translation is not None:
        print("English reading of the marked sentence (machine translation):", file=out)
        print(f"    {answer.translation}\n", file=out)
    if not answer.answered:
        print("The articles may not answer this question; the closest passages are:\n", file=out)
    for rank, hit in enumerate(answer.hits, start=1):
        print(
            f"[{rank}] {isolate(hit.title)} — paragraph {hit.paragraph} "
            f"(id {isolate(hit.article_id)}, score {hit.score:.3f})",
            file=out,
        )
        day = hit.published[:10] if hit.published else ""
        details = [isolate(d) for d in (hit.source, hit.author or "", day, hit.url or "") if d]
        if details:
            print("    " + " · ".join(details), file=out)
        if hit.section:
            print(f"    § {hit.section}", file=out)
        print("    " + marked(hit, tty), file=out)
        for quote in hit.quotes:
            print(
                "    " + quote_line(quote.speaker, quote.verb, hit.text[quote.start : quote.end]),
                file=out,
            )
        print(file=out)


def print_quotes(rows: list[QuoteRow], out: TextIO, speaker: str | None = None) -> None:
    """``khabar quotes``: each quote with its speaker, verb and citation, newest first."""
    if not rows:
        who = f" by anyone matching “{speaker}”" if speaker else ""
        print(f"No quotes{who} in the index.", file=out)
        return
    for row in rows:
        day = (row.published or "undated")[:10]
        print(
            f"{day}  {isolate(row.title)} — paragraph {row.paragraph} "
            f"(id {isolate(row.article_id)})",
            file=out,
        )
        print("    " + quote_line(row.quote.speaker, row.quote.verb, row.said), file=out)


def quote_line(speaker: str, verb: str, said: str) -> str:
    """One quote as the terminal shows it: ``— بوتين (قال): …``."""
    return f"— {isolate(speaker)} ({isolate(verb)}): {isolate(said)}"


_RTL = re.compile(r"[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


def isolate(field: str) -> str:
    """A citation field that holds right-to-left letters, between Unicode's first-strong
    isolate and its pop (U+2068, U+2069), so that an Arabic title cannot reorder the
    left-to-right line around it in a terminal; other fields as they are."""
    return f"\u2068{field}\u2069" if _RTL.search(field) else field


def marked(hit: Hit, tty: bool) -> str:
    """The hit's paragraph with its answering sentence marked: bold in a terminal, else ⟦ ⟧."""
    start, end = hit.sentence_start, hit.sentence_end
    left, right = ("\033[1;33m", "\033[0m") if tty else ("⟦", "⟧")
    return hit.text[:start] + left + hit.text[start:end] + right + hit.text[end:]
