"""Newspaper page text → articles: banners, kicker, headline, subtitle, byline, reporters.

A page is a stream of lines. Short lines without sentence punctuation are headings; a run
of headings followed by body text opens an article when the body starts with a byline
(``本报讯(…)``), when the run is preceded by a wide gap (two or more blank lines), or when it
has two or more lines. A lone heading inside an article is a sub-heading and stays in the
body. In a heading run, known page/section banners are set aside, then the remaining lines
are read as kicker / headline / subtitle.

The rules are written in simplified characters; lines are script-folded
(:func:`embedder.folding.fold_script`, same length) before matching, so a page printed in
traditional characters parses the same way, and what is kept is the original text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from semsearch.embedder.cleaning import (
    clean_heading,
    ends_sentence,
    is_heading_like,
    is_headline_text,
    normalize_width,
)
from semsearch.embedder.folding import fold_script
from semsearch.embedder.records import Region

# Section and page banners seen above articles; more can be passed by the caller.
BANNER_PATTERNS: tuple[str, ...] = (
    r"新时代新征程新伟业",
    r"(深入)?学习(宣传)?贯彻.{0,20}(精神|思想)",
    r"奋进新征程\s*建功新时代",
    r"喜迎二十大",
    r".{0,20}(专栏|专题|特刊|系列报道)",
    r".*星期[一二三四五六日天].*",
    r"[A-Z]?\d{1,2}\s*版?",
    r"第?[一二三四五六七八九十\d]{1,3}版.{0,10}",
    r"(责任编辑|责编|编辑|校对|美编|组版|版式).{0,20}",
)
# A kicker (引题) usually reports who said what: ``何雄调研数字经济发展时强调``.
_KICKER_RE = re.compile(r"(强调|指出|表示|要求|提出|希望|寄语|时说)$")
_SUBTITLE_DASH_RE = re.compile(r"^[—–-]{1,2}")
# A heading line this much taller than the others is the headline (the line above it the
# kicker), if it holds at least this many letters or digits.
KICKER_SIZE_RATIO = 1.25
SIZED_TITLE_MIN_CHARS = 3
# Kicker, headline, subtitle: lines beyond these at the top of a run are banners.
MAX_HEADING_LINES = 3
# A paragraph of pathological length (a 200 MB "page") is cut into several articles.
MAX_ARTICLE_CHARS = 1_000_000
# Blank lines that separate articles on a page (one blank line separates paragraphs).
ARTICLE_GAP_LINES = 2

# ``本报讯(正观新闻·郑州晚报记者张昕 王际宾董艳竹 王治)``, ``新华社北京4月19日电(记者 …)``.
_BYLINE_LEAD_RE = re.compile(
    r"^\s*(?P<lead>(?:本报讯|本报[^\s(（]{0,12}电|新华社[^\s(（]{0,12}电|中新[社网][^\s(（]{0,12}电"
    r"|据[^\s(（]{1,10}报道)\s*[(（](?P<credit>[^()（）]{1,80})[)）])\s*"
)
# A byline on its own line: ``本报记者 张昕 王治``, ``□记者 张昕``.
_BYLINE_LINE_RE = re.compile(
    r"^\s*[□■◎●]?\s*(?P<credit>(?:本报|本刊)?(?:首席|见习|实习)?(?:记者|通讯员)[\s:：]*[^\s:：].{0,40})$"
)
# Roles followed by names; the others (``文/图``) only label the credit.
_NAME_ROLES = ("首席记者", "见习记者", "实习记者", "特约记者", "记者", "通讯员", "实习生", "摄影")
_ROLE_RE = re.compile("(" + "|".join((*_NAME_ROLES, "文/图", "文图", "文", "图")) + ")")
_NAME_SEP_RE = re.compile(r"[\s、，,;；/]+")
_HAN_TOKEN_RE = re.compile(r"^[\u4e00-\u9fff]{2,12}$")

# Common Chinese surnames; used only to split names run together by OCR (``王际宾董艳竹``).
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝虎"
)
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟",
        "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "令狐",
    ]
)  # fmt: skip
_NAME_LENGTHS = (2, 3)
# Names this long or shorter are taken whole, longer runs are split at surnames.
_SINGLE_NAME_MAX = 3


@dataclass
class PageLine:
    """A non-empty line of a page with the number of blank lines before it."""

    text: str
    gap_before: int = 0
    region: Region | None = None  # where it was printed, for inputs with a layout
    heading: bool = False  # the layout sets it as a headline (large, or centred apart)


@dataclass
class Byline:
    """The byline lead of an article and the reporters it names."""

    text: str
    reporters: list[str]


@dataclass
class Headings:
    """The heading block of an article."""

    title: str = ""
    kicker: str | None = None
    subtitle: str | None = None
    banners: list[str] = field(default_factory=list)


@dataclass
class PageArticle:
    """One article found on a page, before cleaning of its body."""

    headings: list[PageLine] = field(default_factory=list)
    body: list[PageLine] = field(default_factory=list)
    byline_line: str | None = None

    def body_chars(self) -> int:
        """Characters held in the body (to bound memory)."""
        return sum(len(line.text) for line in self.body)

    def original(self) -> str:
        """The article's lines as read, blank lines included."""
        lines = [*self.headings, *self.body]
        parts = [("\n" * line.gap_before if k else "") + line.text for k, line in enumerate(lines)]
        return "\n".join(parts)


def compile_banners(extra: Sequence[str] = ()) -> list[re.Pattern[str]]:
    """Compile the banner patterns plus literal extra banners given by the caller."""
    return [re.compile(pattern) for pattern in BANNER_PATTERNS] + [
        re.compile(re.escape(fold_script(clean_heading(text)))) for text in extra
    ]


def is_banner(text: str, banners: Sequence[re.Pattern[str]]) -> bool:
    """Return True if a heading line is a page or section banner, not an article heading."""
    heading = fold_script(clean_heading(text))
    return any(pattern.fullmatch(heading) for pattern in banners)


def parse_headings(
    lines: Sequence[str],
    banners: Sequence[re.Pattern[str]],
    sizes: Sequence[float] | None = None,
) -> Headings:
    """Read a heading run as banners, kicker, headline and subtitle.

    Args:
        lines: The heading lines in page order.
        banners: Compiled banner patterns (see :func:`compile_banners`).
        sizes: The lines' heights, where the page has a layout: a line set clearly larger
            than all the others is the headline (see :func:`_by_size`).

    Returns:
        The parsed headings; ``title`` is empty if every line was a banner.
    """
    cleaned = [clean_heading(line) for line in lines]
    found = Headings(banners=[line for line in cleaned if is_banner(line, banners)])
    kept = [index for index, line in enumerate(cleaned) if line not in found.banners]
    rest = [cleaned[index] for index in kept]
    if not rest:
        return found
    if sizes is not None and len(rest) > 1:
        by_size = _by_size(rest, [sizes[index] for index in kept], found)
        if by_size is not None:
            return by_size
    if len(rest) > MAX_HEADING_LINES:
        found.banners.extend(rest[:-MAX_HEADING_LINES])
        rest = rest[-MAX_HEADING_LINES:]
    if len(rest) == MAX_HEADING_LINES or (
        len(rest) == 2
        and _KICKER_RE.search(fold_script(rest[0]))
        and not _SUBTITLE_DASH_RE.match(rest[1])
    ):
        found.kicker, rest = rest[0], rest[1:]
    found.title = rest[0]
    if len(rest) > 1:
        found.subtitle = _SUBTITLE_DASH_RE.sub("", " ".join(rest[1:])).strip()
    return found


def _by_size(lines: list[str], sizes: list[float], found: Headings) -> Headings | None:
    """Headline, kicker and subtitle by size: the line set clearly larger than every other
    is the headline, the line just above it the kicker, those below the subtitle, and any
    higher up (an advertisement's lines run into the heading) banners. None when no line
    stands out."""
    top = max(range(len(lines)), key=lambda index: sizes[index])
    others = [size for index, size in enumerate(sizes) if index != top]
    letters = sum(char.isalnum() for char in lines[top])
    if sizes[top] < KICKER_SIZE_RATIO * max(others) or letters < SIZED_TITLE_MIN_CHARS:
        return None  # nothing stands out, or what does is a mark (OCR noise, a logo)
    found.banners.extend(lines[: max(top - 1, 0)])
    found.kicker = lines[top - 1] if top > 0 else None
    found.title = lines[top]
    below = " ".join(lines[top + 1 :])
    found.subtitle = _SUBTITLE_DASH_RE.sub("", below).strip() or None
    return found


def split_names(token: str) -> list[str]:
    """Split reporter names run together by OCR (``王际宾董艳竹`` → ``王际宾``, ``董艳竹``).

    Args:
        token: A run of Han characters between separators.

    Returns:
        The names; the token itself when it is short or cannot be split at surnames.
    """
    if len(token) <= _SINGLE_NAME_MAX or not _HAN_TOKEN_RE.match(token):
        return [token]
    best = _segment_names(token)
    return best if best else [token]


def _segment_names(token: str) -> list[str] | None:
    # Dynamic programming over prefixes: fewest names, each starting with a surname.
    best: list[list[str] | None] = [None] * (len(token) + 1)
    best[0] = []
    for end in range(1, len(token) + 1):
        for start in range(end):
            names = best[start]
            piece = token[start:end]
            if names is None or not _is_name(piece):
                continue
            if best[end] is None or len(names) + 1 < len(best[end] or []):
                best[end] = [*names, piece]
    return best[len(token)]


def _is_name(piece: str) -> bool:
    piece = fold_script(piece)
    if piece[:2] in COMPOUND_SURNAMES:
        return len(piece) - 2 in (1, 2)
    return len(piece) in _NAME_LENGTHS and piece[0] in SURNAMES


def parse_credit(credit: str) -> list[str]:
    """Return the reporters named in a byline credit (``正观新闻·郑州晚报记者 王际宾 翟宝宽``).

    Args:
        credit: The text inside the byline parentheses, or a standalone byline line.

    Returns:
        Reporter names in order, without duplicates.
    """
    text = normalize_width(credit)
    roles = list(_ROLE_RE.finditer(fold_script(text)))
    if not roles:
        segments = [text]
    else:
        # Keep the text after name-bearing roles, up to the next role.
        ends = [m.start() for m in roles[1:]] + [len(text)]
        segments = [
            text[role.end() : end]
            for role, end in zip(roles, ends, strict=True)
            if role.group() in _NAME_ROLES
        ]
    reporters: list[str] = []
    for segment in segments:
        for token in _NAME_SEP_RE.split(segment):
            for name in split_names(token.strip(":：·")):
                if _HAN_TOKEN_RE.match(name) and name not in reporters:
                    reporters.append(name)
    return reporters


def split_byline(paragraph: str) -> tuple[Byline | None, str]:
    """Separate a byline lead from the start of an article's first paragraph.

    Args:
        paragraph: The first body paragraph (raw or clean).

    Returns:
        The byline (or None) and the paragraph without it.
    """
    match = _BYLINE_LEAD_RE.match(fold_script(paragraph))
    if not match:
        return None, paragraph
    lead = clean_heading(paragraph[match.start("lead") : match.end("lead")])
    credit = paragraph[match.start("credit") : match.end("credit")]
    return Byline(lead, parse_credit(credit)), paragraph[match.end() :]


def standalone_byline(line: str) -> Byline | None:
    """Return the byline if the whole line is one (``本报记者 张昕 王治``), else None."""
    match = _BYLINE_LINE_RE.match(fold_script(line))
    if not match:
        return None
    reporters = parse_credit(line[match.start("credit") : match.end("credit")])
    return Byline(clean_heading(line), reporters) if reporters else None


def page_lines(lines: Iterable[str]) -> Iterator[PageLine]:
    """Turn raw lines into non-empty :class:`PageLine` items carrying the gap before them."""
    gap = 0
    for line in lines:
        if not line.strip():
            gap += 1
            continue
        yield PageLine(line.rstrip("\r\n"), gap)
        gap = 0


class _PageSplitter:
    """Streaming state machine behind :func:`split_page`."""

    def __init__(self) -> None:
        self.current: PageArticle | None = None
        self.pending: list[PageLine] = []

    def _continues_body(self, line: PageLine) -> bool:
        # A short tail after a paragraph cut mid-sentence is its continuation, not a heading.
        if self.pending or self.current is None or not self.current.body:
            return False
        last = self.current.body[-1].text
        return line.gap_before < ARTICLE_GAP_LINES and not (
            ends_sentence(last) or is_heading_like(last)
        )

    def feed(self, line: PageLine) -> Iterator[PageArticle]:
        text = normalize_width(line.text).strip()
        byline = standalone_byline(text)
        headline = is_heading_like(text) or (line.heading and is_headline_text(text))
        if byline is None and headline and not self._continues_body(line):
            self.pending.append(line)
            return
        starts_article = (
            self.current is None
            or byline is not None
            or split_byline(text)[0] is not None
            or len(self.pending) > 1
            or (bool(self.pending) and self.pending[0].gap_before >= ARTICLE_GAP_LINES)
        )
        if starts_article:
            yield from self._flush()
            self.current = PageArticle(headings=self.pending)
        elif self.current is not None:
            self.current.body.extend(self.pending)
        self.pending = []
        assert self.current is not None
        if byline is not None:
            # Kept with the headings for the original text; the caller reads it as a byline.
            self.current.byline_line = text
            self.current.headings.append(line)
        else:
            self.current.body.append(line)
        if self.current.body_chars() > MAX_ARTICLE_CHARS:
            headings = list(self.current.headings)
            yield from self._flush()
            self.current = PageArticle(headings=headings)

    def _flush(self) -> Iterator[PageArticle]:
        if self.current is not None and self.current.body:
            yield self.current
        self.current = None

    def finish(self) -> Iterator[PageArticle]:
        if self.current is None:
            # Only short lines (a note, a one-line file): they are the text, not headings.
            self.current = PageArticle(body=self.pending)
        else:
            self.current.body.extend(self.pending)
        self.pending = []
        yield from self._flush()


def split_page(lines: Iterable[PageLine]) -> Iterator[PageArticle]:
    """Group the lines of a newspaper page into articles (streaming).

    Args:
        lines: Non-empty page lines in reading order (see :func:`page_lines`).

    Yields:
        The articles with their heading lines and raw body lines.
    """
    splitter = _PageSplitter()
    for line in lines:
        yield from splitter.feed(line)
    yield from splitter.finish()


# Jump lines: ``（下转第2版）`` ends the part of an article printed on this page,
# ``（上接第1版）`` starts its continuation on a later one; English papers print
# ``(Continued on Page 5)`` and ``(Continued from Page 1)``.
# The page number as OCR reads it too: ``1`` comes out as ``]``, ``l``, ``I`` or ``|``.
_JUMP_PAGE = r"(?:第\s*)?[A-Za-z]?\s*[0-9０-９一二三四五六七八九十\]lI|]{1,3}\s*版"
# Brackets around a jump line, as OCR reads them too (``〈上接第1版）``).
_OPEN = r"[（(〈<［\[]"
_CLOSE = r"[）)〉>］\]]"
_EN_PAGE = (
    r"(?:page\s+(?:[0-9]{1,3}|[a-z]{3,9})|(?:the\s+)?(?:[0-9]{1,2}(?:st|nd|rd|th)|[a-z]{3,9})"
    r"\s+page)"
)
_JUMP_TO_RE = re.compile(
    rf"(?:{_OPEN}\s*(?:下转|转){_JUMP_PAGE}\s*{_CLOSE}"
    rf"|[(\[]\s*(?:continued|concluded)\s+on\s+{_EN_PAGE}\s*\.?\s*[)\]]"
    rf"|(?:^|(?<=[.!?\"”]\s))(?-i:Continued|CONTINUED|Concluded|CONCLUDED)\s+on\s+{_EN_PAGE}\.?)"
    r"\s*$",
    re.IGNORECASE,
)
_JUMP_FROM_RE = re.compile(
    rf"^\s*(?:{_OPEN}\s*(?:上接|接){_JUMP_PAGE}\s*{_CLOSE}"
    rf"|[(\[]\s*(?:continued|concluded)\s+from\s+{_EN_PAGE}\s*\.?\s*[)\]]"
    rf"|(?-i:Continued|CONTINUED|Concluded|CONCLUDED)\s+from\s+{_EN_PAGE}\.?)\s*",
    re.IGNORECASE,
)


def join_continued(articles: Iterable[PageArticle]) -> Iterator[PageArticle]:
    """Join the parts of articles continued on later pages, by their jump lines.

    An article whose text ends in ``（下转第N版）`` waits for its continuation; the next
    text starting with ``（上接第M版）`` is that continuation, wherever the segmentation put
    it (an untitled piece at the top of a page, or the tail of the article read before
    it), and moves to the waiting article. The jump lines are dropped. Holds the file's
    articles (a layout file's pages are bounded).
    """
    yield from link_continued(articles, [])


def link_continued(
    articles: Iterable[PageArticle],
    waiting: list[PageArticle],
    *,
    carried: Sequence[PageArticle] = (),
) -> list[PageArticle]:
    """:func:`join_continued` with the articles still waiting carried in and out.

    Args:
        articles: This file's articles in reading order.
        waiting: Articles (of this file or earlier ones) that wait for their
            continuation; updated in place: completed ones leave, this file's open
            ones join.
        carried: Articles of earlier files among ``waiting``: lines moved to them lose
            their page boxes (those name pages of another file).

    Returns:
        This file's articles that still have text (a continuation moved whole is gone).
    """
    found = list(articles)
    for article in found:
        _take_jumps_to(article, article.body, waiting)
        cut = next((i for i, line in enumerate(article.body) if _JUMP_FROM_RE.match(
            normalize_width(line.text))), None)  # fmt: skip
        if cut is None and waiting and _jump_heading(article):
            cut = 0  # the jump line stood alone and was read as a heading: all of it moves
        if cut is None or not waiting:
            continue
        target = waiting.pop(0)
        moved = article.body[cut:]
        moved[0].text = _JUMP_FROM_RE.sub("", normalize_width(moved[0].text), count=1)
        moved = [line for line in moved if line.text.strip()]
        if target is article:
            article.body = article.body[:cut] + moved
            continue
        if any(target is other for other in carried):
            moved = [PageLine(line.text, line.gap_before) for line in moved]
        article.body = article.body[:cut]
        target.body.extend(moved)
        _take_jumps_to(target, moved, waiting)
    return [article for article in found if article.body]


def _jump_heading(article: PageArticle) -> bool:
    """True if a heading line of the article is a jump line alone (``（上接第1版）``), which
    it then loses."""
    for index, line in enumerate(article.headings):
        text = normalize_width(line.text)
        match = _JUMP_FROM_RE.match(text)
        if match is not None and not text[match.end() :].strip():
            del article.headings[index]
            return True
    return False


def _take_jumps_to(article: PageArticle, lines: list[PageLine], waiting: list[PageArticle]) -> None:
    for line in lines:
        text = normalize_width(line.text)
        if _JUMP_TO_RE.search(text):
            line.text = _JUMP_TO_RE.sub("", text).rstrip()
            if article not in waiting:
                waiting.append(article)
    article.body = [line for line in article.body if line.text.strip()]
