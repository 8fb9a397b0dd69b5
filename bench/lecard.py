"""LeCaRD (Chinese legal case retrieval) with THIS project's analyzer + tantivy BM25.

    python -m bench.lecard [--lecard ../shared/eval/lecard] [--workers 2]

Protocol (../shared/eval/lecard/README.md): rank each query's ~100 candidates (field `ajjbqk`);
one tantivy index of all 10,718 candidate rows (so IDF comes from all candidates), the text
analysed by our analyzer (`index_text`, index mode) minus the LeCaRD stopwords, in a whitespace
field; each query = our analyzer's query-mode terms of `q` minus the stopwords (and our
query-time stop terms), OR semantics (a BM25 sum over all terms: long case-fact queries cannot
be AND-ed), restricted to the query's own candidates. tantivy's BM25 uses k1 1.2, b 0.75 (the
published run used k1 1.5).

Metrics exactly as the README: the first 100 keys of combined_top100.json; only the query's 30
labelled documents, in ranked order; grade 3 = relevant; P@5, P@10, MAP (average precision over
the relevant documents in that filtered list). The metric code is checked by recomputing the
published BM25 run (bm25_top100.json, reversed): it must give 0.406 / 0.381 / 0.484.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import tempfile
import time
from pathlib import Path

import tantivy

from bench.corpora import SHARED

LECARD = SHARED / "eval" / "lecard"
PUBLISHED = {"P@5": 0.406, "P@10": 0.381, "MAP": 0.484}


def evaluate(ranking: dict[str, list[str]], lecard: Path = LECARD) -> dict[str, float]:
    """P@5, P@10, MAP of a run {ridx: [doc_id best first]} under the README protocol."""
    keys = list(json.loads((lecard / "combined_top100.json").read_text()))[:100]
    labels = json.loads((lecard / "label_top30_dict.json").read_text())
    p5 = p10 = ap_sum = 0.0
    for ridx in keys:
        lab = {str(k): v for k, v in labels[ridx].items()}
        ranked = [str(d) for d in ranking.get(ridx, []) if str(d) in lab]
        rel = [1 if lab[d] == 3 else 0 for d in ranked]
        p5 += sum(rel[:5]) / 5
        p10 += sum(rel[:10]) / 10
        hits, precs = 0, []
        for i, r in enumerate(rel):
            if r:
                hits += 1
                precs.append(hits / (i + 1))
        ap_sum += sum(precs) / len(precs) if precs else 0.0
    n = len(keys)
    return {"P@5": round(p5 / n, 4), "P@10": round(p10 / n, 4), "MAP": round(ap_sum / n, 4)}


def published_bm25(lecard: Path = LECARD) -> dict[str, float]:
    """The published BM25 run (ascending score order in the file: reversed here)."""
    run = json.loads((lecard / "bm25_top100.json").read_text())
    return evaluate({k: list(reversed(v)) for k, v in run.items()}, lecard)


_STOP: frozenset[str] = frozenset()


def _init(stop: frozenset[str]) -> None:
    global _STOP
    _STOP = stop


def _analyse(row: tuple[str, str, str]) -> tuple[str, str, str]:
    from speechindex.analysis import get_analyzer

    ridx, doc_id, text = row
    terms = get_analyzer().index_text(text).split()
    return ridx, doc_id, " ".join(t for t in terms if t not in _STOP)


def run(lecard: Path = LECARD, workers: int = 2) -> dict:
    """Index the candidates, rank every query's candidates, evaluate."""
    from search_app.compile import STOP_TERMS
    from speechindex.analysis import get_analyzer

    started = time.perf_counter()
    stop = frozenset(w.strip() for w in (lecard / "stopword.txt").read_text(encoding="utf-8").splitlines() if w.strip())
    rows = []
    with gzip.open(lecard / "candidates.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            rows.append((str(r["query_ridx"]), str(r["doc_id"]), r.get("ajjbqk") or ""))
    ana = get_analyzer()
    schema = (
        tantivy.SchemaBuilder()
        .add_text_field("ridx", stored=True, tokenizer_name="raw")
        .add_text_field("doc_id", stored=True, tokenizer_name="raw")
        .add_text_field("body", tokenizer_name="ws", index_option="freq")
        .build()
    )
    tmp = tempfile.TemporaryDirectory()
    index = tantivy.Index(schema, path=tmp.name)
    ws = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    index.register_tokenizer("ws", ws)
    writer = index.writer(256_000_000, 1)
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers, initializer=_init, initargs=(stop,)) as pool:
        for ridx, doc_id, body in pool.imap(_analyse, rows, chunksize=64):
            writer.add_document(tantivy.Document(ridx=ridx, doc_id=doc_id, body=body))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    indexed = time.perf_counter() - started
    searcher = index.searcher()
    ranking: dict[str, list[str]] = {}
    for line in (lecard / "query.json").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        ridx = str(q["ridx"])
        terms = [t for t in ana.terms(q["q"], "query") if t not in stop and t not in STOP_TERMS]
        terms = list(dict.fromkeys(terms))
        if not terms:
            continue
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, tantivy.Query.term_query(schema, "ridx", ridx)),
                (tantivy.Occur.Must, tantivy.Query.boolean_query(
                    [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in terms])),
            ]
        )
        hits = searcher.search(query, 200).hits
        ranking[ridx] = [searcher.doc(a).get_first("doc_id") for _, a in hits]
    ours = evaluate(ranking, lecard)
    tmp.cleanup()
    return {
        "ours": ours,
        "published_bm25": PUBLISHED,
        "published_bm25_recomputed": published_bm25(lecard),
        "candidates": len(rows),
        "queries_ranked": len(ranking),
        "index_seconds": round(indexed, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="LeCaRD P@5/P@10/MAP with this project's analyzer + BM25")
    parser.add_argument("--lecard", type=Path, default=LECARD)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--check-only", action="store_true", help="only recompute the published BM25 run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.check_only:
        print(json.dumps(published_bm25(args.lecard)))
        return
    res = run(args.lecard, args.workers)
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"LeCaRD: {res['candidates']} candidates, {res['queries_ranked']} queries ranked, {res['seconds']} s")
    print(f"{'run':34}{'P@5':>8}{'P@10':>8}{'MAP':>8}")
    for name, r in (("ours (analyzer + tantivy BM25, OR)", res["ours"]),
                    ("published BM25 (README)", res["published_bm25"]),
                    ("published BM25 recomputed here", res["published_bm25_recomputed"])):
        print(f"{name:34}{r['P@5']:8.3f}{r['P@10']:8.3f}{r['MAP']:8.3f}")


if __name__ == "__main__":
    main()
