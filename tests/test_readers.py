"""Tests of indexer.readers: decoding, each format, collections, corpus walking, failures."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import docx
import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import indexer.readers as readers
from indexer.readers import SUPPORTED_SUFFIXES, ReadResult, iter_corpus_files, read_file
from indexer.readers import text as text_reader
from speechindex.errors import CorpusError
from tests.conftest import shared_path

SPEECH = "在全市校长会议上的讲话\n同志们：今天我们召开教育工作会议。"


def write(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write bytes or encoded text to `path` (creating folders) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def read_one(path: Path, root: Path | None = None) -> readers.RawDocument:
    """Read a single-document file and return its document, asserting no error."""
    result = read_file(path, root or path.parent)
    assert result.errors == [], [str(error) for error in result.errors]
    assert len(result.documents) == 1
    return result.documents[0]


def read_error(path: Path, root: Path | None = None) -> CorpusError:
    """Read a file that must fail and return its single error."""
    result = read_file(path, root or path.parent)
    assert result.documents == []
    assert len(result.errors) == 1
    return result.errors[0]


def make_text_pdf(text: str, title: str = "Education Work Report") -> bytes:
    """A minimal valid PDF whose one page draws `text` (ASCII) in Helvetica."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (%s) >>" % title.encode("ascii"),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def make_docx(path: Path, paragraphs: list[str], title: str | None = None) -> Path:
    """A .docx with the given paragraphs and a 2x2 table, saved to `path`."""
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("指标", "数值"), ("学校数", "12")]):
        for cell, value in zip(row.cells, cells):
            cell.text = value
    if title is not None:
        document.core_properties.title = title
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


# --- text decoding -------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding",
    ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gbk", "gb18030"],
)
def test_text_encodings_decode_exactly(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path / "speech.txt", SPEECH, encoding)
    document = read_one(path)
    assert document.text == SPEECH
    assert document.fmt == "txt"
    assert document.source_file == "speech.txt"


def test_utf16_be_with_bom_and_ascii_utf16_without_bom(tmp_path: Path) -> None:
    with_bom = write(tmp_path / "be.txt", b"\xfe\xff" + SPEECH.encode("utf-16-be"))
    assert read_one(with_bom).text == SPEECH
    ascii_text = "Education work report 2023\nSecond line"
    for encoding in ("utf-16-le", "utf-16-be"):
        path = write(tmp_path / f"{encoding}.txt", ascii_text, encoding)
        assert read_one(path).text == ascii_text


def test_gb18030_only_characters(tmp_path: Path) -> None:
    # U+4DAE is outside GBK: GB18030 encodes it with four bytes.
    text = SPEECH + "䶮"
    assert read_one(write(tmp_path / "a.txt", text, "gb18030")).text == text


def test_damaged_bytes_keep_the_right_encoding() -> None:
    text = SPEECH * 5
    # UTF-8 cut in the middle of the last character must not turn into GB18030 mojibake.
    cut = text.encode("utf-8")[:-1]
    assert text_reader.decode_bytes(cut, "cut.txt") == text[:-1] + "\ufffd"
    # A damaged byte in GBK text stays local: the following lines decode correctly.
    damaged = bytearray(text.encode("gbk"))
    damaged[4] = 0xFF
    decoded = text_reader.decode_bytes(bytes(damaged), "gbk.txt")
    assert "\ufffd" in decoded
    assert decoded.split("\n", 1)[1] == text.split("\n", 1)[1]


def test_newlines_are_normalised(tmp_path: Path) -> None:
    path = write(tmp_path / "crlf.txt", "第一行\r\n第二行\r第三行\n")
    assert read_one(path).text == "第一行\n第二行\n第三行\n"


def test_short_gbk_is_not_misread() -> None:
    # Short GBK bytes that charset-normalizer alone may call big5 or cp1252.
    for sample in ("教育", "讲话。", "同志们："):
        assert text_reader.decode_bytes(sample.encode("gbk"), "x.txt") == sample


def test_empty_and_whitespace_files(tmp_path: Path) -> None:
    assert read_error(write(tmp_path / "empty.txt", b"")).reason == "empty file"
    error = read_error(write(tmp_path / "blank.txt", " \n\t\u3000\n"))
    assert error.reason.startswith("no text")
    assert error.path == "blank.txt"


def test_png_named_txt_is_rejected(tmp_path: Path) -> None:
    rng = random.Random(7)
    data = b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(2000))
    error = read_error(write(tmp_path / "picture.txt", data))
    assert error.reason == "binary file (looks like PNG image), not text"


def test_random_binary_without_magic_is_rejected(tmp_path: Path) -> None:
    rng = random.Random(11)
    data = bytes(rng.randrange(256) for _ in range(4000))
    error = read_error(write(tmp_path / "noise.txt", data))
    assert error.reason.startswith("binary file")


def test_markdown_title_headings_and_comment_marker(tmp_path: Path) -> None:
    source = "# 教育督导条例\n\n2012年9月9日公布\n\n<!-- INFO END -->\n\n## 第一章 总则\n\n第一条 为了……\n"
    document = read_one(write(tmp_path / "law.md", source))
    assert document.fmt == "md"
    assert document.title == "教育督导条例"
    # Headings are plain lines of the text, listed in the outline; the comment is gone.
    assert document.text == "教育督导条例\n\n2012年9月9日公布\n\n第一章 总则\n\n第一条 为了……"
    assert [(h.level, h.title) for h in document.outline] == [(0, "教育督导条例"), (1, "第一章 总则")]


def test_markdown_without_heading_has_no_title(tmp_path: Path) -> None:
    document = read_one(write(tmp_path / "notes.markdown", "正文第一段。\n## 小节\n"))
    assert document.fmt == "md"
    assert document.title is None


def test_file_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDU_SEARCH_MAX_FILE_MB", "0.00001")  # about 10 bytes
    error = read_error(write(tmp_path / "big.txt", SPEECH))
    assert error.reason.startswith("file too large")


# --- HTML ----------------------------------------------------------------------------

PAGE = """<!DOCTYPE html><html><head><meta charset="{charset}">
<title>在全市校长会议上的讲话_某市教育局</title></head><body>
<nav><a href="/">首页</a> | <a href="/news">新闻中心</a> | <a href="/about">关于我们</a></nav>
<div class="content"><h1>在全市校长会议上的讲话</h1>
<p>同志们：今天我们召开全市校长会议，主要任务是总结上半年教育工作，部署下半年重点任务。</p>
<p>一、聚焦党建领航，筑牢意识形态主阵地。稳慎推进中小学校党组织领导的校长负责制。</p>
<p>二、深化教育改革，推动基础教育优质均衡发展，办好人民满意的教育。</p>
</div>
<footer>版权所有 &copy; 2023 某市教育局 | 备案号 京ICP备12345678号</footer>
</body></html>"""


@pytest.mark.parametrize("charset", ["utf-8", "gbk"])
def test_html_main_text_title_and_chrome_dropped(tmp_path: Path, charset: str) -> None:
    path = write(tmp_path / "page.html", PAGE.format(charset=charset), charset)
    document = read_one(path)
    assert document.fmt == "html"
    assert document.title == "在全市校长会议上的讲话"
    lines = document.text.split("\n")
    assert "同志们：今天我们召开全市校长会议，主要任务是总结上半年教育工作，部署下半年重点任务。" in lines
    assert "二、深化教育改革，推动基础教育优质均衡发展，办好人民满意的教育。" in lines
    assert "新闻中心" not in document.text
    assert "备案号" not in document.text
    assert document.date is None  # the footer's copyright year is not a speech date


def test_html_publication_date_from_metadata(tmp_path: Path) -> None:
    page = PAGE.format(charset="utf-8").replace(
        "<title>", '<meta property="article:published_time" content="2023-08-19"><title>'
    )
    document = read_one(write(tmp_path / "dated.htm", page))
    assert document.date == "2023-08-19"
    assert document.year == 2023


def test_html_deeply_nested_does_not_crash(tmp_path: Path) -> None:
    page = (
        "<html><head><title>嵌套页面</title></head><body>"
        + "<div>" * 5000
        + "<p>深层嵌套的正文内容在这里。</p>"
        + "</div>" * 5000
        + "</body></html>"
    )
    document = read_one(write(tmp_path / "nested.html", page))
    assert "深层嵌套的正文内容在这里。" in document.text
    assert document.title == "嵌套页面"
    assert document.warnings  # says a fallback extraction was used


def test_html_without_text(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "empty.html", "<html><body><script>var a=1;</script></body></html>"))
    assert error.reason == "no text found in HTML"


# --- DOCX ----------------------------------------------------------------------------


def test_docx_paragraphs_table_and_title(tmp_path: Path) -> None:
    paragraphs = ["在全市校长会议上的讲话", "同志们：", "今天我们召开教育工作会议。"]
    path = make_docx(tmp_path / "讲话 稿.docx", paragraphs, title="校长会议讲话")
    document = read_one(path)
    assert document.fmt == "docx"
    assert document.title == "校长会议讲话"
    assert document.text == "\n".join(paragraphs) + "\n指标\t数值\n学校数\t12"
    assert document.date is None and document.year is None  # core_properties.created is ignored
    assert document.source_file == "讲话 稿.docx"


def test_docx_without_title_property(tmp_path: Path) -> None:
    assert read_one(make_docx(tmp_path / "a.docx", ["正文"])).title is None


def test_truncated_docx(tmp_path: Path) -> None:
    data = make_docx(tmp_path / "full.docx", ["同志们：今天我们召开教育工作会议。"] * 50).read_bytes()
    broken = write(tmp_path / "broken.docx", data[: len(data) // 2])
    error = read_error(broken)
    assert error.reason == "not a valid .docx (corrupt or truncated zip)"
    assert error.path == "broken.docx"


def test_old_word_doc_renamed_docx(tmp_path: Path) -> None:
    path = write(tmp_path / "old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    assert "old binary Word .doc" in read_error(path).reason


# --- PDF -----------------------------------------------------------------------------


def test_pdf_text_layer(tmp_path: Path) -> None:
    document = read_one(write(tmp_path / "report.pdf", make_text_pdf("Education work report 2023")))
    assert document.fmt == "pdf"
    assert "Education work report 2023" in document.text
    assert document.title == "Education Work Report"


def test_pdf_junk_title_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path / "r.pdf", make_text_pdf("Some text", title="Microsoft Word - draft.docx"))
    assert read_one(path).title is None


def _pdf_writer_bytes(writer: pypdf.PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_encrypted_pdf(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    error = read_error(write(tmp_path / "locked.pdf", _pdf_writer_bytes(writer)))
    assert error.reason.startswith("encrypted PDF")


def test_pdf_with_owner_password_only_is_read(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(make_text_pdf("Open for reading")))
    writer.encrypt(user_password="", owner_password="owner")
    document = read_one(write(tmp_path / "owner.pdf", _pdf_writer_bytes(writer)))
    assert "Open for reading" in document.text


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    error = read_error(write(tmp_path / "scan.pdf", _pdf_writer_bytes(writer)))
    assert error.reason == "PDF has no text layer (scanned images?); OCR is not supported"


def test_garbage_pdf(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "bad.pdf", b"%PDF-1.4\nthis is not a pdf at all"))
    assert error.reason.startswith("not a valid PDF")


# --- JSONL ---------------------------------------------------------------------------


def test_jsonl_good_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        '{"title": "2025年政府工作报告", "content": "各位代表：\\r\\n现在，我代表国务院。",'
        ' "year": "2025", "url": "https://example.org/a"}',
        "",
        '{"title": "党代会报告", "text": "同志们：", "year": 2022, "congress": 20,'
        ' "type": "cpc_congress_report", "source": "新华社"}',
        '{"title": "决议", "content": "全文", "year": null, "date": "1954年9月23日"}',
        '{"title": "坏行" "content": "x"}',
        "[1, 2, 3]",
        '{"title": "无正文"}',
        '{"title": "空正文", "content": "  "}',
        '{"title": "坏年份", "content": "正文", "year": "明年"}',
    ]
    path = write(tmp_path / "reports.jsonl", "\n".join(lines) + "\n")
    result = read_file(path, tmp_path)

    first, second, third, fourth = result.documents
    assert (first.title, first.year, first.url, first.source_file) == (
        "2025年政府工作报告", 2025, "https://example.org/a", "reports.jsonl#1"
    )
    assert first.text == "各位代表：\n现在，我代表国务院。"
    assert first.fmt == "jsonl" and first.source is None
    assert (second.text, second.year, second.source, second.source_file) == (
        "同志们：", 2022, "新华社", "reports.jsonl#3"
    )
    assert (third.year, third.date, third.source_file) == (1954, "1954-09-23", "reports.jsonl#4")
    assert fourth.year is None and fourth.warnings and fourth.source_file == "reports.jsonl#9"

    by_path = {error.path: error.reason for error in result.errors}
    assert by_path == {
        "reports.jsonl#5": "line 5: invalid JSON (Expecting ',' delimiter)",
        "reports.jsonl#6": "line 6: not a JSON object (got list)",
        "reports.jsonl#7": "line 7: no 'content' or 'text' field",
        "reports.jsonl#8": "line 8: empty text",
    }


def test_jsonl_only_blank_lines(tmp_path: Path) -> None:
    assert read_error(write(tmp_path / "blank.jsonl", "\n\n")).reason.startswith("no records")


def test_jsonl_error_list_is_capped(tmp_path: Path) -> None:
    path = write(tmp_path / "junk.jsonl", "not json\n" * 200)
    result = read_file(path, tmp_path)
    assert len(result.errors) == readers.MAX_RECORD_ERRORS + 1
    assert result.errors[-1].reason == "150 more bad records not listed"


# --- CSV -----------------------------------------------------------------------------


def test_csv_date_text_columns(tmp_path: Path) -> None:
    long_text = "\u3000\u3000" + "教育" * 100_000  # beyond csv's default 128 KiB field limit
    source = f'Date,Text\n2020-05-19,"\u3000\u3000回信：你们好！\u3000\u3000来信收悉。"\n2020-12-13,{long_text}\n'
    result = read_file(write(tmp_path / "all_data.csv", source), tmp_path)
    assert result.errors == []
    first, second = result.documents
    assert first.text == "\u3000\u3000回信：你们好！\u3000\u3000来信收悉。"
    assert (first.date, first.year, first.title, first.fmt, first.source_file) == (
        "2020-05-19", 2020, None, "csv", "all_data.csv#1"
    )
    assert second.text == long_text and second.source_file == "all_data.csv#2"


def test_csv_gbk_chinese_headers_and_bad_rows(tmp_path: Path) -> None:
    source = (
        "标题,日期,正文\r\n"
        "校长会议讲话,2023年8月19日,同志们：今天我们召开教育工作会议。\r\n"
        "\r\n"
        "空行,2023-01-01,\r\n"
        "多列,2023-01-02,甲,乙\r\n"
        "工作要点,2024/1/13,\"一、总体要求\r\n二、重点任务\"\r\n"
    )
    result = read_file(write(tmp_path / "gbk.csv", source, "gbk"), tmp_path)
    good, other = result.documents
    assert (good.title, good.date, good.year, good.text) == (
        "校长会议讲话", "2023-08-19", 2023, "同志们：今天我们召开教育工作会议。"
    )
    assert (other.title, other.date, other.text, other.source_file) == (
        "工作要点", "2024-01-13", "一、总体要求\n二、重点任务", "gbk.csv#4"
    )
    reasons = {error.path: error.reason for error in result.errors}
    assert reasons["gbk.csv#2"].startswith("row 2 (line 4): empty text")
    assert reasons["gbk.csv#3"].startswith("row 3 (line 5): has 4 fields but the header has 3")


def test_csv_and_jsonl_records_warn_alike_on_bad_years_and_dates(tmp_path: Path) -> None:
    csv_source = "title,year,date,text\n坏值,明年,2023年13月,正文\n仅日期,,2023/5/6,正文\n"
    jsonl_source = (
        '{"title": "坏值", "year": "明年", "date": "2023年13月", "text": "正文"}\n'
        '{"title": "仅日期", "date": "2023/5/6", "text": "正文"}\n'
    )
    for name, source in (("r.csv", csv_source), ("r.jsonl", jsonl_source)):
        bad, dated = read_file(write(tmp_path / name, source), tmp_path).documents
        assert (bad.year, bad.date, bad.warnings) == (
            None, None, ["ignored invalid year (not a year: '明年')", "ignored unrecognised date '2023年13月'"]
        ), name
        assert (dated.year, dated.date, dated.warnings) == (2023, "2023-05-06", []), name


def test_csv_without_text_column(tmp_path: Path) -> None:
    error = read_error(write(tmp_path / "x.csv", "name,value\na,1\n"))
    assert error.reason == (
        "no text column (expected one of: text, content, body, 正文, 内容; found: name, value)"
    )


def test_tab_separated_csv(tmp_path: Path) -> None:
    result = read_file(write(tmp_path / "t.csv", "title\tcontent\n讲话\t正文，含逗号\n"), tmp_path)
    assert [(d.title, d.text) for d in result.documents] == [("讲话", "正文，含逗号")]


# --- corpus walking and file-level failures ------------------------------------------


def test_iter_corpus_files(tmp_path: Path) -> None:
    for name in [
        "b.txt", "a.md", "README.md", "sub/README.txt", "sub/c.HTML", "sub/d.csv", "z.jsonl",
        ".hidden.txt", ".git/config.txt", "sub/.cache/e.txt", "image.png", "~$draft.docx",
        "子目录/讲话 稿.docx",
    ]:
        write(tmp_path / name, "x")
    names = [path.relative_to(tmp_path).as_posix() for path in iter_corpus_files(tmp_path)]
    assert names == ["a.md", "b.txt", "sub/c.HTML", "sub/d.csv", "z.jsonl", "子目录/讲话 稿.docx"]


def test_iter_corpus_files_single_file_and_missing_root(tmp_path: Path) -> None:
    single = write(tmp_path / "README.md", "# 说明")
    assert list(iter_corpus_files(single)) == [single]
    with pytest.raises(CorpusError, match="corpus path not found"):
        list(iter_corpus_files(tmp_path / "missing"))


def test_source_file_when_root_is_the_file_or_a_parent(tmp_path: Path) -> None:
    path = write(tmp_path / "年度 报告" / "2023年 工作要点.txt", SPEECH)
    assert read_one(path, path).source_file == "2023年 工作要点.txt"
    assert read_one(path, tmp_path).source_file == "年度 报告/2023年 工作要点.txt"


def test_directory_dangling_symlink_and_unsupported(tmp_path: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert read_error(folder, tmp_path).reason == "is a directory, not a file"
    link = tmp_path / "gone.txt"
    link.symlink_to(tmp_path / "nowhere.txt")
    assert read_error(link, tmp_path).reason == "broken symbolic link (target missing)"
    assert read_error(tmp_path / "missing.txt", tmp_path).reason == "file not found"
    error = read_error(write(tmp_path / "image.png", b"\x89PNG"), tmp_path)
    assert error.reason.startswith("unsupported file type '.png'")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without read permission")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.txt", SPEECH)
    path.chmod(0)
    try:
        assert read_error(path).reason == "permission denied (cannot read the file)"
    finally:
        path.chmod(0o644)


def test_unexpected_exception_becomes_corpus_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(path: Path, rel: str) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(readers._READERS, ".txt", explode)
    error = read_error(write(tmp_path / "a.txt", SPEECH))
    assert error.reason == "unexpected error: ZeroDivisionError: boom"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), suffix=st.sampled_from(sorted(SUPPORTED_SUFFIXES)))
def test_read_file_never_raises(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = write(tmp_path / f"fuzz{suffix}", data)
    result = read_file(path, tmp_path)
    assert isinstance(result, ReadResult)
    assert result.documents or result.errors


# --- the real corpora in ../shared ----------------------------------------------------


@pytest.mark.shared
def test_shared_government_work_reports() -> None:
    path = shared_path("corpora", "gov_work_reports", "government_work_reports.jsonl")
    result = read_file(path, path.parent)
    assert result.errors == []
    assert len(result.documents) == 72
    first = result.documents[0]
    assert first.title == "2025年中华人民共和国国务院政府工作报告"
    assert first.year == 2025
    assert first.source_file == "government_work_reports.jsonl#1"
    assert first.text.startswith("各位代表：")


@pytest.mark.shared
def test_shared_xi_speeches_csv() -> None:
    path = shared_path("corpora", "xi_speeches_2020", "all_data.csv")
    result = read_file(path, path.parent)
    assert result.errors == []
    assert len(result.documents) == 58
    assert all(d.date and d.date.startswith("2020-") and d.year == 2020 for d in result.documents)
    assert result.documents[0].source_file == "all_data.csv#1"
