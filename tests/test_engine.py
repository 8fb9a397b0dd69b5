"""The search engine (issue #4) on the seed index and on seeds + government work reports:
every query operator, grouping of section hits into documents, totals checked against a
brute-force scan of the document store, sort orders, disjunctive facets, the null-year bucket,
traditional-character queries, synonyms, snippet marks, the trend, the exact JSON shapes,
request limits, and the `python -m search_app` command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import tantivy

from search_app.cli import main as search_main
from search_app.compile import EXPANSION_SCORE, QueryCompiler
from search_app.engine import DOC_EXTRA_WEIGHT, SearchEngine, SearchRequest
from search_app.query import parse_query
from search_app.results import Hit, SearchResult, TrendPoint
from speechindex import schema as S
from speechindex.analysis import get_analyzer
from speechindex.docstore import DocStore
from speechindex.errors import QueryError
from speechindex.location import IndexLocation
from tests.conftest import REPO

SEARCH_KEYS = {"query", "expanded", "total_docs", "total_matched", "total_sections", "took_ms", "page", "per_page", "warnings", "hits", "facets"}
HIT_KEYS = {"doc_id", "title", "year", "date", "doc_kind", "source", "source_file", "score", "sections", "versions"}
SECTION_KEYS = {"section_id", "heading", "kind", "topics", "snippet_html", "snippet"}
FACET_NAMES = {"year", "topic", "section", "doc_kind", "source"}
FACET_KEYS = {"value", "count", "selected"}
TREND_KEYS = {"query", "years"}
TREND_YEAR_KEYS = {"year", "docs", "sections", "share"}
MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
TAG = re.compile(r"<[^>]+>")

# The seed documents (corpus/README.md), by file.
D000, D001, D002, D003, D004 = (
    "000_bbde98b2ca611a02.txt",
    "001_d2615397c1deb668.txt",
    "002_2026ea8a2fbe29df.txt",
    "003_da6a1b22c78f0c54.txt",
    "004_fecf85ec079d2e15.txt",
)


# -- helpers ---------------------------------------------------------------------------------
def records(index_dir: Path) -> list[dict[str, Any]]:
    """Every document record of the served generation, straight from the document store."""
    store = DocStore(IndexLocation(index_dir).current() / S.DOCSTORE, readonly=True)
    try:
        doc_ids = [row[0] for row in store.iter_metadata()]
        return [store.get(doc_id) for doc_id in doc_ids]
    finally:
        store.close()


def compact(text: str) -> str:
    """Normalised text without whitespace: what a phrase query must find."""
    return "".join(get_analyzer().char_text(text).split())


def brute(recs: list[dict[str, Any]], *phrases: str) -> dict[str, int]:
    """doc_id → number of its sections containing every phrase (normalised, whitespace ignored)."""
    wanted = [compact(p) for p in phrases]
    out = {}
    for rec in recs:
        n = sum(
            1
            for s in rec["sections"]
            if all(w in compact(rec["text"][s["start"] : s["end"]]) for w in wanted)
        )
        if n:
            out[rec["doc_id"]] = n
    return out


def by_file(recs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["source_file"]: r for r in recs}


def search(engine: SearchEngine, q: str = "", **kwargs: Any) -> SearchResult:
    return engine.search(SearchRequest(q=q, **kwargs))


def all_hits(engine: SearchEngine, q: str = "", **kwargs: Any) -> list[Hit]:
    """Every hit of a query, page after page (50 per page), versions and duplicates unfolded."""
    hits: list[Hit] = []
    page = 1
    while True:
        result = search(engine, q, per_page=50, page=page, fold=False, **kwargs)
        hits.extend(result.hits)
        if len(hits) >= result.total_docs or not result.hits:
            return hits
        page += 1


def facet(result: SearchResult, name: str) -> list[tuple[Any, int]]:
    return [(b.value, b.count) for b in result.facets[name]]


def selected(result: SearchResult, name: str) -> list[tuple[Any, int]]:
    return [(b.value, b.count) for b in result.facets[name] if b.selected]


def section_scores(index_dir: Path, q: str) -> dict[str, float]:
    """section_id → score of every matching section, from tantivy directly (no grouping)."""
    index = S.open_tantivy(IndexLocation(index_dir).current())
    compiled = QueryCompiler(index.schema).compile(parse_query(q))
    clauses = [(tantivy.Occur.Must, p) for p in compiled.positive]
    clauses += [(tantivy.Occur.MustNot, x) for x in compiled.excluded]
    clauses += [(tantivy.Occur.Should, b) for b in compiled.boosts]  # proximity and title bonuses rank too
    searcher = index.searcher()
    hits = searcher.search(tantivy.Query.boolean_query(clauses), 100_000).hits
    return {searcher.doc(addr).get_first(S.F_SECTION_ID): score for score, addr in hits}


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seeds(seed_index: Path) -> SearchEngine:
    return SearchEngine(seed_index)


@pytest.fixture(scope="module")
def seed_recs(seed_index: Path) -> list[dict[str, Any]]:
    return records(seed_index)


@pytest.fixture(scope="module")
def speeches(speech_index: Path) -> SearchEngine:
    return SearchEngine(speech_index)


@pytest.fixture(scope="module")
def speech_recs(speech_index: Path) -> list[dict[str, Any]]:
    return records(speech_index)


# -- operators ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("q", "docs", "sections"), [("教学 质量", 3, 9), ("学校 安全", 3, 6), ("心理 健康", 3, 5), ("党建 引领", 1, 1)])
def test_words_are_all_required_in_one_section(seeds: SearchEngine, seed_recs: list, q: str, docs: int, sections: int) -> None:
    expected = brute(seed_recs, *q.split())
    result = search(seeds, q)
    assert result.expanded == []
    assert (len(expected), sum(expected.values())) == (docs, sections)
    assert (result.total_docs, result.total_sections) == (docs, sections)
    assert {h.doc_id for h in result.hits} == set(expected)


def test_exact_phrase_finds_substrings_across_word_boundaries(seeds: SearchEngine, seed_recs: list) -> None:
    text = by_file(seed_recs)[D001]["text"]
    assert "育优质均" in text
    assert "育优质均" not in get_analyzer().terms(text, "index")  # no word of the text is "育优质均"
    expected = brute(seed_recs, "育优质均")
    result = search(seeds, '"育优质均"')
    assert (result.total_docs, result.total_sections) == (len(expected), sum(expected.values())) == (5, 7)
    assert {h.doc_id for h in result.hits} == set(expected)


@pytest.mark.parametrize(("phrase", "docs", "sections"), [("集团化办学", 2, 3), ("双减", 2, 5), ("义务教育", 4, 11), ("全面发展", 3, 5), ("学校", 5, 34)])
def test_phrase_totals_match_a_hand_count(seeds: SearchEngine, seed_recs: list, phrase: str, docs: int, sections: int) -> None:
    expected = brute(seed_recs, phrase)
    assert (len(expected), sum(expected.values())) == (docs, sections)
    result = search(seeds, f'"{phrase}"', per_page=50)
    assert (result.total_docs, result.total_sections) == (docs, sections)
    assert {h.doc_id: len(h.sections) for h in result.hits} == {d: min(n, 3) for d, n in expected.items()}


def test_collected_sections_match_a_hand_count(seeds: SearchEngine, seed_recs: list) -> None:
    recs = by_file(seed_recs)
    counts = {f: recs[f]["text"].count("集团化办学") for f in (D001, D004)}
    assert counts == {D001: 4, D004: 2}
    headings = {h.source_file: [s.heading for s in h.sections] for h in search(seeds, '"集团化办学"').hits}
    assert headings == {
        D001: ["7.扎实推进集团化办学。"],
        D004: ["(四)以引育并重为路径,加强人才队伍建设。", "(五)以提升质量为目标,推进各学段持续发展。"],
    }


def test_or_matches_either(seeds: SearchEngine, seed_recs: list) -> None:
    a, b = brute(seed_recs, "集团化办学"), brute(seed_recs, "双减")
    for q in ("集团化办学 OR 双减", '"集团化办学" | "双减"'):
        result = search(seeds, q)
        assert {h.doc_id for h in result.hits} == set(a) | set(b)
        assert sorted(h.source_file for h in result.hits) == [D000, D001, D002, D004]
        assert (result.total_docs, result.total_sections) == (4, 8) == (len(set(a) | set(b)), sum(a.values()) + sum(b.values()))


def test_exclusion_removes_documents_whose_matching_sections_all_contain_the_word(seeds: SearchEngine, seed_recs: list) -> None:
    recs = by_file(seed_recs)
    # both 集团化办学 sections of 004 also mention 新名校; 001's does not
    assert brute(seed_recs, "集团化办学", "新名校") == {recs[D004]["doc_id"]: 2}
    result = search(seeds, '集团化办学 -"新名校"')
    assert [h.source_file for h in result.hits] == [D001]
    assert (result.total_docs, result.total_sections) == (1, 1)
    assert search(seeds, "集团化办学 NOT 新名校").total_docs == 1
    assert search(seeds, "教育 -教育").total_docs == 0


def test_exclusion_drops_every_document_containing_the_word(seeds: SearchEngine, seed_recs: list) -> None:
    # results are documents: a speech that says 双减 in any section is gone, not just that section
    with_word = {r["doc_id"] for r in seed_recs if "双减" in compact(r["text"])}
    kept = {d: n for d, n in brute(seed_recs, "教育").items() if d not in with_word}
    excluded = search(seeds, '"教育" -"双减"', per_page=50)
    assert (len(with_word), len(kept)) == (2, 3)
    assert (excluded.total_docs, excluded.total_sections) == (len(kept), sum(kept.values()))
    assert {h.doc_id for h in excluded.hits} == set(kept)
    assert search(seeds, "教育 NOT 双减").total_docs == len(kept)


def test_title_field(seeds: SearchEngine, seed_recs: list) -> None:
    titles = {r["doc_id"]: r["title"] for r in seed_recs}
    sections = {r["doc_id"]: len(r["sections"]) for r in seed_recs}
    result = search(seeds, "title:讲话")
    expected = {d for d, t in titles.items() if "讲话" in t}
    assert {h.doc_id for h in result.hits} == expected and len(expected) == 4
    assert result.total_sections == sum(sections[d] for d in expected) == 58
    result = search(seeds, 'title:"工作要点"')
    assert [h.title for h in result.hits] == ["2023年XX区教育工作要点"]
    assert result.total_sections == 12
    assert search(seeds, "title:双减").total_docs == 0  # 双减 is in texts, never in a title


@pytest.mark.parametrize(
    ("q", "years"),
    [
        ("year:2021..2022", [2021]),
        ("year:2023", [2023, 2023, 2023]),
        ("year:2023..2021", [2021, 2023, 2023, 2023]),
        ("year:..2022", [2021]),
        ("year:2023 集团化办学", [2023]),
    ],
)
def test_year_range(seeds: SearchEngine, q: str, years: list[int]) -> None:
    result = search(seeds, q)
    assert sorted(h.year for h in result.hits) == years
    assert result.total_docs == len(years)


def test_empty_query_with_a_filter_browses_newest_first(seeds: SearchEngine) -> None:
    result = search(seeds, "", filters={"doc_kind": ["讲话"]})
    assert [h.year for h in result.hits] == [2023, 2023, 2021, None]
    assert (result.total_docs, result.total_sections) == (4, 58)
    everything = search(seeds)
    assert (everything.total_docs, everything.total_sections) == (5, 70)
    assert [h.year for h in everything.hits] == [2023, 2023, 2023, 2021, None]


# -- grouping and sorting -------------------------------------------------------------------
@pytest.mark.parametrize("q", ["教育", "学校 安全", '"集团化办学"', "双减"])
def test_hits_are_documents_ordered_by_their_sections(seed_index: Path, seeds: SearchEngine, q: str) -> None:
    scores = section_scores(seed_index, q)
    per_doc: dict[str, list[float]] = defaultdict(list)
    for section_id, score in scores.items():
        per_doc[section_id.rsplit("-", 1)[0]].append(score)
    result = search(seeds, q, per_page=50)
    assert result.total_sections == len(scores)
    assert result.total_docs == len(per_doc) == len(result.hits)
    hit_scores = [h.score for h in result.hits]
    assert hit_scores == sorted(hit_scores, reverse=True)
    for hit in result.hits:
        shown = [scores[s.section_id] for s in hit.sections]
        assert all(s.section_id.startswith(hit.doc_id + "-") for s in hit.sections)
        # up to 3 sections: the best, and others scoring at least half of it
        expected = sorted(per_doc[hit.doc_id], reverse=True)[:3]
        assert len(shown) == len([x for x in expected if x >= expected[0] * 0.5])
        assert shown == sorted(shown, reverse=True)
        assert shown[0] == pytest.approx(max(per_doc[hit.doc_id]), abs=1e-3)
        # the document's score: its best section plus a share of each of its next two
        assert hit.score == pytest.approx(shown[0] + DOC_EXTRA_WEIGHT * sum(expected[1:3]), abs=1e-3)


@pytest.mark.shared
def test_pages_cover_every_document_once(speeches: SearchEngine, speech_recs: list) -> None:
    expected = brute(speech_recs, "教育")
    hits = all_hits(speeches, '"教育"')
    assert len(hits) == len({h.doc_id for h in hits}) == len(expected) == 72
    assert {h.doc_id for h in hits} == set(expected)
    second = search(speeches, '"教育"', per_page=50, page=2)
    assert len(second.hits) == 22 and second.page == 2


@pytest.mark.shared
@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_date_sorts_put_unknown_years_last(speeches: SearchEngine, sort: str) -> None:
    hits = all_hits(speeches, "教育", sort=sort)
    years = [h.year for h in hits]
    known = [y for y in years if y is not None]
    assert years == known + [None] * (len(years) - len(known))
    assert known == sorted(known, reverse=(sort == "newest"))
    assert (known[0], known[-1]) == ((2025, 1921) if sort == "newest" else (1921, 2025))
    assert len(years) == search(speeches, "教育").total_docs == 72


def test_sorts_on_the_seeds(seeds: SearchEngine) -> None:
    newest = [h.year for h in search(seeds, '"义务教育"', sort="newest").hits]
    oldest = [h.year for h in search(seeds, '"义务教育"', sort="oldest").hits]
    assert newest == [2023, 2023, 2021, None]
    assert oldest == [2021, 2023, 2023, None]


# -- facets --------------------------------------------------------------------------------------
@pytest.mark.shared
def test_facet_counts_match_a_hand_count(speeches: SearchEngine, speech_recs: list) -> None:
    meta = {r["doc_id"]: r for r in speech_recs}
    matched = brute(speech_recs, "义务教育")
    result = search(speeches, '"义务教育"')
    assert dict(facet(result, "year")) == dict(Counter(meta[d]["year"] for d in matched))
    assert dict(facet(result, "doc_kind")) == dict(Counter(meta[d]["doc_kind"] for d in matched))


@pytest.mark.shared
def test_selecting_a_year_keeps_the_year_counts_and_narrows_the_others(speeches: SearchEngine) -> None:
    unfiltered = search(speeches, "教育")
    chosen = search(speeches, "教育", filters={"year": ["2023"]})
    assert facet(chosen, "year") == facet(unfiltered, "year")
    assert selected(chosen, "year") == [(2023, 4)]
    assert dict(facet(chosen, "doc_kind")) == {"讲话": 2, "工作要点": 1, "工作报告": 1}
    assert sorted(h.title for h in chosen.hits) == [
        "2023年XX区教育工作要点",
        "2023年中华人民共和国国务院政府工作报告",
        "在2023年教育局工作会议上的讲话",
        "在全市校长会议上的讲话",
    ]
    assert dict(facet(unfiltered, "doc_kind")) == {"工作报告": 67, "讲话": 4, "工作要点": 1}


@pytest.mark.shared
def test_two_selected_years_match_either(speeches: SearchEngine) -> None:
    result = search(speeches, "教育", filters={"year": ["2023", "2021"]})
    assert Counter(h.year for h in result.hits) == {2023: 4, 2021: 2}
    assert result.total_docs == 6
    assert selected(result, "year") == [(2023, 4), (2021, 2)]


@pytest.mark.shared
def test_filters_of_different_facets_combine_with_and(speeches: SearchEngine) -> None:
    result = search(speeches, "教育", filters={"year": ["2023"], "doc_kind": ["讲话"]})
    assert sorted(h.title for h in result.hits) == ["在2023年教育局工作会议上的讲话", "在全市校长会议上的讲话"]
    # the year facet applies the doc_kind filter only: the 讲话 of every year
    assert facet(result, "year") == [(2023, 2), (2021, 1), (None, 1)]
    # the doc_kind facet applies the year filter only: every kind in 2023
    assert dict(facet(result, "doc_kind")) == {"讲话": 2, "工作报告": 1, "工作要点": 1}
    assert selected(result, "doc_kind") == [("讲话", 2)]


def test_a_selected_value_without_matches_stays_selected(seeds: SearchEngine) -> None:
    result = search(seeds, "集团化办学", filters={"topic": ["疫情防控"], "year": ["1800"]})
    assert result.total_docs == 0 and result.hits == []
    assert selected(result, "topic") == [("疫情防控", 0)]
    assert selected(result, "year") == [(1800, 0)]


def test_null_year_bucket(seeds: SearchEngine, seed_recs: list) -> None:
    no_year = [r for r in seed_recs if r["year"] is None]
    assert [r["source_file"] for r in no_year] == [D003]
    result = search(seeds, "义务教育")
    assert facet(result, "year") == [(2023, 2), (2021, 1), (None, 1)]
    for value in ("none", "未知", "null"):
        only = search(seeds, "义务教育", filters={"year": [value]})
        assert [h.source_file for h in only.hits] == [D003]
        assert selected(only, "year") == [(None, 1)]


def test_facet_filters_match_stored_section_values(seeds: SearchEngine) -> None:
    topic = search(seeds, "", filters={"topic": ["疫情防控"]})
    assert [h.source_file for h in topic.hits] == [D004]
    assert all("疫情防控" in s.topics for s in topic.hits[0].sections)
    kind = search(seeds, "", filters={"section": ["问题挑战"]})
    assert (kind.total_docs, kind.total_sections) == (1, 1)
    assert [(s.heading, s.kind) for s in kind.hits[0].sections] == [("二、X教育面临的现状及问题", "问题挑战")]
    assert [b.value for b in kind.facets["section"]] == ["回顾总结", "问题挑战", "部署任务", "其他"]


# -- analysis: traditional characters, synonyms, snippets -------------------------------------
def test_traditional_query_finds_simplified_text(seeds: SearchEngine) -> None:
    simplified = search(seeds, '"义务教育"')
    for q in ('"義務教育"', "義務教育"):
        result = search(seeds, q)
        assert (result.total_docs, result.total_sections) == (simplified.total_docs, simplified.total_sections) == (4, 11)
    marks = {m for h in search(seeds, "義務教育").hits for s in h.sections for m in s.snippet.matched()}
    assert marks == {"义务教育"}


@pytest.mark.shared
def test_simplified_query_marks_the_traditional_1954_report(speeches: SearchEngine) -> None:
    result = search(speeches, '"学校教育"', filters={"year": ["1954"]})
    assert [h.title for h in result.hits] == ["1954年中华人民共和国国务院政府工作报告"]
    assert set(result.hits[0].sections[0].snippet.matched()) == {"學校敎育"}


@pytest.mark.shared
def test_chinese_numeral_years_match_digits_and_marks_are_whole(speeches: SearchEngine) -> None:
    digits, numerals = search(speeches, '"1953年"', per_page=50), search(speeches, '"一九五三年"', per_page=50)
    assert (digits.total_docs, digits.total_sections) == (numerals.total_docs, numerals.total_sections) == (9, 17)
    marks = [m for h in digits.hits for s in h.sections for m in s.snippet.matched()]
    assert {"1953年", "一九五三年", "１９５３年"} <= set(marks)
    assert all(compact(unescape(m)) == "1953年" for m in marks)  # no mark is cut by a fragment boundary


def test_synonym_expansion_is_listed_and_finds_the_full_form(seeds: SearchEngine, seed_recs: list) -> None:
    assert brute(seed_recs, "义教") == {}
    full = brute(seed_recs, "义务教育")
    result = search(seeds, "义教")
    assert result.expanded == ["义教 → 义务教育"]
    assert (result.total_docs, result.total_sections) == (len(full), sum(full.values())) == (4, 11)
    assert {m for h in result.hits for s in h.sections for m in s.snippet.matched()} == {"义务教育"}


def test_literal_match_ranks_above_expanded_only_match(seeds: SearchEngine, seed_recs: list) -> None:
    literal = set(brute(seed_recs, "普高"))
    expanded_only = set(brute(seed_recs, "普通高中")) - literal
    assert len(literal) == 2 and len(expanded_only) == 2
    result = search(seeds, "普高")
    assert result.expanded == ["普高 → 普通高中"]
    order = [h.doc_id for h in result.hits]
    assert set(order[:2]) == literal and set(order[2:]) == expanded_only
    # an expansion-only section scores EXPANSION_SCORE; its document adds a share of two more such sections
    top = EXPANSION_SCORE * (1 + 2 * DOC_EXTRA_WEIGHT)
    assert all(h.score > top for h in result.hits[:2])
    assert [h.score for h in result.hits[2:]] == [pytest.approx(top), EXPANSION_SCORE]


@pytest.mark.parametrize(
    ("q", "allowed"),
    [
        ('学校 "全面发展"', r"(?:学校|全面发展)+"),
        ("集团化办学 OR 双减", r"(?:集团化办学|双减|减轻义务教育阶段学生作业负担和校外培训负担)+"),
        ("學校敎育", r"(?:学校|教育|学校教育)+"),
    ],
)
def test_snippet_marks_sit_on_query_terms_of_the_section_text(seeds: SearchEngine, q: str, allowed: str) -> None:
    result = search(seeds, q, per_page=50)
    assert result.hits
    for hit in result.hits:
        doc = seeds.document(hit.doc_id)
        for shown in hit.sections:
            section = doc.sections[int(shown.section_id.rsplit("-", 1)[1])]
            flat = section.text.replace("\r", "").replace("\n", " ")
            marks = shown.snippet.matched()
            assert marks, shown.snippet
            for mark in marks:
                assert re.fullmatch(allowed, compact(mark)), mark
            for fragment in shown.snippet.text.split("… …"):
                assert fragment.strip("…") in flat


def test_document_highlights_every_occurrence(seeds: SearchEngine, seed_recs: list) -> None:
    rec = by_file(seed_recs)[D001]
    doc = seeds.document(rec["doc_id"], '"集团化办学"')
    assert doc.matches == rec["text"].count("集团化办学") == 4
    assert [s.matches for s in doc.sections if s.matches] == [4]
    assert seeds.document("no-such-document") is None


# -- trend --------------------------------------------------------------------------------------
def test_trend_matches_a_hand_count(seeds: SearchEngine, seed_recs: list) -> None:
    years = {r["doc_id"]: r["year"] for r in seed_recs}
    per_year = Counter(years.values())
    for phrase in ("义务教育", "集团化办学", "双减"):
        matched = brute(seed_recs, phrase)
        expected: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for doc_id, n in matched.items():
            if years[doc_id] is not None:
                expected[years[doc_id]][0] += 1
                expected[years[doc_id]][1] += n
        trend = seeds.trend(f'"{phrase}"')
        assert trend.years == [TrendPoint(y, d, s, round(d / per_year[y], 4)) for y, (d, s) in sorted(expected.items())]
    assert [(r.year, r.docs, r.sections) for r in seeds.trend('"义务教育"').years] == [(2021, 1, 4), (2023, 2, 5)]


def test_trend_ignores_the_year_filter_and_applies_the_others(seeds: SearchEngine) -> None:
    assert seeds.trend("义务教育", {"year": ["2021"]}) == seeds.trend("义务教育")
    assert seeds.trend("义务教育", {"doc_kind": ["工作要点"]}).years == []


@pytest.mark.shared
def test_trend_on_the_reports(speeches: SearchEngine) -> None:
    trend = speeches.trend("教育")
    years = [r.year for r in trend.years]
    assert years == sorted(years) and len(set(years)) == len(years)
    assert all(1 <= r.docs <= r.sections for r in trend.years)
    assert sum(r.docs for r in trend.years) == 72 - 1  # every matching document but the one without a year


# -- JSON shapes, limits and the CLI --------------------------------------------------------------
def test_json_key_sets(seeds: SearchEngine) -> None:
    result = search(seeds, "双减").to_json()
    assert set(result) == SEARCH_KEYS
    assert set(result["facets"]) == FACET_NAMES
    assert all(set(b) == FACET_KEYS for values in result["facets"].values() for b in values)
    assert all(set(h) == HIT_KEYS for h in result["hits"])
    assert all(set(s) == SECTION_KEYS for h in result["hits"] for s in h["sections"])
    assert all(set(s["snippet"]) == {"text", "marks"} for h in result["hits"] for s in h["sections"])
    trend = seeds.trend("双减").to_json()
    assert set(trend) == TREND_KEYS and all(set(r) == TREND_YEAR_KEYS for r in trend["years"])
    json.dumps(result, ensure_ascii=False)


@pytest.mark.parametrize(
    "request_",
    [
        SearchRequest(q="双减", page=0),
        SearchRequest(q="双减", page=101),
        SearchRequest(q="双减", per_page=0),
        SearchRequest(q="双减", per_page=51),
        SearchRequest(q="双" * 501),
        SearchRequest(q="双减", filters={"year": [str(1990 + i) for i in range(31)]}),
        SearchRequest(q="双减", filters={"foo": ["bar"]}),
        SearchRequest(q="双减", filters={"year": ["abc"]}),
        SearchRequest(q="双减", filters={"topic": ["长" * 101]}),
        SearchRequest(q="双减", sort="foo"),
    ],
)
def test_out_of_range_requests_raise_query_error(seeds: SearchEngine, request_: SearchRequest) -> None:
    with pytest.raises(QueryError):
        seeds.search(request_)


def test_limits_themselves_are_accepted(seeds: SearchEngine) -> None:
    result = seeds.search(
        SearchRequest(q="双" * 500, page=100, per_page=50, filters={"year": [str(1990 + i) for i in range(30)]})
    )
    assert result.hits == []
    with pytest.raises(QueryError):
        seeds.trend("双" * 501)


def test_cli_search_and_trend_print_the_api_json(seed_index: Path, seeds: SearchEngine, seed_recs: list) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "search_app", "search", "双减", "--index", str(seed_index), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )
    printed = json.loads(run.stdout)
    assert set(printed) == SEARCH_KEYS
    expected = search(seeds, "双减").to_json()
    assert printed["hits"] == expected["hits"] and printed["facets"] == expected["facets"]
    run = subprocess.run(
        [sys.executable, "-m", "search_app", "trend", "双减", "--index", str(seed_index), "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
    )
    docs_2023 = sum(1 for r in seed_recs if r["year"] == 2023)
    shuangjian = {"query": "双减", "years": [{"year": 2023, "docs": 2, "sections": 5, "share": round(2 / docs_2023, 4)}]}
    assert json.loads(run.stdout) == seeds.trend("双减").to_json() == shuangjian


def test_cli_filters_and_exit_codes(seed_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert search_main(["search", "", "--index", str(seed_index), "--year", "none", "--json"]) == 0
    assert [h["source_file"] for h in json.loads(capsys.readouterr().out)["hits"]] == [D003]
    assert search_main(["search", "双减", "--index", str(seed_index), "--page", "0"]) == 2
    assert "页码" in capsys.readouterr().err
    assert search_main(["search", "双减", "--index", str(tmp_path / "missing")]) == 4
    assert "no index" in capsys.readouterr().err
    assert search_main(["trend", "双减", "--index", str(tmp_path / "missing")]) == 4
    assert search_main(["search", "双减", "--index", str(seed_index)]) == 0
    assert capsys.readouterr().out.startswith("2 篇文档，5 个段落匹配")


def test_search_reports_its_phases_and_the_profiler_reads_them(seed_index: Path) -> None:
    """`bench.profile` times the engine's own phases: it cannot drift from `SearchEngine.search`."""
    from bench.profile import profile_query

    phases: dict[str, float] = {}
    result = SearchEngine(seed_index).search(SearchRequest(q="双减"), phases=phases)
    assert result.total_docs > 0
    assert list(phases) == [
        "compile", "count + facets (one aggregation)", "top sections + grouping + folding",
        "hits: stored sections + snippets", "facets under a selection",
    ]
    assert all(ms >= 0 for ms in phases.values()) and phases["hits: stored sections + snippets"] > 0
    profile = profile_query(seed_index, passes=1)
    assert set(profile) == {*phases, "total"} and profile["total"]["p50_ms"] > 0
