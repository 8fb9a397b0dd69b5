"""What one request may cost the server: the limits (configuration) and the admission control that applies them.

Every limit has a default and an environment variable (README, "Configuration"). The
WSGI middleware `Admission` sits in front of the Flask app:

- Each request is classified by its cost (`request_cost`: query length, number of words,
  width of its OR groups, filter values, result depth). Cheap ones go straight through;
  expensive ones share a few slots (EDU_SEARCH_EXPENSIVE_SLOTS) and wait for one in a bounded
  queue (EDU_SEARCH_EXPENSIVE_QUEUE); beyond it they get 503 with Retry-After at once — so a
  flood of expensive queries cannot occupy the server's threads and starve the cheap ones.
  Waiting rather than refusing matters: a refusal is cheap, but clients that retry at once
  turn refusals into thousands of requests a second.
- An expensive request (under `serve`, every request) runs against the time budget
  (EDU_SEARCH_TIME_BUDGET_MS): when it is not done by
  then the client gets 503 with Retry-After; the work finishes in the background but keeps
  its slot, so abandoned work stays bounded too.
- Where the work runs is a `Runner`: threads of this process (tests, `create_app`), or, under
  `serve`, worker processes (`search_app.web.workers`): the expensive requests in their own
  (EDU_SEARCH_EXPENSIVE_SLOTS processes, so they never take more cores than that), the others
  in EDU_SEARCH_PROCESSES; neither holds the serving process's interpreter lock.

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
from concurrent.futures import BrokenExecutor, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, fields
from typing import Any, Protocol
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
Response = tuple[str, list[tuple[str, str]], list[bytes]]  # status, headers, the whole body


@dataclass(frozen=True)
class ServerLimits:
    """The server's resource limits; each field is read from its environment variable (see ENV)."""

    doc_page_chars: int = 100_000  # characters of document text on one /doc page
    time_budget_ms: int = 10_000  # longest a request may take, waiting for a slot included, before 503 + Retry-After
    expensive_cost: int = 12  # a request of at least this cost (request_cost) is "expensive"
    expensive_slots: int = 1  # expensive requests running at once
    # Expensive requests waiting for a slot (each on an idle server thread, within the time
    # budget); beyond that 503 at once. Waiting, not refusing, keeps a crowd of clients from
    # retrying in a tight loop: refusals are cheap, but thousands a second are not.
    expensive_queue: int = 32
    threads: int = 48  # waitress worker threads: room for the queue and the cheap requests
    processes: int = 2  # `serve`: worker processes answering the cheap requests (expensive ones have their own)
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
    "processes": "EDU_SEARCH_PROCESSES",
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

    def __init__(
        self,
        app: WsgiApp,
        limits: ServerLimits,
        refuse: Callable[[dict[str, Any], Busy, Callable[..., Any]], Iterable[bytes]],
        runner: Runner | None = None,
        cheap_runner: Runner | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.refuse = refuse
        # Admitted = running or waiting for a slot; both are held until the work ends, so
        # work abandoned at the time budget still counts until it is done.
        self._admitted = threading.BoundedSemaphore(limits.expensive_slots + limits.expensive_queue)
        self._running = threading.BoundedSemaphore(limits.expensive_slots)
        self.runner = runner or ThreadRunner(app, limits.expensive_slots)
        self.cheap_runner = cheap_runner  # None: cheap requests run on the server's own thread
        self.counts = {"cheap": 0, "expensive": 0, "refused": 0, "over_budget": 0}
        self._count_lock = threading.Lock()

    def _count(self, key: str) -> None:
        with self._count_lock:
            self.counts[key] += 1

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(FREE_PREFIXES):
            return self.app(environ, start_response)
        try:
            args = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            if request_cost(args, path) < self.limits.expensive_cost:
                self._count("cheap")
                if self.cheap_runner is None:
                    return self.app(environ, start_response)
                status, headers, body = self._run(self.cheap_runner, environ, time.monotonic() + self.limits.time_budget_ms / 1000)
            else:
                status, headers, body = self._admit(environ)
        except Busy as busy:
            self._count("over_budget" if busy.reason == "budget" else "refused")
            return self.refuse(environ, busy, start_response)
        start_response(status, headers)
        return body

    def _admit(self, environ: dict[str, Any]) -> Response:
        """Run an expensive request in a slot within the time budget (waiting included), or raise Busy."""
        deadline = time.monotonic() + self.limits.time_budget_ms / 1000
        retry = self.limits.retry_after_s
        if not self._admitted.acquire(blocking=False):
            raise Busy("queue", retry)
        if not self._running.acquire(timeout=self.limits.time_budget_ms / 1000):
            self._admitted.release()
            raise Busy("budget", retry)
        self._count("expensive")
        return self._run(self.runner, environ, deadline, self._release)

    def _run(self, runner: Runner, environ: dict[str, Any], deadline: float, done: Callable[[], None] | None = None) -> Response:
        """The response of `runner` within the deadline, or Busy; `done` is called when the work ends (also when abandoned)."""
        retry = self.limits.retry_after_s
        try:
            future = runner.submit(environ)
        except BaseException:
            if done is not None:
                done()
            raise
        if done is not None:
            future.add_done_callback(lambda _: done())
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            raise Busy("budget", retry) from None
        except BrokenExecutor:
            # A worker process died (killed, out of memory): the runner starts a new one.
            runner.restart()
            raise Busy("queue", retry) from None

    def _release(self) -> None:
        self._running.release()
        self._admitted.release()


def collect_response(app: WsgiApp, environ: dict[str, Any]) -> Response:
    """Call a WSGI app and collect its whole response (status, headers, body), so the budget covers rendering."""
    response: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        response.update(status=status, headers=headers)
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = list(result)
    finally:
        close = getattr(result, "close", None)
        if close:
            close()
    return response["status"], response["headers"], body


class Runner(Protocol):
    """Where requests run: threads of this process, or worker processes (`search_app.web.workers`)."""

    def submit(self, environ: dict[str, Any]) -> Future[Response]:
        """Start the request; the future holds its whole response."""
        ...

    def restart(self) -> None:
        """Replace workers that died."""
        ...

    def close(self) -> None:
        """Stop the workers."""
        ...


class ThreadRunner:
    """Expensive requests on threads of the serving process (tests, the development server)."""

    def __init__(self, app: WsgiApp, workers: int) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="expensive")

    def submit(self, environ: dict[str, Any]) -> Future[Response]:
        """Run the app on a pool thread."""
        return self.pool.submit(collect_response, self.app, environ)

    def restart(self) -> None:
        """Threads do not die: nothing to do."""

    def close(self) -> None:
        """Let running requests finish, then stop the threads."""
        self.pool.shutdown(wait=True)
