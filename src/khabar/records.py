"""The records that flow through khabar: Article → Chunk/Span → Hit → Answer.

All frozen dataclasses; they carry data only, no behaviour that needs a library.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

# A source that is a file path (indexes written before sources were file names, or a
# reader that fell back to its path): a public answer shows only the file's name.
_PATH_LIKE = re.compile(r"^(?:/|~|\.{1,2}/|[A-Za-z]:[\\/])|^[^:]*[\\/][^/\\]+\.\w{2,5}$")


def public_source(source: str) -> str:
    """``source`` as a public answer may show it: a file path becomes the file's name, so
    that nothing reveals the server's folders; a site or feed name is kept."""
    if "://" in source or not _PATH_LIKE.search(source):
        return source
    return re.split(r"[\\/]", source.rstrip("/\\"))[-1] or source


def embed_text(section: str | None, text: str) -> str:
    """What the encoder sees of a paragraph: its section heading, if any, then the text."""
    return f"{section}\n{text}" if section else text


@dataclass(frozen=True)
class Article:
    """One news article as read from a source, before chunking."""

    id: str
    title: str
    text: str
    source: str = ""
    url: str | None = None
    published: str | None = None  # ISO 8601: YYYY-MM-DD, or a date and time
    origin: str = ""  # the file it was read from (resolved path), for `khabar sync`
    author: str | None = None

    @property
    def content_hash(self) -> str:
        """A hash of everything that changes what is indexed or shown."""
        digest = hashlib.sha256()
        parts = (self.title, self.text, self.url or "", self.published or "")
        # The author joined later: left out when absent, so older hashes still match.
        for part in parts + ((self.author,) if self.author else ()):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()


@dataclass(frozen=True)
class Quote:
    """Reported speech in a paragraph: who spoke, the speech verb (or attribution) as written,
    and what was said, by character offsets into the paragraph's text."""

    speaker: str  # as the article names them, at its fullest ("الرئيس الروسي فلاديمير بوتين")
    verb: str
    start: int
    end: int
    name: str = ""  # the speaker's name (or title) for matching, normalised

    def to_json(self, text: str) -> dict[str, object]:
        """``{"speaker", "verb", "quote", "start", "end"}``, as on a hit in the API."""
        return {
            "speaker": self.speaker,
            "verb": self.verb,
            "quote": text[self.start : self.end],
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class Span:
    """A stretch of a chunk's text, by character offsets: a sentence or a clause of one.

    Spans are embedded on their own so that a paragraph can be scored by the part
    of it that best answers the question.
    """

    start: int
    end: int
    kind: str = "sentence"  # "sentence" or "clause"


@dataclass(frozen=True)
class Chunk:
    """A paragraph (or a part of a long one) with its section heading and spans."""

    paragraph: int  # 1-based paragraph number in the article (headings not counted)
    part: int  # 0 unless a long paragraph was split
    section: str | None
    text: str
    spans: tuple[Span, ...] = ()
    quotes: tuple[Quote, ...] = ()  # reported speech in the text (khabar.text.quotes)

    @property
    def embed_text(self) -> str:
        """What the encoder sees: the section heading, if any, then the paragraph."""
        return embed_text(self.section, self.text)


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with its citation and the answering sentence."""

    article_id: str
    title: str
    paragraph: int
    section: str | None
    text: str
    sentence: str
    sentence_start: int
    sentence_end: int
    score: float
    chunk_id: int
    source: str = ""
    url: str | None = None
    published: str | None = None
    author: str | None = None
    before: str | None = None  # the previous paragraph of the article, for context
    after: str | None = None  # the next paragraph of the article, for context
    quotes: tuple[Quote, ...] = ()  # reported speech in ``text``: who said what


@dataclass(frozen=True)
class Reply:
    """A reply written by a language model from the answer's passages, and the passages
    (1-based, in the answer's order) it cites."""

    text: str
    citations: tuple[int, ...]

    def to_json(self) -> dict[str, object]:
        """``{"text": …, "citations": […]}``, as in the API."""
        return {"text": self.text, "citations": list(self.citations)}


@dataclass(frozen=True)
class Answer:
    """The passages that answer a question, best first."""

    question: str
    hits: tuple[Hit, ...] = field(default_factory=tuple)
    #: False when even the best passage is probably not an answer ("the articles don't say")
    answered: bool = True
    #: What was searched: the question, or for a follow-up the conversation's questions it
    #: leans on and itself (empty: the question)
    searched: str = ""
    #: with a language model, when asked for: a reply citing the passages (None: none that
    #: held), an English reading of the top passage's marked sentence, and notes on what
    #: the model did not do; ``requested`` names what was asked for ("reply", "translation")
    reply: Reply | None = None
    translation: str | None = None
    notes: tuple[str, ...] = ()
    requested: tuple[str, ...] = ()
    #: a question about what someone said: who (as asked), and whether a passage quotes them
    speaker: str = ""
    speaker_quoted: bool = False

    def to_json(self) -> dict[str, object]:
        """The JSON shape shared by ``khabar ask --json`` and the HTTP API."""
        return {
            "question": self.question,
            "searched": self.searched or self.question,
            "answered": self.answered,
            "hits": [
                {
                    "article_id": h.article_id,
                    "title": h.title,
                    "paragraph": h.paragraph,
                    "section": h.section,
                    "text": h.text,
                    "sentence": h.sentence,
                    "score": round(h.score, 4),
                    "source": h.source,
                    "url": h.url,
                    "published": h.published,
                    "author": h.author,
                    "quotes": [q.to_json(h.text) for q in h.quotes],
                }
                for h in self.hits
            ],
            **(
                {"speaker": {"asked": self.speaker, "quoted": self.speaker_quoted}}
                if self.speaker
                else {}
            ),
            **(
                {"reply": self.reply.to_json() if self.reply else None}
                if "reply" in self.requested
                else {}
            ),
            **({"translation": self.translation} if "translation" in self.requested else {}),
            **({"notes": list(self.notes)} if self.notes else {}),
        }
