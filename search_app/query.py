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


@dataclass
class _Lexer:
    """What the taggers share: the text, the reading position and what has been read so far."""

    text: str
    result: ParsedQuery
    pos: int = 0
    depth: int = 0  # open parentheses; they only group visually (OR binds tighter anyway)
    out: list[_Lexeme] = field(default_factory=list)

    def emit(self, kind: str, atom: Atom | None = None, negated: bool = False) -> None:
        self.out.append(_Lexeme(kind, atom, negated))

    def warn(self, message: str) -> None:
        self.result.warnings.append(message)

    def bare_token(self) -> str:
        """The unquoted token at pos: up to a space, a parenthesis or the quote opening `field:"…"`."""
        text, start = self.text, self.pos
        end = start
        while end < len(text) and text[end] not in " ()":
            if end > start and text[end] in _OPEN_QUOTES and text[end - 1] == ":":
                break
            end += 1
        return text[start:end]


def _closing_quote(text: str, start: int) -> int:
    """Where the quote opened at `start` closes, or -1; an ASCII " closes any opening quote."""
    close = _OPEN_QUOTES[text[start]]
    end = text.find(close, start + 1)
    if end == -1 and close != '"':
        end = text.find('"', start + 1)
    return end


# -- taggers: each reads one syntax at the position, or returns False and leaves it --------


def _space(lx: _Lexer) -> bool:
    if lx.text[lx.pos] != " ":
        return False
    lx.pos += 1
    return True


def _parenthesis(lx: _Lexer) -> bool:
    ch = lx.text[lx.pos]
    if ch not in "()":
        return False
    lx.depth += 1 if ch == "(" else -1
    lx.pos += 1
    return True


def _minus(lx: _Lexer) -> bool:
    """``-x`` / ``!x``: the operand that follows at once is excluded; ``-(`` excludes the next atom."""
    if lx.text[lx.pos] not in "-!":
        return False
    lx.pos += 1
    if lx.pos >= len(lx.text) or lx.text[lx.pos] == " ":
        lx.warn("忽略了单独的“-”（排除词应紧跟在减号后面，如 -校外培训）")
    elif lx.text[lx.pos] == "(":
        lx.emit("not")
    else:
        _operand(lx, negated=True)
    return True


def _quoted(lx: _Lexer, negated: bool) -> bool:
    """``"…"`` (and “…”, 「…」, 『…』): a phrase; an unclosed quote is skipped and the rest read as words."""
    if lx.text[lx.pos] not in _OPEN_QUOTES:
        return False
    end = _closing_quote(lx.text, lx.pos)
    if end == -1:
        lx.warn("引号不成对，已按普通词处理")
        lx.pos += 1
        return True
    phrase = lx.text[lx.pos + 1 : end].strip()
    lx.pos = end + 1
    if phrase:
        lx.emit("atom", Phrase(phrase), negated)
    else:
        lx.warn("忽略了空的引号")
    return True


def _operator(lx: _Lexer, negated: bool) -> bool:
    """OR (``|``, ``||``), NOT, and AND (``&&``), which is what juxtaposition means anyway."""
    token = lx.bare_token()
    kind = _OPERATORS.get(token)
    if kind is None:
        return False
    lx.pos += len(token)
    if kind != "and":
        lx.emit(kind)
    return True


def _field(lx: _Lexer, negated: bool) -> bool:
    """``year:…`` and ``title:…``; any other ``name:`` is left to the word tagger."""
    token = lx.bare_token()
    m = _FIELD.match(token)
    if m is None or m.group(1).lower() not in ("year", "title"):
        return False
    lx.pos += len(token)
    value = m.group(2)
    if m.group(1).lower() == "year":
        _year_field(lx, value, negated)
    else:
        _title_field(lx, value, negated)
    return True


def _year_field(lx: _Lexer, value: str, negated: bool) -> None:
    previous_not = bool(lx.out) and lx.out[-1].kind == "not"
    if not (negated or previous_not):
        _year(value, lx.result)
        return
    if previous_not:
        lx.out.pop()
    lx.warn(f"不支持排除年份“year:{value}”，已忽略（可用 year:起..止 指定范围）")


def _title_field(lx: _Lexer, value: str, negated: bool) -> None:
    # `title:"…"`: the bare token stopped at the quote, which opens the title phrase.
    if not value and lx.pos < len(lx.text) and lx.text[lx.pos] in _OPEN_QUOTES:
        end = _closing_quote(lx.text, lx.pos)
        if end != -1:
            phrase = lx.text[lx.pos + 1 : end].strip()
            lx.pos = end + 1
            if phrase:
                lx.emit("atom", Phrase(phrase, "title"), negated)
            return
    word = value.strip('"')
    if word:
        lx.emit("atom", Word(word, "title"), negated)
    else:
        lx.warn("“title:” 后面没有内容，已忽略")


def _word(lx: _Lexer, negated: bool) -> bool:
    """Anything else up to a space or parenthesis is a word (stray ASCII quotes at its ends dropped)."""
    token = lx.bare_token()
    lx.pos += len(token)
    word = token.strip('"')
    if word:
        lx.emit("atom", Word(word), negated)
    return True


_OPERATORS = {"OR": "or", "|": "or", "||": "or", "NOT": "not", "AND": "and", "&&": "and"}
# Tried in order at each position; the first that reads something wins.
_OPERAND_TAGGERS = (_quoted, _operator, _field, _word)


def _operand(lx: _Lexer, negated: bool) -> None:
    for tagger in _OPERAND_TAGGERS:
        if tagger(lx, negated):
            return


def _lex(text: str, result: ParsedQuery) -> list[_Lexeme]:
    """Split the query into lexemes, one tagger per syntax (as whoosh's qparser taggers)."""
    lx = _Lexer(text, result)
    while lx.pos < len(text):
        if not (_space(lx) or _parenthesis(lx) or _minus(lx)):
            _operand(lx, negated=False)
    if lx.depth != 0:
        result.warnings.append("括号不成对，已忽略括号")
    return lx.out


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
    # A repeat changes only the work ("a OR a" is a, "a a" is a, "-a -a" is -a): each is
    # kept once, so a pasted or padded query costs what its distinct words cost.
    groups = list(dict.fromkeys(tuple(dict.fromkeys(g)) for g in result.groups))
    result.groups = [list(g) for g in groups]
    result.excluded = list(dict.fromkeys(result.excluded))
