"""The collection's own vocabulary, for search-box suggestions: words, headings and titles with document counts.

Each document contributes the set of its candidate terms once (so counts are documents,
not occurrences): the analyzer's words of two or more characters with a Han character in
them (dictionary words and domain terms such as 集团化办学), and the short headings and
titles as whole phrases (numbering stripped), so that a prefix can complete a full name.
The per-document sets and every term's document count are kept in the document store, so
that an incremental reindex subtracts a dropped file's sets and adds the new ones without
re-reading or recounting the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from speechindex.analysis import get_analyzer

MIN_WORD_CHARS = 2
MAX_WORD_CHARS = 12
MIN_PHRASE_CHARS = 4
MAX_PHRASE_CHARS = 40
# Words used by a single document are mostly segmentation noise; phrases (titles, headings) are kept at 1.
MIN_WORD_DOCS = 2
MAX_TERMS = 300_000
STRADDLE_SHARE = 0.9

_HAN = re.compile(r"[\u3400-\u9fff]")
# Leading numbering of a heading: 一、 （三） 3. 第二章 第十条 …
_NUMBERING = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百零〇\d]+[章节条部分篇]|[（(][一二三四五六七八九十百零〇\d]+[)）]|[一二三四五六七八九十百零〇\d]+[、.．])\s*"
)
_TRAILING = re.compile(r"[\s。：:；;，,、]+$")
_WHITESPACE = re.compile(r"\s+")
# A phrase carrying a date (新闻联播 2022-09-24, one title per broadcast) names one document, not a term.
_DATED = re.compile(r"\d{4}\s*[-./年]\s*\d{1,2}")
PHRASE_MARK = "\x01"  # prefixes a phrase in the stored sets (a word never starts with a control character)


def _phrase(text: str) -> str | None:
    """A heading or title as a suggestion: normalised, numbering and trailing punctuation stripped."""
    text = _WHITESPACE.sub(" ", _TRAILING.sub("", _NUMBERING.sub("", text or ""))).strip()
    if not MIN_PHRASE_CHARS <= len(text) <= MAX_PHRASE_CHARS or not _HAN.search(text) or _DATED.search(text):
        return None
    return get_analyzer().normalize(text).text


def document_terms(word_lists: Iterable[list[str]], title: str, headings: Iterable[str]) -> list[str]:
    """The candidate suggestion terms of one analysed document (each once; phrases marked).

    `word_lists` are the document's index terms (title, headings, bodies:
    `Analyzer.index_fields(...).words`); computed in the indexing workers, so the parent only
    stores the result.
    """
    seen: set[str] = set()
    for words in word_lists:
        seen.update(words)
    kept = {t for t in seen if MIN_WORD_CHARS <= len(t) <= MAX_WORD_CHARS and _HAN.search(t)}
    phrases = {_phrase(title), *(_phrase(h) for h in headings)} - {None}
    return sorted(kept) + sorted(PHRASE_MARK + p for p in phrases if p and p not in kept)


def suggestion_rows(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """(term, documents) of the vocabulary, most used first, from every term's document count.

    Rare words and the long tail are dropped. The counts are kept up to date by the reindex
    (added documents' terms added, removed ones' subtracted), so this costs the same whatever
    changed: a pass over the distinct terms, not over the documents.
    """
    # jieba's search mode also emits dictionary words that straddle a long word (社会主义 → 会主):
    # such a word, nearly always used inside the longer one, is not a term of its own.
    straddling = set()
    for term, docs in counts.items():
        if term.startswith(PHRASE_MARK):
            continue
        for i in range(1, len(term) - 2):
            for size in (2, 3):
                inner = term[i : i + size]
                if i + size < len(term) and docs >= STRADDLE_SHARE * counts.get(inner, 0):
                    straddling.add(inner)
    rows = []
    for term, docs in counts.items():
        if term in straddling:
            continue
        if term.startswith(PHRASE_MARK):
            rows.append((term[1:], docs))
        elif docs >= MIN_WORD_DOCS:
            rows.append((term, docs))
    merged: dict[str, int] = {}
    for text, docs in rows:
        merged[text] = max(docs, merged.get(text, 0))
    return sorted(merged.items(), key=lambda r: (-r[1], r[0]))[:MAX_TERMS]
