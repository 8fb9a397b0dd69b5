"""The index answers the query mix exactly as the recorded write path did (issue 12).

`tests/data/query_mix_answers.json` was recorded (`python -m bench.answers`) from the write path
before issue 12's changes to the index format: the character fields fed through a per-character
regex tokenizer, the word fields with positions. Any change of the write path that changes a
result set, an order, a score, a snippet or a facet count fails here, query by query.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.answers import answers
from tests.conftest import REPO

RECORDED = REPO / "tests" / "data" / "query_mix_answers.json"


def test_the_query_mix_gets_the_recorded_answers(speech_index: Path) -> None:
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    now = answers(speech_index)
    assert now.keys() == recorded.keys()
    changed = [q for q in recorded if now[q] != recorded[q]]
    assert not changed, f"{len(changed)} of {len(recorded)} queries answer differently, first: {changed[0]!r}\n" + json.dumps(
        {"recorded": recorded[changed[0]], "now": now[changed[0]]}, ensure_ascii=False
    )
    # The record is not vacuous: most queries find something, the phrases included.
    assert sum(bool(a["hits"]) for a in recorded.values()) > 100
    assert recorded['"集团化办学"']["totals"][0] == 2
