"""Topic tagging: the taxonomy file, the scoring rule, and real sections of the seeds."""

from __future__ import annotations

import json
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from indexer.models import Section
from indexer.structure import split_sections
from indexer.topics import (
    TOPICS,
    TOPICS_PATH,
    assign_topics,
    document_evidence,
    document_topics,
    explain_topics,
    load_lexicon,
    tag_topics,
)
from speechindex import schema as S
from speechindex.docstore import DocStore
from speechindex.location import IndexLocation
from tests.conftest import CORPUS, shared_path

EXPECTED_TOPICS = (
    "党的建设", "德育与思政", "双减与课后服务", "教师队伍", "学前教育", "义务教育", "高中教育",
    "职业教育", "高等教育", "特殊教育", "民办教育与校外培训", "校园安全", "办学条件与基建",
    "教育公平与资助", "教育信息化", "体育美育劳动", "心理健康", "家校社协同", "督导与评价",
    "招生考试", "疫情防控", "改革与治理",
)


def seed_sections(prefix: str, doc_kind: str = "讲话") -> list[Section]:
    text = next(CORPUS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")
    sections = split_sections(text, "txt", doc_kind)
    assign_topics(sections)
    return sections


def section(sections: list[Section], prefix: str) -> Section:
    return next(s for s in sections if s.heading.startswith(prefix))


def test_taxonomy_is_exactly_the_22_topics_in_order() -> None:
    assert TOPICS == EXPECTED_TOPICS
    with TOPICS_PATH.open("rb") as fh:
        data = tomllib.load(fh)
    assert tuple(data["topics"]) == EXPECTED_TOPICS
    for name, table in data["topics"].items():
        keywords = table["keywords"]
        assert 15 <= len(keywords) <= 40, name
        assert len(set(keywords)) == len(keywords), name
        assert set(table.get("weights", {})) <= set(keywords), name
    header = TOPICS_PATH.read_text(encoding="utf-8").split("\n[scoring]")[0]
    assert header.startswith("#")  # comment header
    for explained in ("`weights`", "`context`", "`negative`", "[ignore]", "doc_max_topics", "topic_evidence"):
        assert explained in header, explained
    lex = load_lexicon()
    assert 1 <= lex.doc_max_topics <= 5
    assert {"作业", "作业设计", "作业管理", "减负"} <= {lex.terms[i] for i in lex.gated}


def test_seed001_mental_health_item() -> None:
    sections = seed_sections("001", "工作要点")
    assert section(sections, "5.抓好心理健康教育。").topics == ["心理健康"]
    assert "家校社协同" in section(sections, "6.强化家校协同育人。").topics
    assert section(sections, "一、以党的建设为统领").topics == ["党的建设"]  # heading keyword


def test_seed000_double_reduction_section() -> None:
    sections = seed_sections("000")
    tagged = [s for s in sections if "双减与课后服务" in s.topics]
    assert [s.heading for s in tagged] == ["、聚焦保障,常抓长效定教育态“主基调”"]
    assert "校园安全" in tagged[0].topics and "家校社协同" in tagged[0].topics


def test_seed004_epidemic_section() -> None:
    sections = seed_sections("004")
    epidemic = section(sections, "(二)过去一年,我们坚持凝聚合力")
    assert "疫情防控" in epidemic.topics
    assert "教师队伍" in section(sections, "(三)过去一年,我们聚焦队伍建设").topics


def test_passing_mention_does_not_tag() -> None:
    text = (
        "加强教师队伍建设，完善教师培训体系，开展骨干教师评选，落实师德师风建设长效机制。"
        "会上还提到了幼儿园的有关情况。"
    )
    topics = tag_topics(text)
    assert "教师队伍" in topics
    assert "学前教育" not in topics
    # Two mentions in a short text are enough; the same two in a long one are not.
    two = "新建两所幼儿园，提升幼儿园办园水平。"
    assert "学前教育" in tag_topics(two)
    assert "学前教育" not in tag_topics(two + "统筹推进各项工作。" * 400)


def test_heading_keyword_tags_by_itself() -> None:
    assert tag_topics("三、加快发展学前教育\n", heading="三、加快发展学前教育") == ["学前教育"]
    assert tag_topics("正文。", heading="（二）统筹推进各项工作") == []
    # A light keyword in the heading is not enough on its own.
    assert tag_topics("正文。", heading="（一）深化改革") == []


def test_longest_keyword_and_ignored_phrases() -> None:
    # "大学区" is a school district (义务教育), not a university.
    assert tag_topics("推进大学区建设，完善大学区管理。") == ["义务教育"]
    # "污染治理" counts for nothing, so it does not make an environment text 改革与治理.
    assert tag_topics("加强污染治理。" * 10) == []


def test_assign_topics_fills_in_place() -> None:
    sections = [
        Section(heading="", level=0, kind="其他", text="做好疫情防控，落实核酸检测。", start=0, end=14),
        Section(heading="二、其他", level=1, kind="其他", text="二、其他\n无关内容。", start=14, end=24),
    ]
    assign_topics(sections)
    assert [s.topics for s in sections] == [["疫情防控"], []]


@pytest.mark.shared
def test_gov_report_education_section_and_speed(capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_path("corpora", "gov_work_reports", "government_work_reports.jsonl")
    with path.open(encoding="utf-8") as fh:
        reports = [json.loads(line) for line in fh if line.strip()]
    sections = split_sections(reports[0]["content"], "jsonl", "工作报告")
    assign_topics(sections)
    education = section(sections, "（三）深入实施科教兴国战略")
    assert {"职业教育", "高等教育", "义务教育"} <= set(education.topics)
    assert "疫情防控" not in education.topics

    megabyte = "".join(r["content"] for r in reports)[:1_000_000]
    load_lexicon()
    started = time.perf_counter()
    tag_topics(megabyte)
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\ntag_topics on 1 M characters: {elapsed:.3f} s")  # reported, not asserted


# -- context words, negative terms, document topics -------------------------------------------------
RIVER_LAW = """# 浙江省河道管理条例

## 第四章　涉河建设与作业管理

第三十七条 河道砂石开采权出让方案应当明确采砂范围、数量、期限、作业方式、作业时间。加强作业管理，按照作业设计施工，控制作业总量。

第三十八条 从事河道采砂的单位或者个人应当加强作业管理，落实作业设计，服从防洪调度，保证行洪安全。
"""

FORESTRY_LAW = """第二十二条 县级人民政府林业行政主管部门应当组织专业人员编制乡镇作业设计，把实施方案确定的内容落实到具体地块。编制作业设计时，应当以种植耐旱灌木、恢复原有植被为主。
第二十九条 退耕还林者应当按照作业设计和合同的要求植树种草，按照作业设计在宜林荒山荒地造林。
"""

DOUBLE_REDUCTION_SPEECH = """在全区“双减”工作推进会上的讲话

一、深入落实“双减”政策
全面压减作业总量和时长，减轻学生过重作业负担。学校要加强作业管理，提高作业设计质量，教师不得布置重复性、惩罚性作业。落实作业公示制度，减轻学生负担。

二、提升课后服务水平
各校要做好课后服务，实行弹性离校，课后服务结束时间原则上不早于当地正常下班时间，做到学生应留尽留，课后服务全覆盖。

三、规范校外培训
严禁学科类培训隐形变异，加强校外培训机构预收费资金监管，坚决查处无证办学和有偿补课。
"""


def tagged_sections(text: str, fmt: str, doc_kind: str) -> list[Section]:
    sections = split_sections(text, fmt, doc_kind)
    assign_topics(sections)
    return sections


@pytest.mark.parametrize(("text", "fmt"), [(RIVER_LAW, "md"), (FORESTRY_LAW, "txt")])
def test_homework_words_in_a_law_are_not_double_reduction(text: str, fmt: str) -> None:
    sections = tagged_sections(text, fmt, "法规")
    assert all("双减与课后服务" not in s.topics for s in sections)  # not even by the 作业管理 heading
    assert "双减与课后服务" not in document_topics(sections)
    # The evidence says why: the words were found, but without a pupil or a teacher next to them.
    found = [s.topic_evidence["双减与课后服务"] for s in sections if "双减与课后服务" in s.topic_evidence]
    assert found and all(ev["score"] <= 0 for ev in found)
    assert sum(ev.get("out_of_context", {}).get("作业设计", 0) for ev in found) >= 2


def test_a_double_reduction_speech_is_double_reduction() -> None:
    sections = tagged_sections(DOUBLE_REDUCTION_SPEECH, "txt", "讲话")
    assert [s.topics for s in sections if s.heading.startswith(("一", "二"))] == [["双减与课后服务"], ["双减与课后服务"]]
    topics = document_topics(sections)
    assert topics[0] == "双减与课后服务"
    assert "民办教育与校外培训" in topics and len(topics) <= 3
    first = sections[1].topic_evidence["双减与课后服务"]
    assert first["terms"]["作业管理"] == 1 and first["terms"]["作业设计"] == 1 and first["terms"]["双减"] == 1
    assert "out_of_context" not in first


def test_context_window_and_penalties() -> None:
    # 作业 counts next to 学生/布置 (weight 0.5 each), not next to machines.
    _, evidence = explain_topics("合理布置作业，学生作业要精选。")
    assert evidence["双减与课后服务"]["terms"] == {"作业": 2} and evidence["双减与课后服务"]["score"] == 1.0
    _, evidence = explain_topics("农机作业季节，加强田间作业，保障机械作业质量。")
    assert evidence["双减与课后服务"] == {"score": 0.0, "terms": {}, "out_of_context": {"作业": 3}}
    # Negative terms subtract: an animal epidemic is not the schools' 疫情防控.
    assert tag_topics("做好疫情防控，落实核酸检测。") == ["疫情防控"]
    topics, evidence = explain_topics("加强动物疫情防控，做好畜禽防疫和动物疫苗接种。")
    assert topics == [] and evidence["疫情防控"]["against"] == {"动物": 2, "畜禽": 1}
    # 总书记 shields 书记: a news item quoting him is not about party building.
    assert explain_topics("习近平总书记强调，总书记指出，总书记要求。")[1] == {}


def test_document_topics_are_a_few_main_ones() -> None:
    sections = [
        Section(heading="一、学前教育", level=1, kind="其他", text="一、学前教育\n" + "办好幼儿园，扩大普惠性幼儿园覆盖，提高学前教育毛入园率。" * 6, start=0, end=0),
        Section(heading="二、其他", level=1, kind="其他", text="二、其他\n" + "统筹推进各项工作。" * 40, start=0, end=0),
        Section(heading="三、安全", level=1, kind="其他", text="三、安全\n加强校园安全，防溺水。", start=0, end=0),
    ]
    assign_topics(sections)
    assert [s.topics for s in sections] == [["学前教育"], [], ["校园安全"]]
    # 校园安全 is one short paragraph: too little of the text and too little evidence to be main.
    assert document_topics(sections) == ["学前教育"]
    evidence = document_evidence(sections)
    assert list(evidence)[:2] == ["学前教育", "校园安全"]
    assert evidence["学前教育"]["sections"] == 1 and evidence["学前教育"]["terms"]["普惠性幼儿园"] == 6
    assert 0.3 < evidence["学前教育"]["share"] < 0.6


def test_seed_documents_get_a_handful_of_main_topics() -> None:
    expected = {
        "000": {"党的建设", "义务教育"},
        "001": {"党的建设", "体育美育劳动"},  # 心理健康 is one item of twelve: a section topic only
        "002": {"双减与课后服务", "义务教育"},
        "004": {"疫情防控", "教师队伍", "义务教育"},
    }
    for prefix, must in expected.items():
        doc_kind = "工作要点" if prefix == "001" else "讲话"
        sections = seed_sections(prefix, doc_kind)
        topics = document_topics(sections)
        union = {t for s in sections for t in s.topics}
        assert 2 <= len(topics) <= 5, (prefix, topics)
        assert must <= set(topics), (prefix, topics)
        assert len(union) > len(topics)  # the sections keep their own, finer topics
    assert "心理健康" in {t for s in seed_sections("001", "工作要点") for t in s.topics}


def test_parse_json_explains_the_topics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from indexer.cli import main

    path = tmp_path / "双减讲话.txt"
    path.write_text(DOUBLE_REDUCTION_SPEECH, encoding="utf-8")
    assert main(["parse", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["topics"][0] == "双减与课后服务"
    why = doc["topic_evidence"]["双减与课后服务"]
    assert why["terms"]["课后服务"] == 4 and why["sections"] == 2
    assert list(doc["topic_evidence"])[0] == "双减与课后服务"
    per_section = [s["topic_evidence"] for s in doc["sections"] if "双减与课后服务" in s["topics"]]
    assert len(per_section) == 2 and all(ev["双减与课后服务"]["score"] >= 2 for ev in per_section)


# -- the whole collection -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def collection_store(full_index: Path) -> Iterator[DocStore]:
    store = DocStore(IndexLocation(full_index).current() / S.DOCSTORE, readonly=True)
    yield store
    store.close()


@pytest.fixture(scope="module")
def collection_records(collection_store: DocStore) -> list[dict]:
    """Per document of the whole collection: id, kind, title, its topics and its sections' topics."""
    rows = collection_store.db.execute(
        "SELECT doc_id, doc_kind, json_extract(record, '$.title'), json_extract(record, '$.topics'),"
        " (SELECT json_group_array(json_extract(s.value, '$.topics')) FROM json_each(record, '$.sections') s)"
        " FROM documents"
    )
    return [
        {"doc_id": d, "doc_kind": k, "title": t, "topics": json.loads(topics), "section_topics": [json.loads(x) if isinstance(x, str) else x for x in json.loads(sections)]}
        for d, k, t, topics, sections in rows
    ]


@pytest.mark.shared
def test_collection_documents_have_few_topics(collection_records: list[dict]) -> None:
    counts = sorted(len(r["topics"]) for r in collection_records)
    assert len(counts) > 5000
    assert counts[len(counts) // 2] <= 5 and counts[-1] <= load_lexicon().doc_max_topics
    per_topic = Counter(t for r in collection_records for t in r["topics"])
    # No topic covers most of the collection any more (办学条件与基建 was on 1,400 documents).
    assert max(per_topic.values()) < len(collection_records) // 5, per_topic.most_common(3)


@pytest.mark.shared
def test_no_law_without_a_double_reduction_word_is_double_reduction(collection_records: list[dict], collection_store: DocStore) -> None:
    lex = load_lexicon()
    topic = TOPICS.index("双减与课后服务")
    # The topic's words that need no context: any real 双减 text has one of them.
    plain = {lex.terms[i] for i, rules in enumerate(lex.rules) if any(r.topic == topic and r.weight > 0 and not r.context for r in rules)}
    assert {"双减", "课后服务", "作业负担"} <= plain
    laws = [r for r in collection_records if r["doc_kind"] == "法规"]
    assert len(laws) > 3000
    tagged = [r for r in laws if "双减与课后服务" in r["topics"] or any("双减与课后服务" in t for t in r["section_topics"])]
    wrong = [r["title"] for r in tagged if not any(w in collection_store.get(r["doc_id"])["text"] for w in plain)]
    assert wrong == []
    for title in ("退耕还林条例", "浙江省河道管理条例"):
        records = [r for r in laws if title in r["title"]]
        assert records and not any(r in tagged for r in records), title


@pytest.mark.shared
def test_topic_facet_counts_and_filters_documents(full_index: Path, collection_records: list[dict]) -> None:
    from search_app.engine import SearchEngine, SearchRequest

    engine = SearchEngine(full_index)
    facet = {row.value: row.count for row in engine.search(SearchRequest()).facets["topic"]}
    assert facet == dict(Counter(t for r in collection_records for t in r["topics"]))
    result = engine.search(SearchRequest(q="课后服务", filters={"topic": ["双减与课后服务"]}, per_page=50))
    with_topic = {r["doc_id"] for r in collection_records if "双减与课后服务" in r["topics"]}
    assert result.hits and {h.doc_id for h in result.hits} <= with_topic
    unfiltered = engine.search(SearchRequest(q="课后服务"))
    assert result.total_docs < unfiltered.total_docs  # the filter filters


def test_section_topic_filter_keeps_the_sections_of_a_topic(seed_index: Path) -> None:
    from search_app.engine import SearchEngine, SearchRequest

    engine = SearchEngine(seed_index)
    by_doc = engine.search(SearchRequest(filters={"topic": ["心理健康"]}, per_page=50))
    by_section = engine.search(SearchRequest(filters={"section_topic": ["心理健康"]}, per_page=50))
    assert by_section.total_sections < by_doc.total_sections
    assert all("心理健康" in s.topics for h in by_section.hits for s in h.sections)
    # Not a facet of its own: the facets are the same five, and they count the filtered sections' documents.
    assert "section_topic" not in by_section.facets
    assert sum(r.count for r in by_section.facets["doc_kind"]) == by_section.total_docs
