"""Reindex: build a new index generation (full or incremental) and swap it in atomically."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tantivy
from tqdm import tqdm

from indexer.prepare import FileTask, PreparedFile, file_key, prepare_file, prepare_parts, sha256_file
from indexer.readers import iter_corpus_files, path_text, relative_name
from indexer.vocabulary import suggestion_rows
from indexer.workers import AnalysisWorkers
from speechindex import dedup
from speechindex import schema as S
from speechindex.check import open_generation
from speechindex.docstore import DocStore, FileState
from speechindex.errors import IndexMissing, IndexOutdated, NothingIndexed
from speechindex.lifecycle import helpers_ignore_stop_signals
from speechindex.location import IndexLocation

WRITER_HEAP = 256_000_000
# Larger files are analysed one document at a time in the parent (see `_prepared`).
STREAM_BYTES = 16 * 2**20
# A .jsonl/.csv collection is prepared as one task per this many bytes (at most MAX_SHARES), so
# that both workers analyse a large collection instead of one while the other idles.
SHARE_BYTES = 512 * 1024
MAX_SHARES = 16
COLLECTION_SUFFIXES = (".jsonl", ".csv")
# Distinct suggestion terms counted in memory before they are added to the store's counts (bounds the
# parent's memory, ~20 MB at this size). Each flush upserts every counted term, so flushing at 50,000
# cost 0.8 CPU s on 新闻联播 against 0.5 s for the one flush of its 150,000 terms.
VOCABULARY_FLUSH_TERMS = 250_000
# tantivy files that are rewritten (not appended) by a writer: copied, never hard-linked.
_MUTABLE_FILES = {"meta.json", ".managed.json", S.DOCSTORE, S.MANIFEST, ".tantivy-meta.lock", ".tantivy-writer.lock"}


@dataclass
class ScannedFile:
    """A corpus file found by the scan."""

    root: Path
    path: Path
    corpus_name: str
    key: str
    rel: str  # the name documents and messages use (see readers.relative_name)
    size: int
    mtime_ns: int
    sha256: str = ""


@dataclass
class BuildSummary:
    """What a reindex did; printed at the end, or as JSON with --json."""

    mode: str  # "full", "incremental" or "up-to-date"
    index: str
    generation: str | None = None
    files: int = 0
    files_read: int = 0
    documents: int = 0
    sections: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    skipped: list[dict[str, str]] = field(default_factory=list)
    removed_files: int = 0
    notes: list[str] = field(default_factory=list)
    dedup: dict[str, float] = field(default_factory=dict)  # duplicate/version groups and their cost (speechindex.dedup)

    @property
    def mb(self) -> float:
        """Raw megabytes read and indexed."""
        return self.bytes_read / 1e6

    @property
    def mb_s(self) -> float:
        """Throughput in raw MB per second."""
        return self.mb / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        """The --json form of the summary."""
        return {
            "mode": self.mode,
            "index": self.index,
            "generation": self.generation,
            "files": self.files,
            "files_read": self.files_read,
            "documents": self.documents,
            "sections": self.sections,
            "mb": round(self.mb, 3),
            "seconds": round(self.seconds, 3),
            "mb_s": round(self.mb_s, 3),
            "removed_files": self.removed_files,
            "skipped": self.skipped,
            "notes": self.notes,
            "dedup": self.dedup,
        }

    def line(self) -> str:
        """The one-line human summary."""
        return (
            f"{self.mode}: {self.documents} documents, {self.sections} sections from {self.files_read} files, "
            f"{self.mb:.1f} MB in {self.seconds:.1f} s ({self.mb_s:.2f} MB/s); skipped {len(self.skipped)}"
        )


def corpus_name(root: Path) -> str:
    """The name a corpus root is known by (its folder name, or the file's stem)."""
    resolved = root.resolve()
    return path_text(resolved.name if resolved.is_dir() else resolved.stem)


def scan(corpora: Iterable[Path]) -> tuple[list[ScannedFile], list[dict[str, str]]]:
    """List the supported files of every corpus root, with size and mtime; unreadable entries are reported."""
    files: list[ScannedFile] = []
    problems: list[dict[str, str]] = []
    seen: set[str] = set()
    names: dict[str, Path] = {}
    for root in corpora:
        root = Path(root)
        if not root.exists():
            problems.append({"file": path_text(root), "reason": "corpus path does not exist"})
            continue
        name = corpus_name(root)
        # Two roots with the same folder name (a/corpus, b/corpus) must not share file keys.
        base, n = name, 2
        while names.setdefault(name, root.resolve()) != root.resolve():
            name, n = f"{base}-{n}", n + 1
        for path in iter_corpus_files(root):
            rel = relative_name(path, root)
            if file_key(name, rel) in seen:
                # A GBK-decoded name equal to a UTF-8 one: the escaped form keeps both.
                rel = relative_name(path, root, escape=True)
            key = file_key(name, rel)
            if key in seen:
                continue
            seen.add(key)
            try:
                st = path.stat()
            except OSError as exc:
                problems.append({"file": key, "reason": f"cannot stat: {exc.strerror or exc}"})
                continue
            files.append(ScannedFile(root, path, name, key, rel, st.st_size, st.st_mtime_ns))
    return files, problems


def _hash(files: list[ScannedFile], known: dict[str, FileState]) -> None:
    """Fill in content hashes, trusting the last build's hash when size and mtime are unchanged."""
    for f in files:
        prev = known.get(f.key)
        if prev and prev.size == f.size and prev.mtime_ns == f.mtime_ns:
            f.sha256 = prev.sha256
            continue
        try:
            f.sha256 = sha256_file(f.path)
        except OSError:
            f.sha256 = ""  # the reader will report why the file cannot be read


@contextmanager
def _worker_pool(files: list[ScannedFile], workers: int, location: IndexLocation) -> Iterator[AnalysisWorkers | None]:
    """The worker processes for the small files, or None when one process will do."""
    if workers <= 1 or sum(len(_tasks(f, True)) for f in files if f.size <= STREAM_BYTES) <= 1:
        yield None
        return
    with AnalysisWorkers(workers, location.new_spool_dir()) as pool:
        yield pool


def _prepared(files: list[ScannedFile], pool: AnalysisWorkers | None) -> Iterator[tuple[ScannedFile, PreparedFile, bool]]:
    """Analyse the files: (file, prepared, last) with `last` on the final piece of each file.

    Files up to STREAM_BYTES go through `prepare_file` whole, in the worker `pool` when
    there is one; a large collection there is split into shares of its records (`_tasks`).
    Larger ones come after them, one document at a time from `prepare_parts` in this
    process, so that memory stays bounded by one document, not one file.
    """
    small = [f for f in files if f.size <= STREAM_BYTES]
    tasks = [(f, task) for f in small for task in _tasks(f, pool is not None)]
    jobs = [task for _, task in tasks]
    results = pool.prepared(jobs) if pool is not None else map(prepare_file, jobs)
    for (f, task), result in zip(tasks, results):
        yield f, result, task.share == task.shares - 1
    for f in files:
        if f.size > STREAM_BYTES:
            for part in prepare_parts(FileTask(str(f.root), str(f.path), f.corpus_name, f.rel)):
                yield f, part, False
            yield f, PreparedFile(file_key(f.corpus_name, f.rel)), True


def _tasks(f: ScannedFile, parallel: bool) -> list[FileTask]:
    """The file as one task, or, for a collection larger than SHARE_BYTES prepared in parallel, as shares of its records."""
    shares = 1
    if parallel and f.path.suffix.lower() in COLLECTION_SUFFIXES:
        shares = max(1, min(MAX_SHARES, -(-f.size // SHARE_BYTES)))
    return [FileTask(str(f.root), str(f.path), f.corpus_name, f.rel, share, shares) for share in range(shares)]


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while building, so the build directory and workers are cleaned up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _add_sections(writer: tantivy.IndexWriter, prepared: PreparedFile, store: DocStore, next_num: int) -> tuple[int, int]:
    """Write one file's documents to the index and the doc store; returns (documents, sections)."""
    sections = 0
    for n, item in enumerate(prepared.docs):
        doc = item.doc
        doc_num = next_num + n
        store.put_document(doc, doc_num, prepared.file_key, item.record)
        if item.signature is not None:
            dedup.put_signature(store.db, doc.doc_id, prepared.file_key, item.signature)
        store.put_terms(doc.doc_id, item.packed_vocabulary)
        year_key = str(doc.year) if doc.year is not None else S.YEAR_NONE
        sort_key = _sort_key(doc.year, doc.date)
        for sec in item.sections:
            tdoc = tantivy.Document()
            tdoc.add_text(S.F_SECTION_ID, sec.section_id)
            tdoc.add_text(S.F_DOC_ID, doc.doc_id)
            tdoc.add_unsigned(S.F_DOC_NUM, doc_num)
            tdoc.add_text(S.F_FILE_KEY, prepared.file_key)
            tdoc.add_text(S.F_TITLE, item.title_terms)
            tdoc.add_text(S.F_TITLE_CHARS, item.title_chars)
            tdoc.add_text(S.F_HEADING, sec.heading_terms)
            tdoc.add_text(S.F_BODY, sec.body_terms)
            tdoc.add_text(S.F_CHARS, sec.chars)
            if doc.year is not None:
                tdoc.add_integer(S.F_YEAR, doc.year)
            tdoc.add_text(S.F_YEAR_KEY, year_key)
            tdoc.add_integer(S.F_SORT_KEY, sort_key)
            for topic in sec.topics:
                tdoc.add_text(S.F_TOPICS, topic)
            for topic in item.topics:
                tdoc.add_text(S.F_DOC_TOPICS, topic)
            tdoc.add_text(S.F_KIND, sec.kind)
            tdoc.add_text(S.F_DOC_KIND, doc.doc_kind)
            if doc.source:
                tdoc.add_text(S.F_SOURCE, doc.source)
            tdoc.add_bytes(S.F_PAYLOAD, sec.payload)
            tdoc.add_text(S.F_SHINGLES, sec.shingles)
            writer.add_document(tdoc)
            sections += 1
    return len(prepared.docs), sections


def _group_duplicates(store: DocStore, worker_seconds: float) -> dict[str, float]:
    """Recompute the duplicate and version groups over the whole generation; returns the summary's `dedup`."""
    started = time.thread_time()  # CPU time: tantivy's threads and other processes do not count
    stats = dedup.rebuild_groups(store.db)
    return {
        **asdict(stats),
        "worker_seconds": round(worker_seconds, 2),  # CPU seconds of shingles + signatures, summed over the workers
        "grouping_seconds": round(time.thread_time() - started, 2),
    }


def _sort_key(year: int | None, date: str | None) -> int:
    """yyyymmdd for ordering by date; a known year without a date sorts at its start; unknown is 0."""
    if date and date[:4].isdigit() and (year is None or int(date[:4]) == year):
        digits = "".join(ch for ch in date if ch.isdigit())[:8].ljust(8, "0")
        return int(digits)
    return year * 10000 if year is not None else 0


def _progress(total_bytes: int, files: int, enabled: bool) -> tqdm:
    with helpers_ignore_stop_signals():  # nor tqdm's monitor thread
        return tqdm(
            total=total_bytes,
            unit="B",
            unit_scale=True,
            unit_divisor=1000,
            desc=f"indexing {files} files",
            disable=not enabled,
            file=sys.stderr,
            dynamic_ncols=True,
        )


def _copy_generation(src: Path, dst: Path) -> None:
    """Seed an incremental build with the previous generation: immutable segment files are hard-linked."""
    for item in src.iterdir():
        if not item.is_file():
            continue
        target = dst / item.name
        if item.name in _MUTABLE_FILES:
            shutil.copy2(item, target)
        else:
            try:
                os.link(item, target)
            except OSError:
                shutil.copy2(item, target)


def _previous_generation(location: IndexLocation) -> tuple[Path | None, dict[str, FileState] | None, str]:
    """The served generation an incremental build can start from and its files, or (None, None, why it cannot)."""
    try:
        opened = open_generation(location.current())
    except IndexMissing:
        return None, None, "no previous index: full build"
    except IndexOutdated as exc:  # IndexCorrupt included: a fresh generation repairs it
        return None, None, f"incremental not possible, full rebuild: {exc}"
    try:
        return opened.path, opened.store.files(), ""
    except (sqlite3.Error, ValueError) as exc:
        problem = f"{S.DOCSTORE} of {opened.path.name} is unreadable ({exc})"
        return None, None, f"incremental not possible, full rebuild: {location.corrupt(problem)}"
    finally:
        opened.store.close()


@dataclass(frozen=True)
class Plan:
    """What a reindex does, decided from the scanned (hashed) files and the previous build's files alone.

    `mode` is "full" (no usable previous generation: every file is read into an empty index),
    "incremental" (read `added` and `changed`, drop the documents of `changed` and `removed`)
    or "up-to-date" (nothing to do).
    """

    mode: str
    added: list[ScannedFile] = field(default_factory=list)
    changed: list[ScannedFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # file keys
    unchanged: list[str] = field(default_factory=list)  # file keys
    carried_errors: list[dict[str, str]] = field(default_factory=list)  # why unchanged files were skipped last time
    to_read: list[ScannedFile] = field(default_factory=list)  # added and changed, in scan order

    @property
    def to_delete(self) -> list[str]:
        """The file keys whose previous documents leave the index."""
        return [*self.removed, *(f.key for f in self.changed)]


def plan(files: list[ScannedFile], known: dict[str, FileState] | None) -> Plan:
    """Compare the scan with the previous build's files (None: no usable previous generation).

    A file is changed when its content hash differs, or could not be taken (it is read again
    so that the reader reports why). Pure: no file or index is touched.
    """
    if known is None:
        return Plan("full", added=list(files), to_read=list(files))
    added: list[ScannedFile] = []
    changed: list[ScannedFile] = []
    unchanged: list[str] = []
    to_read: list[ScannedFile] = []
    for f in files:
        prev = known.get(f.key)
        if prev is not None and prev.sha256 == f.sha256 and f.sha256:
            unchanged.append(f.key)
            continue
        (added if prev is None else changed).append(f)
        to_read.append(f)
    current = {f.key for f in files}
    removed = [k for k in known if k not in current]
    carried = [error for k in unchanged for error in known[k].errors]
    mode = "incremental" if added or changed or removed else "up-to-date"
    return Plan(mode, added, changed, removed, unchanged, carried, to_read)


def reindex(
    corpora: list[Path],
    index_dir: Path,
    incremental: bool = False,
    progress: bool | None = None,
    workers: int | None = None,
) -> BuildSummary:
    """Build the corpora into a new generation of `index_dir` and publish it atomically.

    Raises IndexBusy if another reindex holds the lock. Unreadable files are listed in the
    summary's `skipped`, never raised.
    """
    started = time.perf_counter()
    location = IndexLocation(index_dir)
    summary = BuildSummary(mode="incremental" if incremental else "full", index=str(index_dir))
    with _sigterm_interrupts(), location.lock():
        location.prune()
        files, problems = scan(corpora)
        summary.skipped.extend(problems)
        summary.files = len(files)
        previous: Path | None = None
        known: dict[str, FileState] | None = None
        if incremental:
            previous, known, why_full = _previous_generation(location)
            if previous is None:
                summary.notes.append(why_full)
        _hash(files, known or {})
        todo = plan(files, known)
        summary.mode = todo.mode
        summary.removed_files = len(todo.removed)
        summary.skipped.extend(todo.carried_errors)
        if todo.mode == "up-to-date" and previous is not None:
            _report_up_to_date(summary, previous)
        else:
            show = sys.stderr.isatty() if progress is None else progress
            execute(todo, corpora, location, previous, summary, workers or min(2, os.cpu_count() or 1), show)
    summary.seconds = time.perf_counter() - started
    return summary


def _report_up_to_date(summary: BuildSummary, previous: Path) -> None:
    """Fill the summary of a reindex that found nothing to do from the served generation."""
    summary.generation = previous.name
    store = DocStore(previous / S.DOCSTORE, readonly=True)
    summary.documents = store.count()
    store.close()
    summary.sections = S.Manifest.read(previous).sections


def execute(
    todo: Plan,
    corpora: list[Path],
    location: IndexLocation,
    previous: Path | None,
    summary: BuildSummary,
    workers: int,
    show: bool,
) -> None:
    """Carry out a full or incremental plan in a new build directory, then publish it as the current generation.

    An incremental plan starts from a copy of `previous`. The build directory is removed
    whatever happens; the served generation changes only at the final atomic swap.
    """
    to_read = todo.to_read
    build_dir = location.new_build_dir()
    writer = None
    workers_stack = ExitStack()
    try:
        with helpers_ignore_stop_signals():  # Ctrl-C must reach this thread, not the pool's
            pool = workers_stack.enter_context(_worker_pool(to_read, workers, location))
        if previous is not None:
            _copy_generation(previous, build_dir)
        index = tantivy.Index(S.build_schema(), path=str(build_dir), reuse=previous is not None)
        S.register_tokenizers(index)
        store = DocStore(build_dir / S.DOCSTORE)
        dedup.ensure_tables(store.db)
        with helpers_ignore_stop_signals():  # nor tantivy's threads
            writer = index.writer(WRITER_HEAP, 1)
        store.ensure_term_counts()
        vocabulary: Counter[str] = Counter()  # change in each suggestion term's document count
        for key in todo.to_delete:
            writer.delete_documents_by_term(S.F_FILE_KEY, key)
            vocabulary.subtract(term for terms in store.file_terms(key) for term in terms)
            store.delete_file(key)
            dedup.delete_file(store.db, key)
        dedup_seconds = _write_files(writer, store, to_read, pool, summary, vocabulary, show)
        writer.commit()
        writer.wait_merging_threads()
        writer = None
        index.reload()  # the manifest's section count must see the commit
        summary.dedup = _group_duplicates(store, dedup_seconds)
        store.add_term_counts(vocabulary)
        store.put_suggestions(suggestion_rows(store.term_counts()))
        store.commit()
        total_docs = store.count()
        store.close()
        if total_docs == 0:
            raise NothingIndexed(
                "no document could be read from " + ", ".join(path_text(c) for c in corpora), summary.skipped
            )
        if previous is not None:
            summary.notes.append(
                f"re-read {len(to_read)} changed/added files, dropped {len(todo.removed)} removed files; "
                f"{total_docs} documents in the index"
            )
        S.Manifest.current(
            time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            [path_text(Path(c).resolve()) for c in corpora],
            total_docs,
            index.searcher().num_docs,
        ).write(build_dir)
        summary.generation = location.publish(build_dir).name
    finally:
        workers_stack.close()
        if writer is not None:
            # Interrupted mid-build: stop tantivy's threads before deleting their files.
            writer.rollback()
        if build_dir.exists():
            shutil.rmtree(build_dir, ignore_errors=True)


def _write_files(
    writer: tantivy.IndexWriter,
    store: DocStore,
    files: list[ScannedFile],
    pool: AnalysisWorkers | None,
    summary: BuildSummary,
    vocabulary: Counter[str],
    show: bool,
) -> float:
    """Analyse `files` and add their documents to the writer and the store; counts go to the summary.

    The new documents' suggestion terms are counted in `vocabulary`, which is added to the
    store's counts whenever it grows large. Returns the workers' CPU seconds spent on dedup
    signatures.
    """
    next_num = store.max_doc_num() + 1
    dedup_seconds = 0.0
    with _progress(sum(f.size for f in files), len(files), show) as bar:
        file_docs, file_errors = 0, []
        for scanned, prepared, last in _prepared(files, pool):
            docs, sections = _add_sections(writer, prepared, store, next_num)
            for item in prepared.docs:
                vocabulary.update(item.vocabulary)
            if len(vocabulary) > VOCABULARY_FLUSH_TERMS:
                store.add_term_counts(vocabulary)
                vocabulary.clear()
            next_num += docs
            summary.documents += docs
            dedup_seconds += sum(d.dedup_seconds for d in prepared.docs)
            summary.sections += sections
            summary.skipped.extend(prepared.errors)
            summary.notes.extend(prepared.notes)
            file_docs += docs
            file_errors.extend(prepared.errors)
            if not last:
                continue
            if file_docs:
                summary.files_read += 1
                summary.bytes_read += scanned.size
            store.put_file(FileState(scanned.key, scanned.sha256, scanned.size, scanned.mtime_ns, file_docs, file_errors))
            file_docs, file_errors = 0, []
            bar.update(scanned.size)
            bar.set_postfix(docs=summary.documents, refresh=False)
    return dedup_seconds
