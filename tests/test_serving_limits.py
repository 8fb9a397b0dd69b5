"""Reliability (issue #16): what one request may cost the server, and small serving defects.

- Admission control: an expensive query (a 500-character OR) takes one of few slots; when
  they are full the next expensive one gets 503 with Retry-After at once, while cheap ones
  are still served. One that exceeds the time budget gets 503 with Retry-After.
- Response amplification: every link of a results page repeats the whole URL state, so the
  filters together are capped (a 500-character query with 120 filter values made a 32 MB page).
- A long document is shown in pages of at most EDU_SEARCH_DOC_PAGE_CHARS characters, the
  sections matching the query first, every section on exactly one page; /api/doc likewise.
- Year filters in URLs accept full-width and Arabic-Indic digits, as the query text does.
- `search_app search … | head` ends quietly; the 503 page does not show the index's absolute path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bench.load import CHEAP_QUERIES, COMMON_WORDS, EXPENSIVE_QUERY
from indexer.build import reindex
from search_app.limits import ENV, ServerLimits, request_cost
from search_app.web import create_app
from speechindex.docstore import DocStore
from speechindex.location import IndexLocation
from speechindex.schema import DOCSTORE
from tests.conftest import REPO

MARKER = "mkpagingmarker"


def _args(q: str, **extra: list[str]) -> dict[str, list[str]]:
    return {"q": [q], **extra}


# -- cost classification and configuration ---------------------------------------------------------
def test_request_cost_tells_expensive_from_cheap_queries() -> None:
    threshold = ServerLimits().expensive_cost
    assert all(request_cost(_args(q)) < threshold for q in CHEAP_QUERIES)
    assert request_cost(_args("双减")) == 1
    assert request_cost(_args(EXPENSIVE_QUERY)) > 10 * threshold
    # A long AND of words, many filter values and deep pages cost too.
    assert request_cost(_args(" ".join(COMMON_WORDS[:16]))) >= threshold
    # Repeats are free: the parser keeps each word once.
    assert request_cost(_args(" ".join(["教育", "改革", "发展", "质量"] * 4))) < threshold
    assert request_cost({"year": [str(y) for y in range(1990, 2030)], "topic": ["x"] * 30}) >= threshold
    assert request_cost({"q": ["教育"], "page": ["100"], "per_page": ["50"]}) >= threshold
    assert request_cost({"q": ["双减"], "page": ["744"]}, "/doc/abc") == 1  # a document page is bounded
    assert request_cost({"page": ["abc"]}) == 0  # bad values are the view's to refuse
    assert request_cost({"q": ["a"] * 20_000}) >= threshold  # classifying stays cheap: 8 are read


def test_limits_come_from_the_environment_and_bad_values_are_named() -> None:
    assert ServerLimits.from_env({}) == ServerLimits()
    limits = ServerLimits.from_env({ENV["idle_timeout_s"]: "3", ENV["doc_page_chars"]: " 5000 "})
    assert (limits.idle_timeout_s, limits.doc_page_chars) == (3, 5000)
    for bad in ("0", "-1", "ten", "1.5"):
        with pytest.raises(ValueError, match=ENV["connection_limit"]):
            ServerLimits.from_env({ENV["connection_limit"]: bad})


def test_serve_refuses_a_bad_limit_with_a_message(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "search_app", "serve", "--index", str(tmp_path), "--port", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", ENV["idle_timeout_s"]: "soon"},
    )
    assert proc.returncode == 2
    assert ENV["idle_timeout_s"] in proc.stderr and "Traceback" not in proc.stderr


# -- admission control and time budget ----------------------------------------------------------
class SlowEngine:
    """Wraps the engine's search: an expensive query waits for `release` (or sleeps `delay`)."""

    def __init__(self, app, delay: float = 0.0) -> None:
        self.engine = app.extensions["engine"]
        self.search = self.engine.search
        self.entered = threading.Event()
        self.release = threading.Event()
        self.delay = delay
        self.engine.search = self._search

    def _search(self, req):
        if len(req.q) > 100:
            self.entered.set()
            if self.delay:
                time.sleep(self.delay)
            else:
                self.release.wait(30)
        return self.search(req)


def _expensive_url(path: str = "/api/search") -> str:
    return f"{path}?{urlencode({'q': EXPENSIVE_QUERY})}"


def test_expensive_queries_are_refused_when_the_slots_are_full_and_cheap_ones_still_served(seed_index: Path) -> None:
    app = create_app({"INDEX_DIR": seed_index, "LIMITS": ServerLimits(expensive_slots=1, expensive_queue=0)})
    slow = SlowEngine(app)
    first: list = []
    holder = threading.Thread(target=lambda: first.append(app.test_client().get(_expensive_url())))
    holder.start()
    try:
        assert slow.entered.wait(30), "the first expensive query should be running"
        started = time.monotonic()
        refused = app.test_client().get(_expensive_url())
        assert time.monotonic() - started < 2, "a refusal must not wait"
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        assert "服务器正忙" in refused.get_json()["error"]
        page = app.test_client().get(_expensive_url("/search"))
        assert page.status_code == 503 and page.headers["Retry-After"]
        assert "服务器正忙" in page.get_data(as_text=True) and 'name="q"' in page.get_data(as_text=True)
        assert page.headers["Content-Security-Policy"], "the site's headers apply to the refusal too"
        for q in CHEAP_QUERIES:
            assert app.test_client().get(f"/api/search?{urlencode({'q': q})}").status_code == 200, q
    finally:
        slow.release.set()
        holder.join(30)
    assert first[0].status_code == 200 and first[0].get_json()["total_docs"] > 0
    assert app.test_client().get(_expensive_url()).status_code == 200, "the slot is free again"
    counts = app.wsgi_app.counts
    assert counts["refused"] == 2 and counts["expensive"] == 2 and counts["cheap"] >= len(CHEAP_QUERIES)


def test_an_expensive_query_over_the_time_budget_gets_503_with_retry_after(seed_index: Path) -> None:
    app = create_app({"INDEX_DIR": seed_index, "LIMITS": ServerLimits(time_budget_ms=300, expensive_queue=0)})
    slow = SlowEngine(app, delay=1.5)
    started = time.monotonic()
    response = app.test_client().get(_expensive_url())
    assert time.monotonic() - started < 1.2
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert "0.3 秒的处理时限" in response.get_json()["error"]
    # The abandoned query keeps its slot until it ends: meanwhile the next one is refused.
    assert app.test_client().get(_expensive_url()).status_code == 503
    time.sleep(1.5)
    slow.delay = 0.01
    slow.release.set()
    assert app.test_client().get(_expensive_url()).status_code == 200
    assert app.wsgi_app.counts["over_budget"] >= 1


def test_an_expensive_query_waits_in_the_queue_instead_of_being_refused(seed_index: Path) -> None:
    """Within the queue, a second expensive query waits for the slot and is answered: no retry loop."""
    app = create_app({"INDEX_DIR": seed_index, "LIMITS": ServerLimits(expensive_slots=1, expensive_queue=1)})
    slow = SlowEngine(app)
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(app.test_client().get(_expensive_url()))) for _ in range(2)]
    threads[0].start()
    try:
        assert slow.entered.wait(30)
        threads[1].start()
        time.sleep(0.3)  # the second is waiting for the slot
        assert app.wsgi_app.counts["refused"] == 0
        assert app.test_client().get(_expensive_url()).status_code == 503, "a third is beyond the queue"
    finally:
        slow.release.set()
        for thread in threads:
            thread.join(30)
    assert [a.status_code for a in answers] == [200, 200]


def test_the_expensive_queue_always_leaves_threads_for_other_requests(capsys) -> None:
    from search_app.web.serve import MIN_FREE_THREADS, _fit_expensive_queue

    assert _fit_expensive_queue(ServerLimits()) == ServerLimits(), "the defaults fit: 48 threads, 1 slot, 32 queued"
    for threads in (1, 2, 8, 20, 48):
        fitted = _fit_expensive_queue(ServerLimits(threads=threads))
        free = threads - fitted.expensive_slots - fitted.expensive_queue
        assert fitted.expensive_queue >= 0 and free >= min(threads - 1, max(MIN_FREE_THREADS, threads // 4)), threads
    assert _fit_expensive_queue(ServerLimits(threads=8)).expensive_queue == 5
    assert "queue shortened from 32 to 5" in capsys.readouterr().err


# -- worker processes (what `serve` runs) ---------------------------------------------------------
@pytest.fixture()
def worker_app(seed_index: Path):
    app = create_app({"INDEX_DIR": seed_index, "WORKER_PROCESSES": True, "LIMITS": ServerLimits(processes=1)})
    yield app
    app.wsgi_app.runner.close()
    app.wsgi_app.cheap_runner.close()


def _without_timing(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "took_ms"}


def _worker_pids(runner) -> set[int]:
    return set(runner.pool._processes)  # the executor's own table: no public accessor


def test_worker_processes_answer_as_the_serving_process_would(worker_app, seed_index: Path) -> None:
    local = create_app({"INDEX_DIR": seed_index}).test_client()
    client = worker_app.test_client()
    for url in [f"/api/search?{urlencode({'q': q})}" for q in (*CHEAP_QUERIES, EXPENSIVE_QUERY)] + ["/api/trend?q=双减"]:
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert _without_timing(answer.get_json()) == _without_timing(local.get(url).get_json()), url
    # A request body crosses to the worker too.
    pasted = {"text": "深入推进双减工作"}
    answer = client.post("/api/passage", json=pasted)
    assert answer.status_code == 200
    assert _without_timing(answer.get_json()) == _without_timing(local.post("/api/passage", json=pasted).get_json())
    page = client.get(f"/search?{urlencode({'q': '双减'})}")
    assert page.status_code == 200 and "<mark" in page.get_data(as_text=True)
    assert page.headers["Content-Security-Policy"]
    counts = worker_app.wsgi_app.counts
    assert counts["expensive"] == 1 and counts["cheap"] >= len(CHEAP_QUERIES) + 3
    # Both pools really are other processes.
    cheap, expensive = _worker_pids(worker_app.wsgi_app.cheap_runner), _worker_pids(worker_app.wsgi_app.runner)
    assert cheap and expensive and os.getpid() not in cheap | expensive


def test_a_killed_worker_costs_one_503_and_is_replaced(worker_app) -> None:
    client = worker_app.test_client()
    url = f"/api/search?{urlencode({'q': '双减'})}"
    assert client.get(url).status_code == 200
    (pid,) = _worker_pids(worker_app.wsgi_app.cheap_runner)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    statuses = []
    while time.monotonic() < deadline:
        response = client.get(url)
        statuses.append(response.status_code)
        if response.status_code == 200:
            break
        assert response.status_code == 503 and response.headers["Retry-After"], response.get_data(as_text=True)
    assert statuses[-1] == 200 and statuses.count(503) <= 1, statuses
    assert _worker_pids(worker_app.wsgi_app.cheap_runner) != {pid}


# -- response amplification ---------------------------------------------------------------------
def test_the_filters_of_one_request_are_capped_together(seed_index: Path) -> None:
    client = create_app({"INDEX_DIR": seed_index}).test_client()
    flood = {  # the request: a 500-character query and 120 filter values
        "q": EXPENSIVE_QUERY,
        "year": [str(1990 + n) for n in range(30)],
        "topic": [f"主题{n}" for n in range(30)],
        "section": [f"段落{n}" for n in range(30)],
        "doc_kind": [f"类型{n}" * 10 for n in range(30)],
    }
    for path in ("/api/search", "/search", "/api/trend"):
        response = client.get(f"{path}?{urlencode(flood, doseq=True)}")
        assert response.status_code == 400, path
        assert "筛选值太多" in response.get_data(as_text=True) and "40" in response.get_data(as_text=True)
    long_values = {"q": "教育", "topic": ["很长的主题名称" * 3] * 1 + [f"主题{n:02d}" * 6 for n in range(20)]}
    response = client.get(f"/api/search?{urlencode(long_values, doseq=True)}")
    assert response.status_code == 400 and "筛选条件过长" in response.get_json()["error"]


def test_the_largest_accepted_state_makes_a_bounded_page(seed_index: Path) -> None:
    app = create_app({"INDEX_DIR": seed_index, "LIMITS": ServerLimits(time_budget_ms=60_000)})
    params = {"q": EXPENSIVE_QUERY, "year": [str(2000 + n) for n in range(20)], "topic": [f"主题{n:02d}" * 5 for n in range(20)]}
    response = app.test_client().get(f"/search?{urlencode(params, doseq=True)}")
    assert response.status_code == 200
    assert len(response.data) < 2_000_000, len(response.data)


# -- long documents -----------------------------------------------------------------------------
SECTION_BODY = "各地要坚持立德树人，推进教育改革，提高教育质量，办好人民满意的教育。" * 10  # 340 characters


@pytest.fixture(scope="module")
def long_doc_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """An index of one speech of 60 headed sections (about 30,000 characters): headings 四十一 and
    五十七 hold MARKER, heading 二十 is 9,000 characters long.

    Returns (index dir, doc_id, the document's text, section id by heading number).
    """
    corpus = tmp_path_factory.mktemp("long-doc-corpus")
    lines = ["关于教育工作的长篇讲话", "", "同志们："]
    for n in range(1, 61):
        lines.append(f"{_chinese(n)}、第{n}项工作")
        body = SECTION_BODY * 26 if n == 20 else SECTION_BODY
        lines.append(body + (f"会议要求落实{MARKER}。" if n in (41, 57) else ""))
    (corpus / "long.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    index = tmp_path_factory.mktemp("long-doc-index")
    reindex([corpus], index, progress=False, workers=1)
    store = DocStore(IndexLocation(index).current() / DOCSTORE, readonly=True)
    (doc_id, *_), = list(store.iter_metadata())
    record = store.get(doc_id)
    ids = {}
    for number, section in enumerate(record["sections"]):
        if section["heading"].endswith("项工作"):
            ids[int(section["heading"].split("第")[1].split("项")[0])] = f"{doc_id}-{number}"
    assert len(ids) == 60, [s["heading"] for s in record["sections"]]
    return index, doc_id, record["text"], ids


def _chinese(n: int) -> str:
    """1..99 in Chinese numerals (十一, 二十, 五十七)."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    return ("" if tens == 0 else ("" if tens == 1 else digits[tens]) + "十") + ("" if ones == 0 else digits[ones])


PAGE_CHARS = 3000


@pytest.fixture(scope="module")
def paged_client(long_doc_index):
    return create_app({"INDEX_DIR": long_doc_index[0], "LIMITS": ServerLimits(doc_page_chars=PAGE_CHARS)}).test_client()


def _all_pages(client, doc_id: str, q: str = "") -> list[dict]:
    first = client.get(f"/api/doc/{doc_id}?{urlencode({'q': q})}").get_json()
    return [first] + [client.get(f"/api/doc/{doc_id}?{urlencode({'q': q, 'page': n})}").get_json() for n in range(2, first["pages"] + 1)]


def test_a_long_document_is_paged_and_every_character_is_on_one_page(paged_client, long_doc_index) -> None:
    _index, doc_id, text, ids = long_doc_index
    pages = _all_pages(paged_client, doc_id)
    assert len(pages) >= len(text) // PAGE_CHARS
    pieces = []
    for n, page in enumerate(pages, 1):
        assert page["page"] == n and page["pages"] == len(pages)
        assert "text" not in page, "the whole text is never sent"
        assert sum(len(s["text"]) for s in page["sections"]) <= PAGE_CHARS
        pieces += [(s["start"], s["text"]) for s in page["sections"]]
    # Without a query the pages keep the document's order, and together they are the text.
    assert [start for start, _ in pieces] == sorted(start for start, _ in pieces)
    assert "".join(t for _, t in pieces) == text
    # The 9,000-character section 20 spans several pages, marked as continued after the first.
    long_section = [s for page in pages for s in page["sections"] if s["section_id"] == ids[20]]
    assert len(long_section) >= 3 and [s["continued"] for s in long_section] == [False] + [True] * (len(long_section) - 1)


def test_the_sections_matching_the_query_come_first(paged_client, long_doc_index) -> None:
    _index, doc_id, _text, ids = long_doc_index
    pages = _all_pages(paged_client, doc_id, MARKER)
    first = pages[0]
    assert first["matched_sections"] == 2
    assert [s["section_id"] for s in first["sections"]] == [ids[41], ids[57]]
    assert first["matches"] == 2 and all(f"<mark>{MARKER}</mark>" in s["html"] for s in first["sections"])
    shown = [s["section_id"] for page in pages for s in page["sections"] if not s["continued"]]
    assert len(shown) == len(set(shown)) == first["section_count"], "every section once"
    outline = {o["section_id"]: o for o in first["outline"]}
    assert outline[ids[41]]["page"] == 1 and outline[ids[1]]["page"] == 2


def test_the_document_page_is_bounded_and_links_its_pages(paged_client, long_doc_index) -> None:
    _index, doc_id, text, ids = long_doc_index
    response = paged_client.get(f"/doc/{doc_id}?q={MARKER}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert len(html) < len(text)
    assert "含检索词的段落排在前面" in html and 'class="pagination"' in html
    assert f"/doc/{doc_id}?q={MARKER}&amp;page=2" in html
    # The outline links a section on another page to that page.
    assert f"/doc/{doc_id}?q={MARKER}&amp;page=2#{ids[1]}" in html
    last = paged_client.get(f"/doc/{doc_id}?page=999")
    assert last.status_code == 400 and "页码" in last.get_data(as_text=True)
    assert paged_client.get(f"/api/doc/{doc_id}?page=abc").status_code == 400


def test_a_short_document_is_one_page_in_its_own_order(seed_index: Path) -> None:
    client = create_app({"INDEX_DIR": seed_index}).test_client()
    hit = client.get("/api/search?q=双减").get_json()["hits"][0]
    doc = client.get(f"/api/doc/{hit['doc_id']}?q=双减").get_json()
    assert doc["pages"] == 1 and doc["matches"] > 0
    numbers = [int(s["section_id"].rsplit("-", 1)[1]) for s in doc["sections"]]
    assert numbers == list(range(len(numbers))) == list(range(doc["section_count"]))
    page = client.get(f"/doc/{hit['doc_id']}?q=双减").get_data(as_text=True)
    assert f"共 <strong>{doc['matches']}</strong> 处匹配" in page and 'class="pagination"' not in page


# -- year digits, broken pipes, paths -----------------------------------------------------------
@pytest.mark.parametrize("spelling", ["２０２３", "٢٠٢٣", "۲۰۲۳", " 2023 "])
def test_year_filters_accept_other_digit_forms(seed_index: Path, spelling: str) -> None:
    client = create_app({"INDEX_DIR": seed_index}).test_client()
    ascii_digits = client.get("/api/search?q=教育&year=2023").get_json()
    other = client.get(f"/api/search?{urlencode({'q': '教育', 'year': spelling})}").get_json()
    assert ascii_digits["total_docs"] > 0
    assert other["total_docs"] == ascii_digits["total_docs"]
    assert [h["doc_id"] for h in other["hits"]] == [h["doc_id"] for h in ascii_digits["hits"]]
    selected = [row["value"] for row in other["facets"]["year"] if row["selected"]]
    assert selected == [2023]
    page = client.get(f"/search?{urlencode({'q': '教育', 'year': spelling})}").get_data(as_text=True)
    assert "year=2023" in page  # links carry the year in ASCII digits


def test_cli_year_filter_accepts_full_width_digits(seed_index: Path) -> None:
    from search_app.cli import main

    assert main(["search", "教育", "--index", str(seed_index), "--year", "２０２３", "--json"]) == 0


def test_search_output_into_a_closed_pipe_ends_quietly(seed_index: Path) -> None:
    for command in (["search", "教育", "--per-page", "50"], ["search", "教育", "--json"], ["trend", "教育"]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "search_app", *command, "--index", str(seed_index)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        proc.stdout.close()  # as `| head` does once it has its lines
        stderr = proc.stderr.read().decode("utf-8", "replace")
        assert proc.wait(timeout=60) == 0, stderr
        assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_the_503_page_does_not_show_the_absolute_index_path(tmp_path: Path) -> None:
    client = create_app({"INDEX_DIR": tmp_path / "index", "TESTING": True}).test_client()
    for url in ("/search?q=双减", "/api/search?q=双减", "/doc/abc"):
        response = client.get(url)
        body = response.get_data(as_text=True)
        assert response.status_code == 503
        assert str(tmp_path) not in body, url
        assert "…/index" in body and "python -m indexer reindex" in body
