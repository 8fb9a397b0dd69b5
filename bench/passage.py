"""Latency and accuracy of 查出处 (POST /api/passage) on a built index.

    python -m bench.passage --index /tmp/full          # 20 passages of 500 characters, 10 changed

Passages are cut at random (fixed seed) from documents over 3,000 characters, and 10 of their
characters replaced, so the source is a close variant; each is posted through Flask's test
client (JSON encoding included). Prints the median, p90 and max time, the median CPU time, and
how often the source document comes first with coverage ≥ 0.8.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

from search_app.web import create_app
from speechindex.docstore import DocStore
from speechindex.location import IndexLocation
from speechindex.schema import DOCSTORE


def main() -> None:
    """Post the passages once each after a warm-up and print the summary as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--passages", type=int, default=20)
    parser.add_argument("--chars", type=int, default=500)
    parser.add_argument("--changed", type=int, default=10)
    args = parser.parse_args()
    store = DocStore(IndexLocation(args.index).current() / DOCSTORE, readonly=True)
    rows = store.db.execute(
        "SELECT doc_id, json_extract(record, '$.text') FROM documents"
        " WHERE length(json_extract(record, '$.text')) > 3000 ORDER BY doc_id"
    ).fetchall()
    store.close()
    rng = random.Random(14)
    client = create_app({"INDEX_DIR": args.index}).test_client()
    client.post("/api/passage", data={"text": rows[0][1][: args.chars]})  # warm-up: open the index
    times, cpu, found = [], [], 0
    for doc_id, text in rng.sample(rows, args.passages):
        start = rng.randrange(0, len(text) - args.chars)
        passage = list(text[start : start + args.chars])
        for pos in rng.sample(range(args.chars), args.changed):
            passage[pos] = "某"
        began, began_cpu = time.perf_counter(), time.process_time()
        matches = client.post("/api/passage", data={"text": "".join(passage)}).get_json()["matches"]
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)  # what the machine's load does not inflate
        found += bool(matches) and matches[0]["doc_id"] == doc_id and matches[0]["coverage"] >= 0.8
    times.sort()
    print(json.dumps({
        "passages": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[max(0, int(0.9 * len(times)) - 1)], 1),
        "max_ms": round(times[-1], 1),
        "median_cpu_ms": round(statistics.median(cpu), 1),
        "source_first_with_coverage_0.8": found,
    }))


if __name__ == "__main__":
    main()
