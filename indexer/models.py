"""Typed records that flow through the write path: reader output, parsed documents, sections."""

from __future__ import annotations

from dataclasses import dataclass, field

from speechindex.records import DocumentRecord, SectionRecord


@dataclass
class SourceHeading:
    """A heading the source format marks explicitly (a Markdown '#' line), in document order."""

    level: int  # number of '#' minus one: 0 is the document title
    title: str  # the heading line as it appears in the reader's text
    url: str | None = None  # the section's original page (a "查看原文" link below it)


@dataclass
class RawDocument:
    """What a reader extracts from one file, or from one record of a .jsonl/.csv collection.

    `text` is the document text as found (site chrome and all); the known metadata
    (from a collection's columns or the file's own properties) is carried along so
    that `indexer.metadata` can prefer it over guesses.
    """

    text: str
    source_file: str  # path relative to the corpus root, "#N" (1-based) appended for records
    fmt: str  # txt, md, html, docx, pdf, jsonl, csv
    title: str | None = None
    year: int | None = None
    date: str | None = None  # ISO YYYY-MM-DD (or YYYY-MM, YYYY) when known
    url: str | None = None
    source: str | None = None
    warnings: list[str] = field(default_factory=list)
    outline: list[SourceHeading] = field(default_factory=list)  # Markdown headings, else empty


# A parsed document and its sections are the records the document store keeps: one class each, no copy.
Section = SectionRecord
Document = DocumentRecord
