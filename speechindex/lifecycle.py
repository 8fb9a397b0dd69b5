"""Worker processes that do not outlive the process that started them.

A parent killed outright (SIGKILL, the out-of-memory killer) cannot stop its workers, and a
worker blocked on its task queue would wait for ever: the indexer's analysis workers and the
server's search workers watch their parent instead.
"""

from __future__ import annotations

import os
import threading
import time

PARENT_CHECK_S = 1.0  # how often a worker looks for its parent


def exit_with_parent(interval: float = PARENT_CHECK_S) -> None:
    """Start a daemon thread that ends this process (`os._exit`) once its parent is gone."""
    threading.Thread(target=_watch, args=(os.getppid(), interval), daemon=True, name="exit-with-parent").start()


def _watch(parent: int, interval: float) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(0)
