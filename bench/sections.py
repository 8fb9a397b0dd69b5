"""The section units every engine indexes: this project's own parse, keyed stably.

All three engines index identical section texts: the files found by `indexer.build.scan`,
read by `indexer.readers.read_file` and parsed by `indexer.pipeline.parse_raw`, exactly as
`indexer.prepare.prepare_file` does. A section's stable key is its document's
``source_file`` plus its ordinal (``government_work_reports.jsonl#5::12``), so relevance
judgments survive reindexing (the project's own section ids are hashes of the same thing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from indexer.build import scan
from indexer.pipeline import parse_raw
from indexer.readers import read_file


@dataclass(slots=True)
class SectionRec:
    """One section with its document's fields."""

    key: str
    doc_key: str
    title: str
    heading: str
    text: str
    year: int | None
    doc_kind: str
    topics: list[str]


def section_key(source_file: str, ordinal: int) -> str:
    """The stable judgment key of a section."""
    return f"{source_file}::{ordinal}"


def corpus_files(corpora: list[Path]) -> list[tuple[str, str, str, int]]:
    """(root, path, corpus name, size) of every file the project would index."""
    files, _ = scan([Path(c) for c in corpora])
    return [(str(f.root), str(f.path), f.corpus_name, f.size) for f in files]


def parse_file(task: tuple[str, str, str, int]) -> list[SectionRec]:
    """Read and parse one corpus file into section records (no analysis)."""
    root, path, name, _ = task
    out: list[SectionRec] = []
    read = read_file(Path(path), Path(root))
    for raw in read.documents:
        try:
            doc = parse_raw(raw, name)
        except Exception:  # noqa: BLE001 - same policy as the indexer: skip the bad document
            continue
        for n, sec in enumerate(doc.sections):
            out.append(
                SectionRec(
                    key=section_key(doc.source_file, n),
                    doc_key=doc.source_file,
                    title=doc.title,
                    heading=sec.heading,
                    text=sec.text,
                    year=doc.year,
                    doc_kind=doc.doc_kind,
                    topics=list(sec.topics),
                )
            )
    return out


def load_sections(corpora: list[Path]) -> list[SectionRec]:
    """All section records of the corpora, in scan order."""
    out: list[SectionRec] = []
    for task in corpus_files(corpora):
        out.extend(parse_file(task))
    return out


def raw_bytes(corpora: list[Path]) -> int:
    """Total size of the corpus files (the MB in MB/s)."""
    return sum(t[3] for t in corpus_files(corpora))


def hit_key(source_file: str, section_id: str) -> str:
    """The stable key of a section of a `SearchEngine.search` hit, from its file and id (``doc_id-N``)."""
    return section_key(source_file, int(section_id.rsplit("-", 1)[1]))
