"""CSV collections: one document per row, the text in a column named text/content/正文…"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from indexer.models import RawDocument
from indexer.readers.dates import record_year_date
from indexer.readers.text import decode_bytes, read_bytes
from speechindex.errors import CorpusError

# Header names (compared case-insensitively) of the columns a collection may have.
COLUMNS = {
    "text": ("text", "content", "body", "正文", "内容"),
    "title": ("title", "标题"),
    "date": ("date", "日期", "time"),
    "year": ("year", "年份"),
    "url": ("url", "link", "链接"),
    "source": ("source", "来源"),
}
_DELIMITERS = (",", "\t", ";", "|")
# Whole speeches sit in one field: the default 128 KiB limit is too small. Files are
# capped by read_bytes ($EDU_SEARCH_MAX_FILE_MB, far below 2 GiB), so this limit never truncates.
_FIELD_SIZE_LIMIT = 2**31 - 1


def read(path: Path, rel: str) -> tuple[list[RawDocument], list[CorpusError]]:
    """Read every row of a .csv file; a bad row becomes an error, the others documents.

    The first row is the header; the delimiter (, tab ; |) is the one most frequent in it.
    `source_file` is "<rel>#<row number>", rows counted from 1 after the header, blank rows
    skipped. Text is kept as is (some corpora separate paragraphs with U+3000 spaces).
    Raises CorpusError for file-level failures, e.g. no text column.
    """
    data = read_bytes(path, rel)
    if not data:
        raise CorpusError(rel, "empty file")
    text = decode_bytes(data, rel)
    header_line = text.lstrip("\n").split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=header_line.count)
    csv.field_size_limit(_FIELD_SIZE_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    except csv.Error as error:
        raise CorpusError(rel, f"malformed CSV header ({error})") from None
    if header is None:
        raise CorpusError(rel, "no text (only blank lines)")
    columns = _find_columns(header)
    if "text" not in columns:
        expected = ", ".join(COLUMNS["text"])
        found = ", ".join(cell.strip() for cell in header)
        raise CorpusError(rel, f"no text column (expected one of: {expected}; found: {found})")

    documents: list[RawDocument] = []
    errors: list[CorpusError] = []
    number = 0
    while True:
        try:
            row = next(reader, None)
        except csv.Error as error:
            number += 1
            errors.append(CorpusError(
                f"{rel}#{number}",
                f"row {number} (line {reader.line_num}): malformed CSV ({error}); "
                "the rest of the file was skipped",
            ))
            break
        if row is None:
            break
        if not any(cell.strip() for cell in row):
            continue
        number += 1
        try:
            documents.append(
                _record(row, len(header), columns, f"{rel}#{number}", number, reader.line_num)
            )
        except CorpusError as error:
            errors.append(error)
    if not documents and not errors:
        raise CorpusError(rel, "no records (only a header row)")
    return documents, errors


def _find_columns(header: list[str]) -> dict[str, int]:
    """Role -> index of the first header cell naming one of that role's columns."""
    names = [cell.strip().lstrip("\ufeff").lower() for cell in header]
    columns: dict[str, int] = {}
    for role, candidates in COLUMNS.items():
        for index, name in enumerate(names):
            if name in candidates:
                columns[role] = index
                break
    return columns


def _record(
    row: list[str], width: int, columns: dict[str, int], record_path: str, number: int, line: int
) -> RawDocument:
    """One CSV row as a RawDocument; raises CorpusError naming the row and line."""
    where = f"row {number} (line {line})"
    extra = row[width:]
    if len(row) < width or any(cell.strip() for cell in extra):
        raise CorpusError(
            record_path,
            f"{where}: has {len(row)} fields but the header has {width} "
            "(unquoted delimiter or stray quote?)",
        )

    def cell(role: str) -> str | None:
        value = row[columns[role]].strip() if role in columns else ""
        return value or None

    text = row[columns["text"]]
    if not text.strip():
        raise CorpusError(record_path, f"{where}: empty text")
    year, date, warnings = record_year_date(cell("year"), cell("date"))
    return RawDocument(
        text=text,
        source_file=record_path,
        fmt="csv",
        title=cell("title"),
        year=year,
        date=date,
        url=cell("url"),
        source=cell("source"),
        warnings=warnings,
    )
