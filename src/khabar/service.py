"""The facade: everything the CLI, the web UI and the API may call.

Presentation layers talk only to :class:`Khabar`; it wires ingest → chunk →
embed → store → search → answer and owns the one encoder of the process.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from khabar import __version__
from khabar.answer import AnswerSettings, build_answer
from khabar.chunk import DEFAULT_MAX_CHARS, chunk_article
from khabar.config import DEFAULT_PREFIX, FAISS
from khabar.conversation import search_conversation, with_model
from khabar.embed import Encoder, load_encoder
from khabar.embed.base import SECOND_WEIGHT, Vectors
from khabar.embed.paired import JOIN, PairedEncoder
from khabar.errors import ArticleNotFoundError, EmptyQuestionError, InputError, KhabarError
from khabar.followup import (
    MAX_HISTORY,
    chain,
    searched_text,
)
from khabar.ingest import DEFAULT_MAX_BYTES, article_from_text, collect_files, read_path
from khabar.ingest.dates import parse_day
from khabar.ingest.files import ReadContext
from khabar.ingest.url import fetch_article, is_url, read_url
from khabar.quoted import DEPTH as QUOTE_DEPTH
from khabar.quoted import matching_speakers, prefer_speaker
from khabar.records import Answer, Article, Chunk, public_source
from khabar.samples import sample_paths
from khabar.search import ScoredChunk, SearchSettings, quiet_blas, search
from khabar.store import ArticleRow, EncoderInfo, Filter, PendingArticle, Store
from khabar.store.opening import Place, find, no_index_error, open_store
from khabar.store.quote_rows import QuoteRow
from khabar.text.speakers import asked_speaker

if TYPE_CHECKING:
    from khabar.llm import LanguageModel

MAX_QUESTION_CHARS = 2000
# Articles are written to the index in groups of about this many chunks, so that a long
# `add` saves its progress as it goes.
WRITE_GROUP_CHUNKS = 256
# A sync removes at most this share of a folder's articles (and never all of them) unless
# forced: an unmounted network share looks like an emptied folder (rsync's --max-delete).
SYNC_MAX_SHARE = 0.5

Progress = Callable[[int, int], None]


@dataclass
class AddReport:
    """What an ``add`` did, per article id, and which inputs failed and why."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file or name, message)
    removed: list[str] = field(default_factory=list)
    # files inside the folders named that are of a type khabar does not read, by extension
    skipped: dict[str, int] = field(default_factory=dict)
    # a sync that would have removed these many articles, and did not (see SYNC_MAX_SHARE)
    kept_back: list[str] = field(default_factory=list)
    embedded_paragraphs: int = 0
    reused_paragraphs: int = 0  # unchanged paragraphs of a changed article, not embedded again
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed

    @property
    def found(self) -> bool:
        """True when something readable was named (added, updated or already there)."""
        return bool(self.added or self.updated or self.unchanged)

    def skip(self, path: Path) -> None:
        """Count a file of a type khabar does not read, found inside a folder."""
        ext = path.suffix.lower() or "(none)"
        self.skipped[ext] = self.skipped.get(ext, 0) + 1

    def fail(self, where: str, message: str) -> None:
        """Record an input (file, URL, feed item) that could not be added, and why."""
        self.failed.append((where, message))


def models_of_index(folder: Path, **place: str) -> tuple[str, str]:
    """The ``model`` and ``second_model`` settings that reopen the index (``folder``, or the
    Milvus store that ``place`` names: ``store``, ``token``, ``prefix``) with the encoders
    that built it (``models_of_encoder``)."""
    return models_of_encoder(find(folder, **place)[1])


def models_of_encoder(name: str | None) -> tuple[str, str]:
    """The ``model`` and ``second_model`` settings of the encoder an index records: for a
    new index (None) the bundled model and ``use``; ``none`` as the second for an index
    built by the first model alone (as every index built before the second model was)."""
    from khabar.embed.base import BUNDLED, SECOND_NONE, SECOND_USE
    from khabar.embed.paired import split_name

    if name is None:
        return BUNDLED, SECOND_USE
    encoder, second = split_name(name)
    prefix = "sentence-transformers:"
    model = encoder[len(prefix) :] if encoder.startswith(prefix) else BUNDLED
    return model, SECOND_NONE if second is None else SECOND_USE


def store_options(settings: Mapping[str, Any]) -> Place:
    """Where the index lives, as ``Khabar.open`` (and ``models_of_index``) take it."""
    return Place(
        store=str(settings.get("store") or FAISS),
        token=str(settings.get("milvus_token") or ""),
        prefix=str(settings.get("milvus_collection_prefix") or DEFAULT_PREFIX),
    )


def second_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The second model's arguments of ``Khabar.open`` (and ``evaluate``) from the settings."""
    return {
        "second_model": settings["second_model"] or None,
        "second_weight": settings["second_weight"],
        "cache_dir": settings["cache_dir"],
    }


def _checked_question(
    text: str | None,
    what: str = "the question",
    hint: str = "type a question in English or Arabic",
) -> str:
    """``text`` stripped, or a clear error when it is empty (saying ``hint``) or too long."""
    text = (text or "").strip()
    if not any(ch.isalnum() for ch in text):
        raise EmptyQuestionError(f"{what} is empty; {hint}")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(
            f"{what} is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}"
        )
    return text


def chunks_for_articles(k: int) -> int:
    """How many chunks to rank to find ``k`` distinct articles (several chunks of one
    article can come first)."""
    return max(k * 3, 30)


def best_articles(scored: Sequence[ScoredChunk], k: int) -> list[tuple[str, float]]:
    """The first ``k`` distinct articles of ranked chunks, each with its best chunk's score."""
    best: dict[str, float] = {}
    for item in scored:
        best.setdefault(item.chunk.article_id, item.score)
    return list(best.items())[:k]


def choose_model(settings: Mapping[str, Any], fast: bool) -> str | None:
    """The encoder to open the ``index`` setting with: the ``model`` setting if given;
    else, for indexing and serving (``fast``), the ONNX engine in ``export_dir`` when the
    index is (or will be) the bundled model's: the same vectors, faster
    (bench/encoders.py), built there first when ``fast_engine`` is on. None: the index's
    own, or bundled."""
    from khabar.embed.base import BUNDLED
    from khabar.embed.factory import fast_model

    if settings["model"]:
        return str(settings["model"])
    index = str(settings["index"])
    place = store_options(settings)
    if fast and (not index or models_of_index(Path(index), **place)[0] == BUNDLED):
        return fast_model(settings["export_dir"], build=settings["fast_engine"])
    return None


def encoder_info(encoder: Encoder) -> EncoderInfo:
    """What an index records of ``encoder``, with how its questions weigh their parts (a
    paired encoder's: ``PairedEncoder.question_weights``; none for one model)."""
    weights = getattr(encoder, "question_weights", ())
    return EncoderInfo(encoder.name, encoder.fingerprint, encoder.dim, weights)


class Khabar:
    """One open index and the encoder that reads and writes it."""

    def __init__(
        self,
        store: Store,
        encoder: Encoder,
        *,
        max_chars: int = DEFAULT_MAX_CHARS,
        max_file_bytes: int = DEFAULT_MAX_BYTES,
        url_allow_networks: Sequence[str] = (),
        url_timeout: float = 15.0,
        search_settings: SearchSettings | None = None,
        answer_settings: AnswerSettings | None = None,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.max_chars = max_chars
        self.max_file_bytes = max_file_bytes
        self.url_allow_networks = tuple(url_allow_networks)
        self.url_timeout = url_timeout
        self.search_settings = search_settings or SearchSettings()
        self.answer_settings = answer_settings or AnswerSettings(
            second_weight=encoder.second_weight if isinstance(encoder, PairedEncoder) else 0.0
        )
        #: an optional language model (khabar.llm.from_settings); None: none is used
        self.llm: LanguageModel | None = None
        #: how a question's "what did X say" finds X among the speakers (khabar.quoted):
        #: "both", "spelling", "vectors", or "off" (no speaker preference)
        self.speaker_match = "spelling"

    @classmethod
    def open(
        cls,
        index: Path | str,
        *,
        model: str | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        max_file_bytes: int = DEFAULT_MAX_BYTES,
        url_allow_networks: Sequence[str] = (),
        url_timeout: float = 15.0,
        encoder: Encoder | None = None,
        rebuild_damaged: bool = False,
        second_model: str | None = None,
        second_weight: float = SECOND_WEIGHT,
        cache_dir: str | None = None,
        create: bool = True,
        store: str = FAISS,
        token: str = "",
        prefix: str = DEFAULT_PREFIX,
    ) -> Khabar:
        """Open the index folder ``index`` (created if missing when ``create``; else a
        missing index is an IndexNotFoundError) with the encoder named ``model`` and
        the ``second_model`` beside it (by default the ones that built the index; for a new
        index the bundled model and USE multilingual).

        ``rebuild_damaged`` rebuilds damaged vector files from the stored text (`khabar
        repair`); without it a damaged file is an IndexFormatError saying so. ``cache_dir``
        keeps files derived from the bundled models (the ``cache_dir`` setting).

        ``store`` (the ``store`` setting) puts the index in a Milvus instead of the folder:
        a Milvus Lite file or a server's address, with its ``token`` and the ``prefix`` of
        khabar's collection names there."""
        quiet_blas()
        folder = Path(index)
        place = Place(store=store, token=token, prefix=prefix)
        there, recorded = find(folder, **place)  # one read of the store for both
        if not create and not there:
            raise no_index_error(folder, **place)  # before the encoder loads: a typo should
            # not cost seconds
        if encoder is None:
            own = ("", "") if model and second_model else models_of_encoder(recorded)
            encoder = load_encoder(
                model or own[0], second_model or own[1], second_weight, cache_dir
            )
        enc = encoder
        info = encoder_info(enc)
        opened = open_store(
            folder,
            info,
            enc.embed_passages,
            __version__,
            **place,
            rebuild_damaged=rebuild_damaged,
            build_settings={"max_chars": max_chars},
            create=create,
        )
        return cls(
            opened,
            enc,
            max_chars=max_chars,
            max_file_bytes=max_file_bytes,
            url_allow_networks=url_allow_networks,
            url_timeout=url_timeout,
        )

    def close(self) -> None:
        """Release the index."""
        self.store.close()

    # -- adding -------------------------------------------------------------
    def add_paths(self, paths: Iterable[Path | str], progress: Progress | None = None) -> AddReport:
        """Add article files, folders (recursively), web pages and feeds (http/https URLs).
        A bad file, URL or feed item is reported, not fatal."""
        report = AddReport()
        articles: list[Article] = []
        items = [str(p) for p in paths]
        for url in (item for item in items if is_url(item)):
            try:
                articles.extend(
                    read_url(
                        url,
                        on_error=report.fail,
                        timeout=self.url_timeout,
                        max_bytes=self.max_file_bytes,
                        allowed_networks=self.url_allow_networks,
                    )
                )
            except KhabarError as exc:
                report.failed.append((url, str(exc)))
        articles.extend(self._read_files([Path(p) for p in items if not is_url(p)], report))
        self._add(articles, report, progress)
        return report

    def _read_files(self, paths: Iterable[Path], report: AddReport) -> list[Article]:
        """Read files and folders; each unreadable file (or feed item) is reported, and
        the rest read."""
        ctx = ReadContext(
            max_bytes=self.max_file_bytes,
            fetch_page=lambda url: fetch_article(
                url,
                timeout=self.url_timeout,
                max_bytes=self.max_file_bytes,
                allowed_networks=self.url_allow_networks,
            ),
            on_error=report.fail,
        )
        articles: list[Article] = []
        for path in collect_files(paths, skipped=report.skip):
            try:
                articles.extend(read_path(path, ctx=ctx))
            except KhabarError as exc:
                report.failed.append((str(path), str(exc)))
        return articles

    def add_text(
        self,
        text: str,
        *,
        html: str | None = None,
        title: str | None = None,
        article_id: str | None = None,
        source: str = "",
        url: str | None = None,
        published: str | None = None,
        author: str | None = None,
    ) -> AddReport:
        """Add one article given as text or HTML (pasted in the UI, posted to the API)."""
        name = title or url or "pasted text"
        if html is not None:
            from khabar.ingest.html import article_from_html

            extracted = article_from_html(
                html, article_id=article_id or "", source=source or "pasted", name=name, url=url
            )
            text = extracted.text
            title = title or extracted.title
            published = published or extracted.published
            author = author or extracted.author
        article = article_from_text(
            text,
            article_id=article_id,
            title=title,
            source=source or "pasted",
            url=url,
            published=published,
            author=author,
            name=name,
        )
        report = AddReport()
        self._add([article], report, None)
        if report.failed:
            raise InputError(report.failed[0][1])
        return report

    def add_articles(
        self, articles: Sequence[Article], progress: Progress | None = None
    ) -> AddReport:
        """Add Articles already read (used by ``eval`` and by other readers)."""
        report = AddReport()
        self._add(list(articles), report, progress)
        return report

    def _add(self, articles: list[Article], report: AddReport, progress: Progress | None) -> None:
        started = time.perf_counter()
        if articles:
            self.store.check_writable()  # before embedding anything
        todo: list[tuple[Article, list[Chunk], bool]] = []
        seen: set[str] = set()
        for article in articles:
            article = self._unique_id(article, seen)
            seen.add(article.id)
            existing = self.store.article(article.id)
            if existing is not None and existing.content_hash == article.content_hash:
                report.unchanged.append(article.id)
                continue
            chunks = chunk_article(article, self.max_chars)
            if not chunks:
                report.failed.append((article.source or article.id, "no paragraph to index"))
                continue
            todo.append((article, chunks, existing is not None))
        total = sum(len(c) + sum(len(ch.spans) for ch in c) for _, c, _ in todo)
        done = 0
        group: list[PendingArticle] = []
        group_chunks = 0
        for article, chunks, replaces in todo:
            pending = self._embed(article, chunks, report)
            done += len(chunks) + len(pending.span_vectors)
            if progress:
                progress(done, total)
            group.append(pending)
            group_chunks += len(chunks)
            (report.updated if replaces else report.added).append(article.id)
            if group_chunks >= WRITE_GROUP_CHUNKS:
                self.store.write(group)
                group, group_chunks = [], 0
        if group:
            self.store.write(group)
        report.seconds = time.perf_counter() - started

    def _unique_id(self, article: Article, seen: set[str]) -> Article:
        """Keep two different files that share a name from replacing each other (the same
        file, however its path was written, keeps its id)."""
        existing = self.store.article(article.id)
        clash = article.id in seen or (
            existing is not None
            and bool(existing.origin)
            and bool(article.origin)
            and existing.origin != article.origin
        )
        if not clash:
            return article
        key = article.origin or article.source
        suffix = hashlib.sha256(key.encode("utf-8")).hexdigest()[:6]
        return replace(article, id=f"{article.id}-{suffix}")

    def _embed(self, article: Article, chunks: list[Chunk], report: AddReport) -> PendingArticle:
        """Vectors for the chunks and spans; a paragraph the article already had, unchanged,
        keeps its vectors (only changed paragraphs are embedded again)."""
        dim = self.encoder.dim
        reuse = self._old_vectors(article.id)
        chunk_vectors = np.empty((len(chunks), dim), dtype=np.float32)
        span_vectors = np.empty((sum(len(c.spans) for c in chunks), dim), dtype=np.float32)
        todo_chunks: list[int] = []
        todo_spans: list[int] = []
        offset = 0
        for i, chunk in enumerate(chunks):
            old = reuse.get((chunk.embed_text, len(chunk.spans)))
            if old is not None:
                chunk_vectors[i] = old[0]
                span_vectors[offset : offset + len(chunk.spans)] = old[1]
                report.reused_paragraphs += 1
            else:
                todo_chunks.append(i)
                todo_spans.extend(range(offset, offset + len(chunk.spans)))
            offset += len(chunk.spans)
        span_texts = [c.text[s.start : s.end] for c in chunks for s in c.spans]
        if todo_chunks or todo_spans:
            # one call, so that the engine can batch paragraphs and sentences together
            vectors = self.encoder.embed_passages(
                [chunks[i].embed_text for i in todo_chunks] + [span_texts[i] for i in todo_spans]
            )
            chunk_vectors[todo_chunks] = vectors[: len(todo_chunks)]
            span_vectors[todo_spans] = vectors[len(todo_chunks) :]
        report.embedded_paragraphs += len(todo_chunks)
        return PendingArticle(article, chunks, chunk_vectors, span_vectors)

    def _old_vectors(self, article_id: str) -> dict[tuple[str, int], tuple[Vectors, Vectors]]:
        """(embed text, span count) → (chunk vector, span vectors) of the stored article."""
        store = self.store
        ids = store.chunk_ids_of([article_id])
        if not len(ids):
            return {}
        rows = store.chunks(ids.tolist())
        spans = store.spans_of_chunks(ids.tolist())
        span_ids = np.asarray(sorted(s.id for s in spans), dtype=np.int64)
        with store.reading():
            have_chunks, chunk_vectors = store.chunk_vectors(ids)
            have_spans, span_vectors = store.span_vectors(span_ids)
        chunk_row = {int(i): n for n, i in enumerate(have_chunks.tolist())}
        span_row = {int(i): n for n, i in enumerate(have_spans.tolist())}
        out: dict[tuple[str, int], tuple[Vectors, Vectors]] = {}
        for chunk_id in ids.tolist():
            own = sorted(s.id for s in spans if s.chunk_id == chunk_id)
            if chunk_id not in chunk_row or any(i not in span_row for i in own):
                continue  # vectors missing (another process is mid-write): embed afresh
            out[(rows[chunk_id].embed_text, len(own))] = (
                chunk_vectors[chunk_row[chunk_id]],
                span_vectors[[span_row[i] for i in own]].reshape(len(own), -1),
            )
        return out

    def ensure_samples(self) -> AddReport | None:
        """Add the bundled sample articles when the index is empty; None if it was not."""
        if self.store.counts()[0]:
            return None
        return self.add_paths(sample_paths())

    # -- removing -----------------------------------------------------------
    def remove(self, article_id: str) -> ArticleRow:
        """Remove one article by its id or its URL; ArticleNotFoundError names it if absent."""
        row = self.store.article(article_id) or self.store.article_by_url(article_id)
        if row is None:
            raise ArticleNotFoundError(
                f"no article with id {article_id!r} in the index; `khabar info --articles` "
                "(or GET /api/articles) lists them"
            )
        self.store.write([], remove=[row.id])
        return row

    def sync(
        self, folder: Path | str, progress: Progress | None = None, *, force: bool = False
    ) -> AddReport:
        """Make the index mirror ``folder``: new files added, changed ones updated, articles
        whose file is gone removed. A file that cannot be read is reported and its old
        article kept.

        Without ``force``, a sync that would remove every article of the folder, or more
        than SYNC_MAX_SHARE of them, removes none and lists them in ``kept_back``: an
        unmounted share looks exactly like a folder emptied on purpose."""
        root = Path(folder).resolve()
        if not root.is_dir():
            raise InputError(f"{folder}: not a folder")
        self.store.check_writable("synced")
        report = AddReport()
        articles = self._read_files([root], report)
        kept_origins = {str(Path(path).resolve()) for path, _ in report.failed}
        self._add(articles, report, progress)
        present = set(report.added + report.updated + report.unchanged)
        prefix = str(root) + "/"
        of_folder = [a for a in self.store.articles() if a.origin.startswith(prefix)]
        gone = [a.id for a in of_folder if a.id not in present and a.origin not in kept_origins]
        held = len(of_folder) - len(report.added)  # what the folder's articles were before
        if gone and not force and (len(gone) >= held or len(gone) > SYNC_MAX_SHARE * held):
            report.kept_back.extend(gone)
        elif gone:
            self.store.write([], remove=gone)
            report.removed.extend(gone)
        return report

    # -- asking -------------------------------------------------------------
    def ask(
        self,
        question: str,
        k: int = 5,
        context: bool = True,
        only: frozenset[str] | None = None,
        *,
        source: str | None = None,
        since: str | None = None,
        until: str | None = None,
        history: Sequence[str] = (),
        reply: bool = False,
        translate: bool = False,
    ) -> Answer:
        """The ``k`` best passages for ``question`` (English or Arabic), best first.

        ``only`` restricts the answer to the named articles (unknown ids are an error);
        ``source`` to articles whose source contains it (any case); ``since`` and
        ``until`` (YYYY-MM-DD, inclusive) to articles published on those days.
        ``history``: the conversation's earlier questions, oldest first (at most
        ``MAX_HISTORY``); a follow-up ("and about the economy?") is searched together with
        the questions it leans on (khabar.followup), and ``Answer.searched`` says so; with a
        language model (``llm``), rewritten by it into a standalone question first.
        ``reply``, ``translate``: with a language model, a short reply citing the passages,
        and an English reading of the top passage's marked sentence (khabar.llm); whatever
        the model fails to do is said in ``Answer.notes``, and the passages stay the answer.
        """
        question = _checked_question(question)
        if len(history) > MAX_HISTORY:
            raise InputError(
                f"the history holds {len(history)} questions; the limit is {MAX_HISTORY} "
                "(send the latest ones)"
            )
        earlier = [_checked_question(h, "an earlier question") for h in history if h and h.strip()]
        if k < 1:
            raise InputError(f"k must be at least 1, not {k}")
        self.store.refresh()
        if only is not None:
            unknown = sorted(a for a in only if self.store.article(a) is None)
            if unknown:
                raise ArticleNotFoundError(f"no article with id {unknown[0]!r} in the index")
        where = self._filter(only, source, since, until)
        questions = chain(question, earlier)
        notes: list[str] = []
        if len(questions) > 1 and self.llm is not None and self.llm.rewrites:
            rewritten = self.llm.rewrite(question, earlier)
            if rewritten:
                questions = [rewritten]
            else:
                notes.append("the language model did not rewrite the follow-up in time")
        searched = searched_text(questions)
        asked = None
        if len(questions) == 1 and self.speaker_match != "off":
            asked = asked_speaker(question)
        scored = search_conversation(
            self.store,
            self.encoder,
            self.search_settings,
            questions,
            max(k, QUOTE_DEPTH) if asked else k,
            where,
        )
        match = None
        if asked is not None:
            scored, match = prefer_speaker(
                scored, asked, self.encoder.embed_queries, self.speaker_match, self._topic_scores
            )
            scored = scored[:k]
        second = None
        if isinstance(self.encoder, PairedEncoder):
            second = self.encoder.weight_for(question)
        answer = build_answer(
            question,
            scored,
            self.store,
            context=context,
            settings=self.answer_settings,
            second_weight=second,
            searched=searched,
            follow_up=len(questions) > 1,
            speaker=match,
        )
        if reply or translate or notes:
            answer = with_model(answer, self.llm, reply, translate, notes)
        return answer

    def rank_conversation(
        self,
        question: str,
        history: Sequence[str],
        k: int = 30,
        *,
        exclude: frozenset[str] = frozenset(),
    ) -> list[ScoredChunk]:
        """The ``k`` best chunks for ``question`` asked after ``history``, as ``ask`` ranks
        them; for evaluation, ``exclude`` leaves articles out as if they were not indexed."""
        questions = chain(question.strip(), history)  # chain skips empty earlier questions
        return search_conversation(
            self.store, self.encoder, self.search_settings, questions, k, Filter(), exclude
        )

    def _filter(
        self,
        only: frozenset[str] | None,
        source: str | None,
        since: str | None,
        until: str | None,
    ) -> Filter:
        source = (source or "").strip() or None
        since = parse_day(since, "since") if since else None
        until = parse_day(until, "until") if until else None
        if since and until and since > until:
            raise InputError(f"since ({since}) is after until ({until}): nothing can match")
        return Filter(article_ids=only, source=source, since=since, until=until)

    def _topic_scores(self, topic: str, chunk_ids: list[int]) -> dict[int, float]:
        """The cosine of ``topic`` (a question's "about Y") with each of the chunks."""
        vector = self.encoder.embed_queries([topic])[0]
        with self.store.reading():
            have, vectors = self.store.chunk_vectors(np.asarray(chunk_ids, dtype=np.int64))
        scale = float(np.linalg.norm(vector)) or 1.0
        norms = np.maximum(np.linalg.norm(vectors, axis=1), 1e-12)
        cosines = (vectors @ vector) / (norms * scale)
        return {int(i): float(c) for i, c in zip(have, cosines, strict=True)}

    def quotes(
        self, speaker: str | None = None, since: str | None = None, limit: int = 50
    ) -> list[QuoteRow]:
        """Who said what across the index, newest first: at most ``limit`` quotes, of
        ``speaker`` (a name or title in English or Arabic, matched as a question's "what did
        X say" is, khabar.quoted) if given, from articles published on or after ``since``
        (YYYY-MM-DD) if given."""
        if limit < 1:
            raise InputError(f"limit must be at least 1, not {limit}")
        since = parse_day(since, "since") if since else None
        self.store.refresh()
        speakers = None
        if speaker is not None:
            speaker = _checked_question(
                speaker, "the speaker", "give a name or a title in English or Arabic"
            )
            names = sorted({s for s, _ in self.store.quote_names()})
            how = "both" if self.speaker_match == "off" else self.speaker_match
            speakers = sorted(matching_speakers(speaker, names, self.encoder.embed_queries, how))
        return self.store.quotes(speakers, since, limit)

    def sources(self) -> list[str]:
        """The distinct sources of the indexed articles as citations show them (for a
        filter menu: a source filter matches the part it names of the stored source)."""
        self.store.refresh()
        return sorted({public_source(s) for s in self.store.sources()})

    def rank_chunks(
        self,
        question: str,
        k: int = 30,
        *,
        query_vector: Vectors | None = None,
        settings: SearchSettings | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> list[ScoredChunk]:
        """The ``k`` best chunks with their scores and best spans, best first.

        For evaluation: ``query_vector`` skips re-embedding, ``settings`` overrides the
        ranking, and ``exclude`` leaves articles out as if they were not indexed.
        """
        if query_vector is None:
            query_vector = self.encoder.embed_queries([question])[0]
        return search(
            self.store,
            query_vector,
            k,
            settings or self.search_settings,
            question=question,
            exclude=exclude,
        )

    def rank_articles(
        self,
        question: str,
        k: int = 10,
        *,
        query_vector: Vectors | None = None,
        settings: SearchSettings | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> list[tuple[str, float]]:
        """The ``k`` best distinct articles as (article id, best chunk score), best first
        (``rank_chunks``' arguments)."""
        scored = self.rank_chunks(
            question,
            chunks_for_articles(k),
            query_vector=query_vector,
            settings=settings,
            exclude=exclude,
        )
        return best_articles(scored, k)

    # -- describing ---------------------------------------------------------
    def articles(self) -> list[ArticleRow]:
        """Every indexed article, as stored (with the file it came from: for operators)."""
        self.store.refresh()
        return self.store.articles()

    def public_articles(self) -> list[dict[str, Any]]:
        """Every indexed article as the API, MCP and the UI list it: its id, title, source
        (a file's name, not its path), URL, author, dates and paragraph count; never the
        server's folders or the content hash."""
        return [
            {
                "id": a.id,
                "title": a.title,
                "source": public_source(a.source),
                "url": a.url,
                "published": a.published,
                "author": a.author,
                "paragraphs": a.paragraphs,
                "added_at": a.added_at,
            }
            for a in self.articles()
        ]

    @property
    def engine(self) -> str:
        """The classes that embed, e.g. ``OnnxEncoder + UseEncoder``."""
        enc = self.encoder
        parts = [enc.first, enc.second] if isinstance(enc, PairedEncoder) else [enc]
        return JOIN.join(type(part).__name__ for part in parts)

    @property
    def notes(self) -> list[str]:
        """What opening the index did that a person should hear of (a migration)."""
        return list(self.store.notes)

    def compact(self) -> dict[str, Any]:
        """Merge the index's segments and drop removed vectors now (`khabar compact`)."""
        return self.store.compact()

    def info(self) -> dict[str, Any]:
        """Counts, encoder, format, segments and size of the index."""
        self.store.refresh()
        described = self.store.describe()
        articles, chunks, spans = self.store.counts()
        paragraphs = sum(a.paragraphs for a in self.store.articles())
        return {
            "index": self.store.location,
            "articles": articles,
            "paragraphs": paragraphs,
            "chunks": chunks,
            "spans": spans,
            "engine": self.engine,
            "khabar_version": __version__,
            **described,
        }
