"""Ranking and matching on the mixed collection (issue #11): proximity of the query's words,
word-level matching of abbreviations and expansions, document-level exclusion, highlights that
mark query words as units. Checked against the raw text of each hit's document."""

from __future__ import annotations

import re

import pytest

from search_app.engine import SearchEngine, SearchRequest
from search_app.results import Hit
from speechindex import schema as S
from speechindex.analysis import get_analyzer
from speechindex.docstore import DocStore
from speechindex.location import IndexLocation

SENTENCE = re.compile(r"[。！？；!?;\n]+")


@pytest.fixture(scope="module")
def engine(full_index) -> SearchEngine:
    return SearchEngine(full_index)


@pytest.fixture(scope="module")
def store(full_index):
    store = DocStore(IndexLocation(full_index).current() / S.DOCSTORE, readonly=True)
    yield store
    store.close()


def top(engine: SearchEngine, q: str, n: int = 10) -> list[Hit]:
    return engine.search(SearchRequest(q=q, per_page=n)).hits


def text_of(store: DocStore, hit: Hit) -> str:
    """The hit's whole document, normalised (繁→简, full-width → half-width) as the analyzer sees it."""
    return get_analyzer().normalize(store.get(hit.doc_id)["text"]).text


# -- the analyzer: sub-words that straddle a word boundary are not indexed -----------------------
def test_a_sub_word_across_an_inner_boundary_is_not_indexed() -> None:
    ana = get_analyzer()
    assert ana.index_text("兼职教师").split() == ["兼职", "教师", "兼职教师"]  # jieba alone adds 职教
    assert ana.index_text("高考综合改革").split() == ["高考", "综合", "改革", "高考综合改革"]
    assert ana.index_text("职业教育").split() == ["职业", "教育", "职业教育"]
    assert ana.index_text("职教集团").split() == ["职教", "集团"]
    # the offset path (highlights) drops exactly the same tokens as the indexing path
    for text in ("兼职教师队伍和职教集团", "中华人民共和国职业教育法"):
        assert [t.term for t in ana.tokens(text, "index")] == ana.index_text(text).split()


# -- proximity: the words typed apart that belong together ---------------------------------------
def test_words_typed_apart_rank_documents_that_have_them_together(engine, store) -> None:
    hits = top(engine, "乡村 教师", 5)
    assert len(hits) == 5
    assert all("乡村教师" in text_of(store, h) for h in hits), [h.title for h in hits]


@pytest.mark.parametrize("query", ["学前教育 普惠", "高考 改革"])
def test_top_hits_have_both_words_in_one_sentence(engine, store, query: str) -> None:
    a, b = query.split()
    hits = top(engine, query, 5)
    assert len(hits) == 5
    for h in hits:
        assert any(a in s and b in s for s in SENTENCE.split(text_of(store, h))), h.title


# -- word-level matching of abbreviations and their expansions ----------------------------------
@pytest.mark.parametrize("query", ["职教", "职业教育"])
def test_no_hit_matches_only_inside_a_longer_word(engine, store, query: str) -> None:
    hits = top(engine, query, 10)
    assert len(hits) == 10
    for h in hits:
        rest = re.sub("兼职教师|专职教师", "", text_of(store, h))
        assert "职教" in rest or "职业教育" in rest, h.title


def test_an_expansion_never_covers_the_whole_input(engine) -> None:
    result = engine.search(SearchRequest(q="巩固双减成果，加强教师队伍建设"))
    assert result.expanded == ["双减 → 减轻义务教育阶段学生作业负担和校外培训负担"]
    long = "，".join(["巩固双减成果"] * 60)[:500]
    result = engine.search(SearchRequest(q=long))
    assert result.expanded == ["双减 → 减轻义务教育阶段学生作业负担和校外培训负担"]


# -- exclusion removes documents ----------------------------------------------------------------
def test_exclusion_removes_every_document_that_contains_the_word(engine, store) -> None:
    result = engine.search(SearchRequest(q="教育 -双减", per_page=50))
    assert len(result.hits) == 50
    assert all("双减" not in text_of(store, h) for h in result.hits)
    assert engine.search(SearchRequest(q="教育 NOT 双减")).total_docs == result.total_docs
    # alone, an exclusion lists every document but those that contain the word anywhere
    everything = engine.search(SearchRequest(q="")).total_docs
    with_word = engine.search(SearchRequest(q='"双减"')).total_docs
    assert with_word > 10
    assert engine.search(SearchRequest(q='-"双减"')).total_docs == everything - with_word


# -- highlights mark query words as units -------------------------------------------------------
def test_a_numeral_year_never_highlights_a_lone_nian(engine) -> None:
    hits = top(engine, "一九五四年", 10)
    assert hits
    marks = [m for h in hits for s in h.sections for m in s.snippet.matched()]
    assert marks and all(get_analyzer().normalize(m).text == "1954年" for m in marks), set(marks)
    doc = engine.document(hits[0].doc_id, "一九五四年")
    page_marks = {get_analyzer().normalize(m).text for s in doc.sections for m in s.fragment.matched()}
    assert page_marks == {"1954年"}
