"""Load test: the production server under concurrent clients, optionally while a reindex swaps generations.

    .venv/bin/python -m bench.load --index I --clients 20 --seconds 30 \\
        [--reindex-corpus corpus] [--reindex-after 5]
    .venv/bin/python -m bench.load --index I --expensive-clients 20 --cheap-clients 5 --seconds 30

    .venv/bin/python -m bench.load --index I --doc DOC_ID [--doc-query 双减]

The second form is the admission-control scenario: EXPENSIVE clients send the most expensive
query we know (a 500-character OR of common words; --expensive-query to change it) while
CHEAP clients send short queries; each group gets its own throughput and p50/p95/p99. A 503
with Retry-After is counted as "refused" (admission control doing its job), not as a failure,
in the expensive group only: for the cheap group every non-200 is a failure. The third
fetches pages of one (long) document from /doc and /api/doc and prints each response's size
and time and the server's resident memory before, at its peak and after.

Starts `python -m search_app serve --index I` on 127.0.0.1 (a free port), runs CLIENTS
threads for SECONDS seconds, each cycling through a few queries against /api/search and
/search over one keep-alive connection, and — with --reindex-corpus — runs a full reindex
of those corpora into the same index while the load runs (the server must switch to the new
generation without a restart or a failed request). Prints throughput, latency percentiles and
failures; a failure is a transport error, a status other than 200, invalid JSON from /api or
an incomplete HTML page. Exit status 0 when nothing failed, 1 otherwise.

Only 127.0.0.1, bounded in clients and time. `tests/test_reliability_serving.py` uses the
same functions at a small size.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from urllib.parse import quote, urlsplit

REPO = Path(__file__).resolve().parents[1]
DEFAULT_QUERIES = ("教育", "双减", "义务教育 OR 职业教育", '"立德树人"', "教师 year:2018..2025", "改革 -疫情", "")
CHEAP_QUERIES = ("双减", '"集团化办学"', "控辍保学", "教师 year:2018..2025", "职业教育 -高等教育")
# Common words of the collection, each distinct: repeats cost nothing since the parser keeps
# each word once ("a OR a" is a).
COMMON_WORDS = tuple(
    "教育 学校 教师 学生 发展 工作 建设 改革 加强 推进 提高 质量 全面 社会 经济 国家 人民 中国 政府 管理 "
    "服务 制度 体系 重点 加快 完善 实施 坚持 创新 文化 安全 健康 人才 科技 农村 城市 地方 组织 单位 部门 "
    "保障 落实 深化 支持 规定 法律 条例 机构 企业 市场 资金 项目 工程 保护 环境 生产 活动 培训 研究 水平 "
    "能力 群众 基层 领导 责任 问题 任务 目标 政策 措施 标准 机制 监督 检查 考核 评价 资源 投入 财政 卫生".split()
)
# A union over the postings of the most common words, scored, counted and faceted: the
# dearest query found on the whole collection (83 words, ≈ 500 characters, the query length limit).
EXPENSIVE_QUERY = " OR ".join(COMMON_WORDS)[:500].rsplit(" OR ", 1)[0]
PATHS = ("/api/search", "/search")
MAX_CLIENTS = 200
MAX_SECONDS = 600
REQUEST_TIMEOUT = 30.0
KEPT_FAILURES = 20  # failure descriptions kept for the report


@dataclass
class LoadReport:
    """Outcome of a load run: every latency, and the failures (counted, the first few described)."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    served: list[float] = field(default_factory=list)  # latencies of the 200 responses
    refused: int = 0  # 503 with Retry-After, where the group allows it
    failures: int = 0
    failure_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def requests(self) -> int:
        """Requests completed, failed ones included."""
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float, latencies: list[float] | None = None) -> float:
        """Latency (seconds) at percentile `p` (nearest rank) of every request, or of `latencies`."""
        ordered = sorted(self.latencies if latencies is None else latencies)
        if not ordered:
            return 0.0
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1]

    def record(self, latency: float, failure: str | None, refused: bool = False) -> None:
        """Add one request's outcome (thread-safe)."""
        with self.lock:
            self.latencies.append(latency)
            if refused:
                self.refused += 1
            elif not failure:
                self.served.append(latency)
            if failure:
                self.failures += 1
                if len(self.failure_samples) < KEPT_FAILURES:
                    self.failure_samples.append(failure)

    def lines(self) -> list[str]:
        """The human-readable summary."""
        out = [
            f"requests: {self.requests} in {self.seconds:.1f} s = {self.throughput:.1f} req/s",
            "latency: p50 {:.1f} ms, p95 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms".format(
                *(1000 * self.percentile(p) for p in (50, 95, 99, 100))
            ),
            f"failures: {self.failures}",
        ]
        if self.refused:
            out.insert(
                2,
                f"served (200): {len(self.served)} = {len(self.served) / self.seconds:.1f} req/s, "
                + "p50 {:.1f} ms, p95 {:.1f} ms, p99 {:.1f} ms; refused (503 + Retry-After): {}".format(
                    *(1000 * self.percentile(p, self.served) for p in (50, 95, 99)), self.refused
                ),
            )
        out += [f"  {sample}" for sample in self.failure_samples]
        return out


def check_response(path: str, status: int, content_type: str, body: bytes) -> str | None:
    """Why a response counts as failed, or None when it is good."""
    if status != 200:
        return f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}"
    if path.startswith("/api/"):
        try:
            data = json.loads(body)
        except ValueError as exc:
            return f"invalid JSON ({exc}): {body[:200].decode('utf-8', 'replace')}"
        return None if isinstance(data, dict) and "hits" in data else f"JSON without hits: {body[:200]!r}"
    if not content_type.startswith("text/html") or b"</html>" not in body:
        return f"incomplete HTML page ({content_type}, {len(body)} bytes)"
    return None


def _client(base_url: str, targets: list[str], offset: int, deadline: float, report: LoadReport, group: Group) -> None:
    """One client of `group`: requests `targets` in turn (starting at `offset`) over a keep-alive connection until `deadline`.

    With the group's `allow_refusal`, a 503 that carries Retry-After counts as refused, not
    failed; the client waits as told with `honour_retry_after`, else sends its next request
    at once (the worst case for everyone else). `think` is its pause between requests.
    """
    parts = urlsplit(base_url)
    connection: http.client.HTTPConnection | None = None
    n = offset
    while time.monotonic() < deadline:
        target = targets[n % len(targets)]
        n += 1
        started = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
            connection.request("GET", target)
            response = connection.getresponse()
            body = response.read()
            retry_after = response.getheader("Retry-After")
            refused = group.allow_refusal and response.status == 503 and retry_after is not None
            failure = None if refused else check_response(target, response.status, response.getheader("Content-Type", ""), body)
            if response.will_close:
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as exc:
            refused, retry_after = False, None
            failure = f"{type(exc).__name__}: {exc} ({target})"
            if connection is not None:
                connection.close()
            connection = None
        report.record(time.perf_counter() - started, failure and f"{target}: {failure}", refused)
        pause = float(retry_after) if refused and group.honour_retry_after and retry_after.isdecimal() else group.think
        if pause:
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
    if connection is not None:
        connection.close()


def targets_for(queries: tuple[str, ...] | list[str]) -> list[str]:
    """Request targets: every query against every path."""
    return [f"{path}?q={quote(q, safe='')}" for q in queries for path in PATHS]


def run_load(base_url: str, clients: int, seconds: float, queries: tuple[str, ...] | list[str] = DEFAULT_QUERIES) -> LoadReport:
    """Run `clients` threads against `base_url` for `seconds` seconds; returns when all have stopped."""
    return run_groups(base_url, [Group("all", clients, tuple(queries))], seconds)["all"]


@dataclass(frozen=True)
class Group:
    """Clients that send the same kind of request, reported together."""

    name: str
    clients: int
    queries: tuple[str, ...]
    allow_refusal: bool = False  # 503 + Retry-After counts as refused, not failed
    honour_retry_after: bool = False  # after a refusal, wait as long as Retry-After says
    think: float = 0.0  # seconds between a client's requests


def run_groups(base_url: str, groups: list[Group], seconds: float) -> dict[str, LoadReport]:
    """Run every group's clients at once against `base_url` for `seconds` seconds: a report per group.

    With several groups, each runs in its own process, as separate clients would: the
    threads of one interpreter share its lock, so a flood of fast refusals to one group
    would otherwise slow the other group's clients and show up as server latency.
    """
    clients = sum(g.clients for g in groups)
    if not 1 <= clients <= MAX_CLIENTS or not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"clients must be 1..{MAX_CLIENTS} and seconds 0..{MAX_SECONDS}")
    if urlsplit(base_url).hostname != "127.0.0.1":
        raise ValueError("the load test only runs against 127.0.0.1")
    started = time.monotonic()
    deadline = started + seconds  # CLOCK_MONOTONIC is one clock for every process
    if len(groups) == 1:
        reports = {groups[0].name: _run_group(base_url, groups[0], deadline, seconds)}
    else:
        context = multiprocessing.get_context("fork")  # this process runs no threads yet
        channels = []
        for group in groups:
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_group_process, args=(base_url, group, deadline, seconds, sender), daemon=True)
            process.start()
            sender.close()
            channels.append((group, process, receiver))
        reports = {}
        for group, process, receiver in channels:
            latencies, served, refused, failures, samples = receiver.recv()
            process.join()
            reports[group.name] = LoadReport(0.0, latencies, served, refused, failures, samples)
    for report in reports.values():
        report.seconds = time.monotonic() - started
    return reports


def _run_group(base_url: str, group: Group, deadline: float, seconds: float) -> LoadReport:
    report = LoadReport()
    targets = targets_for(group.queries)
    threads = [
        threading.Thread(target=_client, args=(base_url, targets, i, deadline, report, group), daemon=True)
        for i in range(group.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 2 * REQUEST_TIMEOUT)
    return report


def _group_process(base_url: str, group: Group, deadline: float, seconds: float, sender: Connection) -> None:
    report = _run_group(base_url, group, deadline, seconds)
    with report.lock:
        sender.send((report.latencies, report.served, report.refused, report.failures, report.failure_samples))
    sender.close()


@dataclass
class Server:
    """A running `python -m search_app serve` subprocess."""

    process: subprocess.Popen[str]
    base_url: str
    log: Path  # its stderr

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and remove its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.unlink(missing_ok=True)


def start_server(index: Path, threads: int | None = 8, timeout: float = 60.0, env: dict[str, str] | None = None) -> Server:
    """Start the production server on a free port of 127.0.0.1 and wait until it listens.

    `threads` None leaves the thread count to the server's configuration; `env` adds
    environment variables (the server's limits, see search_app.limits).
    """
    log = Path(tempfile.mkstemp(prefix="edu-search-serve-", suffix=".log")[1])
    command = [sys.executable, "-m", "search_app", "serve", "--index", str(index), "--host", "127.0.0.1", "--port", "0"]
    if threads is not None:
        command += ["--threads", str(threads)]
    with open(log, "w", encoding="utf-8") as err:
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True, env={**os.environ, **(env or {})})
    lines: queue.Queue[str] = queue.Queue()
    # Reads stdout for the server's whole life, so that it never blocks on a full pipe.
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line.startswith("serving on "):
            return Server(process, line.split()[2].rstrip("/"), log)
    process.kill()
    process.wait()
    message = log.read_text(encoding="utf-8", errors="replace")
    log.unlink(missing_ok=True)
    raise RuntimeError(f"the server did not start within {timeout:.0f} s: {message[-2000:]}")


def reindex_command(index: Path, corpora: list[Path]) -> list[str]:
    """The CLI command of a full reindex of `corpora` into `index`."""
    command = [sys.executable, "-m", "indexer", "reindex", "--index", str(index), "--json"]
    for corpus in corpora:
        command += ["--corpus", str(corpus)]
    return command


def current_generation(index: Path) -> str:
    """The generation named by the index's CURRENT pointer."""
    return (index / "CURRENT").read_text(encoding="utf-8").strip()


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m bench.load`."""
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="index directory to serve (and to reindex into)")
    parser.add_argument("--clients", type=int, default=20, help=f"concurrent client threads (1..{MAX_CLIENTS})")
    parser.add_argument("--seconds", type=float, default=30.0, help=f"duration of the load (up to {MAX_SECONDS})")
    parser.add_argument("--threads", type=int, default=None, help="server worker threads (default: the server's configuration)")
    parser.add_argument("--query", action="append", help="a query to cycle through (repeatable; default: a built-in mix)")
    parser.add_argument("--expensive-clients", type=int, default=0, help="admission scenario: clients sending --expensive-query")
    parser.add_argument("--cheap-clients", type=int, default=0, help="admission scenario: clients sending --cheap-query")
    parser.add_argument("--expensive-query", action="append", help="default: a 500-character OR of common words")
    parser.add_argument("--cheap-query", action="append", help="repeatable; default: a few short queries")
    parser.add_argument("--honour-retry-after", action="store_true", help="refused expensive clients wait as Retry-After says (default: retry at once)")
    parser.add_argument("--cheap-think", type=float, default=0.0, help="seconds each cheap client pauses between requests (default 0)")
    parser.add_argument("--doc", help="document scenario: the doc_id of a long document")
    parser.add_argument("--doc-query", default="双减", help="document scenario: the query to highlight (default 双减)")
    parser.add_argument("--reindex-corpus", type=Path, action="append", help="run a full reindex of these corpora during the load (repeatable)")
    parser.add_argument("--reindex-after", type=float, default=None, help="seconds into the load to start the reindex (default: a sixth of --seconds)")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS or not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--clients must be 1..{MAX_CLIENTS} and --seconds in (0, {MAX_SECONDS}]")
    if not (args.index / "CURRENT").exists():
        parser.error(f"no index at {args.index}: build it first with `python -m indexer reindex --index {args.index}`")

    if args.expensive_clients or args.cheap_clients:
        return _admission_scenario(args)
    if args.doc:
        return _document_scenario(args)
    server = start_server(args.index, args.threads)
    reindex_result: dict[str, object] = {}
    reindexer: threading.Thread | None = None
    try:
        print(f"server {server.base_url} (pid {server.process.pid}), {args.clients} clients for {args.seconds:g} s", flush=True)
        if args.reindex_corpus:
            delay = args.seconds / 6 if args.reindex_after is None else args.reindex_after
            reindexer = threading.Thread(
                target=_reindex_later, args=(args.index, args.reindex_corpus, delay, reindex_result), daemon=True
            )
            reindexer.start()
        report = run_load(server.base_url, args.clients, args.seconds, tuple(args.query or DEFAULT_QUERIES))
        if reindexer is not None:
            reindexer.join()
        alive = server.process.poll() is None
    finally:
        server.stop()
    for line in report.lines():
        print(line)
    if args.reindex_corpus:
        print(
            "reindex: exit {code} after {seconds:.1f} s (started {delay:.1f} s into the load), generation {before} -> {after}".format(
                **reindex_result
            )
        )
    print(f"server still running at the end: {'yes' if alive else 'NO'}")
    reindex_ok = not args.reindex_corpus or reindex_result.get("code") == 0
    return 0 if report.failures == 0 and alive and reindex_ok else 1


def _admission_scenario(args: argparse.Namespace) -> int:
    """Expensive and cheap clients at once; 0 when nothing failed (503 + Retry-After to the expensive ones is allowed)."""
    groups = [
        Group(
            "expensive",
            args.expensive_clients,
            tuple(args.expensive_query or (EXPENSIVE_QUERY,)),
            allow_refusal=True,
            honour_retry_after=args.honour_retry_after,
        ),
        Group("cheap", args.cheap_clients, tuple(args.cheap_query or CHEAP_QUERIES), think=args.cheap_think),
    ]
    groups = [g for g in groups if g.clients]
    server = start_server(args.index, args.threads)
    try:
        rss_start = server_rss_mb(server)
        print(f"server {server.base_url} (pid {server.process.pid}), RSS {rss_start:.0f} MB", flush=True)
        print(", ".join(f"{g.clients} {g.name} clients" for g in groups) + f" for {args.seconds:g} s", flush=True)
        reports = run_groups(server.base_url, groups, args.seconds)
        alive = server.process.poll() is None
        rss_end = server_rss_mb(server) if alive else 0.0
    finally:
        server.stop()
    for group in groups:
        print(f"[{group.name}] queries: {', '.join(q[:40] + ('…' if len(q) > 40 else '') for q in group.queries)}")
        for line in reports[group.name].lines():
            print(f"[{group.name}] {line}")
    print(f"server RSS: {rss_start:.0f} MB at the start, {rss_end:.0f} MB at the end; still running: {'yes' if alive else 'NO'}")
    return 0 if alive and all(r.failures == 0 for r in reports.values()) else 1


def _document_scenario(args: argparse.Namespace) -> int:
    """Pages of one document, with the server's memory around them; 0 when every page was a 200."""
    server = start_server(args.index, args.threads)
    doc, q = quote(args.doc, safe=""), quote(args.doc_query, safe="")
    failed = 0
    try:
        parts = urlsplit(server.base_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)

        def fetch(target: str) -> tuple[int, bytes]:
            connection.request("GET", target)
            response = connection.getresponse()
            return response.status, response.read()

        fetch(f"/search?q={q}")  # warm up: the engine, the analyzer, the templates
        baseline = server_rss_mb(server)
        sampled = [baseline]
        done = threading.Event()

        def sample() -> None:  # the peak happens inside a request
            while not done.wait(0.05):
                sampled.append(server_rss_mb(server))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        print(f"server {server.base_url} (pid {server.process.pid}), RSS after warm-up {baseline:.0f} MB", flush=True)
        status, body = fetch(f"/api/doc/{doc}")
        pages = json.loads(body).get("pages", 1) if status == 200 else 1
        targets = [f"/doc/{doc}", f"/doc/{doc}?q={q}", f"/api/doc/{doc}", f"/api/doc/{doc}?q={q}", f"/doc/{doc}?page={pages}", f"/api/doc/{doc}?q={q}&page={pages}"]
        for target in targets:
            started = time.perf_counter()
            status, body = fetch(target)
            seconds = time.perf_counter() - started
            rss = server_rss_mb(server)
            failed += status != 200
            print(f"{target[:70]:70s} HTTP {status} {len(body) / 2**20:8.2f} MB in {seconds:6.2f} s, server RSS {rss:.0f} MB", flush=True)
        connection.close()
        time.sleep(2)
        after = server_rss_mb(server)
        done.set()
        sampler.join()
    finally:
        server.stop()
    peak = max(sampled)
    print(f"document: {pages} pages; server RSS {baseline:.0f} MB before, {peak:.0f} MB at the peak, {after:.0f} MB after ({100 * (after - baseline) / baseline:+.0f} %)")
    return 1 if failed else 0


def server_rss_mb(server: Server) -> float:
    """Resident memory of the server and its worker processes (MB, summed), from /proc."""
    return sum(_rss_mb(pid) for pid in process_tree(server.process.pid))


def process_tree(pid: int) -> list[int]:
    """The pid and its descendants, parents first."""
    pids = [pid]
    for parent in pids:  # grows while it is walked: children, then theirs
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                pids += [int(child) for child in task.read_text().split()]
            except OSError:  # the thread ended meanwhile
                continue
    return pids


def _rss_mb(pid: int) -> float:
    try:
        lines = Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines()
    except OSError:  # the process ended meanwhile
        return 0.0
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reindex_later(index: Path, corpora: list[Path], delay: float, result: dict[str, object]) -> None:
    """Wait `delay` seconds, run a full reindex, and note its exit code, duration and generations."""
    time.sleep(delay)
    before = current_generation(index)
    started = time.monotonic()
    proc = subprocess.run(reindex_command(index, corpora), cwd=REPO, capture_output=True, text=True)
    result.update(code=proc.returncode, seconds=time.monotonic() - started, delay=delay, before=before, after=current_generation(index))
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
