"""Store costs as an index grows to a million paragraphs (the archive-scale issue).

STAND-IN ENCODER: the vectors are random unit vectors of the real pair's width (896), so
that only the store's work is measured (chunking, SQLite and FTS5, segments, merges,
sealing, search). The index carries the real encoder's name, so the real `khabar ask`
(whose question embedding is real) opens it for the cold-start figure. Articles are 8
paragraphs of real Arabic sentences (XQuAD's Arabic passages, shuffled); questions for
the lexical leg are XQuAD's Arabic questions. Nothing here measures retrieval quality.

    python bench/scale.py --steps 10000,100000,300000,1000000
    python bench/scale.py --store http://127.0.0.1:19530 --steps 2000,10000,50000
    python bench/scale.py --store ./scale.db --steps 2000,10000

With ``--store`` the index is the Milvus store (collections under the prefix
``bench_scale_``, dropped first): the same steps, as far as each goes on this machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from khabar.chunk import chunk_article
from khabar.ingest import article_from_text
from khabar.search import SearchSettings, quiet_blas, search
from khabar.store import EncoderInfo, Filter, PendingArticle, SegmentStore, Store
from khabar.store.opening import drop_collections, open_store
from khabar.text.split import split_sentences

ROOT = Path(__file__).resolve().parents[1]
XQUAD = ROOT / "data" / "xquad" / "xquad.ar.json"
DIM = 896


def real_encoder_info() -> EncoderInfo:
    """The default pair's identity (name, fingerprint, question weights), without loading the
    models' engines."""
    from khabar.embed import load_encoder
    from khabar.service import encoder_info

    return encoder_info(load_encoder("bundled", "use", 0.15, None))


def sentences_and_questions() -> tuple[list[str], list[str]]:
    data = json.loads(XQUAD.read_text(encoding="utf-8"))["data"]
    sentences: list[str] = []
    questions: list[str] = []
    for article in data:
        for para in article["paragraphs"]:
            text = para["context"]
            sentences += [text[s:e] for s, e in split_sentences(text) if e - s > 30]
            questions += [q["question"] for q in para["qas"]]
    return sentences, questions


class Articles:
    """Articles of 8 paragraphs (2–3 real sentences each), with random vectors."""

    def __init__(self, sentences: list[str], seed: int = 7) -> None:
        self.sentences = sentences
        self.rng = random.Random(seed)
        self.vectors = np.random.default_rng(seed)
        self.n = 0

    def _unit(self, rows: int) -> np.ndarray:  # type: ignore[type-arg]
        v = self.vectors.standard_normal((rows, DIM), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def next(self) -> PendingArticle:
        self.n += 1
        paragraphs = [
            " ".join(self.rng.sample(self.sentences, self.rng.randint(2, 3))) for _ in range(8)
        ]
        day = f"2025-{1 + self.n % 12:02d}-{1 + self.n % 28:02d}"
        article = article_from_text(
            "\n".join(paragraphs),
            article_id=f"n{self.n}",
            title=f"خبر {self.n}",
            source=f"wire-{self.n % 20}",
            published=day,
        )
        chunks = chunk_article(article, 1200)
        spans = sum(len(c.spans) for c in chunks)
        return PendingArticle(article, chunks, self._unit(len(chunks)), self._unit(spans))


PREFIX = "bench_scale_"


def where_flags(folder: Path, store: str) -> list[str]:
    """The command-line flags that name the bench's index."""
    return ["--index", str(folder)] if store == "faiss" else ["--store", store]


def open_index(folder: Path, info: EncoderInfo, store: str) -> Store:
    """The bench's index: the segment store in ``folder``, or the Milvus store."""
    zeros = lambda t: np.zeros((len(t), DIM), np.float32)  # noqa: E731 - never embeds
    if store == "faiss":
        return SegmentStore.open(folder, info, zeros, "bench")
    return open_store(folder, info, zeros, "bench", store=store, prefix=PREFIX)


def cold_ask(folder: Path, question: str, store: str = "faiss") -> dict[str, float]:
    """A real `khabar ask` in a new process (real question embedding, bundled engine), and
    its peak resident memory: VmHWM, which (unlike ru_maxrss, which execve carries over from
    the parent) is the new process's own, mapped vector-file pages included."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys; from khabar.cli import main; rc = main(sys.argv[1:]); "
                "status = open('/proc/self/status').read(); "
                "print('HWM', status.split('VmHWM:')[1].split()[0], file=sys.stderr); "
                "sys.exit(rc)"
            ),
            "ask",
            question,
            *where_flags(folder, store),
            "-k",
            "5",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**__import__("os").environ, "KHABAR_MILVUS_COLLECTION_PREFIX": PREFIX},
    )
    seconds = time.perf_counter() - started
    kb = next(
        (int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("HWM")),
        0,
    )
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return {"cold_ask_error": done.stderr.strip().splitlines()[-1][-300:]}
    return {"cold_ask_s": round(seconds, 2), "cold_ask_peak_rss_gb": round(kb / 1e6, 2)}


SERVE = """
import json, sys
from khabar.service import Khabar

def memory():
    status = open("/proc/self/status").read()
    field = lambda name: int(status.split(name + ":")[1].split()[0]) / 1e6
    return field("RssAnon"), field("RssFile"), field("VmHWM")

store = sys.argv[3]
service = Khabar.open(sys.argv[1], store=store, prefix=sys.argv[4], create=False)
questions = json.loads(sys.argv[2])
peak_anon = peak_file = 0.0
for question in questions:
    service.ask(question, k=5)
    anon, file, _ = memory()
    peak_anon, peak_file = max(peak_anon, anon), max(peak_file, file)
print(json.dumps({"anon_gb": round(peak_anon, 2), "file_gb": round(peak_file, 2),
                  "hwm_gb": round(memory()[2], 2)}))
"""


def serving_memory(folder: Path, questions: list[str], store: str = "faiss") -> dict[str, float]:
    """Peak memory of a process that opens the index with the real encoder and answers
    ``questions``: private (anonymous) memory, and pages of the memory-mapped vector files
    (clean page cache that the kernel can drop; it grows with the pages questions touch)."""
    done = subprocess.run(
        [sys.executable, "-c", SERVE, str(folder), json.dumps(questions), store, PREFIX],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return {}
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "serving_anon_gb": found["anon_gb"],
        "serving_mapped_files_gb": found["file_gb"],
        "serving_questions": len(questions),
    }


def measure(store: Store, articles: Articles, questions: list[str]) -> dict[str, object]:
    """Search times as a serving khabar sees them: BLAS on one thread (``Khabar.open`` sets
    it: ``search.quiet_blas``) and what the first question starts reading already read."""
    rng = np.random.default_rng(3)
    if isinstance(store, SegmentStore):
        store.warm_up(wait=True)
    settings = SearchSettings()
    times = []
    filtered = []  # one source in twenty, the same each time (its ids remembered)
    first_filtered = []  # a different source each time (its ids looked up first)
    for i, question in enumerate(questions[:120]):
        q = rng.standard_normal(DIM).astype(np.float32)
        q /= np.linalg.norm(q)
        started = time.perf_counter()
        search(store, q, 5, settings, question=question)
        times.append(time.perf_counter() - started)
        if i < 40:
            started = time.perf_counter()
            search(store, q, 5, settings, question=question, where=Filter(source="wire-3"))
            filtered.append(time.perf_counter() - started)
            started = time.perf_counter()
            where = Filter(source=f"wire-{i % 20}", since=f"2025-{1 + i % 12:02d}-01")
            search(store, q, 5, settings, question=question, where=where)
            first_filtered.append(time.perf_counter() - started)
    one = []
    for _ in range(5):
        started = time.perf_counter()
        store.write([articles.next()])
        one.append(time.perf_counter() - started)
    times.sort()
    return {
        "ask_p50_ms": round(1000 * statistics.median(times), 1),
        "ask_p95_ms": round(1000 * times[int(0.95 * (len(times) - 1))], 1),
        "filtered_ask_p50_ms": round(1000 * statistics.median(filtered), 1),
        "first_filtered_ask_p50_ms": round(1000 * statistics.median(first_filtered), 1),
        "add_one_article_s": round(statistics.median(one), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", default="10000,100000,300000,1000000")
    parser.add_argument("--folder", type=Path, default=ROOT / "bench" / ".cache" / "scale")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    parser.add_argument(
        "--measure-only",
        action="store_true",
        help="measure the index already in --folder (no growing); adds a step to --out",
    )
    parser.add_argument(
        "--store",
        default="faiss",
        help="faiss (the default: --folder), or a Milvus: a Lite file.db or http://HOST:PORT",
    )
    args = parser.parse_args()
    quiet_blas()  # as khabar runs (before this, the bench's searches had BLAS threads spin)
    if args.store != "faiss" and args.out == parser.get_default("out"):
        kind = "lite" if args.store.endswith(".db") else "server"
        args.out = ROOT / "bench" / "results" / f"scale-milvus-{kind}.json"
    import shutil

    sentences, questions = sentences_and_questions()
    random.Random(1).shuffle(questions)
    info = real_encoder_info()
    if args.measure_only:
        measure_existing(args, info, sentences, questions)
        return
    shutil.rmtree(args.folder, ignore_errors=True)
    if args.store != "faiss":
        drop_collections(args.store, "", PREFIX)
    store = open_index(args.folder, info, args.store)
    articles = Articles(sentences)
    results: dict[str, object] = {
        "what": "store costs only; STAND-IN ENCODER (random unit vectors, dim 896)",
        "store": store.describe().get("milvus_version", "faiss"),
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, "
        f"Python {platform.python_version()}",
        "steps": [],
    }
    paragraphs = 0
    for target in [int(s) for s in args.steps.split(",")]:
        started = time.perf_counter()
        grown = 0
        group: list[PendingArticle] = []
        while paragraphs + grown < target:
            article = articles.next()
            group.append(article)
            grown += len(article.chunks)
            if sum(len(p.chunks) for p in group) >= 256:  # as `khabar add` writes
                store.write(group)
                group = []
        if group:
            store.write(group)
        bulk = grown / (time.perf_counter() - started)
        paragraphs += grown
        step: dict[str, object] = {"paragraphs": store.counts()[1], "spans": store.counts()[2]}
        step["bulk_paragraphs_per_s"] = round(bulk, 1)
        step.update(measure(store, articles, questions))
        paragraphs = store.counts()[1]
        lite = args.store.endswith(".db")
        if lite:  # Milvus Lite serves one process at a time: let the new ones open it
            store.close()
        step.update(cold_ask(args.folder, questions[0], args.store))
        step.update(serving_memory(args.folder, questions[:200], args.store))
        if lite:
            store = open_index(args.folder, info, args.store)
        size = int(store.describe()["size_bytes"])  # 0: a server's (not on this disk)
        step["disk_per_paragraph_kb"] = round(size / paragraphs / 1000, 2) if size else None
        if isinstance(store, SegmentStore):
            step["segments"] = {
                k: [(s.record.layout, s.count) for s in c.segments]
                for k, c in store.collections.items()
            }
        step["writer_peak_rss_gb"] = round(  # the bench process: it writes and searches
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2
        )
        results["steps"].append(step)  # type: ignore[union-attr]
        print(json.dumps(step), flush=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    store.close()


def measure_existing(
    args: argparse.Namespace, info: EncoderInfo, sentences: list[str], questions: list[str]
) -> None:
    """One more step's figures (no bulk add) for the index in ``args.folder``."""
    store = SegmentStore.open(args.folder, info, lambda t: np.zeros((len(t), DIM)), "bench")
    articles = Articles(sentences, seed=store.counts()[0])
    articles.n = store.counts()[0] + 1_000_000  # fresh article ids
    step: dict[str, object] = {"paragraphs": store.counts()[1], "spans": store.counts()[2]}
    step.update(measure(store, articles, questions))
    step.update(cold_ask(args.folder, questions[0]))
    step.update(serving_memory(args.folder, questions[:200]))
    step["disk_per_paragraph_kb"] = round(store.size_on_disk() / store.counts()[1] / 1000, 2)
    results = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    results.setdefault("measured_again", []).append({"date": date.today().isoformat(), **step})
    print(json.dumps(step), flush=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    store.close()


if __name__ == "__main__":
    main()
