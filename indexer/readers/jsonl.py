"""JSON Lines collections: one document per line, `{"title", "content" | "text", ...}`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from indexer.models import RawDocument
from indexer.readers.dates import record_year_date
from indexer.readers.text import decode_bytes, read_bytes
from speechindex.errors import CorpusError

TEXT_FIELDS = ("content", "text")


def read(path: Path, rel: str) -> tuple[list[RawDocument], list[CorpusError]]:
    """Read every line of a .jsonl file; a bad line becomes an error, the others documents.

    Blank lines are skipped. `source_file` is "<rel>#<line number>". Known keys: `title`,
    `content` or `text`, `year`, `date`, `url`, `source`; other keys (e.g. `congress`,
    `type`) are ignored. Raises CorpusError only for file-level failures.
    """
    data = read_bytes(path, rel)
    if not data:
        raise CorpusError(rel, "empty file")
    # Split on \n only: str.splitlines() would also split at U+2028 inside JSON strings.
    lines = decode_bytes(data, rel).split("\n")
    documents: list[RawDocument] = []
    errors: list[CorpusError] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record_path = f"{rel}#{number}"
        try:
            documents.append(_record(json.loads(line), record_path, number))
        except CorpusError as error:
            errors.append(error)
        except json.JSONDecodeError as error:
            errors.append(CorpusError(record_path, f"line {number}: invalid JSON ({error.msg})"))
        except RecursionError:
            reason = f"line {number}: invalid JSON (nested too deeply)"
            errors.append(CorpusError(record_path, reason))
    if not documents and not errors:
        raise CorpusError(rel, "no records (only blank lines)")
    return documents, errors


def _record(record: Any, record_path: str, number: int) -> RawDocument:
    """One JSON value as a RawDocument; raises CorpusError naming the line."""
    if not isinstance(record, dict):
        raise CorpusError(
            record_path, f"line {number}: not a JSON object (got {type(record).__name__})"
        )
    fields = {key: record[key] for key in TEXT_FIELDS if record.get(key) is not None}
    if not fields:
        raise CorpusError(record_path, f"line {number}: no 'content' or 'text' field")
    for key, value in fields.items():
        if not isinstance(value, str):
            raise CorpusError(record_path, f"line {number}: field '{key}' is not a string")
    # When a record has both fields, the first non-blank one wins.
    text = next((value for value in fields.values() if value.strip()), None)
    if text is None:
        raise CorpusError(record_path, f"line {number}: empty text")

    year, date, warnings = record_year_date(record.get("year"), record.get("date"))
    return RawDocument(
        text=text.replace("\r\n", "\n").replace("\r", "\n"),
        source_file=record_path,
        fmt="jsonl",
        title=_string(record.get("title")),
        year=year,
        date=date,
        url=_string(record.get("url")),
        source=_string(record.get("source")),
        warnings=warnings,
    )


def _string(value: Any) -> str | None:
    """A stripped non-empty string (numbers are converted), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None
