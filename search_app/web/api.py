"""The JSON API: the engine's results as they are, for scripts and notebooks.

    GET /api/search?q=…&year=…&topic=…&section=…&doc_kind=…&sort=…&page=…&per_page=…
    GET /api/trend?q=…  (+ the same filters; the year filter does not apply to a trend)
    GET /api/doc/<doc_id>?q=…

Repeat a filter parameter for several values (`year=2022&year=2023`). Errors are
`{"error": message}` with status 400 (bad parameter), 404 (unknown document) or 503 (no index).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request

from search_app.web.state import SearchState, engine, engine_errors

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
@engine_errors
def search() -> Response:
    """One page of results grouped by document, with facets (SearchEngine.search JSON)."""
    return jsonify(engine().search(SearchState.from_args(request.args).request()))


@bp.get("/trend")
@engine_errors
def trend() -> Response:
    """Matching documents and sections per year (SearchEngine.trend JSON)."""
    state = SearchState.from_args(request.args)
    return jsonify(engine().trend(state.q, state.filters))


@bp.get("/doc/<doc_id>")
@engine_errors
def document(doc_id: str) -> Response:
    """A document's stored record, its sections highlighted for `q`."""
    record = engine().document(doc_id, request.args.get("q", "").strip())
    if record is None:
        abort(404, description=f"没有编号为 {doc_id} 的文档")
    return jsonify(record)
