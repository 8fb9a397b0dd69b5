"""Command line of the read path: `search`, `trend`, `serve`.

Exit codes: 0 ok (also when the reader of the output goes away early, as `| head` does);
2 wrong arguments, out-of-range values or a bad limit in the environment; 4 index missing or outdated.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from search_app.engine import SORTS, SearchEngine, SearchRequest
from search_app.limits import ENV, ServerLimits
from search_app.render import terminal
from search_app.results import SearchResult, TrendSeries
from speechindex.config import ENV_INDEX, default_index_dir
from speechindex.errors import IndexMissing, IndexOutdated, QueryError
from speechindex.schema import YEAR_UNKNOWN_LABEL

EXIT_OK, EXIT_USAGE, EXIT_INDEX = 0, 2, 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m search_app", description="Search the speech index.")
    sub = parser.add_subparsers(dest="command", required=True)
    index_help = f"index directory (default ${ENV_INDEX} or ./var/index)"

    s = sub.add_parser("search", help="search and list results grouped by document")
    s.add_argument("query", help='query: words (all must match), "exact phrase", OR, -exclude, title:, year:2019..2023')
    s.add_argument("--index", type=Path, help=index_help)
    s.add_argument("--year", action="append", default=[], help="year filter (repeatable; 'none' = unknown year)")
    s.add_argument("--topic", action="append", default=[], help="topic filter: documents whose main topics include it (repeatable)")
    s.add_argument("--section-topic", action="append", default=[], help="only the sections tagged with this topic themselves (repeatable)")
    s.add_argument("--section", action="append", default=[], help="section kind filter: 回顾总结/问题挑战/部署任务/其他")
    s.add_argument("--doc-kind", action="append", default=[], help="document kind filter: 讲话/工作要点/工作报告/法规/新闻/其他")
    s.add_argument("--source", action="append", default=[], help="source (collection or site) filter, e.g. 政府工作报告 (repeatable)")
    s.add_argument("--sort", choices=SORTS, default="relevance")
    s.add_argument("--page", type=int, default=1)
    s.add_argument("--per-page", type=int, default=10)
    s.add_argument("--json", action="store_true", help="print the JSON of the API")

    t = sub.add_parser("trend", help="matching documents and sections per year")
    t.add_argument("query")
    t.add_argument("--index", type=Path, help=index_help)
    t.add_argument("--json", action="store_true")

    v = sub.add_parser("serve", help="serve the web site and API with a production WSGI server")
    v.add_argument("--index", type=Path, help=index_help)
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=8000)
    v.add_argument("--threads", type=int, help=f"worker threads (default ${ENV['threads']} or {ServerLimits.threads})")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m search_app`."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        # The reader stopped reading (`| head`): not an error. Point stdout at /dev/null so that
        # the interpreter's final flush does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    index_dir = args.index or default_index_dir()
    try:
        if args.command == "serve":
            from search_app.web.serve import serve

            limits = ServerLimits.from_env()
            if args.threads is not None:
                if args.threads < 1:
                    raise ValueError("--threads must be at least 1")
                limits = replace(limits, threads=args.threads)
            return serve(index_dir, args.host, args.port, limits)
        engine = SearchEngine(index_dir)
        engine.check()
        if args.command == "search":
            req = SearchRequest(
                q=args.query,
                filters={
                    k: v
                    for k, v in {
                        "year": args.year,
                        "topic": args.topic,
                        "section_topic": args.section_topic,
                        "section": args.section,
                        "doc_kind": args.doc_kind,
                        "source": args.source,
                    }.items()
                    if v
                },
                sort=args.sort,
                page=args.page,
                per_page=args.per_page,
            )
            result = engine.search(req)
            if args.json:
                print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
            else:
                _print_results(result)
            return EXIT_OK
        trend = engine.trend(args.query)
        if args.json:
            print(json.dumps(trend.to_json(), ensure_ascii=False, indent=2))
        else:
            _print_trend(trend)
        return EXIT_OK
    except (QueryError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (IndexMissing, IndexOutdated) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INDEX


def _print_results(result: SearchResult) -> None:
    color = sys.stdout.isatty()
    print(f"{result.total_docs} 篇文档，{result.total_sections} 个段落匹配（{result.took_ms} ms，第 {result.page} 页）")
    for w in result.warnings:
        print(f"提示：{w}")
    if result.expanded:
        print("同义扩展：" + "；".join(result.expanded))
    start = (result.page - 1) * result.per_page
    for n, hit in enumerate(result.hits, start + 1):
        print()
        meta = " · ".join(str(x) for x in (hit.year or YEAR_UNKNOWN_LABEL, hit.doc_kind, hit.source) if x)
        print(f"{n}. {hit.title}  [{meta}]")
        print(f"   {hit.source_file}  doc_id={hit.doc_id}")
        for sec in hit.sections:
            topics = f"  #{' #'.join(sec.topics)}" if sec.topics else ""
            print(f"   § {sec.heading or '（开头）'}  <{sec.kind}>{topics}")
            print(f"     {terminal(sec.snippet, color)}")
    if not result.hits:
        print("没有结果：试试减少词语、去掉引号或筛选条件。")


def _print_trend(trend: TrendSeries) -> None:
    if not trend.years:
        print("没有结果")
        return
    peak = max(r.docs for r in trend.years) or 1
    for r in trend.years:
        bar = "█" * max(1, round(30 * r.docs / peak))
        print(f"{r.year}  {bar} {r.docs} 篇 / {r.sections} 段")
