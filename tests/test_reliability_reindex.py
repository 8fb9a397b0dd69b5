"""Reliability (issue #7): a reindex that is killed, interrupted or run twice at once.

The corpus is the bundled seeds, the government work reports, the 2020 speeches (from
../shared; the tests are skipped without it) and a folder of generated speeches that makes
the build last a few seconds even on a fast machine. A reindex subprocess
(`--workers 2`) is killed with SIGKILL, or interrupted with SIGINT (Ctrl-C), at several
points of its run: each time the previous index must keep answering exactly as before —
through a reader opened before the kill and a fresh one — with CURRENT unchanged and the
lock free, and the next reindex must complete and be picked up by the same reader.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from search_app.engine import SearchEngine, SearchRequest
from speechindex.errors import IndexBusy
from speechindex.location import CURRENT, IndexLocation
from tests.conftest import CORPUS, REPO, shared_path

KILL_POINTS = (0.2, 1.0, 2.0)  # seconds after the reindex process starts
MARKER = "mkreindexmarker"  # only in the corpus of the reindex under test
QUERIES = (
    SearchRequest(q="教育"),
    SearchRequest(q="政府工作报告", sort="newest", per_page=20),
    SearchRequest(q='"义务教育" year:2000..2020'),
    SearchRequest(q="改革 OR 创新 -疫情", page=2),
    SearchRequest(q="", filters={"doc_kind": ["讲话"]}, sort="oldest"),
)
PADDING_WORDS = (
    "教育 改革 发展 学校 教师 学生 课程 评价 质量 公平 乡村 职业 高等 义务 学前 "
    "体育 美育 劳动 思政 科研 创新 人才 培养 资源 均衡 治理 保障 经费 信息化 数字化"
).split()
NUMERALS = "一二三四五六七八九十"


@dataclass(frozen=True)
class Baseline:
    """A built index and what it answers: every test works on its own copy."""

    index: Path
    corpora: list[Path]  # what the baseline was built from
    new_corpora: list[Path]  # the same plus MARKER: what the reindexes under test build
    results: list[dict]
    documents: int


def write_padding(folder: Path, files: int = 120) -> None:
    """Generated speeches with numbered headings, ~20 KB each, so that a build lasts a few seconds."""
    rng = random.Random(7)
    folder.mkdir(parents=True)
    for n in range(files):
        lines = [f"第{n}号讲话稿", ""]
        for numeral in NUMERALS:
            lines.append(f"{numeral}、关于{rng.choice(PADDING_WORDS)}{rng.choice(PADDING_WORDS)}工作")
            for _ in range(8):
                lines.append("要" + "，".join(rng.choice(PADDING_WORDS) + rng.choice(PADDING_WORDS) for _ in range(12)) + "。")
        (folder / f"pad{n:03}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def answers(engine: SearchEngine) -> list[dict]:
    """The engine's JSON for every query in QUERIES, without the timing."""
    out = []
    for request in QUERIES:
        result = engine.search(SearchRequest(**vars(request))).to_json()
        result.pop("took_ms")
        out.append(result)
    return out


def reindex_command(corpora: list[Path], index: Path) -> list[str]:
    """The CLI reindex of `corpora` into `index` with two workers and a JSON summary."""
    command = [sys.executable, "-m", "indexer", "reindex", "--index", str(index), "--workers", "2", "--json"]
    for corpus in corpora:
        command += ["--corpus", str(corpus)]
    return command


@contextmanager
def started(command: list[str]) -> Iterator[subprocess.Popen[str]]:
    """Run `command` in its own process group; whatever is left of the group is killed at the end."""
    proc = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()


def run_to_completion(corpora: list[Path], index: Path) -> subprocess.CompletedProcess[str]:
    """A reindex that is left to finish."""
    return subprocess.run(reindex_command(corpora, index), cwd=REPO, capture_output=True, text=True, timeout=180)


def assert_lock_free(index: Path) -> None:
    """Nothing holds the reindex lock (a dead reindex must not block the next one)."""
    try:
        with IndexLocation(index).lock():
            pass
    except IndexBusy as exc:
        pytest.fail(f"the lock is still held after the reindex ended: {exc}")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    """An index of the seeds, the work reports, the 2020 speeches and the padding."""
    corpora = [CORPUS, shared_path("corpora", "gov_work_reports"), shared_path("corpora", "xi_speeches_2020")]
    base = tmp_path_factory.mktemp("reliability-reindex")
    write_padding(base / "padding")
    (base / "extra").mkdir()
    (base / "extra" / "新增讲话.txt").write_text(
        f"新增的讲话稿\n\n同志们：今天的会议代号是 {MARKER}，请各地认真落实教育工作部署。\n", encoding="utf-8"
    )
    corpora.append(base / "padding")
    index = base / "index"
    proc = run_to_completion(corpora, index)
    assert proc.returncode == 0, proc.stderr
    engine = SearchEngine(index)
    return Baseline(index, corpora, [*corpora, base / "extra"], answers(engine), engine.stats()["documents"])


def copy_of(baseline: Baseline, tmp_path: Path) -> Path:
    """A private copy of the baseline index directory."""
    index = tmp_path / "index"
    shutil.copytree(baseline.index, index, symlinks=True)
    return index


@pytest.mark.shared
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_an_interrupted_reindex_leaves_the_previous_index_serving(baseline: Baseline, tmp_path: Path, sig: signal.Signals) -> None:
    index = copy_of(baseline, tmp_path)
    current = (index / CURRENT).read_text()
    engine = SearchEngine(index)  # a reader that stays open across every kill
    assert answers(engine) == baseline.results

    for delay in KILL_POINTS:
        with started(reindex_command(baseline.new_corpora, index)) as proc:
            time.sleep(delay)
            assert proc.poll() is None, f"the reindex ended before the {delay} s kill point: the corpus is too small"
            proc.send_signal(sig)
            _out, err = proc.communicate(timeout=60)  # returns once the workers are gone too
        if sig == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
        else:
            # 130 once the CLI runs; a SIGINT during interpreter start-up ends it by the signal.
            assert proc.returncode in (130, -signal.SIGINT), err
            if proc.returncode == 130:
                assert "interrupted: the previous index is unchanged" in err
            assert not list(index.glob(".build-*")), "an interrupted build must remove its directory"
        assert (index / CURRENT).read_text() == current, f"CURRENT changed after a kill at {delay} s"
        assert answers(engine) == baseline.results, f"the open reader changed after a kill at {delay} s"
        assert answers(SearchEngine(index)) == baseline.results, f"a new reader differs after a kill at {delay} s"
        assert engine.search(SearchRequest(q=MARKER)).total_docs == 0
        assert_lock_free(index)

    proc = run_to_completion(baseline.new_corpora, index)
    assert proc.returncode == 0, proc.stderr
    assert (index / CURRENT).read_text() != current
    # The reader that served through the kills switches to the new generation by itself.
    assert engine.search(SearchRequest(q=MARKER)).total_docs == 1
    assert engine.stats()["documents"] == baseline.documents + 1
    assert not list(index.glob(".build-*")), "abandoned build directories must be pruned"
    assert len(list(index.glob("gen-*"))) <= 2


@pytest.mark.shared
def test_two_concurrent_reindexes_one_runs_the_other_exits_3(baseline: Baseline, tmp_path: Path) -> None:
    index = copy_of(baseline, tmp_path)
    with started(reindex_command(baseline.new_corpora, index)) as first, started(
        reindex_command(baseline.new_corpora, index)
    ) as second:
        outcomes = [proc.communicate(timeout=180) + (proc.returncode,) for proc in (first, second)]
    codes = sorted(code for _out, _err, code in outcomes)
    assert codes == [0, 3], [(code, err[-500:]) for _out, err, code in outcomes]
    [busy_err] = [err for _out, err, code in outcomes if code == 3]
    assert "another reindex" in busy_err and "is running" in busy_err, busy_err
    assert "wait for it to finish" in busy_err

    engine = SearchEngine(index)
    assert engine.stats()["documents"] == baseline.documents + 1
    assert engine.search(SearchRequest(q=MARKER)).total_docs == 1
    assert engine.search(SearchRequest(q="教育")).total_docs > 0
    assert_lock_free(index)
