"""The HTML pages: landing page, search results (facets, trend chart, pagination), document view.

Each results page costs exactly two engine calls (search and trend), whatever the number of
hits: everything a hit shows comes with the search result.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from search_app.engine import FACET_FIELDS, MAX_PAGE
from search_app.passage import MAX_PASSAGE_CHARS
from search_app.query import parse_query
from search_app.render import html
from search_app.results import DocSection, Fragment, Hit
from search_app.similar import mark_shared
from search_app.web.chart import format_share, format_value, layout, selected_years
from search_app.web.state import (
    DEFAULT_PER_PAGE,
    DEFAULT_SORT,
    FACET_LABELS,
    KIND_CLASSES,
    SORT_LABELS,
    TREND_MODES,
    SearchState,
    document_page,
    engine,
    engine_errors,
    facet_key,
    facet_label,
)
from speechindex.errors import QueryError

bp = Blueprint("pages", __name__)

EXAMPLE_QUERIES = ("双减", '"集团化办学"', "控辍保学", "立德树人 year:2019..2023", "职业教育 -高等教育")
SYNTAX_HELP = (
    ("空格", "并且：每个词都要出现"),
    ('"引号"', "精确匹配整个短语"),
    ("OR", "任一词出现即可"),
    ("-词", "排除含该词的文件（任一段含有即排除）"),
    ("title:词", "只在标题中找"),
    ("year:2019..2023", "限定年份范围"),
)
QUOTES = re.compile(r"[\"“”「」『』]")
PAGE_WINDOW = 2  # numbered page links on each side of the current page


@bp.app_context_processor
def template_helpers() -> dict[str, Any]:
    """Labels and helpers every template may use."""
    return {
        "FACET_NAMES": list(FACET_FIELDS),
        "DEFAULT_SORT": DEFAULT_SORT,
        "DEFAULT_PER_PAGE": DEFAULT_PER_PAGE,
        "FACET_LABELS": FACET_LABELS,
        "SORT_LABELS": SORT_LABELS,
        "SYNTAX_HELP": SYNTAX_HELP,
        "kind_class": lambda kind: KIND_CLASSES.get(kind, "other"),
        "facet_key": facet_key,
        "facet_label": facet_label,
        "TREND_MODES": TREND_MODES,
        "format_share": format_share,
        "format_value": format_value,
        "trend_term": lambda term: term or "全部文档",
    }


@bp.app_template_filter("marked")
def marked(fragment: Fragment, mark_class: str = "") -> Markup:
    """A fragment as HTML (search_app.render.html): `{{ section.snippet | marked }}`."""
    return Markup(html(fragment, mark_class))


@bp.get("/")
@engine_errors
def index() -> Response | str:
    """The landing page; with a query or filters, the canonical results URL instead."""
    state = SearchState.from_args(request.args)
    if not state.is_empty:
        return redirect(state.url())
    return render_template("landing.html", state=state, stats=engine().stats(), examples=EXAMPLE_QUERIES)


@bp.get("/search")
@engine_errors
def search() -> str:
    """Results grouped by speech, with facets, the per-year trend and pagination."""
    state = SearchState.from_args(request.args)
    result = engine().search(state.request())
    trends = engine().trends(state.trend_terms, state.filters)
    # Without any words every year's share is 100%: counts are the only informative axis then.
    trend_mode = state.trend if any(state.trend_terms) else "count"
    page_count = min(MAX_PAGE, math.ceil(result.total_docs / state.per_page))
    # Without words there is nothing to rank by: the engine lists newest first, and so does the switch.
    browse = parse_query(state.q).is_empty
    return render_template(
        "search.html",
        autofocus=True,
        state=state,
        sorts={k: v for k, v in SORT_LABELS.items() if not (browse and k == "relevance")},
        active_sort="newest" if browse and state.sort == "relevance" else state.sort,
        result=result,
        hits=[_hit_view(hit, state.q) for hit in result.hits],
        chart=layout(trends.series, trend_mode, selected_years(state.filters.get("year", [])), trends.totals),
        trend_mode=trend_mode,
        page_count=page_count,
        pages=_page_numbers(state.page, page_count),
        suggestions=_suggestions(state) if not result.total_docs else [],
    )


@bp.get("/doc/<doc_id>")
@engine_errors
def document(doc_id: str) -> str:
    """One document: metadata, outline, and its text (a page of it, when long) with the query's matches marked."""
    q = request.args.get("q", "").strip()
    record = document_page(doc_id, request.args)
    if record is None:
        abort(404, description=f"没有编号为“{doc_id[:64]}”的文档，可能已在重建索引时移除。")
    url = record.url or ""
    # Finding shared passages costs time in proportion to the whole document (a minute for two
    # million characters): a document long enough to be paged goes without.
    similar = (engine().similar(doc_id) or {"similar": []})["similar"] if record.pages == 1 else []
    # Without a query, the passages shared with other documents are what is marked in the text.
    shared = not q and mark_shared(record, [span for other in similar for span in other["spans"]])
    return render_template(
        "doc.html",
        doc=record,
        sections=[(section, *_heading_and_body(section)) for section in record.sections],
        mark_class="shared" if shared else "",
        similar=similar,
        q=q,
        state=SearchState(q=q),
        doc_pages=_page_numbers(record.page, record.pages),
        pager=DocPager(doc_id, q, record.page),
        # Only web addresses become links: a javascript: or data: URL in a corpus stays text.
        url_is_link=urlsplit(url).scheme.lower() in ("http", "https"),
    )


@bp.route("/passage", methods=["GET", "POST"])
@engine_errors
def passage() -> str:
    """查出处: paste a passage, see the sections that contain it or a close variant."""
    text = request.values.get("text", "")
    result, error = None, ""
    if text.strip():
        try:
            result = engine().passage(text)
        except QueryError as exc:
            error = str(exc)
    return render_template("passage.html", text=text, result=result, error=error, max_chars=MAX_PASSAGE_CHARS, state=SearchState())


@dataclass(frozen=True)
class DocPager:
    """The pages of a long document, as the pagination template sees a search state: a page and each page's URL."""

    doc_id: str
    q: str
    page: int

    def with_page(self, page: int) -> str:
        """URL of another page of the document."""
        return url_for("pages.document", doc_id=self.doc_id, q=self.q or None, page=page if page > 1 else None)


def _doc_href(doc_id: str, q: str, section_id: str) -> str:
    return url_for("pages.document", doc_id=doc_id, q=q or None, _anchor=section_id or None)


def _hit_view(hit: Hit, q: str) -> dict[str, Any]:
    """A hit plus the links and the topic union the template shows."""
    sections = [
        {
            **vars(s),
            "href": _doc_href(hit.doc_id, q, s.section_id),
            # A section that is nothing but its heading would show the same line twice.
            "show_snippet": s.snippet.text.strip(" …") != s.heading.strip(),
        }
        for s in hit.sections
    ]
    return {
        **vars(hit),
        "href": sections[0]["href"] if sections else _doc_href(hit.doc_id, q, ""),
        "topics": list(dict.fromkeys(t for s in hit.sections for t in s.topics)),
        "sections": sections,
    }


def _heading_and_body(section: DocSection) -> tuple[Fragment, Fragment]:
    """The section's heading line (empty when its text does not start with it) and the rest, shown apart.

    A match across the heading's end stays whole, in the heading part (Fragment.split).
    """
    heading = section.heading
    cut = len(heading) if heading and section.text.startswith(heading) else 0
    return section.fragment.split(cut)


def _page_numbers(current: int, count: int) -> list[int | None]:
    """Page numbers to link: first, last, and a window around the current page (None = a gap)."""
    if count <= 1:
        return []
    wanted = {1, count, *range(current - PAGE_WINDOW, current + PAGE_WINDOW + 1)}
    numbers: list[int | None] = []
    for n in sorted(p for p in wanted if 1 <= p <= count):
        if numbers and n - (numbers[-1] or 0) > 1:
            numbers.append(None)
        numbers.append(n)
    return numbers


def _suggestions(state: SearchState) -> list[tuple[str, str]]:
    """What to change when nothing matched: (label, URL) pairs."""
    out = [
        (f"去掉筛选“{FACET_LABELS[name]}：{facet_label(name, key)}”", state.drop(name, key))
        for name, key in state.active_filters()
    ]
    if len(out) > 1:
        out.append(("清除全部筛选", state.clear_all()))
    unquoted = " ".join(QUOTES.sub(" ", state.q).split())
    if unquoted != state.q and unquoted:
        out.append((f"去掉引号：{unquoted}", state.with_query(unquoted)))
    words = state.q.split()
    if len(words) > 1:
        fewer = " ".join(words[:-1])
        out.append((f"少用一个词：{fewer}", state.with_query(fewer)))
    return out

