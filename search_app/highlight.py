"""Find query matches in ORIGINAL text: the whole text or snippets, as Fragments (text + match spans).

Word matches come from re-analysing the text with the shared analyzer (offsets point at the
original characters); phrase matches are exact substrings of the normalised text with
whitespace ignored, mapped back to the original characters. Rendering (HTML, terminal) is
`search_app.render`'s.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

from search_app.results import Fragment
from speechindex.analysis import Normalized, get_analyzer

# Characters jieba always splits at: a block between two of them segments independently.
_SEPARATOR = re.compile(r"[\s，。、；：！？“”‘’（）《》【】〔〕,;:!?()\[\]\"'<>…—·]")
_WHITESPACE = re.compile(r"\s+")
_SPACE_CHAR = re.compile(r"\s")
FRAGMENT_CHARS = 100
MAX_FRAGMENTS = 2
SNIPPET_MATCH_LIMIT = 60  # matches considered when choosing snippet windows
# Where a snippet may start: right after one of these (clause and line breaks).
_CLAUSE_BREAKS = frozenset("。！？；，、：\n\r!?;,:")


@dataclass(frozen=True)
class MatchSpec:
    """What to highlight: normalised word terms, normalised phrases (whitespace-free), and units.

    A unit is a query word the analyzer splits (一九五四年 → 1954 + 年, 学校教育 → 学校 + 教育):
    it is marked where its characters occur together; only in a text that never has them
    together are its terms of two or more characters marked, never a lone 年.
    """

    terms: frozenset[str]
    phrases: tuple[str, ...]
    units: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def empty(self) -> bool:
        """True when there is nothing to highlight."""
        return not self.terms and not self.phrases and not self.units


def find_spans(text: str, spec: MatchSpec, limit: int | None = None, norm: Normalized | None = None) -> list[tuple[int, int]]:
    """Merged, sorted [start, end) spans of `text` that match the spec.

    With `limit`, only about the first `limit` matches of each kind are looked for: a snippet
    needs a few, and a huge text full of matches must not cost seconds. `norm`: the text
    already normalised, when the caller has it.
    """
    if spec.empty or not text:
        return []
    spans: list[tuple[int, int]] = []
    norm = norm or get_analyzer().normalize(text)
    terms = set(spec.terms)
    for chars, parts in spec.units:
        found = _phrase_spans(norm, (chars,), limit)
        if found:
            spans.extend(found)
        else:
            terms.update(t for t in parts if len(t) > 1)
    if terms:
        spans.extend(_term_spans(norm, frozenset(terms), limit))
    if spec.phrases:
        spans.extend(_phrase_spans(norm, spec.phrases, limit))
    return merge_spans(spans)


def _phrase_spans(norm: Normalized, phrases: tuple[str, ...], limit: int | None) -> list[tuple[int, int]]:
    """Spans of exact phrase occurrences, whitespace ignored (as in the character field)."""
    text = norm.text
    compact = _WHITESPACE.sub("", text)
    found = [(pos, len(p)) for p in phrases if p for pos in _find_all(compact, p, limit)]
    if not found:
        return []
    if len(compact) == len(text):
        return [norm.span(pos, pos + n) for pos, n in found]
    spaces = [m.start() for m in _SPACE_CHAR.finditer(text)]
    return [norm.span(_text_position(spaces, pos), _text_position(spaces, pos + n - 1) + 1) for pos, n in found]


def _text_position(spaces: list[int], pos: int) -> int:
    """The position in the text of the `pos`-th non-whitespace character; `spaces`: the whitespace positions."""
    skipped = 0
    while (now := bisect_right(spaces, pos + skipped)) != skipped:
        skipped = now
    return pos + skipped


def _find_all(text: str, needle: str, limit: int | None = None) -> list[int]:
    out: list[int] = []
    pos = text.find(needle)
    while pos != -1 and (limit is None or len(out) < limit):
        out.append(pos)
        pos = text.find(needle, pos + 1)
    return out


def _term_spans(norm: Normalized, terms: frozenset[str], limit: int | None) -> list[tuple[int, int]]:
    """Spans of index-mode tokens equal to a query term.

    Only the blocks between separators that contain a term's characters are segmented:
    jieba never joins words across these separators, so a block segments exactly as it
    does inside the whole text, and long sections cost a few string searches instead of a
    full re-analysis.
    """
    text = norm.text
    hits = [pos for term in terms for pos in _find_all(text, term, limit)]
    if not hits:
        return []
    analyzer = get_analyzer()
    spans: list[tuple[int, int]] = []
    done_until = -1
    for pos in sorted(hits):
        if pos < done_until:
            continue
        if limit is not None and len(spans) >= limit:
            break
        m = _SEPARATOR.search(text, pos)
        end = m.start() if m else len(text)
        start = pos
        while start > 0 and not _SEPARATOR.match(text, start - 1):
            start -= 1
        done_until = end
        for word, s, e in analyzer.segment_normalized(text[start:end], "index"):
            if word in terms:
                spans.append(norm.span(start + s, start + e))
    return spans


def merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge overlapping or adjacent spans, so adjacent marks become one."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def highlight_all(text: str, spec: MatchSpec) -> Fragment:
    """The whole text with every match marked (document page)."""
    return Fragment(text, tuple(find_spans(text, spec)))


def snippet(text: str, spec: MatchSpec, skip: int = 0) -> Fragment:
    """Up to two ~100-character fragments around the densest matches, joined by a space, cuts shown as "…".

    `skip` characters at the start (the heading line, shown separately) are not used for
    the fallback fragment when nothing matches.
    """
    norm = get_analyzer().normalize(text)
    spans = find_spans(text, spec, SNIPPET_MATCH_LIMIT, norm)
    if not spans:
        start = _clause_start(text, min(skip, len(text)))
        body = text[start:].strip() or text
        return _flat(Fragment(body[:FRAGMENT_CHARS] + ("…" if len(body) > FRAGMENT_CHARS else "")))
    parts = []
    for a, b in _best_windows(text, spans, _matched_keys(text, norm, spans, spec)):
        a, b = min([a, *(s for s, e in spans if s < a < e)]), max([b, *(e for s, e in spans if s < b < e)])  # never cut a mark
        parts.append(Fragment.join([Fragment("…" if a > 0 else ""), _flat(Fragment.cut(text, spans, a, b)), Fragment("…" if b < len(text) else "")]))
    return Fragment.join(parts, " ")


def _matched_keys(text: str, norm: Normalized, spans: list[tuple[int, int]], spec: MatchSpec) -> list[frozenset[str]]:
    """Per span, the query words and phrases it contains.

    Adjacent matches are merged into one span (高考 + 改革 → 高考改革), so a span's text alone
    would count one match where the reader sees both query words.
    """
    keys = {*spec.terms, *spec.phrases, *(chars for chars, _ in spec.units)}
    normalize = get_analyzer().normalize
    found = []
    for s, e in spans:
        # Normalised text has the original's positions unless normalising changed its length.
        piece = norm.text[s:e] if norm.origin is None else normalize(text[s:e]).text
        compact = "".join(piece.split())
        found.append(frozenset(k for k in keys if k in compact))
    return found


def _best_windows(text: str, spans: list[tuple[int, int]], keys: list[frozenset[str]]) -> list[tuple[int, int]]:
    """Pick up to MAX_FRAGMENTS non-overlapping windows that cover the most distinct query words, then the most matches.

    `keys[i]`: the query words and phrases inside `spans[i]`.
    """
    n = len(text)
    candidates = []
    for a, _ in spans:
        start = max(0, min(a - FRAGMENT_CHARS // 4, n - FRAGMENT_CHARS))
        end = min(n, start + FRAGMENT_CHARS)
        inside = [i for i, (s, e) in enumerate(spans) if s >= start and e <= end]
        distinct = len(frozenset().union(*(keys[i] for i in inside)))
        candidates.append((distinct, len(inside), -start, start, end))
    candidates.sort(reverse=True)
    chosen: list[tuple[int, int]] = []
    for *_, start, end in candidates:
        start = _soft_start(text, start, spans)
        end = min(n, max(end, start + FRAGMENT_CHARS))
        if all(end <= s or start >= e for s, e in chosen):
            chosen.append((start, end))
        if len(chosen) == MAX_FRAGMENTS:
            break
    return sorted(chosen)


def _soft_start(text: str, start: int, spans: list[tuple[int, int]]) -> int:
    """A window start moved to a clause start: back to just after a break if one is near, else
    forward to one before the first mark, else to the first mark itself (never mid-word)."""
    if start == 0 or text[start - 1] in _CLAUSE_BREAKS:
        return start
    cut = [a for a, b in spans if a < start < b]
    for i in range(start - 1, max(0, start - FRAGMENT_CHARS // 4) - 1, -1):
        if text[i] in _CLAUSE_BREAKS:
            return i + 1
    if cut:
        return cut[0]
    first = min((a for a, _ in spans if a >= start), default=start)
    for i in range(start, first):
        if text[i] in _CLAUSE_BREAKS:
            return i + 1
    return first


def _clause_start(text: str, pos: int) -> int:
    """`pos`, or the start of the next clause when `pos` falls inside a word (browse snippets)."""
    if pos == 0 or text[pos - 1] in _CLAUSE_BREAKS or text[pos - 1].isspace():
        return pos
    for i in range(pos, min(len(text), pos + FRAGMENT_CHARS)):
        if text[i] in _CLAUSE_BREAKS:
            return i + 1
    return pos


def _flat(fragment: Fragment) -> Fragment:
    """Line breaks inside a snippet become spaces."""
    flat = fragment.without("\r")
    return Fragment(flat.text.replace("\n", " "), flat.marks)
