"""The exception hierarchy shared by the indexer and the search side.

The CLI and the web layer turn these into messages that say how to fix the problem.
"""

from __future__ import annotations


class EduSearchError(Exception):
    """Base class of every error this project raises on purpose."""


class CorpusError(EduSearchError):
    """A corpus file (or one record of a collection) could not be read."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexMissing(EduSearchError):
    """No index has been built at the configured location."""


class IndexOutdated(EduSearchError):
    """The index was built with another schema or analyzer: it must be rebuilt."""


class IndexCorrupt(IndexOutdated):
    """The index is damaged (pointer, manifest, document store or segments): it must be rebuilt.

    The message names the damage and the command that repairs it (see `speechindex.check`).
    """


class IndexBusy(EduSearchError):
    """Another reindex holds the lock on this index directory."""


class NothingIndexed(EduSearchError):
    """A reindex read no usable document at all; the previous index is left in place."""

    def __init__(self, message: str, skipped: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.skipped = skipped or []  # {"file", "reason"} of every file that could not be used


class QueryError(EduSearchError):
    """A request parameter is out of range (the query text itself never raises)."""
