"""The project's rules on top of the tagger, where the page gives structure.

* Reporter lists: a byline credit (``正观新闻·郑州晚报记者张昕 王际宾董艳竹 王治``) is read by
  :func:`~embedder.newspaper.parse_credit`, which knows the roles and splits names run
  together by OCR; a person span of the tagger longer than a name (``张昕王际宾``, names
  whose separating space the view removed) is split at surnames the same way.
* Company names: an organisation span directly followed by 股份, 集团, 中心, 有限公司 …
  takes the suffix in (``视源股份``).
* Bare abbreviations: ``市委``, ``市政府`` … in a city paper mean that city's committee or
  government; ``省委`` … in a provincial paper that province's. The paper's place comes
  from its name (``郑州晚报`` → 郑州), given as the article's source or in its byline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from semsearch.embedder.folding import fold_script
from semsearch.embedder.newspaper import COMPOUND_SURNAMES, parse_credit, split_names

# Provincial-level names whose papers (``河南日报``) say 省委 for their committee. The four
# municipalities (北京, 上海, 天津, 重庆) are cities: their papers say 市委.
PROVINCES = frozenset(
    [
        "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西",
        "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西",
        "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆",
    ]
)  # fmt: skip
# ``郑州晚报``, ``河南日报``, ``长沙晚报``: the place is the Han run before the title word.
_PAPER_RE = re.compile(r"([\u4e00-\u9fff]{2,5}?)(?:市|省)?(?:日报|晚报|晨报|早报|商报|都市报)")
# The bodies a bare abbreviation names: ``市委``, ``市委宣传部``, ``市人大常委会``, ``省政府``.
_BARE_RE = re.compile(r"^(市|省)(委|政府|人大|政协|纪委|监委)")
# The credit inside a byline lead's parentheses.
_CREDIT_RE = re.compile(r"[(（]([^()（）]+)[)）]")
# A person span longer than this is tried as several names run together (tuned on the
# tuning half of the PKU set, bench/entities.py: 4 splits four-character runs too).
SPLIT_PERSON_MIN_CHARS = 4

# Words a company's name ends with that LAC leaves outside its organisation span
# (``视源``+``股份``, ``阿里巴巴客户体验``+``中心``); longest first.
ORG_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "股份", "集团", "公司", "中心")

Level = Literal["city", "province"]


def org_suffix(following: str) -> int:
    """Length of the company-name suffix ``following`` an organisation span begins with."""
    for suffix in ORG_SUFFIXES:
        if following.startswith(suffix):
            return len(suffix)
    return 0


@dataclass(frozen=True)
class PaperPlace:
    """The place a paper is named after: ``name`` (``郑州``) and whether a city or province."""

    name: str
    level: Level

    def resolve(self, folded: str) -> str | None:
        """The full name of a bare abbreviation (``市委`` → ``郑州市委``), None if not one of
        this paper's level (a city paper's ``省委`` stays as printed)."""
        match = _BARE_RE.match(folded)
        if not match:
            return None
        wanted = "市" if self.level == "city" else "省"
        if match.group(1) != wanted:
            return None
        return self.name + folded


def paper_place(names: Iterable[str | None], is_place: Callable[[str], bool]) -> PaperPlace | None:
    """The place of the first paper named in ``names`` (source, byline) that is a place.

    Args:
        names: Texts that may name the paper: the article's source, its byline lead.
        is_place: Whether a name on its own is a place (the tagger says LOC): ``人民日报``
            and ``光明日报`` are papers, not places.

    Returns:
        The place, or None when no text names a paper of a place.
    """
    for text in names:
        if not text:
            continue
        for match in _PAPER_RE.finditer(fold_script(text)):
            run = match.group(1)
            # The lazy run may hold words before the place (``新闻郑州``): try the longest
            # tail first, so 黑龙江 wins over 龙江.
            for size in range(len(run), 1, -1):
                name = run[-size:]
                if is_place(name):
                    level: Level = "province" if name in PROVINCES else "city"
                    return PaperPlace(name, level)
    return None


def split_person(folded: str, min_chars: int = SPLIT_PERSON_MIN_CHARS) -> list[tuple[int, int]]:
    """Spans of the names in a person span the tagger ran together (``张昕王际宾``).

    Returns ``[(0, len(folded))]`` when the span is one name: shorter than ``min_chars``,
    a compound surname with a one- or two-character given name, or no split into names
    that each begin with a surname.
    """
    whole = [(0, len(folded))]
    if len(folded) < min_chars:
        return whole
    if folded[:2] in COMPOUND_SURNAMES and len(folded) <= 4:
        return whole
    names = split_names(folded)
    if len(names) < 2:
        return whole
    spans: list[tuple[int, int]] = []
    cursor = 0
    for name in names:
        spans.append((cursor, cursor + len(name)))
        cursor += len(name)
    return spans


def reporter_spans(byline: str) -> list[tuple[int, int]]:
    """Where the reporters a byline credits are printed in it, in order.

    Args:
        byline: The byline lead as kept (``本报讯(正观新闻·郑州晚报记者张昕 王际宾董艳竹 王治)``).

    Returns:
        ``(start, end)`` of each name found, first occurrence after the previous name.
    """
    spans: list[tuple[int, int]] = []
    folded = fold_script(byline)
    # A lead (``本报讯(…)``) credits inside its parentheses; a byline line is all credit.
    inside = _CREDIT_RE.search(folded)
    cursor = inside.start(1) if inside else 0
    credit = byline[cursor : inside.end(1)] if inside else byline
    for name in parse_credit(credit):
        found = folded.find(fold_script(name), cursor)
        if found < 0:
            continue
        spans.append((found, found + len(name)))
        cursor = found + len(name)
    return spans
