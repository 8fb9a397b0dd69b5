"""The shared analyzer and its data: the domain dictionary, normalisation, offsets into the
original text, index/query agreement, rjieba/jieba parity and the query-time synonym table."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import rjieba

from bench.segmenters import DOMAIN_SENTENCES, agreement_rate, segment_both
from search_app.synonyms import SYNONYMS_PATH, load_synonyms
from speechindex.analysis import DOMAIN_DICT_PATH, get_analyzer, read_user_dict

ENTRIES = read_user_dict(DOMAIN_DICT_PATH)
WORDS = [word for word, _, _ in ENTRIES]

# Sentence-level agreement required between rjieba (jieba-rs) and the reference Python jieba.
MIN_AGREEMENT = 0.95


# (a) the domain dictionary


def test_domain_dictionary_is_well_formed() -> None:
    assert len(ENTRIES) >= 320
    assert len(set(WORDS)) == len(WORDS), "duplicate entries"
    base = rjieba.Jieba()  # jieba's own dictionary only
    for word, freq, tag in ENTRIES:
        assert freq is not None and freq > 0 and tag, word
        # The analyzer segments normalised text: an entry in any other form could never match.
        assert get_analyzer().normalize(word).text == word, word
        assert not base.has_word(word), f"{word} is already in jieba's dictionary"


@pytest.mark.parametrize("word", WORDS)
def test_domain_entry_is_one_token(word: str) -> None:
    analyzer = get_analyzer()
    assert analyzer.terms(word, "query") == [word]
    assert word in analyzer.terms(word, "index")


def test_domain_entries_do_not_swallow_neighbours() -> None:
    # Each string contains a dictionary entry, or a word left out of the dictionary on purpose
    # (强基, 义教), that must NOT win here: the surrounding words are the right reading.
    cases = {
        "小学化学": ["小学", "化学"],
        "重新高考": ["重新", "高考"],
        "加强基础研究": ["加强", "基础", "研究"],
        "社会主义教育运动": ["社会主义", "教育", "运动"],
        "职业教育数字化": ["职业教育", "数字化"],
        "学前教育督导评估": ["学前教育", "督导评估"],
        "建设高等教育强国": ["建设", "高等教育", "强国"],
        "基础教育信息化": ["基础教育", "信息化"],
    }
    for text, expected in cases.items():
        assert get_analyzer().terms(text, "query") == expected, text


# (b) traditional, variant and full-width forms


@pytest.mark.parametrize(
    ("text", "expected"),
    [("學校敎育", ["学校", "教育"]), ("５Ｇ", ["5g"]), ("ＩＴ教育", ["it", "教育"]), ("雙減", ["双减"])],
)
def test_variants_normalise(text: str, expected: list[str]) -> None:
    assert get_analyzer().terms(text, "query") == expected
    assert get_analyzer().terms(text, "index") == expected


def test_traditional_equals_simplified() -> None:
    analyzer = get_analyzer()
    for mode in ("query", "index"):
        assert analyzer.terms("這個學校", mode) == analyzer.terms("这个学校", mode)
        assert analyzer.terms("義務教育優質均衡", mode) == analyzer.terms("义务教育优质均衡", mode)


# (c) Chinese-numeral years


@pytest.mark.parametrize(("numerals", "digits"), [("一九五三年", "1953年"), ("二〇二三年", "2023年"), ("二零二三年", "2023年")])
def test_chinese_numeral_years(numerals: str, digits: str) -> None:
    analyzer = get_analyzer()
    assert analyzer.terms(numerals, "query") == analyzer.terms(digits, "query")
    assert analyzer.terms(numerals, "index") == analyzer.terms(digits, "index")


# (d) offsets point into the original text


def test_offsets_same_length_normalisation() -> None:
    text = "  學校敎育與５Ｇ①"
    tokens = get_analyzer().tokens(text, "index")
    assert [(t.term, text[t.start : t.end]) for t in tokens] == [
        ("学校", "學校"),
        ("教育", "敎育"),
        ("与", "與"),
        ("5g1", "５Ｇ①"),  # jieba keeps a run of letters and digits together
    ]


def test_offsets_when_nfkc_changes_length() -> None:
    # ㈠ → "(一)", ⑵ → "(2)", ㎡ → "m2", … → "...": the normalised text is longer than the original.
    text = "㈠學校敎育⑵建設５Ｇ基站３００㎡…雙減"
    analyzer = get_analyzer()
    tokens = analyzer.tokens(text, "index")
    assert [(t.term, text[t.start : t.end]) for t in tokens] == [
        ("一", "㈠"),
        ("学校", "學校"),
        ("教育", "敎育"),
        ("2", "⑵"),
        ("建设", "建設"),
        ("5g", "５Ｇ"),
        ("基站", "基站"),
        ("300m2", "３００㎡"),
        ("双减", "雙減"),
    ]
    for t in tokens:
        assert t.term in analyzer.normalize(text[t.start : t.end]).text


# (e) index mode covers query mode


@pytest.mark.parametrize("sentence", DOMAIN_SENTENCES, ids=range(len(DOMAIN_SENTENCES)))
def test_query_terms_are_index_terms(sentence: str) -> None:
    analyzer = get_analyzer()
    index_terms = set(analyzer.terms(sentence, "index"))
    missing = [t for t in analyzer.terms(sentence, "query") if t not in index_terms]
    assert not missing


# (f) rjieba agrees with the reference Python jieba


def test_rjieba_agrees_with_jieba() -> None:
    assert len(DOMAIN_SENTENCES) >= 40
    rate = agreement_rate(DOMAIN_SENTENCES)
    assert rate >= MIN_AGREEMENT, f"rjieba/jieba agreement {rate:.1%}"
    domain = set(WORDS)
    for sentence in DOMAIN_SENTENCES:
        reference, fast = segment_both(sentence)
        assert [w for w in reference if w in domain] == [w for w in fast if w in domain], sentence


# (g) synonyms


def test_synonym_file_parses() -> None:
    table = load_synonyms()
    assert len(table.groups) >= 70
    assert all(len(group) >= 2 for group in table.groups)
    normalise = get_analyzer().normalize
    seen: dict[str, int] = {}
    for i, group in enumerate(table.groups):
        for term in group:
            key = normalise(term).text
            assert seen.setdefault(key, i) == i, f"{term} is in two groups"


def test_synonym_expansions() -> None:
    table = load_synonyms()
    assert "世界一流大学和一流学科" in table.expansions("双一流")
    assert "双一流" in table.expansions("世界一流大学和一流学科")
    assert "义教" in table.expansions("義務教育")  # traditional input
    assert "义务教育" not in table.expansions("义务教育")
    assert table.expansions("教育") == []


def test_synonym_edits_are_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "synonyms.txt"
    shutil.copy(SYNONYMS_PATH, path)
    before = load_synonyms(path)
    assert load_synonyms(path) is before  # cached while the file is unchanged
    assert before.expansions("甲乙丙") == []
    with path.open("a", encoding="utf-8") as f:
        f.write("甲乙丙丁戊, 甲乙丙\n")
    stat = path.stat()
    # Move mtime on explicitly: the append may land within the file system's timestamp resolution.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = load_synonyms(path)
    assert after.expansions("甲乙丙") == ["甲乙丙丁戊"]
    assert len(after.groups) == len(before.groups) + 1
