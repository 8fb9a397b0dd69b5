"""Command line of the write path: `parse`, `reindex`, `check`, `stats`.

Exit codes: 0 done (files that could not be read are listed, not fatal); 1 nothing usable
was produced; 2 wrong arguments; 3 another reindex holds the lock; 4 index missing, outdated or
damaged (the message says what to run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from speechindex.config import ENV_CORPUS, ENV_INDEX, default_corpora, default_index_dir, limits
from speechindex.errors import CorpusError, IndexBusy, IndexMissing, IndexOutdated, NothingIndexed
from speechindex.schema import YEAR_UNKNOWN_LABEL

EXIT_OK, EXIT_NOTHING, EXIT_USAGE, EXIT_BUSY, EXIT_INDEX = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m indexer", description="Build and inspect the speech search index.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("parse", help="print a file's parsed document(s): metadata, sections, topics")
    p.add_argument("file", type=Path, help="a .txt/.md/.html/.docx/.pdf file, or a .jsonl/.csv collection")
    p.add_argument("--json", action="store_true", help="print JSON (default: a readable outline)")
    p.add_argument("--with-text", action="store_true", help="include each section's text in the readable outline")

    r = sub.add_parser("reindex", help="(re)build the index from one or more corpus folders")
    r.add_argument("--corpus", type=Path, action="append", help=f"corpus folder or file (repeatable; default ${ENV_CORPUS} or ./corpus)")
    r.add_argument("--index", type=Path, help=f"index directory (default ${ENV_INDEX} or ./var/index)")
    r.add_argument("--incremental", action="store_true", help="re-read only added, changed and removed files")
    r.add_argument("--progress", action="store_true", help="show the progress bar even when not on a terminal")
    r.add_argument("--workers", type=int, default=None, help="parallel worker processes (default: 2)")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")

    c = sub.add_parser("check", help="verify an index (pointer, manifest, document store, segments, counts)")
    c.add_argument("--index", type=Path, help=f"index directory (default ${ENV_INDEX} or ./var/index)")

    s = sub.add_parser("stats", help="counts per year, topic, kind and source")
    s.add_argument("--index", type=Path, help=f"index directory (default ${ENV_INDEX} or ./var/index)")
    s.add_argument("--json", action="store_true", help="print JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m indexer`."""
    args = _parser().parse_args(argv)
    try:
        limits()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        code = _run(args)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is handled below
        return code
    except BrokenPipeError:
        # The reader of our output went away (`… | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except IndexBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except (IndexMissing, IndexOutdated) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INDEX
    except KeyboardInterrupt:
        print("interrupted: the previous index is unchanged", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command == "parse":
        return _parse(args)
    if args.command == "reindex":
        return _reindex(args)
    if args.command == "check":
        from speechindex.check import check_index

        print(check_index(args.index or default_index_dir()))
        return EXIT_OK
    return _stats(args)


def _parse(args: argparse.Namespace) -> int:
    from indexer.pipeline import parse_raw
    from indexer.readers import read_file

    path: Path = args.file
    if not path.exists():
        print(f"error: {path} does not exist", file=sys.stderr)
        return EXIT_USAGE
    root = path.parent
    result = read_file(path, root)
    docs = []
    for raw in result.documents:
        try:
            docs.append(parse_raw(raw, root.resolve().name or "corpus"))
        except CorpusError as error:
            result.errors.append(error)
    errors = [f"{e.path}: {e.reason}" for e in result.errors]
    collection = path.suffix.lower() in {".jsonl", ".csv"}
    if args.json:
        # The parsed documents as stored, without the whole text (each section carries its own).
        out = [{k: v for k, v in d.to_json().items() if k != "text"} for d in docs]
        if collection:
            print(json.dumps(out, ensure_ascii=False, indent=2))
        elif out:
            print(json.dumps(out[0], ensure_ascii=False, indent=2))
    else:
        for d in docs:
            _print_outline(d, args.with_text)
    for e in errors:
        print(f"skipped: {e}", file=sys.stderr)
    return EXIT_OK if docs else EXIT_NOTHING


def _print_outline(doc, with_text: bool) -> None:
    print(f"{doc.title}  [{doc.year or YEAR_UNKNOWN_LABEL} · {doc.doc_kind} · {doc.source or '-'}]  {doc.source_file}")
    if doc.date:
        print(f"  date: {doc.date}" + (f"  (header dates: {', '.join(doc.dates)})" if len(doc.dates) > 1 else ""))
    if doc.topics:
        print(f"  topics: {' '.join(doc.topics)}")
    for w in doc.warnings:
        print(f"  warning: {w}")
    for s in doc.sections:
        indent = "  " * max(s.level, 1)
        topics = f"  #{' #'.join(s.topics)}" if s.topics else ""
        print(f"{indent}{s.heading or '(开头)'}  <{s.kind}> [{s.start}:{s.end}]{topics}")
        if with_text:
            print(indent + "  " + s.text[:200].replace("\n", " ") + ("…" if len(s.text) > 200 else ""))
    print()


def _reindex(args: argparse.Namespace) -> int:
    from indexer.build import reindex

    corpora = args.corpus or default_corpora()
    missing = [str(c) for c in corpora if not c.exists()]
    if missing:
        print(f"error: corpus path not found: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    if args.workers is not None and args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    index_dir = args.index or default_index_dir()
    try:
        summary = reindex(corpora, index_dir, args.incremental, True if args.progress else None, args.workers)
    except NothingIndexed as exc:
        for item in exc.skipped:
            print(f"skipped: {item['file']}: {item['reason']}", file=sys.stderr)
        print(f"error: {exc}; the previous index (if any) is unchanged", file=sys.stderr)
        return EXIT_NOTHING
    if args.json:
        print(json.dumps(summary.to_json(), ensure_ascii=False, indent=2))
    else:
        for note in summary.notes:
            print(note)
        for item in summary.skipped:
            print(f"skipped: {item['file']}: {item['reason']}")
        print(summary.line())
        print(f"index: {index_dir}/{summary.generation}")
    return EXIT_OK


def _stats(args: argparse.Namespace) -> int:
    from indexer.stats import index_stats

    stats = index_stats(args.index or default_index_dir())
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"index {stats['generation']}: {stats['documents']} documents, {stats['sections']} sections")
    for facet in ("year", "doc_kind", "source", "topic", "section_topic", "section_kind"):
        print(f"\n{facet}:")
        for value, docs, sections in stats[facet]:
            print(f"  {str(value):<24} {docs:>7} docs {sections:>9} sections")
    return EXIT_OK
