"""Tests of indexer.clean: every chrome pattern on its own example, then the five seed pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.clean import Cleaned, clean_text, collapse_cjk_spaces, load_patterns
from tests.conftest import CORPUS

SEEDS = {
    "000": "000_bbde98b2ca611a02.txt",
    "001": "001_d2615397c1deb668.txt",
    "002": "002_2026ea8a2fbe29df.txt",
    "003": "003_da6a1b22c78f0c54.txt",
    "004": "004_fecf85ec079d2e15.txt",
}
PATTERNS = load_patterns()
# Two lines of running text, so that the body has started when a pattern's example follows.
PROSE = "同志们:今天,我们召开全市教育工作会议,主要任务是总结工作,安排部署新一年的任务。"
PROSE_2 = "下面,我讲三点意见,请大家认真抓好贯彻落实,确保各项工作落到实处。"
CJK = re.compile(r"[\u4e00-\u9fff]")
CHROME = [
    "VIP专免", "侵权投诉", "金币", "开通VIP", "多端同步记录", "客服", "展开>>", "收起<<",
    "摘要:", "第1页 / 共15页", "亲,该文档总共", "资源描述", "由会员分享", "展开阅读全文",
    "copyright", "经营许可证", "本站为文档C2C", "欢迎来到储乐秘书网", "推荐访问", "本文来源",
    "推荐内容", "下面是小编", "文章来源", "上传人", "标签:",
]


def seed(key: str) -> str:
    return (CORPUS / SEEDS[key]).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cleaned() -> dict[str, Cleaned]:
    return {key: clean_text(seed(key)) for key in SEEDS}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# ---------------------------------------------------------------- the pattern file


def test_pattern_names_are_unique_and_the_file_is_cached() -> None:
    names = [p.name for p in PATTERNS]
    assert len(names) == len(set(names))
    assert [p.name for p in load_patterns()] == names


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_every_pattern_has_an_example_it_matches(pattern) -> None:
    assert pattern.example.strip(), f"pattern {pattern.name} needs a real example line from a seed"
    first_line = pattern.example.strip().split("\n")[0].strip()
    assert pattern.regex.search(first_line), f"{pattern.name} does not match its own example"


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_pattern_example_is_removed(pattern) -> None:
    example = pattern.example.strip()
    if pattern.scope == "line":
        if pattern.zone == "head":
            result = clean_text(f"{example}\n{PROSE}\n{PROSE_2}")
        else:  # in the middle of the body
            result = clean_text(f"{PROSE}\n{example}\n{PROSE_2}")
        assert result.text == f"{PROSE}\n{PROSE_2}"
    elif pattern.scope == "tail":
        result = clean_text(f"{PROSE}\n{PROSE_2}\n{example}\n在全校教职工大会讲话讲话\n更多范文")
        assert result.text == f"{PROSE}\n{PROSE_2}"
    elif pattern.scope == "inline":
        result = clean_text(example)
        assert not pattern.regex.search(result.text)
        assert result.text == pattern.regex.sub("", example).strip()
    elif pattern.scope == "duplicate":
        opening = re.sub(r"(?:\.{3,}|…+)$", "", example)
        result = clean_text(f"{opening}\n{example}")
        assert result.text == clean_text(opening).text
    else:  # chunk
        result = clean_text(example)
        assert not any(pattern.regex.search(line) for line in result.text.split("\n"))
        assert squash(result.text) == squash(re.sub(r"(?m)^\d{1,3}、", "", example))
    assert pattern.name in result.removed
    for hint in pattern.capture.values():
        assert result.hints.get(hint), f"{pattern.name} should capture {hint}"
        assert result.hints[hint] in example


def test_malformed_pattern_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "patterns.toml"
    bad.write_text('[[pattern]]\nname = "x"\nscope = "page"\nregex = "a"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="scope"):
        load_patterns(bad)
    bad.write_text('[[pattern]]\nname = "x"\nregex = "a"\ncapture = { y = "site" }\n', encoding="utf-8")
    with pytest.raises(ValueError, match="capture"):
        load_patterns(bad)
    bad.write_text('[[pattern]]\nname = "x"\nregex = "a"\nscope = "chunk"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="chunk"):
        load_patterns(bad)


def test_head_only_patterns_keep_body_lines() -> None:
    # A bare date or number inside the text is content, not the page's upload date.
    result = clean_text(f"{PROSE}\n2024-01-13\n19 页\n{PROSE_2}")
    assert "2024-01-13" in result.text and "19页" in result.text
    assert "upload_date" not in result.hints


def test_tail_in_the_header_does_not_cut_the_body() -> None:
    result = clean_text(f"相关搜索\n{PROSE}\n{PROSE_2}")
    assert result.text == f"{PROSE}\n{PROSE_2}"


# ---------------------------------------------------------------- the seeds


@pytest.mark.parametrize("key", SEEDS)
@pytest.mark.parametrize("chrome", CHROME)
def test_no_chrome_survives(cleaned, key: str, chrome: str) -> None:
    assert chrome.lower() not in cleaned[key].text.lower()


@pytest.mark.parametrize("key", SEEDS)
def test_cjk_text_is_kept(cleaned, key: str) -> None:
    original = len(CJK.findall(seed(key)))
    kept = len(CJK.findall(cleaned[key].text))
    # Chrome, teasers and link lists are a fifth to a quarter of a page at most.
    assert 0.6 * original <= kept <= original


@pytest.mark.parametrize("key", SEEDS)
def test_no_blank_runs_or_trailing_spaces(cleaned, key: str) -> None:
    text = cleaned[key].text
    assert "\n\n\n" not in text
    assert not re.search(r"[ \t\u3000\u00a0]$", text, re.MULTILINE)
    assert text == text.strip()


SENTENCES = {
    "000": [
        "我们坚持稳中求进主基调,狠抓高质量发展主心骨,主动作为,奋发有为,取得了一定的工作成效",
        "市委教育工委党组织增至97个,党员3212名,为67个学校配备了专职副书记",
        "在市委、市政府的关心重视下,稳步推进农村中小学资源整合,投入约6.2亿元,完成南师附中、梅园小学等7个重点建设项目",
        "惠及学生近1万真正做到“一个不能”。",
        "要及调整步调,稳步推进项工作,沉着应对挑战,实现高质量发展的再跨越,为造苏绿色崛起品质市持贡献教育力量。",
        "一、进一步强化资源供给",
    ],
    "001": [
        "2023年,XX区教育工作将以习近平新时代中国特色社会主义思想为指导,全面学习贯彻落实党的二十大精神,",
        "常态化开展党风廉政教育和日常警示教育,全面落实从严治党主体责任和班子成员“一岗双责”要求,强化政治监督。",
        "以《XX区全面推进教育优质均衡发展实施意见》为纲领,深入推进集团化办学",
        "8.深入实施“一校一品”。组织开展“一校一品”新一轮申报与评审,拟评选项目10个。鼓励落选学校进一步聚焦基",
    ],
    "002": [
        "同志们:今天,我们召开2023年教育局工作会议,主要任务是学习贯彻党的XX大和国家教育工作会议精神",
        "严格开设体艺课程,有效开展心理健康教育。县青少年活动中心指导的学生",
        "在肯定成绩的同时,我们也清醒地看到,全县教育还面临不少问题和挑战。教育发展不平衡不充足的问题仍然存在",
        "统筹推进普通高中“三新”改革,加强高",
    ],
    "003": [
        "今天,我们召开20XX年全市教育工作会议,主要任务是:总结20XX年工作,安排部署20XX年任务",
        "全省民办教育现场会在我市召开,我市在教师配备、生均公用经费保障、政策支持等方面做法得到省和各市的充分认可。",
        "全年受理市长公开电话XX件;网络问政XX件;咨询电话2000余次。XX网XX地区教育诉求量全省最低",
        "(六)队伍建设不断提高",
    ],
    "004": [
        "今天,我们召开年终校长会,回顾2020年工作,部署2020年主要任务,在新故相接之际,顺时而进,乘势而上,开启新征程。",
        "客观上的困难并不可怕,可怕的是思想上的画地为牢。",
        "同志们,新的一年已经到来,十四五已经开局,让我们不忘初心、牢记使命、只争朝夕,让×教育在我们的努力、奉献和拼搏中变得更加美好!",
        "最后,我代表教育局党委班子衷心祝愿全系统师生员工以及家人在新的一年里身体健康、万事如意!",
    ],
}


@pytest.mark.parametrize("key", SEEDS)
def test_body_is_intact(cleaned, key: str) -> None:
    for sentence in SENTENCES[key]:
        assert sentence in cleaned[key].text


def test_seed_openings(cleaned) -> None:
    assert cleaned["000"].text.startswith("在全市校长会议上的讲话\n同志们:\n上半年,")
    assert cleaned["001"].text.startswith("2023年XX区教育工作要点\n2023年,XX区")
    # The title glued to the first chunk gets its own line.
    assert cleaned["002"].text.startswith("在2023年教育局工作会议上的讲话\n同志们:今天,")
    assert cleaned["003"].text.startswith("教育局局长会议讲话\n同志们:\n今天,")
    # The site's repeat of its own title is a header line, not the document's title.
    assert cleaned["004"].text.startswith("在2021年全校教职工大会讲话的讲话\n\n同志们:\n\n今天,")


def test_seed_002_chunk_numbers_removed(cleaned) -> None:
    text = cleaned["002"].text
    assert "有效开展心理健康教育。" in text
    assert not re.search(r"(?m)^\d{1,2}、", text)
    # The text's own enumerations stay.
    assert "2 .优质均衡有进展。" in text and "(一)教育党建工作显现新气象" in text


def test_seed_000_damage_and_structure_kept(cleaned) -> None:
    text = cleaned["000"].text
    lines = text.split("\n")
    assert "一、聚焦党建领航,举旗定向筑牢意识形态“主阵地”" in lines
    assert "三、聚焦队伍建设,活力能建强立德树人“主力" in lines  # damaged heading, not glued
    assert "、聚焦内建设,主动发展奏响品质教育“主旋律" in lines  # lost its 四, kept as is
    assert "\ue001" not in text
    assert text.count("在全市校长会议上的讲话") == 1  # the teaser repeating it is gone


def test_seed_002_placeholders_kept(cleaned) -> None:
    assert "主题教育成绩口,在全县" in cleaned["002"].text


def test_seed_004_paragraphs(cleaned) -> None:
    text = cleaned["004"].text
    assert "\u00a0" not in text
    assert "\n\n一、2020年工作总结\n\n" in text


HEADERS = {
    "000": ["在全市校长会议上的讲话"],
    "001": ["2023年区教育工作要点"],
    "002": [],
    "003": ["教育局局长会议讲话"],
    "004": ["在全校教职工大会讲话讲话"],
}
HINTS = {
    "000": {"upload_date": "2023-08-19", "filename": "在全市校长会议上的讲话.docx"},
    "001": {"upload_date": "2024-01-13"},
    "002": {
        "upload_date": "2023-05-04",
        "filename": "在2023年教育局工作会议上的讲话.docx",
        "site": "第一文库网",
        "domain": "001doc.com",
    },
    "003": {"upload_date": "2024-05-29"},
    "004": {
        "upload_date": "2022-08-08",
        "site": "储乐秘书网",
        "url": "https://www.bobulaisi.com/fanwendaquan/jianghuagao/21509.html",
        "domain": "www.bobulaisi.com",
    },
}


@pytest.mark.parametrize("key", SEEDS)
def test_header_lines_and_hints(cleaned, key: str) -> None:
    assert cleaned[key].header_lines == HEADERS[key]
    assert cleaned[key].hints == HINTS[key]
    assert cleaned[key].removed  # every seed has chrome


# ---------------------------------------------------------------- whitespace


WRAPPED = (
    "一、聚焦党建领航\n"
    "稳慎推进中小学校党组织领导的校长负责制,市委教育工委党组织增至 97 个,党员\n"
    "3212 名,为 67 个学校配备了专职副书记,开展了能力提升培训,坚持党对教育的全\n"
    "面领导不动摇。扎实开展学习贯彻党的二十大精神和主题教育活动,创成市级及以上党\n"
    "建文化品牌项目 36 个,其中推荐参评省级 1 个,进一步强化党风廉政建设工作成效。\n"
    "二、聚焦教育惠民\n"
    "在市委、市政府的关心重视下,稳步推进农村中小学资源整合,投入约 6.2 亿元,完\n"
    "成南师附中、梅园小学等 7 个重点建设项目,新增学位超 5000 个,切实强化供给。\n"
)


def test_hard_wrapped_text_is_unwrapped() -> None:
    text = clean_text(WRAPPED).text
    assert text.split("\n") == [
        "一、聚焦党建领航",
        "稳慎推进中小学校党组织领导的校长负责制,市委教育工委党组织增至97个,党员3212名,"
        "为67个学校配备了专职副书记,开展了能力提升培训,坚持党对教育的全面领导不动摇。"
        "扎实开展学习贯彻党的二十大精神和主题教育活动,创成市级及以上党建文化品牌项目36个,"
        "其中推荐参评省级1个,进一步强化党风廉政建设工作成效。",
        "二、聚焦教育惠民",
        "在市委、市政府的关心重视下,稳步推进农村中小学资源整合,投入约6.2亿元,"
        "完成南师附中、梅园小学等7个重点建设项目,新增学位超5000个,切实强化供给。",
    ]


def test_short_lines_are_not_unwrapped() -> None:
    text = "在全市校长会议上的讲话\n同志们:\n今天的会议很重要\n大家要认真落实"
    assert clean_text(text).text == text


def test_markdown_is_only_normalised() -> None:
    md = "# 中华人民共和国教育法\n\n## 第一章 总则\n第一条 为了发展教育事业\n提高全民族的素质\n\n\n\n  - 列表\n"
    assert clean_text(md, "md").text == (
        "# 中华人民共和国教育法\n\n## 第一章 总则\n第一条 为了发展教育事业\n提高全民族的素质\n\n  - 列表"
    )
    assert clean_text("# VIP专免\n\n侵权投诉", "md").text == "# VIP专免\n\n侵权投诉"


def test_records_get_whitespace_normalisation_only() -> None:
    record = "\u200b\n\n\n\n政府工作报告\n\n\n国务院总理\u3000\n李\u3000强\n\n各位代表：\n\n听取了\n政府工作报告\n。会议认为"
    assert clean_text(record, "jsonl").text == (
        "政府工作报告\n\n国务院总理\n李\u3000强\n\n各位代表：\n\n听取了\n政府工作报告。会议认为"
    )
    # Paragraphs separated by full-width spaces become lines.
    assert clean_text("同志们：\u3000\u3000这次会议很重要。\u3000\u3000下面讲三点。", "csv").text == (
        "同志们：\n这次会议很重要。\n下面讲三点。"
    )


def test_record_licence_footer_is_cut() -> None:
    record = "各位代表！让我们努力奋斗！\n\n\n本作品是中华人民共和国的\n法律\n、\n法规\n，属于\n公有领域\n。\n\nPublic domain\nfalse"
    result = clean_text(record, "jsonl")
    assert result.text == "各位代表！让我们努力奋斗！"
    assert result.removed == ["wikisource_licence"]
    # Site chrome patterns are not applied to records.
    assert clean_text("客服\n关注", "jsonl").text == "客服\n关注"


def test_whitespace_only_lines_and_blank_runs() -> None:
    text = "第一段。\n\u00a0\n\n\u3000\u3000\n\n\n第二段。   \n\n\n\n第三段。"
    assert clean_text(text).text == "第一段。\n\n第二段。\n\n第三段。"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023 年XX 区教育工作要点", "2023年XX区教育工作要点"),
        ("增至 97 个,党员", "增至97个,党员"),
        ("(2023-2025 年)", "(2023-2025年)"),
        ("Hello World 2023", "Hello World 2023"),
        ("推进 STEAM education 教育", "推进STEAM education教育"),
        ("习近平新时代 中国特色", "习近平新时代 中国特色"),
    ],
)
def test_collapse_cjk_spaces(raw: str, expected: str) -> None:
    assert collapse_cjk_spaces(raw) == expected


def test_own_enumerations_are_not_chunk_markers() -> None:
    text = "工作要点如下:\n\n1、加强党建。\n\n2、提高质量。\n\n3、保障安全。"
    result = clean_text(text)
    assert result.text == text
    assert "page_chunk_number" not in result.removed
