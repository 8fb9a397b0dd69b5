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
from pathlib import Path, PurePosixPath
from typing import Any

from indexer.clean import Cleaned, collapse_cjk_spaces, looks_like_title
from indexer.models import RawDocument
from indexer.readers.dates import CN_DIGITS, CN_YEAR, cn_number, find_dates
from speechindex.schema import DOC_KINDS

DATA_DIR = Path(__file__).parent / "data"
DOC_KINDS_PATH = DATA_DIR / "doc_kinds.toml"
YEAR_CUES_PATH = DATA_DIR / "year_cues.toml"

MIN_YEAR, MAX_YEAR = 1949, 2100
# No document is dated in the future: a later year in its text is a plan, not its date.
NEWEST_YEAR = dt.date.today().year
# Open ends of the bounds set by dated phrases (a congress can predate MIN_YEAR).
_NO_LOW, _NO_HIGH = 0, 9999
# Where the evidence is looked for: a date line or the meeting's name is in the opening;
# the years a speech talks about most are in its first part (later parts plan ahead).
OPENING_CHARS = 400
CONTENT_CHARS = 3000
DATE_LINE_SEARCH_LINES = 15

_CN_YEAR_CHARS = "".join(CN_DIGITS)
# A year: 4 Arabic digits or 4 Chinese numerals, followed by 年. A target or the end of a
# range ("到2035年", "2030年前", "2035年远景目标", "2023-2025年") is not the year a
# speech is about, nor is the start of a period it looks back on ("1958年以来").
_YEAR_MENTION = re.compile(
    rf"(?P<before>到|至|力争|争取|[\-~～])?\s*(?<![\d{_CN_YEAR_CHARS}])"
    rf"(?P<y>\d{{4}}|{CN_YEAR})(?!\d)\s*年(?P<after>前|以前|之前|远景|以来)?"
)
_RANGE_START = re.compile(r"(?<!\d)(?P<y>\d{4})\s*[-－—~～至到]\s*\d{4}\s*年")
# Anonymised years: 20XX年, 20××年, 20**年, 二〇XX年.
_ANONYMISED = r"(?:20|二〇|二零)[XxＸ×*＊]{2}"
_ANONYMISED_YEAR = re.compile(rf"{_ANONYMISED}\s*年")
# "今天，我们召开2023年教育局工作会议" names the meeting's year.
_MEETING_YEAR = re.compile(
    r"(?:召开|举行)(?:了|这次)?[^。，,；;\d]{0,6}?"
    rf"(?P<y>\d{{4}}|{CN_YEAR}|{_ANONYMISED})\s*年度?"
    r"[^。，,；;]{0,30}?(?:会议|大会|会)"
)
_CN_NUMBER = "[一二三四五六七八九十]"
_DATE = (
    rf"(?P<y>\d{{4}}|{CN_YEAR})\s*年\s*"
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
_NEWS_AGENCY = re.compile(r"^新华社\S{2,12}?电")
_OPENING_TITLE = re.compile(
    r"^(?P<t>.{2,80}?(?:讲话|致辞|发言|演讲|报告|说明))(?=[（(]\d{4}年|[（(]二〇|※)"
    r"|^(?P<u>[^※\n。，、：！？]{4,60}?)\s*(?:※\s*习近平|※|习近平)"
)
# Clauses of salutation and greeting that open a speech: no title material.
_SALUTATION = re.compile(r"^(?:同志们|同胞们|朋友们|女士们|先生们|各位|尊敬的|大会主席|主席先生|亲爱的|大家好|你们好)")
# A clause ends at a comma, colon or sentence end (an enumeration comma 、 does not end it).
_CLAUSE = re.compile(r"(?P<c>[^，,：:；;。！？!?\n※]+)(?P<p>[，,：:；;。！？!?\n※]?)")
_CLAUSE_GOES_ON = "，,"
# "第二届全国人民代表大会第三次会议" (not its standing committee's meetings).
_NPC_SESSION = re.compile(r"第(?P<term>[一二三四五六七八九十]{1,3})届全国人民代表大会第(?P<n>[一二三四五六七八九十])次会议")
_CN_ORDINALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十")
RECORD_TITLE_CHARS = 40
RECORD_TITLES_PATH = DATA_DIR / "record_titles.toml"


@dataclass
class Metadata:
    """What `extract_metadata` settles about a document."""

    title: str
    year: int | None
    date: str | None
    doc_kind: str
    source: str | None
    warnings: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)  # a law's header dates (通过/修订/修正/施行), oldest first


@dataclass
class _YearCues:
    """The dated phrases of year_cues.toml, compiled."""

    congress_titles: list[tuple[re.Pattern[str], int]]
    npc_sessions: dict[tuple[str, str], int]  # (届, 次) in Chinese numerals -> year
    bounds: list[tuple[re.Pattern[str], int, int | None, str]]  # regex, min, max, label


def extract_metadata(raw: RawDocument, cleaned: Cleaned) -> Metadata:
    """Settle title, year, date, kind and source: known values first, then the text, then the chrome."""
    warnings: list[str] = []
    title = _title(raw, cleaned)
    date, dates = _own_date(raw, cleaned, title, warnings)
    year = _year(raw, cleaned, title, date, warnings)
    source = raw.source or cleaned.hints.get("site") or cleaned.hints.get("domain")
    return Metadata(title, year, date, _doc_kind(raw, cleaned.text, title), source, warnings, dates)


def parse_year_mentions(text: str) -> list[int]:
    """Years written in the text (2023年, 二〇二三年, 一九五四年), 1949..2100, in order; 20XX is ignored."""
    return [year for year, _ in _year_mentions(text)]


# ---------------------------------------------------------------- title


def _tidy(text: str) -> str:
    """One line, single spaces, without the PDF spaces between CJK text and digits."""
    return collapse_cjk_spaces(" ".join(text.split()))


def _title(raw: RawDocument, cleaned: Cleaned) -> str:
    """The title found by `_found_title`; a programme's "《新闻联播》 (20230919)" reads "新闻联播 2023-09-19"."""
    title = _found_title(raw, cleaned)
    programme = _PROGRAMME_TITLE.match(title)
    if programme:
        dates = find_dates(programme.group("date"))
        if dates:
            return f"{programme.group('name')} {dates[0].iso}"
    return title


def _found_title(raw: RawDocument, cleaned: Cleaned) -> str:
    """The reader's title, else the body's title line, else the site's, else a file name."""
    if raw.title and raw.title.strip():
        return _tidy(raw.title)
    first = next((line.strip() for line in cleaned.text.split("\n") if line.strip()), "")
    if raw.fmt in ("csv", "jsonl"):
        return _record_title(cleaned.text, first) or _tidy(raw.source_file)
    if looks_like_title(first):
        return _tidy(first)
    header = next((h for h in cleaned.header_lines if looks_like_title(h)), None)
    if header:
        return _tidy(header)
    if "filename" in cleaned.hints:
        return _tidy(Path(cleaned.hints["filename"]).stem)
    return Path(raw.source_file.split("#")[0]).stem


@functools.lru_cache(maxsize=4)
def _load_occasions(path: str) -> tuple[int, tuple[tuple[re.Pattern[str], str], ...]]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return data["max_chars"], tuple((re.compile(o["regex"]), o["title"]) for o in data.get("occasion", []))


def _record_title(text: str, first_line: str) -> str:
    """A title for a collection record that has none (see indexer/data/record_titles.toml).

    The title it announces at its start, else its first line when that is a title, else
    one composed from the occasion its opening names, else its first complete clauses
    after the salutations.
    """
    max_chars, occasions = _load_occasions(str(RECORD_TITLES_PATH))
    text = _NEWS_AGENCY.sub("", " ".join(text[:OPENING_CHARS].split()))
    match = _OPENING_TITLE.match(text)
    if match:
        title = _tidy(match.group("t") or match.group("u"))
        # "主标题——在…上的讲话": the main title when the whole is too long.
        return title if len(title) <= max_chars else title.split("——")[0]
    if looks_like_title(first_line) and len(first_line) <= max_chars:
        return _tidy(first_line)
    for regex, template in occasions:
        match = regex.search(text)
        if match and len(title := template.format(o=_tidy(match.group("o")))) <= max_chars:
            return title
    return _first_clauses(text)


def _first_clauses(text: str) -> str:
    """The first clauses of the first sentence after the salutations, whole, within RECORD_TITLE_CHARS."""
    clauses = [(m.group("c").strip(), m.group("p")) for m in _CLAUSE.finditer(text)]
    start = 0
    # Skip salutations, greetings ("敏格拉巴！") and fillers ("首先，").
    while start < len(clauses) - 1 and (
        _SALUTATION.match(clauses[start][0])
        or len(clauses[start][0]) < 3
        or (clauses[start][1] in "！!" and len(clauses[start][0]) < 6)
    ):
        start += 1
    title, punct = clauses[start] if clauses else ("", "")
    for clause, next_punct in clauses[start + 1 :]:
        if punct not in _CLAUSE_GOES_ON or len(title) + 1 + len(clause) > RECORD_TITLE_CHARS:
            break
        title, punct = f"{title}{punct}{clause}", next_punct
    return _tidy(title)


# ---------------------------------------------------------------- year


def _year_value(digits: str) -> int | None:
    """The year written with Arabic digits or Chinese numerals, if in range."""
    year = cn_number(unicodedata.normalize("NFKC", digits))
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


def _year(raw: RawDocument, cleaned: Cleaned, title: str, date: str | None, warnings: list[str]) -> int | None:
    """The year the speech was given (or the plan is for), strongest evidence first.

    A collection's year column, then the document's own date, then years named in the
    title, then the text (weak: never a target year, never after NEWEST_YEAR).
    """
    if raw.year is not None and not (raw.date and date != raw.date and raw.year == int(raw.date[:4])):
        return raw.year  # (a year derived from a collection date the text corrects does not count)
    if date:
        return int(date[:4])
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
        years = [y for y, target in _year_mentions(line) if not target and y <= NEWEST_YEAR]
        if years:
            return strong(years[0], evidence)
        if _ANONYMISED_YEAR.search(line):
            warnings.append(f"year unknown: the {evidence} anonymises it (20XX)")
            return None
    for regex, year in cues.congress_titles:
        if regex.search(title):
            return strong(year, "congress named in the title")
    session = _NPC_SESSION.search(title)
    if session and (session.group("term"), session.group("n")) in cues.npc_sessions:
        return strong(cues.npc_sessions[session.group("term"), session.group("n")], "NPC session named in the title")
    meeting = _MEETING_YEAR.search(text[:OPENING_CHARS])
    if meeting:
        if _ANONYMISED_YEAR.match(meeting.group("y") + "年"):
            warnings.append(f"year unknown: the opening anonymises it (“{meeting.group(0)}”)")
            return None
        meeting_year = _year_value(meeting.group("y"))
        if meeting_year is not None:
            return strong(meeting_year, f"meeting named in the opening (“{meeting.group(0)}”)")
    return _year_from_content(text, cleaned.hints.get("upload_date"), (low, high, phrases), warnings)


def _year_from_content(
    text: str, upload_date: str | None, bounds: tuple[int, int, list[str]], warnings: list[str]
) -> int | None:
    """The year the first part of the text talks about most, within the dated phrases' bounds.

    The page's upload date only breaks ties: pages are uploaded months or years later.
    """
    low, high, _phrases = bounds
    part = text[:CONTENT_CHARS]
    counts = Counter(year for year, target in _year_mentions(part) if not target and year <= NEWEST_YEAR)
    anonymised = len(_ANONYMISED_YEAR.findall(part))
    upload_note = f"; the page was uploaded on {upload_date}" if upload_date else ""
    if anonymised > sum(counts.values()):
        warnings.append(f"year unknown: the text anonymises its years (20XX ×{anonymised}){upload_note}")
        return None
    allowed = Counter({year: n for year, n in counts.items() if low <= year <= high})
    if not allowed:
        return _year_from_bounds(counts, bounds, upload_note, warnings)
    return _most_mentioned(allowed, upload_date, upload_note, warnings)


def _year_from_bounds(
    counts: Counter[int], bounds: tuple[int, int, list[str]], upload_note: str, warnings: list[str]
) -> int | None:
    """No year the text mentions fits the dated phrases: their bounds decide when they name one year."""
    low, high, phrases = bounds
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


def _most_mentioned(allowed: Counter[int], upload_date: str | None, upload_note: str, warnings: list[str]) -> int:
    """The most mentioned year; a tie goes to the upload year when it is among them, else the latest."""
    top = max(allowed.values())
    tied = sorted(year for year, n in allowed.items() if n == top)
    upload_year = int(upload_date[:4]) if upload_date and upload_date[:4].isdigit() else None
    if len(tied) > 1 and upload_year in tied:
        year, how = upload_year, f"; tie between {tied} broken by the upload date {upload_date}"
    elif len(tied) > 1:
        year, how = tied[-1], f"; tie between {tied}: the latest is taken"
    else:
        year, how = tied[-1], upload_note
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
    npc_sessions = {
        (term, _CN_ORDINALS[n]): year
        for term, years in data.get("npc", {}).items()
        for n, year in enumerate(years)
    }
    for number, year in data.get("congress", {}).items():
        congress_titles.append(
            (re.compile(rf"[(（]{number}大[)）]|(?:中国共产党|中共|党的)第{number}次全国代表大会"), year)
        )
        # "党的二十大", "十九大以来"; the lookbehind keeps "十大" out of "二十大".
        mention = rf"(?:党的|中共){number}大|(?<![一二三四五六七八九十]){number}大(?:以来|精神|报告|胜利|召开)"
        bounds.append((re.compile(mention), year, None, f"党的{number}大"))
    for cue in data.get("cue", []):
        bounds.append((re.compile(cue["regex"]), cue["min_year"], cue.get("max_year"), ""))
    return _YearCues(congress_titles, npc_sessions, bounds)


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


def _iso(match: re.Match[str]) -> str | None:
    """The matched date as YYYY-MM-DD, or None when it is no calendar date."""
    year = _year_value(match.group("y"))
    if year is None:
        return None
    try:
        return dt.date(year, cn_number(match.group("m")), cn_number(match.group("d"))).isoformat()
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


# Header lines of a law or resolution, under its title: "2022年6月23日 深圳市…会议通过",
# "2022年5月1日 施行", "（2023年3月13日第十四届全国人民代表大会第一次会议通过）".
_HEADER_EVENT = re.compile(r"通过|修订|修正|公布|发布|批准|颁布|施行")
_VERSION_EVENT = re.compile(r"通过|修订|修正|公布|发布|批准|颁布")
HEADER_CHARS = 6000
# A file name dates a law's publication, days or weeks after the header's latest adoption;
# a file name much newer than every header date names a version the header omits.
FILE_DATE_LEAD_DAYS = 183
# "《新闻联播》 (20230919)": a programme's name and the day of the broadcast.
_PROGRAMME_TITLE = re.compile(r"^《(?P<name>[^》]{1,20})》\s*[(（]?(?P<date>[^()（）]{6,16})[)）]?$")


def header_dates(text: str) -> list[tuple[str, bool]]:
    """(ISO date, is a version) for each date of the header lines under a title, in order.

    A header line starts with a date and says what happened (通过/修订/修正/公布/发布/
    批准/颁布/施行); the header ends at the first other line. A date followed only by
    施行 is when a version took effect, not a version.
    """
    out: list[tuple[str, bool]] = []
    lines = (line.strip() for line in text[:HEADER_CHARS].split("\n"))
    for n, line in enumerate(line for line in lines if line):
        found = find_dates(line)
        line = unicodedata.normalize("NFKC", line)  # find_dates' offsets are in the NFKC form
        if not found or found[0].start > 1 or not _HEADER_EVENT.search(line):
            if n == 0 and not out:
                continue  # the title line
            break
        for i, date in enumerate(found):
            told = line[date.end : found[i + 1].start if i + 1 < len(found) else len(line)]
            out.append((date.iso, bool(_VERSION_EVENT.search(told)) or "施行" not in told))
    return out


def _file_name_date(raw: RawDocument) -> str | None:
    """The date in a file's name ("20230919.md", "…条例(2022-06-30).md"); none for collection records."""
    if raw.fmt in ("csv", "jsonl"):
        return None
    found = find_dates(PurePosixPath(raw.source_file.split("#", 1)[0]).stem)
    return found[-1].iso if found else None


def _not_future(date: str | None, evidence: str, warnings: list[str]) -> str | None:
    """`date`, unless it lies after NEWEST_YEAR (then a warning and None)."""
    if date and int(date[:4]) > NEWEST_YEAR:
        warnings.append(f"ignored the {evidence}'s date {date}: after {NEWEST_YEAR}")
        return None
    return date


def _own_date(raw: RawDocument, cleaned: Cleaned, title: str, warnings: list[str]) -> tuple[str | None, list[str]]:
    """The document's own date and, for a law, all its header dates.

    A law: its latest version (adopted, revised, amended, published) by its header, or by
    its file name when that is half a year newer. Otherwise the first of: a dating line
    of the text (the day a speech was given), the collection's date, the file name's,
    the title's. A collection dates publication: a speech it republished keeps its day.
    """
    file_date = _file_name_date(raw)
    header = header_dates(raw.text)
    if header:
        dates = sorted({iso for iso, _ in header})
        date = max((iso for iso, version in header if version), default=dates[-1])
        if file_date and (dt.date.fromisoformat(file_date) - dt.date.fromisoformat(date)).days > FILE_DATE_LEAD_DAYS:
            warnings.append(f"the file name dates a version ({file_date}) newer than the header's latest ({date})")
            date = file_date
        return _not_future(date, "header", warnings), dates
    dated = _date_line(cleaned.text)
    if raw.date and dated and dated != raw.date:
        warnings.append(f"the text dates the speech {dated}, the collection says {raw.date}")
    title_dates = find_dates(title)
    for candidate, evidence in (
        (dated, "dating line"),
        (raw.date, "collection"),
        (file_date, "file name"),
        (title_dates[0].iso if title_dates else None, "title"),
    ):
        if _not_future(candidate, evidence, warnings):
            return candidate, []
    return None, []


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
