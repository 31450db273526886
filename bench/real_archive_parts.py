"""Taking bench/real_archive.py's figures apart (run it first: this reads its cache).

    python bench/real_archive_parts.py

1. Where the span search loses its recall: for 400 English XQuAD questions and 300 English
   verses asked as questions, recall@10 against exact search of (a) the 8-bit codes alone,
   searched exactly, and (b) the store's search for 256 with 128, 512 and all 1,024 IVF
   lists probed. The index is the corpus with XQuAD's Arabic passages added and compacted
   (``real_archive.with_xquad``).
2. Why other texts take the first place: each question's cosine (first model, second, and
   both as khabar weighs them) with its gold paragraph, against the mean and the best over
   each corpus language's paragraphs, and the share of questions that language's best beats.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_archive as ra

from khabar.evaluate import load_eval_set
from khabar.service import Khabar
from khabar.store import SegmentStore

AR = ra.XQUAD / "xquad.ar.json"
E5_DIM = 384  # the first model's share of the pair's 896 dimensions


def questions(service: Khabar) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    texts = [q.text for q in load_eval_set(AR, ra.XQUAD / "xquad.en.json").questions][:400]
    picked = ra.verse_questions(300, np.random.default_rng(7))
    return {
        "xquad": service.encoder.embed_queries(texts),
        "verses": service.encoder.embed_queries(picked),
    }


def span_search(model: str) -> None:
    vectors = ra.big_spans(model)
    service = Khabar.open(ra.BIG, model=model)
    store = service.store
    assert isinstance(store, SegmentStore)
    ids = np.asarray(store.db.span_ids(), dtype=np.int64)
    assert len(ids) == len(vectors)
    collection = store.collections["spans"]
    sealed = next(s for s in collection.segments if s.record.layout != "flat")
    decoded, sealed_ids = sealed.rows(np.arange(sealed.count)), np.asarray(sealed.ids)
    for name, queries in questions(service).items():
        exact = ra.exact_top10(vectors, queries)
        codes = ra.exact_top10(decoded, queries)
        share = [
            len(set(ids[a].tolist()) & set(sealed_ids[b].tolist())) / 10
            for a, b in zip(exact, codes, strict=True)
        ]
        print(f"{name}: 8-bit codes searched exactly, recall@10 {np.mean(share):.4f}", flush=True)
        for nprobe in (128, 512, 1024):
            collection.nprobe = nprobe
            found = [store.search_spans(q, 256)[0][:10] for q in queries]
            share = [
                len(set(ids[b].tolist()) & set(f.tolist())) / 10
                for b, f in zip(exact, found, strict=True)
            ]
            print(f"{name}: {nprobe} lists probed, search for 256, recall@10 {np.mean(share):.4f}")
    service.close()


def first_places(model: str) -> None:
    from khabar.embed import load_encoder

    encoder = load_encoder(model, "use", 0.15, None)
    corpus = {lang: np.load(ra.VECTORS / f"{lang}.npz")["chunks"] for lang in ra.LANGUAGES}
    passages = load_eval_set(AR).passages
    gold_vectors = encoder.embed_passages([p.text for p in passages])
    where = {p.id: i for i, p in enumerate(passages)}
    for qlang in ("en", "ar"):
        asked = load_eval_set(AR, ra.XQUAD / f"xquad.{qlang}.json").questions
        q = encoder.embed_queries([x.text for x in asked])
        gold = gold_vectors[[where[x.passage_id] for x in asked]]
        for part, cut in (
            ("e5", slice(0, E5_DIM)),
            ("use", slice(E5_DIM, None)),
            ("both", slice(None)),
        ):
            own = np.einsum("ij,ij->i", q[:, cut], gold[:, cut])
            line = [f"{qlang} questions, {part}: gold {own.mean():.3f}"]
            for lang, vectors in corpus.items():
                s = q[:, cut] @ vectors[:, cut].T
                best = s.max(1)
                beats = (best > own).mean()
                line.append(f"{lang} mean {s.mean():.3f} best {best.mean():.3f} beats {beats:.2f}")
            print(" | ".join(line), flush=True)


if __name__ == "__main__":
    engine = ra.engine()
    span_search(engine)
    first_places(engine)
