"""Citations of one section in the conventional Chinese form: 《标题》，来源，日期，章节."""

from __future__ import annotations

from typing import Any

from search_app.engine import SearchEngine
from speechindex.records import DocumentRecord, SectionRecord


def split_section_id(section_id: str) -> tuple[str, int] | None:
    """(doc_id, section number) of an id like "3f2a…-12", or None when it has no such form."""
    doc_id, sep, number = section_id.rpartition("-")
    if not sep or not doc_id or not number.isdecimal() or len(number) > 6:
        return None
    return doc_id, int(number)


def citation(record: DocumentRecord, section: SectionRecord | None) -> str:
    """《标题》，来源，日期，章节 — parts that are unknown are left out."""
    parts = [f"《{record.title or '无标题'}》"]
    if record.source:
        parts.append(record.source)
    date = record.date or (f"{record.year}年" if record.year else "")
    if date:
        parts.append(date)
    heading = section.heading.strip() if section else ""
    if heading:
        parts.append(heading)
    return "，".join(parts)


def cite(engine: SearchEngine, section_id: str) -> dict[str, Any] | None:
    """{"text": citation, "passage": the section's text, "doc_id", "section_id"}; None for an unknown section."""
    parsed = split_section_id(section_id)
    if parsed is None:
        return None
    doc_id, number = parsed
    record = engine.record(doc_id)
    if record is None or number >= len(record.sections):
        return None
    section = record.sections[number]
    passage = record.section_text(number).strip()
    return {"text": citation(record, section), "passage": passage, "doc_id": doc_id, "section_id": section_id}
