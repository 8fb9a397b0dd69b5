"""Markdown files: parsed with markdown-it-py into plain text and an outline of headings.

The text keeps what a reader sees: heading lines without their '#', paragraphs, list items
with their numbers ("1. …"), table rows (cells separated by an ideographic space), link
and image texts. HTML inside the Markdown (新闻联播's `<p><strong>…</strong><br></p>`) is
reduced to its text by lxml, one line per block element; comments (`<!-- INFO END -->`)
and Markdown syntax are dropped. The headings go to `RawDocument.outline`, for the
structure parser; `indexer/data/markdown.toml` names the links to an original page (kept
as URLs, not text) and the sections or heading lines left out.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import lxml.etree
from markdown_it import MarkdownIt
from markdown_it.common.utils import mdTrim
from markdown_it.rules_block.html_block import HTML_SEQUENCES
from markdown_it.token import Token

from indexer.models import RawDocument, SourceHeading
from indexer.readers.html import _BLOCK_TAGS
from indexer.readers.text import decode_bytes, read_bytes
from speechindex.errors import CorpusError

RULES_PATH = Path(__file__).parents[1] / "data" / "markdown.toml"

_CELL_SEPARATOR = "\u3000"
_BR_TAG = re.compile(r"<br\b", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLOCK_ELEMENTS = frozenset(_BLOCK_TAGS)
_INVISIBLE_ELEMENTS = frozenset({"script", "style", "noscript", "template"})
_HTML_PARSER = lxml.etree.HTMLParser()
# A bold paragraph longer than this, or ending a sentence, is emphasis, not a heading.
_BOLD_HEADING_MAX = 60
_SENTENCE_END = "。！？!?；;：:"
# The fast block pass (`_simple_tokens`) leaves to markdown-it every file with a line starting
# (after at most 3 spaces) a blockquote, list, rule, setext underline, fence or table, or
# indented as code, and every file with a link reference definition ("]:" anywhere).
_COMPLEX_START = frozenset(">-+*_=`~|:")
_ORDERED_ITEM = re.compile(r"[0-9]{1,9}[.)](?: |$)")
_ATX_HEADING = re.compile(r"#{1,6}(?= |$)")
_THEMATIC_BREAK = re.compile(r"([-*_])(?: *\1){2,} *")
_ENDS_PARAGRAPH = frozenset({"blank", "heading", "comment", "html"})  # "---" below a paragraph underlines it
_HTML_BLOCK_TAG = HTML_SEQUENCES[5][0]  # <p>, <div>, …: an HTML block that ends at a blank line
# Characters that start inline syntax (escapes, code, emphasis, entities, HTML, links, images).
_INLINE_SYNTAX = re.compile(r"[\\`*_&<\[\]!~]")
# A paragraph that is one plain link, [text](http…), with no inline syntax in the text and nothing
# in the address that markdown-it would re-encode: its parse is link_open, text, link_close.
_PLAIN_LINK = re.compile(r"\[([^\\`*_&<>\[\]!~\n]+)\]\((https?://[a-z0-9.-]+(?:[/?#][A-Za-z0-9;/?:@=+$,\-_.!~*'#]*)?)\)")


def _make_parser() -> MarkdownIt:
    """CommonMark with raw HTML recognised (so it can be removed) and GFM tables (laws use them).

    Inline runs are parsed on demand (`_inline_text`), so the left-out sections cost no
    inline parsing; link addresses are kept as written (only http(s) ones are used).
    """
    parser = MarkdownIt("commonmark", {"html": True}).enable("table").disable(["inline", "text_join"])
    parser.normalizeLink = lambda url: url  # type: ignore[method-assign]
    return parser


_PARSER = _make_parser()


@dataclass(frozen=True)
class _Rules:
    original_link: frozenset[str]
    drop_sections: frozenset[str]
    drop_headings: frozenset[str]


@dataclass
class _Heading:
    level: int
    title: str
    bold: bool = False  # an HTML paragraph in bold, below a Markdown heading


@dataclass
class _Link:
    url: str


_Block = str | _Heading | _Link


@cache
def _rules(path: Path = RULES_PATH) -> _Rules:
    """Load markdown.toml once per process."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return _Rules(
        original_link=frozenset(data.get("original_link", [])),
        drop_sections=frozenset(data.get("drop_sections", [])),
        drop_headings=frozenset(data.get("drop_headings", [])),
    )


def read(path: Path, rel: str) -> RawDocument:
    """Read a .md/.markdown file into one RawDocument with its outline (raises CorpusError).

    A leading level-1 heading gives the title.
    """
    data = read_bytes(path, rel)
    if not data:
        raise CorpusError(rel, "empty file")
    document = markdown_document(decode_bytes(data, rel), rel)
    if not document.text.strip():
        raise CorpusError(rel, "no text (only whitespace, markup or comments)")
    return document


def markdown_document(source: str, rel: str) -> RawDocument:
    """Turn Markdown source into a RawDocument (fmt "md") of plain text and headings."""
    env: dict[str, object] = {}  # link reference definitions, shared by the inline runs
    tokens = _simple_tokens(source)
    blocks = _blocks(_PARSER.parse(source, env) if tokens is None else tokens, env, _rules())
    parts: list[str] = []
    outline: list[SourceHeading] = []
    bold: list[bool] = []  # per outline entry: a bold HTML paragraph, not a Markdown heading
    url: str | None = None
    for block in blocks:
        if isinstance(block, _Link):
            if not _link_sections(block.url, outline, bold):
                url = url or block.url
        elif isinstance(block, _Heading):
            outline.append(SourceHeading(block.level, block.title))
            bold.append(block.bold)
            parts.append(block.title)
        else:
            parts.append(block)
    first = next((b for b in blocks if not isinstance(b, _Link)), None)
    title = first.title if isinstance(first, _Heading) and first.level == 0 else None
    return RawDocument(
        text="\n\n".join(parts), source_file=rel, fmt="md", title=title, url=url, outline=outline
    )


def _link_sections(url: str, outline: list[SourceHeading], bold: list[bool]) -> bool:
    """Give the page `url` to the latest Markdown heading below the title and the bold headings
    under it (the stories of a 联播快讯 share its page). False when there is none: the page is
    the document's.
    """
    for i in range(len(outline) - 1, -1, -1):
        if outline[i].level == 0:
            return False
        if outline[i].url is None:
            outline[i].url = url
        if not bold[i]:
            return True
    return False


def _blocks(tokens: list[Token], env: dict[str, object], rules: _Rules) -> list[_Block]:
    """The document as a flat list of headings, text blocks and original-page links.

    The sections and heading lines markdown.toml names are left out here.
    """
    blocks: list[_Block] = []
    section_level = 0  # level of the latest Markdown heading: bold HTML headings go one below
    heading_level: int | None = None
    dropping_below: int | None = None  # level of the heading whose section is left out
    item_prefix = ""  # "3. " until the first paragraph of an ordered list item takes it
    row: list[str] | None = None
    for token in tokens:
        kind = token.type
        if kind == "heading_open":
            heading_level = int(token.tag[1:]) - 1
        elif kind == "heading_close":
            heading_level = None
        elif heading_level is not None and kind == "inline":
            title = " ".join(_lines(_inline_text(token, env)))
            if dropping_below is not None and heading_level <= dropping_below:
                dropping_below = None
            if dropping_below is None and title in rules.drop_sections:
                dropping_below = heading_level
            if title and dropping_below is None and title not in rules.drop_headings:
                blocks.append(_Heading(heading_level, title))
                section_level = heading_level
        elif dropping_below is not None:
            continue
        elif kind == "list_item_open":
            item_prefix = f"{token.info}{token.markup} " if token.info else ""
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and row is not None:
            _add_text(blocks, _CELL_SEPARATOR.join(cell for cell in row if cell))
            row = None
        elif kind == "inline":
            if row is not None:
                row.append(" ".join(_lines(_inline_text(token, env))))
            elif (url := _original_link(token, env, rules)) is not None:
                blocks.append(_Link(url))
            else:
                _add_text(blocks, item_prefix + _inline_text(token, env))
                item_prefix = ""
        elif kind == "html_block":
            blocks.extend(_html_blocks(token.content, section_level + 1))
        elif kind in ("fence", "code_block"):
            _add_text(blocks, token.content)
    return blocks


def _simple_tokens(source: str) -> list[Token] | None:
    """markdown-it's block tokens for a file of ATX headings, paragraphs, comments and block HTML only.

    新闻联播 and the laws are written so; this pass over their lines costs a fraction of the
    block parser. None for anything else (see `_COMPLEX_START`): markdown-it parses it.
    """
    if "\t" in source or "\r" in source or "\0" in source or "]:" in source:
        return None  # tab stops, normalised line ends and reference definitions are the parser's business
    lines = source.split("\n")
    tokens: list[Token] = []
    i, n = 0, len(lines)
    while i < n:
        kind = _line_kind(lines[i])
        if kind is None:
            return None
        if kind == "blank":
            i += 1
        elif kind == "rule":
            tokens.append(Token("hr", "hr", 0))
            i += 1
        elif kind == "heading":
            line = lines[i].lstrip(" ")
            level = len(_ATX_HEADING.match(line).group())  # type: ignore[union-attr]
            title = line[level:].rstrip(" ")
            unclosed = title.rstrip("#")
            if unclosed.endswith(" "):  # a closing sequence: "## 标题 ##"
                title = unclosed
            tag = f"h{level}"
            tokens += [Token("heading_open", tag, 1), Token("inline", "", 0, content=mdTrim(title), children=[]), Token("heading_close", tag, -1)]
            i += 1
        elif kind in ("comment", "html"):
            end = i + 1
            if kind == "comment" and "-->" not in lines[i]:
                while end < n and "-->" not in lines[end]:
                    end += 1
                end = min(end + 1, n)
            elif kind == "html":
                while end < n and lines[end].strip(" "):
                    end += 1
            content = "\n".join(lines[i:end]) + ("\n" if end < n else "")
            tokens.append(Token("html_block", "", 0, content=content))
            i = end
        else:
            end = i + 1
            while end < n and (following := _line_kind(lines[end])) == "text":
                end += 1
            if end < n and following not in _ENDS_PARAGRAPH:
                return None
            content = mdTrim("\n".join(lines[i:end]))
            tokens += [Token("paragraph_open", "p", 1), Token("inline", "", 0, content=content, children=[]), Token("paragraph_close", "p", -1)]
            i = end
    return tokens


def _line_kind(line: str) -> str | None:
    """How a line starts a block: blank, rule, heading, comment, html, text; None when the parser must decide."""
    stripped = line.lstrip(" ")
    if not stripped:
        return "blank"
    first = stripped[0]
    if first in "-*_" and len(line) - len(stripped) <= 3 and _THEMATIC_BREAK.fullmatch(stripped):
        return "rule"
    if len(line) - len(stripped) > 3 or first in _COMPLEX_START or ("0" <= first <= "9" and _ORDERED_ITEM.match(stripped)):
        return None
    if first == "#":
        return "heading" if _ATX_HEADING.match(stripped) else None
    if first == "<":
        if stripped.startswith("<!--"):
            return "comment"
        return "html" if _HTML_BLOCK_TAG.search(stripped) else None
    return "text"


def _add_text(blocks: list[_Block], text: str) -> None:
    lines = _lines(text)
    if lines:
        blocks.append("\n".join(lines))


def _lines(text: str) -> list[str]:
    """The non-blank lines of a block, trimmed, with runs of spaces collapsed."""
    return [line for line in map(str.strip, _SPACES.sub(" ", text).split("\n")) if line]


def _children(token: Token, env: dict[str, object]) -> list[Token]:
    """The inline tokens of an inline run, parsed on first use (the block parser leaves none)."""
    if not token.children:
        token.children = _PARSER.inline.parse(token.content, _PARSER, env, [])
    return token.children


def _inline_text(token: Token, env: dict[str, object]) -> str:
    """What a reader sees of an inline run: texts, link texts, image descriptions, line breaks.

    A run without inline syntax is returned as written: it differs from the parse only by the
    spaces around its line breaks, which every caller trims (`_lines`).
    """
    if not token.children and not _INLINE_SYNTAX.search(token.content):
        return token.content
    parts: list[str] = []
    for child in _children(token, env):
        kind = child.type
        # text_special: an entity or escaped character, already decoded; an image's
        # content is its alt text.
        if kind in ("text", "text_special", "code_inline", "image"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak") or (
            kind == "html_inline" and _BR_TAG.match(child.content)
        ):
            parts.append("\n")
    return "".join(parts)


def _original_link(token: Token, env: dict[str, object], rules: _Rules) -> str | None:
    """The http(s) address of a paragraph that is only a "查看原文" link, else None."""
    if "](" not in token.content and "<http" not in token.content:
        return None  # no inline or autolink: spare the inline parse
    if not token.children and (plain := _PLAIN_LINK.fullmatch(token.content)) is not None:
        return plain.group(2) if plain.group(1).strip() in rules.original_link else None
    children = [c for c in _children(token, env) if not (c.type == "text" and not c.content.strip())]
    if [c.type for c in children] != ["link_open", "text", "link_close"]:
        return None
    href = str(children[0].attrGet("href") or "")
    if children[1].content.strip() not in rules.original_link:
        return None
    return href if href.startswith(("http://", "https://")) else None


def _html_blocks(markup: str, level: int) -> list[_Block]:
    """The visible text of an HTML fragment, a line per block element and `<br>`, as text blocks.

    A paragraph that is all bold (新闻联播's story headlines inside a 联播快讯) is a heading
    of `level`; comments, scripts and styles are left out.
    """
    root = lxml.etree.fromstring(f"<div>{markup}</div>", _HTML_PARSER)
    if root is None:
        return []
    # Comments go, their tails join the text around them (iterwalk would skip the tails).
    lxml.etree.strip_tags(root, lxml.etree.Comment, lxml.etree.ProcessingInstruction)
    blocks: list[_Block] = []
    parts: list[str] = []
    hidden = 0  # depth inside script/style elements, or inside a bold heading
    for event, element in lxml.etree.iterwalk(root, events=("start", "end")):
        tag = str(element.tag).lower()
        if tag == "p" and (title := _bold_title(element)) is not None:
            if event == "start":
                _add_text(blocks, "".join(parts))
                parts.clear()
                blocks.append(_Heading(level, title, bold=True))
            hidden += 1 if event == "start" else -1
        elif tag in _INVISIBLE_ELEMENTS:
            hidden += 1 if event == "start" else -1
        elif tag in _BLOCK_ELEMENTS:
            parts.append("\n")  # before and after, so text in a block stays off its children
        text = element.text if event == "start" else element.tail
        if text and not hidden:
            parts.append(text)
    _add_text(blocks, "".join(parts))
    return blocks


def _bold_title(paragraph: lxml.etree._Element) -> str | None:
    """The text of a short paragraph that is a single bold run (no sentence end), else None."""
    if len(paragraph) != 1 or (paragraph.text or "").strip():
        return None
    child = paragraph[0]
    if str(child.tag).lower() not in ("strong", "b") or len(child) or (child.tail or "").strip():
        return None
    title = " ".join(_lines(child.text or ""))
    if not title or len(title) > _BOLD_HEADING_MAX or title[-1] in _SENTENCE_END:
        return None
    return title
