"""Where the time goes: the indexer's per-file work by stage, and SearchEngine.search by phase.

    python -m bench.profile [--index DIR]      # DIR: an index of the speech corpus (default: the bench workdir's)
    python -m bench.profile --skip-query --corpus PATH [--corpus PATH ...]   # the indexer on other files

Index side: every stage of `indexer.prepare.prepare_file` timed over the speech corpus in one
process (reading, cleaning, metadata, structure, topics, analysis: index_fields,
payload JSON), then the tantivy writing of the prepared sections. Query side: the phases
`SearchEngine.search` times itself over the query mix: compile, counts and facets (one
aggregation), grouping and folding, hits (stored sections + snippets), facets under a selection.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path


def profile_index(corpora: list[Path]) -> dict[str, float]:
    """CPU seconds per stage of preparing `corpora` in this process, then wall seconds of writing them to tantivy.

    Nested stages (the Markdown parse inside reading, the analyzer's steps inside
    `index_fields`) are listed under their own names and also counted in their parent.
    """
    import tempfile

    import tantivy

    import indexer.pipeline as P
    import indexer.prepare as PR
    import indexer.readers.markdown as MD
    from indexer.build import _add_sections, scan
    from speechindex import dedup
    from speechindex import schema as S
    from speechindex.analysis import get_analyzer
    from speechindex.docstore import DocStore
    from speechindex.records import DocumentRecord

    totals: dict[str, float] = defaultdict(float)
    restore: list[tuple[object, str, object]] = []

    def timed(owner: object, attr: str, name: str) -> None:
        fn = getattr(owner, attr)

        def wrapper(*a, **k):
            t = time.thread_time()  # CPU time: other jobs on the machine do not count
            try:
                return fn(*a, **k)
            finally:
                totals[name] += time.thread_time() - t

        restore.append((owner, attr, fn))
        setattr(owner, attr, wrapper)

    t0 = time.perf_counter()
    ana = get_analyzer()
    totals["analyzer load"] = time.perf_counter() - t0
    stages = [
        (PR, "read_file", "read (decode, parse format)"),
        (MD, "markdown_document", "  of which Markdown (markdown-it-py + lxml)"),
        (P, "clean_text", "clean"),
        (P, "extract_metadata", "metadata"),
        (P, "split_sections", "structure (sections)"),
        (P, "assign_topics", "topics"),
        (ana, "index_fields", "analysis: index_fields (bodies, headings, titles)"),
        (ana, "normalize", "  in analysis: normalise (NFKC, t2s, years)"),
        (ana, "_drop_crossing_words", "  in analysis: _drop_crossing_words"),
        (ana, "_inner_words", "  in analysis: _inner_words"),
        (PR.dedup, "section_shingles", "dedup shingles + signature"),
        (PR, "document_terms", "suggestion terms"),
        (DocumentRecord, "dumps", "document record (JSON)"),
    ]
    for owner, attr, name in stages:
        if hasattr(owner, attr):
            timed(owner, attr, name)
    files, _ = scan(corpora)
    prepared = []
    t = time.thread_time()
    try:
        for f in files:
            prepared.append((f, PR.prepare_file(PR.FileTask(str(f.root), str(f.path), f.corpus_name, f.rel))))
    finally:
        for owner, attr, original in reversed(restore):
            if owner is ana:
                delattr(ana, attr)  # back to the class method
            else:
                setattr(owner, attr, original)
    total = totals["prepare_file total (1 process)"] = time.thread_time() - t
    totals["other (glue: payloads, dataclasses)"] = total - sum(
        v for k, v in totals.items() if not k.startswith(" ") and k not in ("analyzer load", "prepare_file total (1 process)")
    )
    analysis = totals["analysis: index_fields (bodies, headings, titles)"]
    totals["  in analysis: rjieba cut_for_search + joins (the rest)"] = analysis - sum(
        v for k, v in totals.items() if k.startswith("  in analysis")
    )
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        index = tantivy.Index(S.build_schema(), path=tmp, reuse=False)
        S.register_tokenizers(index)
        store = DocStore(Path(tmp) / S.DOCSTORE)
        dedup.ensure_tables(store.db)
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


def profile_query(index_dir: Path, passes: int = 3) -> dict[str, dict[str, float]]:
    """Milliseconds per phase of `SearchEngine.search` (its own phase clock) over the query mix."""
    from bench.queries import query_mix
    from search_app.engine import SearchEngine, SearchRequest

    eng = SearchEngine(index_dir)
    phases: dict[str, list[float]] = defaultdict(list)
    queries = query_mix()

    def one(bq, record: bool) -> None:
        times: dict[str, float] = {}
        started = time.perf_counter()
        eng.search(SearchRequest(q=bq.q, filters={"year": list(bq.years)} if bq.years else {}), phases=times)
        if record:
            for name, ms in times.items():
                phases[name].append(ms)
            phases["total"].append((time.perf_counter() - started) * 1000)

    for q in queries:
        one(q, False)
    for _ in range(passes):
        for q in queries:
            one(q, True)
    return {name: {"mean_ms": round(statistics.fmean(v), 3), "p50_ms": round(statistics.median(v), 3)} for name, v in phases.items()}


def main(argv: list[str] | None = None) -> None:
    from bench.corpora import DEFAULT_WORKDIR, SPEECH, speech_corpora

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=DEFAULT_WORKDIR / SPEECH / "ours")
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--skip-query", action="store_true")
    parser.add_argument("--corpus", type=Path, action="append", help="profile indexing these (default: the speech corpus)")
    args = parser.parse_args(argv)
    out: dict[str, object] = {}
    if not args.skip_index:
        out["index_seconds"] = {k: round(v, 3) for k, v in profile_index(args.corpus or speech_corpora()).items()}
    if not args.skip_query:
        out["query_ms"] = profile_query(args.index)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
