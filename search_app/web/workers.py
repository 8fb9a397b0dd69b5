"""Searches in worker processes, so that their CPU work never holds the serving process's GIL.

Under `serve`, the serving process only speaks HTTP and applies admission control
(`search_app.limits.Admission`); the work runs in two pools of spawned processes, each
process with its own app and engine over the same index (generation swaps are followed there
as here): EDU_SEARCH_PROCESSES workers for the ordinary requests, and EDU_SEARCH_EXPENSIVE_SLOTS
workers for the admitted expensive ones (an 80-word OR query: about 0.1 s of scoring,
counting, faceting and highlighting). On threads of one process that work would hold the
interpreter lock in 5 ms turns, and every cheap request (a few ms, but many lock hand-offs)
would wait behind it; in its own pool it can never take more cores than its slots.

Requests cross as a plain WSGI environ (the CGI variables and the body); the response comes
back whole (status, headers, body).
"""

from __future__ import annotations

import io
import multiprocessing
import sys
import threading
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from typing import Any

from search_app.engine import SearchEngine, SearchRequest
from search_app.limits import Response, WsgiApp, collect_response
from speechindex.errors import EduSearchError
from speechindex.lifecycle import exit_with_parent

WORKER_START_TIMEOUT = 120  # seconds; a worker that takes longer is a broken installation
WARM_UP_QUERY = "教育"

_APP: WsgiApp | None = None  # the worker process's app (without admission control)


def _start_worker(config: dict[str, Any]) -> None:
    from search_app.web import create_app

    global _APP
    exit_with_parent()
    app = create_app({**config, "WORKER": True})
    _warm_up(app.extensions["engine"])
    _APP = app.wsgi_app


def _warm_up(engine: SearchEngine) -> None:
    # Open the index and load the segmenter now: the first request would otherwise pay for it
    # inside its time budget. A missing or damaged index is the requests' to report.
    try:
        engine.search(SearchRequest(q=WARM_UP_QUERY))
    except EduSearchError:
        pass


def _handle(environ: dict[str, Any], body: bytes) -> Response:
    assert _APP is not None, "worker not started"
    environ = {
        **environ,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    return collect_response(_APP, environ)


def _ready() -> bool:
    return _APP is not None


def portable_environ(environ: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """The request's picklable part (CGI variables, URL scheme) and its body."""
    kept = {k: v for k, v in environ.items() if isinstance(v, str) and ("." not in k or k == "wsgi.url_scheme")}
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    return kept, body


class ProcessRunner:
    """Requests on `workers` spawned processes (`search_app.limits.Runner`)."""

    def __init__(self, config: dict[str, Any], workers: int) -> None:
        self.config = config
        self.workers = workers
        self._lock = threading.Lock()
        self.pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # Spawned, not forked: the serving process already runs tantivy's threads.
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.config,),
        )
        # Started and ready before the server listens: a worker's imports and index opening
        # must not eat the first requests' time budget.
        for ready in [pool.submit(_ready) for _ in range(self.workers)]:
            ready.result(timeout=WORKER_START_TIMEOUT)
        return pool

    def submit(self, environ: dict[str, Any]) -> Future[Response]:
        """Send the request to a worker process."""
        kept, body = portable_environ(environ)
        return self.pool.submit(_handle, kept, body)

    def restart(self) -> None:
        """Replace the pool if a worker died (once, however many requests saw it die)."""
        with self._lock:
            try:
                self.pool.submit(_ready)
                return
            except BrokenExecutor:
                old, self.pool = self.pool, self._start()
        old.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the workers."""
        self.pool.shutdown(wait=True, cancel_futures=True)
