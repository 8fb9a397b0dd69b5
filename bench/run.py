"""The three-way benchmark: build the same corpus with ours, Whoosh and FTS5; time queries; judge relevance.

    python -m bench --quick            # speech corpus, < 2 min, prints the headline JSON
    python -m bench [--runs 3]         # speech corpus, every build and query pass --runs times
    python -m bench --full             # + the whole ../shared/corpora (Whoosh alone takes minutes)
    python -m bench --corpus PATH ...  # your own corpus set instead
    python -m bench --json             # the whole result as JSON

Every build runs in its own subprocess (`bench.buildproc`), so its peak RSS is its own. Build
figures are medians over the build runs; query percentiles are computed per pass over the mix
(after one untimed warm-up pass) and the median over passes is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.corpora import CUSTOM, DEFAULT_WORKDIR, FULL, REPO, SPEECH, full_corpora, speech_corpora
from bench.peers import BUILD_ONLY, ENGINES, BenchQuery, open_searcher
from bench.queries import query_mix
from bench.relevance import evaluate, load_judgments


# ------------------------------------------------------------------------------------ builds
def build_once(engine: str, corpora: list[Path], out: Path) -> dict:
    """One build in a fresh subprocess; the BuildResult as a dict."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "bench.buildproc", engine, str(out), *map(str, corpora)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} build failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def build_stats(engine: str, corpora: list[Path], out: Path, runs: int, log) -> dict:
    """Median build figures over `runs` builds (the last build's index is kept for the queries)."""
    results = []
    for i in range(runs):
        r = build_once(engine, corpora, out)
        log(f"  build {engine} run {i + 1}/{runs}: {r['seconds']:.2f} s")
        results.append(r)
    secs = statistics.median(r["seconds"] for r in results)
    mb = results[0]["bytes"] / 1e6
    return {
        "engine": engine,
        "runs": runs,
        "seconds": round(secs, 3),
        "all_seconds": [round(r["seconds"], 3) for r in results],
        "parse_seconds": round(statistics.median(r["parse_seconds"] for r in results), 3),
        "mb": round(mb, 3),
        "mb_s": round(mb / secs, 3),
        "sections": results[0]["sections"],
        "index_mb": round(results[-1]["size_bytes"] / 1e6, 2),
        "peak_rss_mb": round(statistics.median(r["maxrss_mb"] for r in results), 1),
        "workers_peak_rss_mb": round(statistics.median(r["workers_maxrss_mb"] for r in results), 1),
        "notes": results[0]["notes"],
    }


# ----------------------------------------------------------------------------------- queries
def percentiles(ms: list[float]) -> dict[str, float]:
    """p50/p95/p99 (nearest-rank) and mean of a list of milliseconds."""
    s = sorted(ms)

    def rank(p: float) -> float:
        return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99), "mean": statistics.fmean(s)}


def time_queries(fn, queries: list[BenchQuery], runs: int) -> dict:
    """Per-pass percentiles of `fn(query)` over the mix; the median of each over the passes."""
    for q in queries:  # warm-up: caches, lazy loading
        fn(q)
    passes = []
    kinds: dict[str, list[float]] = {}
    for _ in range(runs):
        ms = []
        for q in queries:
            t = time.perf_counter()
            fn(q)
            dt = (time.perf_counter() - t) * 1000
            ms.append(dt)
            kinds.setdefault(q.kind, []).append(dt)
        passes.append(percentiles(ms))
    out = {k: round(statistics.median(p[k] for p in passes), 3) for k in ("p50", "p95", "p99", "mean")}
    out["by_kind_p50"] = {k: round(statistics.median(v), 3) for k, v in kinds.items()}
    out["runs"] = runs
    out["queries"] = len(queries)
    return out


def run_set(name: str, corpora: list[Path], workdir: Path, build_runs: dict[str, int], query_runs: dict[str, int],
            relevance: bool, log) -> dict:
    """Builds, query latency and (on the speech set) relevance for one corpus set."""
    log(f"corpus set {name}: {', '.join(map(str, corpora))}")
    builds = {e: build_stats(e, corpora, workdir / name / e, build_runs.get(e, build_runs["fts5"]), log) for e in (*ENGINES, *BUILD_ONLY)}
    searchers = {e: open_searcher(e, workdir / name / e) for e in ENGINES}
    queries = query_mix()
    page, latency = {}, {}
    for e in ENGINES:
        log(f"  results pages {e} ({query_runs[e]} passes of {len(queries)})")
        page[e] = time_queries(searchers[e].page, queries, query_runs[e])
    for e in ENGINES:
        log(f"  bare top-k {e} ({query_runs[e]} passes of {len(queries)})")
        bare = searchers[e].search_bare if e == "ours" else searchers[e].search
        latency[e] = time_queries(lambda q, fn=bare: fn(q, 20), queries, query_runs[e])
    result = {"name": name, "corpora": [str(c) for c in corpora], "builds": builds, "page": page, "latency": latency}
    if relevance:

        judged = [j for j in load_judgments() if j.get("grades")]
        if judged:
            result["relevance"] = evaluate(searchers, judged)
    for s in searchers.values():
        if hasattr(s, "close"):
            s.close()
    return result


# ------------------------------------------------------------------------------------ report
def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def headline(speech: dict) -> dict:
    """The --quick JSON: throughput, speed-ups (each key names its comparison), nDCG@10.

    ``page_*`` compare the same results-page work (top 10 + snippets + total + facets);
    ``bare_*`` the bare top-k query; ``index_*_fts5_plain`` the uncleaned one-row-per-file build,
    ``index_*_tantivy_plain`` the same into tantivy.
    """
    b, page, lat = speech["builds"], speech["page"], speech["latency"]
    rel = speech.get("relevance", {})
    return {
        "index_mb_s": b["ours"]["mb_s"],
        "index_speedup_vs_whoosh": ratio(b["whoosh"]["seconds"], b["ours"]["seconds"]),
        "index_speedup_vs_fts5": ratio(b["fts5"]["seconds"], b["ours"]["seconds"]),
        "index_speedup_vs_fts5_plain": ratio(b["fts5_plain"]["seconds"], b["ours"]["seconds"]),
        "index_speedup_vs_tantivy_plain": ratio(b["tantivy_plain"]["seconds"], b["ours"]["seconds"]),
        "page_p50_ms": round(page["ours"]["p50"], 2),
        "page_speedup_vs_whoosh": ratio(page["whoosh"]["p50"], page["ours"]["p50"]),
        "page_speedup_vs_fts5": ratio(page["fts5"]["p50"], page["ours"]["p50"]),
        "bare_p50_ms": round(lat["ours"]["p50"], 3),
        "bare_speedup_vs_whoosh": ratio(lat["whoosh"]["p50"], lat["ours"]["p50"]),
        "bare_speedup_vs_fts5": ratio(lat["fts5"]["p50"], lat["ours"]["p50"]),
        "ndcg10": rel.get("ours", {}).get("ndcg10"),
        "ndcg10_whoosh": rel.get("whoosh", {}).get("ndcg10"),
        "ndcg10_fts5": rel.get("fts5", {}).get("ndcg10"),
    }


def table(res: dict) -> str:
    """The human-readable tables of one corpus set."""
    b, page, lat = res["builds"], res["page"], res["latency"]
    lines = [f"== {res['name']}: {b['ours']['mb']:.1f} MB raw, {b['ours']['sections']} sections =="]
    lines.append(f"{'engine':12}{'build s':>9}{'MB/s':>8}{'index MB':>10}{'peak RSS MB':>13}{'workers MB':>12}{'runs':>6}")
    for e in (*ENGINES, *BUILD_ONLY):
        r = b[e]
        lines.append(
            f"{e:12}{r['seconds']:9.2f}{r['mb_s']:8.2f}{r['index_mb']:10.1f}{r['peak_rss_mb']:13.0f}"
            f"{r['workers_peak_rss_mb']:12.0f}{r['runs']:6}"
        )
    for title, rows in (("results page ms", page), ("bare top-k ms", lat)):
        lines.append(f"{title:16}{'p50':>8}{'p95':>8}{'p99':>8}{'mean':>8}  p50 by kind")
        for e in ENGINES:
            r = rows[e]
            kinds = " ".join(f"{k}={v:.1f}" for k, v in r["by_kind_p50"].items())
            lines.append(f"{e:16}{r['p50']:8.2f}{r['p95']:8.2f}{r['p99']:8.2f}{r['mean']:8.2f}  {kinds}")
    lines.append(
        "ours vs peers: build "
        + ", ".join(f"{ratio(b[e]['seconds'], b['ours']['seconds'])}× faster than {e}" for e in (*ENGINES[1:], *BUILD_ONLY))
        + "; results page p50 "
        + ", ".join(f"{ratio(page[e]['p50'], page['ours']['p50'])}× faster than {e}" for e in ENGINES[1:])
        + "; bare top-k p50 "
        + ", ".join(f"{ratio(lat[e]['p50'], lat['ours']['p50'])}× faster than {e}" for e in ENGINES[1:])
    )
    if "relevance" in res:
        lines.append(f"{'relevance':14}{'nDCG@10':>9}{'R@20':>8}  ({next(iter(res['relevance'].values()))['queries']} judged queries)")
        for e, r in res["relevance"].items():
            lines.append(f"{e:14}{r['ndcg10']:9.3f}{r['recall20']:8.3f}")
    return "\n".join(lines)


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import sqlite3

    import tantivy
    import whoosh

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": mem,
        "python": platform.python_version(),
        "tantivy": getattr(tantivy, "__version__", "0.27.0"),
        "whoosh": whoosh.versionstring(),
        "sqlite": sqlite3.sqlite_version,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description="three-way benchmark: ours vs Whoosh vs FTS5")
    parser.add_argument("--corpus", action="append", type=Path, help="corpus root (repeatable); default: the speech corpus")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="speech corpus, fewer runs (< 2 min); prints the headline JSON")
    mode.add_argument("--full", action="store_true", help="also the whole ../shared/corpora")
    parser.add_argument("--runs", type=int, default=None, help="build and query passes per engine (default 3)")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help=f"where indexes are built (default {DEFAULT_WORKDIR})")
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    runs = args.runs or 3
    if args.quick:
        # Whoosh builds once (about 20 s on the speech corpus); everything else 3 times (or --runs).
        build_runs = {"ours": runs, "fts5": runs, "whoosh": 1}
        query_runs = {"ours": runs, "fts5": runs, "whoosh": max(1, min(runs, 2))}
    else:
        build_runs = {e: runs for e in ENGINES}
        query_runs = {e: runs for e in ENGINES}
    sets: list[tuple[str, list[Path]]] = []
    if args.corpus:
        sets.append((CUSTOM, args.corpus))
    else:
        sets.append((SPEECH, speech_corpora()))
        if args.full:
            sets.append((FULL, full_corpora()))
    results = []
    for name, corpora in sets:
        br = dict(build_runs)
        if name == FULL:
            br["whoosh"] = 1  # about 6-10 minutes per Whoosh build of the ~100 MB corpus
        results.append(run_set(name, corpora, args.workdir, br, query_runs, relevance=name == SPEECH, log=log))
    report = {"machine": machine(), "sets": results, "wall_seconds": round(time.perf_counter() - started, 1)}
    speech = next((r for r in results if r["name"] == SPEECH), None)
    if speech is not None:
        report["headline"] = headline(speech)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for r in results:
        print(table(r))
        print()
    if "headline" in report:
        print(json.dumps(report["headline"]))
    print(f"(wall time {report['wall_seconds']} s)", file=sys.stderr)
