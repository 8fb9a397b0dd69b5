"""Reliability (issue #7): the production server keeps answering while reindexes swap generations.

`python -m search_app serve` (waitress, a subprocess on 127.0.0.1) serves an index of the
seeds; 8 client threads (bench.load) cycle through queries against /api/search and /search
for 8 seconds while two full reindexes run one after the other, the first adding a file
with a unique marker word. Every request must succeed (200, valid JSON or a complete page),
and afterwards the same server process — never restarted — must find the marker. The second
swap prunes the generation the server started on while requests may still be reading it.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from bench.load import DEFAULT_QUERIES, REPO, Server, current_generation, reindex_command, run_load, start_server
from indexer.build import reindex
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
    report = run_load(server.base_url, CLIENTS, SECONDS, (*DEFAULT_QUERIES, MARKER))
    load_ended = time.monotonic()
    reindexer.join(timeout=120)

    assert [code for code, _err, _at in outcomes] == [0, 0], outcomes
    assert all(at < load_ended for _code, _err, at in outcomes), "the swaps must happen while the load runs"
    assert report.failures == 0, "\n".join(report.lines())
    assert report.requests >= CLIENTS * 5, "\n".join(report.lines())

    assert server.process.poll() is None, "the server must keep running"
    assert current_generation(index) != first_generation
    assert not (index / first_generation).exists(), "the second swap prunes the first generation"
    # The same server process, never restarted, serves the new generation.
    assert get_json(server, f"/api/search?q={MARKER}")["total_docs"] == 1
    with urllib.request.urlopen(f"{server.base_url}/search?q={quote(MARKER)}", timeout=30) as response:
        assert MARKER in response.read().decode("utf-8")
