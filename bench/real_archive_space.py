"""The sealed spans clustered in the questions' space, on bench/real_archive.py's index.

A question's vector is ``[e5; 0.15 × USE]`` and a passage's ``[e5; USE]``: clustered as
they are stored, the IVF lists follow USE's spread, which counts 0.15 in a score. Since
the store keeps the questions' weights with its codec (``Codec.space``), a kind is
clustered and encoded with each vector scaled as the questions weigh it, and searched with
the question divided back: the same inner products, lists that follow what ranks.

This script takes a copy of the large index with XQuAD added (``real_archive.with_xquad``,
kept in bench/.cache/real-archive-space), puts the spans' float vectors back as one flat
segment, forgets the spans' codec, and seals them again by khabar's own merge, with the
encoder's weights. Then it measures as real_archive.py does: span recall@10 against exact
search (XQuAD's questions in 4 languages, 500 verses asked as questions) at khabar's
probes (128 of 1,024 lists) and at 256, and XQuAD R@1 / MRR@10 in the archive; and the
same R@1 with the spans searched exactly (every vector scored), to show what the
approximate search costs the answers.

    python bench/real_archive_space.py
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_archive as ra

from khabar.evaluate import load_eval_set
from khabar.service import Khabar
from khabar.store import SegmentStore
from khabar.store.segments import FLAT, Collection

SPACE = ra.CACHE / "real-archive-space"


def resealed(model: str) -> None:
    """Make ``SPACE`` once: the big index with its spans sealed again in the space."""
    if SPACE.exists():
        return
    ra.with_xquad(model)
    building = SPACE.with_name(SPACE.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    shutil.copytree(ra.BIG, building)
    service = Khabar.open(building, model=model)
    try:
        store = service.store
        assert isinstance(store, SegmentStore)
        vectors = ra.big_spans(model)
        ids = np.asarray(store.db.span_ids(), dtype=np.int64)
        with store.writing("resealed"):
            old = [s.record.name for s in store.collections["spans"].segments]
            record = store.writer.flat("spans", ids, vectors)
            store.commit_segments([record], drop=old)
            with store.db.transaction():
                store.db.conn.execute("DELETE FROM codecs WHERE kind = 'spans'")
            store._codecs.pop("spans", None)
            store.load_segments()
            started = time.perf_counter()
            store.merge("spans", [s.record for s in store.collections["spans"].segments])
            print(f"sealed again in {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        service.close()
    building.rename(SPACE)


def exact_search(collection: Collection) -> Any:
    """A search of ``collection`` that scores every span (the sealed ones from their 8-bit
    codes, decoded once): the exact search."""
    ids = np.concatenate([np.asarray(s.ids) for s in collection.segments])
    decoded = np.concatenate([s.rows(np.arange(s.count)) for s in collection.segments])

    def search(query: ra.Matrix, k: int, allowed: Any = None) -> Any:
        scores = decoded @ np.asarray(query, dtype=np.float32).reshape(-1)
        held = ids
        if allowed is not None:
            keep = allowed.contains(ids)
            held, scores = ids[keep], scores[keep]
        top = np.argsort(-scores, kind="stable")[:k]
        return held[top], scores[top].astype(np.float32)

    return search


def main() -> None:
    model = ra.engine()
    resealed(model)
    ar = ra.XQUAD / "xquad.ar.json"
    service = Khabar.open(SPACE, model=model)
    result: dict[str, Any] = {
        "what": "the spans of bench/real_archive.py's index sealed again, clustered in the "
        "questions' space (the second model's part weighed 0.15)",
        "date": date.today().isoformat(),
    }
    try:
        store = service.store
        assert isinstance(store, SegmentStore)
        spans = store.collections["spans"]
        (segment,) = spans.segments
        assert segment.record.layout != FLAT and segment.codec is not None
        result["space"] = sorted({float(x) for x in segment.codec.space})
        ids = np.asarray(store.db.span_ids(), dtype=np.int64)
        vectors = ra.big_spans(model)
        questions = [
            q.text
            for lang in ra.QUESTION_LANGUAGES
            for q in load_eval_set(ar, ra.XQUAD / f"xquad.{lang}.json").questions
        ]
        picked = ra.verse_questions(500, np.random.default_rng(7))
        sets = {
            "xquad_questions": service.encoder.embed_queries(questions),
            "verse_queries": service.encoder.embed_queries(picked),
        }
        result["span_recall"] = {}
        for nprobe in (128, 256):
            spans.nprobe = nprobe
            result["span_recall"][f"nprobe {nprobe}"] = {
                name: ra.recall(store, "spans", ids, vectors, queries)
                for name, queries in sets.items()
            }
            print(nprobe, result["span_recall"][f"nprobe {nprobe}"], flush=True)
        spans.nprobe = 128
        result["xquad_in_archive"] = {
            lang: ra.xquad_recall(service, ar, ra.XQUAD / f"xquad.{lang}.json")
            for lang in ("en", "ar")
        }
        print("in archive:", result["xquad_in_archive"], flush=True)
        spans.search = exact_search(spans)  # type: ignore[method-assign]
        result["xquad_in_archive_spans_exact"] = {
            lang: ra.xquad_recall(service, ar, ra.XQUAD / f"xquad.{lang}.json")
            for lang in ("en", "ar")
        }
        print("spans exact:", result["xquad_in_archive_spans_exact"], flush=True)
    finally:
        service.close()
    out = ra.ROOT / "bench/results/real-archive.json"
    saved = json.loads(out.read_text(encoding="utf-8"))
    saved["question_space"] = result
    out.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
