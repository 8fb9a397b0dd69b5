"""Tests of indexer.metadata: the five seeds, each kind of evidence, and the real report collection."""

from __future__ import annotations

import json

import pytest

from indexer.clean import clean_text
from indexer.metadata import Metadata, extract_metadata, parse_year_mentions
from indexer.models import RawDocument
from speechindex.schema import DOC_KINDS
from tests.conftest import CORPUS, shared_path

GOV_REPORTS = ("corpora", "gov_work_reports", "government_work_reports.jsonl")
CPC_REPORTS = ("corpora", "gov_work_reports", "cpc_congress_reports.jsonl")


def metadata_of(text: str, fmt: str = "txt", source_file: str = "doc.txt", **known) -> Metadata:
    raw = RawDocument(text=text, source_file=source_file, fmt=fmt, **known)
    return extract_metadata(raw, clean_text(text, fmt))


def read_shared(parts: tuple[str, ...]) -> list[dict]:
    """The records of a .jsonl collection under ../shared (skips without it)."""
    text = shared_path(*parts).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- the seeds

SEEDS = {
    # file: (title, year, date, doc_kind, source)
    "000_bbde98b2ca611a02.txt": ("在全市校长会议上的讲话", 2023, None, "讲话", None),
    "001_d2615397c1deb668.txt": ("2023年XX区教育工作要点", 2023, None, "工作要点", None),
    "002_2026ea8a2fbe29df.txt": ("在2023年教育局工作会议上的讲话", 2023, None, "讲话", "第一文库网"),
    "003_da6a1b22c78f0c54.txt": ("教育局局长会议讲话", None, None, "讲话", None),
    "004_fecf85ec079d2e15.txt": ("在2021年全校教职工大会讲话的讲话", 2021, None, "讲话", "储乐秘书网"),
}


@pytest.mark.parametrize("name", SEEDS)
def test_seed_metadata(name: str) -> None:
    meta = metadata_of((CORPUS / name).read_text(encoding="utf-8"), source_file=name)
    assert (meta.title, meta.year, meta.date, meta.doc_kind, meta.source) == SEEDS[name]


def test_seed_year_warnings() -> None:
    def warnings(name: str) -> list[str]:
        return metadata_of((CORPUS / name).read_text(encoding="utf-8"), source_file=name).warnings

    # 000: no year in title or opening, 2023 read from the text; the upload date is only noted.
    (inferred,) = warnings("000_bbde98b2ca611a02.txt")
    assert "inferred from the text" in inferred and "2023-08-19" in inferred
    # 003: 20XX everywhere.
    (anonymised,) = warnings("003_da6a1b22c78f0c54.txt")
    assert "anonymises" in anonymised
    # Titles are strong evidence; 004's "2020年" in the text and its 2022 upload do not win.
    for name in ("001_d2615397c1deb668.txt", "002_2026ea8a2fbe29df.txt", "004_fecf85ec079d2e15.txt"):
        assert warnings(name) == []


# ---------------------------------------------------------------- years


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("今天，我们召开2023年教育局工作会议", [2023]),
        ("2023 年XX 区", [2023]),
        ("二〇二三年和一九五四年", [2023, 1954]),
        ("二零二二年", [2022]),
        ("１９５５年国家决算", [1955]),
        ("召开 20XX 年全市教育工作会议，20**年", []),
        ("(2023-2025 年)", [2023, 2025]),
        ("到2035年基本实现", [2035]),
        ("咨询电话 2000 余次，5000年文明，1205 时光，1900年", []),
    ],
)
def test_parse_year_mentions(text: str, years: list[int]) -> None:
    assert parse_year_mentions(text) == years


def test_known_year_wins() -> None:
    meta = metadata_of("2019年中华人民共和国国务院政府工作报告\n过去一年……", year=2020)
    assert meta.year == 2020 and meta.warnings == []


def test_title_year_wins_over_text_and_upload() -> None:
    text = "欢迎来到储乐秘书网!\n文章来源:网友投稿 时间:2022-08-08 09:05:01\n在2021年全校大会上的讲话\n同志们:\n今天，我们回顾2020年工作，部署2020年任务，2020年是关键之年。"
    assert metadata_of(text).year == 2021


def test_anonymised_title_gives_no_year() -> None:
    meta = metadata_of("在20XX年全市教育工作会议上的讲话\n同志们:\n今天，我们召开会议，2023年的成绩很好。")
    assert meta.year is None and "anonymises" in meta.warnings[0]


def test_meeting_named_in_the_opening() -> None:
    meta = metadata_of("教育局长讲话\n同志们:\n今天，我们召开2024年全县教育工作会议，总结2023年工作，部署2024年任务。")
    assert meta.year == 2024 and meta.warnings == []


def test_dated_phrases_constrain_the_text_years() -> None:
    text = "校长讲话\n同志们:\n2019年以来，2019年我们取得了成绩，2023年要学习贯彻党的二十大精神，落实各项任务。"
    meta = metadata_of(text)
    assert meta.year == 2023
    assert "inferred from the text" in meta.warnings[0]


def test_upload_date_only_breaks_ties() -> None:
    base = "作者:公文宝典 分类:公文大全 价格:9金币 属性:5 页 大小:15.55KB 格式:docx 时间:{}\n校长讲话\n同志们:\n{}"
    tie = metadata_of(base.format("2022-08-08", "2021年的工作成效明显，2022年的任务十分繁重，要认真落实到位。"))
    assert tie.year == 2022 and "upload date" in tie.warnings[0]
    majority = metadata_of(base.format("2022-08-08", "2021年的工作成效明显，2021年的任务十分繁重，要认真落实到位。"))
    assert majority.year == 2021


def test_no_year_at_all() -> None:
    meta = metadata_of("校长讲话\n同志们:\n今天我们开会，研究下一步工作，请大家认真落实。")
    assert meta.year is None and meta.warnings


def test_congress_in_the_title() -> None:
    assert metadata_of("同志们！\n现在开会。", fmt="jsonl", title="在中国共产党第九次全国代表大会上的报告").year == 1969
    assert metadata_of("一、去年", fmt="jsonl", title="廣州共產黨報告 (一大)").year == 1921


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("政府工作报告\n\n——2024年3月5日在第十四届全国人民代表大会第二次会议上\n\n各位代表：", "2024-03-05"),
        ("关于政府工作报告的决议\n（2023年3月13日第十四届全国人民代表大会第一次会议通过）\n会议听取了报告。", "2023-03-13"),
        ("政府工作报告\n1957年6月26日在第一届全国人民代表大会第四次会議上\n周恩来", "1957-06-26"),
        ("——在中国共产党第二十次全国代表大会上的报告\n（二〇二二年十月十六日）\n同志们：", "2022-10-16"),
        ("在打好精准脱贫攻坚战座谈会上的讲话（2018年2月12日）习近平党的十八大以后，我先后……", "2018-02-12"),
        ("校长讲话\n同志们:\n2023年3月5日我们召开了会议。", None),
    ],
)
def test_date_lines(text: str, date: str | None) -> None:
    assert metadata_of(text, fmt="jsonl").date == date


def test_upload_date_is_never_the_date() -> None:
    assert metadata_of("2024-01-13\n999+\n侵权投诉\n校长讲话\n同志们:\n今天，我们开会研究工作，请大家落实。").date is None


def test_known_date_wins() -> None:
    meta = metadata_of("同志们：今天，我们召开会议，研究工作。", fmt="csv", date="2020-02-24")
    assert meta.date == "2020-02-24" and meta.year == 2020 and meta.warnings == []


def test_speech_dated_in_the_text_keeps_its_day() -> None:
    # A 2018 speech published in 2020: the date and year are the speech's, the collection's is noted.
    text = "在打好精准脱贫攻坚战座谈会上的讲话（2018年2月12日）习近平党的十八大以后，我先后……"
    meta = metadata_of(text, fmt="csv", date="2020-04-30", year=2020)
    assert (meta.date, meta.year) == ("2018-02-12", 2018)
    assert meta.warnings == ["the text dates the speech 2018-02-12, the collection says 2020-04-30"]


# ---------------------------------------------------------------- titles and sources


def test_known_title_and_source_win() -> None:
    meta = metadata_of((CORPUS / "002_2026ea8a2fbe29df.txt").read_text(encoding="utf-8"), title="2023 年 会议讲话", source="某文库")
    assert meta.title == "2023年 会议讲话" and meta.source == "某文库"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("在打好精准脱贫攻坚战座谈会上的讲话（2018年2月12日）习近平党的十八大以后，", "在打好精准脱贫攻坚战座谈会上的讲话"),
        ("全面提高依法防控依法治理能力※习近平一当前，疫情防控正处于关键时期。", "全面提高依法防控依法治理能力"),
        ("\u3000\u3000回信北京大学援鄂医疗队全体“90后”党员：\u3000\u3000来信收悉。", "给北京大学援鄂医疗队全体“90后”党员的回信"),
        # Whole clauses only, at most 40 characters: never "…疫情影响，凝".
        ("同志们：\u3000\u3000这次会议的主要任务是，分析当前形势，克服新冠肺炎疫情影响，凝心聚力打赢脱贫攻坚战，确保如期完成。", "这次会议的主要任务是，分析当前形势，克服新冠肺炎疫情影响，凝心聚力打赢脱贫攻坚战"),
        ("同志们：今天，我们召开一个企业家座谈会，一是同大家谈谈心。", "在企业家座谈会上的讲话"),
        ("尊敬的拉马福萨总统，尊敬的萨勒总统，在全球抗击新冠肺炎疫情的重要时刻，我们举行这次中非特别峰会，同各位新老朋友", "在中非特别峰会上的讲话"),
        ("尊敬的温敏总统，女士们，先生们，朋友们：\u3000\u3000敏格拉巴！\u3000\u3000新年伊始，贵国刚刚庆祝了独立节，中国的春节即将到来，我在这吉祥如意的时刻访问贵国，特别是今晚", "新年伊始，贵国刚刚庆祝了独立节，中国的春节即将到来，我在这吉祥如意的时刻访问贵国"),
        ("新华社北京11月19日电构建新发展格局\u3000实现互利共赢——在亚太经合组织工商领导人对话会上的主旨演讲（2020年11月19日，北京）", "构建新发展格局 实现互利共赢——在亚太经合组织工商领导人对话会上的主旨演讲"),
        ("弘扬“上海精神” 深化团结协作 构建更加紧密的命运共同体——在上海合作组织成员国元首理事会第二十次会议上的讲话（2020年11月10日，北京）", "弘扬“上海精神” 深化团结协作 构建更加紧密的命运共同体"),
        ("贺信值此中国少年先锋队第八次全国代表大会召开之际，我代表党中央", "致中国少年先锋队第八次全国代表大会的贺信"),
        ("构建起强大的公共卫生体系 为维护人民健康提供有力保障习近平2018年1月，我在", "构建起强大的公共卫生体系 为维护人民健康提供有力保障"),
    ],
)
def test_record_without_title(text: str, title: str) -> None:
    assert metadata_of(text, fmt="csv", source_file="all_data.csv#1").title == title


def test_title_falls_back_to_header_then_file_name() -> None:
    assert metadata_of("在全市校长会议上的讲话\nVIP专免\n同志们:今天,我们召开会议,研究部署工作,请大家落实。").title == "在全市校长会议上的讲话"
    assert metadata_of("同志们:今天,我们召开会议,研究部署工作,请大家落实。", source_file="sub/讲话稿.txt").title == "讲话稿"


def test_source_prefers_site_name_over_domain() -> None:
    text = "同志们:今天,我们召开会议,研究部署工作,请大家落实。\ncopyright@ 2008-2022 001doc.com网站版权所有"
    assert metadata_of(text).source == "001doc.com"


# ---------------------------------------------------------------- kinds


@pytest.mark.parametrize(
    ("title", "text", "fmt", "source_file", "kind"),
    [
        ("在全市教育工作报告会上的讲话", "同志们：", "txt", "a.txt", "讲话"),
        ("2024年中华人民共和国国务院政府工作报告", "各位代表：", "jsonl", "r.jsonl#1", "工作报告"),
        ("第十四届全国人民代表大会第一次会议关于政府工作报告的决议", "会议听取了报告。", "jsonl", "r.jsonl#2", "其他"),
        ("論聯合政府 (七大)", "論聯合政府的版本包括", "jsonl", "c.jsonl#4", "工作报告"),
        ("2023年区教育工作要点", "2023年，全区教育工作", "txt", "a.txt", "工作要点"),
        ("中华人民共和国教育法", "# 中华人民共和国教育法\n\n## 第一章 总则\n\n第一条 为了发展教育事业", "md", "laws/宪法相关法/教育法.md", "法规"),
        ("某省义务教育实施办法(2020修正)", "第一条 为了", "md", "laws/DLC/x.md", "法规"),
        ("《新闻联播》 (20220924)", "《新闻联播》 (20220924)\n\n标题", "md", "news/20220924.md", "新闻"),  # as the Markdown reader gives it
        ("学校管理的几点做法", "我们的做法是", "txt", "a.txt", "其他"),
    ],
)
def test_doc_kind(title: str, text: str, fmt: str, source_file: str, kind: str) -> None:
    assert kind in DOC_KINDS
    assert metadata_of(text, fmt=fmt, source_file=source_file, title=title).doc_kind == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("同志们：\u3000\u3000在全党开展主题教育，是党的十九大作出的重大决策。", "讲话"),
        ("贺信值此哈尔滨工业大学建校100周年之际，我代表党中央，向全校师生员工致以祝贺！", "其他"),
        ("回信乡亲们：你们好！来信收到了。", "其他"),
        ("勠力战疫 共创未来——在二十国集团领导人第十五次峰会第一阶段会议上的讲话（2020年11月21日，北京）", "讲话"),
    ],
)
def test_doc_kind_of_records_without_title(text: str, kind: str) -> None:
    assert metadata_of(text, fmt="csv", source_file="all_data.csv#1").doc_kind == kind


# ---------------------------------------------------------------- real data


@pytest.mark.shared
def test_gov_report_years_inferred_without_the_year_column() -> None:
    records = [r for r in read_shared(GOV_REPORTS) if r.get("year")]
    assert len(records) >= 50  # 52 reports; the NPC resolutions have no year
    for i, record in enumerate(records):
        meta = metadata_of(record["content"], fmt="jsonl", source_file=f"gov#{i + 1}", title=record["title"], year=None)
        assert meta.year == int(record["year"]), record["title"]
        assert meta.doc_kind == "工作报告", record["title"]


@pytest.mark.shared
def test_gov_report_year_column_is_respected() -> None:
    for i, record in enumerate(read_shared(GOV_REPORTS)):
        year = int(record["year"]) if record.get("year") else None
        meta = metadata_of(record["content"], fmt="jsonl", source_file=f"gov#{i + 1}", title=record["title"], year=year)
        if year is not None:
            assert meta.year == year
        else:  # the NPC resolutions
            assert meta.doc_kind == "其他", record["title"]


@pytest.mark.shared
def test_cpc_congress_reports() -> None:
    for i, record in enumerate(read_shared(CPC_REPORTS)):
        meta = metadata_of(record["content"], fmt="jsonl", source_file=f"cpc#{i + 1}", title=record["title"])
        assert meta.doc_kind == "工作报告", record["title"]
        assert meta.year is not None and 1921 <= meta.year <= 2022, record["title"]
