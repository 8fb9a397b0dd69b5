"""Where the benchmarks find their corpora and build their indexes, and the named corpus sets.

Shared by every benchmark module, so that none imports another's entry point for a path.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_CORPORA = SHARED / "corpora"
DEFAULT_WORKDIR = Path(os.environ.get("BENCH_WORKDIR", "/tmp/edu-bench"))
# The corpus sets, also the folders under the work directory that hold their indexes.
SPEECH = "speech"
FULL = "full"
CUSTOM = "custom"


def speech_corpora() -> list[Path]:
    """The seeds, the government/party work reports and the 2020 speeches.

    corpus/ already ships the government work reports, so only the party congress reports are
    taken from ../shared (a file is a corpus root of its own): nothing is indexed twice.
    """
    return [REPO / "corpus", SHARED_CORPORA / "gov_work_reports" / "cpc_congress_reports.jsonl", SHARED_CORPORA / "xi_speeches_2020"]


def full_corpora() -> list[Path]:
    """corpus/ plus everything else in ../shared/corpora (speeches, 新闻联播, laws), each document once."""
    speech = speech_corpora()
    taken = {"gov_work_reports", *(p.name for p in speech)}
    return [*speech, *sorted(p for p in SHARED_CORPORA.iterdir() if p.is_dir() and p.name not in taken)]
