"""Median latency of the full search call (query → JSON with snippets and facets) on a built index.

    python -m bench.latency --index /tmp/full       # prints per-query medians and their median
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from search_app.engine import SearchEngine, SearchRequest

QUERIES = (
    "双减", '"集团化办学"', "控辍保学", "义务教育 均衡", "职业教育 -高等教育",
    "教育 year:2019..2023", "立德树人", "學校敎育", "校园安全", "教师 待遇",
)


def main() -> None:
    """Time each query `--runs` times after a warm-up and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    engine = SearchEngine(args.index)
    engine.check()
    for q in QUERIES:
        engine.search(SearchRequest(q=q))
    medians = []
    for q in QUERIES:
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            result = engine.search(SearchRequest(q=q))
            times.append((time.perf_counter() - t) * 1000)
        medians.append(statistics.median(times))
        print(f"{q:24} {medians[-1]:7.1f} ms  docs={result.total_docs} sections={result.total_sections}")
    print(f"median of per-query medians: {statistics.median(medians):.2f} ms")


if __name__ == "__main__":
    main()
