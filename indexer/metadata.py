"""Title, year, date, kind and source of a document, from what the reader knew and the cleaned text.

Known metadata (a collection's columns, a file's own properties) always wins; guesses
from the text come next; what the site chrome said (upload dates) is weak evidence only.
Every guess that rests on weak or ambiguous evidence leaves a warning saying why.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import tomllib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.clean import Cleaned, collapse_cjk_spaces, looks_like_title
from indexer.models import DOC_KINDS, RawDocument

DATA_DIR = Path(__file__).parent / "data"
DOC_KINDS_PATH = DATA_DIR / "doc_kinds.toml"
YEAR_CUES_PATH = DATA_DIR / "year_cues.toml"

MIN_YEAR, MAX_YEAR = 1949, 2100
# Open ends of the bounds set by dated phrases (a congress can predate MIN_YEAR).
_NO_LOW, _NO_HIGH = 0, 9999
# Where the evidence is looked for: a date line or the meeting's name is in the opening;
# the years a speech talks about most are in its first part (later parts plan ahead).
OPENING_CHARS = 400
CONTENT_CHARS = 3000
DATE_LINE_SEARCH_LINES = 15

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "一": 1, "二": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_YEAR_CHARS = "".join(_CN_DIGITS)
_CN_YEAR_DIGIT = f"[{_CN_YEAR_CHARS}]"
# A year: 4 Arabic digits or 4 Chinese numerals, followed by 年. A target or the end of a
# range ("到2035年", "2030年前", "2035年远景目标", "2023-2025年") is not the year a
# speech is about.
_YEAR_MENTION = re.compile(
    rf"(?P<before>到|至|力争|争取|[\-~～])?\s*(?<![\d{_CN_YEAR_CHARS}])"
    rf"(?P<y>\d{{4}}|{_CN_YEAR_DIGIT}{{4}})(?!\d)\s*年(?P<after>前|以前|之前|远景)?"
)
_RANGE_START = re.compile(r"(?<!\d)(?P<y>\d{4})\s*[-－—~～至到]\s*\d{4}\s*年")
# Anonymised years: 20XX年, 20××年, 20**年, 二〇XX年.
_ANONYMISED_YEAR = re.compile(r"(?:20|二〇|二零)[XxＸ×*＊]{2}\s*年")
# "今天，我们召开2023年教育局工作会议" names the meeting's year.
_MEETING_YEAR = re.compile(
    r"(?:召开|举行)(?:了|这次)?[^。，,；;\d]{0,6}?"
    rf"(?P<y>\d{{4}}|{_CN_YEAR_DIGIT}{{4}}|(?:20|二〇|二零)[XxＸ×*＊]{{2}})\s*年度?"
    r"[^。，,；;]{0,30}?(?:会议|大会|会)"
)
_CN_NUMBER = "[一二三四五六七八九十]"
_DATE = (
    rf"(?P<y>\d{{4}}|{_CN_YEAR_DIGIT}{{4}})\s*年\s*"
    rf"(?P<m>\d{{1,2}}|{_CN_NUMBER}{{1,2}})\s*月\s*"
    rf"(?P<d>\d{{1,2}}|{_CN_NUMBER}{{1,3}})\s*日"
)
# Lines that date a speech or a report: "——2024年3月5日在第十四届…", "（2017年10月18日）",
# "（2023年3月13日第十四届…通过）", "1957年6月26日在第一届…".
_DATE_LINES = (
    re.compile(rf"^[—－\-–]{{1,2}}\s*{_DATE}"),
    re.compile(rf"^[（(]\s*{_DATE}[^（）()]{{0,40}}[)）]$"),
    re.compile(rf"^{_DATE}在"),
)
# A title line that carries its date: "在…座谈会上的讲话（2018年2月12日）习近平…".
_TITLE_DATE = re.compile(rf"^.{{2,100}}?[（(]{_DATE}(?:[，,][^（）()]{{1,10}})?[)）]")
# The title at the start of a record that has none: "在…上的讲话（2020年1月8日）…",
# "…体系※习近平…".
_OPENING_TITLE = re.compile(
    r"^(?:新华社\S{2,12}?电)?"
    r"(?P<t>.{2,80}?(?:讲话|致辞|发言|演讲|报告|说明))(?=[（(]\d{4}年|[（(]二〇|※)"
    r"|^(?P<u>[^※\n]{4,60})※"
)
# Salutations and greetings that open a speech: no title material.
_SALUTATION = re.compile(
    r"^(?:(?:同志们|同胞们|朋友们|女士们|先生们|各位|尊敬的|大会主席|主席先生|亲爱的|大家好|你们好)"
    r"[^。！？\n]{0,80}?[：:！!]\s*)+"
)
_SENTENCE_END = re.compile(r"[。！？!?；;：:\n※]")
RECORD_TITLE_CHARS = 30


@dataclass
class Metadata:
    """What `extract_metadata` settles about a document."""

    title: str
    year: int | None
    date: str | None
    doc_kind: str
    source: str | None
    warnings: list[str] = field(default_factory=list)


@dataclass
class _YearCues:
    """The dated phrases of year_cues.toml, compiled."""

    congress_titles: list[tuple[re.Pattern[str], int]]
    bounds: list[tuple[re.Pattern[str], int, int | None, str]]  # regex, min, max, label


def extract_metadata(raw: RawDocument, cleaned: Cleaned) -> Metadata:
    """Settle title, year, date, kind and source: known values first, then the text, then the chrome."""
    warnings: list[str] = []
    title = _title(raw, cleaned)
    year = _year(raw, cleaned, title, warnings)
    dated = _date_line(cleaned.text)
    if raw.date and dated and dated != raw.date:
        # Collections date the publication; a dating line in the text dates the speech.
        warnings.append(f"the text dates the speech {dated}, the collection says {raw.date}")
    date = raw.date or dated
    source = raw.source or cleaned.hints.get("site") or cleaned.hints.get("domain")
    return Metadata(title, year, date, _doc_kind(raw, cleaned.text, title), source, warnings)


def parse_year_mentions(text: str) -> list[int]:
    """Years written in the text (2023年, 二〇二三年, 一九五四年), 1949..2100, in order; 20XX is ignored."""
    return [year for year, _ in _year_mentions(text)]


# ---------------------------------------------------------------- title


def _tidy(text: str) -> str:
    """One line, single spaces, without the PDF spaces between CJK text and digits."""
    return collapse_cjk_spaces(" ".join(text.split()))


def _title(raw: RawDocument, cleaned: Cleaned) -> str:
    """The reader's title, else the body's title line, else the site's, else a file name."""
    if raw.title and raw.title.strip():
        return _tidy(raw.title)
    first = next((line.strip() for line in cleaned.text.split("\n") if line.strip()), "")
    if looks_like_title(first):
        return _tidy(first)
    if raw.fmt in ("csv", "jsonl"):
        return _record_title(cleaned.text) or _tidy(raw.source_file)
    header = next((h for h in cleaned.header_lines if looks_like_title(h)), None)
    if header:
        return _tidy(header)
    if "filename" in cleaned.hints:
        return _tidy(Path(cleaned.hints["filename"]).stem)
    return Path(raw.source_file.split("#")[0]).stem


def _record_title(text: str) -> str:
    """A title for a collection record that has none: its announced title, else its first sentence."""
    text = text.strip()
    match = _OPENING_TITLE.match(text)
    if match:
        return _tidy(match.group("t") or match.group("u"))
    text = _SALUTATION.sub("", text, count=1)
    sentence = _SENTENCE_END.split(text, maxsplit=1)[0]
    return _tidy(sentence[:RECORD_TITLE_CHARS])


# ---------------------------------------------------------------- year


def _year_value(digits: str) -> int | None:
    """The year written with Arabic digits or Chinese numerals, if in range."""
    digits = unicodedata.normalize("NFKC", digits)
    if not digits.isdigit():
        digits = "".join(str(_CN_DIGITS[c]) for c in digits)
    year = int(digits)
    return year if MIN_YEAR <= year <= MAX_YEAR else None


def _year_mentions(text: str) -> list[tuple[int, bool]]:
    """(year, is_target) for each year in the text, in order; a target is "到2035年" or a range end."""
    text = unicodedata.normalize("NFKC", text)  # full-width digits, as in the 1950s reports
    found: list[tuple[int, int, bool]] = []
    for match in _YEAR_MENTION.finditer(text):
        year = _year_value(match.group("y"))
        if year is not None:
            target = bool(match.group("before") or match.group("after"))
            found.append((match.start("y"), year, target))
    for match in _RANGE_START.finditer(text):
        # The start of "2023-2025年" has no 年 of its own: count it as a plain mention.
        year = _year_value(match.group("y"))
        if year is not None:
            found.append((match.start("y"), year, False))
    return [(year, target) for _, year, target in sorted(found)]


CUE_SCAN_CHARS = 8000


def _year(raw: RawDocument, cleaned: Cleaned, title: str, warnings: list[str]) -> int | None:
    """The year the speech was given (or the plan is for), strongest evidence first."""
    if raw.year is not None:
        return raw.year
    text = cleaned.text
    cues = _year_cues()
    # Dated phrases that bound the year sit in the opening; scanning whole laws costs seconds.
    low, high, phrases = _cue_bounds(text[:CUE_SCAN_CHARS], cues, warnings)

    def strong(year: int, evidence: str) -> int:
        if not low <= year <= high:
            warnings.append(
                f"year {year} from the {evidence} contradicts the text, which mentions "
                f"{'、'.join(phrases)} ({_bounds_label(low, high)})"
            )
        return year

    named = [(title, "title")] + [(h, "site title") for h in cleaned.header_lines]
    if "filename" in cleaned.hints:
        named.append((Path(cleaned.hints["filename"]).stem, "file name"))
    for line, evidence in named:
        years = parse_year_mentions(line)
        if years:
            return strong(years[0], evidence)
        if _ANONYMISED_YEAR.search(line):
            warnings.append(f"year unknown: the {evidence} anonymises it (20XX)")
            return None
    for regex, year in cues.congress_titles:
        if regex.search(title):
            return strong(year, "congress named in the title")
    date = _date_line(text)
    if date:
        return strong(int(date[:4]), "date line")
    if raw.date and raw.date[:4].isdigit():
        return strong(int(raw.date[:4]), "collection's date")
    meeting = _MEETING_YEAR.search(text[:OPENING_CHARS])
    if meeting:
        if _ANONYMISED_YEAR.match(meeting.group("y") + "年"):
            warnings.append(f"year unknown: the opening anonymises it (“{meeting.group(0)}”)")
            return None
        year = _year_value(meeting.group("y"))
        if year is not None:
            return strong(year, f"meeting named in the opening (“{meeting.group(0)}”)")
    return _year_from_content(text, cleaned.hints.get("upload_date"), (low, high, phrases), warnings)


def _year_from_content(
    text: str, upload_date: str | None, bounds: tuple[int, int, list[str]], warnings: list[str]
) -> int | None:
    """The year the first part of the text talks about most, within the dated phrases' bounds.

    The page's upload date only breaks ties: pages are uploaded months or years later.
    """
    low, high, phrases = bounds
    part = text[:CONTENT_CHARS]
    counts = Counter(year for year, target in _year_mentions(part) if not target)
    anonymised = len(_ANONYMISED_YEAR.findall(part))
    upload_note = f"; the page was uploaded on {upload_date}" if upload_date else ""
    if anonymised > sum(counts.values()):
        warnings.append(f"year unknown: the text anonymises its years (20XX ×{anonymised}){upload_note}")
        return None
    allowed = Counter({year: n for year, n in counts.items() if low <= year <= high})
    if not allowed:
        if low == high:
            warnings.append(f"year {low} inferred only from dated phrases: {'、'.join(phrases)}")
            return low
        if counts:
            warnings.append(
                f"year unknown: the years the text mentions ({', '.join(map(str, sorted(counts)))}) "
                f"contradict {'、'.join(phrases)} ({_bounds_label(low, high)}){upload_note}"
            )
        else:
            warnings.append(f"year unknown: no year in the text{upload_note}")
        return None
    top = max(allowed.values())
    tied = sorted(year for year, n in allowed.items() if n == top)
    upload_year = int(upload_date[:4]) if upload_date and upload_date[:4].isdigit() else None
    if len(tied) > 1 and upload_year in tied:
        year, how = upload_year, f"; tie between {tied} broken by the upload date {upload_date}"
    else:
        year = tied[-1]
        how = f"; tie between {tied}: the latest is taken" if len(tied) > 1 else ""
        if upload_date and not how:
            how = upload_note
    others = ", ".join(f"{y}×{n}" for y, n in sorted(allowed.items()) if y != year)
    warnings.append(
        f"year {year} inferred from the text: {year} is mentioned {top}×"
        + (f" (also {others})" if others else "")
        + how
    )
    return year


@functools.lru_cache(maxsize=4)
def _load_year_cues(path: str) -> _YearCues:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    congress_titles: list[tuple[re.Pattern[str], int]] = []
    bounds: list[tuple[re.Pattern[str], int, int | None, str]] = []
    for number, year in data.get("congress", {}).items():
        congress_titles.append(
            (re.compile(rf"[(（]{number}大[)）]|(?:中国共产党|中共|党的)第{number}次全国代表大会"), year)
        )
        # "党的二十大", "十九大以来"; the lookbehind keeps "十大" out of "二十大".
        mention = rf"(?:党的|中共){number}大|(?<![一二三四五六七八九十]){number}大(?:以来|精神|报告|胜利|召开)"
        bounds.append((re.compile(mention), year, None, f"党的{number}大"))
    for cue in data.get("cue", []):
        bounds.append((re.compile(cue["regex"]), cue["min_year"], cue.get("max_year"), ""))
    return _YearCues(congress_titles, bounds)


def _year_cues() -> _YearCues:
    return _load_year_cues(str(YEAR_CUES_PATH))


def _cue_bounds(text: str, cues: _YearCues, warnings: list[str]) -> tuple[int, int, list[str]]:
    """The (min, max) year the dated phrases of the text allow, and the phrases found."""
    low, high, phrases = _NO_LOW, _NO_HIGH, []
    for regex, min_year, max_year, label in cues.bounds:
        match = regex.search(text)
        if match:
            phrases.append(label or match.group(0))
            low = max(low, min_year)
            high = min(high, max_year or _NO_HIGH)
    if low > high:
        warnings.append(f"dated phrases contradict each other ({'、'.join(phrases)}): ignored")
        return _NO_LOW, _NO_HIGH, []
    return low, high, phrases


def _bounds_label(low: int, high: int) -> str:
    """"≥ 2022", "≤ 2022" or "2020–2022"."""
    if high == _NO_HIGH:
        return f"≥ {low}"
    if low == _NO_LOW:
        return f"≤ {high}"
    return f"{low}–{high}"


# ---------------------------------------------------------------- date


def _cn_number(text: str) -> int:
    """1..31 written with Arabic digits or Chinese numerals (十, 十二, 二十三)."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return _CN_DIGITS[text]
    tens, _, units = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def _iso(match: re.Match[str]) -> str | None:
    """The matched date as YYYY-MM-DD, or None when it is no calendar date."""
    year = _year_value(match.group("y"))
    if year is None:
        return None
    try:
        return dt.date(year, _cn_number(match.group("m")), _cn_number(match.group("d"))).isoformat()
    except (ValueError, KeyError):
        return None


def _date_line(text: str) -> str | None:
    """The ISO date of a dating line near the top ("——2024年3月5日在…", "（2017年10月18日）")."""
    lines = [line.strip() for line in text.split("\n") if line.strip()][:DATE_LINE_SEARCH_LINES]
    for line in lines:
        if len(line) > 80:  # a paragraph, not a dating line
            continue
        line = unicodedata.normalize("NFKC", line)
        for regex in _DATE_LINES:
            match = regex.search(line)
            if match:
                return _iso(match)
    if lines:
        match = _TITLE_DATE.match(lines[0])
        if match:
            return _iso(match)
    return None


# ---------------------------------------------------------------- kind


@dataclass
class _KindRule:
    kind: str
    conditions: dict[str, Any]  # title/opening/structure/path: compiled regexes; fmt: names


@functools.lru_cache(maxsize=4)
def _load_kind_rules(path: str) -> tuple[str, tuple[_KindRule, ...]]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    default = data.get("default", "其他")
    rules: list[_KindRule] = []
    for entry in data.get("rule", []):
        kind = entry["kind"]
        if kind not in DOC_KINDS or default not in DOC_KINDS:
            raise ValueError(f"{path}: unknown document kind {kind!r} (expected one of {DOC_KINDS})")
        conditions: dict[str, Any] = {}
        for key in ("title", "path"):
            if key in entry:
                conditions[key] = [re.compile(r) for r in entry[key]]
        for key in ("opening", "structure"):  # ^ is the start of any line there
            if key in entry:
                conditions[key] = [re.compile(r, re.MULTILINE) for r in entry[key]]
        if "fmt" in entry:
            conditions["fmt"] = [f.lower() for f in entry["fmt"]]
        if not conditions:
            raise ValueError(f"{path}: a rule for {kind} has no condition")
        rules.append(_KindRule(kind, conditions))
    return default, tuple(rules)


def _doc_kind(raw: RawDocument, text: str, title: str) -> str:
    """The first rule of doc_kinds.toml that the document satisfies gives its kind."""
    default, rules = _load_kind_rules(str(DOC_KINDS_PATH))
    fields = {
        "title": title,
        "opening": text.lstrip()[:200],
        "structure": text[:5000],
        "path": raw.source_file,
    }
    for rule in rules:
        if all(
            raw.fmt.lower() in values if key == "fmt" else any(r.search(fields[key]) for r in values)
            for key, values in rule.conditions.items()
        ):
            return rule.kind
    return default
