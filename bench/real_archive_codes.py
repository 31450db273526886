"""Offline: other codes for the sealed spans, on bench/real_archive.py's cached vectors.

FAISS indexes trained on 65,536 corpus spans, every span added (XQuAD's too:
``real_archive.with_xquad``), 128 lists probed, the best 2,304 candidates re-scored
exactly; recall@10 against exact search for 200 English XQuAD questions and 150 English
verses asked as questions.

    python bench/real_archive_codes.py [FAISS_SPEC ...]   (default: SPECS)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_archive as ra

from khabar.embed import load_encoder
from khabar.evaluate import load_eval_set

SPECS = ("IVF1024,SQ8", "OPQ56,IVF1024,PQ56x8", "IVF1024,PQ112x8", "IVF1024,PQ56x8")
POOL = 2304


def main() -> None:
    faiss.omp_set_num_threads(2)
    corpus = ra.corpus_vectors("spans")
    x = np.concatenate([corpus, ra.with_xquad(ra.engine())[1]]).astype(np.float32)
    encoder = load_encoder(ra.engine(), "use", 0.15, None)
    asked = load_eval_set(ra.XQUAD / "xquad.ar.json", ra.XQUAD / "xquad.en.json").questions
    rng = np.random.default_rng(7)
    picked = ra.verse_questions(150, rng)
    sets = {
        "xquad": encoder.embed_queries([q.text for q in asked][:200]),
        "verses": encoder.embed_queries(picked),
    }
    exact = {name: ra.exact_top10(x, q) for name, q in sets.items()}
    sample = corpus[rng.choice(len(corpus), 65_536, replace=False)]
    for spec in sys.argv[1:] or SPECS:
        started = time.perf_counter()
        index = faiss.index_factory(x.shape[1], spec, faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.extract_index_ivf(index)
        ivf.cp.niter = 10
        index.train(sample)
        index.add(x)
        ivf.nprobe = 128
        line = [spec, f"{time.perf_counter() - started:.0f} s"]
        for name, queries in sets.items():
            _, found = index.search(queries, POOL)
            shares = []
            for q, candidates, best in zip(queries, found, exact[name], strict=True):
                candidates = candidates[candidates >= 0]
                top = candidates[np.argsort(-(x[candidates] @ q))[:10]]
                shares.append(len(set(top.tolist()) & set(best.tolist())) / 10)
            line.append(f"{name} recall@10 {np.mean(shares):.3f}")
        print(" | ".join(line), flush=True)


if __name__ == "__main__":
    main()
