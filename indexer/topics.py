"""Tag sections with topics from an editable keyword lexicon (``indexer/data/topics.toml``).

All keywords of all topics are compiled into one alternation, longest first, so a section
is scanned once whatever the size of the lexicon; each hit adds the keyword's weight to
the topics that list it. A section gets a topic when the weighted hits reach
``max(min_score, len(text) / chars_per_point)``, or when a full-weight keyword of the
topic appears in its heading.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from indexer.models import Section

TOPICS_PATH = Path(__file__).with_name("data") / "topics.toml"


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The compiled taxonomy: topic names in order, and one regex over all keywords."""

    topics: tuple[str, ...]
    pattern: re.Pattern[str]
    hits: dict[str, tuple[tuple[int, float], ...]]  # keyword -> (topic index, weight) pairs; () if ignored
    min_score: float
    chars_per_point: float
    heading_min_weight: float


@cache
def load_lexicon(path: Path = TOPICS_PATH) -> Lexicon:
    """Read and compile topics.toml (cached per path)."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    scoring = data["scoring"]
    topics = tuple(data["topics"])
    hits: dict[str, list[tuple[int, float]]] = {}
    for index, name in enumerate(topics):
        table = data["topics"][name]
        keywords = table["keywords"]
        weights = table.get("weights", {})
        unknown = set(weights) - set(keywords)
        if unknown:
            raise ValueError(f"{path}: weights for words not in {name}'s keywords: {sorted(unknown)}")
        for word in dict.fromkeys(keywords):
            hits.setdefault(word, []).append((index, float(weights.get(word, 1.0))))
    for word in data.get("ignore", {}).get("words", []):
        hits.setdefault(word, [])  # matched, so it shields the keywords inside it, but scores nothing
    # Longest first: the regex engine takes the first alternative that matches at a
    # position, so "普惠性幼儿园" must be tried before "幼儿园".
    pattern = re.compile("|".join(map(re.escape, sorted(hits, key=len, reverse=True))))
    return Lexicon(
        topics=topics,
        pattern=pattern,
        hits={word: tuple(pairs) for word, pairs in hits.items()},
        min_score=float(scoring["min_score"]),
        chars_per_point=float(scoring["chars_per_point"]),
        heading_min_weight=float(scoring["heading_min_weight"]),
    )


TOPICS: tuple[str, ...] = load_lexicon().topics


def tag_topics(text: str, heading: str = "") -> list[str]:
    """The topics of a piece of text (in taxonomy order), scored as described above."""
    lex = load_lexicon()
    scores = [0.0] * len(lex.topics)
    for m in lex.pattern.finditer(text):
        for index, weight in lex.hits[m.group()]:
            scores[index] += weight
    needed = max(lex.min_score, len(text) / lex.chars_per_point)
    tagged = {index for index, score in enumerate(scores) if score >= needed}
    if heading:
        for m in lex.pattern.finditer(heading):
            tagged.update(index for index, weight in lex.hits[m.group()] if weight >= lex.heading_min_weight)
    return [lex.topics[index] for index in sorted(tagged)]


def assign_topics(sections: list[Section]) -> None:
    """Fill each section's ``topics`` in place from its text and heading."""
    for section in sections:
        section.topics = tag_topics(section.text, section.heading)
