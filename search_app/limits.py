"""What one request may cost the server: the limits (configuration) and the admission control that applies them.

Every limit has a default and an environment variable (README, "Configuration"). The
WSGI middleware `Admission` sits in front of the Flask app:

- Each request is classified by its cost (`request_cost`: query length, number of words,
  width of its OR groups, filter values, result depth). Cheap ones go straight through;
  expensive ones share a few slots (EDU_SEARCH_EXPENSIVE_SLOTS) and, when those and a short
  queue are full, get 503 with Retry-After at once — so a flood of expensive queries cannot
  occupy the server's threads and starve the cheap ones.
- An expensive request runs against the time budget (EDU_SEARCH_TIME_BUDGET_MS): when it is
  not done by then the client gets 503 with Retry-After; the work finishes in the background
  but keeps its slot, so abandoned work stays bounded too.

The server's own connection limits (connection limit, idle timeout, threads) are read
here as well and passed to waitress by `search_app.web.serve`. No Flask here: the CLI reads
the limits too.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qs

from search_app.query import parse_query

# Paths that never touch the engine.
FREE_PREFIXES = ("/static/", "/favicon")
# Request parameters holding query text (q; trend comparison terms).
QUERY_PARAMS = ("q", "vs")
FILTER_PARAMS = ("year", "topic", "section", "doc_kind", "source")
DOCUMENT_PREFIXES = ("/doc/", "/api/doc/")
MAX_PARSED_VALUES = 8  # query texts per parameter that the classification reads

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class ServerLimits:
    """The server's resource limits; each field is read from its environment variable (see ENV)."""

    doc_page_chars: int = 100_000  # characters of document text on one /doc page
    time_budget_ms: int = 5_000  # longest an engine request may take before 503 + Retry-After
    expensive_cost: int = 12  # a request of at least this cost (request_cost) is "expensive"
    expensive_slots: int = 1  # expensive requests running at once
    expensive_queue: int = 1  # expensive requests waiting for a slot; beyond that 503 at once
    threads: int = 8  # waitress worker threads
    connection_limit: int = 1000  # open client connections (idle ones included)
    idle_timeout_s: int = 10  # an idle connection is closed after this many seconds

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerLimits:
        """The defaults above, overridden by the environment; ValueError names a bad variable."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name = ENV[f.name]
            raw = environ.get(name, "").strip()
            if not raw:
                continue
            try:
                value = int(raw)
            except ValueError:
                value = 0
            if value < 1:
                raise ValueError(f"${name} must be a positive whole number, not {raw!r}")
            values[f.name] = value
        return cls(**values)

    @property
    def retry_after_s(self) -> int:
        """What a refused client is told to wait (Retry-After, seconds)."""
        return max(1, math.ceil(self.time_budget_ms / 2000))


ENV = {
    "doc_page_chars": "EDU_SEARCH_DOC_PAGE_CHARS",
    "time_budget_ms": "EDU_SEARCH_TIME_BUDGET_MS",
    "expensive_cost": "EDU_SEARCH_EXPENSIVE_COST",
    "expensive_slots": "EDU_SEARCH_EXPENSIVE_SLOTS",
    "expensive_queue": "EDU_SEARCH_EXPENSIVE_QUEUE",
    "threads": "EDU_SEARCH_THREADS",
    "connection_limit": "EDU_SEARCH_CONNECTION_LIMIT",
    "idle_timeout_s": "EDU_SEARCH_IDLE_TIMEOUT",
}


def request_cost(args: Mapping[str, list[str]], path: str = "") -> int:
    """A rough cost of a request to `path` from its parameters (parse_qs form): what makes the engine slow.

    Each word or phrase costs 1 and each extra alternative of an OR group 2 more (a union is
    scored over every alternative's postings); long query text, many filter values and deep
    result pages add to it. "双减" costs 1, a 500-character OR query well over 100. The page of
    a document (/doc) costs the same whatever its number: pages there are bounded in size.
    """
    cost = 0
    for name in QUERY_PARAMS:
        values = args.get(name, [])
        # Far more values than any view accepts: expensive without reading them all.
        cost += len(values[MAX_PARSED_VALUES:])
        for q in values[:MAX_PARSED_VALUES]:
            parsed = parse_query(q)
            cost += sum(len(g) + 2 * (len(g) - 1) for g in parsed.groups) + len(parsed.excluded) + len(q) // 25
    cost += sum(len(args.get(name, [])) for name in FILTER_PARAMS) // 4
    if not path.startswith(DOCUMENT_PREFIXES):
        cost += _int(args, "page") * _int(args, "per_page", 10) // 100
    return cost


def _int(args: Mapping[str, list[str]], name: str, default: int = 1) -> int:
    values = args.get(name) or [""]
    try:
        return max(0, min(int(values[0]), 10_000))
    except ValueError:
        return default


class Busy(Exception):
    """The request was refused or abandoned to protect the server: 503 with Retry-After."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason  # "queue" (too many expensive requests) or "budget" (took too long)
        self.retry_after = retry_after


class Admission:
    """WSGI middleware: lets cheap requests through, runs expensive ones in a few slots within the time budget.

    `refuse(environ, busy, start_response)` renders the 503 (the Flask app passes its own, in
    the site's style). `counts` (cheap, expensive, refused, over_budget) is for tests and logs.
    """

    def __init__(self, app: WsgiApp, limits: ServerLimits, refuse: Callable[[dict[str, Any], Busy, Callable[..., Any]], Iterable[bytes]]) -> None:
        self.app = app
        self.limits = limits
        self.refuse = refuse
        # Admitted = running or waiting for a slot; both are held until the work ends, so
        # work abandoned at the time budget still counts until it is done.
        self._admitted = threading.BoundedSemaphore(limits.expensive_slots + limits.expensive_queue)
        self._running = threading.BoundedSemaphore(limits.expensive_slots)
        self._pool = ThreadPoolExecutor(max_workers=limits.expensive_slots, thread_name_prefix="expensive")
        self.counts = {"cheap": 0, "expensive": 0, "refused": 0, "over_budget": 0}
        self._count_lock = threading.Lock()

    def _count(self, key: str) -> None:
        with self._count_lock:
            self.counts[key] += 1

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(FREE_PREFIXES):
            return self.app(environ, start_response)
        args = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if request_cost(args, path) < self.limits.expensive_cost:
            self._count("cheap")
            return self.app(environ, start_response)
        try:
            status, headers, body = self._admit(environ)
        except Busy as busy:
            self._count("over_budget" if busy.reason == "budget" else "refused")
            return self.refuse(environ, busy, start_response)
        start_response(status, headers)
        return body

    def _admit(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        """Run an expensive request in a slot within the time budget (waiting included), or raise Busy."""
        deadline = time.monotonic() + self.limits.time_budget_ms / 1000
        retry = self.limits.retry_after_s
        if not self._admitted.acquire(blocking=False):
            raise Busy("queue", retry)
        if not self._running.acquire(timeout=self.limits.time_budget_ms / 1000):
            self._admitted.release()
            raise Busy("budget", retry)
        self._count("expensive")
        try:
            future = self._pool.submit(self._call_app, environ)
        except BaseException:
            self._release()
            raise
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            raise Busy("budget", retry) from None

    def _release(self) -> None:
        self._running.release()
        self._admitted.release()

    def _call_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], list[bytes]]:
        """The app's whole response (status, headers, body), made on a pool thread; frees the slot at the end."""
        try:
            response: dict[str, Any] = {}

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
                response.update(status=status, headers=headers)
                return lambda data: None

            result = self.app(environ, start_response)
            try:
                body = list(result)  # the whole body here, so that the budget covers rendering too
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
            return response["status"], response["headers"], body
        finally:
            self._release()
