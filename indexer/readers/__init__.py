"""Turn corpus files into RawDocuments: one module per format, one entry point that never raises.

    result = read_file(path, root)   # ReadResult(documents=[...], errors=[...])

A plain file gives one document or one error; a .jsonl/.csv collection gives one document
per good record and one error per bad record.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from indexer.models import RawDocument
from indexer.readers import csv, docx, html, jsonl, markdown, pdf, text
from speechindex.config import ENV_MAX_DOC_CHARS, limits
from speechindex.errors import CorpusError

_Reader = Callable[[Path, str], RawDocument | tuple[list[RawDocument], list[CorpusError]]]
# Single-document readers return a RawDocument, collection readers (documents, record
# errors); all raise CorpusError for file-level failures.
_READERS: dict[str, _Reader] = {
    ".txt": text.read,
    ".md": markdown.read,
    ".markdown": markdown.read,
    ".html": html.read,
    ".htm": html.read,
    ".docx": docx.read,
    ".pdf": pdf.read,
    ".jsonl": jsonl.read,
    ".csv": csv.read,
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_READERS)

# Corpus documentation, not documents.
_SKIPPED_NAMES = frozenset({"readme.md", "readme.txt", "readme.markdown"})
# Beyond this many bad records of one collection, the rest are only counted.
MAX_RECORD_ERRORS = 50
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class ReadResult:
    """The documents read from one file, and what could not be read."""

    documents: list[RawDocument] = field(default_factory=list)
    errors: list[CorpusError] = field(default_factory=list)  # file-level, or one per bad record
    notes: list[str] = field(default_factory=list)  # what was done to keep a document (split into parts)


def relative_name(path: Path, root: Path, escape: bool = False) -> str:
    """`path` relative to `root` in posix form (the file name when `root` is the file itself), as text.

    `escape` is passed to `path_text`.
    """
    if path == root:
        return path_text(path.name, escape)
    try:
        return path_text(path.relative_to(root).as_posix(), escape)
    except ValueError:
        try:
            return path_text(path.resolve().relative_to(root.resolve()).as_posix(), escape)
        except (ValueError, OSError):
            return path_text(path.as_posix(), escape)


def path_text(path: str | Path, escape: bool = False) -> str:
    """A path as printable, storable text: names that are not valid UTF-8 are decoded.

    The OS hands such names over with surrogate escapes, which cannot be written to SQLite,
    JSON or a terminal. They are mostly GBK names from Windows zip tools, so a component is
    decoded as GB18030 when it is valid GB18030, else (or with `escape`) its bad bytes are
    shown as \\xNN. The file itself is always opened by its original path.
    """
    text = str(path)
    if not _SURROGATE.search(text):
        return text
    parts = []
    for part in text.split("/"):
        if _SURROGATE.search(part):
            raw = os.fsencode(part)
            try:
                part = raw.decode("utf-8" if escape else "gb18030")
            except UnicodeDecodeError:
                part = raw.decode("utf-8", "backslashreplace")
        parts.append(part)
    return "/".join(parts)


def read_file(path: Path, root: Path, rel: str | None = None) -> ReadResult:
    """Read one corpus file. Never raises: every failure becomes a CorpusError in `errors`.

    `source_file` of each document is `rel`, by default the path relative to `root` (see
    `relative_name`), with "#N" appended for the records of a .jsonl/.csv collection. NUL
    characters are dropped and lone surrogates replaced by U+FFFD (with a warning); a
    document longer than the configured limit is split into parts (see `split_long`).
    """
    rel = rel or relative_name(path, root)
    try:
        result = _read(path, rel)
        documents = []
        for doc in result.documents:
            parts = split_long(_sanitised(doc))
            if len(parts) > 1:
                result.notes.append(f"{doc.source_file}: {len(doc.text)} characters, indexed as {len(parts)} parts")
            documents.extend(parts)
        result.documents = documents
        return result
    except CorpusError as error:
        return ReadResult(errors=[error])
    except FileNotFoundError:
        if path.is_symlink():
            return ReadResult(errors=[CorpusError(rel, "broken symbolic link (target missing)")])
        return ReadResult(errors=[CorpusError(rel, "file not found")])
    except IsADirectoryError:
        return ReadResult(errors=[CorpusError(rel, "is a directory, not a file")])
    except PermissionError:
        return ReadResult(errors=[CorpusError(rel, "permission denied (cannot read the file)")])
    except OSError as error:
        reason = f"cannot read the file ({error.strerror or error})"
        return ReadResult(errors=[CorpusError(rel, reason)])
    except MemoryError:
        return ReadResult(errors=[CorpusError(rel, "out of memory while reading the file")])
    except Exception as error:  # noqa: BLE001 - last resort: one odd file must not stop a reindex
        return ReadResult(
            errors=[CorpusError(rel, f"unexpected error: {type(error).__name__}: {error}")]
        )


def _read(path: Path, rel: str) -> ReadResult:
    """Dispatch on the suffix; raises CorpusError/OSError for read_file to report."""
    if path.is_dir():
        raise CorpusError(rel, "is a directory, not a file")
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        supported = " ".join(sorted(SUPPORTED_SUFFIXES))
        raise CorpusError(rel, f"unsupported file type '{path.suffix}' (supported: {supported})")
    output = _READERS[suffix](path, rel)
    if isinstance(output, RawDocument):
        return ReadResult(documents=[output])
    documents, errors = output
    if len(errors) > MAX_RECORD_ERRORS:
        hidden = len(errors) - MAX_RECORD_ERRORS
        errors = errors[:MAX_RECORD_ERRORS] + [
            CorpusError(rel, f"{hidden} more bad records not listed")
        ]
    return ReadResult(documents=list(documents), errors=list(errors))


def _sanitised(doc: RawDocument) -> RawDocument:
    """The document without NUL characters and lone surrogates, which nothing downstream can store."""
    for name in ("text", "title", "url", "source", "date"):
        value = getattr(doc, name)
        if not isinstance(value, str):
            continue
        cleaned = value.replace("\x00", "")
        if _SURROGATE.search(cleaned):
            cleaned = _SURROGATE.sub("\ufffd", cleaned)
            doc.warnings.append(f"invalid characters (lone UTF-16 surrogates) in the {name} replaced by U+FFFD")
        setattr(doc, name, cleaned)
    return doc


def split_long(doc: RawDocument, max_chars: int | None = None) -> list[RawDocument]:
    """A document longer than `max_chars` (default: the configured limit) as parts cut at paragraph ends.

    Each part is a document of its own ("<source_file>#part<N>"), with a warning naming the
    part; when no paragraph end lies in the second half of a part, it is cut at a sentence
    end, else at the limit. Nothing is dropped.
    """
    max_chars = max_chars or limits().max_doc_chars
    text = doc.text
    if len(text) <= max_chars:
        return [doc]
    bounds, start = [], 0
    while len(text) - start > max_chars:
        limit = start + max_chars
        cut = text.rfind("\n", start + max_chars // 2, limit) + 1
        if cut <= start:
            cut = text.rfind("。", start + max_chars // 2, limit) + 1
        if cut <= start:
            cut = limit
        bounds.append((start, cut))
        start = cut
    bounds.append((start, len(text)))
    parts = []
    for n, (begin, end) in enumerate(bounds, start=1):
        note = (
            f"document longer than {max_chars} characters (${ENV_MAX_DOC_CHARS}): "
            f"indexed as {len(bounds)} parts, this is part {n}"
        )
        title = f"{doc.title}（{n}/{len(bounds)}）" if doc.title else None
        parts.append(
            replace(doc, text=text[begin:end], source_file=f"{doc.source_file}#part{n}", title=title,
                    warnings=[*doc.warnings, note])
        )
    return parts


def iter_corpus_files(root: Path) -> Iterator[Path]:
    """The readable corpus files under `root`, recursively, in sorted path order.

    Skips hidden files and directories (name starts with "."), README.md/README.txt
    (corpus documentation), Office lock files ("~$…") and unsupported suffixes (compared
    case-insensitively). Directory symlinks are not followed (no loops); file symlinks are
    yielded, so read_file can report broken ones. A file passed as `root` is yielded as is,
    whatever its name, so read_file can say what is wrong with it. Raises CorpusError when
    `root` does not exist.
    """
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        raise CorpusError(str(root), "corpus path not found")
    found: list[tuple[tuple[str, ...], Path]] = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        base = Path(directory)
        for name in filenames:
            if _is_corpus_file(name):
                path = base / name
                found.append((path.relative_to(root).parts, path))
    found.sort()
    for _parts, path in found:
        yield path


def _is_corpus_file(name: str) -> bool:
    """Whether a file name is a candidate document (by name only)."""
    lowered = name.lower()
    return (
        not name.startswith((".", "~$"))
        and lowered not in _SKIPPED_NAMES
        and os.path.splitext(lowered)[1] in SUPPORTED_SUFFIXES
    )
