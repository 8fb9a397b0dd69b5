"""Near-duplicate and version detection: character shingles, MinHash signatures, LSH.

Text is compared on its *compact* form: the analyzer's normalised text (NFKC, lower-case,
繁→简) with everything but letters and digits removed, so line breaks, spaces and
punctuation never make two copies differ. A shingle is 5 consecutive compact characters,
hashed to 32 bits. A fixed eighth of the shingles (those whose hash is 0 mod 8) is kept:
the choice depends only on the shingle's content, so two copies of a passage keep the same
ones (the sets' Jaccard similarity is preserved) at an eighth of the cost.

- Per section, the kept hashes go into the index's `shingles` field: the candidates of
  "where else does this passage appear" (`search_app.passage`) and of similar documents.
- Per document, a MinHash of the union of its sections' kept hashes is stored with the
  document (table `dedup_signatures` of the generation's documents.sqlite, which an
  incremental reindex copies and prunes by file); after every build the groups are
  recomputed over all signatures (table `dedup_groups`):
  duplicates: estimated Jaccard >= 0.9 (candidates from MinHash LSH);
  versions: the same normalised title and substantial shared text (a law's successive
  versions; the parts of 民法典 share a title, not their text).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

from speechindex.analysis import get_analyzer

SHINGLE = 5
# Keep the shingles whose hash is 0 mod SAMPLE_MOD: an eighth keeps the index field and the
# signatures at about a tenth of the indexing time; a 100-character passage still has ~12.
SAMPLE_MOD = 8
NUM_PERM = 128
_SCHEME = "affine32"  # datasketch's 32-bit permutations: signatures of 4 bytes per value
DUPLICATE_JACCARD = 0.9
# Two same-title documents are versions when this share of the smaller one's text is shared.
VERSION_SHARED = 0.3
# A title shared by more documents is generic (国内联播快讯), not one text's versions.
MAX_VERSIONS = 30
MIN_SHINGLES = 8  # kept shingles (~60 characters) below which a document is too short to compare
_PRIME = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_NOT_WORD = re.compile(r"[\W_]+")
# Bracketed notes (dates, 修订/修正) and full dates are not part of a title's identity.
_TITLE_NOISE = re.compile(r"[(（\[【〔][^)）\]】〕]*[)）\]】〕]|\d{4}[-年.]\d{1,2}[-月.]\d{1,2}日?")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dedup_signatures (
    doc_id TEXT PRIMARY KEY,
    file_key TEXT NOT NULL,
    title_key TEXT NOT NULL,
    shingles INTEGER NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS dedup_signatures_file ON dedup_signatures(file_key);
CREATE TABLE IF NOT EXISTS dedup_groups (
    doc_id TEXT PRIMARY KEY,
    fold_group TEXT NOT NULL,
    duplicate_group TEXT
);
"""


@dataclass(frozen=True)
class DocSignature:
    """What the grouping needs of one document: title key, kept-shingle count, MinHash values."""

    title_key: str
    shingles: int
    hashvalues: bytes  # NUM_PERM little-endian uint32


@dataclass(frozen=True)
class GroupStats:
    """Outcome of a grouping pass."""

    documents: int
    duplicate_groups: int
    duplicate_docs: int
    version_groups: int
    version_docs: int


def compact(norm: str) -> str:
    """Normalised text without spaces and punctuation: what shingles are taken from."""
    return _NOT_WORD.sub("", norm)


def compact_with_offsets(norm: str) -> tuple[str, np.ndarray]:
    """`compact(norm)` and, per compact character, its offset in `norm`."""
    keep = np.ones(len(norm), dtype=bool)
    for gap in _NOT_WORD.finditer(norm):  # runs of spaces and punctuation: far fewer than characters
        keep[gap.start() : gap.end()] = False
    return compact(norm), np.flatnonzero(keep)


def shingle_hashes(text: str) -> np.ndarray:
    """32-bit hashes of every 5-character shingle of compact text (position i = text[i:i+5])."""
    n = len(text) - SHINGLE + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    for j in range(SHINGLE):
        h = h * _PRIME + codes[j : j + n]
    # A multiplicative mix spreads the polynomial hash over the high bits kept.
    h = h * _MIX
    return h >> np.uint64(32)


def sampled(hashes: np.ndarray) -> np.ndarray:
    """The content-chosen eighth of the hashes that is indexed and signed."""
    return hashes[hashes % np.uint64(SAMPLE_MOD) == 0]


def shingle_terms(hashes: np.ndarray) -> str:
    """Space-joined decimal terms of hashes, for the index's `shingles` field."""
    return " ".join(map(str, hashes.tolist()))


def section_shingles(section_norms: list[str]) -> list[np.ndarray]:
    """The kept shingle hashes of each section (normalised texts), hashed in one pass per document.

    Shingles never span two sections: a passage is looked up section by section.
    """
    parts = [compact(t) for t in section_norms]
    ends = np.cumsum([len(p) for p in parts])
    hashes = shingle_hashes("".join(parts))
    starts = np.arange(len(hashes))
    # A shingle belongs to the section it starts in if it also ends there.
    section_of = np.searchsorted(ends, starts, side="right")
    inside = starts + SHINGLE <= ends[np.minimum(section_of, len(ends) - 1)] if len(ends) else starts < 0
    keep = inside & (hashes % np.uint64(SAMPLE_MOD) == 0)
    kept, owner = hashes[keep], section_of[keep]
    bounds = np.searchsorted(owner, np.arange(len(parts) + 1))
    return [kept[bounds[i] : bounds[i + 1]] for i in range(len(parts))]


def title_key(title: str) -> str:
    """A title without dates, revision notes, brackets and punctuation."""
    norm = get_analyzer().normalize(title).text
    return compact(_TITLE_NOISE.sub("", norm))


def _identity(value: int) -> int:
    return value


_PERMUTATIONS: tuple[np.ndarray, np.ndarray] | None = None


def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's seeded permutations, generated once per process (costly per MinHash)."""
    global _PERMUTATIONS
    if _PERMUTATIONS is None:
        _PERMUTATIONS = MinHash(num_perm=NUM_PERM, scheme=_SCHEME).permutations
    return _PERMUTATIONS


def signature(title: str, section_hashes: Iterable[np.ndarray]) -> DocSignature:
    """The MinHash signature of a document from its sections' kept shingle hashes."""
    parts = [h for h in section_hashes if len(h)]
    kept = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
    mh = MinHash(num_perm=NUM_PERM, hashfunc=_identity, scheme=_SCHEME, permutations=_permutations())
    mh.update_batch(kept.tolist())
    return DocSignature(title_key(title), int(len(kept)), mh.hashvalues.astype("<u4").tobytes())


def _minhash(blob: bytes) -> MinHash:
    values = np.frombuffer(blob, dtype="<u4").astype(np.uint32)
    return MinHash(num_perm=NUM_PERM, hashvalues=values, scheme=_SCHEME, permutations=_permutations())


# -- storage in the generation's documents.sqlite ------------------------------------------


def ensure_tables(db: sqlite3.Connection) -> None:
    """Create the dedup tables if this store has none yet."""
    db.executescript(_SCHEMA)


def put_signature(db: sqlite3.Connection, doc_id: str, file_key: str, sig: DocSignature) -> None:
    """Store one document's signature."""
    db.execute(
        "INSERT OR REPLACE INTO dedup_signatures VALUES (?,?,?,?,?)",
        (doc_id, file_key, sig.title_key, sig.shingles, sig.hashvalues),
    )


def delete_file(db: sqlite3.Connection, file_key: str) -> None:
    """Forget the signatures of a corpus file's documents (it was changed or removed)."""
    db.execute("DELETE FROM dedup_signatures WHERE file_key = ?", (file_key,))


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while x != root:
            self.parent[x], x = root, self.parent.get(x, x)
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        self.parent.setdefault(ra, ra)
        self.parent.setdefault(rb, rb)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> Iterator[list[str]]:
        members: dict[str, list[str]] = {}
        for x in list(self.parent):
            members.setdefault(self.find(x), []).append(x)
        yield from (sorted(m) for m in members.values() if len(m) > 1)


def _stored_text(db: sqlite3.Connection, doc_id: str) -> str:
    row = db.execute("SELECT record FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
    return json.loads(row[0]).get("text", "") if row else ""


def text_shingles(text: str) -> np.ndarray:
    """The distinct kept shingle hashes of a text (as the analyzer normalises it)."""
    return np.unique(sampled(shingle_hashes(compact(get_analyzer().normalize(text).text))))


def shared_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the smaller of two shingle sets that the other also has."""
    if not len(a) or not len(b):
        return 0.0
    return len(np.intersect1d(a, b, assume_unique=True)) / min(len(a), len(b))


def rebuild_groups(db: sqlite3.Connection) -> GroupStats:
    """Recompute the duplicate and version groups over every stored signature."""
    rows = db.execute("SELECT doc_id, title_key, shingles, signature FROM dedup_signatures ORDER BY doc_id").fetchall()
    usable = [(doc_id, key, n, _minhash(blob)) for doc_id, key, n, blob in rows if n >= MIN_SHINGLES]
    lsh = MinHashLSH(threshold=DUPLICATE_JACCARD - 0.1, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for doc_id, _, _, mh in usable:
            session.insert(doc_id, mh, check_duplication=False)
    by_id = {doc_id: mh for doc_id, _, _, mh in usable}
    dups = _UnionFind()
    for doc_id, _, _, mh in usable:
        for other in lsh.query(mh):
            if other > doc_id and mh.jaccard(by_id[other]) >= DUPLICATE_JACCARD:
                dups.union(doc_id, other)

    by_title: dict[str, list[str]] = {}
    for doc_id, key, _, _ in usable:
        if key:
            by_title.setdefault(key, []).append(doc_id)
    versions = _UnionFind()
    for members in by_title.values():
        if not 2 <= len(members) <= MAX_VERSIONS:
            continue
        # Few documents: compare their exact shingle sets (a signature is too coarse at ~30 % overlap).
        kept = {doc_id: text_shingles(_stored_text(db, doc_id)) for doc_id in members}
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if shared_fraction(kept[a], kept[b]) >= VERSION_SHARED:
                    versions.union(a, b)

    fold = _UnionFind()
    duplicate_of: dict[str, str] = {}
    dup_groups = list(dups.groups())
    version_groups = list(versions.groups())
    for group in dup_groups:
        for doc_id in group:
            duplicate_of[doc_id] = group[0]
    for group in [*dup_groups, *version_groups]:
        for doc_id in group[1:]:
            fold.union(group[0], doc_id)
    db.execute("DELETE FROM dedup_groups")
    db.executemany(
        "INSERT INTO dedup_groups VALUES (?,?,?)",
        [(doc_id, group[0], duplicate_of.get(doc_id)) for group in fold.groups() for doc_id in group],
    )
    return GroupStats(
        documents=len(rows),
        duplicate_groups=len(dup_groups),
        duplicate_docs=sum(len(g) for g in dup_groups),
        version_groups=len(version_groups),
        version_docs=sum(len(g) for g in version_groups),
    )
