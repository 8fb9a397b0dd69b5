"""Reliability (issue #7): the production server keeps answering while reindexes swap generations.

`python -m search_app serve` (waitress, a subprocess on 127.0.0.1) serves an index of the
seeds; 8 client threads (bench.load) cycle through queries against /api/search and /search
for 8 seconds (longer if they take longer) while two full reindexes run one after the other, the first adding a file
with a unique marker word. Every request must succeed (200, valid JSON or a complete page),
and afterwards the same server process — never restarted — must find the marker. The second
swap prunes the generation the server started on while requests may still be reading it.

Connections (issue #16): 101 idle connections do not block a new client (waitress's default
limit was 100, idle ones kept 120 s); at a low connection limit a new client waits no longer
than the idle timeout. Stopping the server (SIGTERM, or SIGKILL) leaves none of its worker
processes behind.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from bench.load import (
    DEFAULT_QUERIES,
    REPO,
    Server,
    current_generation,
    process_tree,
    reindex_command,
    run_load,
    start_server,
)
from indexer.build import reindex
from search_app.limits import ENV
from tests.conftest import CORPUS

CLIENTS = 8
SECONDS = 8.0
REINDEX_AFTER = 1.0  # seconds into the load
MARKER = "mkservingmarker"


def get_json(server: Server, path: str) -> dict:
    """GET a JSON endpoint of the server."""
    with urllib.request.urlopen(server.base_url + path, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """The production server over a fresh index of the seeds: (server, index dir)."""
    index = tmp_path / "index"
    reindex([CORPUS], index, progress=False, workers=1)
    server = start_server(index, threads=8)
    try:
        yield server, index
    finally:
        server.stop()


def test_no_failed_request_while_reindexes_swap_generations(served: tuple[Server, Path], tmp_path: Path) -> None:
    server, index = served
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "新增 讲话.txt").write_text(
        f"新增的讲话稿\n\n同志们：今天的会议代号是 {MARKER}，请各地认真落实教育工作部署。\n", encoding="utf-8"
    )
    first_generation = current_generation(index)
    assert get_json(server, f"/api/search?q={MARKER}")["total_docs"] == 0

    outcomes: list[tuple[int, str, float]] = []  # (exit code, stderr, finished at)

    def reindex_twice() -> None:
        time.sleep(REINDEX_AFTER)
        for _ in range(2):
            proc = subprocess.run(reindex_command(index, [CORPUS, extra]), cwd=REPO, capture_output=True, text=True, timeout=60)
            outcomes.append((proc.returncode, proc.stderr[-2000:], time.monotonic()))

    reindexer = threading.Thread(target=reindex_twice)
    reindexer.start()
    # The load goes on, in rounds, until both reindexes are done (a busy machine makes them slow).
    give_up = time.monotonic() + 120
    reports = [run_load(server.base_url, CLIENTS, SECONDS, (*DEFAULT_QUERIES, MARKER))]
    while reindexer.is_alive() and time.monotonic() < give_up:
        reports.append(run_load(server.base_url, CLIENTS, SECONDS / 4, (*DEFAULT_QUERIES, MARKER)))
    load_ended = time.monotonic()
    reindexer.join(timeout=120)

    assert [code for code, _err, _at in outcomes] == [0, 0], outcomes
    assert all(at < load_ended for _code, _err, at in outcomes), "the swaps must happen while the load runs"
    summary = "\n".join(line for report in reports for line in report.lines())
    assert sum(report.failures for report in reports) == 0, summary
    assert sum(report.requests for report in reports) >= CLIENTS * 5, summary

    assert server.process.poll() is None, "the server must keep running"
    assert current_generation(index) != first_generation
    assert not (index / first_generation).exists(), "the second swap prunes the first generation"
    # The same server process, never restarted, serves the new generation.
    assert get_json(server, f"/api/search?q={MARKER}")["total_docs"] == 1
    with urllib.request.urlopen(f"{server.base_url}/search?q={quote(MARKER)}", timeout=30) as response:
        assert MARKER in response.read().decode("utf-8")


# -- connections (issue #16) ----------------------------------------------------------------------
IDLE_CLIENTS = 101  # waitress's default limit is 100 connections, idle ones kept for 120 s


def _open_idle(server: Server, count: int) -> list[socket.socket]:
    """`count` connections to the server that never send a byte."""
    parts = urlsplit(server.base_url)
    return [socket.create_connection((parts.hostname, parts.port), timeout=5) for _ in range(count)]


def _timed_search(server: Server, timeout: float) -> float:
    """Seconds until a search is answered (the request fails after `timeout`)."""
    started = time.monotonic()
    with urllib.request.urlopen(f"{server.base_url}/api/search?q={quote('双减')}", timeout=timeout) as response:
        assert response.status == 200 and json.loads(response.read())["total_docs"] > 0
    return time.monotonic() - started


def test_idle_connections_do_not_block_a_new_client(seed_index: Path) -> None:
    server = start_server(seed_index, threads=None)
    idle: list[socket.socket] = []
    try:
        idle = _open_idle(server, IDLE_CLIENTS)
        time.sleep(0.5)  # the server has accepted them all
        assert _timed_search(server, timeout=10) < 3
        assert server.process.poll() is None
    finally:
        for sock in idle:
            sock.close()
        server.stop()


def test_at_the_connection_limit_a_new_client_waits_no_longer_than_the_idle_timeout(seed_index: Path) -> None:
    idle_timeout = 2
    server = start_server(seed_index, threads=None, env={ENV["connection_limit"]: "20", ENV["idle_timeout_s"]: str(idle_timeout)})
    idle: list[socket.socket] = []
    try:
        idle = _open_idle(server, 30)  # more than the limit: the last ones wait in the listen backlog
        time.sleep(0.3)
        # The idle timeout, plus the once-a-second check, plus slack for a loaded machine.
        assert _timed_search(server, timeout=30) < idle_timeout + 2.5
        # The server closed the first idle connections: they read end-of-file.
        idle[0].settimeout(5)
        assert idle[0].recv(1) == b""
    finally:
        for sock in idle:
            sock.close()
        server.stop()


# -- worker processes ------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent may reap it


def _describe(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:160]
    except OSError:
        return "?"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopping_the_server_stops_its_worker_processes(seed_index: Path, stop: signal.Signals) -> None:
    server = start_server(seed_index, threads=None)
    try:
        workers = process_tree(server.process.pid)[1:]
        assert len(workers) >= 3, "two search workers, one for expensive searches (and the resource tracker)"
        with urllib.request.urlopen(f"{server.base_url}/api/search?q={quote('双减')}", timeout=30) as response:
            assert response.status == 200
        server.process.send_signal(stop)
        server.process.wait(timeout=30)
        deadline = time.monotonic() + 30  # a worker checks its parent every second; a busy machine is slower
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = {pid: _describe(pid) for pid in workers if _alive(pid)}
        assert not left, f"no worker outlives the server: {left}"
    finally:
        server.stop()
