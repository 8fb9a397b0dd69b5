"""Typed records that flow through the write path: reader output, parsed documents, sections."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from speechindex.records import SectionRecord


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


# A section of a parsed document is the record the document store keeps: one class, no copy.
Section = SectionRecord


@dataclass
class Document:
    """A cleaned, structured document, ready to be analysed and indexed."""

    doc_id: str
    title: str
    year: int | None
    date: str | None
    doc_kind: str
    source: str | None
    source_file: str
    text: str
    sections: list[Section]
    url: str | None = None
    warnings: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)  # a law's header dates; `date` is its latest version's

    @property
    def topics(self) -> list[str]:
        """The document's main topics, strongest first (a few, not the union of its sections')."""
        from indexer.topics import document_topics  # indexer.topics imports this module

        return document_topics(self.sections)

    def to_json(self) -> dict[str, Any]:
        """The JSON shape printed by `python -m indexer parse`."""
        from indexer.topics import document_evidence

        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "year": self.year,
            "date": self.date,
            "dates": list(self.dates),
            "doc_kind": self.doc_kind,
            "source": self.source,
            "source_file": self.source_file,
            "url": self.url,
            "topics": self.topics,
            "topic_evidence": document_evidence(self.sections),
            "sections": [
                {k: v for k, v in asdict(s).items()} for s in self.sections
            ],
            "warnings": list(self.warnings),
        }
