"""The tantivy schema, its tokenizers, and the manifest that ties an index to its analyzer.

Shared by the writer (`indexer.build`) and the reader (`search_app.engine`): both call
`open_index` / `register_tokenizers`, because tokenizer registrations are not stored in
the index and every process must make them again.

The unit of the index is the section; each section carries its document's fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from speechindex.analysis import get_analyzer
from speechindex.errors import IndexCorrupt, IndexMissing, IndexOutdated

SCHEMA_VERSION = 5  # 3: doc_topics; 4: the shingles field (speechindex.dedup); 5: char fields space-separated, word fields without positions

# Section kinds, inferred from heading cues (see indexer/data/headings.toml): facet values.
KIND_REVIEW = "回顾总结"
KIND_PROBLEMS = "问题挑战"
KIND_TASKS = "部署任务"
KIND_OTHER = "其他"
SECTION_KINDS = (KIND_REVIEW, KIND_PROBLEMS, KIND_TASKS, KIND_OTHER)

# Kinds of document: facet values.
DOC_KINDS = ("讲话", "工作要点", "工作报告", "法规", "新闻", "其他")

# Registered tokenizer names.
WORDS = "words"  # whitespace + lower-case, fed by the jieba analyzer (space-joined terms)
CHARS = "chars"  # one token per non-space character of the normalised text (`char_field_text`): exact substrings

# Field names, used by both packages.
F_SECTION_ID = "section_id"
F_DOC_ID = "doc_id"
F_DOC_NUM = "doc_num"  # u64 copy of the document's ordinal, for fast grouping of hits
F_FILE_KEY = "file_key"  # corpus + relative path: what an incremental reindex deletes by
F_TITLE = "title"
F_HEADING = "heading"
F_BODY = "body"
F_CHARS = "chars"
F_TITLE_CHARS = "title_chars"
F_YEAR = "year"  # i64, absent when unknown
F_YEAR_KEY = "year_key"  # "2023" or "none": facet counts and the null-year filter
F_SORT_KEY = "sort_key"  # i64 yyyymmdd (0 when the year is unknown): newest/oldest ordering
F_TOPICS = "topics"  # the section's own topics
F_DOC_TOPICS = "doc_topics"  # the document's main topics, on each of its sections: the topic facet and filter
F_KIND = "kind"  # section kind
F_DOC_KIND = "doc_kind"
F_SOURCE = "source"
F_PAYLOAD = "payload"  # stored JSON bytes: what a hit needs for display
F_SHINGLES = "shingles"  # kept 5-character shingle hashes (speechindex.dedup): passage and similar-text lookup

YEAR_NONE = "none"
# What a user may type for "year unknown" in a year filter, and how the year is shown.
NULL_YEAR_VALUES = frozenset({YEAR_NONE, "null", "unknown", "未知", ""})
YEAR_UNKNOWN_LABEL = "年份未知"
MANIFEST = "manifest.json"
DOCSTORE = "documents.sqlite"


def build_schema() -> tantivy.Schema:
    """The section schema."""
    return (
        tantivy.SchemaBuilder()
        .add_text_field(F_SECTION_ID, stored=True, tokenizer_name="raw")
        .add_text_field(F_DOC_ID, stored=True, fast=True, tokenizer_name="raw")
        .add_unsigned_field(F_DOC_NUM, fast=True)
        .add_text_field(F_FILE_KEY, tokenizer_name="raw", index_option="basic")
        .add_text_field(F_TITLE, tokenizer_name=WORDS, index_option="freq")
        .add_text_field(F_HEADING, tokenizer_name=WORDS, index_option="freq")
        .add_text_field(F_BODY, tokenizer_name=WORDS, index_option="freq")
        .add_text_field(F_CHARS, tokenizer_name=CHARS, index_option="position")
        .add_text_field(F_TITLE_CHARS, tokenizer_name=CHARS, index_option="position")
        .add_integer_field(F_YEAR, indexed=True, fast=True)
        .add_text_field(F_YEAR_KEY, fast=True, tokenizer_name="raw", index_option="basic")
        .add_integer_field(F_SORT_KEY, indexed=True, fast=True)
        .add_text_field(F_TOPICS, fast=True, tokenizer_name="raw", index_option="basic")
        .add_text_field(F_DOC_TOPICS, fast=True, tokenizer_name="raw", index_option="basic")
        .add_text_field(F_KIND, fast=True, tokenizer_name="raw", index_option="basic")
        .add_text_field(F_DOC_KIND, fast=True, tokenizer_name="raw", index_option="basic")
        .add_text_field(F_SOURCE, fast=True, tokenizer_name="raw", index_option="basic")
        .add_bytes_field(F_PAYLOAD, stored=True)
        .add_text_field(F_SHINGLES, tokenizer_name=WORDS, index_option="basic")
        .build()
    )


def register_tokenizers(index: tantivy.Index) -> None:
    """Register the analyzers the schema names (needed in every process that opens the index)."""
    words = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).filter(tantivy.Filter.lowercase()).build()
    index.register_tokenizer(WORDS, words)
    index.register_tokenizer(CHARS, words)


def char_field_text(norm: str) -> str:
    """What the `chars` and `title_chars` fields are fed: the non-space characters of normalised
    text, space-separated.

    The whitespace tokenizer makes one token per character at consecutive positions, as a
    per-character regex tokenizer would, in half its time (issue 12). A phrase query's terms are
    the same characters (`search_app.compile.QueryCompiler.compact`).
    """
    return " ".join("".join(norm.split()))


@dataclass(frozen=True)
class Manifest:
    """What an index was built with; an index is only opened by a matching analyzer."""

    schema_version: int
    analyzer_version: str
    dictionary_hash: str
    built_at: str
    corpora: list[str]
    documents: int
    sections: int

    @classmethod
    def current(cls, built_at: str, corpora: list[str], documents: int, sections: int) -> Manifest:
        """A manifest describing this code's schema and analyzer."""
        analyzer = get_analyzer()
        return cls(SCHEMA_VERSION, analyzer.version, analyzer.dictionary_hash, built_at, corpora, documents, sections)

    def write(self, directory: Path) -> None:
        """Write manifest.json into `directory`."""
        (directory / MANIFEST).write_text(json.dumps(self.__dict__, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        """Read manifest.json; a missing or unreadable one means the index must be rebuilt."""
        try:
            data: dict[str, Any] = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise IndexOutdated(f"{directory}: no readable {MANIFEST} ({exc}); reindex needed") from exc

    def check(self) -> None:
        """Raise IndexOutdated unless this index was built by the running schema and analyzer."""
        analyzer = get_analyzer()
        if self.schema_version != SCHEMA_VERSION:
            raise IndexOutdated(
                f"index schema version {self.schema_version}, this program uses {SCHEMA_VERSION}: "
                "reindex needed (python -m indexer reindex)"
            )
        if self.analyzer_version != analyzer.version:
            raise IndexOutdated(
                f"index built with analyzer {self.analyzer_version}, this program uses {analyzer.version} "
                "(the analyzer or the domain dictionary changed): reindex needed (python -m indexer reindex)"
            )


def open_tantivy(directory: Path) -> tantivy.Index:
    """Open the tantivy index of one generation directory with our tokenizers registered."""
    if not tantivy.Index.exists(str(directory)):
        raise IndexMissing(f"no index in {directory}")
    index = tantivy.Index.open(str(directory))
    register_tokenizers(index)
    return index


# tantivy-py types stored and fast values loosely (`Any | None`, `int | float | bool | None`);
# these read them with the type the schema gives, and name the field when a value is missing.


def stored_text(doc: tantivy.Document, field: str) -> str:
    """The stored text of `field` (a section always has its stored fields)."""
    value = doc.get_first(field)
    if not isinstance(value, str):
        raise IndexCorrupt(f"a section has no stored {field!r}: rebuild the index (python -m indexer reindex)")
    return value


def stored_payload(doc: tantivy.Document) -> dict[str, Any]:
    """A section's display payload (the JSON stored in F_PAYLOAD)."""
    value = doc.get_first(F_PAYLOAD)
    if not isinstance(value, bytes):
        raise IndexCorrupt(f"a section has no stored {F_PAYLOAD!r}: rebuild the index (python -m indexer reindex)")
    payload: dict[str, Any] = json.loads(value)
    return payload


def fast_ints(searcher: tantivy.Searcher, field: str, addrs: list[tantivy.DocAddress]) -> list[int]:
    """The integer fast field `field` of each hit, in order."""
    values = searcher.fast_field_values(field, addrs)
    ints = [v for v in values if isinstance(v, int)]
    if len(ints) != len(values):
        raise IndexCorrupt(f"a section has no integer {field!r}: rebuild the index (python -m indexer reindex)")
    return ints
