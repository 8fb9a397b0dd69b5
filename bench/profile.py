"""Where the time goes: the indexer's per-file work by stage, and SearchEngine.search by phase.

    python -m bench.profile [--index DIR]      # DIR: an index of the speech corpus (default: the bench workdir's)

Index side: every stage of `indexer.prepare.prepare_file` timed over the speech corpus in one
process (reading, cleaning, metadata, structure, topics, analysis: index_text / char_text,
payload JSON), then the tantivy writing of the prepared sections. Query side: the phases of
`SearchEngine.search` replayed over the query mix: compile, tantivy query + count, grouping,
hits (stored docs + snippets), facets.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path


def profile_index(corpora: list[Path]) -> dict[str, float]:
    import tempfile

    import tantivy

    import indexer.pipeline as P
    import indexer.prepare as PR
    from indexer.build import _add_sections, scan
    from speechindex import schema as S
    from speechindex.analysis import get_analyzer
    from speechindex.docstore import DocStore

    totals: dict[str, float] = defaultdict(float)

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                totals[name] += time.perf_counter() - t
        return wrapper

    t0 = time.perf_counter()
    ana = get_analyzer()
    totals["analyzer load"] = time.perf_counter() - t0
    saved = (PR.read_file, P.clean_text, P.extract_metadata, P.split_sections, P.assign_topics, ana.index_text, ana.char_text, PR.json.dumps)
    PR.read_file = timed("read (decode, parse format)", PR.read_file)
    P.clean_text = timed("clean", P.clean_text)
    P.extract_metadata = timed("metadata", P.extract_metadata)
    P.split_sections = timed("structure (sections)", P.split_sections)
    P.assign_topics = timed("topics", P.assign_topics)
    ana.index_text = timed("analysis: index_text (segment)", ana.index_text)
    ana.char_text = timed("analysis: char_text (normalise)", ana.char_text)
    PR.json.dumps = timed("payload JSON", PR.json.dumps)
    has_fields = hasattr(ana, "index_fields")
    if has_fields:
        ana.index_fields = timed("analysis: index_fields (normalise + segment)", ana.index_fields)
    files, _ = scan(corpora)
    prepared = []
    t = time.perf_counter()
    try:
        for f in files:
            prepared.append((f, PR.prepare_file((str(f.root), str(f.path), f.corpus_name, f.rel))))
    finally:
        PR.read_file, P.clean_text, P.extract_metadata, P.split_sections, P.assign_topics, ana.index_text, ana.char_text, PR.json.dumps = saved
        del ana.index_text, ana.char_text  # back to the class methods
        if has_fields:
            del ana.index_fields
    totals["prepare_file total (1 process)"] = time.perf_counter() - t
    totals["other (dataclasses, glue)"] = totals["prepare_file total (1 process)"] - sum(
        v for k, v in totals.items() if k not in ("analyzer load", "prepare_file total (1 process)")
    )
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        index = tantivy.Index(S.build_schema(), path=tmp, reuse=False)
        S.register_tokenizers(index)
        store = DocStore(Path(tmp) / S.DOCSTORE)
        writer = index.writer(256_000_000, 1)
        n = 0
        for _f, p in prepared:
            docs, _ = _add_sections(writer, p, store, n)
            n += docs
        totals["tantivy: add documents + docstore"] = time.perf_counter() - t
        t = time.perf_counter()
        writer.commit()
        writer.wait_merging_threads()
        store.commit()
        store.close()
        totals["tantivy: commit + merge"] = time.perf_counter() - t
    totals["MB"] = sum(f.size for f in files) / 1e6
    return dict(totals)


def profile_query(index_dir: Path, passes: int = 3) -> dict[str, float]:
    import search_app.engine as E
    from bench.queries import query_mix
    from search_app.engine import SearchEngine, SearchRequest
    from search_app.query import parse_query

    eng = SearchEngine(index_dir)
    phases: dict[str, list[float]] = defaultdict(list)
    queries = query_mix()

    def one(bq, record: bool) -> None:
        req = SearchRequest(q=bq.q, filters={"year": list(bq.years)} if bq.years else {})
        marks = [time.perf_counter()]
        gen = eng._generation()
        compiled = gen.compiler.compile(parse_query(req.q))
        searcher = gen.index.searcher()
        filters = eng._filters(gen, req.filters)
        main = eng._query(compiled, filters)
        marks.append(time.perf_counter())
        total = searcher.search(main, 1, count=True).count
        if total:
            searcher.cardinality(main, E.S.F_DOC_NUM)
        marks.append(time.perf_counter())
        groups = eng._group_by_relevance(searcher, main, req.per_page, total)
        marks.append(time.perf_counter())
        page = groups[: req.per_page]
        for g in page:
            eng._hit(searcher, compiled.spec, g)
        marks.append(time.perf_counter())
        eng._facets(searcher, gen, compiled, req.filters)
        marks.append(time.perf_counter())
        if record:
            for name, a, b in zip(["compile", "count (sections + docs)", "top sections + grouping", "hits: stored docs + snippets", "facets"], marks, marks[1:]):
                phases[name].append((b - a) * 1000)
            phases["total"].append((marks[-1] - marks[0]) * 1000)

    for q in queries:
        one(q, False)
    for _ in range(passes):
        for q in queries:
            one(q, True)
    return {name: {"mean_ms": round(statistics.fmean(v), 3), "p50_ms": round(statistics.median(v), 3)} for name, v in phases.items()}


def main(argv: list[str] | None = None) -> None:
    from bench.run import DEFAULT_WORKDIR, SPEECH, speech_corpora

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=DEFAULT_WORKDIR / SPEECH / "ours")
    parser.add_argument("--skip-index", action="store_true")
    args = parser.parse_args(argv)
    out = {}
    if not args.skip_index:
        out["index_seconds"] = {k: round(v, 3) for k, v in profile_index(speech_corpora()).items()}
    out["query_ms"] = profile_query(args.index)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
