"""Query tree (`search_app.query`) → tantivy queries, plus what to highlight.

Built with tantivy's query builders, never its string parser, so no user input can make
query construction fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tantivy

from indexer import schema as S
from indexer.analysis import get_analyzer
from search_app.highlight import MatchSpec
from search_app.query import Atom, ParsedQuery, Phrase, Word
from search_app.synonyms import SynonymTable, load_synonyms

Occur = tantivy.Occur

TITLE_BOOST = 3.0
HEADING_BOOST = 2.0
ADJACENT_BOOST = 0.5  # extra credit when a multi-term word appears exactly as typed
EXPANSION_SCORE = 0.4  # constant score of a synonym-only match: always below a literal match
# Query-time stop words: requiring them would only drop short sections that lack them.
STOP_TERMS = frozenset("的 了 和 与 及 是 在 对 把 为 等 之 也 就 都 而 并 以及 及其 或 其".split())


@dataclass
class Compiled:
    """A compiled query: the positive part, exclusions, year range, and highlight spec."""

    positive: list[tantivy.Query] = field(default_factory=list)
    excluded: list[tantivy.Query] = field(default_factory=list)
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
        terms: set[str] = set()
        phrases: list[str] = []
        for group in parsed.groups:
            alternatives = []
            for atom in group:
                q = self._atom(atom, out, terms, phrases, expand=True)
                if q is not None:
                    alternatives.append(q)
            if len(alternatives) == 1:
                out.positive.append(alternatives[0])
            elif alternatives:
                out.positive.append(tantivy.Query.boolean_query([(Occur.Should, q) for q in alternatives]))
        for atom in parsed.excluded:
            q = self._atom(atom, out, set(), [], expand=False)
            if q is not None:
                out.excluded.append(q)
        if parsed.year_from is not None or parsed.year_to is not None:
            out.year_range = tantivy.Query.range_query(
                self.schema, S.F_YEAR, tantivy.FieldType.Integer, parsed.year_from, parsed.year_to
            )
        out.spec = MatchSpec(frozenset(terms), tuple(dict.fromkeys(p for p in phrases if p)))
        return out

    def compact(self, text: str) -> str:
        """Normalised text without whitespace: the character sequence a phrase must match."""
        return "".join(self.analyzer.char_text(text).split())

    def _atom(self, atom: Atom, out: Compiled, terms: set[str], phrases: list[str], expand: bool) -> tantivy.Query | None:
        title_only = atom.field == "title"
        if isinstance(atom, Phrase):
            chars = self.compact(atom.text)
            if not chars:
                out.warnings.append(f"忽略了空短语“{atom.text}”")
                return None
            phrases.append(chars)
            return self._chars(chars, S.F_TITLE_CHARS if title_only else S.F_CHARS)
        return self._word(atom, out, terms, phrases, expand)

    def _word(self, word: Word, out: Compiled, terms: set[str], phrases: list[str], expand: bool) -> tantivy.Query | None:
        title_only = word.field == "title"
        all_terms = self.analyzer.terms(word.text, "query")
        kept = [t for t in all_terms if t not in STOP_TERMS] or all_terms
        if not kept:
            out.warnings.append(f"忽略了“{word.text}”（没有可检索的字或词）")
            return None
        terms.update(kept)
        token_clauses = [self._term(t, title_only) for t in dict.fromkeys(kept)]
        literal = token_clauses[0] if len(token_clauses) == 1 else tantivy.Query.boolean_query(
            [(Occur.Must, q) for q in token_clauses]
        )
        options = [(Occur.Should, literal)]
        chars = self.compact(word.text)
        if len(kept) > 1 and len(chars) > 1:
            # Exactly as typed, even where the text segments differently: matches, and ranks higher.
            phrases.append(chars)
            exact = self._chars(chars, S.F_TITLE_CHARS if title_only else S.F_CHARS)
            options.append((Occur.Should, tantivy.Query.boost_query(exact, ADJACENT_BOOST)))
        if expand:
            for alt in self._expansions(word.text, kept):
                alt_chars = self.compact(alt)
                if not alt_chars or alt_chars == chars:
                    continue
                phrases.append(alt_chars)
                out.expanded.append(f"{word.text} → {alt}")
                q = self._chars(alt_chars, S.F_TITLE_CHARS if title_only else S.F_CHARS)
                options.append((Occur.Should, tantivy.Query.const_score_query(q, EXPANSION_SCORE)))
        if len(options) == 1:
            return literal
        return tantivy.Query.boolean_query(options)

    def _expansions(self, text: str, kept: list[str]) -> list[str]:
        found = list(self.synonyms.expansions(text))
        if len(kept) > 1:
            for term in kept:
                found.extend(self.synonyms.expansions(term))
        return list(dict.fromkeys(found))

    def _term(self, term: str, title_only: bool) -> tantivy.Query:
        if title_only:
            return tantivy.Query.term_query(self.schema, S.F_TITLE, term)
        return tantivy.Query.disjunction_max_query(
            [
                tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, S.F_TITLE, term), TITLE_BOOST),
                tantivy.Query.boost_query(tantivy.Query.term_query(self.schema, S.F_HEADING, term), HEADING_BOOST),
                tantivy.Query.term_query(self.schema, S.F_BODY, term),
            ],
            0.1,
        )

    def _chars(self, chars: str, field_name: str) -> tantivy.Query:
        if len(chars) == 1:
            return tantivy.Query.term_query(self.schema, field_name, chars)
        return tantivy.Query.phrase_query(self.schema, field_name, list(chars))
