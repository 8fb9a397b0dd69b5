"""The fast block pass of the Markdown reader gives exactly what markdown-it's block parser gives."""

from __future__ import annotations

import re
from dataclasses import asdict

import pytest

import indexer.readers.markdown as md
from indexer.readers.text import decode_bytes
from tests.conftest import shared_path

SIMPLE = [
    "# 标题\n\n段落一\n第二行  \n第三行\n\n## 一、部分 ##\n\n正文",
    "# T\n\n[查看原文](https://a.example/1)\n\n[查看原文](https://a.example/2) 多\n[x][y]\n\n<!-- only",
    "# 《新闻联播》\n\n### 头条\n\n<p><strong>央视网消息</strong>：正文<br></p><p>二</p>\n\n[查看原文](https://tv.cctv.com/x.shtml)\n\n\n\n---\n\n(更新时间戳: 1)",
    "段落\n# 标题打断段落\n<p>块打断段落</p>\n下一行仍在块中\n\n<!-- 注释\n\n跨空行 -->\n之后\n## ##\n  #  缩进标题  ##  \n",
    "文 *强* \\\\ &amp; [l](u) ![i](s) `c` <b>x</b>\n<div>\n-- x\n",
    "***\n\n- - -\n_ _ _\n\n# x\n---\n",
    # "查看原文" links the plain-link pass reads, and some it must leave to the inline parser
    "# T\n\n## 一\n\n[ 查看原文 ](https://tv.cctv.com/2022/09/24/VIDE1.shtml?a=1#b)\n\n## 二\n\n[查看原文](http://a.example)",
    "# T\n\n## 一\n\n[查看原文](https://A.Example/%E4%B8%AD)\n\n## 二\n\n[查看*原文*](https://a.example/x)\n\n## 三\n\n[ ](https://a.example/y)",
    "# T\n\n## 一\n\n[查看原文](https://a.example/x y)\n\n## 二\n\n[原文](https://a.example/(1))\n\n## 三\n\n[查看原文](ftp://a.example/z)",
]
COMPLEX = [
    "段落\n---\n",  # setext heading
    "p\n***\n",
    "- 列表\n- 项",
    "1. 第一\n2. 第二",
    "> 引用",
    "    代码",
    "```\ncode\n```",
    "| a | b |\n| - | - |\n| 1 | 2 |",
    "[ref]: https://a.example\n\n[x][ref]",
    "a\tb",
    "line\r\nend",
    "<span>行内</span>\n段",
    "<script>x</script>",
    "#######",
    "#话题",
]


def both(source: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, dict]:
    fast = asdict(md.markdown_document(source, "x.md"))
    with monkeypatch.context() as m:
        m.setattr(md, "_simple_tokens", lambda source: None)
        m.setattr(md, "_PLAIN_LINK", re.compile(r"(?!)"))  # and every link through the inline parser
        parsed = asdict(md.markdown_document(source, "x.md"))
    return fast, parsed


@pytest.mark.parametrize("source", SIMPLE)
def test_simple_files_take_the_fast_pass_with_the_same_result(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert md._simple_tokens(source) is not None
    fast, parsed = both(source, monkeypatch)
    assert fast == parsed


def test_the_fast_pass_keeps_headings_links_and_html_text(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = md.markdown_document(SIMPLE[2], "x.md")
    assert doc.title == "《新闻联播》"
    assert [(h.level, h.title, h.url) for h in doc.outline] == [(0, "《新闻联播》", None), (2, "头条", "https://tv.cctv.com/x.shtml")]
    assert doc.text == "《新闻联播》\n\n头条\n\n央视网消息：正文\n二\n\n(更新时间戳: 1)"


@pytest.mark.parametrize("source", COMPLEX)
def test_other_syntax_is_left_to_markdown_it(source: str) -> None:
    assert md._simple_tokens(source) is None


@pytest.mark.shared
def test_the_collections_markdown_reads_the_same_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = sorted(shared_path("corpora", "xinwenlianbo").rglob("*.md"))[::25] + sorted(shared_path("corpora", "laws").rglob("*.md"))[::25]
    fast_files = 0
    for path in paths:
        source = decode_bytes(path.read_bytes(), path.name)
        fast_files += md._simple_tokens(source) is not None
        fast, parsed = both(source, monkeypatch)
        assert fast == parsed, path
    assert fast_files >= 0.95 * len(paths)
