"""Exact document counts over section hits, shared by `indexer stats` and the search engine.

tantivy's `cardinality` is a HyperLogLog estimate (5,168 for 5,044 documents here), so
documents are counted exactly by listing the distinct document numbers of each bucket; only
beyond tantivy's bucket limit does the count fall back to the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tantivy

from speechindex import schema as S

MAX_EXACT = 60_000  # below tantivy's default limit of 65,000 buckets per request


def _docs_agg(exact: bool) -> dict[str, Any]:
    if exact:
        return {"terms": {"field": S.F_DOC_NUM, "size": MAX_EXACT}}
    return {"cardinality": {"field": S.F_DOC_NUM}}


def _docs_value(agg: dict[str, Any]) -> int:
    if "buckets" in agg:
        return len(agg["buckets"])
    return int(round(agg["value"]))


def count_sections(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """Number of matching sections."""
    # Limit 1, not 0: tantivy panics on 0. The 0.27 stub lacks SearchResult.count.
    count: int = searcher.search(query, 1, count=True).count  # type: ignore[attr-defined]
    return count


def count_documents(searcher: tantivy.Searcher, query: tantivy.Query) -> int:
    """Number of distinct documents with at least one matching section."""
    try:
        result = searcher.aggregate(query, {"docs": _docs_agg(True)})
        docs = result["docs"]
        if len(docs["buckets"]) < MAX_EXACT:
            return len(docs["buckets"])
    except ValueError:
        pass  # too many buckets for one request: estimate instead
    return int(round(searcher.cardinality(query, S.F_DOC_NUM)))


def facet_counts(
    searcher: tantivy.Searcher, query: tantivy.Query, fields: dict[str, str], size: int = 1000
) -> dict[str, list[tuple[Any, int, int]]]:
    """Per facet name: (value, documents, sections) for every value among the matching sections."""
    for exact in (True, False):
        aggs = {name: {"terms": {"field": field, "size": size}, "aggs": {"docs": _docs_agg(exact)}} for name, field in fields.items()}
        try:
            result = searcher.aggregate(query, aggs)
        except ValueError:
            if exact:
                continue
            raise
        return {
            name: [(b["key"], _docs_value(b["docs"]), b["doc_count"]) for b in result.get(name, {}).get("buckets", [])]
            for name in fields
        }
    return {}


@dataclass(frozen=True)
class Summary:
    """What a results page counts over the matching sections, from one aggregation request."""

    documents: int  # distinct documents
    doc_nums: list[int] | None  # their document numbers; None beyond MAX_EXACT (then `documents` is estimated)
    facets: dict[str, list[tuple[Any, int, int]]]  # as facet_counts


def summarize(searcher: tantivy.Searcher, query: tantivy.Query, fields: dict[str, str], size: int = 1000) -> Summary:
    """Distinct documents, their numbers and the facet counts of `query`, in one pass over its matches.

    One request instead of one per count: each `aggregate` call runs the query again, and on a
    cheap search that repetition was half of the time.
    """
    aggs: dict[str, Any] = {
        name: {"terms": {"field": field, "size": size}, "aggs": {"docs": _docs_agg(True)}} for name, field in fields.items()
    }
    aggs[_DOCS] = _docs_agg(True)
    try:
        result = searcher.aggregate(query, aggs)
    except ValueError:  # too many buckets for one request: the separate, estimating path
        return Summary(count_documents(searcher, query), None, facet_counts(searcher, query, fields, size))
    buckets = result[_DOCS]["buckets"]
    if len(buckets) >= MAX_EXACT:
        return Summary(count_documents(searcher, query), None, facet_counts(searcher, query, fields, size))
    facets = {
        name: [(b["key"], _docs_value(b["docs"]), b["doc_count"]) for b in result.get(name, {}).get("buckets", [])]
        for name in fields
    }
    return Summary(len(buckets), [int(b["key"]) for b in buckets], facets)


_DOCS = "__documents"  # the aggregation name of the distinct documents; no facet is called that
