"""Renderers of `search_app.results.Fragment`: escaped HTML with <mark>, and terminal text.

The only place that writes <mark>: the web templates (through the `marked` filter) and the
API's `snippet_html` and `html` fields use `html`. Every character of a fragment's text is
escaped; only the marks become tags.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from search_app.results import Fragment

TERMINAL_MARK = ("\x1b[1;33m", "\x1b[0m")  # bold yellow
PLAIN_MARK = ("【", "】")  # where there is no terminal to colour (a pipe, a file)


def html(fragment: Fragment, mark_class: str = "") -> str:
    """The fragment as HTML: its text escaped, each match in <mark> (with `mark_class`, <mark class="…">)."""
    start = f'<mark class="{escape(mark_class)}">' if mark_class else "<mark>"
    return "".join(f"{start}{escape(text)}</mark>" if hit else escape(text) for text, hit in fragment.pieces())


def terminal(fragment: Fragment, color: bool) -> str:
    """The fragment as terminal text: matches in bold yellow, or in 【】 when `color` is False."""
    before, after = TERMINAL_MARK if color else PLAIN_MARK
    return "".join(f"{before}{text}{after}" if hit else text for text, hit in fragment.pieces())
