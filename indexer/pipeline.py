"""One raw document in, one cleaned, structured, topic-tagged `Document` out."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from urllib.parse import urlparse

from indexer.clean import clean_text
from indexer.metadata import extract_metadata
from indexer.models import Document, RawDocument
from indexer.structure import split_sections
from indexer.topics import assign_topics


def make_doc_id(corpus_name: str, source_file: str) -> str:
    """A stable id: the same file (or record) under the same corpus keeps its id across reindexes."""
    return hashlib.sha1(f"{corpus_name}/{source_file}".encode("utf-8")).hexdigest()[:16]


def fallback_source(raw: RawDocument, corpus_name: str) -> str:
    """The collection a document came from when no site was detected: URL host, top folder, or corpus."""
    if raw.url:
        host = urlparse(raw.url).hostname
        if host:
            return host
    parts = PurePosixPath(raw.source_file.split("#", 1)[0]).parts
    return parts[0] if len(parts) > 1 else corpus_name


def parse_raw(raw: RawDocument, corpus_name: str) -> Document:
    """Clean, extract metadata and structure, and tag topics."""
    cleaned = clean_text(raw.text, raw.fmt)
    meta = extract_metadata(raw, cleaned)
    sections = split_sections(cleaned.text, raw.fmt, meta.doc_kind)
    assign_topics(sections)
    return Document(
        doc_id=make_doc_id(corpus_name, raw.source_file),
        title=meta.title,
        year=meta.year,
        date=meta.date,
        doc_kind=meta.doc_kind,
        source=meta.source or fallback_source(raw, corpus_name),
        source_file=raw.source_file,
        text=cleaned.text,
        sections=sections,
        url=raw.url,
        warnings=[*raw.warnings, *meta.warnings],
    )
