"""Results as a spreadsheet: one row per section shown on the results pages, CSV streamed or an .xlsx file.

Rows come in the order of the results pages (document by document, each with its shown
sections), so the first rows of an export are exactly what the first page shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from openpyxl import Workbook

from search_app.engine import MAX_PAGE, MAX_PER_PAGE, SearchEngine, SearchRequest
from search_app.results import Hit, SectionHit

MAX_ROWS = 1000
COLUMNS = ("序号", "标题", "年份", "日期", "文档类型", "来源", "章节", "段落类型", "摘录", "链接")
FORMATS = {
    "csv": "text/csv",  # Flask adds "; charset=utf-8"
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

# (hit, section) → the link written in the 链接 column (the web layer passes its document URL).
Linker = Callable[[Hit, SectionHit], str]


def rows(engine: SearchEngine, req: SearchRequest, link: Linker, limit: int = MAX_ROWS) -> Iterator[list[Any]]:
    """Up to `limit` rows (see COLUMNS) of the search `req` from its first page on; the page in `req` is ignored.

    The first results page is fetched at the page size the reader sees, so that the first rows
    are that page exactly (a document's rank can depend on how many hits are grouped); the rest
    comes in pages of MAX_PER_PAGE, each document once.
    """
    seen: set[str] = set()
    count = 0
    requests = [replace(req, page=1)] + [replace(req, page=p, per_page=MAX_PER_PAGE) for p in range(1, MAX_PAGE + 1)]
    for current in requests:
        result = engine.search(current)
        for hit in result.hits:
            if hit.doc_id in seen:
                continue
            seen.add(hit.doc_id)
            for section in hit.sections:
                if count >= limit:
                    return
                count += 1
                yield [
                    len(seen),
                    hit.title,
                    hit.year or "",
                    hit.date or "",
                    hit.doc_kind or "",
                    hit.source or "",
                    section.heading,
                    section.kind,
                    section.snippet.text.strip(),
                    link(hit, section),
                ]
        if current.per_page == MAX_PER_PAGE and len(result.hits) < MAX_PER_PAGE:
            return


def csv_chunks(table: Iterator[list[Any]]) -> Iterator[bytes]:
    """CSV in UTF-8 with a byte-order mark (so that Excel reads the Chinese), the header first, row by row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    for row in table:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        yield buffer.getvalue().encode("utf-8")


def xlsx_bytes(table: Iterator[list[Any]]) -> bytes:
    """An .xlsx workbook (one sheet, header row frozen) written row by row in openpyxl's write-only mode."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("检索结果")
    sheet.freeze_panes = "A2"
    sheet.append(list(COLUMNS))
    for row in table:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
