"""Reliability (issue #7): input limits on the HTTP side.

Every out-of-range or malformed parameter — query length, page, per_page, number and length
of filter values, a page that is not an integer, an unknown sort — is refused with HTTP 400:
a JSON `{"error": …}` naming the problem under /api/, and under /search a page in the site's
style that explains it and keeps the search box. Values just inside the limits are served.
Never a 500.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from search_app.engine import MAX_FILTER_VALUES, MAX_PAGE, MAX_PER_PAGE
from search_app.query import MAX_QUERY_CHARS
from search_app.web import create_app

TOPICS = [f"主题{n}" for n in range(MAX_FILTER_VALUES + 1)]

# (query parameters, words the error message must contain)
REFUSED = [
    ({"q": "教" * (MAX_QUERY_CHARS + 1)}, ["查询过长", str(MAX_QUERY_CHARS)]),
    ({"q": "a" * 5000}, ["查询过长", "5000"]),
    ({"q": "教育", "page": "0"}, ["页码", f"1 到 {MAX_PAGE}"]),
    ({"q": "教育", "page": "-1"}, ["页码"]),
    ({"q": "教育", "page": str(MAX_PAGE + 1)}, ["页码", str(MAX_PAGE)]),
    ({"q": "教育", "page": "9" * 40}, ["页码"]),
    ({"q": "教育", "page": "abc"}, ["页码", "整数", "abc"]),
    ({"q": "教育", "page": "1.5"}, ["页码", "整数"]),
    ({"q": "教育", "page": "1e3"}, ["页码", "整数"]),
    ({"q": "教育", "page": "0x10"}, ["页码", "整数"]),
    ({"q": "教育", "page": "二"}, ["页码", "整数"]),
    ({"q": "教育", "per_page": "0"}, ["每页条数", f"1 到 {MAX_PER_PAGE}"]),
    ({"q": "教育", "per_page": str(MAX_PER_PAGE + 1)}, ["每页条数", str(MAX_PER_PAGE)]),
    ({"q": "教育", "per_page": "100000"}, ["每页条数"]),
    ({"q": "教育", "per_page": "ten"}, ["每页条数", "整数"]),
    ({"q": "教育", "topic": TOPICS}, ["topic", f"最多 {MAX_FILTER_VALUES} 个值"]),
    ({"q": "教育", "year": [str(1900 + n) for n in range(MAX_FILTER_VALUES + 1)]}, ["year", str(MAX_FILTER_VALUES)]),
    ({"q": "教育", "doc_kind": "讲" * 101}, ["筛选值过长"]),
    ({"q": "教育", "year": "二〇二三"}, ["年份", "四位数字"]),
    ({"q": "教育", "year": "2023.0"}, ["年份"]),
    ({"q": "教育", "year": "²"}, ["年份", "四位数字"]),  # a digit to str.isdigit(), not to int()
    ({"q": "教育", "year": "①"}, ["年份", "四位数字"]),
    ({"q": "教育", "sort": "random"}, ["排序", "relevance"]),
]

# Just inside every limit.
ACCEPTED = [
    {"q": "教" * MAX_QUERY_CHARS},
    {"q": "  " + "教" * MAX_QUERY_CHARS + "  "},  # surrounding spaces do not count
    {"q": "教育", "page": str(MAX_PAGE)},
    {"q": "教育", "page": " 2 "},
    {"q": "教育", "page": ""},  # blank means the default
    {"q": "教育", "per_page": str(MAX_PER_PAGE)},
    {"q": "教育", "per_page": "1"},
    {"q": "教育", "topic": TOPICS[:MAX_FILTER_VALUES]},
    {"q": "教育", "year": ["2023", "none", "未知", ""]},
    {"q": "教育", "doc_kind": "讲" * 100},
    {"q": "", "sort": "oldest", "page": "3", "per_page": "2"},
]


def label(params: dict) -> str:
    """A short test id for a parameter set."""
    return ",".join(f"{k}={(v if isinstance(v, str) else f'[{len(v)}]')[:12]}" for k, v in params.items())


@pytest.fixture(scope="module")
def client(seed_index: Path):
    """A Flask test client over the seed index."""
    return create_app({"INDEX_DIR": seed_index, "TESTING": True}).test_client()


@pytest.mark.parametrize(("params", "words"), REFUSED, ids=[label(p) for p, _ in REFUSED])
def test_api_refuses_with_a_json_message(client, params: dict, words: list[str]) -> None:
    for path in ("/api/search", "/api/trend"):
        if path == "/api/trend" and set(params) & {"page", "per_page", "sort"}:
            continue  # a trend has no pages and no order
        response = client.get(f"{path}?{urlencode(params, doseq=True)}")
        assert response.status_code == 400, (path, response.get_data(as_text=True)[:300])
        assert response.mimetype == "application/json"
        message = response.get_json()["error"]
        for word in words:
            assert word in message, (path, message)


@pytest.mark.parametrize(("params", "words"), REFUSED, ids=[label(p) for p, _ in REFUSED])
def test_search_page_refuses_with_a_helpful_page(client, params: dict, words: list[str]) -> None:
    response = client.get(f"/search?{urlencode(params, doseq=True)}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "请求参数有误" in page and "请检查检索词和筛选条件后重试" in page
    for word in words:
        assert word in page, word
    assert 'name="q"' in page  # the search box, to try again
    if len(params["q"]) <= 100:
        assert f'value="{params["q"]}"' in page  # … keeping the query


@pytest.mark.parametrize("params", ACCEPTED, ids=[label(p) for p in ACCEPTED])
def test_values_inside_the_limits_are_served(client, params: dict) -> None:
    query = urlencode(params, doseq=True)
    api = client.get(f"/api/search?{query}")
    assert api.status_code == 200, api.get_json()
    body = api.get_json()
    assert len(body["hits"]) <= body["per_page"] <= MAX_PER_PAGE
    assert client.get(f"/search?{query}").status_code == 200


def test_unknown_documents_are_404_not_500(client) -> None:
    for doc_id in ("nope", "x" * 5000, "%00", "..%2F..%2Fetc%2Fpasswd", "%E6%95%99"):
        api = client.get(f"/api/doc/{doc_id}")
        assert api.status_code == 404 and "error" in api.get_json()
        page = client.get(f"/doc/{doc_id}")
        assert page.status_code == 404 and "页面不存在" in page.get_data(as_text=True)
