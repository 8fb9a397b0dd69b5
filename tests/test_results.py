"""Typed results rendered at the edges (issue 13): Fragments (text + match spans) and their
renderers (HTML, terminal), and the API's `snippet` data agreeing with its `snippet_html`
over the benchmark's query mix."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
import tantivy

from bench.queries import query_mix
from search_app.render import PLAIN_MARK, TERMINAL_MARK, html, terminal
from search_app.results import Fragment
from search_app.web import create_app
from speechindex import schema as S
from speechindex.docstore import DocStore
from speechindex.location import IndexLocation
from speechindex.records import DocumentRecord, SectionPayload


class MarkedText(HTMLParser):
    """The characters of an HTML snippet and which of them sit inside a <mark>: read from the HTML alone."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chars: list[str] = []
        self.marked: list[bool] = []
        self.depth = 0
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.depth += tag == "mark"

    def handle_endtag(self, tag: str) -> None:
        self.depth -= tag == "mark"

    def handle_data(self, data: str) -> None:
        self.chars.extend(data)
        self.marked.extend([self.depth > 0] * len(data))


def read_marks(snippet_html: str) -> tuple[str, set[int], set[str]]:
    """(text, offsets of the marked characters, tags) of rendered HTML."""
    parser = MarkedText()
    parser.feed(snippet_html)
    parser.close()
    return "".join(parser.chars), {i for i, m in enumerate(parser.marked) if m}, parser.tags


def covered(marks: list[list[int]]) -> set[int]:
    return {i for a, b in marks for i in range(a, b)}


# -- renderers ------------------------------------------------------------------------------------
def test_html_escapes_the_text_and_marks_only_the_spans() -> None:
    fragment = Fragment('<script>alert("x")</script> R&D 双减', ((0, 8), (28, 31), (32, 34)))
    assert html(fragment) == (
        "<mark>&lt;script&gt;</mark>alert(&quot;x&quot;)&lt;/script&gt; <mark>R&amp;D</mark> <mark>双减</mark>"
    )
    text, marked, tags = read_marks(html(fragment))
    assert text == fragment.text and marked == covered([[0, 8], [28, 31], [32, 34]]) and tags == {"mark"}


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        (Fragment("双减工作", ((0, 2),)), "<mark>双减</mark>工作"),  # at the start
        (Fragment("落实双减", ((2, 4),)), "落实<mark>双减</mark>"),  # at the end
        (Fragment("双减", ((0, 2),)), "<mark>双减</mark>"),  # the whole text
        (Fragment("双减课后服务", ((0, 2), (2, 6))), "<mark>双减</mark><mark>课后服务</mark>"),  # adjacent
        (Fragment("a&b", ()), "a&amp;b"),  # no match
        (Fragment("", ()), ""),
    ],
)
def test_html_marks_at_the_edges(fragment: Fragment, expected: str) -> None:
    assert html(fragment) == expected


def test_html_mark_class_and_terminal_rendering() -> None:
    fragment = Fragment("推进双减<b>", ((2, 4),))
    assert html(fragment, "shared") == '推进<mark class="shared">双减</mark>&lt;b&gt;'
    on, off = TERMINAL_MARK
    assert terminal(fragment, color=True) == f"推进{on}双减{off}<b>"
    assert terminal(fragment, color=False) == f"推进{PLAIN_MARK[0]}双减{PLAIN_MARK[1]}<b>"


def test_fragment_cut_join_split_and_without() -> None:
    text = "abcdefgh"
    assert Fragment.cut(text, [(1, 3), (5, 7)], 2, 6) == Fragment("cdef", ((0, 1), (3, 4)))
    joined = Fragment.join([Fragment("…"), Fragment("ab", ((0, 2),)), Fragment("cd", ((1, 2),))], " ")
    assert joined == Fragment("… ab cd", ((2, 4), (6, 7)))
    assert joined.matched() == ["ab", "d"]
    # A match across the cut moves whole into the first part: no <mark> is ever cut in two.
    fragment = Fragment("一、双减\n工作", ((2, 7),))
    assert fragment.split(4) == (Fragment("一、双减\n工作", ((2, 7),)), Fragment("", ()))
    assert fragment.split(2) == (Fragment("一、", ()), Fragment("双减\n工作", ((0, 5),)))
    assert Fragment("ab", ((0, 1),)).split(0) == (Fragment("", ()), Fragment("ab", ((0, 1),)))
    assert Fragment("双\r\n减\r", ((0, 4),)).without("\r") == Fragment("双\n减", ((0, 3),))


def test_a_match_across_the_heading_end_is_one_mark_on_the_document_page(tmp_path_factory: pytest.TempPathFactory) -> None:
    from indexer.build import reindex

    corpus = tmp_path_factory.mktemp("straddle") / "corpus"
    corpus.mkdir()
    text = "关于双减工作的讲话\n\n一、落实双减\n工作要抓实抓细，确保双减工作落地见效。\n\n二、其他任务\n继续推进教育改革。\n"
    (corpus / "speech.txt").write_text(text, encoding="utf-8")
    index = corpus.parent / "index"
    reindex([corpus], index, progress=False, workers=1)
    client = create_app({"INDEX_DIR": index, "TESTING": True}).test_client()
    doc_id = client.get("/api/search", query_string={"q": "双减"}).get_json()["hits"][0]["doc_id"]
    data = client.get(f"/api/doc/{doc_id}", query_string={"q": '"双减工作"'}).get_json()
    [section] = [s for s in data["sections"] if s["heading"] == "一、落实双减"]
    assert [section["text"][a:b] for a, b in section["marks"]] == ["双减\n工作", "双减工作"]
    page = client.get(f"/doc/{doc_id}", query_string={"q": '"双减工作"'}).get_data(as_text=True)
    # The heading line keeps the whole match: each match is one <mark>, which the match navigation counts.
    assert '<span class="section-heading">一、落实<mark>双减\n工作</mark></span>' in page
    assert page.count("<mark>") == data["matches"] == sum(len(s["marks"]) for s in data["sections"])


# -- the stored records ------------------------------------------------------------------------------
def test_records_read_back_exactly_what_the_writer_stored(seed_index: Path) -> None:
    generation = IndexLocation(seed_index).current()
    store = DocStore(generation / S.DOCSTORE, readonly=True)
    try:
        stored = [store.get(doc_id) for doc_id, *_ in store.iter_metadata()]
        raw = dict(store.db.execute("SELECT doc_id, record FROM documents").fetchall())
    finally:
        store.close()
    assert len(stored) == 5
    for data in stored:
        # The text is stored once: sections keep their offsets, not a copy of their text.
        assert all("text" not in s and "topic_evidence" not in s for s in json.loads(raw[data["doc_id"]])["sections"])
        record = DocumentRecord.from_json(data)
        assert record.dumps() == raw[data["doc_id"]]
        assert all(s.text and s.text == record.text[s.start : s.end] for s in record.sections)
        assert sum(len(s.text) for s in record.sections) > 0.9 * len("".join(record.text.split("\n\n")))
    searcher = S.open_tantivy(generation).searcher()
    hits = searcher.search(tantivy.Query.all_query(), 100).hits
    assert len(hits) == 70
    texts = {r["doc_id"]: r["text"] for r in stored}
    for _, addr in hits:
        doc = searcher.doc(addr)
        data = S.stored_payload(doc)
        payload = SectionPayload.from_json(data)
        assert payload.to_json() == data
        assert texts[S.stored_text(doc, S.F_DOC_ID)][payload.start : payload.end] == payload.text


def test_a_record_stored_before_the_text_was_stored_once_reads_the_same() -> None:
    text = "一、总结\n今年双减落地。\n二、任务\n推进集团化办学。"
    sections = [{"heading": "一、总结", "level": 1, "kind": "回顾总结", "start": 0, "end": 12}, {"heading": "二、任务", "level": 1, "kind": "部署任务", "start": 13, "end": 26}]
    meta = {"doc_id": "d1", "title": "讲话", "year": 2023, "date": None, "doc_kind": "讲话", "source": None, "source_file": "a.txt", "text": text}
    old = {**meta, "sections": [{**s, "text": text[s["start"] : s["end"]], "topic_evidence": {}} for s in sections]}
    new = DocumentRecord.from_json({**meta, "sections": [dict(s) for s in sections]})
    assert [s.text for s in new.sections] == ["一、总结\n今年双减落地。", "二、任务\n推进集团化办学。"]
    assert DocumentRecord.from_json(old) == new


# -- the API's snippet data agrees with its HTML ---------------------------------------------------
@pytest.fixture(scope="module")
def client(speech_index: Path):
    return create_app({"INDEX_DIR": speech_index, "TESTING": True}).test_client()


def test_api_snippets_carry_text_and_marks_that_cover_exactly_the_marked_html(client) -> None:
    """Over the 120 queries of the benchmark mix, every section's `snippet.marks` cover exactly the
    characters the HTML puts inside <mark>, and `snippet.text` is the HTML's text."""
    sections = marked_sections = 0
    for query in query_mix():
        params: dict[str, object] = {"q": query.q, "per_page": 20}
        if query.years:
            params["year"] = list(query.years)
        data = client.get("/api/search", query_string=params).get_json()
        assert "error" not in data, (query, data)
        for hit in data["hits"]:
            for section in hit["sections"]:
                snippet = section["snippet"]
                text, marked, tags = read_marks(section["snippet_html"])
                assert tags <= {"mark"}
                assert snippet["text"] == text, (query.q, section["section_id"])
                marks = snippet["marks"]
                assert all(0 <= a < b <= len(text) for a, b in marks)
                assert all(b < c for (_, b), (c, _) in zip(marks, marks[1:])), "sorted, disjoint, never adjacent"
                assert covered(marks) == marked, (query.q, section["section_id"])
                assert len(marks) == section["snippet_html"].count("<mark>")
                sections += 1
                marked_sections += bool(marks)
    assert sections > 1000 and marked_sections > 0.9 * sections


def test_api_passage_snippet_carries_the_marks(client) -> None:
    search = client.get("/api/search", query_string={"q": '"科教兴国"'}).get_json()
    doc = client.get(f"/api/doc/{search['hits'][0]['doc_id']}").get_json()
    passage = max((s["text"] for s in doc["sections"]), key=len)[:300]
    data = client.post("/api/passage", json={"text": passage}).get_json()
    assert data["matches"], passage
    for match in data["matches"]:
        text, marked, _ = read_marks(match["snippet_html"])
        assert match["snippet"]["text"] == text and covered(match["snippet"]["marks"]) == marked
    assert data["matches"][0]["snippet"]["marks"]
