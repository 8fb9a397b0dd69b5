"""Section splitting: heading grammar, levels, kinds, offsets, on the seeds and the shared corpora."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from indexer.clean import clean_text
from indexer.models import Section
from indexer.readers.markdown import markdown_document
from indexer.structure import split_sections
from speechindex.schema import KIND_OTHER, KIND_PROBLEMS, KIND_REVIEW, KIND_TASKS
from tests.conftest import CORPUS, shared_path

# Lines that open a paragraph of their own when unwrapping (a stand-in for indexer.clean).
_MARK = re.compile(r"^(?:[一二三四五六七八九十]+、|、|[（(][一二三四五六七八九十]+[)）]|\d+\s*[.．])")


def seed(prefix: str) -> str:
    return next(CORPUS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


def body(text: str, first: str, last: str) -> list[str]:
    """The lines strictly between the line equal to `first` and the next line starting with `last`."""
    lines = text.splitlines()
    i = lines.index(first)
    j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith(last))
    return lines[i + 1 : j]


def unwrap(lines: list[str]) -> str:
    """Join hard-wrapped lines into paragraphs: a new one after a sentence end, at a numbering
    mark, or after a short heading line."""
    paras: list[str] = []
    for line in (raw.strip() for raw in lines):
        if not line:
            continue
        prev = paras[-1] if paras else ""
        heading_line = bool(_MARK.match(prev)) and len(prev) <= 40 and "。" not in prev
        if not prev or prev.endswith(("。", "：", ":", "！", "？")) or _MARK.match(line) or heading_line:
            paras.append(line)
        else:
            paras[-1] = prev + line
    return "\n".join(paras) + "\n"


def check_cover(text: str, sections: list[Section]) -> None:
    """Sections are contiguous, cover the text, and carry their own slice."""
    assert sections, "at least one section"
    assert sections[0].start == 0
    assert sections[-1].end == len(text)
    for a, b in zip(sections, sections[1:]):
        assert a.end == b.start
    for s in sections:
        assert s.text == text[s.start : s.end]
        assert s.topics == []
        assert s.kind in (KIND_REVIEW, KIND_PROBLEMS, KIND_TASKS, KIND_OTHER)


def outline(sections: list[Section], level: int) -> list[str]:
    return [s.heading for s in sections if s.level == level]


def by_heading(sections: list[Section], prefix: str) -> Section:
    return next(s for s in sections if s.heading.startswith(prefix))


def markdown_sections(source: str, doc_kind: str | None = None) -> tuple[str, list[Section]]:
    """(cleaned text, sections) of Markdown source, as the indexer reads, cleans and splits it."""
    raw = markdown_document(source, "doc.md")
    text = clean_text(raw.text, raw.fmt).text
    return text, split_sections(text, raw.fmt, doc_kind, raw.outline)


# -- seed 001: a work plan, hard-wrapped lines -----------------------------------------------

SEED001_L1 = [
    "一、以党的建设为统领,凝聚教育发展持久动力",
    "二、以全面发展为目标,落实立德树人根本任务",
    "三、以改革创新为驱动,推进教育内涵品质发展",
]
SEED001_L3 = [
    "1.深入学习宣传贯彻党的二十大精神。",
    "2.全面加强教育系统党的建设。",
    "3.驰而不息推进全面从严治党。",
    "4.促进学生全面发展。",
    "5.抓好心理健康教育。",
    "6.强化家校协同育人。",
    "7.扎实推进集团化办学。",
    "8.深入实施“一校一品”。",
]


def seed001_lines() -> list[str]:
    return body(seed("001"), "2023 年XX 区教育工作要点", "标签: #教育工作")


def test_seed001_outline_levels_and_paths() -> None:
    text = unwrap(seed001_lines())
    sections = split_sections(text, "txt", "工作要点")
    check_cover(text, sections)
    assert sections[0].heading == "" and sections[0].level == 0
    assert sections[0].text.startswith("2023 年,XX 区教育工作将以习近平新时代")
    assert outline(sections, 1) == SEED001_L1
    assert outline(sections, 3) == SEED001_L3
    assert outline(sections, 2) == []
    assert by_heading(sections, "4.").path == [SEED001_L1[1]]
    assert by_heading(sections, "8.").path == [SEED001_L1[2]]
    # A run-in item's section starts at the line start and runs to the next item.
    item1 = by_heading(sections, "1.")
    assert item1.text.startswith("1.深入学习宣传贯彻党的二十大精神。开展学习党的二十大精神轮训")
    assert item1.end == by_heading(sections, "2.").start


def test_seed001_kinds_follow_the_document_kind() -> None:
    text = unwrap(seed001_lines())
    plan = split_sections(text, "txt", "工作要点")
    assert {s.kind for s in plan} == {KIND_TASKS}  # a work plan is all tasks
    speech = split_sections(text, "txt", "讲话")
    kinds = {s.heading: s.kind for s in speech}
    assert kinds[SEED001_L1[0]] == KIND_OTHER  # no cue in "以党的建设为统领"
    assert kinds[SEED001_L1[1]] == KIND_TASKS  # weak cue 目标
    assert kinds["1.深入学习宣传贯彻党的二十大精神。"] == KIND_OTHER  # inherited
    assert kinds["2.全面加强教育系统党的建设。"] == KIND_TASKS  # weak cue 加强 under a kind-less parent


def test_seed001_leftover_hard_wraps_give_the_same_outline() -> None:
    text = "\n".join(seed001_lines())
    sections = split_sections(text, "txt", "工作要点")
    check_cover(text, sections)
    assert outline(sections, 1) == SEED001_L1
    assert outline(sections, 3) == SEED001_L3


# -- seed 003: review with (一)…(六) --------------------------------------------------------

SEED003_L2 = [
    "(一)教育实践活动取得明显成效",
    "(二)教育民生工程扎实推进",
    "(三)教育事业全面发展",
    "(四)依法行政提升管理水平",
    "(五)规范办学提升教育公信力",
    "(六)队伍建设不断提高",
]


def test_seed003_review_subsections_inherit_the_kind() -> None:
    text = unwrap(body(seed("003"), "同志们:", "摘要:"))
    sections = split_sections(text, "txt", "讲话")
    check_cover(text, sections)
    assert outline(sections, 1) == ["一、20XX 年工作回顾"]
    assert outline(sections, 2) == SEED003_L2
    for s in sections[1:]:
        assert s.kind == KIND_REVIEW, s.heading  # "扎实推进" (weak cue) does not override 回顾
    assert all(s.path == ["一、20XX 年工作回顾"] for s in sections if s.level == 2)
    assert sections[0].kind == KIND_OTHER and sections[0].heading == ""


# -- seed 004: review / problems / tasks, paragraphs on lines --------------------------------


def test_seed004_three_parts_and_run_in_subheadings() -> None:
    text = "\n".join(body(seed("004"), "同志们:", "推荐访问")) + "\n"
    sections = split_sections(text, "txt", "讲话")
    check_cover(text, sections)
    level1 = [(s.heading, s.kind) for s in sections if s.level == 1]
    assert level1 == [
        ("一、2020年工作总结", KIND_REVIEW),
        ("二、X教育面临的现状及问题", KIND_PROBLEMS),
        ("三、2020年主要工作任务", KIND_TASKS),
    ]
    review = [s for s in sections if s.path == ["一、2020年工作总结"]]
    assert [s.heading[:3] for s in review] == ["(一)", "(二)", "(三)", "(四)", "(五)", "(六)"]
    assert {s.kind for s in review} == {KIND_REVIEW}
    assert review[1].heading == "(二)过去一年,我们坚持凝聚合力,全面打赢“抗疫”和“复学”两场战役。"
    tasks = [s for s in sections if s.path == ["三、2020年主要工作任务"]]
    assert [s.heading for s in tasks][:2] == [
        "(一)以建党百年为契机,推进教育系统党建工作。",
        "(二)以人民需求为导向,夯实教育服务保障。",
    ]
    assert len(tasks) == 5 and {s.kind for s in tasks} == {KIND_TASKS}
    # "一是…二是…" paragraphs in the problems part are not headings.
    assert "\n一是教育发展不平衡不充分问题" in by_heading(sections, "二、").text
    assert not [s for s in sections if re.match("[一二三]是", s.heading)]


# -- seed 002: line breaks lost, headings mid-paragraph ---------------------------------------


def seed002_lines() -> list[str]:
    lines = seed("002").splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("1、在2023年"))
    j = next(k for k, line in enumerate(lines) if line.startswith("展开阅读全文"))
    return lines[i:j]


def test_seed002_run_together_headings() -> None:
    # Cleaned as the page would be: page numbers "N、" dropped, pages joined.
    text = "".join(re.sub(r"^\d+、", "", line) for line in seed002_lines() if line.strip())
    sections = split_sections(text, "txt", "讲话")
    check_cover(text, sections)
    assert [(s.heading, s.kind) for s in sections if s.level == 1] == [
        ("一、回顾盘点,绘就教育“奋进之笔”落笔生辉", KIND_REVIEW),
        ("二、面向未来,把握教育“发展大势”乘势而为", KIND_TASKS),
    ]
    first = by_heading(sections, "一、")
    assert text[first.start - 1] == "。"  # starts right after "…讲三点意见。"
    assert first.text.startswith("一、回顾盘点,绘就教育“奋进之笔”落笔生辉2023年,")
    review = [s for s in sections if s.level == 2 and s.path == [first.heading]]
    assert review[0].heading == "(一)教育党建工作显现新气象党关于教育工作的领导全面加强。"
    assert review[1].heading == "(二)教育教学质量实现新提升"
    items = [s for s in sections if s.path == [first.heading, "(二)教育教学质量实现新提升"]]
    assert [s.heading for s in items] == [
        "1全面育人有成效。",  # a bare 1 is taken only where it is glued to a cut heading
        "2 .优质均衡有进展。",
        "3 .教学改革有亮点。",
        "4 .教学成绩有突破。",
    ]
    assert {s.kind for s in items} == {KIND_REVIEW}
    plan = [s.heading for s in sections if s.level == 2 and s.path == ["二、面向未来,把握教育“发展大势”乘势而为"]]
    assert plan == [
        "(一)聚焦“均衡”",
        "(二)聚焦“常态”,夯实“两个管理”",
        "(三)聚焦“规矩”,强化“双减”工作",
        "(四)聚焦“五育”,提升教学质量",
        "(五)聚焦“发展”,推进“五大教育”",
    ]


def test_seed002_page_numbers_are_not_items() -> None:
    text = "\n".join(seed002_lines())
    sections = split_sections(text, "txt", "讲话")
    check_cover(text, sections)
    assert outline(sections, 1) == [
        "一、回顾盘点,绘就教育“奋进之笔”落笔生辉",
        "二、面向未来,把握教育“发展大势”乘势而为",
    ]
    # Page numbers glued to a line start ("3、教育。县青少年…") follow no sentence end.
    assert not [s.heading for s in sections if re.match(r"\d+、", s.heading) and s.start > 0]


# -- seed 000: damaged headings -----------------------------------------------------------------


def test_seed000_damaged_level1_headings() -> None:
    text = unwrap(body(seed("000"), "侵权投诉", "摘要:"))
    sections = split_sections(text, "txt", "讲话")
    check_cover(text, sections)
    assert outline(sections, 1) == [
        "一、聚焦党建领航,举旗定向筑牢意识形态“主阵地”",
        "二、聚焦教育惠民,扩容提质打通资源供给“主动脉”",
        "三、聚焦队伍建设,活力能建强立德树人“主力",
        "、聚焦内建设,主动发展奏响品质教育“主旋律",  # numeral lost in extraction
        "、聚焦保障,常抓长效定教育态“主基调”",
        "一、进一步强化资源供给",
    ]


# -- grammar details on small texts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('name = "arabic"', 'name = "roman"', "unknown heading rule 'roman' (known: division, article,"),
        ('name = "article"', 'name = "articles"', "unknown heading rule 'articles'"),
    ],
)
def test_an_unknown_rule_name_in_the_grammar_fails_at_load(tmp_path: Path, old: str, new: str, message: str) -> None:
    from indexer.structure import HEADINGS_PATH, _grammar

    edited = tmp_path / "headings.toml"
    edited.write_text(HEADINGS_PATH.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        _grammar(edited)


def test_the_grammar_needs_the_article_rule(tmp_path: Path) -> None:
    from indexer.structure import HEADINGS_PATH, _grammar

    text = HEADINGS_PATH.read_text(encoding="utf-8")
    start = text.index('[[rules]]\nname = "article"')
    edited = tmp_path / "headings.toml"
    edited.write_text(text[:start] + text[text.index("[[rules]]", start + 1) :], encoding="utf-8")
    with pytest.raises(ValueError, match="no 'article' rule"):
        _grammar(edited)


def test_text_without_headings_is_one_section() -> None:
    text = "今天我们召开会议。大家要认真落实。\n"
    [only] = split_sections(text)
    assert (only.heading, only.level, only.kind, only.start, only.end) == ("", 0, KIND_OTHER, 0, len(text))
    assert split_sections(text, "txt", "工作要点")[0].kind == KIND_TASKS
    [empty] = split_sections("")
    assert (empty.start, empty.end, empty.text) == (0, 0, "")


def test_text_starting_with_a_heading_has_no_empty_section() -> None:
    text = "  一、总体要求\n坚持稳中求进。\n二、主要任务\n（一）加强党建\n内容。\n"
    sections = split_sections(text)
    check_cover(text, sections)
    assert [(s.heading, s.level, s.kind) for s in sections] == [
        ("一、总体要求", 1, KIND_TASKS),
        ("二、主要任务", 1, KIND_TASKS),
        ("（一）加强党建", 2, KIND_TASKS),
    ]
    assert sections[2].path == ["二、主要任务"]


def test_variants_of_numbering_marks() -> None:
    text = "前言。\n一．总体情况\n(一)总体\n1．第一项。\n2 .第二项。\n3、第三项。\n二.下一步工作\n"
    sections = split_sections(text)
    check_cover(text, sections)
    assert [(s.heading, s.level) for s in sections[1:]] == [
        ("一．总体情况", 1),
        ("(一)总体", 2),
        ("1．第一项。", 3),
        ("2 .第二项。", 3),
        ("3、第三项。", 3),
        ("二.下一步工作", 1),
    ]
    assert sections[-1].kind == KIND_TASKS


def test_false_positives_are_not_headings() -> None:
    text = (
        "一、总体要求\n"
        "我们要做好三、四季度的工作，落实好各项任务。\n"
        "一、二年级学生不布置书面作业。\n"
        "主要做法有：1、2、3、三条。\n"
        "PM\n2.5\n浓度下降。\n"
        "“十三五”\n十三五\n时期成就。\n"
        "三、对主要食品定量供应部分，要给职工以适当补贴；\n"
        "1全面育人有成效。\n"
        "二、主要任务\n"
    )
    sections = split_sections(text)
    check_cover(text, sections)
    assert [s.heading for s in sections] == ["一、总体要求", "二、主要任务"]


def test_lone_numeral_lines_in_sequence() -> None:
    text = "报告。\n一\n第一部分内容。\n二\n第二部分内容。\n五\n不是标题。\n"
    sections = split_sections(text)
    assert [(s.heading, s.level) for s in sections] == [("", 0), ("一", 1), ("二", 1)]


def test_mid_line_headings_need_a_sentence_end_and_the_next_number() -> None:
    text = "会议讲三点。一、回顾过去，成绩显著2023年，我们做了很多。二、展望未来，任务艰巨。正文（三）不是标题。"
    sections = split_sections(text)
    check_cover(text, sections)
    assert [(s.heading, s.kind) for s in sections] == [
        ("", KIND_OTHER),
        ("一、回顾过去，成绩显著", KIND_REVIEW),
        ("二、展望未来，任务艰巨。", KIND_TASKS),
    ]


def test_markdown_levels_and_nested_numbering() -> None:
    source = "# 2024年工作要点\n\n导语。\n\n## 一、重点任务\n\n正文。\n\n### 学前教育\n\n（一）扩大普惠\n\n正文。\n1. 列表项\n"
    text, sections = markdown_sections(source)
    check_cover(text, sections)
    assert [(s.heading, s.level) for s in sections] == [
        ("2024年工作要点", 0),
        ("一、重点任务", 1),
        ("学前教育", 2),
        ("（一）扩大普惠", 4),  # numbering nests below the Markdown heading: 2 + its own 2
    ]
    assert sections[3].path == ["一、重点任务", "学前教育"]
    assert {s.kind for s in sections} == {KIND_TASKS}  # the title's cue 工作要点 is inherited


def test_regulation_in_plain_text() -> None:
    text = (
        "某某条例\n第一章 总则\n第一条 为了规范管理，制定本条例。\n第二条 本条例适用于：\n"
        "（一）学校；\n（二）幼儿园。\n第二章 附则\n第三条 本条例自公布之日起施行。\n"
    )
    sections = split_sections(text)
    check_cover(text, sections)
    assert [(s.heading, s.level) for s in sections] == [
        ("", 0),
        ("第一章 总则", 1),
        ("第一条", 3),
        ("第二条", 3),
        ("第二章 附则", 1),
        ("第三条", 3),
    ]
    assert sections[3].path == ["第一章 总则"]
    assert {s.kind for s in sections} == {KIND_OTHER}


def test_first_cue_wins_among_strong_cues() -> None:
    text = "一、1998年工作回顾和1999年工作的总体要求\n内容。\n二、2020年主要工作任务\n内容。\n三、存在的问题\n内容。\n"
    kinds = [s.kind for s in split_sections(text)]
    assert kinds == [KIND_REVIEW, KIND_TASKS, KIND_PROBLEMS]


# -- shared corpora ----------------------------------------------------------------------------


def gov_reports() -> list[dict]:
    path = shared_path("corpora", "gov_work_reports", "government_work_reports.jsonl")
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.mark.shared
def test_gov_report_2025_outline() -> None:
    report = gov_reports()[0]
    assert report["year"] == "2025"
    text = report["content"]
    sections = split_sections(text, "jsonl", "工作报告")
    check_cover(text, sections)
    assert [(s.heading, s.kind) for s in sections if s.level == 1] == [
        ("一、2024年工作回顾", KIND_REVIEW),
        ("二、2025年经济社会发展总体要求和政策取向", KIND_TASKS),
        ("三、2025年政府工作任务", KIND_TASKS),
    ]
    tasks = [s for s in sections if s.path == ["三、2025年政府工作任务"]]
    assert len(tasks) == 10 and {s.level for s in tasks} == {2}
    assert tasks[2].heading == "（三）深入实施科教兴国战略，提升国家创新体系整体效能。"
    assert {s.kind for s in tasks} == {KIND_TASKS}


@pytest.mark.shared
def test_every_modern_gov_report_has_level1_sections() -> None:
    checked = 0
    for report in gov_reports():
        year = report.get("year")
        if not year or int(year) < 1979 or not re.search(r"^一、", report["content"], re.MULTILINE):
            continue
        sections = split_sections(report["content"], "jsonl", "工作报告")
        check_cover(report["content"], sections)
        assert len(outline(sections, 1)) >= 2, year
        checked += 1
    assert checked >= 35


@pytest.mark.shared
def test_law_chapters_and_articles() -> None:
    path = next(shared_path("corpora", "laws").rglob("义务教育法(2018-12-29).md"))
    source = path.read_text(encoding="utf-8")
    text, sections = markdown_sections(source, "法规")
    check_cover(text, sections)
    assert sections[0].heading == "中华人民共和国义务教育法" and sections[0].level == 0
    chapters = outline(sections, 1)
    assert chapters[0] == "第一章 总则" and len(chapters) == 8
    articles = outline(sections, 3)
    assert articles[:3] == ["第一条", "第二条", "第三条"]
    assert len(articles) == len(re.findall(r"^第[一二三四五六七八九十百零]+条", text, re.MULTILINE))
    assert by_heading(sections, "第一条").path == ["第一章 总则"]
    assert {s.kind for s in sections} == {KIND_OTHER}
    # Without the document kind, the articles alone make it read as a law.
    assert outline(markdown_sections(source)[1], 3) == articles
    # The header (adoption and amendment dates) stays readable text of the title section.
    assert sections[0].text.split("\n\n")[1] == "1986年4月12日 第六届全国人民代表大会第四次会议通过"


@pytest.mark.shared
def test_news_day_one_level2_section_per_story() -> None:
    path = shared_path("corpora", "xinwenlianbo", "news", "20230201.md")
    source = path.read_text(encoding="utf-8")
    text, sections = markdown_sections(source, "新闻")
    check_cover(text, sections)
    stories = [s for s in sections if s.level == 2]
    assert len(stories) == len(re.findall(r"^### ", source, re.MULTILINE)) == 11
    assert stories[0].heading == "习近平在中共中央政治局第二次集体学习时强调 加快构建新发展格局 增强发展的安全性主动权"
    # Each story links its page on tv.cctv.com; the link is not part of the text.
    assert all(s.url and s.url.startswith("https://tv.cctv.com/2023/02/01/") for s in stories)
    assert "查看原文" not in text
    # The 新闻摘要 list (every headline again) and the "详细新闻" grouping line are left out.
    assert [(s.level, s.heading) for s in sections[:1]] == [(0, "《新闻联播》 (20230201)")]
    assert all(s.path == [] for s in stories) and outline(sections, 1) == []
    assert text.count(stories[1].heading) == 1
    # A numbered list inside a story nests below the story.
    assert {s.level for s in sections if s.heading.startswith("（")} == {4}
