"""What a request shares with every view: the app's engine, and the search state that lives in the URL.

All state of the search page (query, facet filters, sort, page) is in the query string, so a
results page can be shared, bookmarked, and restored by the back button. `SearchState` reads
it from the request and builds the URLs of every link that changes one part of it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import current_app, url_for
from werkzeug.datastructures import MultiDict

from search_app.engine import FACET_FIELDS, MAX_TREND_TERMS, SORTS, SearchEngine, SearchRequest
from search_app.results import DocumentView
from speechindex.errors import QueryError
from speechindex.schema import NULL_YEAR_VALUES, SECTION_KINDS, YEAR_NONE, YEAR_UNKNOWN_LABEL

DEFAULT_SORT = SORTS[0]
DEFAULT_PER_PAGE = 10
FACET_LABELS = {"year": "年份", "topic": "主题", "section": "段落类型", "doc_kind": "文档类型", "source": "来源"}
# The trend chart: y axis as the share of each year's documents (default) or as document counts.
TREND_MODES = {"share": "占当年文档比例", "count": "文档数"}
DEFAULT_TREND = "share"
SORT_LABELS = {"relevance": "相关度", "newest": "最新", "oldest": "最早"}
# Section kinds → ASCII CSS class names (badge colours).
KIND_CLASSES = dict(zip(SECTION_KINDS, ("review", "problem", "task", "other")))
# Every link of a results page repeats the whole state, so the state's size multiplies the
# page's: all filters of a page together are capped (each facet has its own cap in the engine).
MAX_STATE_FILTERS = 40
MAX_STATE_FILTER_CHARS = 500

F = TypeVar("F", bound=Callable[..., Any])


def engine() -> SearchEngine:
    """The app's one SearchEngine (created by `create_app`)."""
    return current_app.extensions["engine"]


def document_page(doc_id: str, args: MultiDict[str, str]) -> DocumentView | None:
    """The page (`page` parameter) of a document highlighted for `q`, in pages of the configured size; None if unknown."""
    page = _int_param(args, "page", 1, "页码")
    return engine().document(doc_id, args.get("q", "").strip(), page, current_app.config["LIMITS"].doc_page_chars)


def reindex_command(index_dir: Any) -> str:
    """The command that builds the index the app is configured to read."""
    return f"python -m indexer reindex --corpus corpus --index {index_dir}"


def engine_errors(view: F) -> F:
    """Let the error pages handle a panic inside tantivy.

    A Rust panic reaches Python as pyo3's PanicException, a BaseException that Flask's
    error handling (which catches Exception) would let escape as a bare server error.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:
            if isinstance(exc, Exception):
                raise
            raise RuntimeError(f"search engine failure: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def facet_key(name: str, value: Any) -> str:
    """The URL form of a facet value: years as digits, the unknown year as "none"."""
    if name == "year":
        return YEAR_NONE if value is None else str(value)
    return str(value)


def facet_label(name: str, value: Any) -> str:
    """How a facet value is shown."""
    if name == "year" and value in (None, YEAR_NONE):
        return YEAR_UNKNOWN_LABEL
    return str(value)


def _int_param(args: MultiDict[str, str], name: str, default: int, label: str) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"{label}必须是整数（参数 {name}={raw[:20]!r}）") from None


def _check_state_size(filters: dict[str, list[str]]) -> None:
    """QueryError when the filters together exceed what a page may repeat in each of its links."""
    count = sum(len(values) for values in filters.values())
    if count > MAX_STATE_FILTERS:
        raise QueryError(f"筛选值太多：所有筛选项合计最多 {MAX_STATE_FILTERS} 个（当前 {count} 个）")
    chars = sum(len(v) for values in filters.values() for v in values)
    if chars > MAX_STATE_FILTER_CHARS:
        raise QueryError(f"筛选条件过长：所有筛选值合计最多 {MAX_STATE_FILTER_CHARS} 个字符（当前 {chars} 个）")


def _year_param(value: str) -> str:
    """The URL form of a year filter value; anything that is not a year is left for validation to refuse."""
    if value.lower() in NULL_YEAR_VALUES:
        return YEAR_NONE
    # isdecimal, not isdigit: int() refuses "²" or "①", which validation then explains.
    return str(int(value)) if value.isdecimal() else value


@dataclass(frozen=True)
class SearchState:
    """Query, filters (facet → URL values), sort and page of one search page."""

    q: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: str = DEFAULT_SORT
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    compare: tuple[str, ...] = ()  # further trend terms ("vs" parameters) drawn beside the query's
    trend: str = DEFAULT_TREND
    fold: bool = True  # versions and near-duplicates shown once (fold=0: every document)

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> SearchState:
        """Read the state from a query string; QueryError for a page or per_page that is not a number.

        A facet parameter may be repeated for several values; blank values are ignored (an
        empty `year=` would otherwise mean "unknown year") and the spellings of a year are
        unified — "none" for the unknown year, ASCII digits for ２０２３ or ٢٠٢٣ — so that
        toggling a facet value finds them.
        """
        filters: dict[str, list[str]] = {}
        for name in FACET_FIELDS:
            values = [v.strip() for v in args.getlist(name) if v.strip()]
            if name == "year":
                values = [_year_param(v) for v in values]
            if values:
                filters[name] = list(dict.fromkeys(values))
        _check_state_size(filters)
        return cls(
            q=args.get("q", "").strip(),
            filters=filters,
            sort=args.get("sort", "").strip() or DEFAULT_SORT,
            page=_int_param(args, "page", 1, "页码"),
            per_page=_int_param(args, "per_page", DEFAULT_PER_PAGE, "每页条数"),
            compare=_compare_terms(args),
            trend=_trend_mode(args),
            fold=args.get("fold", "").strip().lower() not in ("0", "false", "no", "off"),
        )

    @property
    def is_empty(self) -> bool:
        """No query and no filter: the landing page."""
        return not self.q and not self.filters

    @property
    def trend_terms(self) -> list[str]:
        """The terms of the trend chart: the query, then the comparison terms."""
        return [self.q, *self.compare]

    def hidden_fields(self) -> list[tuple[str, str]]:
        """(name, value) of everything but the page, for a form that adds to this state (the comparison form)."""
        fields = [("q", self.q)] if self.q else []
        fields.extend(self.active_filters())
        if self.sort != DEFAULT_SORT:
            fields.append(("sort", self.sort))
        if self.per_page != DEFAULT_PER_PAGE:
            fields.append(("per_page", str(self.per_page)))
        fields.extend(("vs", term) for term in self.compare)
        if self.trend != DEFAULT_TREND:
            fields.append(("trend", self.trend))
        if not self.fold:
            fields.append(("fold", "0"))
        return fields

    def request(self) -> SearchRequest:
        """The engine request for this state."""
        return SearchRequest(
            q=self.q, filters={k: list(v) for k, v in self.filters.items()}, sort=self.sort, page=self.page, per_page=self.per_page,
            fold=self.fold,
        )

    def selected(self, name: str, key: str) -> bool:
        """True when `key` (URL form) is an active filter of facet `name`."""
        return key in self.filters.get(name, [])

    def active_filters(self) -> list[tuple[str, str]]:
        """(facet, URL value) of every active filter, in facet order."""
        return [(name, key) for name in FACET_FIELDS for key in self.filters.get(name, [])]

    # -- URLs: every change but a page change goes back to page 1 -----------------------------
    def url(self) -> str:
        """The search page URL of this state (defaults left out, so URLs stay short)."""
        params = self.hidden_fields()
        if self.page != 1:
            params.append(("page", str(self.page)))
        base = url_for("pages.search")
        return f"{base}?{urlencode(params)}" if params else base

    def export_url(self, fmt: str) -> str:
        """The API URL that downloads these results (query, filters, sort) as a `fmt` spreadsheet."""
        params = [(k, v) for k, v in self.hidden_fields() if k not in ("vs", "trend", "per_page")]
        return f"{url_for('api.search')}?{urlencode([*params, ('format', fmt)])}"

    def _with_filters(self, filters: dict[str, list[str]]) -> str:
        return replace(self, filters={k: v for k, v in filters.items() if v}, page=1).url()

    def toggle(self, name: str, key: str) -> str:
        """URL with facet value `key` added, or removed when it is already active."""
        values = self.filters.get(name, [])
        changed = [v for v in values if v != key] if key in values else [*values, key]
        return self._with_filters({**self.filters, name: changed})

    def drop(self, name: str, key: str) -> str:
        """URL without the facet value `key`."""
        return self._with_filters({**self.filters, name: [v for v in self.filters.get(name, []) if v != key]})

    def clear(self, name: str) -> str:
        """URL without any filter of facet `name`."""
        return self._with_filters({k: v for k, v in self.filters.items() if k != name})

    def clear_all(self) -> str:
        """URL with the query and sort kept, every filter dropped."""
        return self._with_filters({})

    def with_query(self, q: str) -> str:
        """URL of another query with the same filters and sort."""
        return replace(self, q=q.strip(), page=1).url()

    def with_sort(self, sort: str) -> str:
        """URL with another sort order."""
        return replace(self, sort=sort, page=1).url()

    def with_page(self, page: int) -> str:
        """URL of another page of the same results."""
        return replace(self, page=page).url()

    def with_trend(self, mode: str) -> str:
        """URL with the trend chart in another mode (share or count)."""
        return replace(self, trend=mode).url()

    def without_compare(self, term: str) -> str:
        """URL with one comparison term removed from the trend chart."""
        return replace(self, compare=tuple(t for t in self.compare if t != term)).url()


def _compare_terms(args: MultiDict[str, str]) -> tuple[str, ...]:
    """The comparison terms of the trend (`vs`, repeatable); at most MAX_TREND_TERMS terms in all."""
    terms = tuple(dict.fromkeys(v.strip() for v in args.getlist("vs") if v.strip()))
    if len(terms) > MAX_TREND_TERMS - 1:
        raise QueryError(f"趋势图最多对比 {MAX_TREND_TERMS} 个检索词（参数 vs 最多 {MAX_TREND_TERMS - 1} 个）")
    return terms


def _trend_mode(args: MultiDict[str, str]) -> str:
    mode = args.get("trend", "").strip() or DEFAULT_TREND
    if mode not in TREND_MODES:
        raise QueryError(f"未知的趋势图模式 {mode!r}：可选 {', '.join(TREND_MODES)}")
    return mode
