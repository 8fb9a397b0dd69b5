"""`python -m search_app serve`: the web site and API on waitress, a production WSGI server."""

from __future__ import annotations

import resource
import signal
import sys
from dataclasses import replace
from pathlib import Path

import waitress

from search_app.limits import Admission, ServerLimits
from search_app.web import create_app
from search_app.web.state import reindex_command
from speechindex.errors import IndexMissing, IndexOutdated

# File descriptors kept free for the index, the log and the listening sockets.
RESERVED_FDS = 64
# Server threads never taken by queued expensive requests (at least; a quarter of them by default).
MIN_FREE_THREADS = 2


def serve(index_dir: Path, host: str, port: int, limits: ServerLimits) -> int:
    """Serve until interrupted; returns the exit code (0, or 1 when the port cannot be opened).

    A missing or outdated index is reported here but does not stop the server: the site
    explains the problem on every page until a reindex publishes an index, which the
    running server then picks up without a restart.
    """
    limits = _fit_expensive_queue(_fit_connection_limit(limits))
    app = create_app({"INDEX_DIR": index_dir, "LIMITS": limits, "WORKER_PROCESSES": True})
    engine = app.extensions["engine"]
    admission: Admission = app.wsgi_app  # type: ignore[assignment]
    try:
        engine.check()
        stats = engine.stats()
        print(f"index: {index_dir} ({stats['documents']} documents, {stats['sections']} sections, {stats['generation']})")
    except (IndexMissing, IndexOutdated) as exc:
        print(f"warning: {exc}", file=sys.stderr)
        print(f"  build the index with: {reindex_command(index_dir)}", file=sys.stderr)
        print("  until then every page explains this (HTTP 503)", file=sys.stderr)
    try:
        server = waitress.create_server(
            app,
            host=host,
            port=port,
            ident="edu-search",
            threads=limits.threads,
            connection_limit=limits.connection_limit,
            # Idle connections are closed after the timeout, checked every second: a crowd of
            # idle clients can delay a new one by at most that long, even at the connection limit.
            channel_timeout=limits.idle_timeout_s,
            cleanup_interval=1,
            # select() cannot watch descriptors above 1023; poll() has no such limit.
            asyncore_use_poll=True,
        )
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        _stop_workers(admission)
        return 1
    # A host name such as "localhost" may resolve to several sockets (IPv4 and IPv6).
    listening = getattr(server, "effective_listen", None) or [(server.effective_host, server.effective_port)]
    for bound_host, bound_port in listening:
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        print(f"serving on http://{shown}:{bound_port}/  (Ctrl-C to stop)", flush=True)
    print(
        f"limits: {limits.threads} threads, {limits.connection_limit} connections, idle timeout {limits.idle_timeout_s} s, "
        f"{limits.processes} worker processes, time budget {limits.time_budget_ms} ms, {limits.expensive_slots} expensive slot(s) "
        f"(cost >= {limits.expensive_cost}), /doc pages of {limits.doc_page_chars} characters",
        flush=True,
    )
    # SIGTERM (service managers, `kill`) ends the server like Ctrl-C: the worker processes are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.close()
        _stop_workers(admission)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_workers(admission: Admission) -> None:
    admission.runner.close()
    if admission.cheap_runner is not None:
        admission.cheap_runner.close()


def _fit_expensive_queue(limits: ServerLimits) -> ServerLimits:
    """The limits with the expensive queue shortened so that it leaves threads for everything else.

    Queued expensive requests wait on server threads: a queue as long as the thread pool would
    let a crowd of them hold every thread, and cheap requests would wait behind them.
    """
    free = max(MIN_FREE_THREADS, limits.threads // 4)
    fitted = max(0, limits.threads - limits.expensive_slots - free)
    if limits.expensive_queue <= fitted:
        return limits
    print(
        f"warning: expensive-search queue shortened from {limits.expensive_queue} to {fitted} "
        f"({limits.threads} threads, {free} kept free for other requests)",
        file=sys.stderr,
    )
    return replace(limits, expensive_queue=fitted)


def _fit_connection_limit(limits: ServerLimits) -> ServerLimits:
    """The limits with the connection limit lowered to what the process may open (RLIMIT_NOFILE)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or limits.connection_limit <= soft - RESERVED_FDS:
        return limits
    fitted = max(1, soft - RESERVED_FDS)
    print(f"warning: connection limit lowered from {limits.connection_limit} to {fitted} (ulimit -n is {soft})", file=sys.stderr)
    return replace(limits, connection_limit=fitted)
