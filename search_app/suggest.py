"""Search-box suggestions from the vocabulary the indexer stored with the generation (`indexer.vocabulary`).

The whole vocabulary (a few hundred thousand terms at most) is held as one newline-joined
string in document-count order, so that a lookup is a few `str.find` calls in C: terms that
start with the prefix come first, then terms that contain it, each group most used first.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from speechindex.analysis import get_analyzer
from speechindex.errors import QueryError

MAX_PREFIX_CHARS = 50
MAX_SUGGESTIONS = 10


class Vocabulary:
    """(text, documents) rows, most used first, searchable by prefix and substring."""

    def __init__(self, rows: list[tuple[str, int]]) -> None:
        self.texts = [text for text, _ in rows]
        self.docs = [docs for _, docs in rows]
        self.blob = "\n" + "\n".join(self.texts) + "\n"
        self.starts: list[int] = []
        pos = 1
        for text in self.texts:
            self.starts.append(pos)
            pos += len(text) + 1

    def __len__(self) -> int:
        return len(self.texts)

    def lookup(self, prefix: str, limit: int = MAX_SUGGESTIONS) -> list[dict[str, Any]]:
        """Up to `limit` {"text", "docs"}: starting with the (normalised) prefix first, then containing it.

        An empty prefix gives no suggestions; one over MAX_PREFIX_CHARS characters is a QueryError.
        """
        if len(prefix) > MAX_PREFIX_CHARS:
            raise QueryError(f"补全前缀过长：最多 {MAX_PREFIX_CHARS} 个字符（当前 {len(prefix)}）")
        needle = get_analyzer().normalize(prefix.strip()).text.replace("\n", " ")
        limit = max(0, min(limit, MAX_SUGGESTIONS))
        if not needle or not self.texts or not limit:
            return []
        found: list[int] = self._find("\n" + needle, 1, limit, set())
        if len(found) < limit:
            found += self._find(needle, 0, limit - len(found), set(found))
        return [{"text": self.texts[i], "docs": self.docs[i]} for i in found]

    def _find(self, needle: str, shift: int, limit: int, skip: set[int]) -> list[int]:
        """Indexes of the first `limit` terms (in count order) whose text holds `needle`."""
        out: list[int] = []
        pos = self.blob.find(needle)
        while pos >= 0 and len(out) < limit:
            i = bisect_right(self.starts, pos + shift) - 1
            if i not in skip and i not in out:
                out.append(i)
            # Continue after this term: one term is listed once however often it holds the needle.
            pos = self.blob.find(needle, self.starts[i] + len(self.texts[i]))
        return out
