"""Segmenter benchmark: Python jieba vs rjieba (jieba-rs), and the full analyzer, on the same text.

    .venv/bin/python -m bench.segmenters [--mb 5] [--runs 3]

The text is the government work reports (../shared/corpora/gov_work_reports, the five seed speeches
when ../shared is absent), repeated to the requested size and normalised once by the analyzer so
that both segmenters see exactly the same input with the same domain dictionary. Prints the median
throughput of each run, the rjieba/jieba speed ratio, and the sentence-level agreement of the two
on the domain sentences below (tests/test_analysis.py requires 95 %).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable
from functools import cache

import jieba

from bench.corpora import REPO, SHARED_CORPORA
from speechindex.analysis import DOMAIN_DICT_PATH, get_analyzer, read_user_dict

REPORTS = SHARED_CORPORA / "gov_work_reports"

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


@cache
def python_jieba() -> jieba.Tokenizer:
    """The reference Python jieba with the same domain dictionary and frequencies as the analyzer."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    # add_word rather than load_userdict: jieba's loader does not understand `#` comments.
    for word, freq, tag in read_user_dict(DOMAIN_DICT_PATH):
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


def load_text(megabytes: float) -> tuple[str, str]:
    """The benchmark text (at least `megabytes` MB of UTF-8) and a description of its source."""
    if REPORTS.is_dir():
        parts = [
            json.loads(line)["content"]
            for path in sorted(REPORTS.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        source = "gov work reports"
    else:
        parts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "corpus").glob("*.txt"))]
        source = "seed speeches (../shared absent)"
    base = "\n".join(parts)
    target = int(megabytes * 1_000_000)
    repeats = -(-target // len(base.encode("utf-8")))
    # Cut the repeated text to the requested size; "ignore" drops a character split by the cut.
    return ("\n".join([base] * repeats)).encode("utf-8")[:target].decode("utf-8", "ignore"), source


def median_seconds(run: Callable[[], object], runs: int) -> float:
    """Median wall-clock time of `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=5.0, help="text size in MB of UTF-8 (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="runs per segmenter; the median is reported")
    args = parser.parse_args(argv)

    analyzer = get_analyzer()
    seg = analyzer.segmenter  # rjieba with the domain dictionary
    reference = python_jieba()  # the same dictionary, in Python jieba
    raw, source = load_text(args.mb)
    text = analyzer.normalize(raw).text
    size_mb = len(raw.encode("utf-8")) / 1_000_000

    rows = [
        ("default (query) mode", lambda: reference.lcut(text, HMM=True), lambda: seg.cut(text, True)),
        ("search (index) mode", lambda: reference.lcut_for_search(text, HMM=True), lambda: seg.cut_for_search(text, True)),
        # What the analyzer calls: search mode with character offsets.
        (
            "search mode + offsets (tokenize)",
            lambda: list(reference.tokenize(text, mode="search", HMM=True)),
            lambda: seg.tokenize(text, "search", True),
        ),
    ]
    print(f"{size_mb:.1f} MB of {source}, median of {args.runs} runs")
    print(f"{'':34}{'jieba MB/s':>12}{'rjieba MB/s':>13}{'rjieba/jieba':>14}")
    for label, slow, fast in rows:
        slow_rate = size_mb / median_seconds(slow, args.runs)
        fast_rate = size_mb / median_seconds(fast, args.runs)
        print(f"{label:34}{slow_rate:12.2f}{fast_rate:13.2f}{fast_rate / slow_rate:13.1f}×")
    full = size_mb / median_seconds(lambda: analyzer.tokens(raw, "index"), args.runs)
    label = 'analyzer tokens(text, "index")'
    print(f"{label:34}{'':12}{full:13.2f}   (normalise + segment + offsets)")

    rate = agreement_rate(DOMAIN_SENTENCES)
    print(f"agreement on {len(DOMAIN_SENTENCES)} domain sentences: {rate:.1%}")


if __name__ == "__main__":
    main()
