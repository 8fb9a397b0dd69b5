"""The search engine behind the CLI, the JSON API and the web pages (no Flask here).

Query + filters → hits grouped by document, highlighted snippets, disjunctive facet
counts, and a per-year trend. Reads the generation named by the index's CURRENT pointer
and switches to a new one as soon as a reindex publishes it, without a restart.
"""

from __future__ import annotations

import ctypes
import functools
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tantivy

from search_app.compile import Compiled, QueryCompiler
from search_app.folding import collect, fold_map, folded_total
from search_app.highlight import MatchSpec, highlight_all, snippet
from search_app.passage import find_passage
from search_app.query import MAX_QUERY_CHARS, parse_query
from search_app.results import (
    DocSection,
    DocumentView,
    Facet,
    Hit,
    OutlineEntry,
    PassageResult,
    SearchResult,
    SectionHit,
    TrendPoint,
    Trends,
    TrendSeries,
    Version,
    YearTotal,
)
from search_app.similar import similar_documents
from search_app.suggest import Vocabulary
from speechindex import schema as S
from speechindex.check import open_generation
from speechindex.counting import count_documents, count_sections, facet_counts, summarize
from speechindex.errors import QueryError
from speechindex.location import IndexLocation
from speechindex.records import DocumentRecord, SectionPayload
from speechindex.schema import SECTION_KINDS

Occur = tantivy.Occur

# Facet name (URL parameter) → index field. "topic" is the document's main topics (doc_topics), so
# the facet counts and filters documents; within them, sections tagged with the topic rank first.
FACET_FIELDS = {"year": S.F_YEAR_KEY, "topic": S.F_DOC_TOPICS, "section": S.F_KIND, "doc_kind": S.F_DOC_KIND, "source": S.F_SOURCE}
# Filters without a facet: "section_topic" keeps only the sections tagged with a topic themselves
# (a news item or a law article about it, in a document whose main topics are others).
FILTER_FIELDS = {**FACET_FIELDS, "section_topic": S.F_TOPICS}
SORTS = ("relevance", "newest", "oldest")
MAX_PAGE = 100
MAX_PER_PAGE = 50
MAX_FILTER_VALUES = 30
SECTIONS_PER_HIT = 3
DOC_PAGE_CHARS = 100_000  # text characters on one page of a document (EDU_SEARCH_DOC_PAGE_CHARS)
MAX_OUTLINE = 500  # a longer outline lists only the sections of the page shown
RELEASE_AFTER_CHARS = 5_000_000  # after reading a longer document, the freed memory goes back to the system
SECONDARY_SECTION_RATIO = 0.5
MAX_EXCLUDED_DOCS = 1_000_000  # more documents than any collection here: -x drops every one
DOC_EXTRA_WEIGHT = 0.2  # share of a document's 2nd and 3rd best sections added to its best (see doc_score)
SECTION_TOPIC_BOOST = 2.0  # added to sections tagged with a selected topic
MAX_TREND_TERMS = 4
YEAR_TOTALS_CACHE = 64  # filter combinations whose per-year document totals are kept


def year_key(value: str) -> str:
    """The index key of a (validated) year filter value: the unknown year, or the year in ASCII digits.

    A URL may spell the year in full-width or Arabic-Indic digits (２０２３, ٢٠٢٣), as the query
    text may; int() reads them all.
    """
    value = value.strip()
    return S.YEAR_NONE if value.lower() in S.NULL_YEAR_VALUES else str(int(value))


@dataclass
class SearchRequest:
    """One search: query text, facet filters (facet → values), sort and page."""

    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1
    per_page: int = 10
    fold: bool = True  # one hit per group of versions / near-duplicates (search_app.folding)

    def validate(self) -> None:
        """Raise QueryError (→ HTTP 400) for out-of-range parameters; the query text itself never fails."""
        if len(self.q) > MAX_QUERY_CHARS:
            raise QueryError(f"查询过长：最多 {MAX_QUERY_CHARS} 个字符（当前 {len(self.q)}）")
        if self.sort not in SORTS:
            raise QueryError(f"未知的排序方式 {self.sort!r}：可选 {', '.join(SORTS)}")
        if not 1 <= self.page <= MAX_PAGE:
            raise QueryError(f"页码应在 1 到 {MAX_PAGE} 之间")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise QueryError(f"每页条数应在 1 到 {MAX_PER_PAGE} 之间")
        for name, values in self.filters.items():
            if name not in FILTER_FIELDS:
                raise QueryError(f"未知的筛选项 {name!r}：可选 {', '.join(FILTER_FIELDS)}")
            if len(values) > MAX_FILTER_VALUES:
                raise QueryError(f"筛选项 {name} 最多 {MAX_FILTER_VALUES} 个值")
            for v in values:
                if len(v) > 100:
                    raise QueryError(f"筛选值过长：{v[:20]}…")
                # isdecimal, not isdigit: isdigit() also accepts "²" or "①", which int() refuses.
                if name == "year" and v.strip().lower() not in S.NULL_YEAR_VALUES and not v.strip().isdecimal():
                    raise QueryError(f"年份筛选值应为四位数字或 none：{v!r}")


class _Generation:
    """One opened index generation: tantivy index, document store, compiler."""

    def __init__(self, path: Path) -> None:
        opened = open_generation(path)  # IndexCorrupt (→ 503 with the repair command) if damaged
        self.path = path
        self.index = opened.index
        self.schema = self.index.schema
        self.store = opened.store
        self.store_lock = threading.Lock()
        self.compiler = QueryCompiler(self.schema)
        self._year_totals: dict[tuple, dict[int, int]] = {}
        # Read the suggestion vocabulary (~0.3 s for the whole collection) before the first keystroke needs it.
        threading.Thread(target=lambda: self.vocabulary, name="load-vocabulary", daemon=True).start()

    @functools.cached_property
    def sources(self) -> list[str]:
        """Every `source` value of this generation (what a source filter may name)."""
        rows = facet_counts(self.index.searcher(), tantivy.Query.all_query(), {"s": S.F_SOURCE})["s"]
        return sorted(str(key) for key, _, _ in rows)

    @functools.cached_property
    def vocabulary(self) -> Vocabulary:
        """The suggestion vocabulary built with this generation (loaded on first use)."""
        with self.store_lock:
            return Vocabulary(self.store.suggestions())

    def record(self, doc_id: str) -> DocumentRecord | None:
        """A document's stored record, or None if unknown."""
        with self.store_lock:
            stored = self.store.get(doc_id)
        return DocumentRecord.from_json(stored) if stored is not None else None

    def check_values(self, filters: dict[str, list[str]]) -> None:
        """QueryError naming the allowed values when a source filter names a source the index does not have."""
        unknown = [v for v in filters.get("source", []) if v not in self.sources]
        if unknown:
            raise QueryError(f"未知的来源 {unknown[0]!r}：可选 {'、'.join(self.sources)}")


class SearchEngine:
    """Search over the index directory `index_dir` (the parent of the generations)."""

    def __init__(self, index_dir: Path) -> None:
        self.location = IndexLocation(index_dir)
        self._lock = threading.Lock()
        self._gen: _Generation | None = None
        self._stamp = -1

    # -- index generations -------------------------------------------------------------
    def _generation(self) -> _Generation:
        stamp = self.location.pointer_stamp()
        gen = self._gen
        if gen is not None and stamp == self._stamp:
            return gen
        with self._lock:
            if self._gen is None or stamp != self._stamp:
                path = self.location.current()
                if self._gen is None or self._gen.path != path:
                    self._gen = _Generation(path)
                self._stamp = stamp
            return self._gen

    @property
    def generation_name(self) -> str:
        """Name of the generation being served."""
        return self._generation().path.name

    def check(self) -> None:
        """Open the index now: raises IndexMissing / IndexOutdated with a how-to-fix message."""
        self._generation()

    # -- search -----------------------------------------------------------------------------
    def search(self, req: SearchRequest, phases: dict[str, float] | None = None) -> SearchResult:
        """Run one search: one page of hits grouped by document, with the facet counts.

        `phases`, when given, receives the milliseconds of each phase (for `bench.profile`).
        """
        started = time.perf_counter()
        clock = _PhaseClock(phases, started)
        req.validate()
        gen = self._generation()
        gen.check_values(req.filters)
        parsed = parse_query(req.q)
        compiled = gen.compiler.compile(parsed)
        searcher = gen.index.searcher()
        _exclude_documents(gen, searcher, compiled)
        filters = self._filters(gen, req.filters)
        main = self._query(compiled, filters)
        ranked = self._query(compiled, filters, rank=True)
        clock("compile")
        sort = req.sort
        if compiled.browse and sort == "relevance":
            sort = "newest"

        total_sections = count_sections(searcher, main)
        # One aggregation for the document total, the matching document numbers (folding) and
        # the facets that have no selection of their own (they see exactly `main`).
        shared = [name for name in FACET_FIELDS if name not in filters]
        if total_sections:
            summary = summarize(searcher, main, {name: FACET_FIELDS[name] for name in shared})
            total_docs, doc_nums = summary.documents, summary.doc_nums
            shared_counts = {name: {key: docs for key, docs, _ in rows} for name, rows in summary.facets.items()}
        else:
            total_docs, doc_nums, shared_counts = 0, [], {name: {} for name in shared}
        clock("count + facets (one aggregation)")
        docs_needed = req.page * req.per_page

        def fetch(n: int) -> list[list[tuple[float, tantivy.DocAddress]]]:
            if sort == "relevance":
                return self._group_by_relevance(searcher, ranked, n, total_sections)
            return self._group_by_date(searcher, gen, compiled, filters, ranked, n, sort)

        total_matched = total_docs
        if req.fold:
            fm = fold_map(gen)
            groups, folded = collect(fm, searcher, fetch, docs_needed, total_docs, sort == "relevance")
            total_docs = folded_total(fm, gen, searcher, main, total_docs, doc_nums)
        else:
            groups = fetch(docs_needed)
            folded = [(g, []) for g in groups]
        page_groups = folded[(req.page - 1) * req.per_page : docs_needed]
        clock("top sections + grouping + folding")
        hits = [self._hit(searcher, compiled.spec, g, versions) for g, versions in page_groups]
        clock("hits: stored sections + snippets")
        facets = self._facets(searcher, gen, compiled, req.filters, shared_counts)
        clock("facets under a selection")
        return SearchResult(
            query=_printable(req.q),
            expanded=compiled.expanded,
            total_docs=max(total_docs, len(folded)) if total_sections else 0,
            total_matched=max(total_matched, len(groups)) if total_sections else 0,
            total_sections=total_sections,
            took_ms=round((time.perf_counter() - started) * 1000, 1),
            page=req.page,
            per_page=req.per_page,
            warnings=list(dict.fromkeys(compiled.warnings)),
            hits=hits,
            facets=facets,
        )

    def _query(
        self, compiled: Compiled, filters: dict[str, tantivy.Query], skip: str | None = None, rank: bool = False
    ) -> tantivy.Query:
        """The query's Must/MustNot clauses; with `rank`, also the proximity and title bonuses (ranking only)."""
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = [(Occur.Must, q) for q in compiled.positive]
        if compiled.year_range is not None:
            clauses.append((Occur.Must, compiled.year_range))
        clauses.extend((Occur.Must, q) for name, q in filters.items() if name != skip)
        if not any(o == Occur.Must for o, _ in clauses):
            clauses.append((Occur.Must, tantivy.Query.all_query()))
        clauses.extend((Occur.MustNot, q) for q in compiled.excluded)
        if rank and compiled.positive:
            clauses.extend((Occur.Should, q) for q in compiled.boosts)
        return tantivy.Query.boolean_query(clauses)

    @staticmethod
    def _filters(gen: _Generation, selected: dict[str, list[str]]) -> dict[str, tantivy.Query]:
        out = {}
        for name, values in selected.items():
            if not values:
                continue
            if name == "year":
                values = [year_key(v) for v in values]
            values = list(dict.fromkeys(values))
            out[name] = tantivy.Query.term_set_query(gen.schema, FILTER_FIELDS[name], values)
            if name == "topic":
                # The sections that carry the topic themselves come first (and alone in a browse).
                section_topic = tantivy.Query.boost_query(tantivy.Query.term_set_query(gen.schema, S.F_TOPICS, values), SECTION_TOPIC_BOOST)
                out[name] = tantivy.Query.boolean_query([(Occur.Must, out[name]), (Occur.Should, section_topic)])
        return out

    @staticmethod
    def _group_by_relevance(
        searcher: tantivy.Searcher, query: tantivy.Query, docs_needed: int, total: int
    ) -> list[list[tuple[float, tantivy.DocAddress]]]:
        """Top sections grouped by document, documents ordered by `doc_score`."""
        limit = max(200, docs_needed * 8)
        while True:
            hits = searcher.search(query, min(limit, max(total, 1)), count=False).hits
            groups = _group(searcher, hits)
            if len(groups) >= docs_needed or len(hits) >= total:
                return sorted(groups, key=doc_score, reverse=True)
            limit *= 4

    def _group_by_date(
        self,
        searcher: tantivy.Searcher,
        gen: _Generation,
        compiled: Compiled,
        filters: dict[str, tantivy.Query],
        query: tantivy.Query,
        docs_needed: int,
        sort: str,
    ) -> list[list[tuple[float, tantivy.DocAddress]]]:
        """Documents by date (unknown dates last in both orders), each with its best sections."""
        order = tantivy.Order.Desc if sort == "newest" else tantivy.Order.Asc
        known = tantivy.Query.range_query(gen.schema, S.F_SORT_KEY, tantivy.FieldType.Integer, 1, None)
        unknown = tantivy.Query.term_query(gen.schema, S.F_YEAR_KEY, S.YEAR_NONE)
        doc_order: list[int] = []
        seen: set[int] = set()
        for part in (known, unknown):
            q = tantivy.Query.boolean_query([(Occur.Must, query), (Occur.Must, part)])
            limit = max(200, docs_needed * 8)
            while len(doc_order) < docs_needed:
                hits = searcher.search(q, limit, count=False, order_by_field=S.F_SORT_KEY, order=order).hits
                nums = S.fast_ints(searcher, S.F_DOC_NUM, [a for _, a in hits]) if hits else []
                for num in nums:
                    if num not in seen:
                        seen.add(num)
                        doc_order.append(num)
                if len(hits) < limit:
                    break
                limit *= 4
        groups = []
        for num in doc_order[:docs_needed]:
            per_doc = tantivy.Query.boolean_query(
                [
                    (Occur.Must, query),
                    # doc_num is a fast field only (not indexed): a range query works on it, a term query does not.
                    (Occur.Must, tantivy.Query.range_query(gen.schema, S.F_DOC_NUM, tantivy.FieldType.Unsigned, num, num)),
                ]
            )
            groups.append(searcher.search(per_doc, SECTIONS_PER_HIT, count=False).hits)
        return groups

    def _hit(
        self, searcher: tantivy.Searcher, spec: MatchSpec, group: list[tuple[float, tantivy.DocAddress]], versions: list[Version]
    ) -> Hit:
        sections = []
        first: SectionPayload | None = None
        doc_id = ""
        best = group[0][0] if group else 0.0
        # Weaker sections of the same speech are shown only when they are nearly as relevant.
        shown = [h for h in group[:SECTIONS_PER_HIT] if h[0] >= best * SECONDARY_SECTION_RATIO] or group[:1]
        for _score, addr in shown:
            stored = searcher.doc(addr)
            payload = SectionPayload.from_json(S.stored_payload(stored))
            doc_id = S.stored_text(stored, S.F_DOC_ID)
            first = first or payload
            section_id = S.stored_text(stored, S.F_SECTION_ID)
            fragment = snippet(payload.text, spec, skip=len(payload.heading))
            sections.append(SectionHit(section_id, payload.heading, payload.kind, payload.topics, fragment))
        meta = first or SectionPayload(title="", heading="", text="", kind="")
        return Hit(
            doc_id=doc_id,
            title=meta.title,
            year=meta.year,
            date=meta.date,
            doc_kind=meta.doc_kind,
            source=meta.source,
            source_file=meta.source_file,
            score=round(float(doc_score(group)), 4),
            sections=sections,
            versions=versions,
        )

    # -- facets and trend ---------------------------------------------------------------
    def _facets(
        self,
        searcher: tantivy.Searcher,
        gen: _Generation,
        compiled: Compiled,
        selected: dict[str, list[str]],
        shared_counts: dict[str, dict[Any, int]] | None = None,
    ) -> dict[str, list[Facet]]:
        """Disjunctive counts: each facet applies every other facet's filter, not its own.

        `shared_counts`: the counts of the facets without a selection, when the caller has them.
        """
        filters = self._filters(gen, selected)
        # Facets without a selection of their own all see the same query: one aggregation.
        shared = [name for name in FACET_FIELDS if name not in filters]
        results: dict[str, dict[Any, int]] = dict(shared_counts or {})
        if shared and shared_counts is None:
            results.update(self._aggregate(searcher, self._query(compiled, filters), shared))
        for name in filters.keys() & FACET_FIELDS.keys():
            results.update(self._aggregate(searcher, self._query(compiled, filters, skip=name), [name]))
        out = {}
        for name in FACET_FIELDS:
            chosen = selected.get(name, [])
            if name == "year":
                chosen_keys = {year_key(v) for v in chosen}
            else:
                chosen_keys = set(chosen)
            buckets = dict(results.get(name, {}))
            for key in chosen_keys:
                buckets.setdefault(key, 0)
            rows = [Facet(_facet_value(name, k), count, k in chosen_keys) for k, count in buckets.items()]
            out[name] = _order_facet(name, rows)
        return out

    @staticmethod
    def _aggregate(searcher: tantivy.Searcher, query: tantivy.Query, names: list[str]) -> dict[str, dict[Any, int]]:
        """Documents per facet key of each facet in `names`."""
        counts = facet_counts(searcher, query, {name: FACET_FIELDS[name] for name in names})
        return {name: {key: docs for key, docs, _ in rows} for name, rows in counts.items()}

    def trend(self, q: str, filters: dict[str, list[str]] | None = None) -> TrendSeries:
        """Matching documents and sections per year (other filters applied, the year filter not).

        `share` is the matching documents ÷ all documents of that year under the same other
        filters: what a term's rise or fall means once the number of documents per year is removed.
        """
        return self.trends([q], filters).series[0]

    def trends(self, queries: list[str], filters: dict[str, list[str]] | None = None) -> Trends:
        """`trend` of up to MAX_TREND_TERMS queries under the same filters, and all documents per year."""
        if not 1 <= len(queries) <= MAX_TREND_TERMS:
            raise QueryError(f"趋势对比需要 1 到 {MAX_TREND_TERMS} 个检索词（当前 {len(queries)} 个）")
        selected = dict(filters or {})
        for q in queries:
            SearchRequest(q=q, filters=selected).validate()
        gen = self._generation()
        gen.check_values(selected)
        filters_q = self._filters(gen, selected)
        searcher = gen.index.searcher()
        totals = self._year_totals(gen, searcher, filters_q, selected)
        series = []
        for q in queries:
            compiled = gen.compiler.compile(parse_query(q))
            _exclude_documents(gen, searcher, compiled)
            rows = facet_counts(searcher, self._query(compiled, filters_q, skip="year"), {"y": S.F_YEAR})["y"]
            years = sorted(
                (TrendPoint(int(key), docs, sections, _share(docs, totals.get(int(key), 0))) for key, docs, sections in rows),
                key=lambda r: r.year,
            )
            series.append(TrendSeries(_printable(q), years))
        # All documents per year under the filters: where a share is defined (a year without documents has none).
        return Trends(series, [YearTotal(y, totals[y]) for y in sorted(totals)])

    def _year_totals(
        self, gen: _Generation, searcher: tantivy.Searcher, filters: dict[str, tantivy.Query], selected: dict[str, list[str]]
    ) -> dict[int, int]:
        """Documents per year under the filters other than the year (cached per generation and filter set)."""
        key = tuple(sorted((k, tuple(sorted(v))) for k, v in selected.items() if k != "year" and v))
        cached = gen._year_totals.get(key)
        if cached is None:
            clauses = [(Occur.Must, q) for name, q in filters.items() if name != "year"] or [(Occur.Must, tantivy.Query.all_query())]
            rows = facet_counts(searcher, tantivy.Query.boolean_query(clauses), {"y": S.F_YEAR})["y"]
            cached = {int(k): docs for k, docs, _ in rows}
            if len(gen._year_totals) >= YEAR_TOTALS_CACHE:
                gen._year_totals.clear()
            gen._year_totals[key] = cached
        return cached

    def suggest(self, prefix: str, limit: int = 10) -> dict[str, Any]:
        """Terms of the collection's vocabulary that start with (first) or contain `prefix`, most used first."""
        return {"suggestions": self._generation().vocabulary.lookup(prefix, limit)}

    def record(self, doc_id: str) -> DocumentRecord | None:
        """A document's stored record (metadata, text, sections), unhighlighted; None if unknown."""
        return self._generation().record(doc_id)

    # -- versions, similar texts, passages -------------------------------------------------
    def passage(self, text: str) -> PassageResult:
        """查出处: the sections containing `text` or a close variant (search_app.passage)."""
        return find_passage(self._generation().index, text)

    def similar(self, doc_id: str) -> dict[str, Any] | None:
        """Documents sharing passages with `doc_id`, with the passages (None if unknown)."""
        return similar_documents(self._generation(), doc_id)

    # -- documents ------------------------------------------------------------------------
    def document(self, doc_id: str, q: str = "", page: int = 1, page_chars: int = DOC_PAGE_CHARS) -> DocumentView | None:
        """One page of a document: metadata, outline, and the page's sections highlighted for `q` (None if unknown).

        A document longer than `page_chars` characters is shown in pages cut at section ends (a
        longer section in pieces of a page each); with a query, the sections that match come
        first. Only the page's text is kept past the store read, so what a page costs to render
        and send is bounded whatever the document's length. QueryError for a page out of range.
        """
        gen = self._generation()
        record = gen.record(doc_id)
        if record is None:
            return None
        outline = record.sections
        compiled = gen.compiler.compile(parse_query(q)) if q.strip() else None
        spec = compiled.spec if compiled else MatchSpec(frozenset(), ())
        matched = self._matched_sections(gen, doc_id, compiled) if compiled and compiled.positive else set()
        pages = _doc_pages([s.end - s.start for s in outline], matched, page_chars)
        if not 1 <= page <= len(pages):
            raise QueryError(f"页码应在 1 到 {len(pages)} 之间")
        texts = {(n, a, b): record.text[outline[n].start + a : outline[n].start + b] for n, a, b in pages[page - 1]}
        if len(record.text) > RELEASE_AFTER_CHARS:
            record.text = ""
            for section in outline:
                section.text = ""
            _release_memory()
        page_of: dict[int, int] = {}
        for number, pieces in enumerate(pages, 1):
            for n, _start, _end in pieces:
                page_of.setdefault(n, number)
        sections = []
        for piece in pages[page - 1]:
            n, start, _end = piece
            s = outline[n]
            offset = s.start + start
            # The piece of the section on this page (all of it unless the section is longer than a page).
            fragment = highlight_all(texts[piece], spec)
            sections.append(
                DocSection(
                    f"{doc_id}-{n}", s.heading, s.level, s.kind, s.topics, s.path, s.url,
                    start=offset, end=offset + len(fragment.text), continued=start > 0, fragment=fragment,
                )
            )
        marks = {s.section_id: s.matches for s in sections}
        # A very long outline lists only the sections of this page.
        listed = range(len(outline)) if len(outline) <= MAX_OUTLINE else sorted({n for n, _s, _e in pages[page - 1]})
        entries = [
            OutlineEntry(
                f"{doc_id}-{n}", outline[n].heading, outline[n].level, outline[n].kind, outline[n].topics,
                page=page_of[n], matches=marks.get(f"{doc_id}-{n}", 1 if n in matched else 0),
            )
            for n in listed
        ]
        metadata = {k: v for k, v in vars(record).items() if k not in ("text", "sections")}
        return DocumentView(
            **metadata,
            query=_printable(q),
            outline=entries,
            outline_complete=len(outline) <= MAX_OUTLINE,
            sections=sections,
            section_count=len(outline),
            page=page,
            pages=len(pages),
            matched_sections=len(matched),
            matches=sum(marks.values()),  # on this page (the whole document when it has one page)
        )

    @staticmethod
    def _matched_sections(gen: _Generation, doc_id: str, compiled: Compiled) -> set[int]:
        """Numbers of the document's sections that match any part of the query (what the page highlights)."""
        query = tantivy.Query.boolean_query(
            [
                (Occur.Must, tantivy.Query.term_query(gen.schema, S.F_DOC_ID, doc_id)),
                (Occur.Must, tantivy.Query.boolean_query([(Occur.Should, q) for q in compiled.positive])),
            ]
        )
        searcher = gen.index.searcher()
        count = count_sections(searcher, query)
        hits = searcher.search(query, max(count, 1), count=False).hits if count else []
        return {int(S.stored_text(searcher.doc(addr), S.F_SECTION_ID).rpartition("-")[2]) for _score, addr in hits}

    def stats(self) -> dict[str, Any]:
        """Counts for the landing page."""
        gen = self._generation()
        searcher = gen.index.searcher()
        return {
            "generation": gen.path.name,
            "sections": searcher.num_docs,
            "documents": count_documents(searcher, tantivy.Query.all_query()),
        }


def _exclude_documents(gen: _Generation, searcher: tantivy.Searcher, compiled: Compiled) -> None:
    """Turn the exclusions into whole documents: `-x` drops every document with a section matching x."""
    if not compiled.excluded:
        return
    either = compiled.excluded[0] if len(compiled.excluded) == 1 else tantivy.Query.boolean_query(
        [(Occur.Should, q) for q in compiled.excluded]
    )
    # doc_id is a fast field: a terms aggregation lists the documents without reading stored ones
    buckets = searcher.aggregate(either, {"d": {"terms": {"field": S.F_DOC_ID, "size": MAX_EXCLUDED_DOCS}}})["d"]["buckets"]
    doc_ids = [b["key"] for b in buckets]
    compiled.excluded = [tantivy.Query.term_set_query(gen.schema, S.F_DOC_ID, doc_ids)] if doc_ids else []


def doc_score(group: list[tuple[float, tantivy.DocAddress]]) -> float:
    """A document's relevance: its best section plus DOC_EXTRA_WEIGHT of each of its next sections
    (up to SECTIONS_PER_HIT): a law with three articles on the topic outranks one that mentions it once."""
    if not group:
        return 0.0
    return group[0][0] + DOC_EXTRA_WEIGHT * sum(s for s, _ in group[1:SECTIONS_PER_HIT])


def _group(searcher: tantivy.Searcher, hits: list[tuple[float, tantivy.DocAddress]]) -> list[list[tuple[float, tantivy.DocAddress]]]:
    """Group scored section hits by document, keeping first-seen (best-first) order."""
    if not hits:
        return []
    nums = S.fast_ints(searcher, S.F_DOC_NUM, [a for _, a in hits])
    groups: dict[int, list[tuple[float, tantivy.DocAddress]]] = {}
    for num, hit in zip(nums, hits):
        groups.setdefault(num, []).append(hit)
    return list(groups.values())


def _share(docs: int, total: int) -> float:
    """Matching documents as a share of the year's documents (rounded for JSON)."""
    return round(docs / total, 4) if total else 0.0


def _release_memory() -> None:
    """Give the memory freed after a very large record back to the system.

    glibc keeps freed heap pages for reuse, so one huge document would leave the server that
    much larger for good; malloc_trim returns them. A no-op where glibc is not the allocator.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _doc_pages(lengths: list[int], first: set[int], page_chars: int) -> list[list[tuple[int, int, int]]]:
    """Pages of (section number, start, end) pieces of at most `page_chars` characters each.

    A document that fits on one page keeps its order. A longer one shows the sections whose
    numbers are in `first` on the first pages, then the others from a new page, each group in
    document order; a section longer than a page becomes pieces of one page each. A document
    always has a page.
    """
    numbers = range(len(lengths))
    groups = [list(numbers)]
    if sum(lengths) > page_chars and first:
        groups = [[n for n in numbers if n in first], [n for n in numbers if n not in first]]
    pages: list[list[tuple[int, int, int]]] = []
    for group in filter(None, groups):
        pages.append([])  # each group starts a page
        used = 0
        for n in group:
            for start in range(0, max(lengths[n], 1), page_chars):
                end = min(start + page_chars, lengths[n])
                if pages[-1] and used + end - start > page_chars:
                    pages.append([])
                    used = 0
                pages[-1].append((n, start, end))
                used += end - start
    return pages or [[]]


def _printable(text: str) -> str:
    """The query as given, with lone surrogates replaced so the JSON can always be encoded."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _facet_value(name: str, key: Any) -> Any:
    if name == "year":
        return None if key == S.YEAR_NONE else int(key)
    return key


def _order_facet(name: str, rows: list[Facet]) -> list[Facet]:
    if name == "year":
        return sorted(rows, key=lambda r: (r.value is None, -int(r.value or 0)))
    if name == "section":
        rank = {k: i for i, k in enumerate(SECTION_KINDS)}
        return sorted(rows, key=lambda r: rank.get(str(r.value), len(rank)))
    return sorted(rows, key=lambda r: (-r.count, str(r.value)))



class _PhaseClock:
    """Adds the milliseconds since the previous call to `phases[name]`; does nothing without `phases`."""

    def __init__(self, phases: dict[str, float] | None, started: float) -> None:
        self.phases = phases
        self.last = started

    def __call__(self, name: str) -> None:
        if self.phases is not None:
            now = time.perf_counter()
            self.phases[name] = self.phases.get(name, 0.0) + (now - self.last) * 1000
            self.last = now
