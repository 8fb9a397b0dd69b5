"""Highlighting (`search_app.highlight`): <mark>s sit exactly on the matched characters of the
ORIGINAL text (traditional, full-width, phrases across line breaks), adjacent marks merge,
everything else is escaped, and snippets are at most two ~100-character fragments."""

from __future__ import annotations

import re
from html import unescape

import pytest

from indexer.pipeline import parse_raw
from indexer.readers import read_file
from search_app.compile import QueryCompiler
from search_app.highlight import FRAGMENT_CHARS, MatchSpec, find_spans, highlight_all, merge_spans, snippet
from search_app.query import parse_query
from search_app.render import html
from search_app.results import Fragment
from speechindex import schema as S
from tests.conftest import CORPUS

MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
TAG = re.compile(r"<[^>]+>")


@pytest.fixture(scope="module")
def compiler() -> QueryCompiler:
    return QueryCompiler(S.build_schema())


def spec_for(compiler: QueryCompiler, query: str) -> MatchSpec:
    """What the search engine highlights for a user query."""
    return compiler.compile(parse_query(query)).spec


def highlight_html(text: str, spec: MatchSpec) -> str:
    """The whole text marked, rendered as the document page does."""
    return html(highlight_all(text, spec))


def snippet_html(text: str, spec: MatchSpec, skip: int = 0) -> str:
    """A snippet rendered as the results page does."""
    return html(snippet(text, spec, skip))


def plain(html: str) -> str:
    """The text a reader sees: tags removed, entities decoded."""
    return unescape(TAG.sub("", html))


@pytest.mark.parametrize(
    ("text", "query", "expected"),
    [
        # traditional and variant characters in the text, simplified query
        ("推进學校敎育改革，学校教育", "学校", "推进<mark>學校</mark>敎育改革，<mark>学校</mark>教育"),
        ("我國學校敎育事業", '"学校教育"', "我國<mark>學校敎育</mark>事業"),
        # full-width and upper-case forms
        ("发展５Ｇ网络和5G应用", "5g", "发展<mark>５Ｇ</mark>网络和<mark>5G</mark>应用"),
        ("ＩＴ教育和it", "IT", "<mark>ＩＴ</mark>教育和<mark>it</mark>"),
        # NFKC grows "……" to six dots: offsets still point at the original characters
        ("推进……学校教育", "学校", "推进……<mark>学校</mark>教育"),
        # a Chinese-numeral year is read as digits
        ("一九五三年學校敎育", '"1953年"', "<mark>一九五三年</mark>學校敎育"),
        # a phrase spanning a line break keeps the break inside the mark
        ("促进学生全面\n发展。", '"全面发展"', "促进学生<mark>全面\n发展</mark>。"),
        ("促进学生全面\r\n发展。", '"全面发展"', "促进学生<mark>全面\r\n发展</mark>。"),
        # a multi-term word is also marked where typed as one piece
        ("促进学生全面\n发展", "全面发展", "促进学生<mark>全面\n发展</mark>"),
    ],
)
def test_marks_sit_on_the_original_characters(compiler: QueryCompiler, text: str, query: str, expected: str) -> None:
    assert highlight_html(text, spec_for(compiler, query)) == expected


def test_find_spans_returns_offsets_into_the_original_text(compiler: QueryCompiler) -> None:
    text = "推进……學校敎育"
    spans = find_spans(text, spec_for(compiler, "学校"))
    assert spans == [(4, 6)]
    assert text[4:6] == "學校"


def test_adjacent_and_overlapping_marks_are_merged(compiler: QueryCompiler) -> None:
    assert highlight_html("双减双减", spec_for(compiler, "双减")) == "<mark>双减双减</mark>"
    assert highlight_html("学校教育", spec_for(compiler, "学校 教育")) == "<mark>学校教育</mark>"
    assert merge_spans([(5, 6), (0, 2), (2, 4), (1, 3), (8, 9)]) == [(0, 4), (5, 6), (8, 9)]
    assert merge_spans([(0, 5), (1, 2)]) == [(0, 5)]


def test_everything_outside_and_inside_marks_is_escaped(compiler: QueryCompiler) -> None:
    text = "<script>alert(\"双减\")</script> & '双减'"
    assert highlight_html(text, spec_for(compiler, "双减")) == (
        "&lt;script&gt;alert(&quot;<mark>双减</mark>&quot;)&lt;/script&gt; &amp; &#x27;<mark>双减</mark>&#x27;"
    )
    assert highlight_html("加大R&D投入", spec_for(compiler, '"r&d"')) == "加大<mark>R&amp;D</mark>投入"
    assert highlight_html("<b>标题</b>", spec_for(compiler, "不存在")) == "&lt;b&gt;标题&lt;/b&gt;"


def test_render_clips_marks_to_the_window() -> None:
    assert html(Fragment.cut("abcdefgh", [(1, 3), (5, 7)], 2, 6)) == "<mark>c</mark>de<mark>f</mark>"


def test_empty_spec_and_empty_text() -> None:
    assert find_spans("双减", MatchSpec(frozenset(), ())) == []
    assert find_spans("", MatchSpec(frozenset({"双减"}), ())) == []
    assert highlight_html("a<b", MatchSpec(frozenset(), ())) == "a&lt;b"


def test_snippet_has_two_fragments_of_about_100_chars_with_ellipses() -> None:
    # no clause break anywhere: each fragment starts at its match, never inside a run of text
    text = "甲" * 300 + "双减" + "乙" * 300 + "双减" + "丙" * 300
    html = snippet_html(text, MatchSpec(frozenset(), ("双减",)))
    assert html == (
        "…" + "<mark>双减</mark>" + "乙" * 98 + "… "
        "…" + "<mark>双减</mark>" + "丙" * 98 + "…"
    )


def test_snippet_never_has_more_than_two_fragments() -> None:
    text = "甲" * 300 + "双减" + "乙" * 300 + "双减" + "丙" * 300 + "双减" + "丁" * 300
    html = snippet_html(text, MatchSpec(frozenset(), ("双减",)))
    fragments = html.split("… …")
    assert len(fragments) == 2
    assert html.count("<mark>") == 2
    assert all(len(plain(f).strip("…")) == FRAGMENT_CHARS for f in fragments)


def test_snippet_prefers_the_window_with_the_most_distinct_matches() -> None:
    text = "甲" * 200 + "双减" + "乙" * 200 + "双减" + "丙" * 10 + "课后服务" + "丁" * 200 + "双减" + "戊" * 200
    html = snippet_html(text, MatchSpec(frozenset(), ("双减", "课后服务")))
    fragments = html.split("… …")
    assert len(fragments) == 2
    # the window holding both terms is chosen; the fragments are then shown in text order
    assert fragments[1].count("<mark>") == 2 and "<mark>课后服务</mark>" in fragments[1]
    assert MARK.findall(fragments[0]) == ["双减"]
    assert plain(fragments[0]).startswith("…双减乙")


def test_snippet_starts_after_a_nearby_sentence_break() -> None:
    text = "甲" * 280 + "。" + "乙" * 19 + "双减" + "乙" * 300
    html = snippet_html(text, MatchSpec(frozenset(), ("双减",)))
    assert html == "…" + "乙" * 19 + "<mark>双减</mark>" + "乙" * 79 + "…"


def test_snippet_starts_at_the_clause_before_the_match() -> None:
    # the break is 40 characters before the match: further back than the window's lead-in
    text = "甲" * 200 + "，" + "乙" * 40 + "双减" + "丙" * 300
    html = snippet_html(text, MatchSpec(frozenset(), ("双减",)))
    assert html == "…" + "乙" * 40 + "<mark>双减</mark>" + "丙" * 73 + "…"


def test_snippet_never_cuts_a_mark_at_the_fragment_end() -> None:
    # the window around 双减 ends two characters into 课后服务
    text = "甲" * 300 + "双减" + "乙" * 71 + "课后服务" + "丙" * 300
    html = snippet_html(text, MatchSpec(frozenset(), ("双减", "课后服务")))
    assert html == "…<mark>双减</mark>" + "乙" * 71 + "<mark>课后服务</mark>" + "丙" * 23 + "…"


def test_snippet_never_cuts_a_mark_at_the_fragment_start() -> None:
    # the densest window (four distinct terms) starts two characters into 课后服务
    text = "甲" * 100 + "课后服务" + "乙" * 23 + "双减" + "丙" * 40 + "托管" + "丁" * 10 + "作业" + "己" * 7 + "减负" + "戊" * 300
    html = snippet_html(text, MatchSpec(frozenset(), ("双减", "课后服务", "托管", "作业", "减负")))
    assert html.startswith("…<mark>课后服务</mark>" + "乙" * 23 + "<mark>双减</mark>")
    assert MARK.findall(html) == ["课后服务", "双减", "托管", "作业", "减负"]


def test_snippet_at_the_edges_has_no_ellipsis_and_flattens_line_breaks() -> None:
    assert snippet_html("第一行\n双减\r\n第三行", MatchSpec(frozenset({"双减"}), ())) == "第一行 <mark>双减</mark> 第三行"


def test_snippet_without_match_shows_the_start_after_the_heading_escaped() -> None:
    spec = MatchSpec(frozenset({"不存在"}), ())
    assert snippet_html("标题\n" + "正文" * 80, spec, skip=2) == "正文" * 50 + "…"
    assert snippet_html("标题\n<短>", spec, skip=2) == "&lt;短&gt;"
    # a section that is only its heading falls back to the heading itself
    assert snippet_html("只有标题", spec, skip=4) == "只有标题"
    # a heading length that lands inside a word: the snippet starts at the next line or clause
    assert snippet_html("## 新闻摘要\n本期节目主要内容：", spec, skip=4) == "本期节目主要内容："


def test_highlight_all_on_a_whole_seed_document(compiler: QueryCompiler) -> None:
    path = CORPUS / "001_d2615397c1deb668.txt"
    doc = parse_raw(read_file(path, CORPUS).documents[0], "corpus")
    html = highlight_html(doc.text, spec_for(compiler, '"集团化办学"'))
    assert plain(html) == doc.text
    marks = MARK.findall(html)
    assert marks == ["集团化办学"] * doc.text.count("集团化办学") == ["集团化办学"] * 4


def test_highlight_all_of_a_word_query_marks_only_query_terms(compiler: QueryCompiler) -> None:
    path = CORPUS / "004_fecf85ec079d2e15.txt"
    doc = parse_raw(read_file(path, CORPUS).documents[0], "corpus")
    html = highlight_html(doc.text, spec_for(compiler, "学前教育 集团化办学"))
    assert plain(html) == doc.text
    marks = MARK.findall(html)
    assert marks
    assert all(re.fullmatch(r"(?:学前教育|集团化办学)+", unescape(m)) for m in marks)
    assert marks.count("集团化办学") == doc.text.count("集团化办学")


def test_a_word_the_analyzer_splits_is_marked_as_a_unit(compiler: QueryCompiler) -> None:
    # 学校教育 is 学校 + 教育 to the analyzer: only the places where it occurs whole are marked
    spec = spec_for(compiler, "学校教育")
    assert MARK.findall(highlight_html("学校要重视教育。学校教育是基础，學校敎育亦然。", spec)) == ["学校教育", "學校敎育"]
    # 一九五四年 is 1954 + 年: never a lone 年
    spec = spec_for(compiler, "一九五四年")
    assert MARK.findall(highlight_html("一九五四年九月，同年，1954年宪法。", spec)) == ["一九五四年", "1954年"]
    # a text without the whole word: its parts of two or more characters, still never 年
    assert MARK.findall(highlight_html("1954 和 年", spec)) == ["1954"]


def test_an_expansion_is_marked_where_it_is_a_word(compiler: QueryCompiler) -> None:
    # 职业教育 expands to 职教: marked in 职教集团, never inside 兼职教师
    spec = spec_for(compiler, "职业教育")
    html = highlight_html("组建职教集团，聘请兼职教师，发展职业教育。", spec)
    assert MARK.findall(html) == ["职教", "职业教育"]


def test_the_snippet_prefers_the_window_with_every_query_word_even_when_they_touch() -> None:
    """高考 + 改革 side by side are one mark, 高考改革: it still counts as both words (seed 002's section)."""
    text = (
        "3 .教学改革有亮点。面向中招改革,邀请省教育学院初中九个学科专家关于中考命题规律和复习战略口进行培训指导。"
        "聚焦学科核心素质口,举办11个学科的主题研培会。伊通镇满族中心小学校推行的“两慢、三精、四重”线上教学工作经验"
        "被省教育厅采用刊发。高考改革平稳落地,各校选课走班稳妥推进,两所学校组建学生发展指导中心。"
    )
    fragment = snippet(text, MatchSpec(frozenset({"高考", "改革"}), ()))
    assert [fragment.text[a:b] for a, b in fragment.marks] == ["高考改革"]
    assert fragment.text.startswith("…聚焦学科核心素质口")
