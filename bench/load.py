"""Load benchmark: concurrent clients asking XQuAD questions against POST /api/ask,
while an article is being added through POST /api/articles.

The server (`khabar serve`, a separate process on 127.0.0.1) holds the sample article plus
the 240 XQuAD Arabic passages (copied from bench/.cache, built by quality.py, or built here).
Each client asks a question, waits for the answer, then "reads" for a think time drawn
uniformly from 0.5-1.5 s (a person in a wiki, not a flood), for --seconds. For 1, 10 and 50
clients: requests/s, errors, and p50/p95/p99 latency. A separate closed-loop run (no think
time) gives the saturation throughput.

Clients start spread over the first 1.5 s (one think time), as people arrive, not all at
the same instant.

Run: python bench/load.py [--seconds 30] [--engine onnx|bundled]; writes
bench/results/load.json (the ONNX engine, the server's default) or load-bundled.json (the
bundled engine, `fast_engine = false`).

Scaling out: python bench/load.py --store http://127.0.0.1:19530 --servers 2 runs that many
`khabar serve` processes over one Milvus (the index copied there with `khabar migrate`,
collections under the prefix ``bench_load_``); each client asks one of them (client i the
server i mod N) and the article is added through the first. Writes load-milvus-N.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

HERE = Path(__file__).parent
ROOT = HERE.parent
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_index(folder: Path, env: dict[str, str]) -> None:
    cached = HERE / ".cache" / "xquad-index-use"  # quality.py's, with the second model
    if (cached / "manifest.json").exists():
        shutil.copytree(cached, folder)
    else:
        passages = ROOT / "data" / "xquad" / "xquad.ar.json"
        data = json.loads(passages.read_text(encoding="utf-8"))["data"]
        lines = [
            json.dumps(
                {"id": f"x{a}-{p}", "title": art["title"], "text": par["context"]},
                ensure_ascii=False,
            )
            for a, art in enumerate(data)
            for p, par in enumerate(art["paragraphs"])
        ]
        bulk = folder.parent / "xquad.jsonl"
        bulk.write_text("\n".join(lines), encoding="utf-8")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "khabar.cli",
                "add",
                str(bulk),
                "--index",
                str(folder),
                "--quiet",
            ],
            check=True,
            env=env,
        )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "khabar.cli",
            "add",
            "--index",
            str(folder),
            "--quiet",
            str(ROOT / "src" / "khabar" / "samples"),
        ],
        check=True,
        env=env,
    )


def questions() -> list[str]:
    out = []
    for name in ("xquad.en.json", "xquad.ar.json"):
        data = json.loads((ROOT / "data" / "xquad" / name).read_text(encoding="utf-8"))["data"]
        out += [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    random.Random(7).shuffle(out)
    return out


async def client(
    http: httpx.AsyncClient,
    pool: list[str],
    until: float,
    think: bool,
    rng: random.Random,
    latencies: list[float],
    errors: list[str],
) -> None:
    if think:  # clients arrive spread over one think time, not all at the same instant
        await asyncio.sleep(rng.uniform(0, 1.5))
    while time.monotonic() < until:
        question = rng.choice(pool)
        started = time.perf_counter()
        try:
            response = await http.post("/api/ask", json={"question": question, "k": 5})
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:100]}")
        except httpx.HTTPError as exc:
            errors.append(repr(exc))
        latencies.append((time.perf_counter() - started) * 1000)
        if think:
            await asyncio.sleep(rng.uniform(0.5, 1.5))


async def add_articles_meanwhile(http: httpx.AsyncClient, until: float) -> int:
    """Add (and replace) a long Arabic article over and over while the clients ask."""
    sample = (ROOT / "src" / "khabar" / "samples" / "putin-syria-ministers.ar.txt").read_text(
        encoding="utf-8"
    )
    added = 0
    while time.monotonic() < until:
        text = "\n".join(
            f"{line} ({added}-{i})"
            for i, line in enumerate(sample.splitlines() * 3)
            if line.strip()
        )
        response = await http.post(
            "/api/articles",
            json={"text": text, "title": "load test", "id": "load-test"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=300,
        )
        response.raise_for_status()
        added += 1
    return added


async def run(
    urls: list[str], n: int, seconds: float, think: bool, pool: list[str]
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=n + 2, max_keepalive_connections=n + 2)
    https = [httpx.AsyncClient(base_url=url, timeout=60, limits=limits) for url in urls]
    try:
        for http in https:
            await http.post("/api/ask", json={"question": "warm up"})
        latencies: list[float] = []
        errors: list[str] = []
        until = time.monotonic() + seconds
        started = time.perf_counter()
        writer = asyncio.create_task(add_articles_meanwhile(https[0], until))
        await asyncio.gather(
            *(
                client(https[i % len(https)], pool, until, think, rng, latencies, errors)
                for i, rng in ((i, random.Random(i)) for i in range(n))
            )
        )
        adds = await writer
        elapsed = time.perf_counter() - started
    finally:
        for http in https:
            await http.aclose()
    return {
        "clients": n,
        "think_time": "0.5-1.5 s" if think else "none (closed loop)",
        "requests": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "articles_added_meanwhile": adds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument(
        "--engine",
        choices=("onnx", "bundled"),
        default="onnx",
        help="the server's engine: onnx (the default; built in bench/.cache/engine before the "
        "server starts answering) or bundled",
    )
    parser.add_argument("--store", default="faiss", help="faiss, or a Milvus server address")
    parser.add_argument("--servers", type=int, default=1, help="khabar servers (with --store)")
    parser.add_argument("--out", type=Path, help="where to write the results (default: by kind)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="khabar-load-"))
    folder = work / "index"
    env = {**os.environ, "KHABAR_API_TOKEN": TOKEN, "KHABAR_INDEX": str(folder)}
    if args.engine == "onnx":
        env["KHABAR_EXPORT_DIR"] = str(HERE / ".cache" / "engine")
        env["KHABAR_FAST_ENGINE"] = "true"
    else:
        env["KHABAR_MODEL"] = "bundled"
    prepare_index(folder, env)
    if args.store != "faiss":
        from khabar.store.opening import drop_collections

        drop_collections(args.store, "", "bench_load_")
        command = [sys.executable, "-m", "khabar.cli", "migrate", "--index", str(folder)]
        subprocess.run([*command, "--to", args.store, "--to-prefix", "bench_load_"], check=True)
        env.update(KHABAR_STORE=args.store, KHABAR_MILVUS_COLLECTION_PREFIX="bench_load_")
    ports = [free_port() for _ in range(args.servers)]
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "khabar.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 240
        for url, server in zip(urls, servers, strict=True):
            while True:
                try:
                    if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("a server did not start")
                time.sleep(0.5)
        engine = httpx.get(urls[0] + "/api/health", timeout=5).json()["engine"]
        print(f"server engine: {engine}; {len(urls)} servers; store {args.store}", flush=True)
        pool = questions()
        rows = []
        for n, think in ((1, True), (10, True), (50, True), (10, False)):
            row = asyncio.run(run(urls, n, args.seconds, think, pool))
            rows.append(row)
            print(json.dumps(row, ensure_ascii=False))
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    out = HERE / "results" / ("load.json" if args.engine == "onnx" else "load-bundled.json")
    if args.store != "faiss":
        out = HERE / "results" / f"load-milvus-{args.servers}.json"
    out = args.out or out
    out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "seconds": args.seconds,
                "engine": engine,
                "store": args.store,
                "servers": args.servers,
                "rows": rows,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
