"""Text cleaning for newspaper and archive text: widths, punctuation, spaces, broken paragraphs.

The clean text is what is indexed and displayed; callers keep the original separately.
Policy, in one place:

* full-width letters, digits and spaces become half-width (``ＡＢＣ１２３`` → ``ABC123``);
* punctuation inside Chinese text becomes full-width (``,`` → ``,`` after a Han
  character, paired ``"`` → ``“”``), so sentence splitting sees one form;
* whitespace between two CJK characters (column line breaks, ``传 统``) is removed, while
  spaces between Latin words, numbers, and between Latin and Chinese are kept;
* a paragraph that does not end a sentence is continued by the next one (page or column
  cut), unless it looks like a sub-heading;
* a paragraph whose beginning is lost (starts with ``、`` or ``新、``) is flagged;
* terminal escape sequences and control characters are dropped (:func:`strip_controls`):
  stored text is printed by the CLI and shown in pages, and ``\x1b[2J`` in a title must
  not clear a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from semsearch.embedder.folding import fold_script

# Han ideographs (basic, extension A, compatibility) and Japanese kana: scripts written
# without spaces between words. Hangul is deliberately absent: Korean uses spaces.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_KANA = "\u3040-\u30ff"
# CJK symbols/punctuation block and full-width forms (after width normalisation only
# punctuation is left there).
_CJK_PUNCT = "\u3000-\u303f\uff00-\uffef"
# Punctuation shared with Western text: part of a CJK run only next to a CJK character.
_SHARED_PUNCT = "\u201c\u201d\u2018\u2019\u00b7\u2026\u2014\u2013\u2022"

_CJK_CORE_RE = re.compile(f"[{_HAN}{_KANA}{_CJK_PUNCT}]")
_CJK_ANY_RE = re.compile(f"[{_HAN}{_KANA}{_CJK_PUNCT}{_SHARED_PUNCT}]")
_HAN_RE = re.compile(f"[{_HAN}{_KANA}]")

# Horizontal whitespace that can sit inside a line (U+3000 is the ideographic space).
_INLINE_SPACE = " \t\u00a0\u3000\u2002\u2003\u2009\u202f"
_INLINE_SPACE_RE = re.compile(f"[{_INLINE_SPACE}]+")
# Invisible characters that OCR and web pages leave behind.
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")

# Terminal escape sequences, dropped whole so no stray ``[2J`` is left: CSI (``ESC [`` or
# U+009B, parameters, final byte), OSC (``ESC ]`` or U+009D ... BEL or ST), two-byte
# ``ESC x``.
_ESCAPE_SEQUENCE_RE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]"
)
# C0 controls except tab, line feed and carriage return (the cleaning handles those as
# whitespace), DEL, and C1 controls (U+0080-U+009F; U+009B is a one-character CSI).
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_FULLWIDTH_ALNUM_OFFSET = 0xFEE0  # 'Ａ' (U+FF21) - 'A' (U+0041)
_FULLWIDTH_ALNUM_RE = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")

# Half-width punctuation that attaches to the text before it, with its full-width form.
_TRAILING_PUNCT = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", ")": "）"}
_OPENING_PUNCT = {"(": "（"}
_DOUBLE_QUOTES = ("\u201c", "\u201d")

# What ends a sentence (both widths; ``…`` as in ``等等……``).
SENTENCE_END_CHARS = "。！？!?；;…"
# What ends a paragraph: a sentence end (``.`` too, for Western text) or a colon.
_PARAGRAPH_END_CHARS = SENTENCE_END_CHARS + ".：:"
# Closing quotes/brackets that may follow the sentence end (``。”``).
CLOSING_CHARS = "”’」』）)】》\"'"
# A bracketed note at the end of a paragraph: ``（新华社记者戴浩摄）``, ``（完）``.
_TRAILING_NOTE_RE = re.compile(r"[（(][^（）()]{1,40}[）)]\s*$")
# Punctuation inside a sentence; a short line without any is heading-like.
CLAUSE_PUNCT_CHARS = "，,、；;。！？!?：:"
# Longer lines are body text even without punctuation (long headlines run ~40 chars).
HEADING_MAX_CHARS = 40
# A line the layout marks as a headline (set large, or centred and set off) may end in a
# full stop, a question or an exclamation, and hold commas (``To a Child, Embracing its
# Mother.``), but no other clause punctuation, at most this long.
HEADLINE_MAX_CHARS = 60
HEADLINE_MAX_WORDS = 10
_HEADLINE_END_CHARS = ".!?！？"
_HEADLINE_FORBIDDEN_CHARS = "；;：:。"
_HEADLINE_OPEN_END_CHARS = ",，、-—–"
# Chinese numerals: ``一、`` opens a numbered list item, not a lost beginning.
_NUMERALS = "一二三四五六七八九十百零〇两"
_FRAGMENT_START_RE = re.compile(
    f"^(?:[，,、；;。！？!?：:）)”’」』】》]|[{_HAN}](?<![{_NUMERALS}])、|[a-z])"
)


@dataclass(frozen=True)
class CleanParagraph:
    """A cleaned paragraph and whether its beginning is missing."""

    text: str
    fragment: bool = False
    parts: tuple[int, ...] = ()  # positions of the input paragraphs merged into this one


def is_cjk(char: str) -> bool:
    """Return True for a Han, kana or full-width/CJK punctuation character."""
    return bool(_CJK_CORE_RE.match(char))


def strip_controls(text: str) -> str:
    """Drop terminal escape sequences and control characters (tab and line breaks stay).

    Args:
        text: Any text.

    Returns:
        ``"a\x1b[2Jb\x07"`` as ``"ab"``.
    """
    return _CONTROL_RE.sub("", _ESCAPE_SEQUENCE_RE.sub("", text))


def normalize_width(text: str) -> str:
    """Make letters, digits and spaces half-width; drop invisible and control characters.

    Args:
        text: Any text.

    Returns:
        The text with ``ＡＢＣ１２３`` as ``ABC123`` and ideographic spaces as spaces.
    """
    text = _INVISIBLE_RE.sub("", strip_controls(text))
    text = _FULLWIDTH_ALNUM_RE.sub(lambda m: chr(ord(m.group()) - _FULLWIDTH_ALNUM_OFFSET), text)
    return _INLINE_SPACE_RE.sub(lambda m: " " * len(m.group()), text)


def _neighbour(text: str, index: int, step: int) -> str:
    """The nearest non-space character from ``index`` in direction ``step`` ('' at the edge)."""
    while 0 <= index < len(text):
        if not text[index].isspace():
            return text[index]
        index += step
    return ""


def normalize_punctuation(text: str) -> str:
    """Turn half-width punctuation inside Chinese text into its full-width form.

    Trailing marks (``,;:?!)``) convert after a Han character, ``(`` before one, ``.``
    between Han characters; straight double quotes become ``“”`` when the text holds
    Han characters and an even number of them (an odd count is left alone: unsafe to pair).

    Args:
        text: One paragraph or heading.

    Returns:
        The text with consistent punctuation widths.
    """
    chars = list(text)
    for i, char in enumerate(chars):
        if char in _TRAILING_PUNCT and _HAN_RE.match(_neighbour(text, i - 1, -1)):
            chars[i] = _TRAILING_PUNCT[char]
        elif char in _OPENING_PUNCT and _HAN_RE.match(_neighbour(text, i + 1, 1)):
            chars[i] = _OPENING_PUNCT[char]
        elif char == "." and _HAN_RE.match(_neighbour(text, i - 1, -1)):
            following = _neighbour(text, i + 1, 1)
            if not following or _HAN_RE.match(following):
                chars[i] = "。"
    result = "".join(chars)
    if '"' in result and _HAN_RE.search(result) and result.count('"') % 2 == 0:
        parts = result.split('"')
        result = parts[0] + "".join(
            _DOUBLE_QUOTES[k % 2] + part for k, part in enumerate(parts[1:])
        )
    return result


def remove_cjk_spaces(text: str) -> str:
    """Drop whitespace between two CJK characters and collapse other whitespace runs.

    Args:
        text: One line or paragraph.

    Returns:
        ``改造提升传 统产业`` as ``改造提升传统产业``; ``GDP 增长 5.2%`` unchanged.
    """
    pieces: list[str] = []
    last = 0
    for match in re.finditer(r"\s+", text):
        pieces.append(text[last : match.start()])
        before = text[match.start() - 1] if match.start() > 0 else ""
        after = text[match.end()] if match.end() < len(text) else ""
        if before and after and _joins_without_space(before, after):
            pass
        elif before and after:
            pieces.append(" ")
        last = match.end()
    pieces.append(text[last:])
    return "".join(pieces)


def _joins_without_space(before: str, after: str) -> bool:
    both_cjk = bool(_CJK_ANY_RE.match(before) and _CJK_ANY_RE.match(after))
    return both_cjk and bool(_CJK_CORE_RE.match(before) or _CJK_CORE_RE.match(after))


def clean_text(text: str) -> str:
    """Clean one paragraph of body text (widths, punctuation, CJK spaces).

    Args:
        text: Raw paragraph text (no line breaks expected, but they are handled).

    Returns:
        The clean paragraph, stripped.
    """
    return remove_cjk_spaces(normalize_punctuation(normalize_width(text))).strip()


def clean_heading(text: str) -> str:
    """Clean a headline, kicker or subtitle: like :func:`clean_text` but spaces between
    Chinese phrases are kept, since in headings they separate the typeset lines.

    Args:
        text: Raw heading line.

    Returns:
        The heading with normalised widths and single spaces.
    """
    return " ".join(normalize_punctuation(normalize_width(text)).split())


def _strip_closers(text: str) -> str:
    return text.rstrip().rstrip(CLOSING_CHARS).rstrip()


def ends_sentence(text: str) -> bool:
    """Return True if the paragraph ends a sentence (or a colon), closing quotes allowed.

    A bracketed note after the sentence end (a photo credit ``。（本报记者 李明摄）``), or
    standing alone, ends it too.
    """
    core = _strip_closers(text)
    if bool(core) and core[-1] in _PARAGRAPH_END_CHARS:
        return True
    note = _TRAILING_NOTE_RE.search(text)
    if note is None:
        return False
    before = text[: note.start()]
    return not before.strip() or ends_sentence(before)


def only_closers(text: str) -> bool:
    """True for a paragraph of closing quotes and sentence ends alone (``”``), the tail of
    the paragraph before it that a column break cut off."""
    return bool(text.strip()) and not text.strip(CLOSING_CHARS + _PARAGRAPH_END_CHARS + " \t")


def is_heading_like(text: str) -> bool:
    """Return True for a short line with no sentence punctuation (headline, sub-heading)."""
    stripped = text.strip()
    return (
        0 < len(stripped) <= HEADING_MAX_CHARS
        and not any(char in CLAUSE_PUNCT_CHARS for char in stripped)
        and not ends_sentence(stripped)
        and ". " not in stripped
    )


def is_headline_text(text: str) -> bool:
    """True for a line that may be a headline when the layout sets it apart: short, a
    final full stop, question or exclamation allowed, no clause punctuation but commas,
    not ending open (a comma or dash: a dateline, a list item).
    """
    core = _strip_closers(text)
    if core and core[-1] in _HEADLINE_END_CHARS:
        core = _strip_closers(core[:-1])
    return (
        0 < len(text.strip()) <= HEADLINE_MAX_CHARS
        and len(text.split()) <= HEADLINE_MAX_WORDS
        and any(char.isalnum() for char in core)
        and not any(char in _HEADLINE_FORBIDDEN_CHARS for char in core)
        and core[-1] not in _HEADLINE_OPEN_END_CHARS
    )


def looks_like_fragment(text: str) -> bool:
    """Return True if the paragraph seems to start mid-sentence (its beginning was lost).

    Args:
        text: A clean paragraph.

    Returns:
        True for ``、…``, ``，…``, ``新、以项目…`` (a lone character before an enumeration
        comma; ``一、`` list numbering excluded) or a lowercase Latin start.
    """
    # Folded, so traditional numerals (``兩、``) are list numbering too.
    return bool(_FRAGMENT_START_RE.match(fold_script(text.lstrip())))


def join_continuation(head: str, tail: str) -> str:
    """Glue a paragraph cut by a column or page break to its continuation.

    Args:
        head: The paragraph that did not end its sentence.
        tail: The paragraph that continues it.

    Returns:
        One paragraph: no space at a CJK seam, a hyphenated Latin word rejoined, else one space.
    """
    head, tail = head.rstrip(), tail.lstrip()
    if not head or not tail:
        return head + tail
    if _CJK_ANY_RE.match(head[-1]) or _CJK_ANY_RE.match(tail[0]):
        return head + tail
    if head.endswith("-") and len(head) > 1 and head[-2].isalpha() and tail[0].islower():
        return head[:-1] + tail
    return f"{head} {tail}"


def rejoin_paragraphs(paragraphs: Iterable[str]) -> Iterator[CleanParagraph]:
    """Merge paragraphs cut by column/page breaks and flag those whose start is lost.

    A paragraph that does not end a sentence continues in the next one, unless it is
    heading-like (a sub-heading stands alone) and the next one starts a sentence.
    Streaming: holds one paragraph at a time.

    Args:
        paragraphs: Clean paragraphs in reading order (empty strings are ignored).

    Yields:
        The rejoined paragraphs with their fragment flag and the positions of the inputs
        each one is made of.
    """
    pending: str | None = None
    parts: list[int] = []
    for position, text in enumerate(paragraphs):
        if not text:
            continue
        if pending is None:
            pending = text
            pending_fragment = looks_like_fragment(text)
        elif only_closers(text):
            pending += text.strip()
        elif ends_sentence(pending) or (is_heading_like(pending) and not looks_like_fragment(text)):
            yield CleanParagraph(pending, pending_fragment, tuple(parts))
            pending = text
            pending_fragment = looks_like_fragment(text)
            parts = []
        else:
            pending = join_continuation(pending, text)
        parts.append(position)
    if pending is not None:
        yield CleanParagraph(pending, pending_fragment, tuple(parts))
