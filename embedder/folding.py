"""Traditional ⇄ simplified folding: one script for matching, the original text for display.

Text is folded to simplified with OpenCC's ``t2s`` conversion. Folding must keep the length
of the text, so that an offset found in the folded text (a page rule, a highlighted term) is
an offset into the original: OpenCC's phrase tables (``瞭解`` → ``了解``, ``藉口`` → ``借口``)
nearly always map a phrase to one of the same length, and their result is used when the
lengths agree; otherwise the text is folded with OpenCC's character table alone, one
character at a time (:func:`fold_table`), which keeps the length by construction.
"""

from __future__ import annotations

import threading

import opencc

# Every CJK block OpenCC's character table covers (BMP ideographs, extension A,
# compatibility ideographs, extension B).
_CJK_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF))

_lock = threading.Lock()
_table: dict[int, str] | None = None
# One converter per thread: the binding does not document its thread safety.
_local = threading.local()


def _converter() -> opencc.OpenCC:
    converter: opencc.OpenCC | None = getattr(_local, "t2s", None)
    if converter is None:
        converter = _local.t2s = opencc.OpenCC("t2s")
    return converter


def _build_table() -> dict[int, str]:
    chars = [chr(code) for first, last in _CJK_BLOCKS for code in range(first, last + 1)]
    # One call for all (about 0.1 s): the newline between characters keeps OpenCC's phrase
    # matching from joining neighbours, so each character is converted on its own.
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):
        raise RuntimeError("OpenCC's t2s conversion changed the number of lines")
    # Only one-to-one mappings keep offsets; OpenCC's character table has no others today.
    return {
        ord(src): dst
        for src, dst in zip(chars, converted, strict=True)
        if dst != src and len(dst) == 1
    }


def fold_table() -> dict[int, str]:
    """The traditional → simplified character table (built on first use, then shared)."""
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                _table = _build_table()
    return _table


def fold_script(text: str) -> str:
    """Fold traditional characters to simplified, keeping the length of the text.

    Args:
        text: Any text.

    Returns:
        The folded text, of the same length (offsets carry over to ``text``).
    """
    if not text:
        return text
    converted: str = _converter().convert(text)
    if len(converted) == len(text):
        return converted
    return text.translate(fold_table())
