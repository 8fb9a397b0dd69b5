"""The per-file work of a reindex, run in worker processes: read, parse, analyse.

Everything CPU-heavy happens here (decoding, cleaning, structure, topics, jieba), so
that the parent only feeds ready-made field values to tantivy.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from indexer.models import Document
from indexer.pipeline import parse_raw
from indexer.readers import read_file
from indexer.vocabulary import document_terms
from speechindex import dedup
from speechindex.analysis import get_analyzer
from speechindex.docstore import pack_terms
from speechindex.errors import CorpusError
from speechindex.records import SectionPayload
from speechindex.schema import char_field_text


@dataclass
class PreparedSection:
    """Field values of one section, analysed and ready for the index."""

    section_id: str
    heading_terms: str
    body_terms: str
    chars: str  # the `chars` field's value (speechindex.schema.char_field_text)
    kind: str
    topics: list[str]
    payload: bytes
    shingles: str = ""  # kept shingle hashes (speechindex.dedup), space-joined


@dataclass(frozen=True)
class DocMeta:
    """What the writing process needs of a parsed document besides its JSON record.

    Not the `Document` itself: its text and sections would cross the process pipe a second
    time (the record already carries them).
    """

    doc_id: str
    year: int | None
    date: str | None
    doc_kind: str
    source: str | None


@dataclass
class PreparedDoc:
    """A parsed document's metadata and its analysed sections."""

    doc: DocMeta
    title_terms: str
    title_chars: str
    sections: list[PreparedSection]
    signature: dedup.DocSignature | None = None
    dedup_seconds: float = 0.0  # CPU seconds spent on shingles and the signature (reported by reindex)
    topics: list[str] = field(default_factory=list)  # the document's main topics (indexer.topics)
    vocabulary: list[str] = field(default_factory=list)  # suggestion terms (indexer.vocabulary)
    packed_vocabulary: bytes = b""  # the same as the document store keeps them (speechindex.docstore.pack_terms)
    record: str = ""  # the document store's JSON record (`DocumentRecord.dumps`, made here in the worker)


@dataclass
class PreparedFile:
    """Everything one corpus file produced: documents, or the reasons it could not be read."""

    file_key: str
    docs: list[PreparedDoc] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)  # {"file", "reason"}
    notes: list[str] = field(default_factory=list)  # e.g. a long document split into parts


class FileTask(NamedTuple):
    """One file to prepare, or one share of a collection file's records.

    A .jsonl/.csv collection can be prepared as `shares` tasks in parallel: each reads the file
    (cheap next to analysing it) and analyses the `share`-th contiguous run of its documents.
    The file's read errors and notes come with share 0 only.
    """

    root: str
    path: str
    corpus_name: str
    rel: str
    share: int = 0
    shares: int = 1


def file_key(corpus_name: str, relpath: str) -> str:
    """The key an incremental reindex deletes a file's sections by."""
    return f"{corpus_name}/{relpath}"


def sha256_file(path: Path) -> str:
    """Content hash of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def analyse_document(doc: Document) -> PreparedDoc:
    """Analyse a parsed document's title and sections with the shared analyzer."""
    analyzer = get_analyzer()
    sections = []
    analysed = [analyzer.index_fields(section.text) for section in doc.sections]
    headings = [analyzer.index_fields(section.heading) for section in doc.sections]
    # CPU time of this thread: the dedup share of a build, whatever else the machine runs.
    started = time.thread_time()
    kept_hashes = dedup.section_shingles([body.norm for body in analysed])
    shingle_terms = [dedup.shingle_terms(h) for h in kept_hashes]
    dedup_seconds = time.thread_time() - started
    for n, section in enumerate(doc.sections):
        payload = SectionPayload(
            title=doc.title,
            heading=section.heading,
            text=section.text,
            kind=section.kind,
            level=section.level,
            path=section.path,
            url=section.url,
            topics=section.topics,
            start=section.start,
            end=section.end,
            year=doc.year,
            date=doc.date,
            doc_kind=doc.doc_kind,
            source=doc.source,
            source_file=doc.source_file,
        )
        sections.append(
            PreparedSection(
                section_id=f"{doc.doc_id}-{n}",
                heading_terms=headings[n].terms,
                body_terms=analysed[n].terms,
                chars=char_field_text(analysed[n].norm),
                kind=section.kind,
                topics=section.topics,
                payload=payload.to_bytes(),
                shingles=shingle_terms[n],
            )
        )
    title = analyzer.index_fields(doc.title)
    started = time.thread_time()
    signature = dedup.signature(doc.title, kept_hashes)
    dedup_seconds += time.thread_time() - started
    vocabulary = document_terms(
        (title.words, *(h.words for h in headings), *(body.words for body in analysed)),
        doc.title,
        (s.heading for s in doc.sections),
    )
    return PreparedDoc(
        DocMeta(doc.doc_id, doc.year, doc.date, doc.doc_kind, doc.source),
        title.terms, char_field_text(title.norm), sections, signature, dedup_seconds,
        topics=doc.topics, vocabulary=vocabulary, packed_vocabulary=pack_terms(vocabulary), record=doc.dumps(),
    )


def prepare_file(task: FileTask) -> PreparedFile:
    """Worker entry point: a file (or a share of its records) -> analysed documents or errors."""
    result = PreparedFile(file_key(task.corpus_name, task.rel))
    for part in prepare_parts(task):
        result.docs.extend(part.docs)
        result.errors.extend(part.errors)
        result.notes.extend(part.notes)
    return result


def prepare_parts(task: FileTask) -> Iterator[PreparedFile]:
    """`prepare_file` one document at a time: the read errors and notes first, then one PreparedFile per document.

    A large file (hundreds of parts or records) is then never held analysed as a whole.
    """
    root, path, corpus_name, rel, share, shares = task
    key = file_key(corpus_name, rel)
    read = read_file(Path(path), Path(root), rel)
    if share == 0:
        yield PreparedFile(key, errors=[{"file": e.path, "reason": e.reason} for e in read.errors], notes=read.notes)
    documents, read.documents = read.documents, []
    if shares > 1:
        n = len(documents)
        documents = documents[n * share // shares : n * (share + 1) // shares]
    documents.reverse()
    while documents:
        raw = documents.pop()  # dropped once analysed
        part = PreparedFile(key)
        try:
            part.docs.append(analyse_document(parse_raw(raw, corpus_name)))
        except CorpusError as exc:
            part.errors.append({"file": exc.path, "reason": exc.reason})
        except Exception as exc:  # noqa: BLE001 - one bad document must not stop the corpus
            part.errors.append(
                {"file": raw.source_file, "reason": f"could not be parsed ({type(exc).__name__}: {exc})"}
            )
        yield part
