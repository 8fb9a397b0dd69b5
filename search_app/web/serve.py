"""`python -m search_app serve`: the web site and API on waitress, a production WSGI server."""

from __future__ import annotations

import sys
from pathlib import Path

import waitress

from indexer.errors import IndexMissing, IndexOutdated
from search_app.web import create_app
from search_app.web.state import reindex_command


def serve(index_dir: Path, host: str, port: int, threads: int) -> int:
    """Serve until interrupted; returns the exit code (0, or 1 when the port cannot be opened).

    A missing or outdated index is reported here but does not stop the server: the site
    explains the problem on every page until a reindex publishes an index, which the
    running server then picks up without a restart.
    """
    app = create_app({"INDEX_DIR": index_dir})
    engine = app.extensions["engine"]
    try:
        engine.check()
        stats = engine.stats()
        print(f"index: {index_dir} ({stats['documents']} documents, {stats['sections']} sections, {stats['generation']})")
    except (IndexMissing, IndexOutdated) as exc:
        print(f"warning: {exc}", file=sys.stderr)
        print(f"  build the index with: {reindex_command(index_dir)}", file=sys.stderr)
        print("  until then every page explains this (HTTP 503)", file=sys.stderr)
    try:
        server = waitress.create_server(app, host=host, port=port, threads=threads, ident="edu-search")
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    # A host name such as "localhost" may resolve to several sockets (IPv4 and IPv6).
    listening = getattr(server, "effective_listen", None) or [(server.effective_host, server.effective_port)]
    for bound_host, bound_port in listening:
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        print(f"serving on http://{shown}:{bound_port}/  (Ctrl-C to stop)", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.close()
    return 0
