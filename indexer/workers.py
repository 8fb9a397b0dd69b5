"""The analysis workers of a reindex: processes that prepare files while the writer writes.

`concurrent.futures`, not `multiprocessing.Pool`: the Pool's worker-handler thread also wakes
whenever results wait in its pipe, so it spun in the writing process all the time the workers
were ahead of the writer (1.6 of the writer's 8 CPU s on 新闻联播). A worker that dies (killed,
out of memory) fails the build with BrokenProcessPool instead of hanging it.

A prepared file comes back through a spool file, and the pipe carries only its name: a short
message is written atomically, so a worker stopped in the middle of sending (Ctrl-C) can never
leave the executor waiting for the rest of a result, which would hang the reindex on exit. The
spool is a directory beside the index's builds (`IndexLocation.new_spool_dir`), on the disk that
must hold the index anyway.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import signal
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from pathlib import Path
from types import TracebackType

from indexer.prepare import FileTask, PreparedFile, prepare_file
from speechindex.analysis import get_analyzer
from speechindex.lifecycle import exit_with_parent, unblock_stop_signals

# Files prepared ahead of the writer (more only wait, in memory or in the spool).
PREPARED_AHEAD = 8


class AnalysisWorkers:
    """`count` forked processes running `prepare_file`, used as a context manager.

    Forked on entry, before the tantivy writer starts its threads: a fork while other threads
    run can leave a child holding a lock no thread will release (an intermittent hang). On
    exit the workers are stopped at once, finished or not.
    """

    def __init__(self, count: int, spool: Path) -> None:
        self.count = count
        self.spool = spool  # a directory of this build's own; removed on exit
        self._executor: ProcessPoolExecutor | None = None
        self._others: set[multiprocessing.process.BaseProcess] = set()

    def __enter__(self) -> AnalysisWorkers:
        get_analyzer()  # load the dictionaries once; forked workers inherit them
        self._others = set(multiprocessing.active_children())  # a caller's own processes are left alone
        self.spool.mkdir(parents=True, exist_ok=True)
        self._executor = ProcessPoolExecutor(self.count, mp_context=multiprocessing.get_context("fork"), initializer=_worker_setup)
        try:
            self._executor.submit(int).result()  # with "fork", the first task starts every worker: now
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()

    def prepared(self, tasks: Iterable[FileTask]) -> Iterator[PreparedFile]:
        """`prepare_file` of each task, in task order, with at most PREPARED_AHEAD prepared and not yet taken."""
        assert self._executor is not None, "AnalysisWorkers used outside its with block"
        pending: deque[Future[str]] = deque()
        queue = iter(tasks)
        for task in islice(queue, PREPARED_AHEAD):
            pending.append(self._executor.submit(_prepare_to_spool, task, str(self.spool)))
        while pending:
            spooled = Path(pending.popleft().result())
            for task in islice(queue, 1):
                pending.append(self._executor.submit(_prepare_to_spool, task, str(self.spool)))
            with spooled.open("rb") as handle:
                result: PreparedFile = pickle.load(handle)
            spooled.unlink()
            yield result

    def stop(self) -> None:
        """Stop the workers (running tasks included) and remove the spool."""
        for child in set(multiprocessing.active_children()) - self._others:
            child.terminate()
            child.join()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        shutil.rmtree(self.spool, ignore_errors=True)


def _prepare_to_spool(task: FileTask, spool: str) -> str:
    """Worker side: prepare one file and leave the result pickled in `spool`; returns its path."""
    result = prepare_file(task)
    fd, path = tempfile.mkstemp(dir=spool, suffix=".pickle")
    with os.fdopen(fd, "wb") as out:
        pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _worker_setup() -> None:
    """Workers leave interrupts to the parent, which stops them: no traceback from each worker.

    A parent killed outright cannot: then they notice it is gone and exit.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    unblock_stop_signals()
    exit_with_parent()
