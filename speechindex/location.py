"""The on-disk layout of an index directory, and the atomic swap that publishes a new build.

    INDEX_DIR/
      CURRENT                 name of the generation being served (replaced atomically)
      gen-YYYYmmddTHHMMSS-N/  a complete index: tantivy files, documents.sqlite, manifest.json
      .build-…/               a build in progress, and its workers' spool (deleted if it never completes)
      .lock                   held by the one reindex allowed at a time

A build writes only into its own `.build-…` directory; readers only ever see a generation
named in CURRENT, so a crash or Ctrl-C at any point leaves the previous index serving.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shlex
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from speechindex.errors import IndexBusy, IndexCorrupt, IndexMissing

CURRENT = "CURRENT"
LOCK = ".lock"
KEEP_GENERATIONS = 2
_MAX_POINTER_BYTES = 200  # CURRENT holds one generation name; anything longer is damage
_HELD: set[Path] = set()  # lock files this process holds
_HELD_GUARD = threading.Lock()  # the new one, and the previous one that running servers may still read


class IndexLocation:
    """One index directory and its generations."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def current(self) -> Path:
        """The generation directory being served.

        IndexMissing when nothing was built yet (or `root` is not a directory), IndexCorrupt
        when CURRENT is unreadable or names no generation; both say what to run.
        """
        try:
            with open(self.root / CURRENT, "rb") as fh:
                raw = fh.read(_MAX_POINTER_BYTES + 1)
        except FileNotFoundError:
            raise IndexMissing(
                f"no index at {self.root}: build it with `{repair_command(self.root)}`"
            ) from None
        except NotADirectoryError:
            raise IndexMissing(
                f"{self.root} is a file, not an index directory: pass a directory with --index"
            ) from None
        except OSError as exc:
            raise IndexMissing(f"cannot read {self.root / CURRENT} ({exc.strerror or exc})") from None
        if len(raw) > _MAX_POINTER_BYTES:
            raise self.corrupt(f"{CURRENT} is too long for a generation name ({_MAX_POINTER_BYTES}+ bytes)")
        try:
            name = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise self.corrupt(f"{CURRENT} is not text (invalid UTF-8)") from None
        path = self.root / name
        if not name.startswith("gen-") or "/" in name or not path.is_dir():
            raise self.corrupt(f"{CURRENT} names a missing generation {name[:80]!r}")
        return path

    def current_or_none(self) -> Path | None:
        """Like `current`, but None when there is no usable generation."""
        try:
            return self.current()
        except (IndexMissing, IndexCorrupt):
            return None

    def corrupt(self, problem: str) -> IndexCorrupt:
        """The error for a damaged index: what is wrong, and the command that rebuilds it."""
        return IndexCorrupt(f"the index at {self.root} is damaged: {problem}; rebuild it with `{repair_command(self.root)}`")

    def pointer_stamp(self) -> int:
        """A cheap value that changes whenever a new generation is published (for readers to poll)."""
        try:
            return (self.root / CURRENT).stat().st_mtime_ns
        except OSError:
            return 0

    def new_build_dir(self) -> Path:
        """A fresh private directory for a build."""
        self._make_root()
        path = self.root / f".build-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        path.mkdir()
        return path

    def new_spool_dir(self) -> Path:
        """A private scratch directory beside the builds, for the workers' results (the caller removes it).

        Named like a build, so that `prune` removes it if a killed reindex leaves it behind.
        """
        self._make_root()
        path = self.root / f".build-spool-{os.getpid()}"
        path.mkdir(exist_ok=True)
        return path

    def publish(self, build_dir: Path) -> Path:
        """Rename a finished build into a generation and point CURRENT at it, atomically."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        n = 0
        while (gen := self.root / f"gen-{stamp}-{n}").exists():
            n += 1
        _fsync_tree(build_dir)
        build_dir.rename(gen)
        tmp = self.root / f".{CURRENT}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(gen.name + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / CURRENT)
        _fsync_dir(self.root)
        self.prune()
        return gen

    def prune(self) -> None:
        """Delete old generations (all but the newest KEEP_GENERATIONS) and abandoned builds."""
        current = self.current_or_none()
        gens = sorted(p for p in self.root.glob("gen-*") if p.is_dir())
        keep = set(gens[-KEEP_GENERATIONS:]) | ({current} if current else set())
        for path in gens:
            if path not in keep:
                shutil.rmtree(path, ignore_errors=True)
        for path in self.root.glob(".build-*"):
            pid = path.name.rsplit("-", 1)[-1]
            if not (pid.isdigit() and _alive(int(pid))):
                shutil.rmtree(path, ignore_errors=True)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the reindex lock; IndexBusy at once if another reindex holds it."""
        self._make_root()
        key = (self.root / LOCK).resolve()
        with _HELD_GUARD:
            if key in _HELD:  # POSIX locks do not exclude the holding process itself
                raise IndexBusy(
                    f"another reindex of {self.root} is running (pid {os.getpid()}); wait for it to finish and try again"
                )
            _HELD.add(key)
        try:
            fh = open(self.root / LOCK, "a+", encoding="utf-8")
        except OSError as exc:
            with _HELD_GUARD:
                _HELD.discard(key)
            raise self._unusable(exc) from None
        try:
            try:
                # A POSIX record lock, not flock: forked worker processes do not inherit it, so a
                # SIGKILLed reindex releases the lock at once even while its workers finish.
                fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                raise IndexBusy(
                    f"another reindex of {self.root} is running ({holder}); wait for it to finish and try again"
                ) from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}")
            fh.flush()
            yield
        finally:
            fh.close()
            with _HELD_GUARD:
                _HELD.discard(key)


    def _make_root(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unusable(exc) from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise self._unusable(PermissionError(errno.EACCES, "permission denied"))

    def _unusable(self, exc: OSError) -> IndexMissing:
        reason = "it is a file" if self.root.is_file() else (exc.strerror or str(exc)).lower()
        return IndexMissing(f"cannot write an index to {self.root} ({reason}): pass a writable directory with --index")


def repair_command(root: Path) -> str:
    """The reindex command that rebuilds the index at `root` from the corpora it was built from.

    The corpora come from the newest readable manifest.json; without one, the defaults apply.
    """
    command = ["python", "-m", "indexer", "reindex", "--index", str(root)]
    for manifest in sorted(Path(root).glob("gen-*/manifest.json"), reverse=True):
        try:
            corpora = json.loads(manifest.read_text(encoding="utf-8"))["corpora"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(corpora, list) and all(isinstance(c, str) for c in corpora):
            for corpus in corpora:
                command += ["--corpus", corpus]
            break
    return shlex.join(command)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for file in path.iterdir():
        if file.is_file():
            with open(file, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(path)
