"""Near-duplicates, versions, folded results, similar documents and 查出处 (speechindex.dedup, search_app.folding/similar/passage)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from indexer.build import reindex
from search_app.engine import SearchEngine, SearchRequest
from speechindex import dedup
from speechindex import schema as S
from speechindex.docstore import DocStore
from speechindex.location import IndexLocation
from tests.conftest import CORPUS, REPO

SPEECH = CORPUS / "002_2026ea8a2fbe29df.txt"  # 在2023年教育局工作会议上的讲话, 5,600 characters
SAME_TOPIC = CORPUS / "003_da6a1b22c78f0c54.txt"  # another 教育局 meeting speech
RULES = CORPUS / "001_d2615397c1deb668.txt"  # 2023年区教育工作要点: the sentences of the law fixture

LAW_TITLE = "中华人民共和国示范教育法"
UNCHANGED_ARTICLE = "第一条 为了规范示范教育活动，保障受教育者的合法权益，促进示范教育事业健康发展，根据宪法，制定本法。"
NOWHERE = (
    "今年春季的气象观测显示，高原湖泊的冰期比往年缩短了十一天，候鸟提前两周抵达湿地。"
    "科研人员在湖心岛布设了二十台自动相机，记录到斑头雁、赤麻鸭和棕头鸥的繁殖行为。"
    "他们计划把这些影像与卫星遥感资料结合起来，分析湖面融冰时间与鸟类迁徙节律之间的关系，"
    "为保护区的管理提供参考。"
)


def _copy_of_speech(text: str) -> str:
    """The speech as a 文库 site republishes it: names swapped, two sentences reworded."""
    copy = text.replace("伊通镇", "长宁镇").replace("满族", "回族").replace("吉林省", "黑龙江省")
    copy = copy.replace("教学仪器配备率进一步提高", "各校教学仪器的配备水平比上年又有明显提升")
    copy = copy.replace("师资结构进一步优化", "教师队伍的年龄和学科结构更加合理")
    assert copy.count("长宁镇") == 3 and "明显提升" in copy and "更加合理" in copy
    return copy


def _law(articles: list[str], date: str) -> str:
    chapters = [articles[i : i + 6] for i in range(0, len(articles), 6)]
    body = "\n\n".join(
        f"## 第{n + 1}章\n\n" + "\n\n".join(chapter) for n, chapter in enumerate(chapters)
    )
    return f"# {LAW_TITLE}\n\n{date} 第十四届全国人民代表大会常务委员会通过\n\n<!-- INFO END -->\n\n{body}\n"


def _law_versions() -> tuple[str, str]:
    """A law (sentences of the 工作要点 seed as articles) and its revision: half its articles amended, four added."""
    sentences = [s.strip() for s in re.split(r"[。；\n]", RULES.read_text(encoding="utf-8")) if len(s.strip()) >= 25]
    old = [UNCHANGED_ARTICLE] + [f"第{n + 2}条 {s}。" for n, s in enumerate(sentences[:29])]
    new = list(old)
    for i in range(7, len(new), 2):  # the first chapter stays word for word
        new[i] = new[i].replace("。", "，具体办法由国务院教育行政部门会同有关部门制定。", 1)
    extra = [s.strip() for s in re.split(r"[。\n]", SAME_TOPIC.read_text(encoding="utf-8")) if len(s.strip()) >= 25]
    new += [f"第{len(old) + k + 1}条 {s}。" for k, s in enumerate(extra[:4])]
    return _law(old, "2015年6月1日"), _law(new, "2023年9月1日")


@pytest.fixture(scope="module")
def dedup_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A speech and its 文库 copy, a law in two versions, an unrelated speech on the same topic."""
    corpus = tmp_path_factory.mktemp("dedup-corpus")
    speech = SPEECH.read_text(encoding="utf-8")
    (corpus / "speech.txt").write_text(speech, encoding="utf-8")
    (corpus / "speech_copy.txt").write_text(_copy_of_speech(speech), encoding="utf-8")
    (corpus / "same_topic.txt").write_text(SAME_TOPIC.read_text(encoding="utf-8"), encoding="utf-8")
    old, new = _law_versions()
    (corpus / "示范教育法(2015-06-01).md").write_text(old, encoding="utf-8")
    (corpus / "示范教育法(2023-09-01).md").write_text(new, encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("dedup-index")
    reindex([corpus], index_dir, progress=False, workers=1)
    return index_dir


def _groups(index_dir: Path) -> dict[str, tuple[str, str | None]]:
    """doc file name → (fold group, duplicate group), for the grouped documents."""
    store = DocStore(IndexLocation(index_dir).current() / S.DOCSTORE, readonly=True)
    rows = store.db.execute(
        "SELECT json_extract(d.record, '$.source_file'), g.fold_group, g.duplicate_group "
        "FROM dedup_groups g JOIN documents d USING (doc_id)"
    ).fetchall()
    store.close()
    return {Path(r[0]).name: (r[1], r[2]) for r in rows}


def _doc_id(engine: SearchEngine, name: str) -> str:
    hits = engine.search(SearchRequest(q="", per_page=20, fold=False)).hits
    return next(h.doc_id for h in hits if Path(h.source_file).name == name)


def test_shingle_hashes_are_content_chosen():
    # The same passage inside two different texts keeps the same shingles.
    a = dedup.sampled(dedup.shingle_hashes(dedup.compact("前言不搭后语。" + UNCHANGED_ARTICLE)))
    b = dedup.sampled(dedup.shingle_hashes(dedup.compact(UNCHANGED_ARTICLE + "附则")))
    core = set(dedup.sampled(dedup.shingle_hashes(dedup.compact(UNCHANGED_ARTICLE))).tolist())
    assert core and core <= set(a.tolist()) and core <= set(b.tolist())
    # Punctuation and spaces do not count: a copy re-punctuated is the same text.
    assert np.array_equal(
        dedup.shingle_hashes(dedup.compact("保障 受教育者的、合法权益")), dedup.shingle_hashes("保障受教育者的合法权益")
    )


def test_section_shingles_never_span_sections():
    parts = dedup.section_shingles(["甲乙丙丁戊己庚", "辛壬癸子丑寅卯辰"])
    for part, text in zip(parts, ["甲乙丙丁戊己庚", "辛壬癸子丑寅卯辰"]):
        assert np.array_equal(part, dedup.sampled(dedup.shingle_hashes(text)))


def test_title_key_ignores_dates_and_revision_notes():
    assert dedup.title_key("中华人民共和国职业教育法（2022年修订）") == dedup.title_key("中华人民共和国职业教育法")
    assert dedup.title_key("上海市实施《义务教育法》办法 (2024-01-01)") == dedup.title_key("上海市实施义务教育法办法")


def test_copy_is_duplicate_versions_fold_same_topic_is_neither(dedup_index):
    groups = _groups(dedup_index)
    assert groups["speech.txt"][1] is not None
    assert groups["speech.txt"] == groups["speech_copy.txt"]
    old, new = groups["示范教育法(2015-06-01).md"], groups["示范教育法(2023-09-01).md"]
    assert old[0] == new[0] and old[1] is None and new[1] is None  # versions, not duplicates
    assert old[0] != groups["speech.txt"][0]
    assert "same_topic.txt" not in groups


def test_versions_fold_under_the_newest(dedup_index):
    engine = SearchEngine(dedup_index)
    # The unchanged first chapter scores the same in both versions: the newer one is the hit.
    result = engine.search(SearchRequest(q='"规范示范教育活动"'))
    assert result.total_matched == 2 and result.total_docs == 1
    [hit] = result.hits
    assert hit.date == "2023-09-01"
    assert [(v.date, v.relation) for v in hit.versions] == [("2015-06-01", "version")]
    unfolded = engine.search(SearchRequest(q='"规范示范教育活动"', fold=False))
    assert unfolded.total_docs == 2 and len(unfolded.hits) == 2
    assert all(h.versions == [] for h in unfolded.hits)


def test_duplicates_fold_and_same_topic_stays(dedup_index):
    engine = SearchEngine(dedup_index)
    result = engine.search(SearchRequest(q="教育局 工作会议", per_page=10))
    names = [Path(h.source_file).name for h in result.hits]
    assert "same_topic.txt" in names
    assert len({"speech.txt", "speech_copy.txt"} & set(names)) == 1
    speech_hit = next(h for h in result.hits if Path(h.source_file).name in ("speech.txt", "speech_copy.txt"))
    assert [v.relation for v in speech_hit.versions] == ["duplicate"]
    assert result.total_matched == result.total_docs + 1


def test_similar_lists_the_copy_with_shared_passages(dedup_index):
    engine = SearchEngine(dedup_index)
    speech = _doc_id(engine, "speech.txt")
    copy = _doc_id(engine, "speech_copy.txt")
    result = engine.similar(speech)
    assert result["similar"][0]["doc_id"] == copy
    shared = result["similar"][0]["shared"]
    assert shared and all(p["section_id"].startswith(speech) and p["other_section_id"].startswith(copy) for p in shared)
    # Nearly all the text is shared, except the renamed town and the reworded sentences.
    text = "".join(s.text for s in engine.document(speech).sections)
    marked = np.zeros(len(text), dtype=bool)
    for start, end in result["similar"][0]["spans"]:
        marked[start:end] = True
    assert marked.sum() > 0.8 * len(text)
    town = text.index("伊通镇")
    assert not marked[town : town + 3].any()
    assert marked[text.index("投入义务教育薄弱环节") :][:30].all()
    reworded = text.index("教学仪器配备率进一步提高")
    assert not marked[reworded : reworded + 12].all()
    assert engine.similar("no-such-doc") is None


def _edited_paragraph() -> tuple[str, str]:
    """A 150-character paragraph of the speech seed with 5 characters changed, and the original."""
    text = SPEECH.read_text(encoding="utf-8")
    start = text.index("长效机制资金853万元")
    original = text[start : start + 150]
    edited = list(original)
    for pos, ch in zip((10, 40, 70, 100, 130), "甲乙丙丁戊"):
        edited[pos] = ch
    return "".join(edited), original


def test_passage_finds_the_edited_paragraph(seed_index):
    engine = SearchEngine(seed_index)
    edited, original = _edited_paragraph()
    assert sum(a != b for a, b in zip(edited, original)) == 5
    result = engine.passage(edited)
    first = result.matches[0]
    assert first.title.startswith("在2023年教育局工作会议上的讲话")
    assert first.coverage >= 0.8
    assert first.snippet.marks and "1694" in first.snippet.text


def test_passage_nowhere_has_no_match_above_0_3(seed_index):
    result = SearchEngine(seed_index).passage(NOWHERE)
    assert all(m.coverage <= 0.3 for m in result.matches)


def test_passage_rejects_empty_long_and_short_text(seed_index):
    from speechindex.errors import QueryError

    engine = SearchEngine(seed_index)
    with pytest.raises(QueryError):
        engine.passage("  ")
    with pytest.raises(QueryError):
        engine.passage("教" * 5001)
    assert engine.passage("教育").warnings


# -- web ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dedup_client(dedup_index):
    from search_app.web import create_app

    return create_app({"INDEX_DIR": dedup_index, "TESTING": True}).test_client()


def test_api_search_folds_unless_fold_0(dedup_client):
    folded = dedup_client.get("/api/search", query_string={"q": '"规范示范教育活动"'}).get_json()
    assert [len(h["versions"]) for h in folded["hits"]] == [1]
    assert (folded["total_docs"], folded["total_matched"]) == (1, 2)
    unfolded = dedup_client.get("/api/search", query_string={"q": '"规范示范教育活动"', "fold": "0"}).get_json()
    assert len(unfolded["hits"]) == 2


def test_results_page_shows_other_versions(dedup_client):
    page = dedup_client.get("/search", query_string={"q": '"规范示范教育活动"'}).get_data(as_text=True)
    assert "另有 1 个版本/相似文本" in page and "2015-06-01" in page


def test_api_similar_and_document_page_mark_shared_passages(dedup_client, dedup_index):
    engine = SearchEngine(dedup_index)
    speech, copy = _doc_id(engine, "speech.txt"), _doc_id(engine, "speech_copy.txt")
    body = dedup_client.get(f"/api/similar/{speech}").get_json()
    assert body["doc_id"] == speech and body["similar"][0]["doc_id"] == copy
    assert set(body["similar"][0]["shared"][0]) >= {"section_id", "other_section_id", "text"}
    assert dedup_client.get("/api/similar/nope").status_code == 404
    page = dedup_client.get(f"/doc/{speech}").get_data(as_text=True)
    assert "与 1 篇文档有相同段落" in page and page.count('<mark class="shared">') > 5
    # With a query, the query's matches are marked instead.
    assert '<mark class="shared">' not in dedup_client.get(f"/doc/{speech}?q=教育").get_data(as_text=True).split("doc-text")[1]


def test_api_passage_get_post_json_and_errors(dedup_client):
    edited, _ = _edited_paragraph()
    for response in (
        dedup_client.get("/api/passage", query_string={"text": edited}),
        dedup_client.post("/api/passage", data={"text": edited}),
        dedup_client.post("/api/passage", json={"text": edited}),
    ):
        matches = response.get_json()["matches"]
        assert matches[0]["coverage"] >= 0.8
        assert {Path(m["doc_id"]).name for m in matches[:2]}  # the speech and its copy
    assert dedup_client.get("/api/passage").status_code == 400
    too_long = dedup_client.post("/api/passage", data={"text": "教" * 5001})
    assert too_long.status_code == 400 and "5000" in too_long.get_json()["error"]


def test_passage_page_escapes_and_highlights(dedup_client):
    edited, _ = _edited_paragraph()
    page = dedup_client.post("/passage", data={"text": edited + "<script>x</script>"}).get_data(as_text=True)
    assert "<script>x</script>" not in page and "&lt;script&gt;" in page
    assert 'class="passage-match"' in page and "<mark>" in page
    assert "最多 5000 个字符" in dedup_client.post("/passage", data={"text": "教" * 5001}).get_data(as_text=True)



def test_folded_pages_list_each_group_once(dedup_index):
    engine = SearchEngine(dedup_index)
    hits, page = [], 1
    while True:
        result = engine.search(SearchRequest(q="教育", per_page=1, page=page))
        hits.extend(result.hits)
        if len(hits) >= result.total_docs or not result.hits:
            break
        page += 1
    listed = [h.doc_id for h in hits] + [v.doc_id for h in hits for v in h.versions]
    # Three groups: the speech and its copy, the two versions of the law, the other speech.
    assert (len(hits), result.total_docs, result.total_matched) == (3, 3, 5)
    assert len(listed) == len(set(listed)) == 5


# -- the mixed collection (corpus + ../shared/corpora) -----------------------------------

JUDGMENTS = REPO / "bench" / "judgments" / "mixed_queries.json"


@pytest.fixture(scope="module")
def full(full_index: Path) -> SearchEngine:
    return SearchEngine(full_index)


@pytest.mark.shared
def test_vocational_education_law_is_listed_once_with_its_other_version(full):
    hits = full.search(SearchRequest(q="职业教育法")).hits
    laws = [h for h in hits if h.title == "中华人民共和国职业教育法"]
    assert len(laws) == 1
    [other] = [v for v in laws[0].versions if v.title == "中华人民共和国职业教育法"]
    assert other.relation == "version"
    assert {laws[0].year, other.year} == {1996, 2022}
    # The version in force is the hit: the shorter 1996 text scores a little higher on BM25 alone.
    assert laws[0].year == 2022


@pytest.mark.shared
@pytest.mark.parametrize("q", ["浦东开发开放30周年", "巴黎和平论坛", "上海精神"])
def test_speeches_scraped_twice_in_2020_appear_once(full, q):
    hits = full.search(SearchRequest(q=q, filters={"year": ["2020"]})).hits
    speeches = [h for h in hits if q in h.title and h.source_file.startswith("xi_speeches_2020/")]
    assert len(speeches) == 1
    assert [v.relation for v in speeches[0].versions] == ["duplicate"]
    assert q in speeches[0].versions[0].title


@pytest.mark.shared
def test_top_ten_titles_are_distinct_unless_the_texts_differ(full):
    queries = [j["q"] for j in json.loads(JUDGMENTS.read_text(encoding="utf-8"))]
    assert len(queries) >= 40
    for q in queries:
        hits = full.search(SearchRequest(q=q)).hits
        by_title: dict[str, list[str]] = {}
        for hit in hits:
            by_title.setdefault(dedup.title_key(hit.title), []).append(hit.doc_id)
        for key, doc_ids in by_title.items():
            if len(doc_ids) < 2 or not key:
                continue
            texts = {d: "".join(s.text for s in full.document(d).sections) for d in doc_ids}
            kept = {d: dedup.text_shingles(t) for d, t in texts.items()}
            for i, a in enumerate(doc_ids):
                for b in doc_ids[i + 1 :]:
                    assert dedup.shared_fraction(kept[a], kept[b]) < dedup.VERSION_SHARED, (q, key)


def test_passage_over_several_sections_is_covered_by_the_document(dedup_index):
    engine = SearchEngine(dedup_index)
    old = _doc_id(engine, "示范教育法(2015-06-01).md")
    # The fixture's sections are its articles (第2条 … of ~30 characters): a passage takes four.
    articles = [s for s in engine.document(old).sections if re.fullmatch(r"第\d+条", s.heading)]
    passage = "".join(s.text for s in articles[:4])
    assert len(passage) >= 100 and all(len(s.text) < 0.5 * len(passage) for s in articles[:4])
    top = engine.passage(passage).matches[0]
    assert top.coverage >= 0.8
    numbers = [int(s.rsplit("-", 1)[1]) for s in top.section_ids]
    assert any(numbers[i : i + 3] == list(range(n, n + 3)) for i, n in enumerate(numbers))
