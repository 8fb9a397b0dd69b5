"""The three engines under test, each with a `build` (run in its own subprocess) and a searcher.

- ``ours``: `indexer.build.reindex` (full build, workers=2) and `SearchEngine.search`, the full
  query path (grouped hits, snippets, facets, totals); `search_bare` is the tantivy query alone.
- ``whoosh``: Whoosh-Reloaded + jieba's ``ChineseAnalyzer`` (jieba's own dictionary, search mode),
  fields title/heading/text with field boosts 3/2/1 (as ours), BM25F (Whoosh's default scoring),
  writer ``procs=1, limitmb=256``; sections parsed serially in the same process.
- ``fts5_plain``: the floor a user would compare against: no cleaning, no structure, one row per
  file (a ``.jsonl``/``.csv`` collection is one row too), rjieba search-mode words space-joined
  into an FTS5 ``unicode61`` column, 2 processes segmenting, one writer. Build only.
- ``tantivy_plain``: the same plain work into tantivy (one whitespace-tokenised, positional text
  field, the writer's heap and thread as ours): what tantivy itself costs on this machine, the
  ceiling of any build that keeps it. Build only.
- ``fts5``: SQLite FTS5 over text segmented by THIS project's analyzer (space-joined index-mode
  terms, ``tokenize='unicode61'``, which keeps a space-delimited CJK word as one token), columns
  title/heading/body weighted 3/2/1 in ``bm25()``; year and doc_kind as UNINDEXED columns for
  WHERE / GROUP BY; parse + analysis in a pool of 2 processes (like ours), one SQLite writer,
  ``journal_mode=OFF, synchronous=OFF`` and an FTS5 ``optimize`` at the end.

ours, whoosh and fts5 index the same `bench.sections.SectionRec` units. Each searcher has two calls:

- `page(bq)`: the work a results page needs, the same for every engine: the top 10 with
  highlighted snippets, the total count, and the year and doc_kind facet counts (ours: the full
  `SearchEngine.search`; Whoosh: `highlights()` + `groupedby`; FTS5: `snippet()` + `count(*)` +
  `GROUP BY`). This is the comparison the headline reports.
- `search(bq, k)` → ``(keys, total, facets)``: the bare top-k (facets only when the query asks;
  ours answers with `search_bare`, the tantivy query alone), kept as a second table.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.sections import SectionRec, corpus_files, hit_key, parse_file

ENGINES = ("ours", "whoosh", "fts5")
BUILD_ONLY = ("fts5_plain", "tantivy_plain")
PAGE_SIZE = 10
FIELD_BOOSTS = {"title": 3.0, "heading": 2.0, "text": 1.0}


@dataclass(frozen=True)
class BenchQuery:
    """One query of the mix: the query string (this project's syntax), year filter, facets wanted."""

    kind: str  # word, multi, phrase, year, facet
    q: str
    years: tuple[str, ...] = ()
    facets: bool = False


@dataclass
class BuildResult:
    """What one build subprocess reports."""

    engine: str
    seconds: float
    parse_seconds: float = 0.0
    bytes: int = 0
    sections: int = 0
    size_bytes: int = 0
    maxrss_mb: float = 0.0
    workers_maxrss_mb: float = 0.0
    notes: list[str] = field(default_factory=list)


def dir_size(path: Path) -> int:
    """Bytes on disk of all files under `path`."""
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------- builds
def build_ours(corpora: list[Path], out: Path) -> BuildResult:
    from indexer.build import reindex

    summary = reindex(corpora, out, progress=False, workers=2)
    return BuildResult("ours", summary.seconds, bytes=summary.bytes_read, sections=summary.sections, size_bytes=dir_size(out))


def whoosh_schema():
    from jieba.analyse import ChineseAnalyzer
    from whoosh import fields

    ana = ChineseAnalyzer()
    return fields.Schema(
        key=fields.ID(stored=True, unique=False),
        title=fields.TEXT(analyzer=ana, field_boost=FIELD_BOOSTS["title"]),
        heading=fields.TEXT(analyzer=ana, field_boost=FIELD_BOOSTS["heading"]),
        text=fields.TEXT(analyzer=ana, stored=True),  # stored: highlights() needs the text
        year=fields.ID(stored=True, sortable=True),
        doc_kind=fields.ID(stored=True, sortable=True),
    )


def build_whoosh(corpora: list[Path], out: Path) -> BuildResult:
    import jieba
    from whoosh import index

    started = time.perf_counter()
    jieba.initialize()
    tasks = corpus_files(corpora)
    secs: list[SectionRec] = []
    for t in tasks:
        secs.extend(parse_file(t))
    parsed = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(out), whoosh_schema())
    writer = ix.writer(procs=1, limitmb=256)
    for s in secs:
        writer.add_document(
            key=s.key,
            title=s.title,
            heading=s.heading,
            text=s.text,
            year=str(s.year) if s.year is not None else "none",
            doc_kind=s.doc_kind,
        )
    writer.commit()
    done = time.perf_counter()
    return BuildResult(
        "whoosh", done - started, parse_seconds=parsed - started, bytes=sum(t[3] for t in tasks),
        sections=len(secs), size_bytes=dir_size(out), notes=["writer procs=1, limitmb=256"],
    )


def _fts5_rows(task: tuple[str, str, str, int]) -> list[tuple]:
    from speechindex.analysis import get_analyzer

    ana = get_analyzer()
    return [
        (s.key, s.doc_key, s.year if s.year is not None else -1, s.doc_kind,
         ana.index_text(s.title), ana.index_text(s.heading), ana.index_text(s.text))
        for s in parse_file(task)
    ]


FTS5_DDL = (
    "CREATE VIRTUAL TABLE sec USING fts5(key UNINDEXED, doc UNINDEXED, year UNINDEXED, doc_kind UNINDEXED, "
    "title, heading, body, tokenize='unicode61')"
)


def build_fts5(corpora: list[Path], out: Path, workers: int = 2) -> BuildResult:
    from speechindex.analysis import get_analyzer

    started = time.perf_counter()
    get_analyzer()
    tasks = corpus_files(corpora)
    out.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(out / "fts5.sqlite")
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute(FTS5_DDL)
    n = 0
    # biggest files first, so the pool is not left waiting on one big collection at the end
    order = sorted(tasks, key=lambda t: -t[3])
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        for rows in pool.imap_unordered(_fts5_rows, order, chunksize=1):
            db.executemany("INSERT INTO sec VALUES (?,?,?,?,?,?,?)", rows)
            n += len(rows)
    db.execute("INSERT INTO sec(sec) VALUES('optimize')")
    db.commit()
    db.close()
    return BuildResult(
        "fts5", time.perf_counter() - started, bytes=sum(t[3] for t in tasks), sections=n,
        size_bytes=dir_size(out), notes=[f"parse+analysis in {workers} processes; journal_mode=OFF"],
    )


def _plain_rows(task: tuple[str, str, str, int]) -> tuple[str, str]:
    """One raw file as (path, rjieba search-mode words space-joined): no cleaning, no structure."""
    import rjieba

    path = task[1]
    text = Path(path).read_bytes().decode("utf-8", errors="replace")
    return path, " ".join(w for w in rjieba.cut_for_search(text) if not w.isspace())


def build_fts5_plain(corpora: list[Path], out: Path, workers: int = 2) -> BuildResult:
    """The afternoon's build: raw files, rjieba, FTS5; one row per file."""
    started = time.perf_counter()
    tasks = sorted(corpus_files(corpora), key=lambda t: -t[3])
    out.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(out / "fts5.sqlite")
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("CREATE VIRTUAL TABLE doc USING fts5(path UNINDEXED, body, tokenize='unicode61')")
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        for row in pool.imap_unordered(_plain_rows, tasks, chunksize=4):
            db.execute("INSERT INTO doc VALUES (?,?)", row)
    db.execute("INSERT INTO doc(doc) VALUES('optimize')")
    db.commit()
    db.close()
    return BuildResult(
        "fts5_plain", time.perf_counter() - started, bytes=sum(t[3] for t in tasks), sections=len(tasks),
        size_bytes=dir_size(out), notes=[f"raw files, rjieba search mode, {workers} processes, one row per file"],
    )


def build_tantivy_plain(corpora: list[Path], out: Path, workers: int = 2) -> BuildResult:
    """`build_fts5_plain`'s work with tantivy as the store: raw files, rjieba, one document per file."""
    import tantivy

    from indexer.build import WRITER_HEAP

    started = time.perf_counter()
    tasks = sorted(corpus_files(corpora), key=lambda t: -t[3])
    out.mkdir(parents=True, exist_ok=True)
    schema = (
        tantivy.SchemaBuilder()
        .add_text_field("path", stored=True, tokenizer_name="raw")
        .add_text_field("body", tokenizer_name="ws", index_option="position")
        .build()
    )
    index = tantivy.Index(schema, path=str(out))
    index.register_tokenizer("ws", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        writer = index.writer(WRITER_HEAP, 1)
        for path, body in pool.imap_unordered(_plain_rows, tasks, chunksize=4):
            writer.add_document(tantivy.Document(path=path, body=body))
        writer.commit()
        writer.wait_merging_threads()
    return BuildResult(
        "tantivy_plain", time.perf_counter() - started, bytes=sum(t[3] for t in tasks), sections=len(tasks),
        size_bytes=dir_size(out), notes=[f"raw files, rjieba search mode, {workers} processes, one document per file"],
    )


BUILDERS = {
    "ours": build_ours, "whoosh": build_whoosh, "fts5": build_fts5,
    "fts5_plain": build_fts5_plain, "tantivy_plain": build_tantivy_plain,
}


# -------------------------------------------------------------------------------- searchers
class OursSearcher:
    """`SearchEngine.search`: what users get (JSON with grouped hits, snippets, facets)."""

    name = "ours"

    def __init__(self, index_dir: Path) -> None:
        from search_app.engine import SearchEngine

        self.engine = SearchEngine(index_dir)
        self.engine.check()

    def request(self, bq: BenchQuery, per_page: int = 10) -> Any:
        """`SearchEngine.search` of the query: a `search_app.results.SearchResult`."""
        from search_app.engine import SearchRequest

        filters = {"year": list(bq.years)} if bq.years else {}
        return self.engine.search(SearchRequest(q=bq.q, filters=filters, per_page=per_page))

    def page(self, bq: BenchQuery) -> Any:
        """A results page: grouped top 10 with snippets, totals and every facet."""
        return self.request(bq, per_page=PAGE_SIZE)

    def search(self, bq: BenchQuery, k: int = 20) -> tuple[list[str], int, dict]:
        res = self.request(bq, per_page=min(50, max(10, k)))
        keys = [hit_key(h.source_file, s.section_id) for h in res.hits for s in h.sections][:k]
        return keys, res.total_sections, res.facets

    def search_bare(self, bq: BenchQuery, k: int = 20, with_keys: bool = False) -> tuple[list[str], int, dict]:
        """The tantivy query alone: compile + top-k sections + count (no grouping, snippets, facets)."""
        import json

        from search_app.query import parse_query
        from speechindex import schema as S

        eng = self.engine
        gen = eng._generation()
        compiled = gen.compiler.compile(parse_query(bq.q))
        main = eng._query(compiled, eng._filters(gen, {"year": list(bq.years)} if bq.years else {}))
        searcher = gen.index.searcher()
        res = searcher.search(main, k, count=True)
        keys = []
        if with_keys:
            for _, addr in res.hits:
                doc = searcher.doc(addr)
                payload = json.loads(doc.get_first(S.F_PAYLOAD))
                n = int(doc.get_first(S.F_SECTION_ID).rsplit("-", 1)[1])
                keys.append(f"{payload['source_file']}::{n}")
        return keys, res.count, {}


class WhooshSearcher:
    name = "whoosh"

    def __init__(self, index_dir: Path) -> None:
        import jieba
        from whoosh import index, qparser

        jieba.setLogLevel(60)
        jieba.initialize()
        self.ix = index.open_dir(str(index_dir))
        self.searcher = self.ix.searcher()
        self.parser = qparser.MultifieldParser(["title", "heading", "text"], self.ix.schema, group=qparser.AndGroup)

    def _filter(self, bq: BenchQuery):
        from whoosh import query as wq

        return wq.Or([wq.Term("year", y) for y in bq.years]) if bq.years else None

    def page(self, bq: BenchQuery) -> dict[str, Any]:
        """A results page: top 10 with `highlights()`, the total, `groupedby` year and doc_kind."""
        from whoosh import sorting

        grouped = {
            "year": sorting.FieldFacet("year", maptype=sorting.Count),
            "doc_kind": sorting.FieldFacet("doc_kind", maptype=sorting.Count),
        }
        r = self.searcher.search(self.parser.parse(bq.q), limit=PAGE_SIZE, filter=self._filter(bq), groupedby=grouped)
        hits = [{"key": h["key"], "snippet": h.highlights("text")} for h in r[:PAGE_SIZE]]
        return {"hits": hits, "total": len(r), "facets": {name: r.groups(name) for name in grouped}}

    def search(self, bq: BenchQuery, k: int = 20) -> tuple[list[str], int, dict]:
        from whoosh import sorting

        q = self.parser.parse(bq.q)
        flt = self._filter(bq)
        grouped = None
        if bq.facets:
            grouped = {
                "year": sorting.FieldFacet("year", maptype=sorting.Count),
                "doc_kind": sorting.FieldFacet("doc_kind", maptype=sorting.Count),
            }
        r = self.searcher.search(q, limit=k, filter=flt, groupedby=grouped)
        keys = [h["key"] for h in r[:k]]
        facets = {name: r.groups(name) for name in grouped} if grouped else {}
        return keys, len(r), facets

    def close(self) -> None:
        self.searcher.close()


class Fts5Searcher:
    name = "fts5"

    def __init__(self, index_dir: Path) -> None:
        from speechindex.analysis import get_analyzer

        self.db = sqlite3.connect(Path(index_dir) / "fts5.sqlite", check_same_thread=False)
        self.analyzer = get_analyzer()

    def match_expr(self, q: str) -> str:
        """This project's query syntax → an FTS5 MATCH expression (words: AND of query terms; "…": phrase)."""
        from search_app.compile import STOP_TERMS
        from search_app.query import Phrase, parse_query

        parts = []
        for group in parse_query(q).groups:
            atom = group[0]
            terms = self.analyzer.terms(atom.text, "query")
            kept = [t for t in terms if t not in STOP_TERMS] or terms
            kept = [t.replace('"', '""') for t in kept]
            if not kept:
                continue
            if isinstance(atom, Phrase):
                parts.append('"' + " ".join(kept) + '"')
            else:
                parts.extend(f'"{t}"' for t in dict.fromkeys(kept))
        return " AND ".join(parts)

    def _where(self, bq: BenchQuery) -> tuple[str, list[Any]] | None:
        expr = self.match_expr(bq.q)
        if not expr:
            return None
        where = "sec MATCH ?"
        args: list[Any] = [expr]
        if bq.years:
            where += f" AND year IN ({','.join('?' * len(bq.years))})"
            args.extend(int(y) for y in bq.years)
        return where, args

    def _facets(self, where: str, args: list[Any]) -> dict[str, dict]:
        return {
            col: dict(self.db.execute(f"SELECT {col}, count(DISTINCT doc) FROM sec WHERE {where} GROUP BY {col}", args).fetchall())
            for col in ("year", "doc_kind")
        }

    def page(self, bq: BenchQuery) -> dict[str, Any]:
        """A results page: top 10 with `snippet()`, `count(*)`, `GROUP BY` year and doc_kind."""
        clause = self._where(bq)
        if clause is None:
            return {"hits": [], "total": 0, "facets": {}}
        where, args = clause
        hits = self.db.execute(
            f"SELECT key, snippet(sec, 6, '<mark>', '</mark>', '…', 24) FROM sec WHERE {where} "
            f"ORDER BY bm25(sec, 0, 0, 0, 0, 3.0, 2.0, 1.0) LIMIT {PAGE_SIZE}", args
        ).fetchall()
        total = self.db.execute(f"SELECT count(*) FROM sec WHERE {where}", args).fetchone()[0]
        return {"hits": hits, "total": total, "facets": self._facets(where, args)}

    def search(self, bq: BenchQuery, k: int = 20) -> tuple[list[str], int, dict]:
        clause = self._where(bq)
        if clause is None:
            return [], 0, {}
        where, args = clause
        keys = [
            r[0]
            for r in self.db.execute(
                f"SELECT key FROM sec WHERE {where} ORDER BY bm25(sec, 0, 0, 0, 0, 3.0, 2.0, 1.0) LIMIT {int(k)}", args
            )
        ]
        total = self.db.execute(f"SELECT count(*) FROM sec WHERE {where}", args).fetchone()[0]
        return keys, total, self._facets(where, args) if bq.facets else {}

    def close(self) -> None:
        self.db.close()


SEARCHERS = {"ours": OursSearcher, "whoosh": WhooshSearcher, "fts5": Fts5Searcher}


def open_searcher(engine: str, index_dir: Path):
    """A searcher for an engine's index directory."""
    return SEARCHERS[engine](index_dir)


def cpu_count() -> int:
    return os.cpu_count() or 1
