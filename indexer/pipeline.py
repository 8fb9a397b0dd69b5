"""One raw document in, one cleaned, structured, topic-tagged `Document` out."""

from __future__ import annotations

import functools
import hashlib
import tomllib
from dataclasses import replace
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from indexer.clean import clean_text
from indexer.metadata import extract_metadata
from indexer.models import Document, RawDocument, Section
from indexer.structure import split_sections
from indexer.topics import assign_topics, document_evidence, document_topics
from speechindex.errors import CorpusError


def make_doc_id(corpus_name: str, source_file: str) -> str:
    """A stable id: the same file (or record) under the same corpus keeps its id across reindexes."""
    return hashlib.sha1(f"{corpus_name}/{source_file}".encode()).hexdigest()[:16]


SOURCES_PATH = Path(__file__).parent / "data" / "sources.toml"


@functools.lru_cache(maxsize=4)
def _source_names(path: str) -> dict[str, str]:
    with open(path, "rb") as fh:
        return tomllib.load(fh).get("names", {})


def fallback_source(raw: RawDocument, corpus_name: str) -> str:
    """The collection a document came from when no site was detected (see indexer/data/sources.toml).

    The display name of its file, folders or corpus folder, else its URL's host, else its
    top folder or the corpus folder's name.
    """
    names = _source_names(str(SOURCES_PATH))
    path = PurePosixPath(raw.source_file.split("#", 1)[0])
    for name in (path.stem, *path.parts[:-1], corpus_name):
        if name in names:
            return names[name]
    if raw.url:
        host = urlparse(raw.url).hostname
        if host:
            return host
    return path.parts[0] if len(path.parts) > 1 else corpus_name


MAX_SECTION_CHARS = 20_000


def split_long_sections(sections: list[Section], text: str) -> list[Section]:
    """Cut sections longer than MAX_SECTION_CHARS at paragraph (or sentence) ends.

    A headingless 50 MB file would otherwise be one section: useless as a search hit, and
    costly to highlight. The pieces keep the heading, level, kind and path of the section.
    """
    out: list[Section] = []
    for section in sections:
        start = section.start
        while section.end - start > MAX_SECTION_CHARS:
            limit = start + MAX_SECTION_CHARS
            cut = max(text.rfind("\n", start + MAX_SECTION_CHARS // 2, limit), text.rfind("。", start + MAX_SECTION_CHARS // 2, limit) + 1)
            if cut <= start:
                cut = limit
            out.append(replace(section, start=start, end=cut, text=text[start:cut]))
            start = cut
        out.append(replace(section, start=start, text=text[start : section.end]) if start != section.start else section)
    return out


def parse_raw(raw: RawDocument, corpus_name: str) -> Document:
    """Clean, extract metadata and structure, and tag topics.

    Raises CorpusError when cleaning leaves no text (everything matched a chrome pattern).
    """
    cleaned = clean_text(raw.text, raw.fmt)
    if not cleaned.text.strip():
        removed = ", ".join(cleaned.removed) or "whitespace only"
        raise CorpusError(raw.source_file, f"no text left after removing page chrome ({removed})")
    meta = extract_metadata(raw, cleaned)
    sections = split_long_sections(split_sections(cleaned.text, raw.fmt, meta.doc_kind, raw.outline), cleaned.text)
    assign_topics(sections)
    return Document(
        doc_id=make_doc_id(corpus_name, raw.source_file),
        title=meta.title,
        year=meta.year,
        date=meta.date,
        dates=meta.dates,
        doc_kind=meta.doc_kind,
        source=meta.source or fallback_source(raw, corpus_name),
        source_file=raw.source_file,
        text=cleaned.text,
        sections=sections,
        url=raw.url,
        topics=document_topics(sections),
        topic_evidence=document_evidence(sections),
        warnings=[*raw.warnings, *meta.warnings],
    )
