"""Span vectors from the paragraph's own pass ("late chunking") against spans embedded as
texts of their own, on XQuAD, with the product's ranking and marking.

Every XQuAD passage is chunked as khabar chunks it; its paragraph vector is the default
pair's ([e5; USE]). The span vectors vary:

- ``texts``: each span embedded alone by both models (today's default);
- ``late``: e5's part pooled (mean, as e5 pools) from the paragraph pass's token states
  over the span's characters; USE's part the span embedded alone;
- ``late+paragraph``: e5's part late; USE's part the paragraph's own USE vector (no pass
  of either model per span);
- ``late+none``: e5's part late; USE's part zero;
- ``late, less g x paragraph``: e5's part late, less g times the paragraph's mean token
  state (sharper against the rest of its paragraph); USE's part the span alone.

Each variant is written into an index (the real store) and asked every English and Arabic
question (recall@1, MRR@10, sentence@1), tuned nowhere, reported on articles 0–23, 24–47
and all. The embedding time of each variant's vectors is measured in the same run.

Run: python bench/late_chunking.py; writes bench/results/late_chunking.json.
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from quality import CACHE, DATA, TUNE, query_vectors, split

from khabar import config
from khabar.chunk import chunk_article
from khabar.embed.base import SECOND_USE, SECOND_WEIGHT
from khabar.embed.factory import load_encoder
from khabar.embed.paired import PairedEncoder
from khabar.evaluate import EvalRun, load_eval_set, run_questions
from khabar.service import Khabar, choose_model
from khabar.store import EncoderInfo, PendingArticle, SegmentStore

RESULTS = Path(__file__).parent / "results" / "late_chunking.json"


def late_vectors(
    onnx: Any, texts: list[str], spans: list[list[tuple[int, int]]], sharpen: float = 0.0
) -> Any:
    """Paragraph vectors and, per paragraph, its spans' vectors pooled from its tokens
    (less ``sharpen`` times the paragraph's mean token state)."""
    prefix = "passage: "
    encodings = onnx._tokenizer.encode_batch([prefix + t for t in texts])
    paragraphs = np.empty((len(texts), onnx.dim), dtype=np.float32)
    out: list[np.ndarray[Any, Any]] = []
    for i, enc in enumerate(encodings):
        ids = np.asarray([enc.ids], dtype=np.int64)
        mask = np.ones_like(ids)
        hidden = onnx._sessions[0].run(None, {"input_ids": ids, "attention_mask": mask})[0][0]
        pooled = hidden.mean(axis=0)
        paragraphs[i] = pooled / np.linalg.norm(pooled)
        offsets = np.asarray(enc.offsets)  # (tokens, 2), characters of prefix + text
        rows = []
        for start, end in spans[i]:
            a, b = start + len(prefix), end + len(prefix)
            inside = (offsets[:, 0] < b) & (offsets[:, 1] > a) & (offsets[:, 1] > offsets[:, 0])
            vector = hidden[inside].mean(axis=0) if inside.any() else pooled
            vector = vector - sharpen * pooled
            rows.append(vector / np.linalg.norm(vector))
        out.append(np.asarray(rows, dtype=np.float32).reshape(-1, onnx.dim))
    return paragraphs, out


def main() -> None:
    CACHE.mkdir(exist_ok=True)
    settings = config.resolve()
    model = choose_model({**settings, "index": ""}, fast=True)
    encoder = load_encoder(model or "bundled", SECOND_USE, SECOND_WEIGHT)
    assert isinstance(encoder, PairedEncoder)
    e5, use = encoder.first, encoder.second
    eval_set = load_eval_set(DATA / "xquad.ar.json")
    articles = eval_set.passages
    chunked = [chunk_article(a) for a in articles]
    chunks = [c for cs in chunked for c in cs]
    texts = [c.embed_text for c in chunks]
    span_texts = [c.text[s.start : s.end] for c in chunks for s in c.spans]
    lead = [len(c.embed_text) - len(c.text) for c in chunks]  # the heading before the text
    span_offsets = [
        [(s.start + d, s.end + d) for s in c.spans] for c, d in zip(chunks, lead, strict=True)
    ]
    timings: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        started = time.perf_counter()
        out = fn(*args)
        timings[name] = time.perf_counter() - started
        return out

    e5_paragraphs = timed("e5 paragraphs", e5.embed_passages, texts)
    use_paragraphs = timed("USE paragraphs", use.embed_passages, texts)
    e5_spans = timed("e5 spans as texts", e5.embed_passages, span_texts)
    use_spans = timed("USE spans as texts", use.embed_passages, span_texts)
    late_paragraphs, late = timed(
        "e5 paragraphs with late spans (one session)", late_vectors, e5, texts, span_offsets
    )
    late_spans = np.concatenate(late)
    sharpened = {g: np.concatenate(late_vectors(e5, texts, span_offsets, g)[1]) for g in (0.5, 0.8)}
    agreement = float(np.mean(np.sum(late_paragraphs * e5_paragraphs, axis=1)))
    owner = np.repeat(np.arange(len(chunks)), [len(c.spans) for c in chunks])
    variants = {
        "texts": np.hstack([e5_spans, use_spans]),
        "late": np.hstack([late_spans, use_spans]),
        "late+paragraph": np.hstack([late_spans, use_paragraphs[owner]]),
        "late+none": np.hstack([late_spans, np.zeros_like(use_spans)]),
        **{f"late, less {g} x paragraph": np.hstack([v, use_spans]) for g, v in sharpened.items()},
    }
    paragraph_vectors = np.hstack([e5_paragraphs, use_paragraphs])
    questions = {
        "en": load_eval_set(DATA / "xquad.ar.json", DATA / "xquad.en.json").questions,
        "ar": eval_set.questions,
    }
    results: dict[str, Any] = {}
    info = EncoderInfo(encoder.name, encoder.fingerprint, encoder.dim)
    for name, span_vectors in variants.items():
        with tempfile.TemporaryDirectory() as tmp:
            store = SegmentStore.open(Path(tmp) / "index", info, lambda t: None, "bench")  # type: ignore[arg-type,return-value]
            pending = []
            row = span_row = 0
            for article, cs in zip(articles, chunked, strict=True):
                n_spans = sum(len(c.spans) for c in cs)
                pending.append(
                    PendingArticle(
                        article,
                        cs,
                        paragraph_vectors[row : row + len(cs)],
                        span_vectors[span_row : span_row + n_spans],
                    )
                )
                row += len(cs)
                span_row += n_spans
            store.write(pending)
            service = Khabar(store, encoder)
            for language, qs in questions.items():
                vectors = query_vectors(service, language, [q.text for q in qs])
                asked = run_questions(service, qs, 10, query_vectors=vectors)
                parts = {"tune": split(qs, TUNE), "test": split(qs, set(range(24, 48)))}
                parts["all"] = list(range(len(qs)))
                for part, idx in parts.items():
                    run = EvalRun(
                        [asked.ranks[i] for i in idx],
                        [0.0] * len(idx),
                        [1.0] * len(idx),
                        10,
                        len(articles),
                        0.0,
                        marked=[asked.marked[i] for i in idx],
                    )
                    m = run.metrics()
                    results[f"{name} {language}/{part}"] = {
                        k: m[k] for k in ("recall@1", "mrr@10", "sentence@1")
                    }
                print(name, language, results[f"{name} {language}/all"])
            store.close()
    RESULTS.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()}, {platform.python_version()}, 2 cores",
                "what": "span vectors as texts vs pooled from the paragraph pass (XQuAD ar)",
                "paragraphs": len(chunks),
                "spans": len(span_texts),
                "embedding_seconds": {k: round(v, 2) for k, v in timings.items()},
                "late_paragraph_cosine_with_engine": round(agreement, 4),
                "results": results,
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(json.dumps({k: round(v, 2) for k, v in timings.items()}))


if __name__ == "__main__":
    main()
