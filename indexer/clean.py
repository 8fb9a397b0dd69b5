"""Turn a scraped page into the text of the speech.

Site chrome (VIP badges, prices, page markers, footers, "推荐访问" link lists…) is
recognised by the data-driven patterns of `indexer/data/chrome_patterns.toml`; the
page-chunk numbers and the "摘要:" teaser that repeats the opening are removed; PDF-style
hard line wraps are undone and whitespace is normalised. Everything else is kept
verbatim, including damage that is part of the capture (missing characters, "口").
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATTERNS_PATH = Path(__file__).parent / "data" / "chrome_patterns.toml"

SCOPES = ("line", "tail", "inline", "duplicate", "chunk")
ZONES = ("any", "head")

# Markdown files and collection records (jsonl/csv) carry no site chrome: they only get
# whitespace normalisation (and the few patterns marked `records`, for a footer their
# source adds to every record). Every other format may be a saved web page or a
# converted file with page furniture.
CLEAN_FORMATS = frozenset({"md", "jsonl", "csv"})

# The top of a page is scanned for chrome until its first line of prose, but no further
# than this: a page whose header is longer is not one of the known site layouts.
HEAD_MAX_LINES = 40

# CJK ideographs plus CJK and full-width punctuation (U+3000 itself excluded: it is a space).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3001-\u303f\uff00-\uffef"
_CJK_CHAR = re.compile(f"[{_CJK}]")
# PDF extraction puts spaces between CJK text and numbers or Latin words ("2023 年XX 区").
_CJK_ASCII_SPACE = re.compile(
    rf"(?<=[{_CJK}])[ \t]+(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])[ \t]+(?=[{_CJK}])"
)
# A line ending in one of these ends a sentence, so a line break after it is real.
SENTENCE_FINAL = "。！？；：”」』…!?;:"
# A line starting with one of these continues the previous line (never starts a paragraph).
_CONTINUATION_START = re.compile(r"^[，,。．、；;：:！!？?）)」』》〉”’]")
# Heading starts, which always begin a new line: 一、 (一) （一） 1. 1、 (1) 第X章/条 # ① 一是.
_HEADING_START = re.compile(
    r"^(?:[一二三四五六七八九十百]+[、.．]"
    r"|[(（][一二三四五六七八九十百\d]+[)）]"
    r"|\d+(?:\.\d+)*[.、．](?!\d)"
    r"|第[一二三四五六七八九十百千零〇\d]+[章节条部分篇编]"
    r"|#|[①-⑳]|[一二三四五六七八九十]是)"
)
_SENTENCE_PUNCT = re.compile(r"[，,。；;！!？?]")
# Sentences of a line (each with its end mark), for taking a chrome phrase out of speech text.
_SENTENCES = re.compile(r"[^。！？!?；;]*(?:[。！？!?；;]+[”」』]?|$)")
_SENTENCE_END = re.compile(r"[。！？!?；;]")
_MIN_KEPT_CJK = 6
_TITLE_BREAKING_PUNCT = re.compile(r"[，,。；;！!？?：:]")
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
# Runs of full-width spaces inside a line separate paragraphs in some collections.
_IDEOGRAPHIC_SPACE_RUN = re.compile(r"(?<=\S)\u3000{2,}(?=\S)")
_ELLIPSIS_END = re.compile(r"(?:\.{3,}|…+)\s*$")
_WHITESPACE = re.compile(r"\s+")


@dataclass
class ChromePattern:
    """One entry of the chrome pattern file (see its header for the meaning of the fields)."""

    name: str
    regex: re.Pattern[str]
    scope: str
    zone: str = "any"
    capture: dict[str, str] = field(default_factory=dict)
    example: str = ""
    records: bool = False  # also applied to Markdown files and jsonl/csv records


@dataclass
class Cleaned:
    """The result of `clean_text`."""

    text: str  # the speech itself: chrome and markers removed, whitespace normalised, otherwise verbatim
    header_lines: list[str]  # non-chrome lines found ABOVE the body (site title lines), for the title guess
    hints: dict[str, str]  # weak metadata captured from chrome: upload_date, site, domain, url, filename
    removed: list[str]  # names of the patterns that fired (for warnings/debugging)


def load_patterns(path: Path | None = None) -> list[ChromePattern]:
    """Read and compile the chrome patterns (cached per file); default: indexer/data/chrome_patterns.toml."""
    return list(_load_patterns(str(path or DEFAULT_PATTERNS_PATH)))


@functools.lru_cache(maxsize=8)
def _load_patterns(path: str) -> tuple[ChromePattern, ...]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    patterns: list[ChromePattern] = []
    seen: set[str] = set()
    for entry in data.get("pattern", []):
        name = entry.get("name", "")
        where = f"{path}: pattern {name or '?'}"
        if not name or name in seen:
            raise ValueError(f"{where}: every pattern needs a unique name")
        seen.add(name)
        scope = entry.get("scope", "line")
        zone = entry.get("zone", "any")
        if scope not in SCOPES:
            raise ValueError(f"{where}: scope must be one of {SCOPES}, not {scope!r}")
        if zone not in ZONES:
            raise ValueError(f"{where}: zone must be one of {ZONES}, not {zone!r}")
        try:
            regex = re.compile(entry["regex"])
        except (KeyError, re.error) as exc:
            raise ValueError(f"{where}: missing or invalid regex ({exc})") from exc
        capture = dict(entry.get("capture", {}))
        unknown = set(capture) - set(regex.groupindex)
        if unknown:
            raise ValueError(f"{where}: capture names groups the regex lacks: {sorted(unknown)}")
        if scope == "chunk" and "n" not in regex.groupindex:
            raise ValueError(f"{where}: a chunk pattern needs a group (?P<n>…) for the number")
        records = bool(entry.get("records", False))
        if records and scope not in ("line", "tail", "inline"):
            raise ValueError(f"{where}: only line, tail and inline patterns can apply to records")
        patterns.append(
            ChromePattern(name, regex, scope, zone, capture, entry.get("example", ""), records)
        )
    return tuple(patterns)


def collapse_cjk_spaces(text: str) -> str:
    """Remove the spaces PDF extraction puts between CJK text and digits/Latin letters."""
    if " " not in text and "\t" not in text:
        return text  # most lines: the regex would still try its lookbehinds at every character
    return _CJK_ASCII_SPACE.sub("", text)


def looks_like_title(line: str) -> bool:
    """True for a short line without sentence punctuation that is not a heading or salutation."""
    line = line.strip()
    return (
        2 <= len(line) <= 60
        and _CJK_CHAR.search(line) is not None
        and not _TITLE_BREAKING_PUNCT.search(line)
        and not _HEADING_START.match(line)
        and not _ELLIPSIS_END.search(line)
    )


def clean_text(raw: str, fmt: str = "txt") -> Cleaned:
    """Strip site chrome and page markers from a document's text and normalise its whitespace."""
    text = _ZERO_WIDTH.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u00a0", " ")
    fmt = fmt.lower()
    if fmt in CLEAN_FORMATS:
        # Only the chrome a collection's source adds to every record (patterns marked records).
        run = _ChromeRun([p for p in load_patterns() if p.records])
        lines = run.drop_chrome([run.apply_inline(line) for line in text.split("\n")])
        return Cleaned(_normalise_whitespace(lines, markdown=fmt == "md"), [], run.hints, run.removed)

    run = _ChromeRun(load_patterns())
    lines = [run.apply_inline(line) for line in text.split("\n")]
    header, body = run.split_head(lines)
    body = run.drop_chrome(body)
    body = run.drop_duplicate_summary(body)
    body = _drop_repeated_site_title(header, body)
    body = run.join_chunks(body)
    body = _split_glued_title(body, _title_candidates(header, run.hints))
    header_lines = list(dict.fromkeys(collapse_cjk_spaces(h) for h in header))
    return Cleaned(_normalise_whitespace(body, markdown=False), header_lines, run.hints, run.removed)


class _ChromeRun:
    """The patterns applied to one document, with what they captured and which fired."""

    def __init__(self, patterns: list[ChromePattern]) -> None:
        self.inline = [p for p in patterns if p.scope == "inline"]
        self.linewise = [p for p in patterns if p.scope in ("line", "tail")]
        self.duplicate = [p for p in patterns if p.scope == "duplicate"]
        self.chunk = [p for p in patterns if p.scope == "chunk"]
        self.hints: dict[str, str] = {}
        self.removed: list[str] = []

    def fire(self, pattern: ChromePattern, match: re.Match[str] | None = None) -> None:
        """Record that a pattern fired, and keep the first value of each captured hint."""
        if pattern.name not in self.removed:
            self.removed.append(pattern.name)
        if match is not None:
            for group, hint in pattern.capture.items():
                value = match.group(group)
                if value:
                    self.hints.setdefault(hint, value.strip())

    def apply_inline(self, line: str) -> str:
        """Remove the substrings matched by inline patterns."""
        for pattern in self.inline:
            line, count = pattern.regex.subn("", line)
            if count:
                self.fire(pattern)
        return line

    def match_line(self, line: str, head: bool) -> tuple[ChromePattern, re.Match[str]] | None:
        """The first line/tail pattern matching the stripped line (head-zone ones only above the body)."""
        for pattern in self.linewise:
            if pattern.zone == "head" and not head:
                continue
            match = pattern.regex.search(line)
            if match:
                return pattern, match
        return None

    def split_head(self, lines: list[str]) -> tuple[list[str], list[str]]:
        """Split the page at its last chrome line above the first prose line: (header lines, body lines).

        Non-chrome lines above that point are site title lines; chrome lines there are dropped.
        """
        chrome: set[int] = set()
        for i, line in enumerate(lines[:HEAD_MAX_LINES]):
            stripped = line.strip()
            if not stripped:
                continue
            found = self.match_line(stripped, head=True)
            if found and _outside_chrome(stripped, found) is None:
                self.fire(*found)
                chrome.add(i)
            elif found or _is_prose(stripped):
                break  # prose with a chrome phrase in it: drop_chrome keeps the prose
        if not chrome:
            return [], lines
        top = max(chrome) + 1
        header = [l.strip() for i, l in enumerate(lines[:top]) if i not in chrome and l.strip()]
        return header, lines[top:]

    def drop_chrome(self, lines: list[str]) -> list[str]:
        """Drop chrome lines of the body and cut it at the first tail pattern.

        The lines after a tail are still scanned, for the hints they carry (e.g. the URL).
        """
        kept: list[str] = []
        for i, line in enumerate(lines):
            found = self.match_line(line.strip(), head=False)
            if found is None:
                kept.append(line)
                continue
            self.fire(*found)
            rest = _outside_chrome(line.strip(), found)
            if rest is not None:
                kept.append(rest)
                continue
            if found[0].scope == "tail":
                for rest in lines[i + 1 :]:
                    later = self.match_line(rest.strip(), head=False)
                    if later:
                        self.fire(*later)
                break
        return kept

    def drop_duplicate_summary(self, lines: list[str]) -> list[str]:
        """Drop teaser paragraphs that repeat the opening of the body and stop at an ellipsis."""
        if not self.duplicate:
            return lines
        kept = list(lines)
        for i, line in enumerate(lines):
            stripped = line.strip()
            pattern = next((p for p in self.duplicate if p.regex.search(stripped)), None)
            if pattern is None:
                continue
            probe = _squash(_ELLIPSIS_END.sub("", stripped))[:30]
            # The teaser repeats the top of the body (give or take a title line).
            if len(probe) >= 20 and probe in _squashed_opening(lines, skip=i):
                kept[i] = ""
                self.fire(pattern)
        return kept

    def join_chunks(self, lines: list[str]) -> list[str]:
        """Remove page-chunk numbers "1、" … "N、" and rejoin chunks split mid-sentence.

        The numbers must run 1, 2, 3… over the body's paragraphs from its top, for at least
        three long chunks: the text's own "1、" enumerations are short and interleaved.
        """
        paragraphs = [i for i, line in enumerate(lines) if line.strip()]
        for pattern in self.chunk:
            chunks: list[str] = []
            for i in paragraphs:
                match = pattern.regex.search(lines[i].strip())
                if not match or int(match.group("n")) != len(chunks) + 1:
                    break
                chunks.append(lines[i].strip()[match.end() :])
            if len(chunks) < 3 or sum(map(len, chunks)) / len(chunks) < 80:
                continue
            self.fire(pattern)
            joined = chunks[0]
            for chunk in chunks[1:]:
                # Chunks are page cuts: a chunk that ends a sentence keeps its break.
                joined = joined + "\n\n" + chunk if joined.endswith(tuple(SENTENCE_FINAL)) else _join(joined, chunk)
            return joined.split("\n") + lines[paragraphs[len(chunks) - 1] + 1 :]
        return lines


def _outside_chrome(line: str, found: tuple[ChromePattern, re.Match[str]]) -> str | None:
    """The line without the sentences the chrome matches touch, if what remains is speech text.

    A line pattern drops a whole line, which is right for a footer line but loses the speech
    when a one-line file has the footer glued on ("…推进双减工作。本网站备案号：京ICP备…号").
    None when the rest is not substantive (the whole line is chrome).
    """
    pattern, match = found
    if pattern.scope != "line":
        return None
    # The chrome runs from the first to the last match of the pattern (a disclaimer of several sentences).
    first, last = match.start(), max(m.end() for m in pattern.regex.finditer(line))
    if last <= first:
        return None  # a zero-width match (lookaheads only) does not say where the chrome is
    kept, start = [], 0
    for piece in _SENTENCES.findall(line):
        end = start + len(piece)
        if end <= first or start >= last:
            kept.append(piece)
        start = end
    rest = "".join(kept).strip()
    substantive = _SENTENCE_END.search(rest) and len(_CJK_CHAR.findall(rest)) >= _MIN_KEPT_CJK
    return rest if substantive else None


def _is_prose(line: str) -> bool:
    """A line of running text (the body has started), as opposed to a title or a label."""
    return (
        len(line) >= 16
        and _SENTENCE_PUNCT.search(line) is not None
        and len(_CJK_CHAR.findall(line)) >= 8
    )


def _squash(text: str) -> str:
    """Text without any whitespace, for comparing copies that were wrapped differently."""
    return _WHITESPACE.sub("", text)


def _squashed_opening(lines: list[str], skip: int, size: int = 240) -> str:
    """The first `size` non-space characters of the lines, leaving out line `skip`."""
    parts: list[str] = []
    length = 0
    for i, line in enumerate(lines):
        if i != skip:
            parts.append(_squash(line))
            length += len(parts[-1])
            if length >= size:
                break
    return "".join(parts)[:size]


def _drop_repeated_site_title(header: list[str], body: list[str]) -> list[str]:
    """Drop the site's repeat of a header line when the document's own title follows it.

    Pages show the site title again above the document, whose first line is its real title
    ("在全校教职工大会讲话讲话" then "在2021年全校教职工大会讲话的讲话").
    """
    filled = [i for i, line in enumerate(body) if line.strip()]
    if len(filled) < 2:
        return body
    first, second = (body[i].strip() for i in filled[:2])
    known = {_squash(collapse_cjk_spaces(h)) for h in header}
    if looks_like_title(first) and looks_like_title(second) and _squash(collapse_cjk_spaces(first)) in known:
        return body[filled[0] + 1 :]
    return body


def _title_candidates(header: list[str], hints: dict[str, str]) -> list[str]:
    """Titles the page announces: the downloaded file's name and the site's title lines."""
    candidates = [h.strip() for h in header if looks_like_title(h)]
    if "filename" in hints:
        candidates.insert(0, Path(hints["filename"]).stem.strip())
    return [c for c in candidates if len(c) >= 4]


def _split_glued_title(lines: list[str], titles: list[str]) -> list[str]:
    """Put a title that lost its line break ("…的讲话同志们:今天,…") on its own line."""
    filled = next((i for i, line in enumerate(lines) if line.strip()), None)
    if filled is None:
        return lines
    first = lines[filled].strip()
    for title in titles:
        if first.startswith(title) and len(first) > len(title):
            return lines[:filled] + [title, first[len(title) :]] + lines[filled + 1 :]
    return lines


def _join(left: str, right: str) -> str:
    """Join two pieces of one sentence; only Latin words need a space between them."""
    if left[-1:].isascii() and left[-1:].isalpha() and right[:1].isascii() and right[:1].isalpha():
        return f"{left} {right}"
    return left + right


def _width(text: str) -> int:
    """Display width: CJK (wide, full-width, ambiguous) characters count two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" else 1 for c in text)


def _wrap_width(lines: list[str]) -> int | None:
    """The line width of a hard-wrapped text (many lines of similar length), else None."""
    widths = [_width(line) for line in lines if line]
    if len(widths) < 6:
        return None
    width = sorted(widths)[int(0.9 * (len(widths) - 1))]
    # One paragraph per line gives long, ragged lines; a wrapped page gives a flat top.
    if not 30 <= width <= 160:
        return None
    near = sum(1 for w in widths if w >= 0.7 * width)
    return width if near >= 0.5 * len(widths) else None


def _unwrap(lines: list[str]) -> list[str]:
    """Join hard-wrapped lines back into paragraphs.

    A line is continued by the next one when it is about as wide as the page (a shorter
    line ended its paragraph), does not end a sentence, and the next line is no heading.
    """
    width = _wrap_width(lines)
    if width is None:
        return lines
    out: list[str] = []
    previous = ""  # the previous physical line, blank at paragraph breaks
    for line in lines:
        if (
            previous
            and line
            and _width(previous) >= 0.7 * width
            and not previous.endswith(tuple(SENTENCE_FINAL))
            and not _HEADING_START.match(line)
        ):
            out[-1] = _join(out[-1], line)
        else:
            out.append(line)
        previous = line
    return out


def _join_continuations(lines: list[str]) -> list[str]:
    """Join a line that starts with closing punctuation ("。", "”") to an unfinished line above it.

    (A finished line above it means the text is damaged, e.g. "四、" that lost its "四".)
    """
    out: list[str] = []
    for line in lines:
        if (
            out
            and out[-1]
            and line
            and _CONTINUATION_START.match(line)
            and not out[-1].endswith(tuple(SENTENCE_FINAL))
        ):
            out[-1] = out[-1] + line
        else:
            out.append(line)
    return out


def _normalise_whitespace(lines: list[str], markdown: bool) -> str:
    """Trim lines, unwrap hard wraps (not in Markdown), drop PDF spaces, keep at most one blank line."""
    out: list[str] = []
    for line in lines:
        if markdown:
            # The Markdown reader gives one paragraph, list item or heading per line, already
            # trimmed: there are no hard wraps to undo.
            out.append(line.rstrip() if line.strip() else "")
            continue
        # Leading spaces are paragraph indentation, meaningless once lines are paragraphs.
        line = line.strip(" \t\u3000")
        out.extend(_IDEOGRAPHIC_SPACE_RUN.split(line) if line.strip() else [""])
    if not markdown:
        out = _unwrap(_join_continuations(out))
    text = "\n".join(collapse_cjk_spaces(line) for line in out)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")
