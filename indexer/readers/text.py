"""Plain text files, and the byte-decoding layer every text-based reader shares.

Chinese documents arrive in UTF-8 (with or without BOM), UTF-16 (Word's "Unicode text"
export, with or without BOM) and GBK/GB18030 (older Windows tools). A guess is accepted
only if the decoded text looks like text: charset-normalizer alone sometimes picks big5 or
cp1252 for short Chinese text, so candidates are checked by what they decode to.
"""

from __future__ import annotations

import codecs
import re
import stat
from pathlib import Path

import charset_normalizer

from indexer.models import RawDocument
from speechindex.config import ENV_MAX_FILE_MB, ENV_MAX_MEMBER_MB, limits
from speechindex.errors import CorpusError

# Signatures of binary formats that end up with a text suffix (renamed or mis-saved files).
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"%PDF-", "PDF document"),
    (b"PK\x03\x04", "ZIP archive or Office document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old binary Office document (.doc/.xls)"),
    (b"{\\rtf", "RTF document"),
    (b"\x1f\x8b", "gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x7fELF", "executable"),
)

_BOMS = (  # UTF-32 first: its LE BOM starts with the UTF-16 LE one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Characters expected in Chinese/English prose: ASCII printable and whitespace, Latin,
# Greek, Cyrillic, general punctuation, symbols (①, №, ℃, arrows, box drawing), CJK
# punctuation, kana, CJK ideographs (incl. extension A and compatibility forms), full-width
# forms. Anything else (controls, Hangul from misaligned UTF-16, private use, U+FFFD)
# counts against a candidate decoding.
_NOT_TEXT = re.compile(
    "[^\t\n\r\f\x20-\x7e\u00a0-\u024f\u0370-\u04ff\u2000-\u27bf\u2e80-\u2fdf"
    "\u3000-\u30ff\u3100-\u33ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f"
    "\uff00-\uffef]"
)
_MIN_TEXT_SCORE = 0.9
_SCORE_SAMPLE_CHARS = 200_000
_MIN_VALID_PER_DAMAGED = 20
# More NUL bytes than this share (and not UTF-16) means binary content, not stray NULs.
_MAX_STRAY_NUL_SHARE = 0.01



def read_bytes(path: Path, rel: str) -> bytes:
    """Read a whole file once, refusing directories and files over the configured size limit."""
    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise CorpusError(rel, "is a directory, not a file")
    check_size(info.st_size, rel, "file")
    with open(path, "rb") as handle:
        return handle.read()


def check_size(size: int, rel: str, what: str, member: bool = False) -> None:
    """Raise CorpusError when `size` bytes exceed the per-file (or per-archive-member) limit."""
    config = limits()
    limit, variable = (
        (config.max_member_bytes, ENV_MAX_MEMBER_MB) if member else (config.max_file_bytes, ENV_MAX_FILE_MB)
    )
    if size > limit:
        raise CorpusError(
            rel,
            f"{what} too large ({size / 2**20:.0f} MB; the limit is {limit / 2**20:.0f} MB, "
            f"set by ${variable})",
        )


def binary_kind(data: bytes) -> str | None:
    """The name of the binary format `data` starts with, or None."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def text_score(text: str) -> float:
    """The share of characters (in a leading sample) that belong in ordinary prose."""
    sample = text[:_SCORE_SAMPLE_CHARS]
    if not sample:
        return 1.0
    return 1.0 - len(_NOT_TEXT.findall(sample)) / len(sample)


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _normalise_encoding(name: str) -> str | None:
    """Canonical codec name; GB2312/GBK labels become GB18030, their strict superset."""
    try:
        canonical = codecs.lookup(name.strip()).name
    except LookupError:
        return None
    return "gb18030" if canonical in {"gb2312", "gbk", "gb18030", "hz"} else canonical


def _utf16_order(data: bytes) -> list[str]:
    """UTF-16 byte orders to try, most likely first, judged by where NUL bytes sit.

    ASCII in UTF-16 LE puts the NUL in the odd byte of each pair, in BE in the even one.
    """
    sample = data[:65536]
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    return ["utf-16-be", "utf-16-le"] if even_nuls > odd_nuls else ["utf-16-le", "utf-16-be"]


def decode_bytes(data: bytes, rel: str, hint: str | None = None) -> str:
    """Decode a text file's bytes to str with newlines normalised to \\n.

    A BOM, NUL bytes (UTF-16) or valid UTF-8 settle the encoding. Otherwise the declared
    `hint` (e.g. an HTML `<meta charset>`), GB18030 and BOM-less UTF-16 are tried strictly
    and the decoding that looks most like prose wins (ties go to that order); then UTF-8
    or GB18030 with a few damaged bytes (kept as U+FFFD); charset-normalizer's guess last.
    Raises CorpusError for binary content or when no encoding fits.
    """
    kind = binary_kind(data)
    if kind:
        raise CorpusError(rel, f"binary file (looks like {kind}), not text")
    text = _decode(data, rel)
    if text is None:
        text = _decode_guessing(data, hint)
    if text is None:
        raise CorpusError(
            rel, "binary file or unknown text encoding (not UTF-8, UTF-16 or GB18030), not text"
        )
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode(data: bytes, rel: str) -> str | None:
    """The text when a BOM, NUL bytes or valid UTF-8 settle the encoding, else None.

    Raises CorpusError when they settle it but the result is not prose (binary content).
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = _strict(data[len(bom):], encoding)
            if text is not None and text_score(text) >= _MIN_TEXT_SCORE:
                return text
            return None  # a stray BOM-like start: let the guessing decide
    if b"\x00" in data[:65536]:
        # BOM-less UTF-16 has NUL bytes (in every ASCII character); so may a UTF-8 or GB18030
        # file with a stray one, which is dropped: it must not cost the whole file.
        for encoding in _utf16_order(data):
            text = _strict(data, encoding)
            if text is not None and text_score(text) >= _MIN_TEXT_SCORE:
                return text
        if data.count(0) > len(data) * _MAX_STRAY_NUL_SHARE:
            raise CorpusError(rel, "binary file (contains NUL bytes and is not UTF-16 text), not text")
    data = data.replace(b"\x00", b"")
    text = _strict(data, "utf-8")
    if text is None:
        return None
    # Valid UTF-8 is strong evidence of the encoding: if it is not prose, it is binary.
    if text_score(text) < _MIN_TEXT_SCORE:
        raise CorpusError(rel, "binary file (many control characters), not text")
    return text


def _decode_guessing(data: bytes, hint: str | None) -> str | None:
    """The best plausible decoding among explicit candidates, then charset-normalizer's."""
    candidates: list[str] = []
    if hint and (encoding := _normalise_encoding(hint)):
        candidates.append(encoding)
    candidates += ["gb18030", *_utf16_order(data)]
    best_text, best_score = None, 0.0
    for encoding in dict.fromkeys(candidates):  # de-duplicated, order kept
        text = _strict(data, encoding)
        if text is None:
            continue
        score = text_score(text)
        if score >= _MIN_TEXT_SCORE and score > best_score:
            best_text, best_score = text, score
    if best_text is not None:
        return best_text
    for encoding in ("utf-8", "gb18030"):
        if (text := _lenient(data, encoding)) is not None:
            return text
    guess = charset_normalizer.from_bytes(data[:1_000_000]).best()
    if guess is None or guess.encoding in candidates:
        return None
    text = _strict(data, guess.encoding)
    if text is not None and text_score(text) >= _MIN_TEXT_SCORE:
        return text
    return None


def _lenient(data: bytes, encoding: str) -> str | None:
    """The decoding with bad bytes replaced, if they are rare among the non-ASCII characters.

    A file cut mid-character or with a damaged byte should not fall through to a wrong
    guess: in the right encoding nearly all non-ASCII sequences are still valid, in the
    wrong one most are not.
    """
    text = data.decode(encoding, errors="replace")
    if text_score(text) < _MIN_TEXT_SCORE:
        return None
    damaged = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    return text if non_ascii - damaged >= _MIN_VALID_PER_DAMAGED * damaged else None


def read(path: Path, rel: str) -> RawDocument:
    """Read a .txt file into one RawDocument (raises CorpusError); Markdown has its own reader."""
    data = read_bytes(path, rel)
    if not data:
        raise CorpusError(rel, "empty file")
    text = decode_bytes(data, rel)
    if not text.strip():
        raise CorpusError(rel, "no text (only whitespace)")
    return RawDocument(text=text, source_file=rel, fmt="txt")

