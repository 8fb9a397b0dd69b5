"""Single-core throughput of topic tagging on the 新闻联播 text: automaton against alternation regex.

    python -m bench.topics [--corpus DIR] [--limit-mb 10] [--baseline /path/to/old/checkout]

The text is the corpus's Markdown split at its `###` news items (the unit a section is).
Rows: the bare scan of the whole lexicon by Python's `re` alternation (longest first, the
old method) and by the Aho-Corasick automaton (leftmost-longest), both counting hits per
keyword; then the full rule of `indexer.topics` (context words, penalties, heading, evidence).
`--baseline` also times `tag_topics` of another checkout (e.g. a `git worktree` of an older
commit) in a subprocess, on the same text.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.corpora import REPO, SHARED_CORPORA

NEWS = SHARED_CORPORA / "xinwenlianbo"


def news_sections(corpus: Path, limit_mb: float) -> list[str]:
    """The corpus's Markdown files split at `###` items, up to `limit_mb` MB of UTF-8."""
    out: list[str] = []
    size = 0
    for path in sorted(corpus.rglob("*.md")):
        for part in re.split(r"\n(?=###)", path.read_text(encoding="utf-8", errors="replace")):
            out.append(part)
            size += len(part.encode("utf-8"))
        if size >= limit_mb * 1e6:
            break
    return out


def throughput(fn: Callable[[str], object], sections: list[str], runs: int = 3) -> float:
    """Best-of-`runs` MB/s (UTF-8 bytes) of `fn` over every section."""
    megabytes = sum(len(s.encode("utf-8")) for s in sections) / 1e6
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        for s in sections:
            fn(s)
        best = min(best, time.perf_counter() - started)
    return megabytes / best


def _baseline(checkout: Path, corpus: Path, limit_mb: float) -> float:
    """MB/s of `tag_topics` of another checkout, measured in a subprocess on the same text."""
    code = (
        f"import sys; sys.path.insert(0, {str(checkout)!r}); sys.path.insert(1, {str(REPO)!r})\n"
        "from indexer.topics import tag_topics\n"
        "from bench.topics import news_sections, throughput\n"
        f"print(throughput(tag_topics, news_sections(__import__('pathlib').Path({str(corpus)!r}), {limit_mb})))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=checkout)
    return float(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Print the throughput table (and the figures as JSON with --json)."""
    from indexer.topics import load_lexicon, tag_topics

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=NEWS)
    parser.add_argument("--limit-mb", type=float, default=10.0)
    parser.add_argument("--baseline", type=Path, help="another checkout whose tag_topics to time too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        sys.exit(f"error: {args.corpus} not found (the 新闻联播 corpus lives in ../shared/corpora)")

    sections = news_sections(args.corpus, args.limit_mb)
    lex = load_lexicon()
    alternation = re.compile("|".join(map(re.escape, sorted(lex.terms, key=len, reverse=True))))
    rows = {
        "regex alternation scan + count": throughput(lambda s: Counter(alternation.findall(s)), sections),
        "automaton scan + count": throughput(lambda s: Counter(m[0] for m in lex.automaton.find_matches_as_indexes(s)), sections),
        "tag_topics (full rule, this checkout)": throughput(tag_topics, sections),
    }
    if args.baseline:
        rows[f"tag_topics of {args.baseline}"] = _baseline(args.baseline.resolve(), args.corpus, args.limit_mb)
    megabytes = sum(len(s.encode("utf-8")) for s in sections) / 1e6
    if args.json:
        print(json.dumps({"megabytes": round(megabytes, 2), "sections": len(sections), "mb_per_s": {k: round(v, 2) for k, v in rows.items()}}, ensure_ascii=False, indent=2))
        return
    print(f"{megabytes:.1f} MB of {args.corpus.name}, {len(sections)} sections, {len(lex.terms)} lexicon terms, one core")
    width = max(map(len, rows))
    print(f"{'':{width}}  MB/s")
    for name, value in rows.items():
        print(f"{name:{width}}  {value:6.2f}")


if __name__ == "__main__":
    main()
