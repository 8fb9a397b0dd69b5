"""Tag sections and documents with topics from an editable lexicon (``indexer/data/topics.toml``).

Every keyword, negative term and ignored phrase of the lexicon goes into one Aho-Corasick
automaton (leftmost-longest, in Rust), so a text is scanned once whatever the size of the
lexicon, and a longer phrase shields the words inside it ("大学区" keeps "大学" silent).

Section topics: each hit adds its keyword's weight to the topics that list it (a negative
term subtracts); a keyword with context words counts only when one of them stands within
``context_window`` characters before or after it. A section gets a topic when the score
reaches ``max(min_score, len(text) / chars_per_point)``, or when a full-weight keyword of
the topic (one without context words) appears in its heading.

A document gets only its main topics (the topic facet and filter use them). A topic's
weight in a document is share x score: the share of the text in the sections tagged with
it, times its summed section score. A main topic has ``share >= doc_min_share``, ``score
>= doc_min_score`` and ``weight >= doc_min_weight_ratio`` x the strongest topic's weight;
at most ``doc_max_topics``, strongest first. Breadth and intensity both count: a topic named
once in a long text is not main, nor is one dense paragraph of an otherwise unrelated law.

Evidence (why a topic was given) is kept per section as ``{topic: {"score", "terms",
"against", "out_of_context"}}``: the matched keywords with their counts, the negative terms,
and the keywords that were found but lacked their context.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import ahocorasick_rs

from indexer.models import Section

TOPICS_PATH = Path(__file__).with_name("data") / "topics.toml"

Evidence = dict[str, dict[str, Any]]  # topic -> {"score": float, "terms": {keyword: hits}, ...}


@dataclass(frozen=True, slots=True)
class Rule:
    """What one lexicon entry does for one topic: add `weight` (negative: subtract) per hit."""

    topic: int
    weight: float
    context: tuple[str, ...] = ()  # counts only next to one of these words; () = anywhere


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The compiled lexicon: topic names in order, the automaton and what each pattern scores."""

    topics: tuple[str, ...]
    automaton: ahocorasick_rs.AhoCorasick
    terms: tuple[str, ...]  # pattern index -> the pattern
    rules: tuple[tuple[Rule, ...], ...]  # pattern index -> rules; () for ignored phrases
    gated: frozenset[int]  # pattern indexes with at least one context rule
    min_score: float
    chars_per_point: float
    heading_min_weight: float
    context_window: int
    doc_min_share: float
    doc_min_score: float
    doc_min_weight_ratio: float
    doc_max_topics: int


@dataclass(slots=True)
class _Tally:
    score: float = 0.0
    terms: dict[str, int] = field(default_factory=dict)
    against: dict[str, int] = field(default_factory=dict)
    out_of_context: dict[str, int] = field(default_factory=dict)


def _context_words(value: str | list[str], sets: dict[str, list[str]], where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        if value not in sets:
            raise ValueError(f"{where}: unknown context set {value!r} (define it under [context_sets])")
        value = sets[value]
    return tuple(dict.fromkeys(value))


@cache
def load_lexicon(path: Path = TOPICS_PATH) -> Lexicon:
    """Read and compile topics.toml (cached per path); raises ValueError on an inconsistent file."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    scoring = data["scoring"]
    sets = data.get("context_sets", {})
    topics = tuple(data["topics"])
    rules: dict[str, list[Rule]] = {}
    for index, name in enumerate(topics):
        table = data["topics"][name]
        keywords = table["keywords"]
        weights = table.get("weights", {})
        context = table.get("context", {})
        for key, table_name in ((weights, "weights"), (context, "context")):
            unknown = set(key) - set(keywords)
            if unknown:
                raise ValueError(f"{path}: {table_name} for words not in {name}'s keywords: {sorted(unknown)}")
        for word in dict.fromkeys(keywords):
            words = _context_words(context[word], sets, f"{path} {name}.{word}") if word in context else ()
            rules.setdefault(word, []).append(Rule(index, float(weights.get(word, 1.0)), words))
        for word, penalty in table.get("negative", {}).items():
            rules.setdefault(word, []).append(Rule(index, -abs(float(penalty))))
    for word in data.get("ignore", {}).get("words", []):
        rules.setdefault(word, [])  # matched, so it shields the keywords inside it, but scores nothing
    terms = tuple(rules)
    return Lexicon(
        topics=topics,
        automaton=ahocorasick_rs.AhoCorasick(list(terms), matchkind=ahocorasick_rs.MatchKind.LeftmostLongest),
        terms=terms,
        rules=tuple(tuple(rules[t]) for t in terms),
        gated=frozenset(i for i, t in enumerate(terms) if any(r.context for r in rules[t])),
        min_score=float(scoring["min_score"]),
        chars_per_point=float(scoring["chars_per_point"]),
        heading_min_weight=float(scoring["heading_min_weight"]),
        context_window=int(scoring["context_window"]),
        doc_min_share=float(scoring["doc_min_share"]),
        doc_min_score=float(scoring["doc_min_score"]),
        doc_min_weight_ratio=float(scoring["doc_min_weight_ratio"]),
        doc_max_topics=int(scoring["doc_max_topics"]),
    )


TOPICS: tuple[str, ...] = load_lexicon().topics


def _tally(text: str, matches: list[tuple[int, int, int]], lex: Lexicon) -> dict[int, _Tally]:
    """The evidence per topic index from the automaton's matches in `text`."""
    counts = Counter(map(itemgetter(0), matches))
    near: Counter[tuple[int, int]] = Counter()  # (pattern, topic) -> hits with a context word nearby
    if not lex.gated.isdisjoint(counts):
        window = lex.context_window
        for idx, start, end in matches:
            if idx in lex.gated:
                before, after = text[max(0, start - window) : start], text[end : end + window]
                for rule in lex.rules[idx]:
                    if rule.context and any(w in before or w in after for w in rule.context):
                        near[idx, rule.topic] += 1
    tallies: dict[int, _Tally] = {}
    for idx, n in counts.items():
        term = lex.terms[idx]
        for rule in lex.rules[idx]:
            tally = tallies.get(rule.topic) or tallies.setdefault(rule.topic, _Tally())
            hits = near[idx, rule.topic] if rule.context else n
            if hits < n:
                tally.out_of_context[term] = n - hits
            if hits:
                tally.score += rule.weight * hits
                (tally.against if rule.weight < 0 else tally.terms)[term] = hits
    return tallies


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _evidence(tally: _Tally) -> dict[str, Any]:
    out: dict[str, Any] = {"score": round(tally.score, 2), "terms": _by_count(tally.terms)}
    if tally.against:
        out["against"] = _by_count(tally.against)
    if tally.out_of_context:
        out["out_of_context"] = _by_count(tally.out_of_context)
    return out


def explain_topics(text: str, heading: str = "") -> tuple[list[str], Evidence]:
    """The topics of a piece of text (taxonomy order) and the evidence for every topic with any."""
    lex = load_lexicon()
    matches = lex.automaton.find_matches_as_indexes(text)
    if not matches and not heading:
        return [], {}
    tallies = _tally(text, matches, lex)
    needed = max(lex.min_score, len(text) / lex.chars_per_point)
    tagged = {index for index, t in tallies.items() if t.score >= needed}
    evidence = {lex.topics[i]: _evidence(t) for i, t in sorted(tallies.items())}
    if heading:
        # A section's text starts with its heading: its matches are the first ones (no second scan).
        if text.startswith(heading):
            in_heading = [m for m in matches[:len(heading)] if m[2] <= len(heading)]
        else:
            in_heading = lex.automaton.find_matches_as_indexes(heading)
        for idx, _, _ in in_heading:
            for rule in lex.rules[idx]:
                section = tallies.get(rule.topic)
                if rule.context or rule.weight < lex.heading_min_weight or (section is not None and section.score < 0):
                    continue
                tagged.add(rule.topic)
                entry = evidence.setdefault(lex.topics[rule.topic], {"score": 0.0, "terms": {}})
                words = entry.setdefault("heading", [])
                if lex.terms[idx] not in words:
                    words.append(lex.terms[idx])
    return [lex.topics[index] for index in sorted(tagged)], evidence


def tag_topics(text: str, heading: str = "") -> list[str]:
    """The topics of a piece of text, in taxonomy order (see the module docstring for the rule)."""
    return explain_topics(text, heading)[0]


def assign_topics(sections: list[Section]) -> None:
    """Fill each section's ``topics`` and ``topic_evidence`` in place from its text and heading."""
    for section in sections:
        section.topics, section.topic_evidence = explain_topics(section.text, section.heading)


def _document_weights(sections: list[Section]) -> dict[str, tuple[float, float, float]]:
    """Per topic with any evidence: (share of the text in the sections tagged with it, summed score, weight)."""
    scores: Counter[str] = Counter()
    covered: Counter[str] = Counter()
    length = 0
    for section in sections:
        length += len(section.text)
        for topic, ev in section.topic_evidence.items():
            scores[topic] += ev["score"]
        for topic in section.topics:
            covered[topic] += len(section.text)
    out: dict[str, tuple[float, float, float]] = {}
    for topic in scores.keys() | covered.keys():
        share = covered[topic] / length if length else 1.0
        out[topic] = (share, scores[topic], share * scores[topic] if share else 0.0)
    return out


def document_topics(sections: list[Section]) -> list[str]:
    """A document's main topics, strongest first (see the module docstring for the rule)."""
    lex = load_lexicon()
    weights = _document_weights(sections)
    candidates = {t: w for t, (share, score, w) in weights.items() if share >= lex.doc_min_share and score >= lex.doc_min_score}
    if not candidates:
        return []
    needed = max(candidates.values()) * lex.doc_min_weight_ratio
    main = [t for t, w in candidates.items() if w >= needed]
    return sorted(main, key=lambda t: (-candidates[t], TOPICS.index(t)))[: lex.doc_max_topics]


def document_evidence(sections: list[Section]) -> Evidence:
    """Why the document has its topics: per topic with any evidence, strongest first, its summed
    score, the share of the text in its sections, the weight, the tagged sections and the terms."""
    weights = _document_weights(sections)
    merged: dict[str, dict[str, Any]] = {}
    for section in sections:
        for topic, ev in section.topic_evidence.items():
            entry = merged.setdefault(topic, {"sections": 0, "terms": Counter(), "against": Counter(), "out_of_context": Counter()})
            entry["sections"] += topic in section.topics
            for key in ("terms", "against", "out_of_context"):
                entry[key].update(ev.get(key, {}))
    out: Evidence = {}
    order = sorted(merged, key=lambda t: (-weights.get(t, (0.0, 0.0, 0.0))[2], TOPICS.index(t)))
    for topic in order:
        entry = merged[topic]
        share, score, weight = weights.get(topic, (0.0, 0.0, 0.0))
        out[topic] = {
            "score": round(score, 2),
            "share": round(share, 3),
            "weight": round(weight, 3),
            "sections": entry["sections"],
            "terms": dict(entry["terms"].most_common()),
        }
        for key in ("against", "out_of_context"):
            if entry[key]:
                out[topic][key] = dict(entry[key].most_common())
    return out
