"""The document-level store: one SQLite file per index generation.

It keeps, per document, what the document page needs (metadata, full cleaned text,
outline with offsets), and per corpus file its content hash, which an incremental
reindex compares to decide what to re-read.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from speechindex.records import restore_sections


class StoredDocument(Protocol):
    """What the store reads from a document besides its JSON record (the write side's `DocMeta`)."""

    @property
    def doc_id(self) -> str: ...

    @property
    def year(self) -> int | None: ...

    @property
    def doc_kind(self) -> str: ...

    @property
    def source(self) -> str | None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    doc_num INTEGER NOT NULL,
    file_key TEXT NOT NULL,
    year INTEGER,
    doc_kind TEXT,
    source TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_file ON documents(file_key);
CREATE TABLE IF NOT EXISTS files (
    file_key TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    documents INTEGER NOT NULL,
    errors TEXT NOT NULL
);
-- Suggestion vocabulary: each document's candidate terms (zlib, newline-joined), and their counts.
CREATE TABLE IF NOT EXISTS doc_terms (
    doc_id TEXT PRIMARY KEY,
    terms BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS suggest (
    text TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
);
-- Documents per suggestion term, kept up to date by each reindex (the suggest table is filtered from it).
CREATE TABLE IF NOT EXISTS term_counts (
    term TEXT PRIMARY KEY,
    docs INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class FileState:
    """What the last build saw of one corpus file."""

    file_key: str
    sha256: str
    size: int
    mtime_ns: int
    documents: int
    errors: list[dict[str, str]]  # {"file", "reason"} of what could not be read


class DocStore:
    """Read/write access to documents.sqlite of one generation."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.db = sqlite3.connect(path)
            self.db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    def put_document(self, doc: StoredDocument, doc_num: int, file_key: str, record: str) -> None:
        """Insert or replace one document and its JSON record (`indexer.prepare.document_record`)."""
        self.db.execute(
            "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?)",
            (doc.doc_id, doc_num, file_key, doc.year, doc.doc_kind, doc.source, record),
        )

    def put_file(self, state: FileState) -> None:
        """Record the hash and outcome of one corpus file."""
        self.db.execute(
            "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?)",
            (state.file_key, state.sha256, state.size, state.mtime_ns, state.documents, json.dumps(state.errors, ensure_ascii=False)),
        )

    def delete_file(self, file_key: str) -> None:
        """Forget a corpus file and its documents."""
        self.db.execute("DELETE FROM doc_terms WHERE doc_id IN (SELECT doc_id FROM documents WHERE file_key = ?)", (file_key,))
        self.db.execute("DELETE FROM documents WHERE file_key = ?", (file_key,))
        self.db.execute("DELETE FROM files WHERE file_key = ?", (file_key,))

    def put_terms(self, doc_id: str, packed: bytes) -> None:
        """Record one document's suggestion terms, as `pack_terms` made them (see `indexer.vocabulary`)."""
        self.db.execute("INSERT OR REPLACE INTO doc_terms VALUES (?,?)", (doc_id, packed))

    def iter_terms(self) -> Iterator[list[str]]:
        """Every document's suggestion terms."""
        yield from _terms_lists(self.db.execute("SELECT terms FROM doc_terms"))

    def file_terms(self, file_key: str) -> Iterator[list[str]]:
        """The suggestion terms of each document of one corpus file."""
        yield from _terms_lists(
            self.db.execute("SELECT terms FROM doc_terms WHERE doc_id IN (SELECT doc_id FROM documents WHERE file_key = ?)", (file_key,))
        )

    def ensure_term_counts(self) -> None:
        """Count every term's documents from the stored sets if a store made before the counts were kept lacks them."""
        if self.db.execute("SELECT 1 FROM term_counts LIMIT 1").fetchone() is None:
            counts: Counter[str] = Counter()
            for terms in self.iter_terms():
                counts.update(terms)
            self.add_term_counts(counts)

    def add_term_counts(self, delta: Mapping[str, int]) -> None:
        """Add (or, negative, subtract) documents to terms' counts; a term used by no document goes."""
        changes = [(term, n) for term, n in delta.items() if n]
        self.db.executemany(
            "INSERT INTO term_counts VALUES (?,?) ON CONFLICT(term) DO UPDATE SET docs = docs + excluded.docs", changes
        )
        self.db.executemany("DELETE FROM term_counts WHERE term = ? AND docs <= 0", [(t,) for t, n in changes if n < 0])

    def term_counts(self) -> dict[str, int]:
        """Documents per suggestion term."""
        return dict(self.db.execute("SELECT term, docs FROM term_counts"))

    def put_suggestions(self, rows: list[tuple[str, int]]) -> None:
        """Make the suggestion table hold exactly these (text, documents) rows, writing only what differs."""
        new = dict(rows)
        old = dict(self.db.execute("SELECT text, docs FROM suggest"))
        self.db.executemany("DELETE FROM suggest WHERE text = ?", [(t,) for t in old.keys() - new.keys()])
        self.db.executemany("INSERT OR REPLACE INTO suggest VALUES (?,?)", [(t, n) for t, n in new.items() if old.get(t) != n])

    def suggestions(self) -> list[tuple[str, int]]:
        """(text, documents) of the whole vocabulary, most used first; empty for an index built before it existed."""
        try:
            return self.db.execute("SELECT text, docs FROM suggest ORDER BY docs DESC, text").fetchall()
        except sqlite3.OperationalError:
            return []

    def commit(self) -> None:
        """Make the writes durable."""
        self.db.commit()

    def files(self) -> dict[str, FileState]:
        """Every corpus file of the last build, by file key."""
        rows = self.db.execute("SELECT file_key, sha256, size, mtime_ns, documents, errors FROM files")
        return {r[0]: FileState(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows}

    def max_doc_num(self) -> int:
        """The highest document ordinal in use (new documents continue after it)."""
        return self.db.execute("SELECT COALESCE(MAX(doc_num), 0) FROM documents").fetchone()[0]

    def get(self, doc_id: str) -> dict[str, Any] | None:
        """The record of one document (metadata, text, sections with their texts), or None."""
        row = self.db.execute("SELECT record FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return restore_sections(json.loads(row[0])) if row else None

    def count(self) -> int:
        """Number of documents."""
        return self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]

    def iter_metadata(self) -> Iterator[tuple[str, int | None, str, str | None]]:
        """(doc_id, year, doc_kind, source) of every document, for statistics."""
        yield from self.db.execute("SELECT doc_id, year, doc_kind, source FROM documents")


def pack_terms(terms: list[str]) -> bytes:
    """The stored form of a document's suggestion terms (made in the indexing workers).

    zlib's fastest level: a third of the default level's time, for sets a tenth larger.
    """
    return zlib.compress("\n".join(terms).encode("utf-8"), 1)


def _terms_lists(rows: Iterable[tuple[bytes]]) -> Iterator[list[str]]:
    """Decode stored suggestion-term sets (zlib, newline-joined)."""
    for (blob,) in rows:
        text = zlib.decompress(blob).decode("utf-8")
        yield text.split("\n") if text else []
