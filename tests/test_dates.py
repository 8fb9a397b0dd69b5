"""Dates as metadata: the written forms, a law's header, file names, the whole collection's
years, the titles of the 2020 speeches, the source names and `python -m indexer stats`."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from indexer.clean import clean_text
from indexer.metadata import extract_metadata, header_dates
from indexer.models import RawDocument
from indexer.pipeline import fallback_source, parse_raw
from indexer.readers import read_file
from indexer.readers.dates import find_dates, normalise_date
from tests.conftest import shared_path


def meta_of(text: str, source_file: str = "doc.md", fmt: str = "md", **known):
    raw = RawDocument(text=text, source_file=source_file, fmt=fmt, **known)
    return extract_metadata(raw, clean_text(text, fmt))


# ---------------------------------------------------------------- written forms


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("20230919", ["2023-09-19"]),
        ("《新闻联播》 (20230919)", ["2023-09-19"]),
        ("深圳经济特区学前教育条例(2022-06-30)", ["2022-06-30"]),
        ("2023年9月19日 通过", ["2023-09-19"]),
        ("2023 年 9 月 19 日", ["2023-09-19"]),
        ("2023.9.19", ["2023-09-19"]),
        ("2023/9/19", ["2023-09-19"]),
        ("二〇二三年九月十九日", ["2023-09-19"]),
        ("一九五四年九月二十三日", ["1954-09-23"]),
        ("１９５４年９月２３日", ["1954-09-23"]),
        ("2008年2月18日 最高人民法院…会议、2008年5月8日最高人民检察院…通过", ["2008-02-18", "2008-05-08"]),
        # Not dates: a hash, an impossible day, a count, a version number, a target year.
        ("000_bbde98b2ca611a02", []),
        ("20231345", []),
        ("2023-02-30", []),
        ("共12345678人", []),
        ("v1.2023.9.19.5", []),
        ("到2035年基本实现", []),
    ],
)
def test_find_dates(text: str, dates: list[str]) -> None:
    assert [d.iso for d in find_dates(text)] == dates


@pytest.mark.parametrize(
    ("value", "iso"),
    [("二〇二〇年五月十九日", "2020-05-19"), ("２０２０年５月１９日", "2020-05-19"), ("2020-05-19 10:30", "2020-05-19"), ("2020年5月", "2020-05")],
)
def test_collection_date_columns(value: str, iso: str) -> None:
    assert normalise_date(value) == iso


LAW = """# 中华人民共和国某某法

2001年8月31日 第九届全国人民代表大会常务委员会第二十三次会议通过

2013年6月29日 第十二届全国人民代表大会常务委员会第三次会议《关于修改部分法律的决定》修正

2021年12月24日 第十三届全国人民代表大会常务委员会第三十二次会议修订

2022年5月1日 施行

<!-- INFO END -->

## 第一章 总则

第一条 为了规范工作，根据2035年远景目标和1958年以来的经验，制定本法。
"""


def test_law_header_dates() -> None:
    assert header_dates(LAW) == [
        ("2001-08-31", True), ("2013-06-29", True), ("2021-12-24", True), ("2022-05-01", False),
    ]
    meta = meta_of(LAW, "laws/行政法/某某法(2021-12-24).md")
    # The latest version is the revision of 2021, not the day it took effect.
    assert (meta.date, meta.year) == ("2021-12-24", 2021)
    assert meta.dates == ["2001-08-31", "2013-06-29", "2021-12-24", "2022-05-01"]


def test_file_name_names_a_version_the_header_omits() -> None:
    text = "# 重庆市某某条例\n\n2008年7月25日 重庆市第三届人民代表大会常务委员会第五次会议通过\n\n<!-- INFO END -->\n\n第一条 为了"
    meta = meta_of(text, "laws/DLC/重庆市某某条例(2018-07-26).md")
    assert (meta.date, meta.year, meta.dates) == ("2018-07-26", 2018, ["2008-07-25"])
    # Published a week after adoption, across new year: the header's adoption stays the date.
    meta = meta_of(text.replace("2008年7月25日", "2022年12月29日"), "laws/DLC/重庆市某某条例(2023-01-06).md")
    assert (meta.date, meta.year) == ("2022-12-29", 2022)


def test_broadcast_date_and_title(tmp_path: Path) -> None:
    path = tmp_path / "xinwenlianbo" / "news" / "20230919.md"
    path.parent.mkdir(parents=True)
    path.write_text("# 《新闻联播》 (20230919)\n\n## 新闻摘要\n\n到2035年，建成教育强国。2063年的目标。\n", encoding="utf-8")
    doc = parse_raw(read_file(path, tmp_path).documents[0], "corpora")
    assert (doc.title, doc.date, doc.year, doc.source) == ("新闻联播 2023-09-19", "2023-09-19", 2023, "新闻联播")


@pytest.mark.parametrize(
    ("text", "year"),
    [
        # Targets, "X年以来" and plans never date a document; years after today neither.
        ("校长讲话\n同志们：\n1958年以来，我们取得了成绩。到2035年建成教育强国。", None),
        ("校长讲话\n同志们：\n2023年我们取得了成绩。2023年，全年完成任务；2050年实现目标。", 2023),
        ("校长讲话\n同志们：\n2063年在2063年时2063年。", None),
    ],
)
def test_weak_years(text: str, year: int | None) -> None:
    assert meta_of(text, "a.txt", "txt").year == year


def test_npc_session_dates_a_resolution() -> None:
    text = "第二届全国人民代表大会第三次会议听取了周恩来总理代表国务院所作的政府工作报告。\n\n1958年以来，我国各族人民……"
    meta = meta_of(text, "r.jsonl#65", "jsonl", title="第二届全国人民代表大会第三次会议关于政府工作报告的决议")
    assert meta.year == 1962


def test_no_future_date() -> None:
    meta = meta_of("# 规划\n\n正文", "plans/20350101.md")
    assert meta.date is None and any("after" in w for w in meta.warnings)


# ---------------------------------------------------------------- sources


@pytest.mark.parametrize(
    ("source_file", "corpus", "url", "source"),
    [
        ("xinwenlianbo/news/20230919.md", "corpora", None, "新闻联播"),
        ("laws/DLC/上海地方法规/x.md", "corpora", None, "法律法规"),
        ("gov_work_reports/government_work_reports.jsonl#3", "corpora", "https://zh.wikisource.org/x", "政府工作报告"),
        ("government_work_reports.jsonl#3", "corpus", "https://zh.wikisource.org/x", "政府工作报告"),
        ("gov_work_reports/cpc_congress_reports.jsonl#1", "corpora", None, "党代会报告"),
        ("xi_speeches_2020/all_data.csv#1", "corpora", None, "习近平讲话（2020）"),
        ("000_bbde98b2ca611a02.txt", "corpus", None, "文库网页"),
        ("DLC/x.md", "laws", None, "法律法规"),
        ("notes/a.txt", "mine", "https://example.org/a", "example.org"),
        ("notes/a.txt", "mine", None, "notes"),
        ("a.txt", "mine", None, "mine"),
    ],
)
def test_fallback_source(source_file: str, corpus: str, url: str | None, source: str) -> None:
    raw = RawDocument(text="x", source_file=source_file, fmt="txt", url=url)
    assert fallback_source(raw, corpus) == source


# ---------------------------------------------------------------- the real collections


def test_every_broadcast_gets_its_file_date() -> None:
    root = shared_path("corpora")
    files = sorted((root / "xinwenlianbo" / "news").glob("*.md"))
    assert len(files) == 1423
    wrong = []
    for path in files:
        raw = read_file(path, root).documents[0]
        meta = extract_metadata(raw, clean_text(raw.text, raw.fmt))
        day = f"{path.stem[:4]}-{path.stem[4:6]}-{path.stem[6:]}"
        if (meta.date, meta.year, meta.title) != (day, int(day[:4]), f"新闻联播 {day}"):
            wrong.append((path.name, meta.date, meta.year, meta.title))
    assert wrong == []


def test_sampled_laws_get_a_header_date() -> None:
    root = shared_path("corpora")
    laws = sorted(p for p in (root / "laws").rglob("*.md") if p.name != "README.md")
    sample = random.Random(10).sample(laws, 40)
    for path in sample:
        raw = read_file(path, root).documents[0]
        meta = extract_metadata(raw, clean_text(raw.text, raw.fmt))
        header = [iso for iso, _ in header_dates(raw.text)]
        named = re.search(r"\((\d{4}-\d{2}-\d{2})\)", path.name)
        if header:
            assert meta.dates == sorted(set(header)), path
            # A header date, or the file name's when it names a newer version the header omits.
            assert meta.date in header or (named and meta.date == named.group(1)), (path, meta.date, header)
            assert meta.year == int(meta.date[:4])
        elif named:
            assert meta.date == named.group(1), path


def test_the_2020_speeches_get_whole_titles() -> None:
    path = shared_path("corpora", "xi_speeches_2020", "all_data.csv")
    docs = read_file(path, path.parent).documents
    assert len(docs) == 58
    titles = {}
    for raw in docs:
        meta = extract_metadata(raw, clean_text(raw.text, raw.fmt))
        titles[raw.source_file.split("#")[1]] = meta.title
        assert 4 <= len(meta.title) <= 45, meta.title
        # Whole clauses: the title ends where the text's clause or the composed title ends.
        assert meta.title.endswith(("讲话", "致辞", "发言", "演讲", "贺信", "回信", "说明", "指示")) or (
            _ends_a_clause(meta.title, raw.text)
        ), meta.title
        assert meta.year == 2020 or meta.date == "2018-02-12"
    assert titles["14"] == "在教育文化卫生体育领域专家代表座谈会上的讲话"
    assert titles["7"] == "在统筹推进新冠肺炎疫情防控和经济社会发展工作部署会议上的讲话"
    assert titles["2"] == "在打好精准脱贫攻坚战座谈会上的讲话"
    assert titles["24"] == "致中华全国青年联合会第十三届委员会全体会议和中华全国学生联合会第二十七次代表大会的贺信"


def _ends_a_clause(title: str, text: str) -> bool:
    """Whether `title` occurs in the text (spaces aside) followed by clause punctuation or the author."""
    flat, wanted = "".join(text.split()), "".join(title.split())
    at = flat.find(wanted)
    return at >= 0 and flat[at + len(wanted) :].startswith(tuple("，,。！？!?；;：:※——") + ("习近平",))


def test_whole_collection_years(full_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from indexer.cli import main as indexer_main
    from speechindex.docstore import DocStore
    from speechindex.location import IndexLocation
    from speechindex.schema import DOCSTORE

    store = DocStore(IndexLocation(full_index).current() / DOCSTORE, readonly=True)
    try:
        years = [year for _, year, _, _ in store.iter_metadata()]
        sources = {source for _, _, _, source in store.iter_metadata()}
    finally:
        store.close()
    assert len(years) >= 5049 and max(y for y in years if y is not None) <= 2026
    assert {"新闻联播", "法律法规", "政府工作报告", "党代会报告", "习近平讲话（2020）", "文库网页"} <= sources
    assert "corpus" not in sources and "corpora" not in sources

    assert indexer_main(["stats", "--index", str(full_index), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    by_source = {value: docs for value, docs, _ in stats["source"]}
    assert by_source["新闻联播"] == 1423 and by_source["习近平讲话（2020）"] == 58
    stated_years = [int(value) for value, _, _ in stats["year"] if value.isdigit()]
    # From the first CPC congress (1921) to the newest broadcast, nothing after 2026.
    assert min(stated_years) == 1921 and max(stated_years) == 2026 and 1954 in stated_years
    assert indexer_main(["stats", "--index", str(full_index)]) == 0
    assert "新闻联播" in capsys.readouterr().out


def test_parse_json_shows_a_laws_dates(capsys: pytest.CaptureFixture[str]) -> None:
    from indexer.cli import main as indexer_main

    path = shared_path("corpora", "laws", "刑法", "刑法.md")
    assert indexer_main(["parse", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # Adopted 1979, revised 1997, amended twelve times: the latest, 修正案（十二）, is the date.
    assert doc["dates"][:2] == ["1979-07-01", "1997-03-14"] and doc["date"] == doc["dates"][-1] == "2023-12-29"
    assert doc["year"] == 2023


def test_bundled_corpus_spans_seventy_years() -> None:
    from tests.conftest import BUNDLED

    path = BUNDLED / "government_work_reports.jsonl"
    docs = [parse_raw(raw, "corpus") for raw in read_file(path, BUNDLED).documents]
    assert len(docs) == 72 and {d.source for d in docs} == {"政府工作报告"}
    years = {d.year for d in docs}
    assert None not in years and min(years) == 1954 and max(years) == 2025 and len(years) >= 50
