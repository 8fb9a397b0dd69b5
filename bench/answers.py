"""What an index answers to the query mix, as a record two write paths can be compared by (issue 12).

For each query of `bench.queries.query_mix` (plus the exact phrases below): the totals, every
shown hit's document, score and sections, each section's snippet marks and a hash of its
text, and the facet counts. `tests/test_answers.py` compares a fresh speech-corpus index with
`tests/data/query_mix_answers.json`; after a change that is meant to change answers, record it
again (and say why in the commit):

    python -m bench.answers --index DIR > tests/data/query_mix_answers.json

where DIR is an index of `corpus/` plus ../shared's `cpc_congress_reports.jsonl` (the test
suite's `speech_index`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from bench.queries import query_mix
from search_app.engine import SearchEngine, SearchRequest

# Exact phrases whose characters are segmented differently in the texts, besides the mix's own.
PHRASES = ['"教育改革"', '"双减"', '"科教兴国"', '"一九五四年"', '"集团化办学"', '"高考改革"', 'title:"工作报告"']
PER_PAGE = 20


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def answers(index_dir: Path) -> dict[str, Any]:
    """The answers of `index_dir` to the query mix, keyed by query (and year filter)."""
    engine = SearchEngine(index_dir)
    queries = [(q.q, q.years or ()) for q in query_mix()] + [(p, ()) for p in PHRASES]
    out: dict[str, Any] = {}
    for q, years in queries:
        result = engine.search(SearchRequest(q=q, filters={"year": list(years)} if years else {}, per_page=PER_PAGE))
        out[f"{q} | {' '.join(years)}".rstrip(" |")] = {
            "totals": [result.total_docs, result.total_matched, result.total_sections],
            "hits": [
                [
                    hit.doc_id,
                    round(hit.score, 3),
                    [[s.section_id, _hash(s.snippet.text), [list(m) for m in s.snippet.marks]] for s in hit.sections],
                ]
                for hit in result.hits
            ],
            "facets": {name: [[f.value, f.count] for f in rows] for name, rows in sorted(result.facets.items())},
        }
    return out


def main(argv: list[str] | None = None) -> None:
    """Print the answers of an index as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    args = parser.parse_args(argv)
    record = answers(args.index)
    # One query per line: a change of answers shows as the lines of the queries it changed.
    lines = (f"{json.dumps(q, ensure_ascii=False)}: {json.dumps(a, ensure_ascii=False, separators=(',', ':'))}" for q, a in sorted(record.items()))
    sys.stdout.write("{\n" + ",\n".join(lines) + "\n}\n")


if __name__ == "__main__":
    main()
