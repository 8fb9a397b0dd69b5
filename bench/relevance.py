"""Graded section-level relevance on the speech corpus: nDCG@10 and recall@20 for every engine.

Judgments: ``bench/judgments/speech_queries.json``, a list of
``{"id", "q", "need", "grades": {section_key: 0..3}}``. Section keys are stable
(``source_file::ordinal``, see `bench.sections`). Grades: 3 = directly answers the need (the
section is about it), 2 = substantially relevant (a paragraph on it), 1 = mentions it in passing,
0 = not useful. The pool: the top 20 sections of each of the three engines on the speech corpus.

- nDCG@10: gain 2^g - 1, discount log2(rank + 1), ideal ranking from all the query's judgments;
  unjudged sections count as 0.
- recall@20: share of the query's sections judged ≥ 2 (over the whole pool) found in the top 20;
  queries with no section judged ≥ 2 are left out of the mean.

    python -m bench.relevance pool [--workdir DIR] [--k 20] > pool.txt   # what the assessor reads
    python -m bench.relevance eval [--workdir DIR]                         # the metrics
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from pathlib import Path

from bench.corpora import DEFAULT_WORKDIR, FULL, SPEECH, speech_corpora
from bench.peers import BenchQuery

JUDGMENTS = Path(__file__).with_name("judgments") / "speech_queries.json"
RELEVANT = 2


def load_judgments(path: Path = JUDGMENTS) -> list[dict]:
    """The judged queries (an empty list when the file is absent)."""
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def ndcg(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    """nDCG@k with exponential gain; 0 when no judged section is relevant at all."""
    dcg = sum((2 ** grades.get(key, 0) - 1) / math.log2(i + 2) for i, key in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranked: list[str], grades: dict[str, int], k: int = 20) -> float | None:
    """Share of the sections graded ≥ 2 that are in the top k; None when there are none."""
    rel = {key for key, g in grades.items() if g >= RELEVANT}
    if not rel:
        return None
    return len(rel & set(ranked[:k])) / len(rel)


def rankings(searcher, judged: list[dict], k: int = 20, bare: bool = False) -> dict[str, list[str]]:
    """Each judged query's top-k section keys from one searcher."""
    out = {}
    for j in judged:
        bq = BenchQuery("judged", j["q"])
        keys = searcher.search_bare(bq, k, with_keys=True)[0] if bare else searcher.search(bq, k)[0]
        out[j["id"]] = keys
    return out


def evaluate(searchers: dict, judged: list[dict]) -> dict[str, dict[str, float]]:
    """Mean nDCG@10 and recall@20 per engine (plus ``ours_sections``: tantivy's ungrouped ranking)."""
    runs = {name: rankings(s, judged) for name, s in searchers.items()}
    if "ours" in searchers:
        runs["ours_sections"] = rankings(searchers["ours"], judged, bare=True)
    result = {}
    for name, ranked in runs.items():
        nd = [ndcg(ranked[j["id"]], j["grades"]) for j in judged]
        rc = [r for j in judged if (r := recall(ranked[j["id"]], j["grades"])) is not None]
        result[name] = {
            "ndcg10": round(statistics.fmean(nd), 4),
            "recall20": round(statistics.fmean(rc), 4) if rc else 0.0,
            "queries": len(nd),
        }
    return result


def per_query(searchers: dict, judged: list[dict]) -> list[dict]:
    """nDCG@10 of every engine for every query (for the report's worst-query reading)."""
    runs = {name: rankings(s, judged) for name, s in searchers.items()}
    return [
        {"id": j["id"], "q": j["q"], **{n: round(ndcg(r[j["id"]], j["grades"]), 3) for n, r in runs.items()}}
        for j in judged
    ]


# ------------------------------------------------------------------------------------ pooling
def _excerpt(text: str, terms: list[str], width: int = 32, windows: int = 2) -> str:
    """The section's opening and up to `windows` keyword-in-context windows (what the assessor reads)."""
    flat = re.sub(r"\s+", " ", text)
    parts = [flat[:60]]
    used: list[int] = []
    for t in terms:
        for m in re.finditer(re.escape(t), flat):
            if m.start() < 60 or any(abs(m.start() - u) < width * 2 for u in used):
                continue
            used.append(m.start())
            parts.append("…" + flat[max(0, m.start() - width) : m.end() + width] + "…")
            break
        if len(used) >= windows:
            break
    return " ".join(parts)


def pool(workdir: Path, judged: list[dict], k: int = 20) -> None:
    """Print, per query, the pooled sections (top k of each engine) with the text to judge them by."""
    from bench.peers import ENGINES, open_searcher
    from bench.sections import load_sections
    from speechindex.analysis import get_analyzer

    secs = {s.key: s for s in load_sections(speech_corpora())}
    searchers = {e: open_searcher(e, workdir / SPEECH / e) for e in ENGINES}
    ana = get_analyzer()
    for j in judged:
        bq = BenchQuery("judged", j["q"])
        seen: dict[str, list[str]] = {}
        for e, s in searchers.items():
            for rank, key in enumerate(s.search(bq, k)[0]):
                seen.setdefault(key, []).append(f"{e[0]}{rank + 1}")
        terms = [t for t in ana.terms(j["q"].replace('"', " "), "query") if len(t) > 1] or [j["q"]]
        print(f"### {j['id']} {j['q']} — {j.get('need', '')}")
        for key, where in seen.items():
            if key in j.get("grades", {}):
                continue
            s = secs[key]
            body = s.text[len(s.heading):] if s.text.startswith(s.heading) else s.text
            print(f"[{key}] ({' '.join(where)}) {s.year} {s.title[:16]}|{s.heading[:24]}|{len(s.text)}")
            print("  " + _excerpt(body, terms))
        print()


# ------------------------------------------------------------------ the mixed collection (documents)
# Judgments on the whole collection (seeds + reports + speeches + 新闻联播 + laws) are per DOCUMENT,
# keyed by source_file: the section structure of the news and laws changes with the parser, the
# documents do not. Each query carries its evidence: regular expressions that must all match
# inside one sentence of the raw text (written by reading the texts for the query's need), and
# optionally a title pattern. Grade: title match 3; otherwise by the number of sentences with the
# evidence, 1 → 1, 2 → 2, ≥ 3 → 3. Peers' section rankings become document rankings by first
# occurrence, so all engines are scored on the same documents and judgments.
MIXED_JUDGMENTS = Path(__file__).with_name("judgments") / "mixed_queries.json"
MIXED_ALIASES = Path(__file__).with_name("judgments") / "mixed_copies.json"  # exact copy → graded original
_SENTENCE = re.compile(r"[。！？；!?;\n]+")


def evidence_grade(title: str, text: str, evidence: list[str], title_pattern: str | None) -> int:
    """A document's grade for one judged query (see above)."""
    if title_pattern and re.search(title_pattern, title):
        return 3
    patterns = [re.compile(e) for e in evidence]
    if not all(p.search(text) for p in patterns):
        return 0
    n = sum(1 for sent in _SENTENCE.split(text) if all(p.search(sent) for p in patterns))
    return min(n, 3)


def grade_mixed(records, judged: list[dict]) -> dict[str, str]:
    """Fill each query's ``grades`` (source_file → grade ≥ 1) from (title, source_file, text) records.

    Exact copies (the bundled corpus ships the government work reports that ../shared also has)
    are one document: returns copy → the source_file graded for it (the first in sorted order).
    """
    for j in judged:
        j["grades"] = {}
    first: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for title, source_file, text in sorted(records, key=lambda r: r[1]):
        if text in first:
            aliases[source_file] = first[text]
            continue
        first[text] = source_file
        for j in judged:
            g = evidence_grade(title, text, j["evidence"], j.get("title"))
            if g:
                j["grades"][source_file] = g
    return aliases


def doc_ranking(keys: list[str]) -> list[str]:
    """Section keys (``source_file::n``) → the documents in order of first appearance."""
    return list(dict.fromkeys(key.rsplit("::", 1)[0] for key in keys))


def _documents(name: str, searcher, bq: BenchQuery) -> list[str]:
    """An engine's ranked documents (source_file) for one query."""
    if name == "ours":
        from search_app.engine import SearchRequest

        # Unfolded: the judgments grade each version of a law on its own, as the peers list them.
        res = searcher.engine.search(SearchRequest(q=bq.q, per_page=50, fold=False))
        return [h.source_file for h in res.hits]
    # 100 sections: enough distinct documents even when one document fills the top.
    return doc_ranking(searcher.search(bq, 100)[0])


def evaluate_documents(
    searchers: dict, judged: list[dict], k: int = 10, aliases: dict[str, str] | None = None
) -> tuple[dict, list[dict]]:
    """Mean document nDCG@k per engine, and every query's nDCG@k per engine (copies count as their original)."""
    aliases = aliases or {}
    rows = []
    for j in judged:
        bq = BenchQuery("judged", j["q"])
        row = {"id": j["id"], "q": j["q"]}
        for name, s in searchers.items():
            docs = list(dict.fromkeys(aliases.get(d, d) for d in _documents(name, s, bq)))
            row[name] = round(ndcg(docs, j["grades"], k), 4)
        rows.append(row)
    means = {name: round(statistics.fmean(r[name] for r in rows), 4) for name in searchers}
    return means, rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="relevance judgments: pool for assessment, or evaluate")
    parser.add_argument("command", choices=["pool", "eval", "mixed-grade", "mixed-eval"])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--index", type=Path, help="mixed-grade: the index whose document store holds the texts")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--only", nargs="*", help="query ids")
    args = parser.parse_args(argv)
    if args.command.startswith("mixed"):
        return _mixed(args)
    judged = load_judgments()
    if args.only:
        judged = [j for j in judged if j["id"] in args.only]
    if args.command == "pool":
        pool(args.workdir, judged, args.k)
    else:
        from bench.peers import ENGINES, open_searcher

        searchers = {e: open_searcher(e, args.workdir / SPEECH / e) for e in ENGINES}
        print(json.dumps(evaluate(searchers, [j for j in judged if j.get("grades")]), indent=2))


def _mixed(args: argparse.Namespace) -> None:
    """mixed-grade: regrade from a built index's texts; mixed-eval: nDCG@10 of the engines in WORKDIR/full."""
    judged = load_judgments(MIXED_JUDGMENTS)
    if args.command == "mixed-grade":
        import sqlite3

        from speechindex.location import IndexLocation
        from speechindex.schema import DOCSTORE

        db = sqlite3.connect(IndexLocation(args.index).current() / DOCSTORE)
        records = [(r["title"], r["source_file"], r["text"]) for (raw,) in db.execute("SELECT record FROM documents") if (r := json.loads(raw))]
        aliases = grade_mixed(records, judged)
        MIXED_JUDGMENTS.write_text(json.dumps(judged, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        MIXED_ALIASES.write_text(json.dumps(aliases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(json.dumps({j["id"]: len(j["grades"]) for j in judged}))
        return
    from bench.peers import ENGINES, open_searcher

    if args.only:
        judged = [j for j in judged if j["id"] in args.only]
    searchers = {e: open_searcher(e, args.workdir / FULL / e) for e in ENGINES if (args.workdir / FULL / e).exists()}
    aliases = json.loads(MIXED_ALIASES.read_text(encoding="utf-8")) if MIXED_ALIASES.exists() else {}
    means, rows = evaluate_documents(searchers, judged, aliases=aliases)
    print(json.dumps({"ndcg10": means, "queries": len(rows), "per_query": rows}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
