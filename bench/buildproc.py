"""One index build in its own process, so that its peak memory is its own.

    python -m bench.buildproc ENGINE OUT_DIR CORPUS [CORPUS ...]

Prints one JSON line: the `bench.peers.BuildResult` plus the peak resident set size of this
process and of its worker processes (ru_maxrss; on Linux in KiB).
"""

from __future__ import annotations

import json
import resource
import sys
from dataclasses import asdict
from pathlib import Path

from bench.peers import BUILDERS


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    engine, out, corpora = args[0], Path(args[1]), [Path(c) for c in args[2:]]
    result = BUILDERS[engine](corpora, out)
    result.maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result.workers_maxrss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
