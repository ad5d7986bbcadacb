"""Repairs of the tagger's spans that hold for any newspaper text, before mentions are made.

The tagger (LAC) makes a few errors that the surrounding characters give away:

* **Transliterated names** are written with a middle dot (``沙曼·维雅吉``, ``拉·甘地``); the
  tagger often ends the person at the dot and leaves the rest as a second person or a
  plain word. A person span, the dot and a run of Han characters after it are one name.
* **Titles and forms of address** after a surname or name (``周总理``, ``何大爷``,
  ``李先生``) are tagged inside the person; the name is the part before the title.
* **Photo credits** (``（新华社记者李欣摄）``): the tagger takes ``摄`` ("photographed
  by") into the name when it closes the credit.
* **Doctrines** named after a person (``邓小平理论``, ``毛泽东思想``, ``马克思主义``)
  are about the doctrine; the tagger tags the name as a person.
* **One-character organisations** are dateline words (``北京１月３日电``, ``本报讯``) or
  fragments of a longer name; no organisation is named by one character.

Each repair is switched and tuned by :class:`RepairConfig` (the defaults were chosen on
the tuning half of the labelled set, bench/entities.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from semsearch.embedder.entities.model import Span

# Titles and forms of address that follow a name in news text; longest first, so 副主席
# wins over 主席. Only whole trailing titles are taken off, and only when a name remains.
PERSON_TITLES = (
    "副总理", "副主席", "副总统", "总书记", "副部长", "副省长", "副市长", "委员长",
    "总理", "主席", "总统", "首相", "部长", "省长", "市长", "县长", "局长", "厂长",
    "书记", "主任", "经理", "院士", "教授", "博士", "大使", "将军", "先生", "女士",
    "小姐", "夫人", "同志", "老师", "师傅", "大爷", "大娘", "大妈", "大姐", "大哥",
    "大嫂", "老伯", "阿姨", "老汉", "老人",
)  # fmt: skip
# Middle dots that join the parts of a transliterated name (after script folding).
NAME_DOTS = "·•・‧"
# ``摄`` ends a photo credit when a closing bracket, a space or the text's end follows.
_CREDIT_END_RE = re.compile(r"[)）\]】\s]|$")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
# The tagger's labels of entities; any other label is a plain word.
_ENTITY_LABELS = frozenset(["PER", "LOC", "ORG"])
MIN_ORG_CHARS = 2
# Words that make a person's name the name of a doctrine (``邓小平理论``, ``毛泽东思想``).
DOCTRINE_WORDS = ("理论", "思想", "主义", "学说")
# Words a credit's names follow, words that end a credit, and the longest name there.
CREDIT_ROLES = ("记者", "通讯员", "摄影", "摄")
CREDIT_ENDS = frozenset(["摄", "报道", "电", "讯", "文", "图"])
CREDIT_NAME_MAX_CHARS = 3
# What may follow a credit's name (besides an end word or another entity): the list's
# separator, the closing bracket, a space. ``记者李明说，`` is a sentence, not a credit.
CREDIT_SEPARATORS = frozenset("、)）】 \u3000")


@dataclass(frozen=True, kw_only=True)
class RepairConfig:
    """Which repairs run (see the module's doc). Defaults: all on.

    ``join_dotted_names``: a person, a middle dot and the Han word after it are one name.
    ``complete_credit_names``: a name in a credit (after ``记者``, ``通讯员``, ``摄影`` or
    a ``、`` of their list) that the tagger cut short is completed up to the credit's end.
    ``doctrine_words``: a person directly followed by one of these words names a doctrine
    (``邓小平理论``, ``毛泽东思想``), not the person; such a span is no mention (empty: keep).
    ``person_titles``: trailing titles taken off person spans (empty: none).
    ``strip_photo_credit``: ``摄`` closing a credit is taken off the name before it.
    ``min_org_chars``: organisation spans shorter than this are dropped (1: keep all).
    """

    join_dotted_names: bool = True
    complete_credit_names: bool = True
    doctrine_words: tuple[str, ...] = DOCTRINE_WORDS
    person_titles: tuple[str, ...] = PERSON_TITLES
    strip_photo_credit: bool = True
    min_org_chars: int = MIN_ORG_CHARS

    def __post_init__(self) -> None:
        if self.min_org_chars < 1:
            raise ValueError("min_org_chars must be >= 1")
        if any(not title for title in self.person_titles):
            raise ValueError("person_titles must not hold an empty title")

    @classmethod
    def off(cls) -> RepairConfig:
        """No repair: the tagger's spans as they are."""
        return cls(
            join_dotted_names=False,
            complete_credit_names=False,
            doctrine_words=(),
            person_titles=(),
            strip_photo_credit=False,
            min_org_chars=1,
        )


def repair_spans(text: str, spans: Sequence[Span], config: RepairConfig) -> list[Span]:
    """The tagger's spans of ``text`` (covering every character) with the repairs applied;
    the result covers every character too."""
    fixed = list(spans)
    if config.join_dotted_names:
        fixed = _join_dotted(text, fixed)
    if config.complete_credit_names:
        fixed = _complete_credit_names(text, fixed)
    if config.doctrine_words:
        fixed = _drop_doctrines(text, fixed, config.doctrine_words)
    if config.person_titles or config.strip_photo_credit:
        fixed = [part for span in fixed for part in _strip_person(text, span, config)]
    if config.min_org_chars > 1:
        fixed = [
            Span("n", s.start, s.end)
            if s.label == "ORG" and s.end - s.start < config.min_org_chars
            else s
            for s in fixed
        ]
    return fixed


def _is_han(word: str) -> bool:
    return bool(word) and _HAN_RE.fullmatch(word) is not None


def _joins(text: str, person: Span, after: Span) -> bool:
    """Whether ``after`` continues the dotted name that ``person`` (PER) begins."""
    if after.label in ("LOC", "ORG"):
        return False
    word = text[after.start : after.end]
    if text[person.end - 1] in NAME_DOTS:
        return after.label == "PER" or _is_han(word) or word in NAME_DOTS
    if word[0] in NAME_DOTS:
        return word in NAME_DOTS or _is_han(word[1:])
    return False


def _join_dotted(text: str, spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for span in spans:
        last = out[-1] if out else None
        if last is not None and last.label == "PER" and _joins(text, last, span):
            out[-1] = Span("PER", last.start, span.end)
        else:
            out.append(span)
    # A name left ending with its dot (nothing nameable followed): the dot is a word again.
    result: list[Span] = []
    for span in out:
        if span.label == "PER" and span.end - span.start > 1 and text[span.end - 1] in NAME_DOTS:
            result += [Span("PER", span.start, span.end - 1), Span("w", span.end - 1, span.end)]
        else:
            result.append(span)
    return result


def _drop_doctrines(text: str, spans: list[Span], words: tuple[str, ...]) -> list[Span]:
    out = list(spans)
    for index, span in enumerate(spans[:-1]):
        after = spans[index + 1]
        if span.label == "PER" and text[after.start : after.end] in words:
            out[index] = Span("n", span.start, span.end)
    return out


def _complete_credit_names(text: str, spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    in_credit = False
    index = 0
    while index < len(spans):
        span = spans[index]
        word = text[span.start : span.end]
        if span.label == "PER" and (in_credit or text.endswith(CREDIT_ROLES, 0, span.start)):
            in_credit = True
            # Plain words after the name up to the credit's end: ``刘前``+``刚``+``摄``.
            end, last = span.end, index
            while last + 1 < len(spans):
                after = spans[last + 1]
                piece = text[after.start : after.end]
                if after.label in _ENTITY_LABELS or piece in CREDIT_ENDS or not _is_han(piece):
                    break
                end, last = after.end, last + 1
            following = spans[last + 1] if last + 1 < len(spans) else None
            closed = following is None or (
                following.label in _ENTITY_LABELS
                or text[following.start : following.end] in CREDIT_ENDS
                or text[following.start] in CREDIT_SEPARATORS
            )
            if last > index and closed and end - span.start <= CREDIT_NAME_MAX_CHARS:
                out.append(Span("PER", span.start, end))
                index = last + 1
                continue
        elif word != "、" and span.label != "PER":
            in_credit = False
        out.append(span)
        index += 1
    return out


def _strip_person(text: str, span: Span, config: RepairConfig) -> list[Span]:
    if span.label != "PER":
        return [span]
    word = text[span.start : span.end]
    cut = 0
    if (
        config.strip_photo_credit
        and len(word) > 1
        and word.endswith("摄")
        and _CREDIT_END_RE.match(text, span.end)
    ):
        cut = 1
    else:
        for title in config.person_titles:
            if len(word) > len(title) and word.endswith(title):
                cut = len(title)
                break
    if not cut:
        return [span]
    return [Span("PER", span.start, span.end - cut), Span("n", span.end - cut, span.end)]
