"""Folded results: one hit per group of versions and near-duplicates (groups from speechindex.dedup).

A group's best-matching member is the hit (the newest one when scores tie within TIE, as
versions of one text nearly always do); the other members ride along in `versions`, newest first, each with
`relation` "duplicate" (near-identical text to the hit, same year) or "version" (same
title and text revised, or near-identical text of another year). Groups are read once per index generation from the generation's doc store.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import tantivy

from search_app.results import Version
from speechindex import schema as S
from speechindex.docstore import DocStore

Group = list[tuple[float, tantivy.DocAddress]]
# Relative score difference under which two members count as tied. Versions of one text match a
# query almost equally; what separates their BM25 scores is mostly length normalisation (the 1996
# 职业教育法 is shorter than the 2022 one), and a reader wants the version in force.
TIE = 0.15


@dataclass(frozen=True)
class Member:
    """One document of a fold group."""

    doc_id: str
    doc_num: int
    fold_group: str
    duplicate_group: str | None
    title: str
    year: int | None
    date: str | None

    @property
    def recency(self) -> tuple[str, int]:
        """Ordering key: later date (or year) is newer; unknown is oldest."""
        return (self.date or "", self.year or 0)

    def as_version(self, hit: Member | None) -> Version:
        """This member as listed under the hit."""
        same_text = hit is not None and self.duplicate_group is not None and self.duplicate_group == hit.duplicate_group
        # Near-identical texts of different years are a law's successive (lightly amended) versions.
        if same_text and hit is not None and self.year and hit.year and self.year != hit.year:
            same_text = False
        return Version(self.doc_id, self.title, self.year, self.date, "duplicate" if same_text else "version")


class FoldMap:
    """The grouped documents of one generation (most documents are in no group)."""

    def __init__(self, store: DocStore) -> None:
        try:
            rows = store.db.execute(
                "SELECT g.doc_id, d.doc_num, g.fold_group, g.duplicate_group, json_extract(d.record, '$.title'), "
                "d.year, json_extract(d.record, '$.date') FROM dedup_groups g JOIN documents d USING (doc_id)"
            ).fetchall()
        except sqlite3.OperationalError:  # a store without dedup tables: nothing folds
            rows = []
        self.by_num = {r[1]: Member(*r) for r in rows}
        self.groups: dict[str, list[Member]] = {}
        for m in self.by_num.values():
            self.groups.setdefault(m.fold_group, []).append(m)
        for members in self.groups.values():
            members.sort(key=lambda m: m.recency, reverse=True)
        self.doc_ids = sorted(m.doc_id for m in self.by_num.values())

    def versions(self, hit: Member) -> list[Version]:
        """The other members of the hit's group, newest first."""
        return [m.as_version(hit) for m in self.groups[hit.fold_group] if m.doc_num != hit.doc_num]


class _Generation(Protocol):
    store: DocStore
    store_lock: threading.Lock
    schema: tantivy.Schema


_maps: weakref.WeakKeyDictionary[Any, FoldMap] = weakref.WeakKeyDictionary()
_maps_lock = threading.Lock()


def fold_map(gen: _Generation) -> FoldMap:
    """The fold groups of an opened generation, loaded on first use."""
    with _maps_lock:
        found = _maps.get(gen)
        if found is None:
            with gen.store_lock:
                found = _maps[gen] = FoldMap(gen.store)
        return found


def fold(
    fm: FoldMap, searcher: tantivy.Searcher, groups: list[Group], by_score: bool
) -> list[tuple[Group, list[Version]]]:
    """Keep the first-listed member of each fold group (with `by_score`, the newest of tied best ones).

    Returns (section hits of the shown document, the versions listed under it) in list order.
    """
    if not groups:
        return []
    nums = searcher.fast_field_values(S.F_DOC_NUM, [g[0][1] for g in groups])
    shown: list[list[Any]] = []  # [group, member or None]
    slot: dict[str, int] = {}
    for group, num in zip(groups, nums):
        member = fm.by_num.get(num)
        if member is None:
            shown.append([group, None])
            continue
        if member.fold_group not in slot:
            slot[member.fold_group] = len(shown)
            shown.append([group, member])
            continue
        entry = shown[slot[member.fold_group]]
        best = entry[0][0][0]
        if by_score and abs(group[0][0] - best) <= TIE * max(abs(best), 1.0) and member.recency > entry[1].recency:
            entry[0], entry[1] = group, member
    return [(group, fm.versions(member) if member else []) for group, member in shown]


def collect(
    fm: FoldMap,
    searcher: tantivy.Searcher,
    fetch: Callable[[int], list[Group]],
    docs_needed: int,
    total_docs: int,
    by_score: bool,
) -> tuple[list[Group], list[tuple[Group, list[Version]]]]:
    """Fetch document groups (`fetch(n)` lists the best n) until `docs_needed` remain after folding."""
    n = docs_needed
    while True:
        groups = fetch(n)
        folded = fold(fm, searcher, groups, by_score)
        if len(folded) >= docs_needed or len(groups) >= total_docs or len(groups) < n:
            return groups, folded
        n *= 2


def folded_total(
    fm: FoldMap,
    gen: _Generation,
    searcher: tantivy.Searcher,
    query: tantivy.Query,
    total_docs: int,
    doc_nums: list[int] | None = None,
) -> int:
    """Matching documents once each fold group counts as one (`doc_nums`: the matching documents, when known)."""
    if not fm.doc_ids or not total_docs:
        return total_docs
    if doc_nums is None:
        grouped = tantivy.Query.term_set_query(gen.schema, S.F_DOC_ID, fm.doc_ids)
        both = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, grouped)])
        agg = searcher.aggregate(both, {"d": {"terms": {"field": S.F_DOC_NUM, "size": len(fm.doc_ids) + 1}}})
        doc_nums = [int(b["key"]) for b in agg["d"]["buckets"]]
    per_group = Counter(fm.by_num[num].fold_group for num in doc_nums if num in fm.by_num)
    return total_docs - sum(n - 1 for n in per_group.values())
