"""User query string → query tree, parsed leniently: user input never raises.

Syntax (what 北大法宝 / Baidu users expect):

- plain words, separated by spaces: every word must match (AND);
- ``"…"`` (also “…” and 「…」): exactly these characters, whatever the segmentation;
- ``A OR B`` (also ``|``): either; OR binds tighter than the implicit AND;
- ``-word`` / ``-"phrase"`` (also ``NOT word``): exclude every document that contains it;
- ``title:word`` / ``title:"…"``: in titles only;
- ``year:2023``, ``year:2019..2023`` (also ``2019-2023``): a year range.

Anything that cannot be understood is dropped and reported in `ParsedQuery.warnings`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_QUERY_CHARS = 500

_OPEN_QUOTES = {'"': '"', "“": "”", "「": "」", "『": "』", "”": "”"}
_YEAR_RANGE = re.compile(r"^(\d{4})(?:(?:\.\.|-|~|到|至)(\d{4})?)?$|^(?:\.\.|-)(\d{4})$")
_FIELD = re.compile(r"^([A-Za-z_]+):(.*)$", re.S)
_SPACE = re.compile(r"\s+")
# C0/C1 controls and lone surrogates: never meaningful in a query.
_JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class Word:
    """A plain word: analysed, each of its terms must match (title-only when field == "title")."""

    text: str
    field: str = "all"


@dataclass(frozen=True)
class Phrase:
    """An exact substring (after normalisation)."""

    text: str
    field: str = "all"


Atom = Word | Phrase


@dataclass
class ParsedQuery:
    """The query tree: a conjunction of OR-groups, exclusions, and a year range."""

    groups: list[list[Atom]] = field(default_factory=list)  # AND of ORs
    excluded: list[Atom] = field(default_factory=list)
    year_from: int | None = None
    year_to: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when nothing positive was asked for (browse mode)."""
        return not self.groups

    def positive_atoms(self) -> list[Atom]:
        """Every atom that contributes matches (for highlighting)."""
        return [a for g in self.groups for a in g]


@dataclass
class _Lexeme:
    kind: str  # "atom", "or", "not"
    atom: Atom | None = None
    negated: bool = False


def clean_input(text: str) -> str:
    """Drop control characters and lone surrogates, NFKC-normalise operators (full-width －：（ etc.)."""
    text = _JUNK.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    return _SPACE.sub(" ", text).strip()


def parse_query(text: str | None) -> ParsedQuery:
    """Parse a user query; never raises. Overlong input is truncated with a warning."""
    result = ParsedQuery()
    text = clean_input(text or "")
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        result.warnings.append(f"查询过长，只使用了前 {MAX_QUERY_CHARS} 个字符")
    lexemes = _lex(text, result)
    _assemble(lexemes, result)
    return result


def _lex(text: str, result: ParsedQuery) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    i, n = 0, len(text)
    depth = 0
    while i < n:
        ch = text[i]
        if ch == " ":
            i += 1
            continue
        if ch in "()":
            depth += 1 if ch == "(" else -1
            i += 1
            continue
        negated = False
        if ch == "-" or ch == "!":
            j = i + 1
            if j >= n or text[j] == " ":
                result.warnings.append("忽略了单独的“-”（排除词应紧跟在减号后面，如 -校外培训）")
                i = j
                continue
            negated, i, ch = True, j, text[j]
            if ch == "(":
                out.append(_Lexeme("not"))  # -(…) excludes the atom that follows
                continue
        if ch in _OPEN_QUOTES:
            close = _OPEN_QUOTES[ch]
            end = text.find(close, i + 1)
            if end == -1 and close != '"':
                end = text.find('"', i + 1)
            if end == -1:
                result.warnings.append("引号不成对，已按普通词处理")
                i += 1
                continue
            phrase = text[i + 1 : end].strip()
            i = end + 1
            if phrase:
                out.append(_Lexeme("atom", Phrase(phrase), negated))
            else:
                result.warnings.append("忽略了空的引号")
            continue
        j = i
        while j < n and text[j] not in " ()" and not (j > i and text[j] in _OPEN_QUOTES and text[j - 1] == ":"):
            j += 1
        token = text[i:j]
        i = j
        if token in ("OR", "|", "||"):
            out.append(_Lexeme("or"))
            continue
        if token == "AND" or token == "&&":
            continue
        if token == "NOT":
            out.append(_Lexeme("not"))
            continue
        m = _FIELD.match(token)
        if m:
            name, value = m.group(1).lower(), m.group(2)
            if name == "year":
                if negated or (out and out[-1].kind == "not"):
                    if out and out[-1].kind == "not":
                        out.pop()
                    result.warnings.append(f"不支持排除年份“year:{value}”，已忽略（可用 year:起..止 指定范围）")
                else:
                    _year(value, result)
                continue
            if name == "title":
                if not value and i < n and text[i] in _OPEN_QUOTES:
                    close = _OPEN_QUOTES[text[i]]
                    end = text.find(close, i + 1)
                    if end != -1:
                        value, i = text[i + 1 : end].strip(), end + 1
                        if value:
                            out.append(_Lexeme("atom", Phrase(value, "title"), negated))
                        continue
                if value.startswith('"') and value.endswith('"') and len(value) > 2:
                    out.append(_Lexeme("atom", Phrase(value[1:-1], "title"), negated))
                elif value.strip('"'):
                    out.append(_Lexeme("atom", Word(value.strip('"'), "title"), negated))
                else:
                    result.warnings.append("“title:” 后面没有内容，已忽略")
                continue
        token = token.strip('"')
        if token:
            out.append(_Lexeme("atom", Word(token), negated))
    if depth != 0:
        result.warnings.append("括号不成对，已忽略括号")
    return out


def _year(value: str, result: ParsedQuery) -> None:
    m = _YEAR_RANGE.match(value.strip())
    if not m:
        result.warnings.append(f"无法理解年份“year:{value}”，已忽略（示例：year:2023 或 year:2019..2023）")
        return
    lo, hi, only_hi = m.group(1), m.group(2), m.group(3)
    if only_hi:
        result.year_to = int(only_hi)
        return
    result.year_from = int(lo)
    if hi:
        result.year_to = int(hi)
    elif not re.search(r"\.\.|-|~|到|至", value):
        result.year_to = int(lo)
    if result.year_to is not None and result.year_from is not None and result.year_to < result.year_from:
        result.year_from, result.year_to = result.year_to, result.year_from


def _assemble(lexemes: list[_Lexeme], result: ParsedQuery) -> None:
    pending_not = False
    pending_or = False
    for lex in lexemes:
        if lex.kind == "not":
            pending_not = True
            continue
        if lex.kind == "or":
            if not result.groups or pending_not:
                result.warnings.append("“OR” 两边都需要有词，已忽略")
            else:
                pending_or = True
            continue
        assert lex.atom is not None
        if lex.negated or pending_not:
            result.excluded.append(lex.atom)
            pending_not = False
            if pending_or:
                result.warnings.append("“OR” 后面是排除词，已忽略 OR")
                pending_or = False
            continue
        if pending_or:
            result.groups[-1].append(lex.atom)
            pending_or = False
        else:
            result.groups.append([lex.atom])
    if pending_or:
        result.warnings.append("“OR” 后面没有词，已忽略")
    if pending_not:
        result.warnings.append("“NOT” 后面没有词，已忽略")
