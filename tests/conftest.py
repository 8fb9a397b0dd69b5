"""Shared fixtures: the repository paths, ../shared, Chromium, and session-scoped indexes built from the seeds."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "corpus"  # what `make run` indexes: the five seeds and the government work reports
# The five seed documents alone (a copy of corpus/*.txt): the exact counts the tests assert on.
CORPUS = Path(tempfile.mkdtemp(prefix="seed-corpus-")) / "corpus"
CORPUS.mkdir()
for _seed in sorted(BUNDLED.glob("*.txt")):
    shutil.copy2(_seed, CORPUS / _seed.name)
atexit.register(shutil.rmtree, CORPUS.parent, True)
SHARED = REPO.parent / "shared"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, headless in a container: no sandbox or GPU, no background traffic or updates.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a clear reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found: ../shared (corpora, eval) is only present on developer machines and CI")
    return path


def require_chromium(whole_module: bool = False) -> ModuleType:
    """Playwright's sync API for driving CHROMIUM, or skip the test (or `whole_module`) saying what is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run the browser tests", allow_module_level=whole_module)
    try:
        import playwright.sync_api as sync_api
    except ImportError as exc:  # depends on the environment
        pytest.skip(f"playwright is not importable ({exc}): pip install -e '.[test]'", allow_module_level=whole_module)
    return sync_api


@contextmanager
def served(index_dir: Path) -> Iterator[str]:
    """The app on waitress, on a free port of 127.0.0.1 in a background thread: yields its base URL."""
    import waitress

    from search_app.web import create_app

    server = waitress.create_server(create_app({"INDEX_DIR": index_dir}), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the five bundled seed documents (built once per test session)."""
    from indexer.build import reindex

    index_dir = tmp_path_factory.mktemp("seed-index")
    reindex([CORPUS], index_dir, progress=False, workers=1)
    return index_dir


@pytest.fixture(scope="session")
def speech_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus (the seeds and the 72 government work reports it ships) plus the
    16 CPC congress reports of ../shared (skipped without it)."""
    from indexer.build import reindex

    congress = shared_path("corpora", "gov_work_reports", "cpc_congress_reports.jsonl")
    index_dir = tmp_path_factory.mktemp("speech-index")
    reindex([BUNDLED, congress], index_dir, progress=False, workers=2)
    return index_dir


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests save screenshots and other artifacts for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def full_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole collection a researcher has: the bundled corpus plus all of ../shared/corpora.

    Built once per test session (about a minute on 2 cores); every test on the mixed
    collection shares it. Skipped without ../shared. The seeds only from corpus/: its
    government work reports are ../shared's, which would otherwise be indexed twice.
    """
    from indexer.build import reindex

    corpora = shared_path("corpora")
    index_dir = tmp_path_factory.mktemp("full-index")
    reindex([CORPUS, corpora], index_dir, progress=False, workers=2)
    return index_dir
