"""Turn corpus files into RawDocuments: one module per format, one entry point that never raises.

    result = read_file(path, root)   # ReadResult(documents=[...], errors=[...])

A plain file gives one document or one error; a .jsonl/.csv collection gives one document
per good record and one error per bad record.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexer.errors import CorpusError
from indexer.models import RawDocument
from indexer.readers import csv, docx, html, jsonl, pdf, text

_Reader = Callable[[Path, str], RawDocument | tuple[list[RawDocument], list[CorpusError]]]
# Single-document readers return a RawDocument, collection readers (documents, record
# errors); all raise CorpusError for file-level failures.
_READERS: dict[str, _Reader] = {
    ".txt": text.read,
    ".md": text.read,
    ".markdown": text.read,
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


@dataclass
class ReadResult:
    """The documents read from one file, and what could not be read."""

    documents: list[RawDocument] = field(default_factory=list)
    errors: list[CorpusError] = field(default_factory=list)  # file-level, or one per bad record


def _relative_name(path: Path, root: Path) -> str:
    """`path` relative to `root` in posix form; the file name when `root` is the file itself."""
    if path == root:
        return path.name
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            return path.as_posix()


def read_file(path: Path, root: Path) -> ReadResult:
    """Read one corpus file. Never raises: every failure becomes a CorpusError in `errors`.

    `source_file` of each document is the path relative to `root` (posix form; the file
    name when `root` is the file itself), with "#N" appended for the records of a
    .jsonl/.csv collection.
    """
    rel = _relative_name(path, root)
    try:
        return _read(path, rel)
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
