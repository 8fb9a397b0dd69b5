"""Research tools through the API: the source facet, trends as a share of each year, export, citation, suggestions.

Expected values are counted by hand from the document store of the seed index, never hard-coded
from the engine's own output.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from indexer.build import reindex
from search_app import export
from search_app.cli import main as search_main
from search_app.engine import SearchEngine, SearchRequest
from search_app.suggest import MAX_PREFIX_CHARS
from search_app.web import create_app
from speechindex import schema as S
from speechindex.analysis import get_analyzer
from speechindex.docstore import DocStore
from speechindex.location import IndexLocation
from tests.conftest import CORPUS


def store_records(index_dir: Path) -> list[dict[str, Any]]:
    """Every document record of the served generation, straight from the document store."""
    store = DocStore(IndexLocation(index_dir).current() / S.DOCSTORE, readonly=True)
    try:
        return [store.get(row[0]) for row in store.iter_metadata()]
    finally:
        store.close()


@pytest.fixture(scope="module")
def recs(seed_index: Path) -> list[dict[str, Any]]:
    return store_records(seed_index)


@pytest.fixture(scope="module")
def client(seed_index: Path):
    return create_app({"INDEX_DIR": seed_index}).test_client()


@pytest.fixture(scope="module")
def engine(seed_index: Path) -> SearchEngine:
    return SearchEngine(seed_index)


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# -- source facet ----------------------------------------------------------------------------
def test_source_facet_counts_every_document_by_its_source(client, recs):
    facet = client.get("/api/search").get_json()["facets"]["source"]
    assert {row["value"]: row["count"] for row in facet} == Counter(r["source"] for r in recs)
    assert len(facet) >= 2  # the seeds come from more than one collection


def test_source_filter_narrows_the_hits_and_keeps_its_own_counts(client, recs):
    expected = Counter(r["source"] for r in recs)
    source = min(expected, key=lambda s: (expected[s], s))
    data = client.get("/api/search", query_string={"source": source, "per_page": 50}).get_json()
    assert data["total_docs"] == expected[source]
    assert data["hits"] and {h["source"] for h in data["hits"]} == {source}
    facet = {row["value"]: (row["count"], row["selected"]) for row in data["facets"]["source"]}
    # Disjunctive: the source facet ignores its own selection, so every source keeps its count.
    assert facet == {s: (n, s == source) for s, n in expected.items()}


def test_unknown_source_is_a_400_naming_the_allowed_values(client, recs):
    for path in ("/api/search", "/api/trend"):
        response = client.get(path, query_string={"q": "教育", "source": "不存在的来源"})
        assert response.status_code == 400
        message = response.get_json()["error"]
        assert "不存在的来源" in message and all(r["source"] in message for r in recs)
    page = client.get("/search", query_string={"q": "教育", "source": "不存在的来源"})
    assert page.status_code == 400 and "可选" in page.get_data(as_text=True)


def test_search_page_shows_the_source_facet_and_chip(client, recs):
    source = recs[0]["source"]
    html = client.get("/search", query_string={"q": "教育", "source": source}).get_data(as_text=True)
    assert 'data-facet="source"' in html and "<h3>来源</h3>" in html
    assert f"来源：{source}" in html  # the chip of the active filter


def test_cli_source_filter(seed_index, recs, capsys):
    source = recs[0]["source"]
    assert search_main(["search", "", "--index", str(seed_index), "--source", source, "--per-page", "50", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert len(hits) == sum(1 for r in recs if r["source"] == source)
    assert search_main(["search", "", "--index", str(seed_index), "--source", "不存在的来源"]) == 2


# -- trends ------------------------------------------------------------------------------------
def test_trend_share_is_matching_over_all_documents_of_the_year(client, recs):
    per_year = Counter(r["year"] for r in recs if r["year"] is not None)
    data = client.get("/api/trend", query_string=[("q", "教育"), ("q", "双减"), ("normalize", "share")]).get_json()
    assert data["normalize"] == "share"
    assert [s["query"] for s in data["series"]] == ["教育", "双减"]
    for series in data["series"]:
        assert series["years"]
        for row in series["years"]:
            assert row["share"] == round(row["docs"] / per_year[row["year"]], 4)
    shuangjian = {r["year"]: r for r in data["series"][1]["years"]}
    assert shuangjian[2023]["docs"] == sum(1 for r in recs if r["year"] == 2023 and "双减" in r["text"])


def test_trend_share_respects_the_other_filters(client, recs):
    kind = "讲话"
    per_year = Counter(r["year"] for r in recs if r["year"] is not None and r["doc_kind"] == kind)
    data = client.get("/api/trend", query_string={"q": "教育", "doc_kind": kind, "year": "2021"}).get_json()
    years = data["series"][0]["years"]
    assert {r["year"] for r in years} <= set(per_year) and len(years) > 1  # the year filter does not apply
    for row in years:
        assert row["share"] == round(row["docs"] / per_year[row["year"]], 4)


def test_trend_bad_input(client):
    five = [("q", t) for t in ("教育", "学校", "教师", "学生", "课程")]
    response = client.get("/api/trend", query_string=five)
    assert response.status_code == 400 and "4" in response.get_json()["error"]
    assert client.get("/api/trend", query_string=five[:4]).status_code == 200
    assert client.get("/api/trend", query_string={"q": "教育", "normalize": "ratio"}).status_code == 400
    assert client.get("/search", query_string=[("q", "教育"), *[("vs", t) for _, t in five[1:]]]).status_code == 400
    assert client.get("/search", query_string={"q": "教育", "trend": "ratio"}).status_code == 400


def test_trend_without_words_is_every_document(client, recs):
    data = client.get("/api/trend").get_json()
    years = data["series"][0]["years"]
    assert {r["year"]: r["docs"] for r in years} == Counter(r["year"] for r in recs if r["year"] is not None)
    assert all(r["share"] == 1.0 for r in years)


def test_results_page_draws_both_terms_with_a_value_table(client):
    html = client.get("/search", query_string=[("q", "教育"), ("vs", "双减")]).get_data(as_text=True)
    assert html.count('class="series s') == 2
    assert 'data-term="双减"' in html and 'class="trend-table"' in html
    assert 'role="img"' not in html  # the year links inside the chart must stay reachable


# -- export --------------------------------------------------------------------------------------
def test_csv_export_starts_with_the_rows_of_the_first_page(client):
    page = client.get("/api/search", query_string={"q": "教育"}).get_json()
    response = client.get("/api/search", query_string={"q": "教育", "format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = csv_rows(response.data)
    assert tuple(rows[0]) == export.COLUMNS
    shown = [(h["title"], s["heading"]) for h in page["hits"] for s in h["sections"]]
    assert [(r[1], r[6]) for r in rows[1 : len(shown) + 1]] == shown
    total_shown = client.get("/api/search", query_string={"q": "教育", "per_page": 50}).get_json()
    assert len(rows) - 1 == sum(len(h["sections"]) for h in total_shown["hits"])  # < 1,000: every row
    first = page["hits"][0]
    assert rows[1][9].endswith(f"/doc/{first['doc_id']}#{first['sections'][0]['section_id']}")
    assert "<mark>" not in response.get_data(as_text=True)


def test_xlsx_export_has_the_csv_rows(client):
    params = {"q": "双减", "sort": "newest"}
    rows = csv_rows(client.get("/api/search", query_string={**params, "format": "csv"}).data)
    response = client.get("/api/search", query_string={**params, "format": "xlsx"})
    assert response.status_code == 200 and response.mimetype == export.FORMATS["xlsx"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    cells = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    assert cells == rows and len(cells) > 1


def test_export_of_zero_rows_is_the_header_only(client):
    response = client.get("/api/search", query_string={"q": '"没有这种说法的文本"', "format": "csv"})
    assert csv_rows(response.data) == [list(export.COLUMNS)]
    response = client.get("/api/search", query_string={"q": '"没有这种说法的文本"', "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert list(sheet.iter_rows(values_only=True)) == [export.COLUMNS]


def test_export_limits_and_bad_input(client, engine):
    assert export.MAX_ROWS == 1000
    rows = list(export.rows(engine, SearchRequest(q="教育"), lambda hit, section: "", limit=7))
    assert len(rows) == 7
    assert client.get("/api/search", query_string={"q": "教育", "format": "pdf"}).status_code == 400
    assert client.get("/api/search", query_string={"q": "教育", "format": "csv", "source": "?"}).status_code == 400


def test_results_page_links_the_export(client):
    html = client.get("/search", query_string={"q": "双减", "year": "2023"}).get_data(as_text=True)
    assert "/api/search?q=%E5%8F%8C%E5%87%8F&amp;year=2023&amp;format=csv" in html
    assert "format=xlsx" in html and "导出" in html


# -- citation ------------------------------------------------------------------------------------
def test_cite_gives_title_source_date_heading_and_the_passage(client, recs):
    hit = client.get("/api/search", query_string={"q": "双减"}).get_json()["hits"][0]
    section_id = hit["sections"][0]["section_id"]
    record = next(r for r in recs if r["doc_id"] == hit["doc_id"])
    section = record["sections"][int(section_id.rsplit("-", 1)[1])]
    date = record["date"] or f"{record['year']}年"
    response = client.get(f"/api/cite/{section_id}")
    assert response.status_code == 200
    cite = response.get_json()
    assert cite["text"] == f"《{record['title']}》，{record['source']}，{date}，{section['heading'].strip()}"
    assert cite["passage"] == record["text"][section["start"] : section["end"]].strip() and "双减" in cite["passage"]


def test_cite_of_an_unknown_section_is_a_404(client):
    for section_id in ("nothing", "0000000000000000-0", "abc-99999999999", "-3"):
        response = client.get(f"/api/cite/{section_id}")
        assert response.status_code == 404 and "error" in response.get_json()


def test_document_page_has_a_cite_button_per_section(client, recs):
    record = recs[0]
    html = client.get(f"/doc/{record['doc_id']}").get_data(as_text=True)
    assert html.count('class="cite-button"') == len(record["sections"])


# -- suggestions -------------------------------------------------------------------------------
def test_suggest_completes_a_prefix_with_document_counts(client, recs):
    suggestions = client.get("/api/suggest", query_string={"q": "双"}).get_json()["suggestions"]
    texts = [s["text"] for s in suggestions]
    assert "双减" in texts and len(suggestions) <= 10
    assert dict((s["text"], s["docs"]) for s in suggestions)["双减"] == sum(1 for r in recs if "双减" in r["text"])
    # Terms that start with the prefix come first, each group most used first.
    starts = [s["text"].startswith("双") for s in suggestions]
    assert starts == sorted(starts, reverse=True)
    prefixed = [s["docs"] for s in suggestions if s["text"].startswith("双")]
    assert prefixed == sorted(prefixed, reverse=True)


def test_suggest_also_finds_terms_containing_the_text(client):
    texts = [s["text"] for s in client.get("/api/suggest", query_string={"q": "减"}).get_json()["suggestions"]]
    assert any(not t.startswith("减") and "减" in t for t in texts)
    assert all("减" in t for t in texts)


def test_suggest_normalises_like_the_analyzer(client):
    simplified = client.get("/api/suggest", query_string={"q": "双减"}).get_json()
    assert client.get("/api/suggest", query_string={"q": "雙減"}).get_json() == simplified
    assert simplified["suggestions"][0]["text"] == "双减"


def test_suggest_offers_headings_and_titles_as_phrases(client, recs):
    title = next(r["title"] for r in recs if r["title"].startswith("在全市校长会议"))
    texts = [s["text"] for s in client.get("/api/suggest", query_string={"q": "在全市校长"}).get_json()["suggestions"]]
    assert get_analyzer().normalize(title).text in texts


@pytest.mark.parametrize("prefix", ["", "   ", "\n"])
def test_suggest_without_a_prefix_is_empty(client, prefix):
    response = client.get("/api/suggest", query_string={"q": prefix})
    assert response.status_code == 200 and response.get_json() == {"suggestions": []}


def test_suggest_with_a_long_prefix_is_a_400(client):
    response = client.get("/api/suggest", query_string={"q": "教" * 200})
    assert response.status_code == 400 and str(MAX_PREFIX_CHARS) in response.get_json()["error"]
    assert client.get("/api/suggest?q=%3Cscript%3E%ED%A0%80").status_code == 200  # invalid UTF-8: replaced, not a 500


def test_suggest_is_fast_on_the_speeches(speech_index):
    engine = SearchEngine(speech_index)
    engine.suggest("教")  # loads the vocabulary once per generation
    prefixes = ["教", "教育", "双", "立德", "职业", "中华人民", "高质量发展", "zz", "课后服务", "乡村"] * 20
    times = []
    for prefix in prefixes:
        started = time.perf_counter()
        engine.suggest(prefix)
        times.append((time.perf_counter() - started) * 1000)
    assert statistics.median(times) < 20 and max(times) < 100, f"median {statistics.median(times):.2f} ms, max {max(times):.2f} ms"


def test_suggestions_follow_an_incremental_reindex(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted(CORPUS.glob("*.txt")):
        shutil.copy(path, corpus / path.name)
    index = tmp_path / "index"
    reindex([corpus], index, progress=False, workers=1)
    before = {s["text"]: s["docs"] for s in SearchEngine(index).suggest("教育")["suggestions"]}
    with_term = [p for p in sorted(corpus.glob("*.txt")) if "教育" in p.read_text(encoding="utf-8")]
    assert before["教育"] == len(with_term) >= 3
    with_term[0].unlink()
    reindex([corpus], index, incremental=True, progress=False, workers=1)
    after = {s["text"]: s["docs"] for s in SearchEngine(index).suggest("教育")["suggestions"]}
    assert after["教育"] == len(with_term) - 1


# -- the whole collection ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_client(full_index: Path):
    return create_app({"INDEX_DIR": full_index}).test_client()


def test_source_filter_leaves_out_the_laws(full_client):
    """"Only the speeches and reports, not the laws": select every source but the laws' one."""
    everything = full_client.get("/api/search").get_json()
    sources = {row["value"]: row["count"] for row in everything["facets"]["source"]}
    # Facets count every document; total_matched too (total_docs folds versions and duplicates).
    assert sum(sources.values()) == everything["total_matched"] and len(sources) >= 4
    laws_by_source = full_client.get("/api/search", query_string={"doc_kind": "法规"}).get_json()["facets"]["source"]
    laws = max(laws_by_source, key=lambda row: row["count"])["value"]
    rest = [("source", s) for s in sources if s != laws]
    data = full_client.get("/api/search", query_string=[("q", "教育"), *rest, ("per_page", "50")]).get_json()
    plain = full_client.get("/api/search", query_string={"q": "教育", "source": laws}).get_json()
    total = full_client.get("/api/search", query_string={"q": "教育"}).get_json()
    assert data["total_matched"] + plain["total_matched"] == total["total_matched"]
    assert data["hits"] and laws not in {h["source"] for h in data["hits"]}


def test_trend_share_on_the_collection_divides_by_each_years_documents(full_client):
    per_year = {row["value"]: row["count"] for row in full_client.get("/api/search").get_json()["facets"]["year"]}
    data = full_client.get("/api/trend", query_string=[("q", "双减"), ("q", "义务教育")]).get_json()
    assert {r["year"]: r["docs"] for r in data["totals"]} == {y: n for y, n in per_year.items() if y is not None}
    for series in data["series"]:
        for row in series["years"]:
            assert row["share"] == round(row["docs"] / per_year[row["year"]], 4)


def test_suggest_on_the_collection(full_index: Path):
    engine = SearchEngine(full_index)
    texts = [s["text"] for s in engine.suggest("义务教育法")["suggestions"]]
    assert texts[0] == "义务教育法" and any(t != "义务教育法" and t.endswith("义务教育法") for t in texts)
    times = []
    for prefix in ["教", "双减", "立德树人", "zz", "的", "课后服务", "中华人民共和国教"] * 10:
        started = time.perf_counter()
        engine.suggest(prefix)
        times.append((time.perf_counter() - started) * 1000)
    assert statistics.median(times) < 20, f"median {statistics.median(times):.2f} ms"
