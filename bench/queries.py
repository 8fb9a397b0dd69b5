"""The fixed query mix of the latency benchmark (120 queries), in this project's query syntax.

- 40 one-word queries (a policy term as typed);
- 30 multi-word queries (2-3 space-separated words: AND);
- 20 phrases (``"…"``: exact characters);
- 20 with a year filter (``filters={"year": [...]}``; Whoosh filter; SQL WHERE);
- 10 with facets asked for explicitly (ours computes facets for every query anyway;
  Whoosh ``groupedby`` counts, SQL ``GROUP BY`` counts on year and doc_kind).

The peers answer the closest equivalent (see `bench.peers`).
"""

from __future__ import annotations

from bench.peers import BenchQuery

ONE_WORD = """
教育 双减 集团化办学 控辍保学 义务教育 职业教育 产教融合 教师 学前教育 普惠
高校毕业生 就业 立德树人 教育公平 营养改善计划 校园安全 乡村教师 考试招生 民办教育 教育经费
扫盲 高等教育 科教兴国 教育强国 思政课 劳动教育 家庭教育 特殊教育 素质教育 减负
课后服务 留守儿童 校外培训 教育信息化 双一流 人才培养 科技创新 乡村振兴 脱贫攻坚 疫情防控
""".split()

MULTI_WORD = [
    "职业教育 产教融合", "教师 待遇", "学前教育 普惠", "高校毕业生 就业", "义务教育 均衡",
    "教育经费 4%", "高等教育 扩招", "乡村 教师 补助", "校外培训 治理", "考试 招生 改革",
    "民办教育 规范", "教育 公平 质量", "农村 学校 寄宿", "贫困 学生 资助", "大学生 创业",
    "学生 体质 健康", "教师 队伍 建设", "城乡 义务教育 一体化", "中小学 课后服务", "职业 技能 培训",
    "科技 人才 自立自强", "教育 数字化", "师德 师风", "学校 安全 管理", "中等职业教育 免费",
    "助学贷款 奖学金", "留学 交流", "少数民族 教育", "青少年 近视", "教育 投入 增长",
]

PHRASES = [
    '"教育强国"', '"立德树人"', '"双减"', '"义务教育"', '"科教兴国战略"', '"职业教育"', '"产教融合"',
    '"教育公平"', '"学前教育"', '"高等教育"', '"乡村教师"', '"民办教育"', '"终身学习"', '"教育现代化"',
    '"人才强国"', '"素质教育"', '"办好人民满意的教育"', '"营养改善计划"', '"控辍保学"', '"课后服务"',
]

YEAR_FILTERED = [
    ("教育", ("2020",)), ("双减", ("2021", "2022")), ("职业教育", ("2019",)), ("高校毕业生", ("2020",)),
    ("教育公平", ("2018",)), ("学前教育", ("2011",)), ("义务教育", ("2006", "2007")), ("教育经费", ("2012",)),
    ("科教兴国", ("1996", "1997", "1998")), ("扩招", ("1999", "2000")), ("教师", ("2023",)), ("疫情防控", ("2020",)),
    ("乡村振兴", ("2022",)), ("高等教育", ("2010",)), ("科技创新", ("2024",)), ("就业 创业", ("2015",)),
    ("教育强国", ("2023", "2024")), ("职业 培训", ("2021",)), ("免费 义务教育", ("2008",)), ("人才", ("2025",)),
]

FACETED = [
    "教育", "教育改革", "义务教育", "职业教育", "高校", "教师", "学生", "人才", "培训", "学校",
]


def query_mix() -> list[BenchQuery]:
    """The 120 queries, in a fixed order."""
    out = [BenchQuery("word", q) for q in ONE_WORD]
    out += [BenchQuery("multi", q) for q in MULTI_WORD]
    out += [BenchQuery("phrase", q) for q in PHRASES]
    out += [BenchQuery("year", q, years=y) for q, y in YEAR_FILTERED]
    out += [BenchQuery("facet", q, facets=True) for q in FACETED]
    return out
