"""Query tree (`search_app.query`) → tantivy queries, plus what to highlight.

Built with tantivy's query builders, never its string parser, so no user input can make
query construction fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tantivy

from search_app.highlight import MatchSpec
from search_app.query import Atom, ParsedQuery, Phrase, Word
from search_app.synonyms import SynonymTable, load_synonyms
from speechindex import schema as S
from speechindex.analysis import get_analyzer

Occur = tantivy.Occur

TITLE_BOOST = 3.0
# With several query words, a title holding one of them must not outrank a body holding all of
# them side by side: per-word title credit drops, and a title holding every word earns TITLE_ALL.
MULTI_TITLE_BOOST = 1.2
HEADING_BOOST = 2.0
ADJACENT_BOOST = 0.5  # extra credit when a multi-term word appears exactly as typed
EXPANSION_SCORE = 0.4  # constant score of a synonym-only match: always below a literal match
# Proximity of the query's words, as constant bonuses so a long section (a report's 一、 part)
# earns them as easily as a short one: (character slop, bonus), cumulative. Slop 0 is the query
# as one phrase, 6 a few characters apart (高考综合改革), 12 about one clause; tantivy's slop is a
# total budget and, when large enough, tolerates reversed order (普惠性学前教育).
# Tuned on bench/judgments (mixed and speech sets).
PROXIMITY = ((0, 3.0), (6, 3.0), (12, 6.0))
TITLE_ALL = 3.0
MAX_PROXIMITY_CHARS = 24  # longer inputs are sentences: their words are not expected side by side
# Query-time stop words: requiring them would only drop short sections that lack them.
STOP_TERMS = frozenset("的 了 和 与 及 是 在 对 把 为 等 之 也 就 都 而 并 以及 及其 或 其".split())


@dataclass
class Compiled:
    """A compiled query: the positive part, exclusions, year range, and highlight spec."""

    positive: list[tantivy.Query] = field(default_factory=list)
    excluded: list[tantivy.Query] = field(default_factory=list)
    boosts: list[tantivy.Query] = field(default_factory=list)  # ranking only: never change the match set
    year_range: tantivy.Query | None = None
    spec: MatchSpec = field(default_factory=lambda: MatchSpec(frozenset(), ()))
    expanded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def browse(self) -> bool:
        """No positive clause: list everything that passes the filters."""
        return not self.positive


class QueryCompiler:
    """Turns parsed queries into tantivy queries for one index schema."""

    def __init__(self, schema: tantivy.Schema, synonyms: SynonymTable | None = None) -> None:
        self.schema = schema
        self.analyzer = get_analyzer()
        self._synonyms = synonyms

    @property
    def synonyms(self) -> SynonymTable:
        """The synonym table (re-read when its file changes, unless one was given)."""
        return self._synonyms or load_synonyms()

    def compile(self, parsed: ParsedQuery) -> Compiled:
        """Compile a parsed query; warnings say what was ignored."""
        out = Compiled(warnings=list(parsed.warnings))
        spec = _SpecBuilder()
        multi = len(parsed.groups) > 1
        for group in parsed.groups:
            alternatives = []
            for atom in group:
                q = self._atom(atom, out, spec, expand=True, multi=multi)
                if q is not None:
                    alternatives.append(q)
            if len(alternatives) == 1:
                out.positive.append(alternatives[0])
            elif alternatives:
                out.positive.append(tantivy.Query.boolean_query([(Occur.Should, q) for q in alternatives]))
        for atom in parsed.excluded:
            q = self._atom(atom, out, _SpecBuilder(), expand=False, multi=False)
            if q is not None:
                out.excluded.append(q)
        if parsed.year_from is not None or parsed.year_to is not None:
            out.year_range = tantivy.Query.range_query(
                self.schema, S.F_YEAR, tantivy.FieldType.Integer, parsed.year_from, parsed.year_to
            )
        out.boosts = self._proximity(parsed) + self._title_cover(parsed)
        out.expanded = list(dict.fromkeys(out.expanded))
        out.spec = spec.build()
        return out

    def _proximity(self, parsed: ParsedQuery) -> list[tantivy.Query]:
        """Bonuses for the query's words close together, in the order typed (whole query as a phrase highest)."""
        singles = [g[0] for g in parsed.groups if len(g) == 1 and g[0].field == "all"]
        if len(singles) < 2:
            return []
        chars = [self.compact(a.text) for a in singles]
        if not all(chars) or sum(map(len, chars)) > MAX_PROXIMITY_CHARS:
            return []
        sequence: list[str | tuple[int, str]] = list("".join(chars))
        return [
            tantivy.Query.const_score_query(tantivy.Query.phrase_query(self.schema, S.F_CHARS, sequence, slop), bonus)
            for slop, bonus in PROXIMITY
        ]

    def _title_cover(self, parsed: ParsedQuery) -> list[tantivy.Query]:
        """A bonus for a title that holds every query word, not one of them."""
        words = [g[0] for g in parsed.groups if len(g) == 1 and isinstance(g[0], Word) and g[0].field == "all"]
        if len(words) < 2 or len(words) != len(parsed.groups):
            return []
        terms = [t for w in words for t in self._kept(w.text)]
        if not terms:
            return []
        every = tantivy.Query.boolean_query(
            [(Occur.Must, tantivy.Query.term_query(self.schema, S.F_TITLE, t)) for t in dict.fromkeys(terms)]
        )
        return [tantivy.Query.const_score_query(every, TITLE_ALL)]

    def compact(self, text: str) -> str:
        """Normalised text without whitespace: the character sequence a phrase must match."""
        return "".join(self.analyzer.char_text(text).split())

    def _kept(self, text: str) -> list[str]:
        all_terms = self.analyzer.terms(text, "query")
        return [t for t in all_terms if t not in STOP_TERMS] or all_terms

    def _atom(self, atom: Atom, out: Compiled, spec: _SpecBuilder, expand: bool, multi: bool) -> tantivy.Query | None:
        title_only = atom.field == "title"
        if isinstance(atom, Phrase):
            chars = self.compact(atom.text)
            if not chars:
                out.warnings.append(f"忽略了空短语“{atom.text}”")
                return None
            spec.phrases.append(chars)
            return self._chars(chars, S.F_TITLE_CHARS if title_only else S.F_CHARS)
        return self._word(atom, out, spec, expand, multi)

    def _word(self, word: Word, out: Compiled, spec: _SpecBuilder, expand: bool, multi: bool) -> tantivy.Query | None:
        """All of the word's terms (word-level, each or-ed with its own expansions); or the word's exact characters."""
        title_only = word.field == "title"
        kept = self._kept(word.text)
        if not kept:
            out.warnings.append(f"忽略了“{word.text}”（没有可检索的字或词）")
            return None
        chars = self.compact(word.text)
        whole = self._expansions(word.text) if expand else []
        # Expansions belong to a term, never to a longer input around it.
        per_term = {t: self._expansions(t) for t in dict.fromkeys(kept)} if expand and len(kept) > 1 else {}
        token_clauses = []
        for term in dict.fromkeys(kept):
            q = self._term(term, title_only, multi)
            alts = [a for alt in per_term.get(term, []) if (a := self._expansion(term, alt, title_only, out, spec)) is not None]
            token_clauses.append(tantivy.Query.boolean_query([(Occur.Should, q), *((Occur.Should, a) for a in alts)]) if alts else q)
        literal = token_clauses[0] if len(token_clauses) == 1 else tantivy.Query.boolean_query(
            [(Occur.Must, q) for q in token_clauses]
        )
        options = [(Occur.Should, literal)]
        if len(kept) > 1 and len(chars) > 1:
            # Exactly as typed, even where the text segments differently: matches, and ranks higher.
            spec.units.append((chars, tuple(kept)))
            exact = self._chars(chars, S.F_TITLE_CHARS if title_only else S.F_CHARS)
            options.append((Occur.Should, tantivy.Query.boost_query(exact, ADJACENT_BOOST)))
        else:
            spec.terms.update(kept)
        for alt in whole:
            expansion = self._expansion(word.text, alt, title_only, out, spec)
            if expansion is not None:
                options.append((Occur.Should, expansion))
        if len(options) == 1:
            return literal
        return tantivy.Query.boolean_query(options)

    def _expansion(self, source: str, alt: str, title_only: bool, out: Compiled, spec: _SpecBuilder) -> tantivy.Query | None:
        """A synonym matched at word boundaries: its analyzer terms, side by side when it has several."""
        terms = self._kept(alt)
        alt_chars = self.compact(alt)
        if not terms or not alt_chars or alt_chars == self.compact(source):
            return None
        out.expanded.append(f"{source} → {alt}")
        words = [self._term(t, title_only, False) for t in dict.fromkeys(terms)]
        if len(terms) == 1:
            spec.terms.update(terms)
            q = words[0]
        else:
            spec.phrases.append(alt_chars)
            chars = self._chars(alt_chars, S.F_TITLE_CHARS if title_only else S.F_CHARS)
            q = tantivy.Query.boolean_query([(Occur.Must, w) for w in (*words, chars)])
        return tantivy.Query.const_score_query(q, EXPANSION_SCORE)

    def _expansions(self, text: str) -> list[str]:
        return list(dict.fromkeys(self.synonyms.expansions(text)))

    def _term(self, term: str, title_only: bool, multi: bool = False) -> tantivy.Query:
        if title_only:
            return tantivy.Query.term_query(self.schema, S.F_TITLE, term)
        title_boost = MULTI_TITLE_BOOST if multi else TITLE_BOOST
        return tantivy.Query.disjunction_max_query(
            [
                tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, S.F_TITLE, term), title_boost),
                tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, S.F_HEADING, term), HEADING_BOOST),
                tantivy.Query.term_query(self.schema, S.F_BODY, term),
            ],
            0.1,
        )

    def _chars(self, chars: str, field_name: str) -> tantivy.Query:
        if len(chars) == 1:
            return tantivy.Query.term_query(self.schema, field_name, chars)
        return tantivy.Query.phrase_query(self.schema, field_name, list(chars))


@dataclass
class _SpecBuilder:
    """Collects what to highlight while a query compiles."""

    terms: set[str] = field(default_factory=set)
    phrases: list[str] = field(default_factory=list)
    units: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def build(self) -> MatchSpec:
        return MatchSpec(
            frozenset(self.terms),
            tuple(dict.fromkeys(p for p in self.phrases if p)),
            tuple(dict.fromkeys(self.units)),
        )
