"""Counts per year, topic, kind and source of a built index (`python -m indexer stats`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tantivy

from speechindex import schema as S
from speechindex.check import open_generation
from speechindex.counting import count_documents, facet_counts
from speechindex.location import IndexLocation

_FACETS = {
    "year": S.F_YEAR_KEY,
    "doc_kind": S.F_DOC_KIND,
    "source": S.F_SOURCE,
    "topic": S.F_DOC_TOPICS,  # the documents' main topics (what the topic filter uses)
    "section_topic": S.F_TOPICS,
    "section_kind": S.F_KIND,
}


def index_stats(index_dir: Path) -> dict[str, Any]:
    """Documents and sections per facet value, most frequent first (years in order)."""
    opened = open_generation(IndexLocation(index_dir).current())
    opened.store.close()
    generation = opened.path
    searcher = opened.index.searcher()
    counts = facet_counts(searcher, tantivy.Query.all_query(), _FACETS, size=10000)
    out: dict[str, Any] = {
        "generation": generation.name,
        "documents": count_documents(searcher, tantivy.Query.all_query()),
        "sections": searcher.num_docs,
    }
    for name in _FACETS:
        rows = counts[name]
        if name == "year":
            rows.sort(key=lambda r: (r[0] == S.YEAR_NONE, r[0]))
        out[name] = rows
    return out
