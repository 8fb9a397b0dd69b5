"""The shared analyzer and its data: the domain dictionary, normalisation, offsets into the
original text, index/query agreement, rjieba/jieba parity and the query-time synonym table."""

from __future__ import annotations

import logging
import os
import shutil
from functools import cache
from pathlib import Path

import jieba
import pytest
import rjieba

from search_app.synonyms import SYNONYMS_PATH, load_synonyms
from speechindex.analysis import DOMAIN_DICT_PATH, get_analyzer, read_user_dict

ENTRIES = read_user_dict(DOMAIN_DICT_PATH)
WORDS = [word for word, _, _ in ENTRIES]

# Real sentences with domain terms: government work reports 2012–2025 (shared/corpora) and the
# five seed speeches (corpus/*.txt), copied verbatim, OCR gaps (口, **, XX) included.
DOMAIN_SENTENCES = [
    # government work reports
    "加快职业教育基础能力和特殊教育基础设施建设",
    "深入推进“互联网+”行动和国家大数据战略，全面实施《中国制造2025》，落实和完善“双创”政策措施",
    "加强农村留守儿童关爱保护和城乡困境儿童保障",
    "高中阶段教育毛入学率提高到90%以上",
    "国家助学贷款每人每年最高额度增加4000元，惠及500多万在校生",
    "纵深推进“放管服”改革，加快营造市场化、法治化、国际化营商环境",
    "增强职业教育适应性，深化产教融合、校企合作，",
    "办好特殊教育、继续教育、专门教育，引导规范民办教育发展",
    "推进高中阶段教育普及，办好民族教育、特殊教育、继续教育，依法支持民办教育发展",
    "引导部分地方本科高校向应用型转变，通过对口支援等方式支持中西部高等教育发展，继续提高中西部地区和人口大省高考录取率",
    "落实农民工随迁子女在流入地接受义务教育政策，完善后续升学政策",
    "要坚持立德树人，增强学生的社会责任感、创新精神、实践能力，培养中国特色社会主义建设者和接班人",
    "全面实施新时代立德树人工程，推进大中小学思政课一体化改革创新",
    "促进义务教育均衡发展，资源配置要向中西部、农村、边远、民族地区和城市薄弱学校倾斜",
    "扩大高职院校奖助学金覆盖面、提高补助标准，加快学历证书和职业技能等级证书互通衔接",
    "推进科技强国建设，全面启动实施国家科技重大专项，加快完善重大科技基础设施体系，加强拔尖创新人才培养",
    "我们要发展人民满意的教育，以教育现代化支撑国家现代化，使更多孩子成就梦想、更多家庭实现希望",
    "公共教育投入要加大向中西部和边远、贫困地区倾斜力度",
    "要弘扬中华优秀传统文化，继承革命文化，发展社会主义先进文化，培育和践行社会主义核心价值观",
    "实施中等职业教育免学费政策，覆盖范围包括所有农村学生、城市涉农专业学生和家庭经济困难学生",
    "实施惠及3000多万农村义务教育阶段学生营养改善计划",
    "弘扬教育家精神，建设高素质专业化教师队伍",
    "加强义务教育学校标准化建设，推动义务教育优质均衡发展，扩大高中阶段教育学位供给，提升县域高中质量，逐步推行免费学前教育",
    "开展基础教育扩优提质行动，加快义务教育优质均衡发展和城乡一体化，改善农村寄宿制学校办学条件，持续深化“双减”，推动学前教育普惠发展，加强县域普通高中建设",
    "加快建设高质量教育体系，推进义务教育优质均衡发展和城乡一体化，推进学前教育、特殊教育普惠发展，大力发展职业教育，推进高等教育创新，支持中西部地区高校发展，深化体教融合",
    "深入实施“强基计划”和基础学科拔尖人才培养计划，建设288个基础学科拔尖学生培养基地，接续推进世界一流大学和一流学科建设，不断夯实发展的人才基础",
    "在西部地区脱贫县中集中支持一批乡村振兴重点帮扶县",
    "拓宽职业技能培训资金使用范围，开展大规模、多层次职业技能培训，完成职业技能提升和高职扩招三年行动目标，建设一批高技能人才培训基地",
    # seed speeches
    "深化体教融合,推动体育“一校一品”和“一生多能”建设",
    "重视书法教育,以省级书法艺术水平考级为契机,进一步提升学生艺术素养",
    "二、以全面发展为目标,落实立德树人根本任务4.促进学生全面发展",
    "大力推进体艺教育,组织开展校园足球联赛、田径运动会等",
    "组织开展心理健康教育现场推进会,以点带面,提高心理健康教育水平",
    "以《XX 区全面推进教育优质均衡发展实施意见》为纲领,深入推进集团化办学,不断完善监测评估指标,优化办学模式,激发学校办学活力",
    "加强警示教育,深入推进教育领域清廉建设",
    "落实控辍保学机制,继续开展“义务教育宣传月”和“动员流逝生返校月”活动,做好教育“防返贫致贫动态监测”及帮扶工作",
    "坚持公益性和普惠性,强化校内课后服务供给,拓展校外实践教育渠道",
    "落实好公办园生均公用经费标准和普惠性幼儿园补助政策",
    "全力做好各项招生考试工作,安排口70名随迁子女到公办学校就读",
    "扎实推进“双减”政策落地,3所学校的“双减”案例被省教育厅推荐到教育部,4所学校做法在“四平教育发布“上刊登",
    "鼓励幼儿园接受口轻度残疾幼儿随班就读",
    "坚持以习近平新时代中国特色社会主义思想铸魂育人",
    "创建中小学劳动教育实践基地,开展职业启蒙教育和职业体验教育",
    "依法落实校园安全工作责任,以创建“平安校园”为主线,维持口师生安全",
    "七是完成 XX所标准化学校建设任务,薄弱校改造工作全面启动",
    "四是新改扩建 XX 所幼儿园全部竣工",
    "XX 县蒙古族实验中学和 X 州高中顺利通过省示范高中复检,高中整体办学水平不断提高",
    "巩固提高“护校安园”建设成果,护校安园工作机制继续向幼儿园延伸,确保全区所有师生健康、校园稳定",
    "×小学被认定为“×市清廉学校培育示范点”“×市清廉文化示范点”,於潜二中被认定为×市清廉学校校园文化品牌优秀案例",
    "(一)过去一年,我们强化党建引领,着力加强教育系统的政治建设",
    "对标×××,通过高校合作培训项目、依托名师工作室做好“三名”队伍梯队化、体系化建设",
    "推进县中托管帮扶工程实施步子口,开展普通高中托管帮扶主题研讨会",
]

# Sentence-level agreement required between rjieba (jieba-rs) and the reference Python jieba.
MIN_AGREEMENT = 0.95


@cache
def python_jieba() -> jieba.Tokenizer:
    """The reference Python jieba with the same domain dictionary and frequencies as the analyzer."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    # add_word rather than load_userdict: jieba's loader does not understand `#` comments.
    for word, freq, tag in ENTRIES:
        tokenizer.add_word(word, freq, tag)
    return tokenizer


def segment_both(sentence: str) -> tuple[list[str], list[str]]:
    """Default-mode (query) segmentation of the normalised sentence by jieba and by rjieba."""
    analyzer = get_analyzer()
    text = analyzer.normalize(sentence).text
    return python_jieba().lcut(text, HMM=True), analyzer.segmenter.cut(text, True)


def agreement_rate(sentences: list[str]) -> float:
    """Share of sentences that jieba and rjieba segment identically."""
    same = sum(a == b for a, b in map(segment_both, sentences))
    return same / len(sentences)


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
