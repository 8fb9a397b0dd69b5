"""Worker processes that do not outlive the process that started them, and interrupts that
reach the main thread.

A parent killed outright (SIGKILL, the out-of-memory killer) cannot stop its workers, and a
worker blocked on its task queue would wait for ever: the indexer's analysis workers and the
server's search workers watch their parent instead.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

PARENT_CHECK_S = 1.0  # how often a worker looks for its parent
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def exit_with_parent(interval: float = PARENT_CHECK_S) -> None:
    """Start a daemon thread that ends this process (`os._exit`) once its parent is gone."""
    threading.Thread(target=_watch, args=(os.getppid(), interval), daemon=True, name="exit-with-parent").start()


def _watch(parent: int, interval: float) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(0)


@contextmanager
def helpers_ignore_stop_signals() -> Iterator[None]:
    """Threads and processes started inside begin with SIGINT and SIGTERM blocked.

    The kernel hands a process-directed signal to any thread that does not block it; CPython
    runs the handler in the main thread only, and a Ctrl-C that lands on a helper thread (an
    executor's, tantivy's) can stay unhandled while the main thread waits: a reindex under load
    ignored 1 interrupt of 105. Forked processes must unblock them (`unblock_stop_signals`).
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def unblock_stop_signals() -> None:
    """In a process forked inside `helpers_ignore_stop_signals`: receive SIGINT and SIGTERM again."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
