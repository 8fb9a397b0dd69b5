"""Reindex (issue #3): the summary and manifest of a build, counts and facets stored in the index,
the manifest check that refuses an outdated index, index/query analysis agreement, incremental
builds, the atomic swap under SIGKILL, SIGINT and a held lock, and the `python -m indexer`
command line (parse, reindex, stats)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
import tantivy

import indexer.build
import indexer.workers
from indexer.build import BuildSummary, reindex
from indexer.cli import main as indexer_main
from indexer.prepare import FileTask, PreparedFile, prepare_file
from indexer.stats import index_stats
from search_app.engine import SearchEngine, SearchRequest
from speechindex import schema as S
from speechindex.analysis import ANALYZER_VERSION, get_analyzer
from speechindex.docstore import DocStore
from speechindex.errors import IndexOutdated
from speechindex.location import CURRENT, IndexLocation
from tests.conftest import CORPUS, REPO, SHARED, shared_path

SEEDS = sorted(CORPUS.glob("*.txt"))
SUMMARY_KEYS = {"mode", "index", "generation", "files", "files_read", "documents", "sections", "mb", "seconds", "mb_s", "removed_files", "skipped", "notes", "dedup"}
STATS_KEYS = {"generation", "documents", "sections", "year", "doc_kind", "source", "topic", "section_topic", "section_kind"}
BROKEN_PDF = {"file": "broken.pdf", "reason": "not a valid PDF (Stream has ended unexpectedly)"}
# Queries whose results must survive an interrupted reindex unchanged.
PROBE_QUERIES = ["双减", '"集团化办学"', "义务教育 -双减", "year:2021"]


# -- helpers ---------------------------------------------------------------------------------
def seed_copy(directory: Path) -> Path:
    """A private corpus folder holding the five seed files."""
    directory.mkdir(parents=True)
    for path in SEEDS:
        shutil.copy2(path, directory / path.name)
    return directory


def results(engine: SearchEngine) -> list[dict[str, Any]]:
    """What the probe queries return, without the timing."""
    out = []
    for q in PROBE_QUERIES:
        result = engine.search(SearchRequest(q=q, per_page=50)).to_json()
        result.pop("took_ms")
        out.append(result)
    return out


def current_name(index_dir: Path) -> str:
    return (index_dir / CURRENT).read_text(encoding="utf-8").strip()


def build_dirs(index_dir: Path) -> list[Path]:
    return sorted(index_dir.glob(".build-*"))


def total_docs(index_dir: Path, q: str) -> int:
    return SearchEngine(index_dir).search(SearchRequest(q=q)).total_docs


def stored_records(index_dir: Path) -> list[dict[str, Any]]:
    """Every document record of the served generation, from its document store."""
    store = DocStore(IndexLocation(index_dir).current() / S.DOCSTORE, readonly=True)
    try:
        return [store.get(doc_id) for doc_id, *_ in store.iter_metadata()]
    finally:
        store.close()


def edit_manifest(generation: Path, **changes: Any) -> None:
    path = generation / S.MANIFEST
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


def interrupt_mid_build(index_dir: Path, corpora: list[Path], sig: signal.Signals) -> subprocess.CompletedProcess[str]:
    """Start `python -m indexer reindex` and send `sig` half a second after its build directory appears."""
    args = [sys.executable, "-m", "indexer", "reindex", "--index", str(index_dir), "--workers", "1"]
    for corpus in corpora:
        args += ["--corpus", str(corpus)]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not build_dirs(index_dir):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the reindex never started building"
        time.sleep(0.02)
    time.sleep(0.5)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)  # also reaps it, so its pid is no longer alive
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuildSummary, Path]:
    """A full build of corpus/ and its summary."""
    index_dir = tmp_path_factory.mktemp("built") / "index"
    return reindex([CORPUS], index_dir, progress=False, workers=1), index_dir


@pytest.fixture
def served(tmp_path: Path) -> Path:
    """A private index of the seeds, which the test may interrupt, lock or break."""
    index_dir = tmp_path / "index"
    reindex([CORPUS], index_dir, progress=False, workers=1)
    return index_dir


@pytest.fixture
def big_corpus(tmp_path: Path) -> list[Path]:
    """A corpus that takes a few seconds to index: the reports when ../shared exists, else many seed copies."""
    if SHARED.exists():
        return [CORPUS, shared_path("corpora", "gov_work_reports")]
    copies = tmp_path / "copies"
    copies.mkdir()
    for n in range(40):
        for path in SEEDS:
            shutil.copy2(path, copies / f"{n:02d}_{path.name}")
    return [copies]


# -- a full build --------------------------------------------------------------------------------
def test_full_build_summary(built: tuple[BuildSummary, Path]) -> None:
    summary, index_dir = built
    assert summary.mode == "full"
    assert (summary.files, summary.files_read, summary.documents, summary.sections) == (5, 5, 5, 70)
    assert summary.bytes_read == sum(p.stat().st_size for p in SEEDS)
    assert summary.skipped == [] and summary.removed_files == 0 and summary.notes == []
    assert summary.generation == current_name(index_dir)
    assert set(summary.to_json()) == SUMMARY_KEYS
    assert summary.line().startswith("full: 5 documents, 70 sections from 5 files")


def test_generation_layout_and_manifest(built: tuple[BuildSummary, Path]) -> None:
    summary, index_dir = built
    assert sorted(p.name for p in index_dir.iterdir()) == [".lock", CURRENT, summary.generation]
    generation = index_dir / summary.generation
    assert (generation / S.DOCSTORE).is_file()
    manifest = json.loads((generation / S.MANIFEST).read_text(encoding="utf-8"))
    analyzer = get_analyzer()
    assert manifest == {
        "schema_version": S.SCHEMA_VERSION,
        "analyzer_version": analyzer.version,
        "dictionary_hash": analyzer.dictionary_hash,
        "built_at": manifest["built_at"],
        "corpora": [str(CORPUS.resolve())],
        "documents": 5,
        "sections": 70,
    }
    assert analyzer.version == f"{ANALYZER_VERSION}+{analyzer.dictionary_hash}"
    time.strptime(manifest["built_at"], "%Y-%m-%dT%H:%M:%S%z")


def test_stats_counts(seed_index: Path) -> None:
    stats = index_stats(seed_index)
    assert (stats["documents"], stats["sections"]) == (5, 70)
    assert stats["year"] == [("2021", 1, 15), ("2023", 3, 47), ("none", 1, 8)]
    assert stats["doc_kind"] == [("讲话", 4, 58), ("工作要点", 1, 12)]
    assert stats["section_kind"] == [("部署任务", 4, 40), ("回顾总结", 3, 24), ("其他", 4, 5), ("问题挑战", 1, 1)]
    assert sorted(stats["source"]) == [("储乐秘书网", 1, 15), ("文库网页", 3, 27), ("第一文库网", 1, 28)]
    # Topics are the documents' main topics (on all their sections); a section's own are section_topic.
    assert ("疫情防控", 1, 15) in stats["topic"] and ("疫情防控", 1, 3) in stats["section_topic"]
    assert all(docs <= 5 for _, docs, _ in stats["topic"]) and len(stats["topic"]) < len(stats["section_topic"])


def test_stats_agree_with_the_document_store(seed_index: Path) -> None:
    records = stored_records(seed_index)
    per_year: dict[str, list[int]] = {}
    for rec in records:
        key = str(rec["year"]) if rec["year"] is not None else S.YEAR_NONE
        docs, sections = per_year.get(key, [0, 0])
        per_year[key] = [docs + 1, sections + len(rec["sections"])]
    assert sorted((k, d, s) for k, (d, s) in per_year.items()) == index_stats(seed_index)["year"]


@pytest.mark.parametrize(
    ("filters", "files"),
    [
        ({"year": ["2023"]}, ["000_bbde98b2ca611a02.txt", "001_d2615397c1deb668.txt", "002_2026ea8a2fbe29df.txt"]),
        ({"year": ["2021"]}, ["004_fecf85ec079d2e15.txt"]),
        ({"year": ["none"]}, ["003_da6a1b22c78f0c54.txt"]),
        ({"doc_kind": ["工作要点"]}, ["001_d2615397c1deb668.txt"]),
        ({"topic": ["疫情防控"]}, ["004_fecf85ec079d2e15.txt"]),
        ({"section": ["问题挑战"]}, ["004_fecf85ec079d2e15.txt"]),
        ({"topic": ["心理健康"], "year": ["2023"]}, ["001_d2615397c1deb668.txt"]),
    ],
)
def test_facet_values_are_stored_and_filterable(seed_index: Path, filters: dict[str, list[str]], files: list[str]) -> None:
    result = SearchEngine(seed_index).search(SearchRequest(filters=filters, per_page=50))
    assert sorted(h.source_file for h in result.hits) == files
    for hit in result.hits:
        # A topic filters documents by their main topics; the sections that carry it come first.
        assert all(topic in hit.sections[0].topics for topic in filters.get("topic", []))
        for section in hit.sections:
            assert all(kind == section.kind for kind in filters.get("section", []))
        assert all(kind == hit.doc_kind for kind in filters.get("doc_kind", []))


# -- the manifest check ----------------------------------------------------------------------------
@pytest.mark.parametrize("changes", [{"analyzer_version": "0+0000000000000000"}, {"schema_version": S.SCHEMA_VERSION + 1}])
def test_outdated_manifest_is_refused(
    seed_index: Path, tmp_path: Path, changes: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    edit_manifest(IndexLocation(index_dir).current(), **changes)
    with pytest.raises(IndexOutdated, match="reindex needed"):
        SearchEngine(index_dir).check()
    assert indexer_main(["stats", "--index", str(index_dir)]) == 4
    assert "reindex needed" in capsys.readouterr().err


def test_missing_manifest_is_refused(seed_index: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    (IndexLocation(index_dir).current() / S.MANIFEST).unlink()
    with pytest.raises(IndexOutdated, match="reindex needed"):
        SearchEngine(index_dir).check()


def test_incremental_over_an_outdated_index_rebuilds_fully(served: Path) -> None:
    edit_manifest(IndexLocation(served).current(), analyzer_version="0+0000000000000000")
    summary = reindex([CORPUS], served, incremental=True, progress=False, workers=1)
    assert summary.mode == "full"
    assert summary.notes[0].startswith("incremental not possible, full rebuild:")
    assert (summary.documents, summary.sections) == (5, 70)
    SearchEngine(served).check()


# -- index and query analysis agree ---------------------------------------------------------------
def test_every_query_term_of_every_heading_is_indexed(seed_index: Path) -> None:
    index = S.open_tantivy(IndexLocation(seed_index).current())
    searcher = index.searcher()
    records = stored_records(seed_index)
    analyzer = get_analyzer()
    checked = 0
    for rec in records:
        in_doc = tantivy.Query.term_query(index.schema, S.F_DOC_ID, rec["doc_id"])
        for section in rec["sections"]:
            for term in analyzer.terms(section["heading"], "query"):
                heading = tantivy.Query.term_query(index.schema, S.F_HEADING, term)
                query = tantivy.Query.boolean_query([(tantivy.Occur.Must, in_doc), (tantivy.Occur.Must, heading)])
                assert searcher.search(query, 1, count=True).count >= 1, (rec["source_file"], section["heading"], term)
                checked += 1
    assert checked > 400


def test_searching_a_heading_finds_its_document(seed_index: Path) -> None:
    engine = SearchEngine(seed_index)
    for rec in stored_records(seed_index):
        for section in rec["sections"]:
            words = re.sub(r"\W+", " ", section["heading"]).strip()  # operators and quotes out of the way
            if words:
                hits = engine.search(SearchRequest(q=words, per_page=50)).hits
                assert rec["doc_id"] in {h.doc_id for h in hits}, section["heading"]


# -- incremental builds ---------------------------------------------------------------------------
def test_incremental_without_changes_is_up_to_date(tmp_path: Path) -> None:
    corpus = seed_copy(tmp_path / "corpus")
    (corpus / "broken.pdf").write_bytes(b"not a pdf at all")
    index_dir = tmp_path / "index"
    first = reindex([corpus], index_dir, incremental=True, progress=False, workers=1)
    assert first.mode == "full" and first.notes == ["no previous index: full build"]
    assert (first.files, first.files_read, first.documents, first.sections) == (6, 5, 5, 70)
    assert first.skipped == [BROKEN_PDF]
    second = reindex([corpus], index_dir, incremental=True, progress=False, workers=1)
    assert second.mode == "up-to-date"
    assert second.generation == first.generation == current_name(index_dir)
    assert (second.files, second.files_read, second.removed_files) == (6, 0, 0)
    assert second.skipped == [BROKEN_PDF]
    assert sorted(p.name for p in index_dir.glob("gen-*")) == [first.generation]


def test_incremental_picks_up_added_changed_and_removed_files(tmp_path: Path) -> None:
    corpus = seed_copy(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    first = reindex([corpus], index_dir, incremental=True, progress=False, workers=1)
    assert (total_docs(index_dir, '"集团化办学"'), total_docs(index_dir, "双减")) == (2, 2)

    shutil.copy2(corpus / "001_d2615397c1deb668.txt", corpus / "new_copy.txt")  # added
    changed = corpus / "004_fecf85ec079d2e15.txt"
    text = changed.read_text(encoding="utf-8")
    assert text.count("加大新名校集团化办学力度") == 1
    changed.write_text(text.replace("加大新名校集团化办学力度", "加大新名校甲乙丙丁力度"), encoding="utf-8")
    (corpus / "000_bbde98b2ca611a02.txt").unlink()  # removed: one of the two 双减 documents

    summary = reindex([corpus], index_dir, incremental=True, progress=False, workers=1)
    assert summary.mode == "incremental" and summary.generation != first.generation
    assert (summary.files, summary.files_read, summary.documents, summary.removed_files) == (5, 2, 2, 1)
    assert summary.notes == ["re-read 2 changed/added files, dropped 1 removed files; 5 documents in the index"]
    stats = index_stats(index_dir)
    assert (stats["documents"], stats["sections"]) == (5, 70 - 7 + 12)  # 000 had 7 sections, the copy of 001 has 12
    assert stats["year"] == [("2021", 1, 15), ("2023", 3, 52), ("none", 1, 8)]
    engine = SearchEngine(index_dir)
    assert [h.source_file for h in engine.search(SearchRequest(q='"甲乙丙丁"')).hits] == ["004_fecf85ec079d2e15.txt"]
    found = engine.search(SearchRequest(q='"集团化办学"', fold=False))
    assert sorted(h.source_file for h in found.hits) == [
        "001_d2615397c1deb668.txt", "004_fecf85ec079d2e15.txt", "new_copy.txt",
    ]
    assert found.total_sections == 3  # 004 kept one of its two 集团化办学 sections
    # The added copy of 001 joined 001's duplicate group: folded, the two are one hit.
    folded = engine.search(SearchRequest(q='"集团化办学"'))
    assert (folded.total_docs, folded.total_matched) == (2, 3)
    assert [v.relation for h in folded.hits for v in h.versions] == ["duplicate"]
    assert [h.source_file for h in engine.search(SearchRequest(q="双减")).hits] == ["002_2026ea8a2fbe29df.txt"]
    assert engine.search(SearchRequest(q='title:"在全市校长会议上的讲话"')).total_docs == 0


def test_unreadable_files_are_reported_and_not_retried_when_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = seed_copy(tmp_path / "corpus")
    (corpus / "broken.pdf").write_bytes(b"not a pdf at all")
    (corpus / "bad.docx").write_bytes(b"PK\x03\x04 truncated")
    index_dir = tmp_path / "index"
    read: list[str] = []
    prepare = indexer.build.prepare_file

    def recording_prepare(task: FileTask) -> indexer.build.PreparedFile:
        read.append(Path(task[1]).name)
        return prepare(task)

    monkeypatch.setattr(indexer.build, "prepare_file", recording_prepare)
    skipped = [{"file": "bad.docx", "reason": "not a valid .docx (corrupt or truncated zip)"}, BROKEN_PDF]
    first = reindex([corpus], index_dir, incremental=True, progress=False, workers=1)
    assert first.skipped == skipped and first.files_read == 5
    assert sorted(read) == sorted([p.name for p in SEEDS] + ["bad.docx", "broken.pdf"])

    read.clear()
    changed = corpus / "003_da6a1b22c78f0c54.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    second = reindex([corpus], index_dir, incremental=True, progress=False, workers=1)
    assert read == ["003_da6a1b22c78f0c54.txt"]
    assert second.mode == "incremental" and second.skipped == skipped

    read.clear()
    third = reindex([corpus], index_dir, incremental=True, progress=False, workers=1)
    assert read == [] and third.mode == "up-to-date" and third.skipped == skipped


# -- the atomic swap -----------------------------------------------------------------------------
def test_sigkill_mid_build_leaves_the_previous_index_serving(served: Path, big_corpus: list[Path]) -> None:
    engine = SearchEngine(served)
    before, generation = results(engine), current_name(served)
    run = interrupt_mid_build(served, big_corpus, signal.SIGKILL)
    assert run.returncode == -signal.SIGKILL
    assert current_name(served) == generation
    assert results(engine) == before
    assert results(SearchEngine(served)) == before
    assert len(build_dirs(served)) == 1  # the killed build's directory, left behind
    summary = reindex([CORPUS], served, progress=False, workers=1)
    assert summary.generation != generation and current_name(served) == summary.generation
    assert build_dirs(served) == []
    assert engine.generation_name == summary.generation  # the running engine switched without a restart
    assert results(engine) == before


def test_sigint_mid_build_exits_130_and_keeps_the_previous_index(served: Path, big_corpus: list[Path]) -> None:
    engine = SearchEngine(served)
    before, generation = results(engine), current_name(served)
    run = interrupt_mid_build(served, big_corpus, signal.SIGINT)
    assert run.returncode == 130
    assert "interrupted: the previous index is unchanged" in run.stderr
    assert current_name(served) == generation
    assert results(engine) == before
    # The build removes its directory on the way out, but tantivy's indexing thread may still be
    # flushing a segment into it: whatever is left belongs to a dead process and the next build prunes it.
    assert len(build_dirs(served)) <= 1
    summary = reindex([CORPUS], served, progress=False, workers=1)
    assert build_dirs(served) == [] and current_name(served) == summary.generation
    assert results(engine) == before


def test_concurrent_reindex_is_refused_while_the_lock_is_held(served: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generation = current_name(served)
    with IndexLocation(served).lock():
        assert indexer_main(["reindex", "--corpus", str(CORPUS), "--index", str(served), "--workers", "1"]) == 3
        err = capsys.readouterr().err
        assert "another reindex" in err and f"pid {os.getpid()}" in err
    assert current_name(served) == generation and build_dirs(served) == []
    assert indexer_main(["reindex", "--corpus", str(CORPUS), "--index", str(served), "--workers", "1"]) == 0
    assert current_name(served) != generation


# -- the command line ------------------------------------------------------------------------------
def test_parse_a_text_file_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert indexer_main(["parse", str(CORPUS / "001_d2615397c1deb668.txt"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["title"], doc["year"], doc["doc_kind"]) == ("2023年XX区教育工作要点", 2023, "工作要点")
    sections = doc["sections"]
    assert len(sections) == 12 and sections[0]["start"] == 0
    assert all(a["end"] == b["start"] for a, b in zip(sections, sections[1:]))
    assert all(len(s["text"]) == s["end"] - s["start"] for s in sections)
    assert [s["heading"] for s in sections if s["level"] == 1] == [
        "一、以党的建设为统领,凝聚教育发展持久动力",
        "二、以全面发展为目标,落实立德树人根本任务",
        "三、以改革创新为驱动,推进教育内涵品质发展",
    ]


def test_parse_a_collection_prints_a_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "speeches.jsonl"
    lines = [
        {"title": "在2022年全市教育工作会议上的讲话", "content": "同志们：\n今天召开全市教育工作会议。\n一、过去一年的工作\n落实“双减”政策。\n二、今年的任务\n推进义务教育优质均衡发展。", "year": 2022},
        {"title": "关于课后服务的通知", "content": "各学校：\n做好课后服务工作。"},
    ]
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    assert indexer_main(["parse", str(path), "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert isinstance(docs, list)
    assert [(d["title"], d["source_file"]) for d in docs] == [
        ("在2022年全市教育工作会议上的讲话", "speeches.jsonl#1"),
        ("关于课后服务的通知", "speeches.jsonl#2"),
    ]
    assert docs[0]["year"] == 2022
    assert [s["heading"] for s in docs[0]["sections"] if s["level"] == 1] == ["一、过去一年的工作", "二、今年的任务"]


def test_parse_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert indexer_main(["parse", str(tmp_path / "missing.txt")]) == 2
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"not a pdf at all")
    assert indexer_main(["parse", str(broken)]) == 1
    assert "skipped:" in capsys.readouterr().err
    assert indexer_main(["parse", str(CORPUS / "003_da6a1b22c78f0c54.txt")]) == 0
    assert capsys.readouterr().out.startswith("教育局局长会议讲话  [年份未知 · 讲话 · 文库网页]")


def test_reindex_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index_dir = tmp_path / "index"
    assert indexer_main(["reindex", "--corpus", str(tmp_path / "missing"), "--index", str(index_dir)]) == 2
    assert "corpus path not found" in capsys.readouterr().err
    assert indexer_main(["reindex", "--corpus", str(CORPUS), "--index", str(index_dir), "--workers", "0"]) == 2
    assert not index_dir.exists()

    assert indexer_main(["reindex", "--corpus", str(CORPUS), "--index", str(index_dir), "--workers", "1", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == SUMMARY_KEYS
    assert (summary["mode"], summary["files"], summary["documents"], summary["sections"]) == ("full", 5, 5, 70)
    assert summary["generation"] == current_name(index_dir)

    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "broken.pdf").write_bytes(b"not a pdf at all")
    assert indexer_main(["reindex", "--corpus", str(unreadable), "--index", str(index_dir)]) == 1
    assert "the previous index (if any) is unchanged" in capsys.readouterr().err
    assert current_name(index_dir) == summary["generation"] and build_dirs(index_dir) == []

    assert indexer_main(["reindex", "--corpus", str(CORPUS), "--index", str(index_dir), "--incremental"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("up-to-date: ")
    assert out.splitlines()[-1] == f"index: {index_dir}/{summary['generation']}"


def test_stats_json(seed_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert indexer_main(["stats", "--index", str(seed_index), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert set(stats) == STATS_KEYS
    assert (stats["documents"], stats["sections"]) == (5, 70)
    assert stats["year"] == [["2021", 1, 15], ["2023", 3, 47], ["none", 1, 8]]
    assert stats["generation"] == current_name(seed_index)
    assert indexer_main(["stats", "--index", str(seed_index)]) == 0
    assert capsys.readouterr().out.startswith(f"index {stats['generation']}: 5 documents, 70 sections")
    assert indexer_main(["stats", "--index", str(tmp_path / "missing")]) == 4


@pytest.mark.shared
def test_parse_the_government_work_reports(capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_path("corpora", "gov_work_reports", "government_work_reports.jsonl")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert indexer_main(["parse", str(path), "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert len(docs) == len(records) == 72
    with_year = [(r, d) for r, d in zip(records, docs) if r["year"] is not None]
    assert len(with_year) == 52
    assert [d["year"] for _, d in with_year] == [int(r["year"]) for r, _ in with_year]
    numbered = re.compile(r"^[ \t\u3000]*([一二三四五六七八九十]+、.*)$", re.M)
    for record, doc in with_year:
        if int(record["year"]) < 1989:
            continue  # older reports number sub-lists 一、二、 too, not only the main parts
        level1 = ["".join(s["heading"].split()) for s in doc["sections"] if s["level"] == 1]
        assert level1 == ["".join(h.split()) for h in numbered.findall(record["content"])], record["title"]
        assert level1, record["title"]
    report_2025 = docs[0]
    assert report_2025["title"] == "2025年中华人民共和国国务院政府工作报告"
    assert [s["heading"] for s in report_2025["sections"] if s["level"] == 1] == [
        "一、2024年工作回顾",
        "二、2025年经济社会发展总体要求和政策取向",
        "三、2025年政府工作任务",
    ]


def test_a_collection_prepared_in_shares_indexes_as_one_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A .jsonl prepared as several record shares by the workers gives the documents, numbers,
    sections and reported errors of the same file prepared whole, each error once."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [
        json.dumps({"title": f"第{i}号报告", "year": 2000 + i, "content": f"一、关于教育工作\n第{i}号报告谈义务教育和职业教育。" * 20}, ensure_ascii=False)
        for i in range(40)
    ]
    lines.insert(7, "{not json")
    (corpus / "reports.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(indexer.build, "SHARE_BYTES", 4096)
    [scanned], _ = indexer.build.scan([corpus])
    assert len(indexer.build._tasks(scanned, True)) > 4 and len(indexer.build._tasks(scanned, False)) == 1

    shared = reindex([corpus], tmp_path / "shared", progress=False, workers=2)
    whole = reindex([corpus], tmp_path / "whole", progress=False, workers=1)
    assert (shared.documents, shared.files_read) == (whole.documents, whole.files_read) == (40, 1)
    assert shared.sections == whole.sections
    assert shared.skipped == whole.skipped == [{"file": "reports.jsonl#8", "reason": "line 8: invalid JSON (Expecting property name enclosed in double quotes)"}]

    def documents(index_dir: Path) -> list[tuple[str, int, int | None]]:
        store = DocStore(IndexLocation(index_dir).current() / S.DOCSTORE, readonly=True)
        try:
            return store.db.execute("SELECT doc_id, doc_num, year FROM documents ORDER BY doc_num").fetchall()
        finally:
            store.close()

    assert documents(tmp_path / "shared") == documents(tmp_path / "whole")
    assert [year for _, _, year in documents(tmp_path / "shared")] == list(range(2000, 2040))


def _prepare_or_die(task: FileTask) -> PreparedFile:
    """`prepare_file`, except that the worker given die.txt dies on the spot (as if killed)."""
    if Path(task.path).name == "die.txt":
        os._exit(3)
    return prepare_file(task)


def test_a_worker_that_dies_fails_the_build_and_the_previous_index_keeps_serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = seed_copy(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    reindex([corpus], index_dir, progress=False, workers=2)
    before = IndexLocation(index_dir).current()
    (corpus / "die.txt").write_text("关于教育工作的讲话\n\n一、总结\n今年双减落地。", encoding="utf-8")
    monkeypatch.setattr(indexer.workers, "prepare_file", _prepare_or_die)
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("the build hung after its worker died"))
    signal.alarm(60)
    try:
        with pytest.raises(BrokenProcessPool):
            reindex([corpus], index_dir, progress=False, workers=2)
    finally:
        signal.alarm(0)
    assert IndexLocation(index_dir).current() == before and not build_dirs(index_dir)
    assert total_docs(index_dir, "双减") == 2
