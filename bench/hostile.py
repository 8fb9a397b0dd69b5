"""Peak memory and time of a reindex over hostile files (issue #16): too heavy for the test suite.

    python -m bench.hostile [--workdir /tmp/hostile-bench] [--cases one_line_200mb,zip_bomb_1gb,one_line_at_limit]

Each case writes its file (and one ordinary speech) into a corpus of its own and runs
`/usr/bin/time -v python -m indexer reindex --corpus … --index … --json` in a fresh process
group. Reported per case: wall seconds, the largest single process's peak RSS (what
`/usr/bin/time -v` prints) and the peak of the whole process tree's RSS summed (the parent
and its workers, sampled from /proc every 50 ms), the exit code, and what the summary says
(documents indexed, or the skip reason). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import docx

from bench.corpora import REPO
from speechindex.config import DEFAULT_MAX_FILE_MB

SENTENCE = "同志们，我们要坚定不移推进教育强国建设，深化新时代教育评价改革，落实立德树人根本任务。"


def one_line(path: Path, size: int) -> None:
    """A text file of `size` bytes of Chinese prose without a single newline."""
    chunk = (SENTENCE * (1_000_000 // len(SENTENCE.encode()))).encode()
    with open(path, "wb") as fh:
        written = 0
        while written < size:
            fh.write(chunk)
            written += len(chunk)


def zip_bomb(path: Path, inflated: int) -> None:
    """A valid-looking .docx whose word/document.xml inflates to `inflated` bytes of spaces."""
    template = path.with_suffix(".template.docx")
    document = docx.Document()
    document.add_paragraph("正常段落。")
    document.save(str(template))
    with zipfile.ZipFile(template) as original, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for info in original.infolist():
            data = original.read(info)
            if info.filename != "word/document.xml":
                bomb.writestr(info.filename, data)
                continue
            with bomb.open("word/document.xml", "w", force_zip64=True) as member:
                member.write(data)
                block = b" " * 2**20
                for _ in range(inflated // len(block)):
                    member.write(block)
    template.unlink()


CASES = {
    "one_line_200mb": ("one.txt", lambda p: one_line(p, 200 * 10**6)),
    "zip_bomb_1gb": ("bomb.docx", lambda p: zip_bomb(p, 2**30)),
    # The largest one-line file the default limit accepts: what an accepted file can cost.
    "one_line_at_limit": ("limit.txt", lambda p: one_line(p, DEFAULT_MAX_FILE_MB * 2**20 - 2**20)),
}


def _tree_rss_kib(pgid: int) -> int:
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as fh:
                rss = next((line for line in fh if line.startswith("VmRSS:")), "VmRSS: 0 kB")
            total += int(rss.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total


def run_case(name: str, workdir: Path) -> dict[str, object]:
    """Build the case's file, reindex it under /usr/bin/time -v, and measure."""
    filename, make = CASES[name]
    corpus, index = workdir / name / "corpus", workdir / name / "index"
    shutil.rmtree(workdir / name, ignore_errors=True)
    corpus.mkdir(parents=True)
    make(corpus / filename)
    # One ordinary speech beside it, so that the reindex succeeds and its summary lists the skip.
    (corpus / "speech.txt").write_text(SENTENCE * 20, encoding="utf-8")
    size = (corpus / filename).stat().st_size
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "indexer", "reindex",
               "--corpus", str(corpus), "--index", str(index), "--json"]
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    peak_tree = 0
    while proc.poll() is None:
        peak_tree = max(peak_tree, _tree_rss_kib(proc.pid))
        time.sleep(0.05)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    maxrss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    try:
        summary = json.loads(out)
    except ValueError:
        summary = {}
    return {
        "file": filename,
        "file_mb": round(size / 1e6, 1),
        "command": " ".join(command[2:]),
        "exit": proc.returncode,
        "seconds": round(seconds, 1),
        "peak_rss_mb_largest_process": round(int(maxrss.group(1)) / 1024) if maxrss else None,
        "peak_rss_mb_process_tree": round(peak_tree / 1024),
        "documents": summary.get("documents"),
        "skipped": summary.get("skipped"),
        "stderr_tail": "" if summary else err[-500:],
    }


def main(argv: list[str] | None = None) -> None:
    """Run the chosen cases and print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/hostile-bench"))
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from: {', '.join(CASES)}")
    args = parser.parse_args(argv)
    results = {}
    for name in args.cases.split(","):
        results[name] = run_case(name, args.workdir)
        shutil.rmtree(args.workdir / name, ignore_errors=True)
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
