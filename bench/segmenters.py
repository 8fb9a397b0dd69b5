"""Segmenter benchmark: Python jieba vs rjieba (jieba-rs), and the full analyzer, on the same text.

    .venv/bin/python -m bench.segmenters [--mb 5] [--runs 3]

The text is the government work reports (../shared/corpora/gov_work_reports, the five seed speeches
when ../shared is absent), repeated to the requested size and normalised once by the analyzer so
that both segmenters see exactly the same input with the same domain dictionary. Prints the median
throughput of each run, the rjieba/jieba speed ratio, and the sentence-level agreement of the two
on the domain sentences of tests/test_analysis.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from speechindex.analysis import get_analyzer
from tests.test_analysis import DOMAIN_SENTENCES, agreement_rate, python_jieba

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO.parent / "shared" / "corpora" / "gov_work_reports"


def load_text(megabytes: float) -> tuple[str, str]:
    """The benchmark text (at least `megabytes` MB of UTF-8) and a description of its source."""
    if REPORTS.is_dir():
        parts = [
            json.loads(line)["content"]
            for path in sorted(REPORTS.glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        source = "gov work reports"
    else:
        parts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "corpus").glob("*.txt"))]
        source = "seed speeches (../shared absent)"
    base = "\n".join(parts)
    target = int(megabytes * 1_000_000)
    repeats = -(-target // len(base.encode("utf-8")))
    # Cut the repeated text to the requested size; "ignore" drops a character split by the cut.
    return ("\n".join([base] * repeats)).encode("utf-8")[:target].decode("utf-8", "ignore"), source


def median_seconds(run: Callable[[], object], runs: int) -> float:
    """Median wall-clock time of `runs` calls."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=5.0, help="text size in MB of UTF-8 (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="runs per segmenter; the median is reported")
    args = parser.parse_args(argv)

    analyzer = get_analyzer()
    seg = analyzer.segmenter  # rjieba with the domain dictionary
    reference = python_jieba()  # the same dictionary, in Python jieba
    raw, source = load_text(args.mb)
    text = analyzer.normalize(raw).text
    size_mb = len(raw.encode("utf-8")) / 1_000_000

    rows = [
        ("default (query) mode", lambda: reference.lcut(text, HMM=True), lambda: seg.cut(text, True)),
        ("search (index) mode", lambda: reference.lcut_for_search(text, HMM=True), lambda: seg.cut_for_search(text, True)),
        # What the analyzer calls: search mode with character offsets.
        (
            "search mode + offsets (tokenize)",
            lambda: list(reference.tokenize(text, mode="search", HMM=True)),
            lambda: seg.tokenize(text, "search", True),
        ),
    ]
    print(f"{size_mb:.1f} MB of {source}, median of {args.runs} runs")
    print(f"{'':34}{'jieba MB/s':>12}{'rjieba MB/s':>13}{'rjieba/jieba':>14}")
    for label, slow, fast in rows:
        slow_rate = size_mb / median_seconds(slow, args.runs)
        fast_rate = size_mb / median_seconds(fast, args.runs)
        print(f"{label:34}{slow_rate:12.2f}{fast_rate:13.2f}{fast_rate / slow_rate:13.1f}×")
    full = size_mb / median_seconds(lambda: analyzer.tokens(raw, "index"), args.runs)
    label = 'analyzer tokens(text, "index")'
    print(f"{label:34}{'':12}{full:13.2f}   (normalise + segment + offsets)")

    rate = agreement_rate(DOMAIN_SENTENCES)
    print(f"agreement on {len(DOMAIN_SENTENCES)} domain sentences: {rate:.1%}")


if __name__ == "__main__":
    main()
