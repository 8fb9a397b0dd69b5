"""Verify an index directory, and open a generation only once it is known to be whole.

`python -m indexer check` and every reader of the index (the search engine, `stats`,
an incremental reindex) go through `open_generation`, so that any damage — an unreadable
pointer, manifest, document store or tantivy segment, or counts that disagree — becomes
one IndexCorrupt message naming the damage and the command that repairs it, never a
traceback.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import tantivy

from speechindex import schema as S
from speechindex.counting import MAX_EXACT, count_documents
from speechindex.docstore import DocStore
from speechindex.errors import IndexCorrupt, IndexMissing
from speechindex.location import IndexLocation


@dataclass
class OpenGeneration:
    """A verified generation: its manifest, tantivy index and document store."""

    path: Path
    manifest: S.Manifest
    index: tantivy.Index
    store: DocStore


def open_generation(path: Path, deep: bool = False) -> OpenGeneration:
    """Open one generation and check that its parts agree; IndexCorrupt/IndexOutdated otherwise.

    Always: manifest readable and built by this analyzer, document store and tantivy
    segments open, their counts equal the manifest's. With `deep`, also SQLite's integrity
    check and the number of distinct documents in the segments (reads every segment).
    """
    location = IndexLocation(path.parent)
    try:
        manifest = S.Manifest.read(path)
    except IndexCorrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - an unreadable manifest is damage, whatever the error
        raise location.corrupt(f"{S.MANIFEST} of {path.name} is unreadable ({exc})") from None
    manifest.check()
    store = _open_store(path, location, deep)
    try:
        index = _open_segments(path, location)
        sections = index.searcher().num_docs
        documents = store.count()
        if documents != manifest.documents or sections != manifest.sections:
            raise location.corrupt(
                f"{path.name} holds {documents} documents and {sections} sections, its manifest says "
                f"{manifest.documents} and {manifest.sections}"
            )
        exact = deep and documents < MAX_EXACT  # beyond it count_documents estimates
        if exact and (indexed := count_documents(index.searcher(), tantivy.Query.all_query())) != documents:
            raise location.corrupt(f"{path.name}: {indexed} documents in the segments, {documents} in {S.DOCSTORE}")
    except BaseException:
        store.close()
        raise
    return OpenGeneration(path, manifest, index, store)


def _open_store(path: Path, location: IndexLocation, deep: bool) -> DocStore:
    """The generation's document store, read-only, after a query proves it is a database."""
    if not (path / S.DOCSTORE).is_file():
        raise location.corrupt(f"{S.DOCSTORE} of {path.name} is missing")
    store = None
    try:
        store = DocStore(path / S.DOCSTORE, readonly=True)
        store.count()
        if deep and (result := store.db.execute("PRAGMA quick_check").fetchone()[0]) != "ok":
            raise sqlite3.DatabaseError(result)
        return store
    except sqlite3.Error as exc:
        if store is not None:
            store.close()
        raise location.corrupt(f"{S.DOCSTORE} of {path.name} is unreadable ({exc})") from None


def _open_segments(path: Path, location: IndexLocation) -> tantivy.Index:
    """The tantivy index of a generation; any failure (tantivy raises ValueError or panics) is damage."""
    try:
        index = S.open_tantivy(path)
        index.searcher()
        return index
    except IndexMissing:
        raise location.corrupt(f"the tantivy segments of {path.name} are missing (no meta.json)") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - pyo3 panics derive from BaseException
        raise location.corrupt(f"the tantivy segments of {path.name} are unreadable ({exc})") from None


def check_index(index_dir: Path) -> str:
    """Verify the served generation of `index_dir` in depth; the one-line verdict, or IndexMissing/IndexCorrupt."""
    location = IndexLocation(index_dir)
    generation = open_generation(location.current(), deep=True)
    try:
        return (
            f"ok: {index_dir} serves {generation.path.name}: {generation.manifest.documents} documents, "
            f"{generation.manifest.sections} sections, built {generation.manifest.built_at}"
        )
    finally:
        generation.store.close()
