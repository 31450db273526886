"""Approximate search for sealed segments: FAISS IVF-PQ, memory-mapped. Imports faiss.

Following FAISS's guidelines for a few million vectors ("Guidelines to choose an index"):
an inverted file of ``nlist`` lists over a flat coarse quantizer (1,024 centroids cost one
small matrix product a question, so an HNSW quantizer would gain nothing at this size) and
product-quantised codes, the candidates re-scored from a finer copy (the segment's 8-bit
codes, ``segments.py``), as ``IndexRefine`` does. One trained index is kept per index kind,
so that every sealed segment shares its centroids and codebooks and a merge moves lists
(``merge_from``) instead of encoding vectors again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from khabar.errors import BackendMissingError, IndexFormatError
from khabar.store.atomic import write_atomic

NLIST = 1024
NPROBE = 128
PQ_BYTES = 56  # bytes a vector (sub-quantisers of 8 bits)
TRAIN_SAMPLE = 65_536


def faiss() -> Any:
    """The faiss module, on one thread: waking OpenMP threads costs a question more than
    its search, and the encoder already keeps every core busy while it runs."""
    try:
        import faiss as module
    except ImportError as exc:  # pragma: no cover - faiss-cpu is a hard dependency
        raise BackendMissingError("the vector index needs faiss: pip install faiss-cpu") from exc
    module.omp_set_num_threads(1)
    return module


def _pq_bytes(dim: int) -> int:
    for m in (PQ_BYTES, 64, 48, 32, 28, 24, 16, 12, 8, 4, 2, 1):
        if dim % m == 0:
            return m
    return 1


def train(vectors: npt.NDArray[np.float32], seed: int = 1234) -> Any:
    """An empty IVF-PQ index trained on (a sample of) ``vectors`` (inner product)."""
    f = faiss()
    n, dim = vectors.shape
    nlist = max(1, min(NLIST, n // 39))
    rng = np.random.default_rng(seed)
    sample = vectors if n <= TRAIN_SAMPLE else vectors[rng.choice(n, TRAIN_SAMPLE, replace=False)]
    bits = min(8, int(np.log2(max(n, 2))))  # 8 bits a sub-quantiser (fewer for tiny tests)
    index = f.index_factory(dim, f"IVF{nlist},PQ{_pq_bytes(dim)}x{bits}", f.METRIC_INNER_PRODUCT)
    index.cp.niter = 10
    # Polysemous codes would speed Hamming pre-filtering, which khabar does not use, and
    # their training (simulated annealing) takes minutes.
    index.do_polysemous_training = False
    with _every_core(f):  # training is a write's work, not a question's
        index.train(np.ascontiguousarray(sample, dtype=np.float32))
    return index


@contextlib.contextmanager
def _every_core(f: Any) -> Iterator[None]:
    """FAISS on every core of this process for the block (its OpenMP threads, and the BLAS
    that khabar otherwise keeps to one thread: ``search.quiet_blas``; assigning and encoding
    the vectors a merge seals is matrix products), then back to one thread."""
    from threadpoolctl import threadpool_limits

    cores = max(1, len(os.sched_getaffinity(0)))
    f.omp_set_num_threads(cores)
    try:
        with threadpool_limits(limits=cores, user_api="blas"):
            yield
    finally:
        f.omp_set_num_threads(1)


def serialize(index: Any) -> bytes:
    """FAISS's own serialisation of ``index``."""
    return bytes(faiss().serialize_index(index).tobytes())


def deserialize(raw: bytes) -> Any:
    """The inverse of ``serialize``."""
    return faiss().deserialize_index(np.frombuffer(raw, dtype=np.uint8))


def add(index: Any, ids: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
    """Encode ``vectors`` into ``index`` (in place) under ``ids``, on every core."""
    with _every_core(faiss()):
        index.add_with_ids(
            np.ascontiguousarray(vectors, dtype=np.float32),
            np.ascontiguousarray(ids, dtype=np.int64),
        )


def merged(trained: Any, paths: list[Path], drop: npt.NDArray[np.int64]) -> Any:
    """One index holding the lists of the indexes in ``paths`` (read whole), less ``drop``."""
    f = faiss()
    index = f.clone_index(trained)
    for path in paths:
        other = f.read_index(str(path))
        index.merge_from(other, 0)
    if len(drop):
        index.remove_ids(f.IDSelectorBatch(np.ascontiguousarray(drop, dtype=np.int64)))
    return index


def save(index: Any, path: Path) -> None:
    """Write ``index`` atomically."""
    write_atomic(path, serialize(index))


def load(path: Path) -> Any:
    """Memory-map an IVF index read-only: its lists stay on disk until a search reads them."""
    f = faiss()
    try:
        index = f.read_index(str(path), f.IO_FLAG_MMAP | f.IO_FLAG_READ_ONLY)
    except RuntimeError as exc:
        raise IndexFormatError(f"{path}: cannot read the IVF index ({exc})") from exc
    return index


def assign(index: Any, query: npt.NDArray[np.float32], nprobe: int) -> tuple[Any, Any]:
    """The ``nprobe`` lists nearest to ``query`` in ``index``'s coarse quantizer, which
    every sealed segment of a kind shares: computed once a question, for all of them."""
    faiss()  # one OpenMP thread in this thread too (a worker thread starts with every core)
    scores, lists = index.quantizer.search(query.reshape(1, -1), nprobe)
    return scores, lists


def bitmap_selector(bits: npt.NDArray[np.uint8]) -> Any:
    """FAISS's selector of the ids whose bit is set in ``bits`` (bit i % 8 of byte i // 8);
    it keeps a reference to the array, which must not change."""
    f = faiss()
    selector = f.IDSelectorBitmap(len(bits), f.swig_ptr(bits))
    selector.referenced_objects = [bits]
    return selector


def search(
    index: Any,
    query: npt.NDArray[np.float32],
    k: int,
    assigned: tuple[Any, Any],
    selector: Any = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """The ``k`` best candidates for ``query`` in the ``assigned`` lists (only the ids
    ``selector`` lets through, when given): ids and PQ scores (comparable across the
    segments of one kind, which share their codebooks); -1s dropped."""
    f = faiss()
    coarse_scores, lists = assigned
    lists = np.ascontiguousarray(lists, dtype=np.int64)
    coarse_scores = np.ascontiguousarray(coarse_scores, dtype=np.float32)
    x = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    params = f.SearchParametersIVF()
    params.nprobe = lists.shape[1]
    if selector is not None:
        params.sel = selector
    scores = np.empty((1, k), dtype=np.float32)
    ids = np.empty((1, k), dtype=np.int64)
    # The C++ call itself: faiss's Python wrapper of search_preassigned takes no params.
    index.search_preassigned_c(
        1,
        f.swig_ptr(x),
        k,
        f.swig_ptr(lists),
        f.swig_ptr(coarse_scores),
        f.swig_ptr(scores),
        f.swig_ptr(ids),
        False,
        params,
    )
    keep = ids[0] >= 0
    return np.asarray(ids[0][keep], dtype=np.int64), np.asarray(scores[0][keep], np.float32)
