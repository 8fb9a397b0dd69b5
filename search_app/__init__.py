"""The read path: query parsing, search engine, highlighting, CLI and web front end. Never writes the index."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The web app (for `flask --app search_app run`); Flask is imported only when the web side is used."""
    from search_app.web import create_app as factory

    return factory(test_config)
