"""Shared fixtures: the repository paths, ../shared, and session-scoped indexes built from the seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SHARED = REPO.parent / "shared"
ARTIFACTS = REPO / "test-artifacts"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a clear reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found: ../shared (corpora, eval) is only present on developer machines and CI")
    return path


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the five bundled seed documents (built once per test session)."""
    from indexer.build import reindex

    index_dir = tmp_path_factory.mktemp("seed-index")
    reindex([CORPUS], index_dir, progress=False, workers=1)
    return index_dir


@pytest.fixture(scope="session")
def speech_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeds plus the government work reports (skipped without ../shared)."""
    from indexer.build import reindex

    reports = shared_path("corpora", "gov_work_reports")
    index_dir = tmp_path_factory.mktemp("speech-index")
    reindex([CORPUS, reports], index_dir, progress=False, workers=2)
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
    collection shares it. Skipped without ../shared.
    """
    from indexer.build import reindex

    corpora = shared_path("corpora")
    index_dir = tmp_path_factory.mktemp("full-index")
    reindex([CORPUS, corpora], index_dir, progress=False, workers=2)
    return index_dir
