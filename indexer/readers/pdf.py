"""PDF files via pypdf's text layer (no OCR)."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pypdf
from pypdf import PasswordType
from pypdf.errors import DependencyError, PyPdfError

from indexer.models import RawDocument
from indexer.readers.text import read_bytes
from speechindex.errors import CorpusError

# pypdf logs a warning for every recoverable defect of a file (bad xref offsets, odd fonts);
# they say nothing a corpus owner can act on and would flood the indexer's output.
logging.getLogger("pypdf").setLevel(logging.ERROR)

# Titles that word processors write by default: file names, not document titles.
_JUNK_TITLE = re.compile(r"^(microsoft word - |untitled\b)|\.(docx?|wps|pdf|txt)$", re.IGNORECASE)


def read(path: Path, rel: str) -> RawDocument:
    """Read a .pdf file's text layer into one RawDocument (raises CorpusError).

    Pages are joined by \\n. A page whose extraction fails is skipped with a warning.
    Encrypted files open only if the empty (user) password works; image-only (scanned)
    files are refused, as OCR is not supported.
    """
    data = read_bytes(path, rel)
    if not data:
        raise CorpusError(rel, "empty file")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise CorpusError(rel, "encrypted PDF (needs a password); save an unencrypted copy")
        pages = list(reader.pages)
    except DependencyError:
        raise CorpusError(
            rel, "encrypted PDF (AES; reading it needs the 'cryptography' package)"
        ) from None
    except PyPdfError as error:
        raise CorpusError(rel, f"not a valid PDF ({error})") from None

    texts: list[str] = []
    warnings: list[str] = []
    for number, page in enumerate(pages, start=1):
        # pypdf raises many kinds of exception on broken content streams: one bad page
        # must not lose the others.
        try:
            texts.append(page.extract_text() or "")
        except Exception as error:  # noqa: BLE001
            failure = f"{type(error).__name__}: {error}"
            warnings.append(f"page {number}: text extraction failed ({failure})")
    text = "\n".join(texts).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise CorpusError(rel, "PDF has no text layer (scanned images?); OCR is not supported")
    return RawDocument(
        text=text, source_file=rel, fmt="pdf", title=_title(reader), warnings=warnings
    )


def _title(reader: pypdf.PdfReader) -> str | None:
    """The document-information title, unless missing or a word processor's file name."""
    try:
        title = reader.metadata.title if reader.metadata else None
    except PyPdfError:
        return None
    if not isinstance(title, str) or not title.strip() or _JUNK_TITLE.search(title.strip()):
        return None
    return " ".join(title.split())
