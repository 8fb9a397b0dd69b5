"""Reliability (issue #7): a corpus mixing good files with broken, odd and hostile ones.

The reindex runs as users run it (`python -m indexer reindex … --json` in a subprocess):
it must exit 0, index every good document and every good .jsonl line (each carries a
unique marker word, looked up in the generation's document store and through the search
engine), and list every bad file in `skipped` with a reason a corpus owner understands.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docx
import pypdf
import pytest

from search_app.engine import SearchEngine, SearchRequest
from speechindex import schema as S
from speechindex.location import IndexLocation
from tests.conftest import REPO
from tests.test_readers import make_text_pdf

CORPUS_NAME = "mixed"  # the corpus folder name, which prefixes some names in `skipped`
SPEECH = (
    "在全省教育工作会议上的讲话\n\n同志们：\n"
    "今天召开全省教育工作会议，主要任务是总结去年工作，部署今年任务。"
    "要坚持立德树人根本任务，推进义务教育优质均衡发展，深化教育评价改革。\n"
)


@dataclass(frozen=True)
class BuiltCorpus:
    """The mixed corpus: good markers (marker → source file) and bad files (source file → reason words)."""

    root: Path
    good: dict[str, str]
    bad: dict[str, tuple[str, ...]]


def speech(marker: str) -> str:
    """A short Chinese speech carrying one unique ASCII marker word."""
    return SPEECH + f"会议代号 {marker} 请各地认真落实。\n"


def blank_pdf(password: str | None = None) -> bytes:
    """A one-page PDF without any text (a scan without OCR), optionally encrypted."""
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=612, height=792)
    if password:
        # RC4 needs no optional crypto package, so the reader's own message is what we see.
        writer.encrypt(user_password=password, owner_password=password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def save_docx(path: Path, paragraphs: list[str]) -> None:
    """A valid .docx with the given paragraphs."""
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(str(path))


def nested_html(marker: str, depth: int = 5000) -> str:
    """A page whose text sits under `depth` nested tags (deeper than libxml2 parses)."""
    return (
        "<html><head><title>深层嵌套页面</title></head><body>"
        + "<div><span>" * (depth // 2)
        + speech(marker)
        + "</span></div>" * (depth // 2)
        + "</body></html>"
    )


def build_corpus(root: Path) -> BuiltCorpus:
    """Write the mixed corpus under `root` and say what should be indexed and what skipped."""
    root.mkdir(parents=True)
    good: dict[str, str] = {}
    bad: dict[str, tuple[str, ...]] = {}

    def good_text(name: str, marker: str, encoding: str = "utf-8") -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(speech(marker).encode(encoding))
        good[marker] = name

    good_text("plain.txt", "mkplainutf")
    good_text("gbk.txt", "mkgbktext", "gbk")
    good_text("utf16.txt", "mkutfsixteen", "utf-16")  # with BOM
    good_text("utf16le-nobom.md", "mklittleendian", "utf-16-le")
    good_text("name with spaces.txt", "mkspacesname")
    good_text("教育 讲话 稿件.md", "mkchinesename")
    good_text("子目录/二级 目录/深处.txt", "mksubfolder")
    # A folder whose name looks like a file: walked into like any folder, never read as a file.
    good_text("folder.txt/inside.txt", "mkfolderlike")

    save_docx(root / "good.docx", ["全省教育工作会议讲话", speech("mkgooddocx")])
    good["mkgooddocx"] = "good.docx"
    (root / "good.pdf").write_bytes(make_text_pdf("Education work conference mkgoodpdf keynote speech"))
    good["mkgoodpdf"] = "good.pdf"
    (root / "good.html").write_text(
        f"<html><head><meta charset='utf-8'><title>教育工作会议</title></head><body><article><p>"
        f"{speech('mkgoodhtml')}</p></article></body></html>",
        encoding="utf-8",
    )
    good["mkgoodhtml"] = "good.html"
    (root / "nested.html").write_text(nested_html("mknestedhtml"), encoding="utf-8")
    good["mknestedhtml"] = "nested.html"

    records = [
        json.dumps({"title": "第一篇讲话", "content": speech("mkjsonlone"), "year": 2021}, ensure_ascii=False),
        '{"title": "坏行", "content": "没有结束',  # line 2: invalid JSON
        json.dumps({"title": "第二篇讲话", "text": speech("mkjsonltwo"), "year": 2022}, ensure_ascii=False),
        "[1, 2, 3]",  # line 4: not an object
        json.dumps({"title": "没有正文"}, ensure_ascii=False),  # line 5: no content
        json.dumps({"title": "正文不是字符串", "content": 42}, ensure_ascii=False),  # line 6
        "",
        json.dumps({"title": "第三篇讲话", "content": speech("mkjsonlthree")}, ensure_ascii=False),
    ]
    (root / "records.jsonl").write_text("\n".join(records) + "\n", encoding="utf-8")
    good.update({"mkjsonlone": "records.jsonl#1", "mkjsonltwo": "records.jsonl#3", "mkjsonlthree": "records.jsonl#8"})
    bad["records.jsonl#2"] = ("line 2", "invalid json")
    bad["records.jsonl#4"] = ("line 4", "not a json object")
    bad["records.jsonl#5"] = ("line 5", "no 'content'")
    bad["records.jsonl#6"] = ("line 6", "not a string")

    (root / "empty.txt").write_bytes(b"")
    bad["empty.txt"] = ("empty",)
    (root / "whitespace.md").write_text(" \n\t\n", encoding="utf-8")
    bad["whitespace.md"] = ("no text",)
    (root / "picture.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64)
    bad["picture.txt"] = ("binary",)
    (root / "noise.txt").write_bytes(os.urandom(4096).replace(b"\x00", b"\x01") + b"\x00" * 64)
    bad["noise.txt"] = ("binary",)

    save_docx(root / "whole.docx", ["这份文件会被截断", speech("mktruncated")])
    data = (root / "whole.docx").read_bytes()
    (root / "whole.docx").unlink()
    (root / "truncated.docx").write_bytes(data[: len(data) // 2])
    bad["truncated.docx"] = ("docx", "corrupt or truncated")

    (root / "locked.pdf").write_bytes(blank_pdf(password="secret"))
    bad["locked.pdf"] = ("encrypted",)
    (root / "scan.pdf").write_bytes(blank_pdf())
    bad["scan.pdf"] = ("text layer",)

    (root / "dangling.txt").symlink_to(root / "no-such-target.txt")
    bad["dangling.txt"] = ("no such file",)
    return BuiltCorpus(root, good, bad)


def run_reindex(corpus: Path, index: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    """`python -m indexer reindex --json` in a subprocess: the completed process and its JSON summary."""
    proc = subprocess.run(
        [sys.executable, "-m", "indexer", "reindex", "--corpus", str(corpus), "--index", str(index), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    summary = json.loads(proc.stdout) if proc.returncode == 0 else {}
    return proc, summary


def stored_texts(index: Path) -> dict[str, str]:
    """source_file → full text of every document in the served generation's document store."""
    db = sqlite3.connect(f"file:{IndexLocation(index).current() / S.DOCSTORE}?mode=ro", uri=True)
    try:
        records = [json.loads(row[0]) for row in db.execute("SELECT record FROM documents")]
    finally:
        db.close()
    return {record["source_file"]: record["text"] for record in records}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltCorpus, Path, subprocess.CompletedProcess[str], dict]:
    """The mixed corpus, reindexed once: (corpus, index dir, process, JSON summary)."""
    base = tmp_path_factory.mktemp("reliability-files")
    corpus = build_corpus(base / CORPUS_NAME)
    index = base / "index"
    proc, summary = run_reindex(corpus.root, index)
    return corpus, index, proc, summary


def test_reindex_of_a_mixed_corpus_exits_0(mixed) -> None:
    _corpus, index, proc, summary = mixed
    assert proc.returncode == 0, proc.stderr
    assert summary["mode"] == "full"
    assert summary["generation"] == IndexLocation(index).current().name


def test_every_good_document_and_jsonl_line_is_indexed(mixed) -> None:
    corpus, index, proc, summary = mixed
    assert proc.returncode == 0, proc.stderr
    texts = stored_texts(index)
    assert summary["documents"] == len(corpus.good) == len(texts)
    for marker, source in corpus.good.items():
        holders = [name for name, text in texts.items() if marker in text]
        assert holders == [source], (marker, holders)


def test_every_good_document_is_found_by_its_marker(mixed) -> None:
    corpus, index, _proc, _summary = mixed
    engine = SearchEngine(index)
    for marker, source in corpus.good.items():
        result = engine.search(SearchRequest(q=marker))
        found = [hit.source_file for hit in result.hits]
        assert len(found) == 1 and found[0].endswith(source), (marker, found)


def test_every_bad_file_is_skipped_with_a_clear_reason(mixed) -> None:
    corpus, _index, proc, summary = mixed
    assert proc.returncode == 0, proc.stderr
    # Scan-time problems name the file key ("mixed/x"), read errors the path in the corpus ("x").
    reasons = {item["file"].removeprefix(f"{CORPUS_NAME}/"): item["reason"] for item in summary["skipped"]}
    assert set(reasons) == set(corpus.bad), json.dumps(summary["skipped"], ensure_ascii=False, indent=1)
    for name, words in corpus.bad.items():
        for word in words:
            assert word in reasons[name].lower(), (name, reasons[name])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permission bits (the dangling symlink stands in)")
def test_a_file_without_read_permission_is_skipped(tmp_path: Path) -> None:
    corpus = tmp_path / "perm"
    corpus.mkdir()
    (corpus / "ok.txt").write_text(speech("mkreadableok"), encoding="utf-8")
    forbidden = corpus / "forbidden.txt"
    forbidden.write_text(speech("mkforbidden"), encoding="utf-8")
    forbidden.chmod(0)
    try:
        proc, summary = run_reindex(corpus, tmp_path / "index")
    finally:
        forbidden.chmod(0o644)  # let pytest clean up
    assert proc.returncode == 0, proc.stderr
    assert summary["documents"] == 1
    [item] = summary["skipped"]
    assert item["file"].endswith("forbidden.txt") and "permission denied" in item["reason"]


def test_the_human_summary_lists_the_skipped_files(tmp_path: Path) -> None:
    corpus = tmp_path / "small"
    corpus.mkdir()
    (corpus / "ok.txt").write_text(speech("mkhumanok"), encoding="utf-8")
    (corpus / "空 文件.txt").write_bytes(b"")
    proc = subprocess.run(
        [sys.executable, "-m", "indexer", "reindex", "--corpus", str(corpus), "--index", str(tmp_path / "i")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipped: 空 文件.txt: empty file" in proc.stdout
    assert "1 documents" in proc.stdout and "skipped 1" in proc.stdout


def test_a_corpus_of_only_bad_files_exits_1_and_keeps_the_previous_index(tmp_path: Path) -> None:
    good, broken, index = tmp_path / "good", tmp_path / "broken", tmp_path / "index"
    good.mkdir()
    broken.mkdir()
    (good / "ok.txt").write_text(speech("mkpreviousok"), encoding="utf-8")
    (broken / "empty.txt").write_bytes(b"")
    (broken / "scan.pdf").write_bytes(blank_pdf())
    assert run_reindex(good, index)[0].returncode == 0
    before = (index / "CURRENT").read_text()
    proc, _ = run_reindex(broken, index)
    assert proc.returncode == 1
    assert "no document could be read" in proc.stderr and "unchanged" in proc.stderr
    assert (index / "CURRENT").read_text() == before
    assert SearchEngine(index).search(SearchRequest(q="mkpreviousok")).total_docs == 1


@pytest.mark.slow
def test_a_50_mb_text_file_is_indexed_not_skipped(tmp_path: Path) -> None:
    corpus = tmp_path / "big"
    corpus.mkdir()
    paragraph = "教育是国之大计、党之大计。要坚持立德树人根本任务，深化教育评价改革，推进义务教育优质均衡发展。\n"
    copies = 50 * 2**20 // len(paragraph.encode("utf-8")) + 1
    with open(corpus / "大文件 50MB.txt", "w", encoding="utf-8") as out:
        out.write("五十兆字节的讲话稿\n\n开头标记 mkbigstart 。\n")
        for _ in range(copies // 1000 + 1):
            out.write(paragraph * 1000)
        out.write("结尾标记 mkbigend 。\n")
    size = (corpus / "大文件 50MB.txt").stat().st_size
    assert size >= 50 * 2**20
    started = time.perf_counter()
    proc, summary = run_reindex(corpus, tmp_path / "index")
    assert proc.returncode == 0, proc.stderr
    assert summary["skipped"] == []
    # Longer than $EDU_SEARCH_MAX_DOC_CHARS: indexed as parts, none dropped (issue #16).
    parts = summary["documents"]
    assert summary["files_read"] == 1 and parts >= size // 3 // 2_000_000
    assert summary["mb"] >= size / 1e6 - 0.01
    # Checked in the document store: a search would build snippets over one 50 MB section, which is slow.
    texts = stored_texts(tmp_path / "index")
    assert "mkbigstart" in texts["大文件 50MB.txt#part1"][:100]
    assert "mkbigend" in texts[f"大文件 50MB.txt#part{parts}"][-100:]
    assert time.perf_counter() - started < 180
