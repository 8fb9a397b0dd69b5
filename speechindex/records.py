"""The records the write side stores and the read side reads, as typed dataclasses.

Two records cross the line between `indexer` and `search_app`:

- `SectionPayload`: what each section of the tantivy index stores for display (the JSON bytes
  of the `payload` field): built by `indexer.prepare.analyse_document`, read by the engine for
  every hit, by 查出处 and by similar texts.
- `DocumentRecord`: a document in the document store (`documents.sqlite`): metadata, the whole
  cleaned text and its sections with offsets. Built by `indexer.prepare.document_record`, read
  by the engine's document page, citations and similar texts. The text is stored once: a
  section's own text is cut from it again on reading (`restore_sections`).

`to_json` gives the dict that is stored (the keys on disk are the field names); `from_json`
reads one back, ignoring keys it does not know and filling defaults for optional ones.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any, Self


def _known(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    """The items of `data` that name a field of the dataclass `cls`."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _json(record: _Stored) -> str:
    """`json.dumps(record.to_json())` without asdict's deep copy (a tenth of an indexing worker's time)."""
    return json.dumps(record, ensure_ascii=False, default=_fields)


def _fields(value: object) -> dict[str, Any]:
    """A nested record as the dict of its fields, in their order (what `asdict` gives).

    A section of a stored document leaves out what the document already holds: its text
    (`DocumentRecord.text[start:end]`) and its topic evidence (the document's is stored).
    """
    if isinstance(value, SectionRecord):
        return {k: v for k, v in vars(value).items() if k not in _SECTION_DERIVED}
    if is_dataclass(value) and not isinstance(value, type):
        return vars(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_SECTION_DERIVED = ("text", "topic_evidence")


def restore_sections(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored document record with each section's text cut from the document's text again (in place)."""
    text = stored.get("text", "")
    for section in stored.get("sections", []):
        if "text" not in section:  # records stored before the text was stored once carry it
            section["text"] = text[section.get("start", 0) : section.get("end", 0)]
    return stored


@dataclass
class _Stored:
    """A record stored as a JSON object whose keys are the field names."""

    def to_json(self) -> dict[str, Any]:
        """The stored JSON object."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """A record read back from its stored JSON object."""
        return cls(**_known(cls, data))


@dataclass
class SectionPayload(_Stored):
    """A section's stored display payload: the section itself and its document's metadata."""

    title: str
    heading: str
    text: str
    kind: str
    level: int = 1
    path: list[str] = field(default_factory=list)
    url: str | None = None
    topics: list[str] = field(default_factory=list)
    start: int = 0  # offsets of the section in its document's text
    end: int = 0
    year: int | None = None
    date: str | None = None
    doc_kind: str | None = None
    source: str | None = None
    source_file: str = ""

    def to_bytes(self) -> bytes:
        """The stored value of the index's payload field."""
        return _json(self).encode("utf-8")


@dataclass
class SectionRecord(_Stored):
    """One section of a document: `DocumentRecord.text[start:end] == text` (the write side's `Section`).

    Sections are flat and non-overlapping, in document order: a level-1 section holds
    only the text before its first sub-section. `path` lists the headings of the
    enclosing sections, outermost first, so the outline can be rebuilt.
    """

    heading: str
    level: int
    kind: str
    text: str
    start: int
    end: int
    topics: list[str] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    url: str | None = None  # the section's original page (http/https), when the source links it
    topic_evidence: dict[str, dict[str, Any]] = field(default_factory=dict)  # why: see indexer.topics


@dataclass
class DocumentRecord(_Stored):
    """A document as the document store keeps it."""

    doc_id: str
    title: str
    year: int | None
    date: str | None
    doc_kind: str
    source: str | None
    source_file: str
    text: str
    sections: list[SectionRecord]
    dates: list[str] = field(default_factory=list)  # a law's header dates; `date` is its latest version's
    url: str | None = None
    topics: list[str] = field(default_factory=list)  # the document's main topics, strongest first
    topic_evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def dumps(self) -> str:
        """The stored JSON text (`speechindex.docstore.DocStore.put_document`)."""
        return _json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """A record read back from its stored JSON object (`DocStore.get`), its sections typed too."""
        known = _known(cls, restore_sections(data))
        known["sections"] = [SectionRecord.from_json(s) for s in data.get("sections", [])]
        return cls(**known)

    def section_text(self, number: int) -> str:
        """The text of section `number`, cut from the document's text."""
        section = self.sections[number]
        return self.text[section.start : section.end]
