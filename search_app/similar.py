"""Similar documents: the documents that share passages with one document, and the passages.

Not topical similarity: two documents are similar here when they share text. The
document's kept shingles (speechindex.dedup) query the index's `shingles` field; the other
documents' sections are scored by how many they share; the best documents' sections are
then compared exactly with this document's sections (search_app.passage.CompactText) to
cut out the shared passages.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Protocol

import numpy as np
import tantivy

from search_app.highlight import merge_spans
from search_app.passage import CompactText, shingle_query
from search_app.results import DocumentView, Fragment
from speechindex import schema as S
from speechindex.docstore import DocStore
from speechindex.records import DocumentRecord, SectionPayload, SectionRecord

MAX_TERMS = 2000  # kept shingles of a long document are thinned to this many for the lookup
CANDIDATE_SECTIONS = 300
MAX_SIMILAR = 10
MIN_SHARED_TERMS = 3
MIN_PASSAGE = 30  # characters of a shared passage worth listing (set phrases are shorter)
MAX_PASSAGES = 5  # per similar document
MAX_PASSAGE_TEXT = 300
MAX_OWNERS = 8  # a kept shingle in more of our sections is boilerplate, not a sign of a shared passage
MAX_PAIRS = 3  # our sections compared with one section of the other document


class _Generation(Protocol):
    index: tantivy.Index
    schema: tantivy.Schema
    store: DocStore
    store_lock: threading.Lock


def _thin(hashes: np.ndarray, limit: int) -> np.ndarray:
    """A content-chosen subset of at most about `limit` hashes (the same shingles for every document)."""
    step = 1
    while len(hashes) // step > limit:
        step *= 2
    return hashes[(hashes >> np.uint64(8)) % np.uint64(step) == 0] if step > 1 else hashes


def similar_documents(gen: _Generation, doc_id: str) -> dict[str, Any] | None:
    """`{"doc_id", "similar": [{"doc_id", "title", "year", "score", "shared": [...]}]}`; None if unknown."""
    with gen.store_lock:
        stored = gen.store.get(doc_id)
    if stored is None:
        return None
    record = DocumentRecord.from_json(stored)
    ours = [CompactText(record.section_text(n)) for n in range(len(record.sections))]
    kept = np.unique(np.concatenate([c.kept for c in ours])) if ours else np.zeros(0, dtype=np.uint64)
    owners: dict[int, list[int]] = {}
    for n, section in enumerate(ours):
        for h in section.kept.tolist():
            owners.setdefault(h, []).append(n)
    terms = _thin(kept, MAX_TERMS)
    result: dict[str, Any] = {"doc_id": doc_id, "similar": []}
    if not len(terms):
        return result
    searcher = gen.index.searcher()
    query = tantivy.Query.boolean_query(
        [
            (tantivy.Occur.Must, shingle_query(gen.schema, terms)),
            (tantivy.Occur.MustNot, tantivy.Query.term_query(gen.schema, S.F_DOC_ID, doc_id)),
        ]
    )
    hits = searcher.search(query, CANDIDATE_SECTIONS).hits
    if not hits:
        return result
    nums = S.fast_ints(searcher, S.F_DOC_NUM, [a for _, a in hits])
    shared_terms: dict[int, float] = {}
    sections: dict[int, list[tantivy.DocAddress]] = {}
    for num, (score, addr) in zip(nums, hits):
        shared_terms[num] = shared_terms.get(num, 0.0) + score
        sections.setdefault(num, []).append(addr)
    best = sorted((n for n, s in shared_terms.items() if s >= MIN_SHARED_TERMS), key=lambda n: -shared_terms[n])
    for num in best[:MAX_SIMILAR]:
        entry = _compare(searcher, sections[num], ours, record.sections, doc_id, owners)
        if entry is None:
            continue
        entry["score"] = round(min(1.0, shared_terms[num] / len(terms)), 3)
        result["similar"].append(entry)
    return result


def _compare(
    searcher: tantivy.Searcher,
    addrs: list[tantivy.DocAddress],
    ours: list[CompactText],
    our_sections: list[SectionRecord],
    doc_id: str,
    owners: dict[int, list[int]],
) -> dict[str, Any] | None:
    """One similar document: its metadata and the passages its sections share with ours.

    `owners` maps a kept shingle hash to our sections that have it: only those are compared.
    """
    shared: list[dict[str, Any]] = []
    meta: SectionPayload | None = None
    other_id = ""
    for addr in addrs:
        stored = searcher.doc(addr)
        payload = SectionPayload.from_json(S.stored_payload(stored))
        other_id = S.stored_text(stored, S.F_DOC_ID)
        meta = meta or payload
        other = CompactText(payload.text)
        # Our sections sharing 2+ kept shingles with it, those of phrases common to many of our
        # sections (a law's 人民检察院…) left out, best first.
        counts = Counter(n for h in other.kept.tolist() for n in owners.get(h, ()) if len(owners[h]) <= MAX_OWNERS)
        for n, _ in [c for c in counts.most_common(MAX_PAIRS) if c[1] >= 2]:
            mine = ours[n]
            for start, end in mine.spans(mine.covered(other)):
                if end - start < MIN_PASSAGE:
                    continue
                passage = mine.original[start:end]
                shared.append(
                    {
                        "section_id": f"{doc_id}-{n}",
                        "other_section_id": S.stored_text(stored, S.F_SECTION_ID),
                        "start": our_sections[n].start + start,
                        "end": our_sections[n].start + end,
                        "text": passage if len(passage) <= MAX_PASSAGE_TEXT else passage[:MAX_PASSAGE_TEXT] + "…",
                    }
                )
    if not shared or meta is None:
        return None
    shared.sort(key=lambda p: p["start"] - p["end"])  # longest first
    return {
        "doc_id": other_id,
        "title": meta.title,
        "year": meta.year,
        "date": meta.date,
        "shared_chars": sum(p["end"] - p["start"] for p in shared),
        "shared": shared[:MAX_PASSAGES],
        "spans": [(p["start"], p["end"]) for p in shared],
    }


def mark_shared(view: DocumentView, spans: list[tuple[int, int]]) -> int:
    """Mark the shared spans (document offsets) in the page's sections instead of the query's matches.

    Returns the number of sections marked.
    """
    merged = merge_spans([(int(a), int(b)) for a, b in spans])
    marked = 0
    for section in view.sections:
        # The section's own text: a page of a long document holds only its sections' text.
        fragment = Fragment.cut(section.text, [(a - section.start, b - section.start) for a, b in merged])
        if fragment.marks:
            section.fragment = fragment
            marked += 1
    return marked
