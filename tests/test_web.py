"""The Flask app through its test client: JSON API, HTML pages, error pages, escaping."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from search_app.engine import SearchEngine, SearchRequest
from search_app.results import SearchResult
from search_app.web import create_app
from search_app.web.state import engine_errors
from tests.conftest import REPO

MARK = re.compile(r"<mark>(.*?)</mark>", re.S)
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'
SEARCH_KEYS = ["query", "expanded", "total_docs", "total_matched", "total_sections", "took_ms", "page", "per_page", "warnings", "hits", "facets"]
HIT_KEYS = ["doc_id", "title", "year", "date", "doc_kind", "source", "source_file", "score", "sections", "versions"]
SECTION_KEYS = ["section_id", "heading", "kind", "topics", "snippet_html", "snippet"]


class Links(HTMLParser):
    """Every <a>: its attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []
        self._open: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            link = {k: v or "" for k, v in attrs}
            link["text"] = ""
            self.links.append(link)
            self._open.append(link)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for link in self._open:
            link["text"] += data


def links(html: str) -> list[dict[str, str]]:
    """The links of a page."""
    parser = Links()
    parser.feed(html)
    return parser.links


def params(href: str) -> dict[str, list[str]]:
    """The query parameters of a link."""
    return parse_qs(urlsplit(href).query, keep_blank_values=True)


def facet_link(html: str, facet: str, value: str) -> dict[str, str]:
    """The sidebar link of one facet value."""
    section = re.search(rf'<section class="facet" data-facet="{facet}">(.*?)</section>', html, re.S)
    assert section, f"no {facet} facet"
    found = [a for a in links(section.group(1)) if a.get("data-value") == value]
    assert found, f"no {facet}={value} link"
    return found[0]


@pytest.fixture(scope="module")
def app(seed_index: Path):
    return create_app({"INDEX_DIR": seed_index, "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def engine(seed_index: Path) -> SearchEngine:
    return SearchEngine(seed_index)


@pytest.fixture(scope="module")
def shuangjian(engine: SearchEngine) -> SearchResult:
    """What the engine itself answers for 双减 on the seeds (tests assert against real values)."""
    result = engine.search(SearchRequest(q="双减"))
    assert result.hits, "the seeds mention 双减"
    return result


# -- JSON API -------------------------------------------------------------------------------
def test_api_search_returns_the_engine_json(client, shuangjian):
    response = client.get("/api/search", query_string={"q": "双减"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert list(data) == SEARCH_KEYS
    assert list(data["facets"]) == ["year", "topic", "section", "doc_kind", "source"]
    for hit in data["hits"]:
        assert list(hit) == HIT_KEYS
        for section in hit["sections"]:
            assert list(section) == SECTION_KEYS
            assert section["section_id"].startswith(hit["doc_id"] + "-")
    strip = lambda d: {k: v for k, v in d.items() if k != "took_ms"}  # noqa: E731
    assert strip(data) == strip(shuangjian.to_json())
    assert "在全市校长会议上的讲话" in [h["title"] for h in data["hits"]]
    assert "<mark>双减</mark>" in json.dumps(data, ensure_ascii=False)


def test_api_search_repeated_filter_values(client, engine):
    years = {row.value for row in engine.search(SearchRequest()).facets["year"]}
    assert {2021, 2023} <= years
    data = client.get("/api/search?year=2021&year=2023&per_page=50").get_json()
    assert data["hits"] and {h["year"] for h in data["hits"]} == {2021, 2023}
    selected = {row["value"] for row in data["facets"]["year"] if row["selected"]}
    assert selected == {2021, 2023}


def test_api_search_unknown_year(client):
    data = client.get("/api/search?year=none").get_json()
    assert data["hits"] and all(h["year"] is None for h in data["hits"])


def test_api_trend(client, shuangjian):
    response = client.get("/api/trend", query_string={"q": "双减"})
    assert response.status_code == 200
    data = response.get_json()
    assert [s["query"] for s in data["series"]] == ["双减"]
    years = data["series"][0]["years"]
    assert sum(r["docs"] for r in years) == shuangjian.total_docs
    assert all(set(r) == {"year", "docs", "sections", "share"} and r["sections"] >= r["docs"] for r in years)


def test_api_doc(client, shuangjian):
    hit = shuangjian.hits[0]
    data = client.get(f"/api/doc/{hit.doc_id}", query_string={"q": "双减"}).get_json()
    assert data["doc_id"] == hit.doc_id and data["title"] == hit.title
    assert data["matches"] > 0
    assert [s["section_id"] for s in data["sections"]] == [f"{hit.doc_id}-{n}" for n in range(len(data["sections"]))]
    assert any("<mark>" in s["html"] for s in data["sections"])
    # The marks of each section are the <mark>s of its html, on the same characters of its text.
    for s in data["sections"]:
        assert len(s["marks"]) == s["matches"] == s["html"].count("<mark>")
        assert [s["text"][a:b] for a, b in s["marks"]] == [unescape(m) for m in MARK.findall(s["html"])]
    plain = client.get(f"/api/doc/{hit.doc_id}").get_json()
    assert plain["matches"] == 0


def test_api_doc_unknown_is_404_json(client):
    response = client.get("/api/doc/no-such-doc")
    assert response.status_code == 404
    assert "error" in response.get_json()
    assert client.get("/api/nothing-here").get_json()["error"]


BAD_PARAMS = [
    ({"q": "双减", "page": "0"}, "页码"),
    ({"q": "双减", "per_page": "1000"}, "每页条数"),
    ({"q": "双减", "page": "abc"}, "整数"),
    ({"q": "双减", "per_page": "ten"}, "整数"),
    ({"q": "教" * 600}, "查询过长"),
    ({"q": "双减", "year": [str(1990 + n) for n in range(31)]}, "最多"),
    ({"q": "双减", "topic": [f"主题{n}" for n in range(31)]}, "最多"),
    ({"q": "双减", "sort": "bogus"}, "排序"),
    ({"q": "双减", "year": "20x3"}, "年份"),
]


@pytest.mark.parametrize(("query", "message"), BAD_PARAMS)
def test_api_bad_parameters_are_400(client, query, message):
    response = client.get("/api/search", query_string=query)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


@pytest.mark.parametrize(("query", "message"), BAD_PARAMS)
def test_page_bad_parameters_are_400_pages(client, query, message):
    response = client.get("/search", query_string=query)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "请求参数有误" in html and message in html
    assert 'class="site-header"' in html  # the site's page, not a bare error


def test_api_trend_bad_parameters(client):
    assert client.get("/api/trend", query_string={"q": "教" * 600}).status_code == 400


# -- search page ------------------------------------------------------------------------------
def test_search_page_shows_highlighted_hits(client, shuangjian):
    response = client.get("/search", query_string={"q": "双减"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<mark>双减</mark>" in html
    for hit in shuangjian.hits:
        assert hit.title in html
        best = hit.sections[0].section_id
        assert f'href="/doc/{hit.doc_id}?q=%E5%8F%8C%E5%87%8F#{best}"' in html
    assert f'共 <strong data-total-docs>{shuangjian.total_docs}</strong> 篇文档' in html
    assert "用时" in html and " ms" in html
    assert 'value="双减"' in html and "autofocus" in html
    assert "已同时搜索" in html  # 双减 expands to its full name


def test_search_page_facet_links_toggle_values(client, engine):
    html = client.get("/search", query_string={"q": "教育"}).get_data(as_text=True)
    link = facet_link(html, "year", "2023")
    assert params(link["href"]) == {"q": ["教育"], "year": ["2023"]}
    expected = next(r.count for r in engine.search(SearchRequest(q="教育")).facets["year"] if r.value == 2023)
    assert str(expected) in link["text"]

    selected = client.get(link["href"]).get_data(as_text=True)
    on = facet_link(selected, "year", "2023")
    assert "selected" in on["class"]
    assert params(on["href"]) == {"q": ["教育"]}  # clicking again removes it
    both = facet_link(selected, "year", "2021")
    assert params(both["href"]) == {"q": ["教育"], "year": ["2023", "2021"]}
    unknown = facet_link(selected, "year", "none")
    assert "年份未知" in unknown["text"]

    two = client.get(both["href"]).get_data(as_text=True)
    chips = [a for a in links(two) if "chip" in a.get("class", "").split()]
    assert [c["data-value"] for c in chips] == ["2023", "2021"]
    assert params(chips[0]["href"]) == {"q": ["教育"], "year": ["2021"]}
    clear = [a for a in links(two) if a["text"] == "清除"]
    assert clear and params(clear[0]["href"]) == {"q": ["教育"]}
    clear_all = [a for a in links(two) if a["text"] in ("清除全部", "清除全部筛选")]
    assert clear_all and all(params(a["href"]) == {"q": ["教育"]} for a in clear_all)


def test_search_page_filters_apply(client, engine):
    expected = engine.search(SearchRequest(q="教育", filters={"year": ["2021"]}))
    html = client.get("/search?q=教育&year=2021").get_data(as_text=True)
    for hit in expected.hits:
        assert hit.title in html
    assert f'<strong data-total-docs>{expected.total_docs}</strong>' in html


def test_search_box_keeps_filters_and_sort(client):
    html = client.get("/search?q=教育&year=2023&sort=newest").get_data(as_text=True)
    form = re.search(r'<form class="searchbox.*?</form>', html, re.S).group(0)
    assert '<input type="hidden" name="year" value="2023">' in form
    assert '<input type="hidden" name="sort" value="newest">' in form


def test_sort_switch_and_pagination_keep_params(client):
    html = client.get("/search?q=教育&per_page=2&year=2023&year=2021").get_data(as_text=True)
    page_links = {a["text"].strip(): a["href"] for a in links(html) if "pagination" in html and a["href"].startswith("/search")}
    nxt = params(page_links["下一页 ›"])
    assert nxt == {"q": ["教育"], "year": ["2023", "2021"], "page": ["2"], "per_page": ["2"]}
    assert params(page_links["2"]) == nxt
    newest = params(page_links["最新"])
    assert newest == {"q": ["教育"], "year": ["2023", "2021"], "sort": ["newest"], "per_page": ["2"]}

    second = client.get(page_links["下一页 ›"]).get_data(as_text=True)
    assert '<span class="current" aria-current="page">2</span>' in second
    prev = [a for a in links(second) if a.get("rel") == "prev"]
    assert params(prev[0]["href"]) == {"q": ["教育"], "year": ["2023", "2021"], "per_page": ["2"]}


def test_pages_show_different_hits(client):
    first = re.findall(r'data-doc-id="([^"]+)"', client.get("/search?q=教育&per_page=2").get_data(as_text=True))
    second = re.findall(r'data-doc-id="([^"]+)"', client.get("/search?q=教育&per_page=2&page=2").get_data(as_text=True))
    assert len(first) == 2 and second and not set(first) & set(second)


def test_page_beyond_the_results(client):
    html = client.get("/search?q=双减&page=50").get_data(as_text=True)
    assert "第 50 页没有结果" in html and "回到第 1 页" in html


def test_zero_results_suggest_changes(client):
    html = client.get("/search", query_string={"q": '双减 "不存在的说法"', "year": "2021"}).get_data(as_text=True)
    assert "没有找到" in html
    suggestions = {a["text"]: params(a["href"]) for a in links(html.split('class="suggestions"')[1])}
    assert suggestions["去掉筛选“年份：2021”"] == {"q": ['双减 "不存在的说法"']}
    assert suggestions["去掉引号：双减 不存在的说法"] == {"q": ["双减 不存在的说法"], "year": ["2021"]}
    assert suggestions["少用一个词：双减"] == {"q": ["双减"], "year": ["2021"]}


def test_trend_chart_links_years(client, engine):
    trend = engine.trend("教育")
    html = client.get("/search?q=教育").get_data(as_text=True)
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    columns = {a["data-year"]: a["href"] for a in links(svg)}
    assert set(columns) == {str(r.year) for r in trend.years}
    for row in trend.years:
        assert params(columns[str(row.year)]) == {"q": ["教育"], "year": [str(row.year)]}
        assert f"{row.year} 年：教育 {row.docs} 篇文档，{row.sections} 个段落" in svg


def test_landing_page(client, engine):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "autofocus" in html
    examples = {a["text"]: params(a["href"]) for a in links(html)}
    assert examples["双减"] == {"q": ["双减"]}
    assert examples['"集团化办学"'] == {"q": ['"集团化办学"']}
    assert examples["立德树人 year:2019..2023"] == {"q": ["立德树人 year:2019..2023"]}
    assert examples["职业教育 -高等教育"] == {"q": ["职业教育 -高等教育"]}
    assert f"<strong>{engine.stats()['documents']}</strong> 篇文档" in html


def test_root_with_a_query_redirects_to_search(client):
    response = client.get("/?q=双减&year=2023")
    assert response.status_code == 302
    assert params(response.headers["Location"]) == {"q": ["双减"], "year": ["2023"]}
    assert urlsplit(response.headers["Location"]).path == "/search"


def test_browse_without_query(client, engine):
    html = client.get("/search").get_data(as_text=True)
    assert f'<strong data-total-docs>{engine.stats()["documents"]}</strong>' in html
    # Nothing to rank by: the switch shows what the engine does (newest first).
    sort = re.search(r'<nav class="sort".*?</nav>', html, re.S).group(0)
    assert "相关度" not in sort and '<span class="active" aria-current="true">最新</span>' in sort


def test_unexpected_errors_are_500_pages(app, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("<script>alert(1)</script> internal detail")

    monkeypatch.setattr(app.extensions["engine"], "search", broken)
    client = app.test_client()
    page = client.get("/search?q=双减")
    assert page.status_code == 500
    body = page.get_data(as_text=True)
    assert "服务器内部错误" in body and 'class="site-header"' in body
    assert "internal detail" not in body and "Traceback" not in body
    api = client.get("/api/search?q=双减")
    assert api.status_code == 500 and api.get_json() == {"error": "服务器内部错误"}


# -- document page ----------------------------------------------------------------------------
def test_doc_page_has_section_anchors_and_marks(client, engine, shuangjian):
    hit = shuangjian.hits[0]
    record = engine.document(hit.doc_id, "双减")
    response = client.get(f"/doc/{hit.doc_id}", query_string={"q": "双减"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for section in record.sections:
        assert f'id="{section.section_id}"' in html
        assert f'href="#{section.section_id}"' in html
    assert html.count("<mark>") == record.matches
    assert 'id="next-match"' in html and 'id="prev-match"' in html and 'id="match-counter"' in html
    assert f"共 <strong>{record.matches}</strong> 处匹配" in html
    assert hit.title in html and hit.source_file in html
    headed = [s for s in record.sections if s.heading and s.text.startswith(s.heading)]
    assert html.count('<span class="section-heading">') == len(headed) > 0


def test_doc_page_unknown_is_404_page(client):
    response = client.get("/doc/no-such-doc")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "页面不存在" in html and "no-such-doc" in html and 'class="site-header"' in html


def test_unknown_path_is_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "找不到这个页面" in response.get_data(as_text=True)


# -- index missing / outdated ---------------------------------------------------------------------
def test_index_missing_is_503_with_the_command(tmp_path):
    client = create_app({"INDEX_DIR": tmp_path, "TESTING": True}).test_client()
    # The page names the index by its name only: its absolute path is for the server's log.
    command = f"python -m indexer reindex --corpus corpus --index …/{tmp_path.name}"
    for url in ("/", "/search?q=双减", "/doc/abc"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert command in response.get_data(as_text=True)
    api = client.get("/api/search?q=双减")
    assert api.status_code == 503
    assert api.get_json()["command"] == command


def test_index_outdated_is_503(tmp_path):
    (tmp_path / "gen-old").mkdir()
    (tmp_path / "gen-old" / "manifest.json").write_text('{"schema_version": 0}', encoding="utf-8")
    (tmp_path / "CURRENT").write_text("gen-old\n", encoding="utf-8")
    response = create_app({"INDEX_DIR": tmp_path, "TESTING": True}).test_client().get("/search?q=双减")
    assert response.status_code == 503
    assert "需要重建" in response.get_data(as_text=True)


# -- escaping -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "/search",
        "/doc/{doc_id}",
        "/api/search",
    ],
)
def test_hostile_query_is_escaped(client, shuangjian, url):
    q = f"双减 {XSS_SCRIPT} {XSS_ATTR}"
    response = client.get(url.format(doc_id=shuangjian.hits[0].doc_id), query_string={"q": q})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    if url.startswith("/api/"):
        assert response.mimetype == "application/json"
        return
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_hostile_parameters_in_error_pages_are_escaped(client):
    for query in ({"q": XSS_SCRIPT, "sort": XSS_SCRIPT}, {"q": XSS_ATTR, "page": XSS_ATTR}, {"q": XSS_SCRIPT, "year": XSS_SCRIPT}):
        response = client.get("/search", query_string=query)
        assert response.status_code == 400
        body = response.get_data(as_text=True)
        assert "<script>alert" not in body and "<img src=x" not in body
    body = client.get("/doc/" + XSS_SCRIPT.replace("/", "%2F")).get_data(as_text=True)
    assert "<script>alert" not in body


def test_zero_result_suggestions_escape_the_query(client):
    body = client.get("/search", query_string={"q": f'"{XSS_SCRIPT}" {XSS_ATTR}', "year": XSS_ATTR[:2]}).get_data(as_text=True)
    assert "<script>alert" not in body and "<img src=x" not in body


def test_javascript_text_is_not_a_link(client):
    body = client.get("/search", query_string={"q": "javascript:alert(1)"}).get_data(as_text=True)
    assert 'href="javascript:' not in body.lower()


def test_security_headers(client):
    headers = client.get("/search?q=双减").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index whose corpus itself carries markup and a javascript: URL."""
    from indexer.build import reindex

    corpus = tmp_path_factory.mktemp("hostile-corpus")
    records = [
        {
            "title": f"关于双减的讲话{XSS_SCRIPT}",
            "content": f"一、总体要求\n落实双减政策{XSS_SCRIPT}，减轻学生负担{XSS_ATTR}。\n二、工作任务\n继续推进双减。",
            "year": 2022,
            "url": "javascript:alert(1)",
            "source": XSS_ATTR,
        },
        {"title": "双减工作要点", "content": "一、目标\n全面落实双减，提高课后服务水平。", "year": 2023, "url": "https://example.org/a?b=1&c=2"},
    ]
    (corpus / "hostile.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    index_dir = tmp_path_factory.mktemp("hostile-index")
    reindex([corpus], index_dir, progress=False, workers=1)
    return index_dir


def test_hostile_corpus_text_is_escaped(hostile_index):
    client = create_app({"INDEX_DIR": hostile_index, "TESTING": True}).test_client()
    hits = client.get("/api/search?q=双减").get_json()["hits"]
    assert len(hits) == 2
    pages = [client.get("/search?q=双减").get_data(as_text=True)]
    pages += [client.get(f"/doc/{h['doc_id']}?q=双减").get_data(as_text=True) for h in hits]
    for body in pages:
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert 'href="javascript:' not in body.lower()
    bodies = "".join(pages)
    assert "javascript:alert(1)" in bodies  # shown as text
    assert 'href="https://example.org/a?b=1&amp;c=2"' in bodies


# -- configuration, CLI entry points, serve ----------------------------------------------------------
def test_config_environment_then_test_config(monkeypatch, tmp_path, seed_index):
    monkeypatch.setenv("EDU_SEARCH_INDEX", str(tmp_path))
    assert create_app().config["INDEX_DIR"] == tmp_path
    app = create_app({"INDEX_DIR": str(seed_index)})
    assert app.config["INDEX_DIR"] == seed_index
    assert app.extensions["engine"].location.root == seed_index


def test_flask_cli_finds_the_factory(seed_index):
    env = {"EDU_SEARCH_INDEX": str(seed_index), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "search_app", "routes"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    for route in ("/api/search", "/api/trend", "/api/doc/<doc_id>", "/search", "/doc/<doc_id>"):
        assert route in out.stdout


def test_serve_reports_a_missing_index_and_a_busy_port(tmp_path, capsys):
    from search_app.limits import ServerLimits
    from search_app.web.serve import serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert serve(tmp_path, "127.0.0.1", port, ServerLimits(threads=1)) == 1
    err = capsys.readouterr().err
    assert f"python -m indexer reindex --corpus corpus --index {tmp_path}" in err
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_engine_panics_become_server_errors():
    class Panic(BaseException):
        """Stands in for pyo3's PanicException, which is not an Exception."""

    @engine_errors
    def view() -> None:
        raise Panic("boom")

    with pytest.raises(RuntimeError, match="boom"):
        view()
