"""Year and date values: collection records (.jsonl fields, .csv columns, HTML metadata), and
dates written in titles, file names and headers (`find_dates`)."""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass

from speechindex.analysis import CN_DIGITS

MIN_YEAR = 1800
MAX_YEAR = 2100

_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_COMPACT_YMD = re.compile(r"(\d{4})(\d{2})(\d{2})(?!\d)")
_YM = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?!\d)")
_Y = re.compile(r"(\d{4})(?!\d)")


def normalise_date(value: object) -> str | None:
    """An ISO date ("YYYY-MM-DD", "YYYY-MM" or "YYYY") from a date-like value, else None.

    Accepts "2020-05-19", "2020/5/19", "2020.5.19", "2020年5月19日", "20200519", a trailing
    time ("2020-05-19 10:30:00", "2020-05-19T10:30"), "2020-05", "2020年5月", "2020", an
    int year, and the forms of `find_dates` ("二〇二〇年五月十九日", full-width digits).
    Impossible dates (2020-02-30) and years outside 1800..2100 give None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if MIN_YEAR <= value <= MAX_YEAR else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    written = find_dates(text, min_year=MIN_YEAR)
    if written and written[0].start == 0:
        return written[0].iso
    if match := _YMD.match(text) or _COMPACT_YMD.match(text):
        year, month, day = (int(part) for part in match.groups())
        if not MIN_YEAR <= year <= MAX_YEAR:
            return None
        try:
            return datetime.date(year, month, day).isoformat()
        except ValueError:
            return None
    if match := _YM.match(text):
        year, month = int(match.group(1)), int(match.group(2))
        ok = MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12
        return f"{year:04d}-{month:02d}" if ok else None
    if match := _Y.match(text):
        year = int(match.group(1))
        return str(year) if MIN_YEAR <= year <= MAX_YEAR else None
    return None


def parse_year(value: object) -> int | None:
    """A year from an int, an integral float or a numeric string; None for null/empty.

    Raises ValueError for anything else, or a year outside 1800..2100.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a year: {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise ValueError(f"not a year: {value!r}")
    if not MIN_YEAR <= value <= MAX_YEAR:
        raise ValueError(f"year out of range: {value}")
    return value


def year_of(date: str | None) -> int | None:
    """The year of an ISO date produced by `normalise_date`."""
    return int(date[:4]) if date else None


def record_year_date(year: object, date: object) -> tuple[int | None, str | None, list[str]]:
    """The year and ISO date of a collection record's values, and warnings for values dropped.

    A record is read leniently: a bad year or date is ignored with a warning, and a
    missing year is the date's.
    """
    warnings: list[str] = []
    try:
        parsed_year = parse_year(year)
    except ValueError as error:
        warnings.append(f"ignored invalid year ({error})")
        parsed_year = None
    iso = normalise_date(date)
    if date not in (None, "") and iso is None:
        warnings.append(f"ignored unrecognised date {date!r}")
    return (parsed_year if parsed_year is not None else year_of(iso)), iso, warnings


# ---------------------------------------------------------------- dates written in text

CN_YEAR = f"[{''.join(CN_DIGITS)}]{{4}}"
_CN_SMALL = "[一二三四五六七八九十]{1,3}"
# The forms these collections use, each a whole date (no digit glued to either end):
# 2023年9月19日 / 二〇二三年九月十九日, 2023-09-19 / 2023.9.19 / 2023/9/19, 20230919.
_WRITTEN_DATE = re.compile(
    rf"(?<![\d{''.join(CN_DIGITS)}])(?P<y>\d{{4}}|{CN_YEAR})\s*年\s*(?P<m>\d{{1,2}}|{_CN_SMALL})\s*月"
    rf"\s*(?P<d>\d{{1,2}}|{_CN_SMALL})\s*[日号]"
    r"|(?<![\d.])(?P<y2>\d{4})(?P<sep>[-./])(?P<m2>\d{1,2})(?P=sep)(?P<d2>\d{1,2})(?![\d.])"
    r"|(?<!\d)(?P<y3>(?:19|20)\d{2})(?P<m3>[01]\d)(?P<d3>[0-3]\d)(?!\d)"
)


@dataclass(frozen=True)
class FoundDate:
    """A date written in a text: where it is (in the NFKC form of the text) and its ISO value."""

    start: int
    end: int
    iso: str


def cn_number(text: str) -> int:
    """A number written with Arabic digits or Chinese numerals: 2023, 二〇二三, 十, 十二, 二十三."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return int("".join(str(CN_DIGITS[c]) for c in text))
    tens, _, units = text.partition("十")
    return (CN_DIGITS[tens] if tens else 1) * 10 + (CN_DIGITS[units] if units else 0)


def _calendar_date(year: str, month: str, day: str, min_year: int) -> str | None:
    """YYYY-MM-DD of written parts, or None when they make no calendar date in min_year..MAX_YEAR."""
    try:
        y, m, d = cn_number(year), cn_number(month), cn_number(day)
        if not min_year <= y <= MAX_YEAR:
            return None
        return datetime.date(y, m, d).isoformat()
    except (ValueError, KeyError):
        return None


def find_dates(text: str, min_year: int = 1900) -> list[FoundDate]:
    """Every complete date written in `text`, in order.

    Forms: 2023年9月19日 (also with 号, spaces, full-width digits), 二〇二三年九月十九日,
    2023-09-19, (2023-09-19), 2023.9.19, 2023/9/19 and the compact 20230919. Impossible
    dates (20231345) and years before `min_year` or after 2100 are skipped, so hashes
    and counts that happen to be eight digits rarely pass.
    """
    text = unicodedata.normalize("NFKC", text)
    found: list[FoundDate] = []
    for match in _WRITTEN_DATE.finditer(text):
        year, month, day = match.group("y", "m", "d") if match.group("y") else (
            match.group("y2", "m2", "d2") if match.group("y2") else match.group("y3", "m3", "d3")
        )
        iso = _calendar_date(year, month, day, min_year)
        if iso:
            found.append(FoundDate(match.start(), match.end(), iso))
    return found


def first_date(text: str) -> str | None:
    """The ISO value of the first date written in `text`, or None."""
    dates = find_dates(text)
    return dates[0].iso if dates else None
