"""HTML pages: the main text via trafilatura (site navigation and footers dropped)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import lxml.etree
import lxml.html
import trafilatura
from trafilatura.settings import Document

from indexer.models import RawDocument
from indexer.readers.dates import normalise_date, year_of
from indexer.readers.text import decode_bytes, read_bytes
from speechindex.errors import CorpusError

_DECLARED_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)"""
    rb"""|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)
# lxml refuses str input that still carries an XML encoding declaration.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_INVISIBLE = re.compile(
    r"<!--.*?-->|<(script|style|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_BLOCK_TAGS = (
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol",
    "p", "pre", "section", "table", "td", "th", "tr", "ul",
)
_BLOCK_TAG = re.compile(r"</?(?:{})\b[^>]*>".format("|".join(_BLOCK_TAGS)), re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")


def read(path: Path, rel: str) -> RawDocument:
    """Read an .html/.htm file into one RawDocument (raises CorpusError).

    The bytes are decoded like text files, with the page's declared charset tried after
    UTF-8. trafilatura extracts the main text (paragraphs on separate lines), title and
    publication date; when it finds nothing, all body text is used (with a warning). Pages
    nested deeper than libxml2 can parse (256 levels) are reduced to text with regexes.
    """
    data = read_bytes(path, rel)
    if not data:
        raise CorpusError(rel, "empty file")
    markup = decode_bytes(data, rel, hint=_declared_charset(data))
    markup = _XML_DECLARATION.sub("", markup, count=1)
    title, date, text, warnings = _extract(markup)
    if not text.strip():
        raise CorpusError(rel, "no text found in HTML")
    return RawDocument(
        text=text,
        source_file=rel,
        fmt="html",
        title=title,
        year=year_of(date),
        date=date,
        warnings=warnings,
    )


def _declared_charset(data: bytes) -> str | None:
    """The encoding named by a `<meta charset>` / http-equiv or XML declaration, if any."""
    match = _DECLARED_CHARSET.search(data[:4096])
    if not match:
        return None
    return (match.group(1) or match.group(2)).decode("ascii")


def _extract(markup: str) -> tuple[str | None, str | None, str, list[str]]:
    """(title, ISO date, text, warnings) of a page."""
    parser = lxml.html.HTMLParser()
    try:
        tree = lxml.html.document_fromstring(markup, parser=parser)
    except (lxml.etree.ParserError, ValueError):  # e.g. "Document is empty"
        tree = None
    too_deep = any(entry.type_name == "ERR_RESOURCE_LIMIT" for entry in parser.error_log)
    if tree is None or too_deep:
        # libxml2 silently drops everything nested deeper than its limit, so neither lxml
        # nor trafilatura would see the page's text.
        reason = "nested too deeply for the HTML parser" if too_deep else "not parseable"
        warning = f"page {reason}; used all text between tags"
        return _regex_title(markup), None, _strip_tags(markup), [warning]

    try:
        result = trafilatura.bare_extraction(
            markup,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
            with_metadata=True,
            # Only dates the page states as its own: a date merely mentioned in the text
            # (or a copyright year) must not pass as the speech date.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except RecursionError:
        result = None
    # Without as_dict the result is a Document or None (the signature also allows a dict).
    page = result if isinstance(result, Document) else None
    warnings: list[str] = []
    text = _clean_lines(page.text) if page is not None and page.text else ""
    if not text:
        warnings.append("main-text extraction found nothing; used all body text")
        text = _body_text(tree)
    title = (page.title if page is not None else None) or tree.findtext(".//title")
    date = normalise_date(page.date) if page is not None else None
    return _clean_title(title), date, text, warnings


def _body_text(tree: lxml.html.HtmlElement) -> str:
    """All visible text of the body, one line per block element (no Python recursion)."""
    lxml.etree.strip_elements(tree, "script", "style", "noscript", "template", with_tail=False)
    for element in tree.iter(*_BLOCK_TAGS):
        element.tail = "\n" + (element.tail or "")
    body = tree.find(".//body")
    return _clean_lines((body if body is not None else tree).text_content())


def _strip_tags(markup: str) -> str:
    """Text of a page by regex: drop invisible parts and tags, block tags become newlines."""
    text = _INVISIBLE.sub("", markup)
    text = _TITLE.sub("", text)
    text = _BLOCK_TAG.sub("\n", text)
    return _clean_lines(unescape(_ANY_TAG.sub("", text)))


def _regex_title(markup: str) -> str | None:
    """The `<title>` of a page found by regex."""
    match = _TITLE.search(markup)
    return _clean_title(unescape(_ANY_TAG.sub("", match.group(1)))) if match else None


def _clean_title(title: str | None) -> str | None:
    """A title on one line with single spaces, or None when blank."""
    if not title:
        return None
    return " ".join(title.split()) or None


def _clean_lines(text: str) -> str:
    """Lines with runs of spaces collapsed, stripped, blank ones dropped."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
