"""Reliability (issue #16): hostile files and corrupt indexes on the write side.

Each test reproduces one defect of the issue with the issue's own commands, as fixtures
made in a temporary directory: nothing a reader gets text from may be lost silently, no
hostile file may stop or swamp a reindex, and any damage to an index becomes one message
that says what to run (exit 4 on the command line, 503 from the server), never a traceback.
"""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import indexer.build
from indexer.clean import clean_text, load_patterns
from indexer.cli import main as indexer_main
from indexer.readers import read_file
from search_app.web import create_app
from speechindex import schema as S
from speechindex.location import CURRENT
from tests.conftest import REPO
from tests.test_reliability_files import SPEECH, save_docx, stored_texts

GBK_NAME = "啊.txt".encode("gbk")  # b"\xb0\xa1.txt": not valid UTF-8
EXIT_INDEX = 4


def reindex(corpus: Path, index: Path, *extra: str) -> tuple[int, dict, str]:
    """`python -m indexer reindex --json` in process: (exit code, summary, stderr)."""
    return _run(["reindex", "--corpus", str(corpus), "--index", str(index), "--workers", "1", "--json", *extra])


def _run(argv: list[str]) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = indexer_main(argv)
    finally:
        sys.stdout, sys.stderr = saved
    text = out.getvalue()
    summary = json.loads(text) if code == 0 and text.startswith("{") else {}
    return code, summary, err.getvalue() + ("" if summary else text)


def write_speeches(folder: Path, count: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (folder / f"speech{n}.txt").write_text(SPEECH + f"标记词样本{n}。\n", encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small good index (corpus, index) that tests copy before damaging it."""
    root = tmp_path_factory.mktemp("built")
    write_speeches(root / "corpus")
    code, _summary, err = reindex(root / "corpus", root / "index")
    assert code == 0, err
    return root / "corpus", root / "index"


def copy_index(built: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    corpus, index = built
    target = tmp_path / "index"
    subprocess.run(["cp", "-a", str(index), str(target)], check=True)
    return corpus, target


def generation(index: Path) -> Path:
    return index / (index / CURRENT).read_text(encoding="utf-8").strip()


# -- defect 1: file names that are not UTF-8 ------------------------------------------------


def gbk_named_corpus(folder: Path, text: str) -> Path:
    """The issue's command: a folder holding one file whose name is GBK bytes."""
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), GBK_NAME), "w", encoding="utf-8") as fh:
        fh.write(text)
    return folder


def test_defect1_a_gbk_file_name_is_indexed_under_its_chinese_name(tmp_path: Path) -> None:
    corpus = gbk_named_corpus(tmp_path / "x", "教育会议")
    (corpus / "ok.txt").write_text("教育\n", encoding="utf-8")
    code, summary, err = reindex(corpus, tmp_path / "xi")
    assert code == 0, err
    assert summary["documents"] == 2 and summary["skipped"] == []
    assert set(stored_texts(tmp_path / "xi")) == {"啊.txt", "ok.txt"}
    code, summary, err = reindex(corpus, tmp_path / "xi", "--incremental")
    assert code == 0 and summary["mode"] == "up-to-date", err


def test_defect1_a_gbk_name_equal_to_a_utf8_one_keeps_both_files(tmp_path: Path) -> None:
    corpus = gbk_named_corpus(tmp_path / "x", "第一份教育会议讲话。")
    (corpus / "啊.txt").write_text("第二份教育会议讲话。", encoding="utf-8")
    code, summary, err = reindex(corpus, tmp_path / "xi")
    assert code == 0 and summary["documents"] == 2, err
    texts = stored_texts(tmp_path / "xi")
    assert texts["啊.txt"].startswith("第二份") and texts["\\xb0\\xa1.txt"].startswith("第一份")


# -- defect 2: resource limits ----------------------------------------------------------------


def zip_bomb_docx(path: Path, inflated_bytes: int) -> None:
    """A .docx whose word/document.xml inflates to `inflated_bytes` (zeros compress ~1000:1)."""
    save_docx(path, ["正常段落。"])
    with zipfile.ZipFile(path) as original:
        parts = {info.filename: original.read(info) for info in original.infolist()}
    parts["word/document.xml"] += b" " * inflated_bytes
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for name, data in parts.items():
            bomb.writestr(name, data)


def test_defect2_a_docx_inflating_past_the_member_limit_is_skipped_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDU_SEARCH_MAX_MEMBER_MB", "1")
    corpus = tmp_path / "c"
    write_speeches(corpus, 1)
    zip_bomb_docx(corpus / "bomb.docx", 3 * 2**20)
    assert (corpus / "bomb.docx").stat().st_size < 100_000
    started = time.perf_counter()
    code, summary, err = reindex(corpus, tmp_path / "i")
    assert code == 0, err
    assert time.perf_counter() - started < 30
    assert summary["documents"] == 1
    [skip] = summary["skipped"]
    assert skip["file"] == "bomb.docx"
    assert "archive member word/document.xml (decompressed) too large (3 MB; the limit is 1 MB" in skip["reason"]
    assert "EDU_SEARCH_MAX_MEMBER_MB" in skip["reason"]


def test_defect2_the_decompressed_total_of_an_archive_is_capped_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDU_SEARCH_MAX_FILE_MB", "2")
    zip_bomb_docx(tmp_path / "bomb.docx", 3 * 2**20)
    [error] = read_file(tmp_path / "bomb.docx", tmp_path).errors
    assert "too large" in error.reason and "EDU_SEARCH_MAX_FILE_MB" in error.reason


def test_defect2_a_file_over_the_size_limit_is_skipped_with_the_limit_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDU_SEARCH_MAX_FILE_MB", "0.5")
    (tmp_path / "big.txt").write_text("教育" * 200_000, encoding="utf-8")  # 1.2 MB, one line
    [error] = read_file(tmp_path / "big.txt", tmp_path).errors
    assert error.reason == "file too large (1 MB; the limit is 0 MB, set by $EDU_SEARCH_MAX_FILE_MB)"


def test_defect2_a_long_document_is_indexed_in_parts_cut_at_paragraph_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDU_SEARCH_MAX_DOC_CHARS", "1000")
    paragraphs = [f"第{n}段：推进教育强国建设，落实立德树人根本任务。" + "深化改革。" * 40 for n in range(12)]
    text = "\n".join(paragraphs) + "\n"
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "long.txt").write_text(text, encoding="utf-8")
    raw = read_file(corpus / "long.txt", corpus).documents
    assert len(raw) > 1 and "".join(d.text for d in raw) == text  # nothing dropped
    assert all(d.text.endswith("\n") and len(d.text) <= 1000 for d in raw)
    assert [d.source_file for d in raw] == [f"long.txt#part{n}" for n in range(1, len(raw) + 1)]
    assert f"indexed as {len(raw)} parts, this is part 2" in raw[1].warnings[-1]
    code, summary, err = reindex(corpus, tmp_path / "i")
    assert code == 0 and summary["documents"] == len(raw) and summary["skipped"] == [], err
    assert f"long.txt: {len(text)} characters, indexed as {len(raw)} parts" in summary["notes"]
    stored = "".join(t for _name, t in sorted(stored_texts(tmp_path / "i").items()))
    for n in range(12):
        assert f"第{n}段" in stored


def test_defect2_a_large_file_is_analysed_one_part_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files over STREAM_BYTES are streamed part by part in the parent: same index, same summary."""
    monkeypatch.setenv("EDU_SEARCH_MAX_DOC_CHARS", "1000")
    monkeypatch.setattr(indexer.build, "STREAM_BYTES", 2000)
    corpus = tmp_path / "c"
    write_speeches(corpus, 2)
    (corpus / "long.txt").write_text("".join(f"第{n}段：推进教育强国建设。\n" * 30 for n in range(5)), encoding="utf-8")
    (corpus / "footer.txt").write_text("本网站备案号：京ICP备12345678号\n" * 100, encoding="utf-8")  # streamed, skipped
    code, summary, err = _run(["reindex", "--corpus", str(corpus), "--index", str(tmp_path / "i"), "--workers", "2", "--json"])
    assert code == 0, err
    parts = [name for name in stored_texts(tmp_path / "i") if name.startswith("long.txt#part")]
    assert len(parts) > 1 and summary["documents"] == 2 + len(parts) and summary["files_read"] == 3
    skipped = [item["file"] for item in summary["skipped"]]
    assert skipped and all(name.startswith("footer.txt#part") for name in skipped)
    code, again, err = reindex(corpus, tmp_path / "i", "--incremental")
    assert code == 0 and again["mode"] == "up-to-date" and again["documents"] == summary["documents"], err
    assert [item["file"] for item in again["skipped"]] == skipped


def test_defect2_a_bad_limit_setting_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDU_SEARCH_MAX_FILE_MB", "lots")
    code, _summary, err = _run(["stats", "--index", "/nonexistent"])
    assert code == 2 and "$EDU_SEARCH_MAX_FILE_MB must be a positive number, not 'lots'" in err


# -- defect 3: NUL bytes ----------------------------------------------------------------------


def test_defect3_one_nul_byte_in_a_utf8_jsonl_costs_nothing(tmp_path: Path) -> None:
    lines = [json.dumps({"title": f"讲话{n}", "content": f"第{n}次教育工作会议讲话。"}, ensure_ascii=False) for n in range(900)]
    lines[3] = lines[3].replace("教育", "教\x00育")
    (tmp_path / "c.jsonl").write_bytes("\n".join(lines).encode("utf-8"))
    result = read_file(tmp_path / "c.jsonl", tmp_path)
    assert result.errors == [] and len(result.documents) == 900
    assert result.documents[3].text == "第3次教育工作会议讲话。"


def test_defect3_a_txt_with_a_stray_nul_is_read_without_it(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_bytes(SPEECH.encode("utf-8").replace("会议".encode(), "会\x00议".encode(), 1))
    result = read_file(tmp_path / "s.txt", tmp_path)
    assert result.errors == [] and result.documents[0].text == SPEECH


def test_defect3_utf16_without_bom_and_binary_with_nuls_are_still_told_apart(tmp_path: Path) -> None:
    (tmp_path / "u.txt").write_bytes(SPEECH.encode("utf-16-le"))
    (tmp_path / "b.txt").write_bytes(bytes(range(256)) * 40)
    assert read_file(tmp_path / "u.txt", tmp_path).documents[0].text == SPEECH
    [error] = read_file(tmp_path / "b.txt", tmp_path).errors
    assert "binary file" in error.reason


# -- defect 4: chrome patterns never eat a speech silently -------------------------------------


def test_defect4_an_icp_footer_glued_to_a_speech_removes_only_the_footer(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("同志们：推进双减工作。本网站备案号：京ICP备12345678号\n", encoding="utf-8")
    code, doc, err = _run(["parse", str(tmp_path / "s.txt"), "--json"])
    assert code == 0, err
    assert doc["sections"][0]["text"] == "同志们：推进双减工作。"


def test_defect4_whole_chrome_lines_are_still_dropped_whole() -> None:
    disclaimer = next(p for p in load_patterns() if p.name == "site_disclaimer").example
    text = f"{SPEECH}{disclaimer}\n京ICP备12345678号\n"
    assert clean_text(text).text == SPEECH.strip()


def test_defect4_a_document_that_is_all_chrome_is_reported_not_indexed_empty(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    write_speeches(corpus, 1)
    (corpus / "footer.txt").write_text("本网站备案号：京ICP备12345678号\n", encoding="utf-8")
    code, summary, err = reindex(corpus, tmp_path / "i")
    assert code == 0, err
    assert summary["documents"] == 1
    assert summary["skipped"] == [{"file": "footer.txt", "reason": "no text left after removing page chrome (icp_license)"}]


# -- defects 6 and 7: corrupt indexes ----------------------------------------------------------

DAMAGE = {
    "CURRENT not UTF-8": lambda index: (index / CURRENT).write_bytes(b"\xff"),
    "CURRENT 10 MB": lambda index: (index / CURRENT).write_bytes(b"\0" * 10_000_000),
    "CURRENT names nothing": lambda index: (index / CURRENT).write_text("gen-gone\n"),
    "documents.sqlite missing": lambda index: (generation(index) / S.DOCSTORE).unlink(),
    "documents.sqlite garbage": lambda index: (generation(index) / S.DOCSTORE).write_bytes(b"garbage" * 1000),
    "meta.json garbage": lambda index: (generation(index) / "meta.json").write_text("garbage"),
    "manifest.json garbage": lambda index: (generation(index) / S.MANIFEST).write_text("{"),
    "segment file missing": lambda index: next(generation(index).glob("*.idx")).unlink(),
}


def repair(index: Path, corpus: Path, damage: str) -> str:
    """The command the message must give: the corpora come from the manifest, when it is readable."""
    command = f"python -m indexer reindex --index {index}"
    return command if damage == "manifest.json garbage" else f"{command} --corpus {corpus.resolve()}"


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_defect7_check_names_the_damage_and_the_command_that_repairs_it(built, tmp_path: Path, damage: str) -> None:
    corpus, index = copy_index(built, tmp_path)
    assert _run(["check", "--index", str(index)])[0] == 0
    DAMAGE[damage](index)
    code, _summary, err = _run(["check", "--index", str(index)])
    assert code == EXIT_INDEX
    assert err.startswith(f"error: the index at {index} is damaged: ")
    assert err.rstrip().endswith(f"rebuild it with `{repair(index, corpus, damage)}`")
    code, _summary, stats_err = _run(["stats", "--index", str(index)])
    assert code == EXIT_INDEX and "is damaged" in stats_err


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_defect7_the_server_answers_503_with_the_repair_command(built, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    corpus, index = copy_index(built, tmp_path)
    DAMAGE[damage](index)
    client = create_app({"INDEX_DIR": index, "TESTING": True}).test_client()
    with caplog.at_level(logging.WARNING):
        page = client.get("/search?q=教育")
        api = client.get("/api/search?q=教育")
    assert page.status_code == 503 and "检索索引已损坏" in page.get_data(as_text=True)
    assert api.status_code == 503
    command, expected = api.get_json()["command"], repair(index, corpus, damage)
    # The page may shorten the index path (no absolute paths shown); the corpora must match.
    assert command.startswith("python -m indexer reindex --index ")
    assert command.split(" --corpus ")[1:] == expected.split(" --corpus ")[1:]
    # Defect 10: one short line per request, not a traceback (10 MB of it for a 10 MB CURRENT).
    assert all(record.exc_info is None for record in caplog.records)
    assert sum(len(record.getMessage()) for record in caplog.records) < 2000


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("incremental", [False, True], ids=["full", "incremental"])
def test_defect6_reindex_repairs_any_damage(built, tmp_path: Path, damage: str, incremental: bool) -> None:
    corpus, index = copy_index(built, tmp_path)
    DAMAGE[damage](index)
    code, summary, err = reindex(corpus, index, *(["--incremental"] if incremental else []))
    assert code == 0, err
    assert summary["mode"] == "full" and summary["documents"] == 2
    assert _run(["check", "--index", str(index)])[0] == 0
    client = create_app({"INDEX_DIR": index, "TESTING": True}).test_client()
    assert client.get("/api/search?q=标记词样本1").get_json()["total_docs"] == 1


# -- defect 8: a bad --index --------------------------------------------------------------------


def test_defect8_an_index_path_that_is_a_file_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    write_speeches(tmp_path / "c", 1)
    (tmp_path / "afile").write_text("x")
    for argv in (
        ["reindex", "--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "afile")],
        ["stats", "--index", str(tmp_path / "afile")],
        ["check", "--index", str(tmp_path / "afile")],
    ):
        code, _summary, err = _run(argv)
        assert code == EXIT_INDEX, argv
        assert "is a file" in err and "Traceback" not in err
    proc = subprocess.run(
        [sys.executable, "-m", "search_app", "search", "教育", "--index", str(tmp_path / "afile")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0 and "is a file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_defect8_a_read_only_index_directory_is_a_message(tmp_path: Path) -> None:
    write_speeches(tmp_path / "c", 1)
    (tmp_path / "ro").mkdir(mode=0o555)
    code, _summary, err = _run(["reindex", "--corpus", str(tmp_path / "c"), "--index", str(tmp_path / "ro")])
    assert code == EXIT_INDEX and "cannot write an index to" in err


# -- defect 10: the write-side remainder ----------------------------------------------------------


def test_defect10_nothing_indexed_still_lists_each_files_reason(tmp_path: Path) -> None:
    (tmp_path / "afile.txt").write_bytes(b"")
    code, _summary, err = _run(["reindex", "--corpus", str(tmp_path / "afile.txt"), "--index", str(tmp_path / "i")])
    assert code == 1
    assert "skipped: afile.txt: empty file" in err
    assert "no document could be read" in err


def test_defect10_lone_surrogates_and_nuls_in_records_are_replaced_with_a_warning(tmp_path: Path) -> None:
    lines = [
        '{"title": "讲话\\ud800", "content": "教育\\udc00会议讲话。"}',
        '{"title": "讲话", "content": "教育\\u0000会议讲话。"}',
        '{"title": "讲话", "content": "\\ud83d\\ude00 教育会议讲话。"}',  # a proper pair stays
    ]
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "r.jsonl").write_text("\n".join(lines), encoding="utf-8")
    docs = read_file(tmp_path / "c" / "r.jsonl", tmp_path / "c").documents
    assert [d.text for d in docs] == ["教育\ufffd会议讲话。", "教育会议讲话。", "😀 教育会议讲话。"]
    assert docs[0].title == "讲话\ufffd"
    assert any("lone UTF-16 surrogates" in w for w in docs[0].warnings)
    code, summary, err = reindex(tmp_path / "c", tmp_path / "i")
    assert code == 0 and summary["documents"] == 3 and summary["skipped"] == [], err


def test_defect10_stats_piped_into_head_exits_quietly(built) -> None:
    """`indexer stats | head`, with the reader gone before the first line (the worst case of head)."""
    _corpus, index = built
    proc = subprocess.Popen(
        [sys.executable, "-m", "indexer", "stats", "--index", str(index)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == ""


def test_defect10_sigterm_stops_a_reindex_cleanly(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    for n in range(300):
        (corpus / f"{n:03}.txt").write_text((SPEECH * 20) + f"样本{n}。", encoding="utf-8")
    index = tmp_path / "i"
    proc = subprocess.Popen(
        [sys.executable, "-m", "indexer", "reindex", "--corpus", str(corpus), "--index", str(index), "--workers", "2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not list(index.glob(".build-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted: the previous index is unchanged" in err
    assert list(index.glob(".build-*")) == [] and not (index / CURRENT).exists()


# -- property: whatever the names and records, nothing is lost silently ------------------------

_names = st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b and not b.startswith(b".") and b not in (b"..",))
_texts = st.text(
    alphabet=st.one_of(st.sampled_from("教育会议讲话。\n\x00"), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)),
    min_size=1,
    max_size=30,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_names, min_size=1, max_size=4, unique=True), records=st.lists(_texts, min_size=1, max_size=6))
def test_every_file_and_record_is_indexed_or_listed_with_a_reason(tmp_path_factory: pytest.TempPathFactory, names: list[bytes], records: list[str]) -> None:
    root = tmp_path_factory.mktemp("prop")
    corpus = os.path.join(os.fsencode(root), b"c")
    os.mkdir(corpus)
    for n, name in enumerate(names):
        with open(os.path.join(corpus, name + b".txt"), "wb") as fh:
            fh.write(f"第{n}份教育会议讲话。".encode())
    lines = [json.dumps({"content": text}) for text in records]  # \u escapes: NULs and lone surrogates survive
    with open(os.path.join(corpus, b"records.jsonl"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    code, summary, err = reindex(root / "c", root / "i")
    assert code in (0, 1), err
    if code == 1:
        assert "skipped: " in err
        return
    indexed = stored_texts(root / "i")
    skipped = {item["file"] for item in summary["skipped"]}
    assert len(names) + len(records) == summary["documents"] + len(skipped)
    assert all(f"records.jsonl#{n}" in indexed or f"records.jsonl#{n}" in skipped for n in range(1, len(records) + 1))
    assert sum(1 for key in indexed if not key.startswith("records.jsonl")) == len(names)
    assert all("\0" not in text and "\ud800" not in text for text in indexed.values())
