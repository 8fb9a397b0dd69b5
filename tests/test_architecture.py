"""The folders are the architecture: which package may import which (issue 13, item 2).

`speechindex` is the contract both sides share; `indexer` only writes and never imports
Flask or the read side; `search_app` only reads and never imports the write side. Checked on
the import statements of every module, so a new import across the line fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

FORBIDDEN = {
    "speechindex": {"indexer", "search_app", "flask", "waitress", "bench"},
    "indexer": {"search_app", "flask", "waitress", "bench"},
    "search_app": {"indexer", "bench"},
}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_stay_on_its_side(package: str) -> None:
    offending = {
        str(path.relative_to(REPO)): sorted(_imported_roots(path) & FORBIDDEN[package])
        for path in sorted((REPO / package).rglob("*.py"))
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_the_contract_is_the_only_shared_code() -> None:
    """Both sides use the contract package: the analyzer and schema are imported, not copied."""
    for package in ("indexer", "search_app"):
        assert any("speechindex" in _imported_roots(p) for p in (REPO / package).rglob("*.py")), package
