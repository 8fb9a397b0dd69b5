"""查出处: the sections that contain a pasted passage or a close variant of it.

Candidates come from the index's `shingles` field (the content-chosen eighth of the
5-character shingles, see speechindex.dedup): every kept shingle of the passage is a constant-
score clause, so a section's score is the number of kept shingles it shares. The best
candidates are then compared exactly, on all their shingles: a passage character is
covered when a shingle around it occurs in the section, and only shared stretches of
MIN_RUN characters or more count, so set phrases (全面贯彻党的教育方针) alone do not make
a match. Edited words, changed names and numbers break a stretch; the rest still covers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import tantivy

from search_app.highlight import merge_spans
from search_app.results import Fragment, PassageMatch, PassageResult
from speechindex import dedup
from speechindex import schema as S
from speechindex.analysis import Normalized, get_analyzer
from speechindex.errors import QueryError
from speechindex.records import SectionPayload

MAX_PASSAGE_CHARS = 5000
MIN_PASSAGE_CHARS = 20  # compact characters: shorter text is a query, not a passage
CANDIDATES = 80  # sections compared exactly (a law's short articles take several)
MAX_SECTIONS_SHOWN = 4  # snippets of one document's matching sections
MIN_SHARED_KEPT = 0.05  # share of the passage's kept shingles a candidate section must have
MAX_GAP = 8  # sections between two matched ones of a document that are compared as well
MAX_MATCHES = 20
MIN_RUN = 8  # shared compact characters that count as a stretch
MIN_COVERAGE = 0.1
SNIPPET_MARGIN = 40
MAX_SNIPPET = 1200


@dataclass
class CompactText:
    """A text's compact form (speechindex.dedup.compact) with a map back to the original characters."""

    original: str

    @cached_property
    def _norm(self) -> Normalized:
        return get_analyzer().normalize(self.original)

    @cached_property
    def compact(self) -> str:
        """Normalised letters and digits only."""
        return dedup.compact(self._norm.text)

    @cached_property
    def _offsets(self) -> np.ndarray:
        # Only a section that shares text needs the map back to its characters (slower to build).
        return dedup.compact_with_offsets(self._norm.text)[1]

    @cached_property
    def hashes(self) -> np.ndarray:
        """Every shingle hash, by start position in the compact text."""
        return dedup.shingle_hashes(self.compact)

    @cached_property
    def kept(self) -> np.ndarray:
        """The distinct indexed (kept) shingle hashes."""
        return np.unique(dedup.sampled(self.hashes))

    @cached_property
    def distinct(self) -> np.ndarray:
        """Every shingle hash once, sorted (for membership tests)."""
        return np.unique(self.hashes)

    def covered(self, other: CompactText) -> np.ndarray:
        """Per compact character: inside a stretch of MIN_RUN+ characters whose shingles `other` has too."""
        n = len(self.compact)
        if not len(self.hashes) or not len(other.distinct):
            return np.zeros(n, dtype=bool)
        at = np.minimum(np.searchsorted(other.distinct, self.hashes), len(other.distinct) - 1)
        shared = (other.distinct[at] == self.hashes).astype(np.int32)
        mask = np.convolve(shared, np.ones(dedup.SHINGLE, dtype=np.int32))[:n] > 0
        return _drop_short_runs(mask, MIN_RUN)

    def spans(self, mask: np.ndarray) -> list[tuple[int, int]]:
        """[start, end) spans of the original text for the runs of a compact-character mask."""
        norm, offsets = self._norm, self._offsets
        out = []
        for a, b in _runs(mask):
            start, _ = norm.span(int(offsets[a]), int(offsets[a]) + 1)
            _, end = norm.span(int(offsets[b - 1]), int(offsets[b - 1]) + 1)
            out.append((start, end))
        return merge_spans(out)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    if not len(mask):
        return []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _drop_short_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    out = np.zeros_like(mask)
    for a, b in _runs(mask):
        if b - a >= min_len:
            out[a:b] = True
    return out


def shingle_query(schema: tantivy.Schema, hashes: np.ndarray) -> tantivy.Query:
    """Sections scored by how many of these kept shingle hashes they contain."""
    clauses = [
        (tantivy.Occur.Should, tantivy.Query.const_score_query(tantivy.Query.term_query(schema, S.F_SHINGLES, str(h)), 1.0))
        for h in hashes.tolist()
    ]
    return tantivy.Query.boolean_query(clauses)


def marked_snippet(text: str, spans: list[tuple[int, int]]) -> Fragment:
    """The part of `text` around the spans, with the spans marked; cuts shown as "…"."""
    if not spans:
        return Fragment(text[:MAX_SNIPPET])
    start = max(0, spans[0][0] - SNIPPET_MARGIN)
    end = min(len(text), max(spans[-1][1] + SNIPPET_MARGIN, start + 1), start + MAX_SNIPPET)
    return Fragment.join([Fragment("…" if start > 0 else ""), Fragment.cut(text, spans, start, end), Fragment("…" if end < len(text) else "")])


@dataclass
class _Shared:
    """A stored section that shares a stretch with the passage."""

    number: int  # the section's number in its document
    mask: np.ndarray  # the passage's compact characters it covers
    section_id: str
    payload: SectionPayload
    snippet: Fragment


def _compare(stored: tantivy.Document, passage: CompactText, per_doc: dict[str, list[_Shared]]) -> None:
    """Compare one stored section with the passage; a section that shares a stretch joins its document's list."""
    payload = SectionPayload.from_json(S.stored_payload(stored))
    section = CompactText(payload.text)
    mask = passage.covered(section)
    if not mask.any():
        return
    section_id = S.stored_text(stored, S.F_SECTION_ID)
    snippet = marked_snippet(payload.text, section.spans(section.covered(passage)))
    number = int(section_id.rsplit("-", 1)[1])
    per_doc.setdefault(S.stored_text(stored, S.F_DOC_ID), []).append(_Shared(number, mask, section_id, payload, snippet))


def validate_passage(text: str) -> None:
    """QueryError (→ HTTP 400) for an empty or too long passage."""
    if len(text) > MAX_PASSAGE_CHARS:
        raise QueryError(f"段落过长：最多 {MAX_PASSAGE_CHARS} 个字符（当前 {len(text)}）")
    if not text.strip():
        raise QueryError("请粘贴一段文字")


def find_passage(index: tantivy.Index, text: str) -> PassageResult:
    """The sections that contain `text` or a close variant, by coverage of the passage (best first)."""
    started = time.perf_counter()
    validate_passage(text)
    passage = CompactText(text)
    warnings: list[str] = []
    matches: list[PassageMatch] = []
    if len(passage.compact) < MIN_PASSAGE_CHARS or not len(passage.kept):
        warnings.append(f"段落太短：请粘贴至少 {MIN_PASSAGE_CHARS} 个字的一段话（短语请用检索框加引号查找）")
    else:
        searcher = index.searcher()
        hits = searcher.search(shingle_query(index.schema, passage.kept), CANDIDATES).hits
        # A passage may run over several sections of a document (a law's articles): the
        # document's sections together cover it, and the match is the document's.
        per_doc: dict[str, list[_Shared]] = {}
        # A section sharing few of the passage's kept shingles cannot cover a useful part of it.
        least = max(2.0, MIN_SHARED_KEPT * len(passage.kept))
        for score, addr in hits:
            if score < least:
                break
            _compare(searcher.doc(addr), passage, per_doc)
        for doc_id, sections in per_doc.items():
            # The passage is contiguous: short sections between matched ones and next to them
            # (articles too short to share a kept shingle) are compared too.
            numbers = sorted(s.number for s in sections)
            if float(np.logical_or.reduce([s.mask for s in sections]).mean()) < MIN_COVERAGE:
                continue
            around = {numbers[0] - 1, numbers[-1] + 1} - {-1}
            around.update(n for a, b in zip(numbers, numbers[1:]) if b - a <= MAX_GAP for n in range(a + 1, b))
            between = [f"{doc_id}-{n}" for n in sorted(around)]
            if between:
                query = tantivy.Query.term_set_query(index.schema, S.F_SECTION_ID, between)
                for _, addr in searcher.search(query, len(between)).hits:
                    _compare(searcher.doc(addr), passage, per_doc)
            sections.sort(key=lambda s: s.number)
            coverage = float(np.logical_or.reduce([s.mask for s in sections]).mean())
            if coverage < MIN_COVERAGE:
                continue
            first = sections[0]
            matches.append(
                PassageMatch(
                    doc_id=doc_id,
                    title=first.payload.title,
                    year=first.payload.year,
                    date=first.payload.date,
                    section_id=first.section_id,
                    section_ids=[s.section_id for s in sections],
                    heading=first.payload.heading,
                    coverage=round(coverage, 3),
                    snippet=Fragment.join([s.snippet for s in sections[:MAX_SECTIONS_SHOWN]], " "),
                )
            )
        matches.sort(key=lambda m: (-m.coverage, -(m.year or 0), m.section_id))
    return PassageResult(len(text), matches[:MAX_MATCHES], warnings, round((time.perf_counter() - started) * 1000, 1))
