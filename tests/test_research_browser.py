"""Research tools in headless Chromium at 1400 px and on a 390 px phone, plus axe-core on every page type.

Screenshots go to test-artifacts/research-*.png. axe-core comes from the npm registry
(`scripts/setup.sh test` installs it into .venv/node); without it the accessibility test is
skipped with the reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest

from tests.conftest import REPO, require_chromium
from tests.test_browser import base_url, browser, index_dir  # noqa: F401 - the module's server and browser (or its skip)

sync_api = require_chromium(whole_module=True)
Browser, Page, expect = sync_api.Browser, sync_api.Page, sync_api.expect

pytestmark = pytest.mark.browser

AXE = REPO / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": (1400, 900), "phone": (390, 844)}
TERMS = ("教育", "改革")


@pytest.fixture(params=list(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return request.param


def open_page(browser: Browser, base_url: str, width: str) -> Iterator[Page]:  # noqa: F811
    w, h = WIDTHS[width]
    context = browser.new_context(
        base_url=base_url, viewport={"width": w, "height": h}, locale="zh-CN", accept_downloads=True, bypass_csp=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"script errors: {errors}"


@pytest.fixture()
def page(browser: Browser, base_url: str, width: str) -> Iterator[Page]:  # noqa: F811
    yield from open_page(browser, base_url, width)


@pytest.fixture()
def desktop(browser: Browser, base_url: str) -> Iterator[Page]:  # noqa: F811
    yield from open_page(browser, base_url, "desktop")


def params(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def shot(page: Page, artifacts_dir: Path, name: str, full: bool = False) -> None:
    page.screenshot(path=str(artifacts_dir / f"research-{name}.png"), full_page=full)


def open_filters(page: Page) -> None:
    """On the phone the facets sit behind the 筛选 button."""
    toggle = page.locator(".filter-toggle")
    if toggle.is_visible():
        expect(page.locator("#filters")).to_be_hidden()
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#filters")).to_be_visible()


# -- trends ------------------------------------------------------------------------------------
def test_two_term_share_chart(page: Page, width: str, artifacts_dir: Path):
    page.goto(f"/search?q={TERMS[0]}&vs={TERMS[1]}")
    api = page.request.get(f"/api/trend?q={TERMS[0]}&q={TERMS[1]}&normalize=share").json()
    expect(page.locator(".legend li")).to_have_count(2)
    expect(page.locator(".trend-mode .active")).to_have_text("占当年文档比例")
    assert page.locator(".trend-chart .series").count() == 2
    # The values are readable without hovering: the table's latest year matches the API.
    latest = max(r["year"] for s in api["series"] for r in s["years"])
    row = page.locator(".trend-table tbody tr").first
    expect(row.locator("th")).to_have_text(str(latest))
    for cell, series in zip(row.locator("td").all(), api["series"], strict=True):
        docs = {r["year"]: r["docs"] for r in series["years"]}.get(latest, 0)
        assert cell.inner_text().startswith(f"{docs} 篇")
    # The chart fits the width, the latest year included.
    svg = page.locator(".trend-chart").bounding_box()
    assert svg["x"] >= 0 and svg["x"] + svg["width"] <= WIDTHS[width][0]
    last = page.locator(f'.trend-chart a.year-col[data-year="{latest}"] rect').bounding_box()
    assert last["x"] + last["width"] <= WIDTHS[width][0]
    page.locator(".trend").scroll_into_view_if_needed()
    shot(page, artifacts_dir, f"trend-share-{width}")
    page.locator(".trend").screenshot(path=str(artifacts_dir / f"research-trend-share-chart-{width}.png"))
    # Click a year to filter; switch to counts.
    page.locator(f'.trend-chart a.year-col[data-year="{latest}"]').click()
    page.wait_for_url(f"**year={latest}**")
    assert params(page)["vs"] == [TERMS[1]]
    expect(page.locator(f'.trend-chart a.year-col.selected[data-year="{latest}"]')).to_have_count(1)
    page.locator('.trend-mode a[data-mode="count"]').click()
    page.wait_for_url("**trend=count**")
    expect(page.locator(".trend-chart .peak")).to_contain_text("篇")


def test_add_and_remove_a_comparison_term(desktop: Page):
    desktop.goto(f"/search?q={TERMS[0]}&source=")
    desktop.locator('.compare input[name="vs"]').fill(TERMS[1])
    desktop.locator(".compare button").click()
    desktop.wait_for_url("**vs=**")
    expect(desktop.locator(".legend li")).to_have_count(2)
    desktop.locator(".legend .remove").click()
    expect(desktop.locator(".legend li")).to_have_count(1)
    assert "vs" not in params(desktop)


# -- source facet ------------------------------------------------------------------------------
def test_source_facet_filters(page: Page, width: str, artifacts_dir: Path):
    page.goto("/search?q=教育")
    open_filters(page)
    value = page.locator('.facet[data-facet="source"] a.facet-value').first
    source = value.get_attribute("data-value")
    count = int(value.locator(".count").inner_text().replace(",", ""))
    value.scroll_into_view_if_needed()
    shot(page, artifacts_dir, f"source-facet-{width}")
    value.click()
    page.wait_for_url("**source=**")
    assert params(page)["source"] == [source]
    expect(page.locator(f'.chip[data-facet="source"][data-value="{source}"]')).to_be_visible()
    assert int(page.locator("[data-total-docs]").inner_text().replace(",", "")) == count
    assert set(page.locator(".hit .source").all_inner_texts()) == {source}


# -- export --------------------------------------------------------------------------------------
def test_export_downloads_the_rows_on_the_page(desktop: Page, artifacts_dir: Path):
    desktop.goto("/search?q=教育")
    titles = desktop.locator(".hit-title").all_inner_texts()
    headings = desktop.locator(".hit .sec-head .heading").all_inner_texts()
    assert titles
    shot(desktop, artifacts_dir, "export-desktop")
    with desktop.expect_download() as info:
        desktop.locator('.export a[data-format="csv"]').click()
    saved = artifacts_dir / "research-export.csv"
    info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    shown = rows[1 : len(headings) + 1]
    assert list(dict.fromkeys(r[1] for r in shown)) == titles
    assert [r[6] or "（开头）" for r in shown] == headings
    with desktop.expect_download() as info:
        desktop.locator('.export a[data-format="xlsx"]').click()
    assert info.value.suggested_filename.endswith(".xlsx")
    saved = artifacts_dir / "research-export.xlsx"
    info.value.save_as(saved)
    sheet = openpyxl.load_workbook(saved).active
    cells = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    assert cells == rows


# -- citation ------------------------------------------------------------------------------------
def test_copy_citation(desktop: Page, base_url: str):  # noqa: F811
    desktop.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    desktop.goto("/search?q=双减")
    desktop.locator(".hit-section").first.click()
    section_id = urlsplit(desktop.url).fragment
    button = desktop.locator(f'[id="{section_id}"] .cite-button')
    button.click()
    expect(button).to_have_text("已复制")
    copied = desktop.evaluate("navigator.clipboard.readText()")
    cite = desktop.request.get(f"/api/cite/{section_id}").json()
    assert copied == cite["passage"] + "\n——" + cite["text"]
    assert cite["text"].startswith("《") and "双减" in copied


# -- suggestions -------------------------------------------------------------------------------
def test_suggestion_dropdown_by_keyboard(page: Page, width: str, artifacts_dir: Path):
    page.goto("/")
    box = page.locator('input[name="q"]')
    expect(box).to_be_focused()
    box.press_sequentially("教育", delay=40)
    listbox = page.locator("#suggest-list")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    assert box.get_attribute("role") == "combobox" and listbox.get_attribute("role") == "listbox"
    options = listbox.locator('[role="option"]')
    assert options.count() >= 2
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "suggest-1")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_have_attribute("aria-selected", "false")
    shot(page, artifacts_dir, f"suggest-{width}")
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press("ArrowDown")  # reopens
    expect(listbox).to_be_visible()
    box.press("ArrowDown")
    chosen = options.nth(0).get_attribute("data-text")
    box.press("Enter")
    page.wait_for_url("**/search?**")
    assert params(page)["q"] == [chosen]


# -- phone layout ------------------------------------------------------------------------------
def test_phone_layout_has_no_sideways_scroll(browser: Browser, base_url: str, artifacts_dir: Path):  # noqa: F811
    for page in open_page(browser, base_url, "phone"):
        page.goto(f"/search?q={TERMS[0]}&vs={TERMS[1]}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        toggle = page.locator(".filter-toggle")
        expect(toggle).to_be_visible()
        # The button comes before the results, the hidden facets do not push them down.
        assert toggle.bounding_box()["y"] < page.locator(".hits").bounding_box()["y"]
        shot(page, artifacts_dir, "results-phone")
        toggle.click()
        expect(page.locator('.facet[data-facet="year"]')).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, artifacts_dir, "filters-open-phone")
        page.locator(".hit-section").first.click()
        page.wait_for_url("**/doc/**")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        section_id = urlsplit(page.url).fragment
        page.wait_for_timeout(300)  # the landing scroll settles
        bar = page.locator(".match-bar").bounding_box()
        target = page.locator(f'[id="{section_id}"]').bounding_box()
        assert target["y"] >= bar["y"] + bar["height"] - 1, "the sticky bar covers the section's heading"
        shot(page, artifacts_dir, "document-phone")


# -- accessibility -------------------------------------------------------------------------------
def page_paths(desktop_page: Page) -> dict[str, str]:
    """One URL per page type, read from the running site."""
    desktop_page.goto(f"/search?q={TERMS[0]}")
    doc = desktop_page.locator(".hit-section").first.get_attribute("href")
    paths = {
        "landing": "/",
        "results": f"/search?q={TERMS[0]}&vs={TERMS[1]}&source=",
        "document": doc,
        "no-results": '/search?q="没有这种说法的文本"',
        "error": "/search?page=0",
    }
    if desktop_page.request.get("/passage").ok:
        paths["passage"] = "/passage?text=" + "教育"
    return paths


@pytest.mark.parametrize("kind", ["landing", "results", "document", "no-results", "error", "passage"])
def test_axe_finds_no_serious_violations(page: Page, width: str, kind: str, artifacts_dir: Path):
    if not AXE.exists():
        pytest.skip(f"{AXE} not found: run scripts/setup.sh test (needs npm) to install axe-core")
    paths = page_paths(page)
    if kind not in paths:
        pytest.skip(f"no {kind} page in this version of the site")
    page.goto(paths[kind])
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    if kind in ("results", "document"):
        shot(page, artifacts_dir, f"axe-{kind}-{width}")
    assert serious == [], "\n".join(serious)
