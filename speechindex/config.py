"""Default locations and limits, overridable by environment variables (documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_INDEX = "EDU_SEARCH_INDEX"
ENV_CORPUS = "EDU_SEARCH_CORPUS"

DEFAULT_INDEX = Path("var/index")
DEFAULT_CORPUS = Path("corpus")


def default_index_dir() -> Path:
    """$EDU_SEARCH_INDEX, else ./var/index."""
    return Path(os.environ.get(ENV_INDEX) or DEFAULT_INDEX)


def default_corpora() -> list[Path]:
    """$EDU_SEARCH_CORPUS (several paths separated by the OS path separator), else ./corpus."""
    value = os.environ.get(ENV_CORPUS)
    if value:
        return [Path(p) for p in value.split(os.pathsep) if p]
    return [DEFAULT_CORPUS]

# Resource limits of the reader: what one hostile file may cost (documented in the README).
ENV_MAX_FILE_MB = "EDU_SEARCH_MAX_FILE_MB"
ENV_MAX_MEMBER_MB = "EDU_SEARCH_MAX_MEMBER_MB"
ENV_MAX_DOC_CHARS = "EDU_SEARCH_MAX_DOC_CHARS"
DEFAULT_MAX_FILE_MB = 64
DEFAULT_MAX_MEMBER_MB = 50
DEFAULT_MAX_DOC_CHARS = 2_000_000


@dataclass(frozen=True)
class Limits:
    """Per-file resource limits; a file over a byte limit is skipped with the reason."""

    max_file_bytes: int  # a file on disk, and the decompressed total of an archive (.docx)
    max_member_bytes: int  # one decompressed member of an archive
    max_doc_chars: int  # a longer document is indexed as several parts, cut at paragraph ends


def _positive(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = 0
    if not number > 0:
        raise ValueError(f"${name} must be a positive number, not {value!r}")
    return number


def limits() -> Limits:
    """The limits from the environment (defaults above); ValueError names a bad variable."""
    return Limits(
        max_file_bytes=int(_positive(ENV_MAX_FILE_MB, DEFAULT_MAX_FILE_MB) * 2**20),
        max_member_bytes=int(_positive(ENV_MAX_MEMBER_MB, DEFAULT_MAX_MEMBER_MB) * 2**20),
        max_doc_chars=max(1000, int(_positive(ENV_MAX_DOC_CHARS, DEFAULT_MAX_DOC_CHARS))),
    )
