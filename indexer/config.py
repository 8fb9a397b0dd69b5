"""Default locations, overridable by environment variables (documented in the README)."""

from __future__ import annotations

import os
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
