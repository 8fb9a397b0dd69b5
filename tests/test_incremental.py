"""The reindex plan (what to add, replace, delete and keep) and incremental builds that answer as a full one does."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import indexer.build
from indexer.build import Plan, ScannedFile, plan, reindex
from search_app.web import create_app
from speechindex import schema as S
from speechindex.docstore import DocStore, FileState
from speechindex.location import IndexLocation
from tests.conftest import CORPUS

# Queries whose whole answer (hits, sections, counts, facets) an incremental build must share with a full one.
QUERIES = ["教育", "双减", '"集团化办学"', "义务教育 -双减", "year:2021", "学校 教师", '"甲乙丙丁"', "质量 OR 公平", "title:讲话"]
PREFIXES = ["教", "双", "集团", "学校", "义务", "甲乙"]
UNREADABLE = [{"file": "bad.pdf", "reason": "not a valid PDF"}]


def scanned(key: str, sha256: str) -> ScannedFile:
    return ScannedFile(Path("/corpus"), Path("/corpus") / key, "corpus", f"corpus/{key}", key, 10, 1, sha256)


def state(key: str, sha256: str, errors: list[dict[str, str]] | None = None) -> FileState:
    return FileState(f"corpus/{key}", sha256, 10, 1, 0 if errors else 1, errors or [])


# -- plan: pure, from the scan and the previous build's files -----------------------------------
def test_plan_sorts_files_into_added_changed_removed_and_unchanged() -> None:
    files = [scanned("a.txt", "h1"), scanned("new.txt", "h9"), scanned("b.txt", "h2-edited"), scanned("bad.pdf", "h4")]
    known = {
        "corpus/a.txt": state("a.txt", "h1"),
        "corpus/b.txt": state("b.txt", "h2"),
        "corpus/gone.txt": state("gone.txt", "h3"),
        "corpus/bad.pdf": state("bad.pdf", "h4", UNREADABLE),
    }
    todo = plan(files, known)
    assert todo.mode == "incremental"
    assert [f.key for f in todo.added] == ["corpus/new.txt"]
    assert [f.key for f in todo.changed] == ["corpus/b.txt"]
    assert todo.removed == ["corpus/gone.txt"]
    assert todo.unchanged == ["corpus/a.txt", "corpus/bad.pdf"]
    assert [f.key for f in todo.to_read] == ["corpus/new.txt", "corpus/b.txt"]  # scan order
    assert todo.to_delete == ["corpus/gone.txt", "corpus/b.txt"]
    assert todo.carried_errors == UNREADABLE  # not retried while unchanged, still reported


def test_plan_without_changes_is_up_to_date() -> None:
    files = [scanned("a.txt", "h1"), scanned("bad.pdf", "h4")]
    todo = plan(files, {"corpus/a.txt": state("a.txt", "h1"), "corpus/bad.pdf": state("bad.pdf", "h4", UNREADABLE)})
    assert (todo.mode, todo.to_read, todo.to_delete, todo.carried_errors) == ("up-to-date", [], [], UNREADABLE)


def test_plan_rereads_a_file_whose_hash_could_not_be_taken() -> None:
    todo = plan([scanned("locked.txt", "")], {"corpus/locked.txt": state("locked.txt", "")})
    assert todo.mode == "incremental"
    assert [f.key for f in todo.changed] == ["corpus/locked.txt"] and todo.to_delete == ["corpus/locked.txt"]


def test_plan_only_removals_is_incremental() -> None:
    todo = plan([], {"corpus/gone.txt": state("gone.txt", "h3", UNREADABLE)})
    assert (todo.mode, todo.removed, todo.to_read, todo.carried_errors) == ("incremental", ["corpus/gone.txt"], [], [])


def test_plan_without_a_usable_previous_index_reads_everything() -> None:
    # `known` is None when there is no previous generation or it is corrupt (see _previous_generation).
    files = [scanned("a.txt", "h1"), scanned("b.txt", "h2")]
    todo = plan(files, None)
    assert todo == Plan("full", added=files, to_read=files)
    assert todo.to_delete == [] and todo.carried_errors == []


def test_a_corrupt_previous_index_plans_a_full_rebuild(seed_index: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    generation = IndexLocation(index_dir).current()
    (generation / S.DOCSTORE).write_bytes(b"this is not a database")
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    summary = reindex([corpus], index_dir, incremental=True, progress=False, workers=1)
    assert summary.mode == "full" and summary.notes[0].startswith("incremental not possible, full rebuild:")
    assert (summary.files_read, summary.documents) == (5, 5)


# -- incremental = full --------------------------------------------------------------------------
def answers(index_dir: Path) -> dict[str, Any]:
    """Everything the probe queries and prefixes return through the JSON API, and the whole suggestion table."""
    client = create_app({"INDEX_DIR": index_dir}).test_client()
    out: dict[str, Any] = {}
    for q in QUERIES:
        result = client.get("/api/search", query_string={"q": q, "per_page": 50}).get_json()
        result.pop("took_ms")
        # BM25 statistics still count deleted sections until tantivy merges their segment: the
        # scores, hence the order of hits and of a hit's sections, may differ; what is found may not.
        for hit in result["hits"]:
            hit.pop("score")
            hit["sections"].sort(key=lambda s: s["section_id"])
        result["hits"].sort(key=lambda h: h["doc_id"])
        out[q] = result
    for prefix in PREFIXES:
        out[f"suggest:{prefix}"] = client.get("/api/suggest", query_string={"q": prefix}).get_json()
    store = DocStore(IndexLocation(index_dir).current() / S.DOCSTORE, readonly=True)
    out["suggest table"] = store.suggestions()
    store.close()
    return out


def edit(corpus: Path) -> None:
    """Add a file, change one, remove one (one of the two 双减 speeches)."""
    text = (corpus / "001_d2615397c1deb668.txt").read_text(encoding="utf-8")
    (corpus / "added.txt").write_text(text.replace("集团化办学", "甲乙丙丁办学"), encoding="utf-8")
    changed = corpus / "004_fecf85ec079d2e15.txt"
    changed.write_text(changed.read_text(encoding="utf-8").replace("加大新名校集团化办学力度", "加大新名校甲乙丙丁力度"), encoding="utf-8")
    (corpus / "000_bbde98b2ca611a02.txt").unlink()


@pytest.mark.parametrize("step", ["edit", "restore"])
def test_incremental_reindex_answers_like_a_full_rebuild(tmp_path: Path, step: str) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    incremental = tmp_path / "incremental"
    reindex([corpus], incremental, progress=False, workers=1)
    before = answers(incremental)
    edit(corpus)
    summary = reindex([corpus], incremental, incremental=True, progress=False, workers=1)
    assert (summary.mode, summary.files_read, summary.removed_files) == ("incremental", 2, 1)
    if step == "restore":  # and back: the suggestions return to what they were
        shutil.rmtree(corpus)
        shutil.copytree(CORPUS, corpus)
        reindex([corpus], incremental, incremental=True, progress=False, workers=1)
    full = tmp_path / "full"
    reindex([corpus], full, progress=False, workers=1)
    got, expected = answers(incremental), answers(full)
    assert got == expected
    suggested = {text: docs for text, docs in expected["suggest table"]}
    if step == "edit":
        assert suggested["甲乙丙丁"] == 2 and "双减" not in suggested  # 双减 is left in one document: below MIN_WORD_DOCS
        assert got != before
    else:
        assert got == before and "甲乙丙丁" not in suggested and suggested["双减"] == 2


def test_an_index_without_stored_term_counts_is_counted_once(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    index_dir = tmp_path / "index"
    reindex([corpus], index_dir, progress=False, workers=1)
    store = DocStore(IndexLocation(index_dir).current() / S.DOCSTORE)
    counts = store.term_counts()
    store.db.execute("DELETE FROM term_counts")  # as an index built before the counts were kept
    store.commit()
    store.close()
    edit(corpus)
    reindex([corpus], index_dir, incremental=True, progress=False, workers=1)
    full = tmp_path / "full"
    reindex([corpus], full, progress=False, workers=1)
    assert answers(index_dir)["suggest table"] == answers(full)["suggest table"]
    stores = [DocStore(IndexLocation(d).current() / S.DOCSTORE, readonly=True) for d in (index_dir, full)]
    assert stores[0].term_counts() == stores[1].term_counts() != counts


def test_counts_added_in_batches_equal_counts_added_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    reindex([corpus], tmp_path / "at-once", progress=False, workers=1)
    monkeypatch.setattr(indexer.build, "VOCABULARY_FLUSH_TERMS", 10)  # flush after nearly every document
    reindex([corpus], tmp_path / "batches", progress=False, workers=1)
    edit(corpus)
    reindex([corpus], tmp_path / "batches", incremental=True, progress=False, workers=1)
    reindex([corpus], tmp_path / "edited", progress=False, workers=1)
    counts = {}
    for name in ("at-once", "batches", "edited"):
        store = DocStore(IndexLocation(tmp_path / name).current() / S.DOCSTORE, readonly=True)
        counts[name] = (store.term_counts(), store.suggestions())
        store.close()
    assert counts["batches"] == counts["edited"] != counts["at-once"]
    monkeypatch.undo()
    reindex([corpus], tmp_path / "at-once", progress=False, workers=1)
    store = DocStore(IndexLocation(tmp_path / "at-once").current() / S.DOCSTORE, readonly=True)
    assert (store.term_counts(), store.suggestions()) == counts["edited"]
