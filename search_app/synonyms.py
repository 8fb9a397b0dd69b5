"""Query-time synonyms: equivalent policy terms and their short forms (双一流 ↔ 世界一流大学和一流学科).

The table lives in an editable data file (``search_app/data/synonyms.txt``, one comma-separated
group per line). It is applied when a query is compiled, never at index time, so an edit takes
effect on the next query: `load_synonyms` re-reads the file whenever its modification time changes.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from speechindex.analysis import get_analyzer

SYNONYMS_PATH = Path(__file__).with_name("data") / "synonyms.txt"

log = logging.getLogger(__name__)

# Editors type Chinese full-width commas as often as ASCII ones.
_SEPARATOR = re.compile(r"[,，]")


def _key(term: str) -> str:
    """The analyzer's normalised form: 義務教育, ＩＴ and it compare equal to 义务教育, it."""
    return get_analyzer().normalize(term.strip()).text


@dataclass(frozen=True)
class SynonymTable:
    """Groups of equivalent terms, each group's canonical full form first, in original spelling."""

    groups: tuple[tuple[str, ...], ...]

    @cached_property
    def _index(self) -> dict[str, tuple[int, ...]]:
        """Normalised term → indices of the groups that contain it."""
        index: dict[str, list[int]] = {}
        for i, group in enumerate(self.groups):
            for term in group:
                slots = index.setdefault(_key(term), [])
                if i not in slots:
                    slots.append(i)
        return {key: tuple(slots) for key, slots in index.items()}

    def expansions(self, term: str) -> list[str]:
        """The other members of every group containing `term` (compared normalised), in file order."""
        key = _key(term)
        out: list[str] = []
        for i in self._index.get(key, ()):
            for member in self.groups[i]:
                if _key(member) != key and member not in out:
                    out.append(member)
        return out


def parse_synonyms(text: str, source: str = "<synonyms>") -> SynonymTable:
    """Parse the synonym file format; a line with fewer than two terms is skipped with a warning."""
    groups: list[tuple[str, ...]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        terms = tuple(dict.fromkeys(t.strip() for t in _SEPARATOR.split(line) if t.strip()))
        if len(terms) < 2:
            # Warn rather than raise: the file is re-read by a running server, and one bad edit
            # must not break every query.
            log.warning("%s:%d: a synonym group needs at least two terms: %r", source, lineno, line)
            continue
        groups.append(terms)
    return SynonymTable(tuple(groups))


_cache: dict[Path, tuple[tuple[int, int], SynonymTable]] = {}
_cache_lock = threading.Lock()


def load_synonyms(path: Path | None = None) -> SynonymTable:
    """The synonym table of `path` (default ``search_app/data/synonyms.txt``), re-read when the file changes."""
    path = Path(path or SYNONYMS_PATH).resolve()
    stat = path.stat()
    # Size as well as mtime: on a file system with coarse timestamps two quick edits can share one.
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    table = parse_synonyms(path.read_text(encoding="utf-8"), str(path))
    with _cache_lock:
        _cache[path] = (stamp, table)
    return table
