"""Split a cleaned document into flat sections at its headings, with an outline path and a kind.

The heading grammar and the kind cues live in ``indexer/data/headings.toml``. Headings are
found in one pass over candidate positions: the first non-blank character of each line,
and (outside laws) the character after a sentence end inside a line, for pages whose line
breaks were lost ("…讲三点意见。一、回顾盘点，绘就…2023年，…"). A numbering mark becomes a
heading only when its number is plausible next to the previous heading of that level, so
"三、" in an enumeration, "一、二年级" or a page number glued to a line start is not taken.

Heading text: a short line is taken whole; a longer (run-in) heading ends at its first
sentence end ("1.深入学习宣传贯彻党的二十大精神。"), and a heading found in the middle of a
line also ends before a glued year or item number ("…落笔生辉" | "2023年，"); a
Chinese-numeral heading with no sentence end within reach is cut at the last comma
before `runin_cut` characters. Arabic items must end within `item_max`, or are not items.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from indexer.models import Section, SourceHeading
from indexer.readers.dates import CN_DIGITS
from speechindex.schema import KIND_OTHER, SECTION_KINDS

HEADINGS_PATH = Path(__file__).with_name("data") / "headings.toml"

DOC_KIND_LAW = "法规"

# Heading numbers have no zero digit (一..九十九).
_NONZERO_DIGITS = {char: n for char, n in CN_DIGITS.items() if n}
_BLANK = " \t\u3000"
_CLOSERS = "”’\"'」』）)】》 \t\u3000"
# Where a slogan heading may be cut: clause commas, not the 、 inside an enumeration.
_CLAUSE_PUNCT = re.compile(r"[，,；;]")
# Run-together pages glue the next sentence to a heading; it often opens with a year or
# with the first item's bare number ("…实现新提升1全面育人有成效").
_GLUED_ITEM_RE = r"(?<=[\u4e00-\u9fff”])1(?=[ \t]*[,，.．]?[\u4e00-\u9fff])"
_GLUED_START = re.compile(rf"(?<![0-9])(?:19|20)[0-9]{{2}}年|{_GLUED_ITEM_RE}")
_GLUED_ITEM = re.compile(_GLUED_ITEM_RE)
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
# Heading lines are matched with their text, whatever cleaning did to spaces.
_IGNORED_IN_MATCH = re.compile("[\\s\u200b\u200c\u200d\u2060\ufeff]+")


# How a rule checks a match at a position: (scanner, rule, match, pos, line_end, midline).
_Check = Callable[["_Scanner", "_Rule", re.Match[str], int, int, bool], "_Found | None"]


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    level: int
    midline: bool
    unit_levels: dict[str, int]
    check: _Check


@dataclass(frozen=True, slots=True)
class _Grammar:
    rules: tuple[_Rule, ...]
    heading_max: int
    item_max: int
    runin_cut: int
    law_min_articles: int
    sentence_end: re.Pattern[str]
    line_end_ok: frozenset[str]
    line_start: re.Pattern[str]
    midline: re.Pattern[str]
    article_line: re.Pattern[str]
    cue_re: re.Pattern[str] | None
    cues: dict[str, tuple[str, bool]]
    doc_default: dict[str, str]
    no_cues: frozenset[str]


@dataclass(slots=True)
class _Heading:
    start: int
    level: int
    title: str
    url: str | None = None


def _lookahead_any(regexes: list[str]) -> str:
    """An alternation usable inside a lookahead: named groups would clash, so unname them."""
    return "|".join(f"(?:{_NAMED_GROUP.sub('(?:', r)})" for r in regexes)


@cache
def _grammar(path: Path = HEADINGS_PATH) -> _Grammar:
    """Load and compile headings.toml once per process."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    limits = data["limits"]
    names = [r["name"] for r in data["rules"]]
    for name in names:
        if name not in RULE_CHECKS:
            raise ValueError(f"{path}: unknown heading rule {name!r} (known: {', '.join(RULE_CHECKS)})")
    if "article" not in names:
        raise ValueError(f"{path}: no 'article' rule (it tells laws from other documents)")
    rules = tuple(
        _Rule(
            name=r["name"],
            pattern=re.compile(r["regex"], re.MULTILINE),
            level=int(r.get("level", 1)),
            midline=bool(r.get("midline", False)),
            unit_levels=dict(r.get("unit_levels", {})),
            check=RULE_CHECKS[r["name"]],
        )
        for r in data["rules"]
    )
    by_name = {r.name: r for r in rules}
    raw = {r["name"]: r["regex"] for r in data["rules"]}
    end_chars = re.escape(limits["sentence_end"])
    line_start = re.compile(rf"^[{_BLANK}]*(?={_lookahead_any(list(raw.values()))})", re.MULTILINE)
    mid = [raw[r.name] for r in rules if r.midline]
    midline = re.compile(rf"(?<=[{end_chars}])[{_BLANK}]*(?={_lookahead_any(mid)})")
    article = by_name["article"].pattern.pattern
    article_line = re.compile(rf"^[{_BLANK}]*{_NAMED_GROUP.sub('(?:', article)}", re.MULTILINE)

    kinds = data["kinds"]
    cues: dict[str, tuple[str, bool]] = {}
    for kind, lists in kinds["cues"].items():
        if kind not in SECTION_KINDS:
            raise ValueError(f"{path}: unknown section kind {kind!r}")
        for strong, words in ((True, lists.get("strong", [])), (False, lists.get("weak", []))):
            for word in words:
                if word in cues:
                    raise ValueError(f"{path}: cue {word!r} listed twice")
                cues[word] = (kind, strong)
    doc_default = dict(kinds.get("doc_default", {}))
    for kind in doc_default.values():
        if kind not in SECTION_KINDS:
            raise ValueError(f"{path}: unknown section kind {kind!r}")
    # Longest first, so "主要工作任务" is read as "主要工作"+"任务", not a prefix of a longer cue.
    cue_re = re.compile("|".join(map(re.escape, sorted(cues, key=len, reverse=True)))) if cues else None
    return _Grammar(
        rules=rules,
        heading_max=int(limits["heading_max"]),
        item_max=int(limits["item_max"]),
        runin_cut=int(limits["runin_cut"]),
        law_min_articles=int(limits["law_min_articles"]),
        sentence_end=re.compile(f"[{end_chars}]"),
        line_end_ok=frozenset(limits["line_end_ok"]),
        line_start=line_start,
        midline=midline,
        article_line=article_line,
        cue_re=cue_re,
        cues=cues,
        doc_default=doc_default,
        no_cues=frozenset(kinds.get("no_cues", [])),
    )


def _cn_number(s: str) -> int | None:
    """一..九十九 as an int; None for anything that is not a well-formed numeral (e.g. 十三五)."""
    if s in _NONZERO_DIGITS:
        return _NONZERO_DIGITS[s]
    tens, sep, ones = s.partition("十")
    if not sep or len(tens) > 1 or len(ones) > 1:
        return None
    t = 1 if not tens else _NONZERO_DIGITS.get(tens)
    o = 0 if not ones else _NONZERO_DIGITS.get(ones)
    if t is None or o is None:
        return None
    return t * 10 + o


class _Found(NamedTuple):
    level: int  # for numbered marks, the level before the Markdown offset
    title: str
    number: int | None = None  # set for numbered marks (一、 （一） 1.), which keep a count


class _Scanner:
    """Walks the candidate positions in order, keeping the numbering state of each level."""

    def __init__(
        self, text: str, g: _Grammar, markdown: bool, law: bool, outline: dict[int, SourceHeading]
    ) -> None:
        self.text = text
        self.g = g
        self.markdown = markdown
        self.law = law
        self.outline = outline  # line start -> the Markdown heading on that line
        self.last = {1: 0, 2: 0, 3: 0}  # last number taken per numbered level, under the current parent
        self.seen_part = False  # a 第X编 pushes 章/节 one level down
        self.md_level = 0  # level of the latest Markdown heading: numbered marks nest below it
        self.outer_level = 0  # level of the latest heading that is not an article
        self.heading_line_end = -2  # offset of the '\n' ending the latest line-start heading

    def scan(self) -> list[_Heading]:
        """All accepted headings, in document order."""
        g, text = self.g, self.text
        starts = {m.end() for m in g.line_start.finditer(text)} | set(self.outline)
        candidates = [(pos, False) for pos in starts]
        if not self.law:
            candidates += [(m.end(), True) for m in g.midline.finditer(text)]
        candidates.sort()
        headings: list[_Heading] = []
        for pos, midline in candidates:
            line_end = text.find("\n", pos)
            if line_end < 0:
                line_end = len(text)
            source = None if midline else self.outline.get(pos)
            if source is not None:
                # A Markdown heading: numbered marks below it nest one level deeper.
                self.md_level = self.outer_level = source.level
                self.last = {1: 0, 2: 0, 3: 0}
                headings.append(_Heading(pos, source.level, text[pos:line_end].strip(), source.url))
                self.heading_line_end = line_end
                continue
            matched = self._match(pos, line_end, midline)
            if matched is None:
                continue
            name, found = matched
            if found.number is not None:
                self._count(found.level, found.number)
                level = found.level + self.md_level
            else:
                level = found.level
                if name != "article":
                    self.last = {1: 0, 2: 0, 3: 0}  # a new chapter restarts the numbering
            if name != "article":
                self.outer_level = level
            headings.append(_Heading(pos, level, found.title))
            if not midline:
                self.heading_line_end = line_end
            elif found.level < 3 and found.number is not None:
                item = self._glued_item(pos + len(found.title), line_end)
                if item is not None:
                    self._count(3, 1)
                    headings.append(_Heading(item.start, 3 + self.md_level, item.title))
        return headings

    def _count(self, level: int, number: int) -> None:
        self.last[level] = number
        for deeper in range(level + 1, 4):
            self.last[deeper] = 0

    def _match(self, pos: int, line_end: int, midline: bool) -> tuple[str, _Found] | None:
        for rule in self.g.rules:
            if midline and not rule.midline:
                continue
            m = rule.pattern.match(self.text, pos, line_end)
            if m is None:
                continue
            found = rule.check(self, rule, m, pos, line_end, midline)
            if found is not None:
                return rule.name, found
        return None

    def _glued_item(self, pos: int, line_end: int) -> _Heading | None:
        """Item 1 glued to the end of a run-together heading ("…新提升1全面育人有成效。").

        A bare "1" is ambiguous in running text, but right where a heading was cut it
        is the first item of that heading.
        """
        if _GLUED_ITEM.match(self.text, pos, line_end) is None:
            return None
        line = self.text[pos : min(line_end, pos + self.g.item_max)]
        end_m = self.g.sentence_end.search(line)
        if end_m is None or end_m.end() > self.g.item_max or end_m.group() in "；;":
            return None
        return _Heading(pos, 3, line[: end_m.end()])

    # -- rule checks (RULE_CHECKS maps the names of headings.toml to them) -----------------

    def _rule_division(self, rule: _Rule, m: re.Match[str], pos: int, line_end: int, midline: bool) -> _Found | None:
        line = self.text[pos:line_end].rstrip()
        if len(line) > self.g.heading_max or self.g.sentence_end.search(line):
            return None
        unit = m.group("unit")
        level = rule.unit_levels[unit]
        if unit == "编":
            self.seen_part = True
        elif self.seen_part:
            level += 1
        return _Found(level, line)

    def _rule_article(self, rule: _Rule, m: re.Match[str], pos: int, line_end: int, midline: bool) -> _Found | None:
        if not self.law:
            return None
        return _Found(max(rule.level, self.outer_level + 1), m.group(0))

    def _rule_cn_numeral(self, rule: _Rule, m: re.Match[str], pos: int, line_end: int, midline: bool) -> _Found | None:
        if self.law:
            return None
        n = _cn_number(m.group("num"))
        if n is None or not self._plausible(rule.level, n, midline):
            return None
        title = self._title(pos, m.end(), line_end, rule.level, midline)
        return None if title is None else _Found(rule.level, title, n)

    def _rule_cn_lone(self, rule: _Rule, m: re.Match[str], pos: int, line_end: int, midline: bool) -> _Found | None:
        # A bare numeral line is weak evidence: only the exact next number counts.
        n = _cn_number(m.group("num"))
        if self.law or n is None or n != self.last[rule.level] + 1:
            return None
        return _Found(rule.level, m.group("num"), n)

    def _rule_arabic(self, rule: _Rule, m: re.Match[str], pos: int, line_end: int, midline: bool) -> _Found | None:
        # Markdown sources (news digests) number list items, not headings.
        if self.law or self.markdown:
            return None
        if midline and m.group(0).endswith("、"):
            return None  # "。1、2、3、" inside a paragraph is a list
        n = int(m.group("num"))
        if not midline and not self._after_sentence_end(pos):
            return None
        if not self._plausible(rule.level, n, midline):
            return None
        title = self._title(pos, m.end(), line_end, rule.level, midline)
        return None if title is None else _Found(rule.level, title, n)

    def _rule_damaged(self, rule: _Rule, m: re.Match[str], pos: int, line_end: int, midline: bool) -> _Found | None:
        # Weak evidence, so it must also follow a sentence end: wrapped lists start with 、 too.
        if self.law or self.last[rule.level] == 0 or not self._after_sentence_end(pos):
            return None
        line = self.text[pos:line_end].rstrip()
        if len(line) > self.g.heading_max or self.g.sentence_end.search(line):
            return None
        return _Found(rule.level, line, self.last[rule.level] + 1)

    # -- checks ---------------------------------------------------------------------------

    def _plausible(self, level: int, n: int, midline: bool) -> bool:
        """Does number n fit after the last number of this level?

        Mid-line marks need the next number (one may have been lost); a line start also
        accepts a restart at 1. Arabic items may continue the numbering of the previous
        parent (seed 001 numbers 1-8 across 一、二、三), so the first item under a
        parent may have any number when it starts a line; mid-line, 2 is allowed first
        because a bare "1" glued to the text ("。1续建项目。") is not taken.
        """
        last = self.last[level]
        if midline:
            if level == 3 and last == 0:
                return n <= 2
            return n == last + 1 or (last > 0 and n == last + 2)
        if level == 3 and last == 0:
            return True
        return n == 1 or last < n <= last + 3

    def _after_sentence_end(self, pos: int) -> bool:
        """Does the line at pos follow a sentence end or a heading line (blank lines skipped)?

        Blank lines do not count as a boundary: scraped pages separate page images
        with them, and their page numbers ("3、教育。…") would pass for items; wrapped
        lists ("新西蘭\n、兩岸四地") would pass for damaged headings.
        """
        text = self.text
        nl = text.rfind("\n", 0, pos)
        while nl >= 0:
            if nl == self.heading_line_end:
                return True
            prev_start = text.rfind("\n", 0, nl) + 1
            prev = text[prev_start:nl].rstrip(_CLOSERS + "\r")
            if prev:
                return prev[-1] in self.g.line_end_ok
            nl = prev_start - 1
        return True

    def _title(self, pos: int, body: int, line_end: int, level: int, midline: bool) -> str | None:
        """The heading text starting at pos (marker included), or None for a list item."""
        g = self.g
        line, whole_line = self._head_of_line(pos, line_end)
        start = body - pos
        end_m = g.sentence_end.search(line, start)
        if end_m is not None and end_m.group() in "；;":
            return None  # "一、…；" is an enumerated clause, not a heading
        whole_max = g.item_max if level == 3 else g.heading_max
        if not midline and whole_line and len(line) <= whole_max and (end_m is None or end_m.end() == len(line)):
            return line
        cut = _runin_end(line, start, end_m, midline)
        limit = g.item_max if (midline or level == 3) else g.heading_max
        if cut is not None and cut <= limit:
            return line[:cut].rstrip(_BLANK)
        if level == 3:
            return None
        return _slogan(line, start, g.runin_cut)

    def _head_of_line(self, pos: int, line_end: int) -> tuple[str, bool]:
        """The head of the line at pos that can hold a title, and whether it is the whole line."""
        # A page whose line breaks were lost is one huge line: copying all of it per
        # candidate would be quadratic.
        stop = min(line_end, pos + 2 * self.g.heading_max)
        line = self.text[pos:stop]
        return (line.rstrip(), True) if stop == line_end else (line, False)


def _runin_end(line: str, start: int, end_m: re.Match[str] | None, midline: bool) -> int | None:
    """Where a run-in heading ends: its first sentence end, or before a glued year or item number mid-line."""
    cut = end_m.end() if end_m is not None else None
    if midline:
        glued = _GLUED_START.search(line, start + 2)
        if glued is not None and (cut is None or glued.start() < cut):
            cut = glued.start()
    return cut


def _slogan(line: str, start: int, runin_cut: int) -> str:
    """A heading with no sentence end within reach: cut at the last clause comma before `runin_cut`."""
    window = line[:runin_cut]
    commas = [m.start() for m in _CLAUSE_PUNCT.finditer(window, start + 2)]
    return (window[: commas[-1]] if commas else window).rstrip(_BLANK)


# The check of each rule `name` in headings.toml; an unknown name there fails at load.
RULE_CHECKS: dict[str, _Check] = {
    "division": _Scanner._rule_division,
    "article": _Scanner._rule_article,
    "cn_numeral": _Scanner._rule_cn_numeral,
    "cn_lone": _Scanner._rule_cn_lone,
    "cn_paren": _Scanner._rule_cn_numeral,
    "arabic": _Scanner._rule_arabic,
    "damaged": _Scanner._rule_damaged,
}


def _is_law(text: str, g: _Grammar, doc_kind: str | None) -> bool:
    if doc_kind == DOC_KIND_LAW:
        return True
    found = islice(g.article_line.finditer(text), g.law_min_articles)
    return sum(1 for _ in found) >= g.law_min_articles


def _kind(heading: str, parent_kind: str, g: _Grammar) -> str:
    """The kind named by the heading's cues, else the parent's (see headings.toml)."""
    if g.cue_re is None:
        return parent_kind
    best: tuple[tuple[int, int], str] | None = None
    for m in g.cue_re.finditer(heading):
        kind, strong = g.cues[m.group()]
        if not strong and parent_kind != KIND_OTHER:
            continue
        key = (0 if strong else 1, m.start())
        if best is None or key < best[0]:
            best = (key, kind)
    return best[1] if best is not None else parent_kind


def _locate(text: str, outline: list[SourceHeading]) -> dict[int, SourceHeading]:
    """The line start of each Markdown heading in `text`, matched in order by the line's text.

    A heading whose line is not found (cleaning dropped it, or the document was split
    into parts) is skipped; the next ones are still found.
    """
    wanted: dict[str, list[int]] = {}
    for i, heading in enumerate(outline):
        wanted.setdefault(_IGNORED_IN_MATCH.sub("", heading.title), []).append(i)
    found: dict[int, SourceHeading] = {}
    following = 0  # index of the first heading not yet found or skipped
    pos = 0
    for line in text.split("\n"):
        indices = wanted.get(_IGNORED_IN_MATCH.sub("", line)) if line else None
        if indices:
            index = next((i for i in indices if i >= following), None)
            if index is not None:
                found[pos] = outline[index]
                following = index + 1
        pos += len(line) + 1
    return found


def split_sections(
    text: str, fmt: str = "txt", doc_kind: str | None = None, outline: list[SourceHeading] | None = None
) -> list[Section]:
    """Split cleaned text into flat sections, one per heading, in document order.

    The sections cover the whole text without overlap: each starts at its heading (the
    first one at 0, with heading "" and level 0 when text precedes the first heading) and
    ends where the next one starts, so ``section.text == text[start:end]``. Levels: 0 =
    title/preamble, 1 = 一、/第X章/##, 2 = （一）/第X节/###, 3 = 1./第X条 (in Markdown,
    numbered headings nest below the latest '#' heading: 一、 under ### is 3). ``path`` holds
    the headings of the enclosing sections (level 0 excluded), ``kind`` comes from heading
    cues or is inherited (see ``indexer/data/headings.toml``); topics are left empty.

    ``outline`` lists the Markdown headings the reader found (the text holds their lines
    without '#'): each starts a section of its level ('#' is the title, level 0).
    ``fmt == "md"`` disables Arabic items. ``doc_kind`` picks the default kind (工作要点 -> 部署任务); laws
    (doc_kind 法规, or any text with a few lines starting 第X条) only use 编/章/节/条 and
    Markdown headings, and like news their sections are all 其他.
    """
    g = _grammar()
    law = _is_law(text, g, doc_kind)
    located = _locate(text, outline) if outline else {}
    headings = _Scanner(text, g, markdown=fmt == "md", law=law, outline=located).scan()
    if not headings or text[: headings[0].start].strip():
        headings.insert(0, _Heading(0, 0, ""))
    else:
        headings[0].start = 0  # leading blanks belong to the first heading's section

    no_cues = law or doc_kind in g.no_cues
    root_kind = g.doc_default.get(doc_kind or "", KIND_OTHER)
    stack: list[tuple[int, str, str]] = []  # (level, heading, kind) of the open sections
    sections: list[Section] = []
    for i, h in enumerate(headings):
        end = headings[i + 1].start if i + 1 < len(headings) else len(text)
        while stack and stack[-1][0] >= h.level:
            stack.pop()
        parent_kind = stack[-1][2] if stack else root_kind
        kind = parent_kind if no_cues else _kind(h.title, parent_kind, g)
        sections.append(
            Section(
                heading=h.title,
                level=h.level,
                kind=kind,
                text=text[h.start : end],
                start=h.start,
                end=end,
                path=[heading for level, heading, _ in stack if level > 0],
                url=h.url,
            )
        )
        stack.append((h.level, h.title, kind))
    return sections
