"""The JSON API: the engine's results (their `to_json`), for scripts and notebooks.

    GET /api/search?q=…&year=…&topic=…&section=…&doc_kind=…&source=…&sort=…&page=…&per_page=…
        (+ format=csv|xlsx: the first 1,000 section rows as a spreadsheet)
    GET /api/trend?q=A&q=B…&normalize=share|count  (up to 4 terms, + the same filters;
        the year filter does not apply to a trend)
    GET /api/suggest?q=<prefix>
    GET /api/cite/<section_id>
    GET /api/doc/<doc_id>?q=…
    GET /api/similar/<doc_id>  (documents sharing passages with it, and the passages)
    GET|POST /api/passage?text=…  (查出处: sections containing the text or a close variant)

Repeat a filter parameter for several values (`year=2022&year=2023`). Errors are
`{"error": message}` with status 400 (bad parameter), 404 (unknown document) or 503 (no index).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request, stream_with_context, url_for

from search_app import export
from search_app.cite import cite as cite_section
from search_app.results import Hit, SectionHit
from search_app.web.state import TREND_MODES, SearchState, document_page, engine, engine_errors
from speechindex.errors import QueryError

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/search")
@engine_errors
def search() -> Response:
    """One page of results grouped by document, with facets (SearchEngine.search JSON); or a spreadsheet (format=)."""
    req = SearchState.from_args(request.args).request()
    fmt = request.args.get("format", "json").strip() or "json"
    if fmt == "json":
        return jsonify(engine().search(req).to_json())
    if fmt not in export.FORMATS:
        raise QueryError(f"未知的导出格式 {fmt!r}：可选 json、{'、'.join(export.FORMATS)}")
    engine().search(req)  # a bad parameter is a 400 now, not a broken download later
    table = export.rows(engine(), req, _section_url)
    headers = {"Content-Disposition": f'attachment; filename="search-results.{fmt}"'}
    if fmt == "csv":
        return Response(stream_with_context(export.csv_chunks(table)), mimetype=export.FORMATS[fmt], headers=headers)
    return Response(export.xlsx_bytes(table), mimetype=export.FORMATS[fmt], headers=headers)


def _section_url(hit: Hit, section: SectionHit) -> str:
    return url_for("pages.document", doc_id=hit.doc_id, _anchor=section.section_id, _external=True)


@bp.get("/trend")
@engine_errors
def trend() -> Response:
    """Documents, sections and share of each year's documents per term: {"normalize", "series": [...]}."""
    state = SearchState.from_args(request.args)
    mode = request.args.get("normalize", "").strip() or "count"
    if mode not in TREND_MODES:
        raise QueryError(f"未知的 normalize 取值 {mode!r}：可选 {', '.join(TREND_MODES)}")
    queries = [q.strip() for q in request.args.getlist("q")] or [""]
    return jsonify({"normalize": mode, **engine().trends(queries, state.filters).to_json()})


@bp.get("/suggest")
@engine_errors
def suggest() -> Response:
    """Up to 10 terms of the collection that start with or contain the prefix `q`: {"suggestions": [{"text", "docs"}]}."""
    return jsonify(engine().suggest(request.args.get("q", "")))


@bp.get("/cite/<section_id>")
@engine_errors
def cite(section_id: str) -> Response:
    """A section's citation (《标题》，来源，日期，章节) and its text: {"text", "passage", "doc_id", "section_id"}."""
    found = cite_section(engine(), section_id)
    if found is None:
        abort(404, description=f"没有编号为 {section_id[:80]} 的段落")
    return jsonify(found)


@bp.get("/doc/<doc_id>")
@engine_errors
def document(doc_id: str) -> Response:
    """One page (`page`) of a document: metadata, outline, and the page's sections highlighted for `q`."""
    record = document_page(doc_id, request.args)
    if record is None:
        abort(404, description=f"没有编号为 {doc_id} 的文档")
    return jsonify(record.to_json())


@bp.get("/similar/<doc_id>")
@engine_errors
def similar(doc_id: str) -> Response:
    """Documents that share passages with `doc_id`, each with the shared passages."""
    found = engine().similar(doc_id)
    if found is None:
        abort(404, description=f"没有编号为 {doc_id[:80]} 的文档")
    return jsonify(found)


@bp.route("/passage", methods=["GET", "POST"])
@engine_errors
def passage() -> Response:
    """The sections containing the pasted `text` (form field, query parameter or JSON) or a close variant."""
    body = request.get_json(silent=True) if request.is_json else None
    text = body.get("text") if isinstance(body, dict) else request.values.get("text")
    if not isinstance(text, str):
        raise QueryError("缺少参数 text：请粘贴一段文字")
    return jsonify(engine().passage(text).to_json())
