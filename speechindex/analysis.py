"""THE analyzer, shared by the indexer and the search side: normalise, 繁→简, segment.

Pipeline, applied to the original text without ever losing track of where each
character came from:

1. Unicode NFKC (full-width ５Ｇ → 5G, circled digits, compatibility forms) and lower-case;
2. traditional → simplified, variant characters included (OpenCC ``t2s``: 學校敎育 → 学校教育);
3. Chinese-numeral years read as digits (一九五三年 → 1953年, 二〇二三年 → 2023年);
4. segmentation with jieba's model and dictionary plus the domain dictionary
   (``speechindex/data/domain_dict.txt``), run through ``rjieba`` (jieba-rs, same model, ~10× faster).

Every token carries character offsets into the ORIGINAL text, so highlights land on the
characters the user reads, never on a re-joined segmented string.

Index time uses jieba's "search" mode (a long word also emits the dictionary words inside
it: 集团化办学 → 集团, 集团化, 办学, 集团化办学) and query time the default mode, as
Elasticsearch's IK does with ik_max_word / ik_smart: every default-mode token of a text is
also a search-mode token of that text, so a query word always finds the text it came from.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import opencc
import rjieba

ANALYZER_VERSION = "2"
DATA_DIR = Path(__file__).with_name("data")
DOMAIN_DICT_PATH = DATA_DIR / "domain_dict.txt"

# Chinese numerals of written years (二〇二三年); the readers' date parsing uses the same table.
CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_DIGITS = str.maketrans({char: str(n) for char, n in CN_DIGITS.items()})
_CN_YEAR = re.compile(f"[{''.join(CN_DIGITS)}]{{4}}(?=年)")
# A token is indexed only if it has a letter or digit: punctuation and spaces are dropped.
_WORDLIKE = re.compile(r"\w")
_FULLWIDTH = re.compile("[\uff01-\uff5e\u3000]")
# Combining marks can shrink under NFKC while another character grows: then lengths agree by accident.
_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f]")
# jieba's search mode only adds 2- and 3-character words found inside a long word.
_LONG_INNER = 4
# Words whose sub-word plan is remembered (a corpus has a few hundred thousand distinct long words).
_PLAN_CACHE_SIZE = 500_000


@dataclass(frozen=True, slots=True)
class Token:
    """A normalised term and the [start, end) character span it came from in the original text."""

    term: str
    start: int
    end: int


class IndexedText(NamedTuple):
    """A text as the index takes it (`Analyzer.index_fields`)."""

    terms: str  # index-mode terms, space-joined: the word fields' input
    norm: str  # the normalised text: the character field's (speechindex.schema.char_field_text)
    words: list[str]  # the same terms as a list (the suggestion vocabulary counts them)


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalised text plus, for each of its characters, the index of the original character.

    ``origin`` is None when the mapping is the identity (the common case: same length).
    """

    text: str
    origin: list[int] | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text back to the original text."""
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1


class Analyzer:
    """Normalisation + segmentation; one instance per process (see `get_analyzer`)."""

    def __init__(self, domain_dict: Path = DOMAIN_DICT_PATH) -> None:
        self.domain_dict = domain_dict
        self._t2s = opencc.OpenCC("t2s")
        self._lock = threading.Lock()
        # A private segmenter: jieba's dictionary plus this analyzer's domain dictionary only.
        self._jieba = rjieba.Jieba()
        self._gram_plans: dict[str, tuple[list[str], list[str] | None]] = {}
        self._inner_plans: dict[str, list[str]] = {}
        for word, freq, tag in read_user_dict(domain_dict):
            self._jieba.add_word(word, freq, tag)

    @property
    def segmenter(self) -> rjieba.Jieba:
        """The rjieba segmenter with the domain dictionary loaded (for benchmarks and tests)."""
        return self._jieba

    @cached_property
    def dictionary_hash(self) -> str:
        """SHA-256 of the domain dictionary: part of the index manifest."""
        return hashlib.sha256(self.domain_dict.read_bytes()).hexdigest()[:16]

    @property
    def version(self) -> str:
        """Analyzer identity recorded in the index manifest."""
        return f"{ANALYZER_VERSION}+{self.dictionary_hash}"

    def normalize(self, text: str) -> Normalized:
        """NFKC + lower-case + 繁→简 + numeral years, keeping a map back to the original."""
        origin: list[int] | None = None
        # Fast path: full-width ASCII and U+3000 are most of what NFKC changes in Chinese text;
        # when mapping them leaves nothing else to normalise, skip the (3x slower) full NFKC.
        norm = _fold_fullwidth(text)
        if unicodedata.is_normalized("NFKC", norm):
            norm = norm.lower()
        else:
            norm = unicodedata.normalize("NFKC", text).lower()
        if len(norm) != len(text) or _COMBINING.search(text):
            norm, origin = self._normalize_per_char(text)
        simp = self._t2s.convert(norm)
        if len(simp) != len(norm):
            # A phrase conversion changed the length: convert character by character instead.
            simp = "".join(self._t2s.convert(ch) if len(self._t2s.convert(ch)) == 1 else ch for ch in norm)
        if "年" in simp:
            simp = _CN_YEAR.sub(lambda m: m.group(0).translate(_CN_DIGITS), simp)
        return Normalized(simp, origin)

    @staticmethod
    def _normalize_per_char(text: str) -> tuple[str, list[int]]:
        # Each distinct character is normalised once: a text has a few thousand of them.
        table = {ch: unicodedata.normalize("NFKC", ch).lower() if ord(ch) > 127 else ch.lower() for ch in set(text)}
        pieces = [table[ch] for ch in text]
        origin = [i for i, piece in enumerate(pieces) for _ in piece]
        return "".join(pieces), origin

    def tokens(self, text: str, mode: str = "index") -> list[Token]:
        """Word tokens of `text`: ``mode="index"`` (fine-grained, overlapping) or ``"query"``."""
        norm = self.normalize(text)
        out = []
        for word, start, end in self.segment_normalized(norm.text, mode):
            s, e = norm.span(start, end)
            out.append(Token(word, s, e))
        return out

    def segment_normalized(self, norm: str, mode: str = "index") -> list[tuple[str, int, int]]:
        """(term, start, end) of already-normalised text, offsets into `norm`; punctuation dropped."""
        with self._lock:  # rjieba is not documented as thread-safe
            raw = self._jieba.tokenize(norm, "search" if mode == "index" else "default", True)
            if mode == "index":
                raw = _drop_crossing_spans(raw)
                raw.extend(self._inner_words(raw))
        return [(word.strip(), start, end) for word, start, end in raw if _is_wordlike(word)]

    def _inner_words(self, raw: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        """Dictionary words of 4+ characters inside longer words (义务教育 in 义务教育优质均衡)."""
        extra = []
        for word, start, _ in raw:
            n = len(word)
            if n <= _LONG_INNER or n > 16:  # longer "words" are digit/Latin runs, not phrases
                continue
            for size in range(_LONG_INNER, n):
                for i in range(n - size + 1):
                    sub = word[i : i + size]
                    if self._jieba.has_word(sub):
                        extra.append((sub, start + i, start + i + size))
        return extra

    def _inner_plan(self, word: str) -> list[str]:
        """`_inner_words` of one word, without offsets; cached as `_gram_plan` is."""
        plan = self._inner_plans.get(word)
        if plan is None:
            plan = [sub for sub, _, _ in self._inner_words([(word, 0, 0)])]
            if len(self._inner_plans) >= _PLAN_CACHE_SIZE:
                self._inner_plans.clear()
            self._inner_plans[word] = plan
        return plan

    def _drop_crossing_words(self, words: list[str], crossing: set[str]) -> list[str]:
        """`_drop_crossing_spans` for jieba's search-mode word list, which has no offsets.

        For a word of 4+ characters jieba emits, just before it, its dictionary 2-grams then
        3-grams in position order; recomputing them gives their positions. `crossing`: the
        words whose plan drops some (the others are passed over).
        """
        out: list[str] = []
        done = 0
        for i in [i for i, word in enumerate(words) if len(word) >= _LONG_INNER and word in crossing]:
            out.extend(words[done:i])
            grams, kept = self._gram_plan(words[i])
            if kept is not None and out[len(out) - len(grams) :] == grams:
                del out[len(out) - len(grams) :]
                out.extend(kept)
            out.append(words[i])
            done = i + 1
        out.extend(words[done:])
        return out

    def _gram_plan(self, word: str) -> tuple[list[str], list[str] | None]:
        """(the 2/3-grams jieba emits before `word`, those kept or None when none crosses a joint).

        Cached: the same words recur throughout a corpus, and has_word calls dominate otherwise.
        """
        plan = self._gram_plans.get(word)
        if plan is None:
            n = len(word)
            found = [(word[i : i + k], i) for k in (2, 3) for i in range(n - k + 1) if self._jieba.has_word(word[i : i + k])]
            drop = _crossing({(i, i + len(g)) for g, i in found}, n) if found else set()
            kept = [g for g, i in found if (i, i + len(g)) not in drop] if drop else None
            plan = ([g for g, _ in found], kept)
            if len(self._gram_plans) >= _PLAN_CACHE_SIZE:
                self._gram_plans.clear()
            self._gram_plans[word] = plan
        return plan

    def terms(self, text: str, mode: str = "query") -> list[str]:
        """Just the normalised terms of `text`, in order."""
        return [t.term for t in self.tokens(text, mode)]

    def index_text(self, text: str) -> str:
        """Space-joined index-mode terms, fed to the whitespace-tokenised word fields.

        Same terms as `tokens(text, "index")`, without computing offsets (the indexing hot path).
        """
        return " ".join(self._index_words(self.normalize(text).text))

    def index_fields(self, text: str) -> IndexedText:
        """`index_text` (also as a list of words) and `char_text` of the same text, normalising it once."""
        norm = self.normalize(text).text
        words = self._index_words(norm)
        return IndexedText(" ".join(words), norm, words)

    def _index_words(self, norm: str) -> list[str]:
        with self._lock:
            words = self._jieba.cut_for_search(norm, True)
            # Each distinct word of 4+ characters is looked at once: most tokens are shorter,
            # and most long words have nothing to drop or add.
            # (A set of every word would hash them all: the long ones are few.)
            long_words = {w for w in words if len(w) >= _LONG_INNER}
            crossing = {w for w in long_words if self._gram_plan(w)[1] is not None}
            if crossing:
                words = self._drop_crossing_words(words, crossing)
            inner_of = {w: plan for w in long_words if len(w) > _LONG_INNER and (plan := self._inner_plan(w))}
        inner = [sub for w in words if len(w) > _LONG_INNER and w in inner_of for sub in inner_of[w]] if inner_of else []
        # Punctuation and whitespace tokens are dropped here: a token of letters or digits is
        # kept whole, as `segment_normalized` does (a regex over the joined string cost 5× more).
        return [w for w in (*words, *inner) if w.isalnum() or _WORDLIKE.search(w)]

    def char_text(self, text: str) -> str:
        """Normalised text for the character field (one token per non-space character)."""
        return self.normalize(text).text


def _fold_fullwidth(text: str) -> str:
    """Full-width ASCII (U+FF01–FF5E) and the ideographic space as their ASCII forms.

    One `str.replace` per distinct full-width character found: Chinese text uses a handful
    (，：；（）), and `str.translate` looks every character up in a mapping (4× slower here).
    """
    for char in set(_FULLWIDTH.findall(text)):
        text = text.replace(char, " " if char == "\u3000" else chr(ord(char) - 0xFEE0))
    return text


def _crossing(spans: set[tuple[int, int]], n: int) -> set[tuple[int, int]]:
    """Sub-word spans of an n-character word that straddle the joint of its two halves.

    When two of the word's dictionary sub-words tile it exactly (兼职 + 教师 = 兼职教师), a
    third one across their joint (职教) is an accident of the characters: indexing it would
    let 职教 match every 兼职教师. Nothing else is dropped.
    """
    starts = {b for a, b in spans if a == 0}
    joints = {a for a, b in spans if b == n and a in starts}
    return {(a, b) for a, b in spans if a != 0 and b != n and any(a < k < b for k in joints)}


def _drop_crossing_spans(raw: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Search-mode tokens without the sub-words that cross a boundary inside their word (see `_crossing`)."""
    drop: set[int] = set()
    for k, (_word, start, end) in enumerate(raw):
        if end - start < 4:
            continue
        j = k - 1
        while j >= 0 and start <= raw[j][1] and raw[j][2] <= end and (raw[j][1], raw[j][2]) != (start, end):
            j -= 1
        subs = {(raw[i][1] - start, raw[i][2] - start): i for i in range(j + 1, k)}
        drop.update(subs[span] for span in _crossing(set(subs), end - start))
    return [t for i, t in enumerate(raw) if i not in drop] if drop else raw


def _is_wordlike(word: str) -> bool:
    """A token is indexed only if it has a letter or digit: punctuation and spaces are dropped."""
    return word.isalnum() or _WORDLIKE.search(word) is not None


def read_user_dict(path: Path) -> list[tuple[str, int | None, str | None]]:
    """Entries of a jieba user dictionary (``word [freq] [tag]`` per line, ``#`` comments)."""
    entries: list[tuple[str, int | None, str | None]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        word = parts[0]
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        entries.append((word, freq, tag))
    return entries


_instance: Analyzer | None = None
_instance_lock = threading.Lock()


def get_analyzer() -> Analyzer:
    """The process-wide analyzer (loading the dictionaries costs about half a second)."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = Analyzer()
        return _instance
