"""The lenient query parser (`search_app.query`): the exact tree and warnings for every operator
and for broken input. User input never raises; whatever cannot be understood is dropped with a
warning."""

from __future__ import annotations

import pytest

from search_app.query import MAX_QUERY_CHARS, ParsedQuery, Phrase, Word, parse_query

LONE_DASH = "忽略了单独的“-”（排除词应紧跟在减号后面，如 -校外培训）"
UNBALANCED_QUOTE = "引号不成对，已按普通词处理"
UNBALANCED_PARENS = "括号不成对，已忽略括号"
EMPTY_TITLE = "“title:” 后面没有内容，已忽略"
OR_NEEDS_BOTH_SIDES = "“OR” 两边都需要有词，已忽略"
OR_AT_END = "“OR” 后面没有词，已忽略"
NOT_AT_END = "“NOT” 后面没有词，已忽略"
NEGATED_YEAR = "不支持排除年份“year:2020”，已忽略（可用 year:起..止 指定范围）"


def bad_year(value: str) -> str:
    """The warning for a year value that cannot be read."""
    return f"无法理解年份“year:{value}”，已忽略（示例：year:2023 或 year:2019..2023）"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # words: every one must match
        ("双减", ParsedQuery(groups=[[Word("双减")]])),
        ("双减 课后服务", ParsedQuery(groups=[[Word("双减")], [Word("课后服务")]])),
        ("双减\t课后\n服务", ParsedQuery(groups=[[Word("双减")], [Word("课后")], [Word("服务")]])),
        ("\u3000双减\u3000", ParsedQuery(groups=[[Word("双减")]])),
        ("AND 双减 && 教育", ParsedQuery(groups=[[Word("双减")], [Word("教育")]])),
        # phrases, in ASCII, Chinese and corner-bracket quotes
        ('"集团化办学"', ParsedQuery(groups=[[Phrase("集团化办学")]])),
        ("“立德树人”", ParsedQuery(groups=[[Phrase("立德树人")]])),
        ("「双减」", ParsedQuery(groups=[[Phrase("双减")]])),
        ("“双减\"", ParsedQuery(groups=[[Phrase("双减")]])),
        ('"学校 教育"', ParsedQuery(groups=[[Phrase("学校 教育")]])),
        # OR binds tighter than the implicit AND
        ("双减 OR 课后服务", ParsedQuery(groups=[[Word("双减"), Word("课后服务")]])),
        ("双减 | 课后服务", ParsedQuery(groups=[[Word("双减"), Word("课后服务")]])),
        ("双减 OR 课后 OR 托管", ParsedQuery(groups=[[Word("双减"), Word("课后"), Word("托管")]])),
        ('"双减" OR "课后服务"', ParsedQuery(groups=[[Phrase("双减"), Phrase("课后服务")]])),
        ("(双减 OR 课后服务) 教育", ParsedQuery(groups=[[Word("双减"), Word("课后服务")], [Word("教育")]])),
        # exclusion
        ("教育 -双减", ParsedQuery(groups=[[Word("教育")]], excluded=[Word("双减")])),
        ('教育 -"校外培训"', ParsedQuery(groups=[[Word("教育")]], excluded=[Phrase("校外培训")])),
        ("教育 NOT 双减", ParsedQuery(groups=[[Word("教育")]], excluded=[Word("双减")])),
        ("!双减", ParsedQuery(excluded=[Word("双减")])),
        ("－双减 教育", ParsedQuery(groups=[[Word("教育")]], excluded=[Word("双减")])),
        # title:
        ("title:讲话", ParsedQuery(groups=[[Word("讲话", "title")]])),
        ("TITLE:讲话", ParsedQuery(groups=[[Word("讲话", "title")]])),
        ('title:"工作要点"', ParsedQuery(groups=[[Phrase("工作要点", "title")]])),
        ("title:“工作要点”", ParsedQuery(groups=[[Phrase("工作要点", "title")]])),
        ("-title:讲话", ParsedQuery(excluded=[Word("讲话", "title")])),
        ("title:双减 OR title:课后", ParsedQuery(groups=[[Word("双减", "title"), Word("课后", "title")]])),
        # year:
        ("year:2023", ParsedQuery(year_from=2023, year_to=2023)),
        ("year:2019..2023", ParsedQuery(year_from=2019, year_to=2023)),
        ("year:2019-2023", ParsedQuery(year_from=2019, year_to=2023)),
        ("year:2023到2025", ParsedQuery(year_from=2023, year_to=2025)),
        ("year:2023..2019", ParsedQuery(year_from=2019, year_to=2023)),
        ("year:..2020", ParsedQuery(year_to=2020)),
        ("year:2020..", ParsedQuery(year_from=2020)),
        ("ｙｅａｒ：２０２３", ParsedQuery(year_from=2023, year_to=2023)),
        (
            "双减 year:2023 title:讲话 -校外",
            ParsedQuery(
                groups=[[Word("双减")], [Word("讲话", "title")]], excluded=[Word("校外")], year_from=2023, year_to=2023
            ),
        ),
        # an unknown field name is just text
        ("foo:bar", ParsedQuery(groups=[[Word("foo:bar")]])),
    ],
)
def test_operators(text: str, expected: ParsedQuery) -> None:
    assert parse_query(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"双减', ParsedQuery(groups=[[Word("双减")]], warnings=[UNBALANCED_QUOTE])),
        ("「双减", ParsedQuery(groups=[[Word("双减")]], warnings=[UNBALANCED_QUOTE])),
        ('""', ParsedQuery(warnings=["忽略了空的引号"])),
        ("(双减 OR 课后", ParsedQuery(groups=[[Word("双减"), Word("课后")]], warnings=[UNBALANCED_PARENS])),
        ("双减)", ParsedQuery(groups=[[Word("双减")]], warnings=[UNBALANCED_PARENS])),
        ("((双减)", ParsedQuery(groups=[[Word("双减")]], warnings=[UNBALANCED_PARENS])),
        ("(())", ParsedQuery()),
        ("-", ParsedQuery(warnings=[LONE_DASH])),
        ("教育 -", ParsedQuery(groups=[[Word("教育")]], warnings=[LONE_DASH])),
        ("教育 - 双减", ParsedQuery(groups=[[Word("教育")], [Word("双减")]], warnings=[LONE_DASH])),
        (":", ParsedQuery(groups=[[Word(":")]])),
        ("title:", ParsedQuery(warnings=[EMPTY_TITLE])),
        ('title:"', ParsedQuery(warnings=[EMPTY_TITLE, UNBALANCED_QUOTE])),
        ("year:abc", ParsedQuery(warnings=[bad_year("abc")])),
        ("year:", ParsedQuery(warnings=[bad_year("")])),
        ("year:20230", ParsedQuery(warnings=[bad_year("20230")])),
        ("OR", ParsedQuery(warnings=[OR_NEEDS_BOTH_SIDES])),
        ("OR 双减", ParsedQuery(groups=[[Word("双减")]], warnings=[OR_NEEDS_BOTH_SIDES])),
        ("双减 OR", ParsedQuery(groups=[[Word("双减")]], warnings=[OR_AT_END])),
        ("NOT", ParsedQuery(warnings=[NOT_AT_END])),
        (
            "双减 OR -课后",
            ParsedQuery(groups=[[Word("双减")]], excluded=[Word("课后")], warnings=["“OR” 后面是排除词，已忽略 OR"]),
        ),
        # control characters and lone surrogates become spaces
        ("a\x00b\x07c", ParsedQuery(groups=[[Word("a")], [Word("b")], [Word("c")]])),
        ("\x1b[31m双减", ParsedQuery(groups=[[Word("[31m双减")]])),
        ("\ud800双减", ParsedQuery(groups=[[Word("双减")]])),
        ("双减\udfff课后", ParsedQuery(groups=[[Word("双减")], [Word("课后")]])),
        # nothing at all
        ("", ParsedQuery()),
        ("   ", ParsedQuery()),
        (None, ParsedQuery()),
    ],
)
def test_broken_syntax_is_dropped_with_a_warning(text: str | None, expected: ParsedQuery) -> None:
    assert parse_query(text) == expected


def test_overlong_input_is_truncated_with_a_warning() -> None:
    parsed = parse_query("双减" * 5000)
    assert parsed.groups == [[Word("双减" * (MAX_QUERY_CHARS // 2))]]
    assert parsed.warnings == [f"查询过长，只使用了前 {MAX_QUERY_CHARS} 个字符"]


def test_input_at_the_limit_is_not_truncated() -> None:
    parsed = parse_query("教" * MAX_QUERY_CHARS)
    assert parsed.groups == [[Word("教" * MAX_QUERY_CHARS)]]
    assert parsed.warnings == []


def test_browse_mode_and_positive_atoms() -> None:
    assert parse_query("year:2023 -双减").is_empty
    parsed = parse_query('(双减 OR "课后服务") title:讲话 -校外')
    assert not parsed.is_empty
    assert parsed.positive_atoms() == [Word("双减"), Phrase("课后服务"), Word("讲话", "title")]


@pytest.mark.parametrize(
    "text",
    [
        '"\'()-:|!“”「」『』',
        "-" * 50,
        "title:" * 30,
        "year:" + "9" * 100,
        "".join(chr(c) for c in range(0, 0x300)),
        "\ud800\udc00\udbff",
        '((("a" OR -"b") NOT (title:"c',
    ],
)
def test_never_raises(text: str) -> None:
    parsed = parse_query(text)
    assert isinstance(parsed, ParsedQuery)


@pytest.mark.parametrize("text", ["教育 -year:2020", "教育 NOT year:2020"])
def test_negated_year_is_not_applied_as_a_filter(text: str) -> None:
    parsed = parse_query(text)
    assert (parsed.year_from, parsed.year_to) == (None, None)
    assert parsed.warnings


def test_negated_parenthesis_excludes_the_word() -> None:
    parsed = parse_query("教育 -(双减)")
    assert Word("双减") not in parsed.positive_atoms()
    assert parsed.excluded == [Word("双减")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an ASCII " closes any opening quote, after title: as everywhere
        ('title:“工作要点"', ParsedQuery(groups=[[Phrase("工作要点", "title")]])),
        ('title:“工作要点', ParsedQuery(groups=[[Word("工作要点")]], warnings=[EMPTY_TITLE, UNBALANCED_QUOTE])),
        ('title:""', ParsedQuery()),
        # a field name needs its quote right after the colon; an unknown field is a word
        ('title:工作"要点"', ParsedQuery(groups=[[Word('工作"要点', "title")]])),
        ('foo:"双减"', ParsedQuery(groups=[[Word("foo:")], [Phrase("双减")]])),
        ('year:"2023"', ParsedQuery(groups=[[Phrase("2023")]], warnings=[bad_year("")])),
        # the minus applies to what follows at once: a second minus is part of the word
        ("--双减", ParsedQuery(excluded=[Word("-双减")])),
        ("-)双减", ParsedQuery(groups=[[Word("双减")]], warnings=[UNBALANCED_PARENS])),
        ('-"双减', ParsedQuery(groups=[[Word("双减")]], warnings=[UNBALANCED_QUOTE])),
        ("-OR 双减", ParsedQuery(groups=[[Word("双减")]], warnings=[OR_NEEDS_BOTH_SIDES])),
        ("NOT -year:2020 双减", ParsedQuery(groups=[[Word("双减")]], warnings=[NEGATED_YEAR])),
        # words end at quotes only after a colon
        ('双"减"', ParsedQuery(groups=[[Word('双"减')]])),
    ],
)
def test_tagger_edges(text: str, expected: ParsedQuery) -> None:
    assert parse_query(text) == expected


# -- compilation (search_app.compile): expansions, proximity bonuses, highlight units -----------
@pytest.fixture(scope="module")
def compiler():
    from search_app.compile import QueryCompiler
    from speechindex import schema as S

    return QueryCompiler(S.build_schema())


def test_an_expansion_belongs_to_the_term_it_replaces(compiler) -> None:
    # a pasted sentence is one word to the parser: only its term 双减 is expanded, and only once
    compiled = compiler.compile(parse_query("巩固双减成果，加强教师队伍建设，巩固双减成果"))
    assert compiled.expanded == ["双减 → 减轻义务教育阶段学生作业负担和校外培训负担"]
    # a whole word in the table is expanded as itself
    assert compiler.compile(parse_query("职业教育")).expanded == ["职业教育 → 职教"]
    assert compiler.compile(parse_query("义教 义教")).expanded == ["义教 → 义务教育"]


def test_proximity_bonuses_only_for_several_short_words(compiler) -> None:
    from search_app.compile import PROXIMITY

    assert compiler.compile(parse_query("双减")).boosts == []
    # the proximity tiers plus one bonus for a title holding both words
    assert len(compiler.compile(parse_query("乡村 教师")).boosts) == len(PROXIMITY) + 1
    assert compiler.compile(parse_query("乡村 OR 农村 教师")).boosts == []  # no single order to reward
    # 28 characters: a pasted passage, not words meant to stand together
    long = "教育质量 学校管理 教师队伍 课程改革 招生考试 体育美育 安全保障"
    assert len(compiler.compile(parse_query(long)).boosts) == 1


def test_repeated_words_and_alternatives_count_once() -> None:
    """A padded query costs what its distinct words cost: "a OR a" is a, "a a" is a, "-b -b" is -b."""
    assert parse_query("教育 OR 教育 OR 学校").groups == [[Word("教育"), Word("学校")]]
    assert parse_query("教育 教育 学校").groups == [[Word("教育")], [Word("学校")]]
    assert parse_query('"双减" "双减" -培训 -培训').groups == [[Phrase("双减")]]
    assert parse_query("-培训 -培训 教育").excluded == [Word("培训")]
    # Different groups stay: (教育) AND (教育 OR 学校) is not (教育).
    assert parse_query("教育 教育 OR 学校").groups == [[Word("教育")], [Word("教育"), Word("学校")]]


def test_split_words_are_highlighted_as_units(compiler) -> None:
    spec = compiler.compile(parse_query("一九五四年 学校")).spec
    assert spec.units == (("1954年", ("1954", "年")),)
    assert spec.terms == frozenset({"学校"})
    assert "年" not in spec.terms
