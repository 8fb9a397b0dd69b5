"""Topic tagging: the taxonomy file, the scoring rule, and real sections of the seeds."""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path

import pytest

from indexer.models import Section
from indexer.structure import split_sections
from indexer.topics import TOPICS, TOPICS_PATH, assign_topics, load_lexicon, tag_topics

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"

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
    assert TOPICS_PATH.read_text(encoding="utf-8").startswith("#")  # comment header


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
@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"shared corpora not found at {CORPORA}")
def test_gov_report_education_section_and_speed(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPORA / "gov_work_reports" / "government_work_reports.jsonl"
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
