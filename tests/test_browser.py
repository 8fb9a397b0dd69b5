"""The site in headless Chromium: the real app on waitress, driven through Playwright.

One server and one browser per module; each test gets a fresh browser context. The index is
the seeds plus the government work reports when ../shared is present, else the seeds alone,
so every assertion reads its expected numbers from the page rather than hard-coding them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SHARED, require_chromium, served

pytestmark = pytest.mark.browser

require_chromium(whole_module=True)

# After the skip: without Chromium or Playwright the module is skipped, not broken.
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

SHARED_REPORTS = SHARED / "corpora" / "gov_work_reports"
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def index_dir(request: pytest.FixtureRequest) -> Path:
    """The biggest index available: speech_index with ../shared, else seed_index."""
    return request.getfixturevalue("speech_index" if SHARED_REPORTS.is_dir() else "seed_index")


@pytest.fixture(scope="module")
def base_url(index_dir: Path) -> Iterator[str]:
    """The app served by waitress on a free port of 127.0.0.1, in a background thread."""
    with served(index_dir) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def dialogs() -> list[str]:
    """Messages of every alert/confirm/prompt a page opened (there must be none)."""
    return []


@pytest.fixture()
def page(browser: Browser, base_url: str, dialogs: list[str]) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    yield page
    context.close()
    assert dialogs == [], f"a dialog fired: {dialogs}"


def url_params(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def facet_counts(page: Page, facet: str) -> dict[str, int]:
    """Value → count of one facet, as shown in the sidebar (including values under "更多")."""
    rows = page.eval_on_selector_all(
        f'.facet[data-facet="{facet}"] .facet-value',
        "els => els.map(e => [e.dataset.value, e.querySelector('.count').textContent])",
    )
    return {value: int(count.replace(",", "")) for value, count in rows}


def total_docs(page: Page) -> int:
    return int(page.locator("[data-total-docs]").inner_text().replace(",", ""))


def doc_ids(page: Page) -> list[str]:
    return page.eval_on_selector_all(".hit", "els => els.map(e => e.dataset.docId)")


def in_viewport(page: Page, selector: str) -> bool:
    return page.eval_on_selector(
        selector, "e => { const r = e.getBoundingClientRect(); return r.bottom > 0 && r.top < window.innerHeight; }"
    )


def test_type_a_query_and_see_highlights(page: Page):
    page.goto("/")
    box = page.locator('.searchbox input[name="q"]')
    expect(box).to_be_focused()
    box.fill("双减")
    box.press("Enter")
    page.wait_for_url("**/search?**")
    assert url_params(page)["q"] == ["双减"]
    expect(page.locator('.searchbox input[name="q"]')).to_have_value("双减")
    mark = page.locator(".hit .snippet mark").first
    expect(mark).to_be_visible()
    assert page.locator(".hit").count() > 0
    assert mark.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 228, 92)"


def test_year_facets_filter_and_combine(page: Page):
    page.goto("/search?q=教育")
    years = facet_counts(page, "year")
    topics = facet_counts(page, "topic")
    visible = page.eval_on_selector_all(
        '.facet[data-facet="year"] > ul .facet-value', "els => els.map(e => e.dataset.value)"
    )
    first, second = sorted((v for v in visible if v.isdigit()), key=lambda v: -years[v])[:2]

    page.locator(f'.facet[data-facet="year"] .facet-value[data-value="{first}"]').click()
    page.wait_for_url(f"**year={first}**")
    assert url_params(page)["year"] == [first]
    # Disjunctive facets: the year facet ignores its own filter, the others follow it.
    assert facet_counts(page, "year") == years
    assert total_docs(page) == years[first]
    filtered_topics = facet_counts(page, "topic")
    assert filtered_topics != topics
    assert all(count <= topics[value] and count <= years[first] for value, count in filtered_topics.items())
    expect(page.locator(f'.chip[data-facet="year"][data-value="{first}"]')).to_be_visible()

    page.locator(f'.facet[data-facet="year"] .facet-value[data-value="{second}"]').click()
    page.wait_for_url(f"**year={second}**")
    assert url_params(page)["year"] == [first, second]
    assert total_docs(page) == years[first] + years[second]
    shown = set(page.locator(".hit .year").all_inner_texts())
    assert shown and shown <= {first, second}


def test_open_a_document_from_a_snippet(page: Page):
    page.goto("/search?q=双减")
    link = page.locator(".hit-section").first
    href = link.get_attribute("href")
    section_id = href.split("#", 1)[1]
    link.click()
    page.wait_for_url("**/doc/**")
    assert page.evaluate("location.hash") == f"#{section_id}"
    assert page.evaluate("document.querySelector(':target').id") == section_id
    assert in_viewport(page, f'[id="{section_id}"]')
    total = page.locator("#doc-text mark").count()
    assert total > 0
    assert page.locator(f'[id="{section_id}"] mark').count() > 0

    counter = page.locator("#match-counter")
    expect(counter).to_have_text(f"0 / {total}")
    page.locator("#next-match").click()
    first = int(counter.inner_text().split(" / ")[0])
    assert 1 <= first <= total
    assert in_viewport(page, "mark.current")
    page.locator("#next-match").click()
    expect(counter).to_have_text(f"{first % total + 1} / {total}")
    page.locator("#prev-match").click()
    expect(counter).to_have_text(f"{first} / {total}")
    page.keyboard.press("n")
    expect(counter).to_have_text(f"{first % total + 1} / {total}")
    page.keyboard.press("p")
    expect(counter).to_have_text(f"{first} / {total}")


def test_pagination(page: Page):
    page.goto("/search?q=教育&per_page=2")
    first = doc_ids(page)
    assert len(first) == 2
    page.locator(".pagination a.next").click()
    page.wait_for_url("**page=2**")
    assert url_params(page)["per_page"] == ["2"] and url_params(page)["q"] == ["教育"]
    expect(page.locator('.pagination [aria-current="page"]')).to_have_text("2")
    second = doc_ids(page)
    assert second and not set(first) & set(second)


def test_trend_year_applies_a_year_filter(page: Page):
    page.goto("/search?q=教育")
    bar = page.locator("svg a.year-col").last
    year = bar.get_attribute("data-year")
    expected = facet_counts(page, "year")[year]
    bar.click()
    page.wait_for_url(f"**year={year}**")
    assert url_params(page)["year"] == [year]
    expect(page.locator(f'svg a.year-col.selected[data-year="{year}"]')).to_have_count(1)
    assert total_docs(page) == expected


def test_script_in_the_query_is_text(page: Page, dialogs: list[str]):
    page.goto("/search?q=双减")
    box = page.locator('.searchbox input[name="q"]')
    box.fill(XSS)
    box.press("Enter")
    page.wait_for_url("**/search?**")
    expect(page.locator('.searchbox input[name="q"]')).to_have_value(XSS)
    assert XSS in page.title()
    assert XSS in page.locator("body").inner_text()
    assert page.locator("script:not([src])").count() == 0
    page.goto("/search?q=" + '"><img src=x onerror=alert(1)>')
    page.wait_for_timeout(200)
    assert dialogs == []


def test_back_button_restores_query_and_filters(page: Page):
    page.goto("/")
    page.locator('.searchbox input[name="q"]').fill("双减")
    page.locator('.searchbox input[name="q"]').press("Enter")
    page.wait_for_url("**q=**")
    year = page.locator('.facet[data-facet="year"] .facet-value').first.get_attribute("data-value")
    page.locator('.facet[data-facet="year"] .facet-value').first.click()
    page.wait_for_url(f"**year={year}**")
    page.locator('.searchbox input[name="q"]').fill("教育")
    page.locator('.searchbox input[name="q"]').press("Enter")
    page.wait_for_url("**q=%E6%95%99%E8%82%B2**")
    assert url_params(page)["year"] == [year]  # a new query keeps the filters

    page.go_back()
    assert url_params(page) == {"q": ["双减"], "year": [year]}
    expect(page.locator('.searchbox input[name="q"]')).to_have_value("双减")
    expect(page.locator(f'.facet[data-facet="year"] .facet-value.selected[data-value="{year}"]')).to_have_count(1)
    page.go_back()
    assert url_params(page) == {"q": ["双减"]}
    expect(page.locator(".facet-value.selected")).to_have_count(0)


def test_screenshots(page: Page, artifacts_dir: Path):
    page.goto("/search?q=双减")
    expect(page.locator(".hit").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "search-results.png"), full_page=True)
    page.locator(".hit-section").first.click()
    page.wait_for_url("**/doc/**")
    expect(page.locator("#doc-text mark").first).to_be_visible()
    # From the top, so that the sticky outline and match bar sit where a reader first sees them.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts_dir / "document.png"), full_page=True)
    assert (artifacts_dir / "search-results.png").stat().st_size > 10_000
    assert (artifacts_dir / "document.png").stat().st_size > 10_000
