"""Folded versions, shared passages and 查出处 in headless Chromium (screenshots in test-artifacts/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import test_browser, test_dedup
from tests.test_dedup import _doc_id, _edited_paragraph

pytestmark = pytest.mark.browser

from playwright.sync_api import Page, expect  # noqa: E402 - after test_browser's skips

from search_app.engine import SearchEngine  # noqa: E402

# The server, browser and page fixtures of the site's browser tests, serving `index_dir` below.
base_url, browser, dialogs, page = test_browser.base_url, test_browser.browser, test_browser.dialogs, test_browser.page
dedup_index = test_dedup.dedup_index


@pytest.fixture(scope="module")
def index_dir(dedup_index: Path) -> Path:
    """The browser tests' server serves the dedup fixture collection."""
    return dedup_index


def test_folded_hit_lists_the_other_version(page: Page, artifacts_dir: Path) -> None:
    page.goto("/search?q=%22规范示范教育活动%22")
    hits = page.locator("li.hit")
    expect(hits).to_have_count(1)
    versions = hits.first.locator("details.versions")
    expect(versions.locator("summary")).to_have_text("另有 1 个版本/相似文本")
    versions.locator("summary").click()
    link = versions.locator("li a")
    expect(link).to_be_visible()
    expect(versions.locator("li")).to_contain_text("2015-06-01")
    expect(hits.first.locator(".hit-meta")).to_contain_text("2023-09-01")  # the newest version is the hit
    page.screenshot(path=str(artifacts_dir / "dedup-folded-hit.png"), full_page=True)
    link.click()
    expect(page.locator("article.doc h1")).to_have_text(re.compile("示范教育法"))
    expect(page.locator(".meta")).to_contain_text("2015-06-01")


def test_passage_page_finds_the_edited_paragraph(page: Page, artifacts_dir: Path) -> None:
    edited, _ = _edited_paragraph()
    page.goto("/")
    page.get_by_role("link", name="查出处").click()
    page.locator("#passage-text").fill(edited)
    page.get_by_role("button", name="查出处").click()
    first = page.locator("li.passage-match").first
    expect(first).to_be_visible()
    coverage = int(first.locator(".coverage-value").inner_text().rstrip("%"))
    assert coverage >= 80
    expect(first.locator(".snippet mark").first).to_be_visible()
    expect(page.locator("#passage-text")).to_have_value(edited)  # the passage stays for another try
    page.screenshot(path=str(artifacts_dir / "dedup-passage.png"), full_page=True)


def test_document_page_marks_passages_shared_with_the_copy(page: Page, artifacts_dir: Path, dedup_index: Path) -> None:
    speech = _doc_id(SearchEngine(dedup_index), "speech.txt")
    page.goto(f"/doc/{speech}")
    panel = page.locator("details.similar")
    expect(panel.locator("summary")).to_contain_text("与 1 篇文档有相同段落")
    assert page.locator("#doc-text mark.shared").count() > 5
    panel.locator("ol > li > a").first.click()
    expect(page.locator("details.similar")).to_contain_text("在2023年教育局工作会议上的讲话")
    page.goto(f"/doc/{speech}")
    page.screenshot(path=str(artifacts_dir / "dedup-similar.png"))
