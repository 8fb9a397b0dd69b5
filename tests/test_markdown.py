"""Markdown files: parsed to plain text and sections, no markup anywhere, original-page links as URLs."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest

from indexer.models import Document
from indexer.pipeline import parse_raw
from indexer.readers import read_file
from indexer.readers.markdown import markdown_document
from tests.conftest import shared_path

# What must never reach the index, a snippet or a page: tags, comments, entities, Markdown
# link and heading syntax. (Not "**": the seeds write redacted names as "**市".)
RAW_MARKUP = re.compile(r"<p\b|<br\b|<strong\b|<span\b|<!--|\]\(https?:|&(?:[a-zA-Z]+|#\d+);|^#", re.MULTILINE)

NEWS = """# 《新闻联播》 (20230919)

## 新闻摘要

本期节目主要内容：

1.【新思想引领新征程】教育强国建设迈出坚实步伐；

2.国内联播快讯：

（1）秋季学期各地中小学开学；

（《新闻联播》 20230919 19:00）

## 详细新闻

### 【新思想引领新征程】教育强国建设迈出坚实步伐

<p style="text-indent: 2em;"><strong>央视网消息</strong>（新闻联播）：各地落实“双减”&nbsp;政策，课后服务&amp;托管全面覆盖。</p><p>学生作业负担<br>明显减轻。</p>

[查看原文](https://tv.cctv.com/2023/09/19/VIDEaaaa230919.shtml)

### 国内联播快讯

<p><strong>央视网消息</strong>（新闻联播）：</p><p><strong>秋季学期各地中小学开学</strong></p><p>全国各地中小学陆续开学。</p>

[查看原文](https://tv.cctv.com/2023/09/19/VIDEbbbb230919.shtml)

---

(更新时间戳: 1695134400000)
"""

LAW = """# 某省义务教育条例

2011年11月17日 某省第十一届人民代表大会常务委员会第三十次会议通过

2020年5月14日 某省第十三届人民代表大会常务委员会第二十一次会议第一次修正

<!-- INFO END -->

## 第一章  总则

第一条 为了保障适龄儿童、少年接受义务教育的权利，制定本条例。

第二条 本条例适用于本省行政区域内的义务教育。

## 第二章  学生

第三条 学校应当减轻学生过重课业负担：

1. 控制作业总量；
2. 保障睡眠时间。
"""


def parse(tmp_path: Path, name: str, source: str) -> Document:
    """Read a Markdown file written under `tmp_path` and run it through the whole parse pipeline."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    result = read_file(path, tmp_path)
    assert result.errors == [] and len(result.documents) == 1
    return parse_raw(result.documents[0], "corpus")


def check_sections(doc: Document) -> None:
    """Sections are the document's own slices, contiguous, and free of markup."""
    assert doc.sections[0].start == 0 and doc.sections[-1].end == len(doc.text)
    assert all(before.end == after.start for before, after in pairwise(doc.sections))
    for section in doc.sections:
        assert section.text == doc.text[section.start : section.end]
        assert not RAW_MARKUP.search(section.heading + "\n" + section.text), section.heading
        assert "**" not in section.text, section.heading


def test_news_items_are_sections_with_their_page(tmp_path: Path) -> None:
    doc = parse(tmp_path, "news/20230919.md", NEWS)
    check_sections(doc)
    assert doc.doc_kind == "新闻"
    assert [(s.level, s.heading, s.path) for s in doc.sections] == [
        (0, "《新闻联播》 (20230919)", []),
        (2, "【新思想引领新征程】教育强国建设迈出坚实步伐", []),
        (2, "国内联播快讯", []),
        (3, "秋季学期各地中小学开学", ["国内联播快讯"]),  # a story of the 快讯, headed in bold
    ]
    first, flash, story = doc.sections[1:]
    assert first.url == "https://tv.cctv.com/2023/09/19/VIDEaaaa230919.shtml"
    # The 快讯's page link comes after its stories, and is theirs too.
    assert flash.url == story.url == "https://tv.cctv.com/2023/09/19/VIDEbbbb230919.shtml"
    assert story.text == "秋季学期各地中小学开学\n\n全国各地中小学陆续开学。"
    assert doc.url is None
    # Paragraphs and <br> become lines; entities are decoded, &nbsp; is a space.
    assert first.text == (
        "【新思想引领新征程】教育强国建设迈出坚实步伐\n\n"
        "央视网消息（新闻联播）：各地落实“双减” 政策，课后服务&托管全面覆盖。\n学生作业负担\n明显减轻。\n\n"
    )
    # The digest (each headline again), "详细新闻", the link text and the scrape stamp are gone.
    assert doc.text.count("教育强国建设迈出坚实步伐") == 1
    for gone in ("新闻摘要", "本期节目主要内容", "详细新闻", "查看原文", "更新时间戳", "tv.cctv.com"):
        assert gone not in doc.text
    assert doc.text.endswith("全国各地中小学陆续开学。")


def test_law_header_stays_readable(tmp_path: Path) -> None:
    doc = parse(tmp_path, "laws/某省义务教育条例(2020-05-14).md", LAW)
    check_sections(doc)
    assert doc.title == "某省义务教育条例" and doc.doc_kind == "法规"
    assert doc.sections[0].text == (
        "某省义务教育条例\n\n"
        "2011年11月17日 某省第十一届人民代表大会常务委员会第三十次会议通过\n\n"
        "2020年5月14日 某省第十三届人民代表大会常务委员会第二十一次会议第一次修正\n\n"
    )
    headings = [(s.level, s.heading, s.path) for s in doc.sections[1:]]
    assert headings == [
        (1, "第一章 总则", []),
        (3, "第一条", ["第一章 总则"]),
        (3, "第二条", ["第一章 总则"]),
        (1, "第二章 学生", []),
        (3, "第三条", ["第二章 学生"]),
    ]
    # A Markdown list keeps its numbers: they are part of what the law says.
    assert doc.sections[-1].text.endswith("负担：\n\n1. 控制作业总量；\n\n2. 保障睡眠时间。")


def test_nested_html_inside_markdown() -> None:
    source = (
        "引言<span class=\"x\">段落</span>继续<!-- 注释 -->。\n\n"
        "<div class=\"box\">标题文字<p>第一段<strong>加粗</strong>结束</p>"
        "<ul><li>甲项</li><li>乙项<br/>续行</li></ul><script>var a = 1;</script><!-- hidden -->尾巴</div>\n\n"
        "<!-- INFO END -->\n\n结语。"
    )
    raw = markdown_document(source, "x.md")
    assert raw.text == "引言段落继续。\n\n标题文字\n第一段加粗结束\n甲项\n乙项\n续行\n尾巴\n\n结语。"
    # A paragraph that is all bold is a heading one level below the Markdown heading above it.
    raw = markdown_document("## 快讯\n\n<p><strong>第一条消息</strong></p><p>正文<b>强调</b>。</p><p><b>这一句加粗了。</b></p>", "x.md")
    assert raw.text == "快讯\n\n第一条消息\n\n正文强调。\n这一句加粗了。"
    assert [(h.level, h.title) for h in raw.outline] == [(1, "快讯"), (2, "第一条消息")]


def test_links_images_and_escapes() -> None:
    source = (
        "[查看原文](https://example.org/doc.html)\n\n"
        "# 标题\n\n"
        "详见[教育部网站](http://www.moe.gov.cn/ \"教育部\")和<https://www.gov.cn/>。\n\n"
        "![校园一角 航拍](images/campus.png)\n\n"
        "价格 \\*不含税\\* &lt;100元&gt; **重点** *强调* `代码`\n\n"
        "## 小节\n\n"
        "[查看原文](/local/page.html)\n\n"
        "| 项目 | 数量 |\n|---|---|\n| 学校 | 12 |\n"
    )
    raw = markdown_document(source, "x.md")
    # A 查看原文 link above the first heading below the title is the document's page.
    assert raw.url == "https://example.org/doc.html"
    assert raw.title == "标题"
    assert raw.text == (
        "标题\n\n"
        "详见教育部网站和https://www.gov.cn/。\n\n"
        "校园一角 航拍\n\n"
        "价格 *不含税* <100元> 重点 强调 代码\n\n"
        "小节\n\n"
        "查看原文\n\n"  # not a web address: no URL, the text stays
        "项目\u3000数量\n\n学校\u300012"
    )
    assert [(h.level, h.title, h.url) for h in raw.outline] == [(0, "标题", None), (1, "小节", None)]


def test_markdown_without_text_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.md"
    path.write_text("<!-- INFO END -->\n\n---\n", encoding="utf-8")
    result = read_file(path, tmp_path)
    assert result.documents == [] and "no text" in result.errors[0].reason


@pytest.mark.shared
def test_real_news_and_laws_parse_cleanly() -> None:
    news = shared_path("corpora", "xinwenlianbo", "news")
    for name, stories, linked in (("20220924.md", 15, 0), ("20230101.md", 13, 13), ("20260822.md", 10, 10)):
        result = read_file(news / name, news)
        doc = parse_raw(result.documents[0], "xinwenlianbo")
        check_sections(doc)
        items = [s for s in doc.sections if s.level == 2]
        assert len(items) == stories == (news / name).read_text(encoding="utf-8").count("\n### ")
        assert sum(1 for s in items if s.url and s.url.startswith("https://tv.cctv.com/")) == linked
        assert not any(s.heading in ("新闻摘要", "详细新闻") for s in doc.sections)
    laws = shared_path("corpora", "laws")
    path = next(laws.rglob("最高人民法院、最高人民检察院关于执行《刑法》确定罪名的补充规定（二）(2003-08-15).md"))
    doc = parse_raw(read_file(path, laws).documents[0], "laws")
    check_sections(doc)
    # The table keeps its cells, without the pipes and the dashes of the Markdown table.
    assert "刑法条文\u3000罪名" in doc.text and "|" not in doc.text and "<!--" not in doc.text


@pytest.mark.shared
def test_no_markup_in_any_section_of_the_collection(full_index: Path) -> None:
    from speechindex.docstore import DocStore
    from speechindex.location import IndexLocation
    from speechindex.schema import DOCSTORE

    store = DocStore(IndexLocation(full_index).current() / DOCSTORE, readonly=True)
    try:
        records = [store.get(doc_id) for (doc_id,) in store.db.execute("SELECT doc_id FROM documents")]
    finally:
        store.close()
    assert len(records) >= 5049
    dirty = [
        (record["source_file"], section["heading"], match.group())
        for record in records
        for section in record["sections"]
        if (match := RAW_MARKUP.search(section["heading"] + "\n" + section["text"]))
    ]
    assert dirty == []
    news = [r for r in records if r["source"] == "新闻联播" or r["source_file"].startswith("news/")]
    assert len(news) == 1423
    # Every story is a section; the digest never is; stories since 2023 link their page.
    assert all(s["heading"] not in ("新闻摘要", "详细新闻") for r in news for s in r["sections"])
    linked = sum(1 for r in news for s in r["sections"] if (s.get("url") or "").startswith("https://tv.cctv.com/"))
    assert linked >= 19_000
