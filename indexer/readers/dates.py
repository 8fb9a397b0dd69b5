"""Year and date values found in collection records (.jsonl fields, .csv columns, HTML metadata)."""

from __future__ import annotations

import datetime
import re

MIN_YEAR = 1800
MAX_YEAR = 2100

_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)")
_COMPACT_YMD = re.compile(r"(\d{4})(\d{2})(\d{2})(?!\d)")
_YM = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?!\d)")
_Y = re.compile(r"(\d{4})(?!\d)")


def normalise_date(value: object) -> str | None:
    """An ISO date ("YYYY-MM-DD", "YYYY-MM" or "YYYY") from a date-like value, else None.

    Accepts "2020-05-19", "2020/5/19", "2020.5.19", "2020年5月19日", "20200519", a trailing
    time ("2020-05-19 10:30:00", "2020-05-19T10:30"), "2020-05", "2020年5月", "2020", and
    an int year. Impossible dates (2020-02-30) and years outside 1800..2100 give None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if MIN_YEAR <= value <= MAX_YEAR else None
    if not isinstance(value, str):
        return None
    text = value.strip()
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
