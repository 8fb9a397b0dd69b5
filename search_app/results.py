"""What the engine returns: typed results, rendered only at the edges.

The engine finds matches once and returns data: a `Fragment` is plain text plus the
character spans of its matches (as whoosh's highlighter finds fragments once and lets
formatters render them); `search_app.render` turns fragments into HTML or terminal text,
the templates into pages, and `to_json` into the JSON of the API (which keeps the rendered
`snippet_html` next to the `snippet` data for the clients written against it).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from search_app.render import html

Span = tuple[int, int]


@dataclass(frozen=True)
class Fragment:
    """Plain text and its matches: sorted, disjoint, non-adjacent [start, end) character offsets into `text`."""

    text: str
    marks: tuple[Span, ...] = ()

    @classmethod
    def cut(cls, text: str, spans: list[Span], start: int = 0, end: int | None = None) -> Fragment:
        """text[start:end] with the (merged, sorted) spans inside it, clipped to the window."""
        end = len(text) if end is None else end
        inside = tuple((max(a, start) - start, min(b, end) - start) for a, b in spans if a < end and b > start)
        return cls(text[start:end], inside)

    @classmethod
    def join(cls, parts: list[Fragment], sep: str = "") -> Fragment:
        """The parts one after the other with `sep` between them, marks shifted along."""
        text: list[str] = []
        marks: list[Span] = []
        pos = 0
        for n, part in enumerate(parts):
            if n:
                text.append(sep)
                pos += len(sep)
            text.append(part.text)
            marks.extend((a + pos, b + pos) for a, b in part.marks)
            pos += len(part.text)
        return cls("".join(text), tuple(marks))

    def pieces(self) -> Iterator[tuple[str, bool]]:
        """(text, is a match) pieces in order, empty pieces left out: what a renderer walks."""
        pos = 0
        for a, b in self.marks:
            if a > pos:
                yield self.text[pos:a], False
            yield self.text[a:b], True
            pos = b
        if pos < len(self.text):
            yield self.text[pos:], False

    def matched(self) -> list[str]:
        """The text of each match."""
        return [self.text[a:b] for a, b in self.marks]

    def split(self, at: int) -> tuple[Fragment, Fragment]:
        """(text before `at`, the rest); a match across `at` moves whole into the first part, so no match is cut."""
        for a, b in self.marks:
            if a < at < b:
                at = b
        first = tuple(m for m in self.marks if m[1] <= at)
        rest = tuple((a - at, b - at) for a, b in self.marks[len(first) :])
        return Fragment(self.text[:at], first), Fragment(self.text[at:], rest)

    def without(self, chars: str) -> Fragment:
        """The fragment with every character in `chars` removed, the marks kept on the same characters."""
        keep = [i for i, ch in enumerate(self.text) if ch not in chars]
        if len(keep) == len(self.text):
            return self
        marks = ((bisect_left(keep, a), bisect_left(keep, b)) for a, b in self.marks)
        return Fragment("".join(self.text[i] for i in keep), tuple((a, b) for a, b in marks if a < b))

    def to_json(self) -> dict[str, Any]:
        """`{"text": …, "marks": [[start, end], …]}`."""
        return {"text": self.text, "marks": [[a, b] for a, b in self.marks]}


# -- search -----------------------------------------------------------------------------------------
@dataclass
class SectionHit:
    """One matching section of a hit, with its snippet."""

    section_id: str
    heading: str
    kind: str
    topics: list[str]
    snippet: Fragment

    def to_json(self) -> dict[str, Any]:
        """The section as the API gives it: `snippet` data and, for older clients, `snippet_html`."""
        return {
            "section_id": self.section_id,
            "heading": self.heading,
            "kind": self.kind,
            "topics": self.topics,
            "snippet_html": html(self.snippet),
            "snippet": self.snippet.to_json(),
        }


@dataclass
class Version:
    """Another member of a hit's fold group (search_app.folding): a version of the text or a near-duplicate."""

    doc_id: str
    title: str
    year: int | None
    date: str | None
    relation: str  # "version" or "duplicate"


@dataclass
class Hit:
    """One document of the results, with its best sections."""

    doc_id: str
    title: str
    year: int | None
    date: str | None
    doc_kind: str | None
    source: str | None
    source_file: str
    score: float
    sections: list[SectionHit]
    versions: list[Version] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The hit as the API gives it."""
        out = {k: v for k, v in vars(self).items() if k not in ("sections", "versions")}
        out["sections"] = [s.to_json() for s in self.sections]
        out["versions"] = [dict(vars(v)) for v in self.versions]
        return out


@dataclass
class Facet:
    """One value of a facet: its documents under the other facets' filters, and whether it is selected."""

    value: int | str | None
    count: int
    selected: bool = False


@dataclass
class SearchResult:
    """One page of results grouped by document, with the facet counts."""

    query: str
    expanded: list[str]
    total_docs: int
    total_matched: int
    total_sections: int
    took_ms: float
    page: int
    per_page: int
    warnings: list[str]
    hits: list[Hit]
    facets: dict[str, list[Facet]]

    def to_json(self) -> dict[str, Any]:
        """The JSON of `/api/search` (and `python -m search_app search --json`)."""
        out = {k: v for k, v in vars(self).items() if k not in ("hits", "facets")}
        out["hits"] = [h.to_json() for h in self.hits]
        out["facets"] = {name: [dict(vars(f)) for f in rows] for name, rows in self.facets.items()}
        return out


# -- trend --------------------------------------------------------------------------------------------
@dataclass
class TrendPoint:
    """One year of a term's trend: matching documents and sections, and the documents' share of the year's."""

    year: int
    docs: int
    sections: int
    share: float


@dataclass
class TrendSeries:
    """A term's trend, year by year (years without a match left out)."""

    query: str
    years: list[TrendPoint]

    def to_json(self) -> dict[str, Any]:
        """`{"query", "years": [{"year", "docs", "sections", "share"}]}`."""
        return asdict(self)


@dataclass
class YearTotal:
    """All documents of a year under the filters (the denominator of a share)."""

    year: int
    docs: int


@dataclass
class Trends:
    """The trends of up to four terms under the same filters, and the per-year totals."""

    series: list[TrendSeries]
    totals: list[YearTotal]

    def to_json(self) -> dict[str, Any]:
        """`{"series": [...], "totals": [{"year", "docs"}]}`."""
        return asdict(self)


# -- document page ------------------------------------------------------------------------------------
@dataclass
class OutlineEntry:
    """A section in the document's outline: where it is (page) and how often the query matches it."""

    section_id: str
    heading: str
    level: int
    kind: str
    topics: list[str]
    page: int
    matches: int


@dataclass
class DocSection:
    """A section (or, in a section longer than a page, the piece of it) shown on a document page."""

    section_id: str
    heading: str
    level: int
    kind: str
    topics: list[str]
    path: list[str]
    url: str | None
    start: int  # offsets of this piece in the document's text
    end: int
    continued: bool  # the piece starts inside the section (its heading is on an earlier page)
    fragment: Fragment  # the piece's text with the query's matches (or the passages shared with other texts)

    @property
    def text(self) -> str:
        """The piece's text."""
        return self.fragment.text

    @property
    def matches(self) -> int:
        """Matches marked in the piece."""
        return len(self.fragment.marks)

    def to_json(self) -> dict[str, Any]:
        """The section as `/api/doc` gives it: its text, its `marks`, and the marked `html`."""
        out = {k: v for k, v in vars(self).items() if k != "fragment"}
        out.update(text=self.text, marks=self.fragment.to_json()["marks"], html=html(self.fragment), matches=self.matches)
        return out


@dataclass
class DocumentView:
    """One page of a document: its metadata, outline and the page's sections, marked for the query."""

    doc_id: str
    title: str
    year: int | None
    date: str | None
    dates: list[str]
    doc_kind: str
    source: str | None
    source_file: str
    url: str | None
    topics: list[str]
    topic_evidence: dict[str, dict[str, Any]]
    warnings: list[str]
    query: str
    outline: list[OutlineEntry]
    outline_complete: bool  # False: a very long outline lists only the sections of this page
    sections: list[DocSection]
    section_count: int
    page: int
    pages: int
    matched_sections: int  # sections of the whole document that match the query
    matches: int  # matches on this page (the whole document when it has one page)

    def to_json(self) -> dict[str, Any]:
        """The JSON of `/api/doc/<doc_id>`."""
        out = {k: v for k, v in vars(self).items() if k not in ("outline", "sections")}
        out["outline"] = [dict(vars(e)) for e in self.outline]
        out["sections"] = [s.to_json() for s in self.sections]
        return out


# -- 查出处 ----------------------------------------------------------------------------------------------
@dataclass
class PassageMatch:
    """A document whose sections contain a pasted passage or a close variant."""

    doc_id: str
    title: str
    year: int | None
    date: str | None
    section_id: str  # the first of `section_ids`
    section_ids: list[str]
    heading: str
    coverage: float  # share of the passage its sections cover
    snippet: Fragment  # the shared stretches marked

    def to_json(self) -> dict[str, Any]:
        """The match as `/api/passage` gives it (`snippet` data and the marked `snippet_html`)."""
        out = {k: v for k, v in vars(self).items() if k != "snippet"}
        out.update(snippet_html=html(self.snippet), snippet=self.snippet.to_json())
        return out


@dataclass
class PassageResult:
    """查出处: the matches, best coverage first, and why there are none when the passage is too short."""

    passage_chars: int
    matches: list[PassageMatch]
    warnings: list[str]
    took_ms: float

    def to_json(self) -> dict[str, Any]:
        """The JSON of `/api/passage`."""
        out = {k: v for k, v in vars(self).items() if k != "matches"}
        out["matches"] = [m.to_json() for m in self.matches]
        return out
