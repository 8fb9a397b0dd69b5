"""The Flask web front end: HTML pages (`pages`) and the JSON API (`api`) over one SearchEngine.

Configuration, later sources winning: built-in defaults → the environment
($EDU_SEARCH_INDEX, see `speechindex.config`; the resource limits, see `search_app.limits`) → the
`test_config` mapping (keys "INDEX_DIR", "LIMITS"; "WORKER_PROCESSES" answers requests in worker
processes, as `serve` does; "WORKER" marks such a worker's own app).
Errors become pages in the site's style (JSON `{"error": …}` under /api/): 400 for a bad
parameter, 404, 503 while the index is missing or outdated and (with Retry-After) when
admission control refuses a request or it exceeds the time budget, 500 for anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from search_app.engine import SearchEngine
from search_app.limits import Admission, Busy, ServerLimits
from search_app.web import api, pages
from search_app.web.state import SearchState, reindex_command
from search_app.web.workers import ProcessRunner
from speechindex.config import default_index_dir
from speechindex.errors import IndexCorrupt, IndexMissing, IndexOutdated, QueryError
from speechindex.location import repair_command
from speechindex.schema import YEAR_UNKNOWN_LABEL

HTTP_TITLES = {
    400: "请求参数有误",
    404: "页面不存在",
    405: "不支持的请求方法",
    500: "服务器内部错误",
    503: "暂时无法检索",
}
# Defence in depth on top of Jinja's autoescaping: no inline script, no foreign origins.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: one SearchEngine (app.extensions["engine"]), the page and API blueprints, error pages."""
    app = Flask(__name__)
    app.config.from_mapping(INDEX_DIR=default_index_dir())
    if test_config:
        app.config.from_mapping(test_config)
    app.config["INDEX_DIR"] = Path(app.config["INDEX_DIR"])
    # Resource limits: from the environment unless the caller passes a ServerLimits ("LIMITS").
    limits = app.config.setdefault("LIMITS", ServerLimits.from_env())
    # The API returns the engine's JSON as is: keys in the engine's order, Chinese unescaped.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.jinja_env.globals["YEAR_UNKNOWN_LABEL"] = YEAR_UNKNOWN_LABEL
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["engine"] = SearchEngine(app.config["INDEX_DIR"])
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    _register_errors(app)
    if not app.config.get("WORKER"):
        runners: tuple[ProcessRunner | None, ProcessRunner | None] = (None, None)
        if app.config.get("WORKER_PROCESSES"):
            # The production server: requests answered in worker processes (search_app.web.workers),
            # the expensive ones in their own pool: they can never take the cheap ones' cores.
            config = {"INDEX_DIR": app.config["INDEX_DIR"], "LIMITS": limits}
            runners = (ProcessRunner(config, limits.expensive_slots), ProcessRunner(config, limits.processes))
        app.wsgi_app = Admission(app.wsgi_app, limits, _busy_responder(app), *runners)  # type: ignore[method-assign]

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app


def _error(status: int, message: str, hint: str = "", command: str = "", detail: str = "") -> tuple[Any, int]:
    """The error as JSON under /api/, else as a page in the site's style."""
    # The server's filesystem layout is not the visitor's business: the full path is in the log.
    message, command, detail = (_hide_index_path(text) for text in (message, command, detail))
    if request.path.startswith("/api/"):
        body = {"error": message, "command": command, "detail": detail}
        return jsonify({k: v for k, v in body.items() if v}), status
    title = HTTP_TITLES.get(status, "出错了")
    page = render_template(
        "error.html",
        # The search box keeps the query, so that a bad parameter is one edit away from a search.
        state=SearchState(q=request.args.get("q", "").strip()),
        status=status,
        title=title,
        message=message,
        hint=hint,
        command=command,
        detail=detail,
    )
    return page, status


def _hide_index_path(text: str) -> str:
    """`text` with the index directory shown relative to the working directory, or only by its name."""
    configured = Path(current_app.config["INDEX_DIR"])
    absolute = configured.resolve()
    try:
        shown = str(absolute.relative_to(Path.cwd()))
    except ValueError:
        shown = f"…/{absolute.name}"
    for spelling in sorted({str(absolute), str(configured.absolute()), str(configured)}, key=len, reverse=True):
        text = text.replace(spelling, shown)
    return text


def _busy_responder(app: Flask) -> Callable[[dict[str, Any], Busy, Callable[..., Any]], Iterable[bytes]]:
    """The 503 + Retry-After that admission control answers with, as a page or JSON like every other error.

    A flood of expensive queries is answered with as many refusals, so each is rendered once
    (per kind and reason, the page's search box left empty) and then only sent.
    """
    rendered: dict[tuple[bool, str], tuple[str, list[tuple[str, str]], bytes]] = {}

    def render(api: bool, busy: Busy) -> tuple[str, list[tuple[str, str]], bytes]:
        with app.test_request_context("/api/search" if api else "/search"):
            if busy.reason == "queue":
                message = "服务器正忙：同时在处理其他复杂的检索，这个检索暂时无法受理。"
            else:
                message = f"检索超出了 {app.config['LIMITS'].time_budget_ms / 1000:g} 秒的处理时限，已停止等待。"
            body, status = _error(
                503, message, f"请 {busy.retry_after} 秒后重试；缩短检索词、减少 OR 的选项和筛选值也会更快。"
            )
            response = app.process_response(app.make_response((body, status)))
            response.headers["Retry-After"] = str(busy.retry_after)
            return response.status, list(response.headers.items()), response.get_data()

    def refuse(environ: dict[str, Any], busy: Busy, start_response: Callable[..., Any]) -> Iterable[bytes]:
        key = (environ.get("PATH_INFO", "").startswith("/api/"), busy.reason)
        if key not in rendered:
            rendered[key] = render(*key[:1], busy)
        status, headers, body = rendered[key]
        start_response(status, headers)
        return [body]

    return refuse


def _register_errors(app: Flask) -> None:
    index_dir = app.config["INDEX_DIR"]

    @app.errorhandler(QueryError)
    def bad_request(exc: QueryError) -> tuple[Any, int]:
        return _error(400, str(exc), "请检查检索词和筛选条件后重试。")

    def index_unavailable(log: str, message: str, verb: str, command: Callable[[Path], str]) -> Callable[[Exception], tuple[Any, int]]:
        def handler(exc: Exception) -> tuple[Any, int]:
            # One line, no traceback: the index fails every request until it is (re)built.
            app.logger.warning("%s: %s", log, exc)
            hint = f"在项目目录下运行下面的命令{verb}索引，完成后刷新本页即可（无需重启服务）："
            return _error(503, message, hint, command(index_dir), str(exc))

        return handler

    # The three ways an index can be unusable: each a 503 that says which command fixes it.
    app.register_error_handler(
        IndexMissing, index_unavailable("index missing", f"还没有建立检索索引（{index_dir}）。", "建立", reindex_command)
    )
    app.register_error_handler(
        IndexOutdated,
        index_unavailable("index outdated", f"索引是用旧版本的程序建立的，需要重建（{index_dir}）。", "重建", reindex_command),
    )
    app.register_error_handler(IndexCorrupt, index_unavailable("index damaged", "检索索引已损坏，需要重建。", "重建", repair_command))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Any, int]:
        status = exc.code or 500
        # Our own aborts carry a Chinese description; werkzeug's defaults are English.
        custom = exc.description if exc.description != type(exc).description else ""
        if status == 404:
            return _error(404, custom or "找不到这个页面。", "可以回到首页重新检索。")
        return _error(status, custom or HTTP_TITLES.get(status, exc.name))

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> tuple[Any, int]:
        app.logger.error("unhandled error on %s", request.path, exc_info=exc)
        return _error(500, HTTP_TITLES[500], "问题已记录。请稍后重试，或换一个检索词。")
