"""Word .docx files via python-docx: body paragraphs and table cells, in document order."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import docx
import lxml.etree
from docx.opc.exceptions import OpcError
from docx.table import Table

from indexer.models import RawDocument
from indexer.readers.text import binary_kind, check_size, read_bytes
from speechindex.errors import CorpusError

_OLD_WORD = "old binary Office document (.doc/.xls)"


def read(path: Path, rel: str) -> RawDocument:
    """Read a .docx file into one RawDocument (raises CorpusError).

    Paragraphs are joined by \\n; a table contributes one line per row, its cells joined by
    tabs. Headers and footers (page chrome) are left out. The title comes from the core
    properties when set; their creation date is deliberately ignored (it is when the file
    was made, not when the speech was given).
    """
    data = read_bytes(path, rel)
    if not data:
        raise CorpusError(rel, "empty file")
    if binary_kind(data) == _OLD_WORD:
        raise CorpusError(rel, "old binary Word .doc format, not .docx; save it as .docx")
    try:
        _check_inflated_sizes(data, rel)
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, OpcError, KeyError, EOFError, zlib.error):
        # python-docx reports a non-zip as PackageNotFoundError, a zip without
        # word/document.xml as KeyError.
        raise CorpusError(rel, "not a valid .docx (corrupt or truncated zip)") from None
    except lxml.etree.XMLSyntaxError as error:
        raise CorpusError(rel, f"not a valid .docx (broken XML: {error})") from None

    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_table_lines(block))
        else:
            lines.append(block.text)
    text = "\n".join(lines).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CorpusError(rel, "no text (the document is empty or only has images)")
    title = (document.core_properties.title or "").strip() or None
    return RawDocument(text=text, source_file=rel, fmt="docx", title=title)


def _check_inflated_sizes(data: bytes, rel: str) -> None:
    """Refuse a zip bomb before python-docx inflates it: every member, and their total, is capped.

    The declared sizes can be trusted as a bound: zipfile never returns more than a member's
    declared size (and fails its CRC check if the data was longer).
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
    for member in members:
        check_size(member.file_size, rel, f"archive member {member.filename} (decompressed)", member=True)
    check_size(sum(m.file_size for m in members), rel, "decompressed archive")


def _table_lines(table: Table) -> list[str]:
    """One line per row; a merged cell (repeated by python-docx) is written once."""
    lines = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            cell_text = cell.text.replace("\n", " ").strip()
            if cell_text and (not cells or cells[-1] != cell_text):
                cells.append(cell_text)
        if cells:
            lines.append("\t".join(cells))
    return lines
