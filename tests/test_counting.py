"""Exact counts (speechindex.counting): one aggregation request agrees with the separate counts."""

from __future__ import annotations

from pathlib import Path

import pytest
import tantivy

from speechindex import schema as S
from speechindex.counting import count_documents, facet_counts, summarize
from speechindex.location import IndexLocation

FIELDS = {"year": S.F_YEAR_KEY, "kind": S.F_DOC_KIND}


def _searcher(index_dir: Path) -> tuple[tantivy.Index, tantivy.Searcher]:
    index = S.open_tantivy(IndexLocation(index_dir).current())
    return index, index.searcher()


@pytest.mark.parametrize("word", ["双减", "教育", "教师", "不存在的词语"])
def test_summary_agrees_with_the_separate_counts(speech_index: Path, word: str) -> None:
    index, searcher = _searcher(speech_index)
    query = tantivy.Query.phrase_query(index.schema, S.F_CHARS, list(word))
    summary = summarize(searcher, query, FIELDS)
    assert summary.documents == count_documents(searcher, query)
    assert summary.facets == facet_counts(searcher, query, FIELDS)
    assert summary.doc_nums is not None and len(set(summary.doc_nums)) == summary.documents
    # The document numbers are those of the matching sections.
    hits = searcher.search(query, 10_000).hits
    assert set(summary.doc_nums) == set(S.fast_ints(searcher, S.F_DOC_NUM, [addr for _, addr in hits]))
    if word == "教育":
        assert summary.documents > 50 and sum(n for _, _, n in summary.facets["year"]) == len(hits)
