"""Reliability (issue #7): hostile queries never raise, never give a 500, never inject markup.

Property-based (Hypothesis) over the three layers a query passes through: the parser
(`search_app.query.parse_query`), the engine (`SearchEngine.search`, on the seed index) and
HTTP (the Flask test client, `/api/search` and `/search`). Inputs: arbitrary Unicode,
operator soup, control characters, lone surrogates (engine and parser; over HTTP arbitrary
percent-encoded bytes instead), and input up to 5000 characters, which must be refused with
HTTP 400 beyond the limit. Last, an XSS check in headless Chromium against a corpus whose
titles and text are themselves hostile.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from search_app.engine import SORTS, SearchEngine, SearchRequest
from search_app.query import MAX_QUERY_CHARS, ParsedQuery, parse_query
from search_app.web import create_app
from speechindex.errors import QueryError
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium, served

OPERATORS = ['"', "“", "”", "-", "OR", "AND", "NOT", "(", ")", "title:", "year:", "..", ":", "|", " ", "双减", "教育", "\\"]
# C0/C1 controls, format characters (zero-width, bidi), line/paragraph separators, private use.
CONTROL_CHARS = st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Co"])
JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

operator_soup = st.lists(st.sampled_from(OPERATORS), max_size=40).map("".join)
control_text = st.lists(st.one_of(CONTROL_CHARS, st.sampled_from(OPERATORS)), max_size=40).map("".join)
with_surrogates = st.text(alphabet=st.one_of(st.characters(categories=["Cs"]), st.characters()), max_size=60)
# Exactly n characters, n up to 5000: a drawn chunk repeated (Hypothesis draws long text slowly).
long_text = st.builds(lambda chunk, n: (chunk * n)[:n], st.text(min_size=1, max_size=30), st.integers(400, 5000))
hostile_text = st.one_of(st.text(max_size=200), operator_soup, control_text, long_text)
hostile_with_surrogates = st.one_of(hostile_text, with_surrogates)

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXAMPLES = ("", " ", "\x00", "\ud800", '"', "“", "-", "--", "title:", "year:", "year:..", "(((", ")", "OR", "NOT", "\\")

XSS_PAYLOADS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "' onmouseover='alert(1)")
XSS_MARKER = "mkxsspage"


@pytest.fixture(scope="module")
def engine(seed_index: Path) -> SearchEngine:
    """The engine over the seed index, opened once."""
    search_engine = SearchEngine(seed_index)
    search_engine.check()
    return search_engine


@pytest.fixture(scope="module")
def client(seed_index: Path):
    """A Flask test client of the app over the seed index."""
    return create_app({"INDEX_DIR": seed_index, "TESTING": True}).test_client()


def over_limit(q: str) -> bool:
    """Whether the web layer must refuse `q` (it strips the query before checking its length)."""
    return len(q.strip()) > MAX_QUERY_CHARS


# -- parser ------------------------------------------------------------------------------
@SETTINGS
@given(hostile_with_surrogates)
@example("\ud800").via("lone surrogate")
@example("x" * 5000).via("5000 characters")
def test_parse_query_never_raises_and_keeps_no_junk(q: str) -> None:
    parsed = parse_query(q)
    assert isinstance(parsed, ParsedQuery)
    assert all(isinstance(w, str) for w in parsed.warnings)
    for atom in [*parsed.positive_atoms(), *parsed.excluded]:
        assert atom.text and not JUNK.search(atom.text), atom
        assert len(atom.text) <= MAX_QUERY_CHARS
    if parsed.year_from is not None and parsed.year_to is not None:
        assert parsed.year_from <= parsed.year_to


# -- engine ------------------------------------------------------------------------------
@SETTINGS
@given(q=hostile_with_surrogates, sort=st.sampled_from(SORTS))
@example(q="\ud800教育\udfff", sort="relevance").via("lone surrogates around a word")
def test_engine_search_never_fails_on_hostile_queries(engine: SearchEngine, q: str, sort: str) -> None:
    request = SearchRequest(q=q, sort=sort)
    if len(q) > MAX_QUERY_CHARS:
        with pytest.raises(QueryError, match="查询过长"):
            engine.search(request)
        return
    result = engine.search(request)
    json.dumps(result.to_json(), ensure_ascii=False).encode("utf-8")  # lone surrogates are not echoed
    printable = q.encode("utf-8", "replace").decode("utf-8")
    assert result.query == printable
    assert len(result.hits) <= result.per_page
    assert result.total_docs >= len(result.hits)
    assert engine.trend(q).query == printable
    if result.hits:
        record = engine.document(result.hits[0].doc_id, q)
        assert record is not None and record.matches >= 0


@pytest.mark.parametrize("q", EXAMPLES)
def test_engine_handles_the_classic_edge_cases(engine: SearchEngine, q: str) -> None:
    result = engine.search(SearchRequest(q=q))
    assert result.total_docs >= 0


# -- HTTP --------------------------------------------------------------------------------
def check_api(client, query_string: str, refuse: bool) -> None:
    """GET /api/search?q=…: valid JSON, 200, or 400 with a message when `refuse`; never 500."""
    response = client.get(f"/api/search?q={query_string}")
    assert response.status_code == (400 if refuse else 200), response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    body = json.loads(response.get_data(as_text=True))
    if refuse:
        assert "查询过长" in body["error"]
    else:
        assert {"query", "total_docs", "hits", "facets"} <= set(body)


def check_page(client, query_string: str, refuse: bool) -> None:
    """GET /search?q=…: an HTML page, 200, or a 400 page that explains when `refuse`; never 500."""
    response = client.get(f"/search?q={query_string}")
    assert response.status_code == (400 if refuse else 200), response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    if refuse:
        assert "查询过长" in page and f"最多 {MAX_QUERY_CHARS} 个字符" in page
        assert 'name="q"' in page  # the search box is there, to fix the query


@SETTINGS
@given(hostile_text)
@example("x" * (MAX_QUERY_CHARS + 1)).via("one over the limit")
@example(" " * 10 + "x" * MAX_QUERY_CHARS + " " * 10).via("at the limit once stripped")
def test_api_and_page_on_hostile_text(client, q: str) -> None:
    encoded = quote(q, safe="")
    check_api(client, encoded, over_limit(q))
    check_page(client, encoded, over_limit(q))


@SETTINGS
@given(st.binary(max_size=600))
@example(b"\xed\xa0\x80")  # a UTF-8-encoded lone surrogate
@example(b"\xff\xfe\x00\x00%")
def test_api_and_page_on_arbitrary_bytes(client, raw: bytes) -> None:
    encoded = quote_from_bytes(raw, safe="")
    # The server decodes the query string as UTF-8 with replacement characters.
    expected = over_limit(raw.decode("utf-8", errors="replace"))
    check_api(client, encoded, expected)
    check_page(client, encoded, expected)


@SETTINGS
@given(st.text(max_size=40), st.text(max_size=40))
@example("", "²").via("a digit to str.isdigit() that int() refuses")
def test_hostile_values_in_every_parameter(client, q: str, other: str) -> None:
    for name in ("sort", "page", "per_page", "year", "topic", "section", "doc_kind"):
        query_string = f"q={quote(q, safe='')}&{name}={quote(other, safe='')}"
        for path in ("/api/search", "/search", "/api/trend"):
            response = client.get(f"{path}?{query_string}")
            assert response.status_code in (200, 400), (path, name, response.get_data(as_text=True)[:300])
            if path.startswith("/api/"):
                json.loads(response.get_data(as_text=True))


# -- XSS in a real browser ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on waitress (127.0.0.1, a free port) over a corpus whose documents carry the payloads."""
    from indexer.build import reindex

    corpus = tmp_path_factory.mktemp("xss-corpus")
    payloads = " ".join(XSS_PAYLOADS)
    record = {
        "title": f"关于教育工作的讲话 {payloads}",
        "content": f"一、总体要求\n会议代号 {XSS_MARKER}。{payloads}\n二、工作任务\n要落实教育任务。{XSS_PAYLOADS[1]}",
        "year": 2023,
        "url": XSS_PAYLOADS[2],
        "source": XSS_PAYLOADS[3],
    }
    (corpus / "hostile.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    (corpus / "hostile title.txt").write_text(
        f"{XSS_PAYLOADS[0]}{XSS_PAYLOADS[3]}\n\n第二份文件 {XSS_MARKER} 的正文：{payloads}\n", encoding="utf-8"
    )
    index = tmp_path_factory.mktemp("xss-index")
    reindex([corpus], index, progress=False, workers=1)
    with served(index) as url:
        yield url


def assert_nothing_injected(page) -> None:
    """No element, attribute, script or link that the payloads could have created."""
    assert page.query_selector("img[src='x'], img[src=x]") is None
    assert page.query_selector("[onerror], [onmouseover], [onload], [onclick]") is None
    assert page.query_selector("a[href^='javascript:' i], iframe, object, embed") is None
    assert not page.evaluate(
        "Array.from(document.scripts).some(s => s.textContent.includes('alert') || s.src.includes('alert'))"
    )


@pytest.mark.browser
def test_hostile_documents_and_queries_in_chromium(hostile_site: str) -> None:
    sync_api = require_chromium()
    dialogs: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=hostile_site)
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

            # Every payload as a query, typed into the search box and as a URL.
            for payload in XSS_PAYLOADS:
                page.goto("/")
                page.fill("input[name=q]", payload)
                page.press("input[name=q]", "Enter")
                page.wait_for_url("**/search?**")
                assert page.input_value("input[name=q]") == payload
                assert_nothing_injected(page)
                page.goto(f"/search?q={quote(payload, safe='')}&sort={quote(payload, safe='')}")
                assert_nothing_injected(page)

            # The hostile documents: titles and snippets in the results, then each document page.
            page.goto(f"/search?q={XSS_MARKER}")
            assert_nothing_injected(page)
            results_text = page.inner_text("main")
            for payload in XSS_PAYLOADS:
                assert payload in results_text, payload
            links = page.eval_on_selector_all(".hit .hit-title a", "els => els.map(e => e.href)")
            assert len(links) == 2, links
            for link in links:
                for q in (XSS_MARKER, *XSS_PAYLOADS):
                    page.goto(link.split("?")[0] + f"?q={quote(q, safe='')}")
                    assert_nothing_injected(page)
                    text = page.inner_text("article")
                    for payload in XSS_PAYLOADS:
                        assert payload in text, (link, payload)
            page.wait_for_timeout(300)  # let any late event handler fire
        finally:
            browser.close()
    assert dialogs == [], f"a dialog fired: {dialogs}"
