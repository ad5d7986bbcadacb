"""Generated newspaper issues for the layout benchmark: real texts, varied layouts, truth kept.

Texts are real: People's Daily articles of January 1998 (``pd1998_para`` in
``../shared/corpus/news-112k.jsonl``: a headline line, an optional subtitle line, then the
article's paragraphs) and the two articles of the sample page. THUCNews articles are not
used: their title runs into the body with nothing to tell where, and they have no paragraph
breaks, so no truth could be kept for either.

A layout is drawn at random (seeded): paper (A3, A4, tabloid), a page banner or none, rows
of one or two boxes, each an article in 1–5 columns or an advertisement, headlines set to
wrap over 1–3 lines, pictures with captions, and, in some issues, an article continued on
the next page (with the jump lines newspapers print). Chromium prints the HTML to PDF; the
truth of every page is the sequence of its text items in document order, which is also the
order Chromium draws them in (the ALTO writer relies on that).
"""

from __future__ import annotations

import html
import json
import math
import random
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests import pages

from .harness import SHARED

CORPUS = SHARED / "corpus" / "news-112k.jsonl"
_KICKER_RE = re.compile(r"(强调|指出|表示|要求|提出|希望|寄语|时说)$")
PT_MM = 25.4 / 72
# (name, width mm, height mm) of the papers drawn.
PAPERS = (("A3", 297.0, 420.0), ("A4", 210.0, 297.0), ("tabloid", 279.4, 431.8))
MARGIN_MM = 12.0
COLUMN_GAP_MM = 5.0
BOX_GAP_MM = 9.0
BODY_PT = 9.0
CAPTION_PT = 7.5
LEADING = 1.5
# Share of a page's height the text is planned to fill; the estimate is rough, so a margin.
FILL = 0.78
PICTURE_MM = 38.0
ADS = (
    ("金水家居城 盛夏特惠", "全场家具五折起 送货上门", "咨询热线 0371-6553 8888"),
    ("绿城花园 二期开盘", "地铁口 精装三居 首付两成", "售楼处 0371-8899 0000"),
    ("中原眼科医院", "近视激光手术 暑期学生优惠", "预约电话 0371-6777 1234"),
)


class Kind:
    """What a text item is on the page (the truth's labels)."""

    BANNER = "banner"
    KICKER = "kicker"
    TITLE = "title"
    SUBTITLE = "subtitle"
    PARAGRAPH = "paragraph"
    CAPTION = "caption"
    JUMP = "jump"  # ``（下转第2版）``: printed, part of no article's text
    AD = "ad"


@dataclass(frozen=True)
class Story:
    """A real article: its headings and paragraphs."""

    title: str
    paragraphs: tuple[str, ...]
    kicker: str | None = None
    subtitle: str | None = None


@dataclass(frozen=True)
class Item:
    """One text item printed on a page: a paragraph, a heading line, an ad line."""

    kind: str
    text: str
    article: str | None = None  # the truth article it belongs to (None: banner, ad, jump)
    unit: str | None = None  # the advertisement it belongs to


@dataclass
class TruthArticle:
    """An article as generated: what every reader should give back."""

    ident: str
    title: str
    paragraphs: list[str] = field(default_factory=list)  # captions included, in order
    kicker: str | None = None
    subtitle: str | None = None
    pages: list[int] = field(default_factory=list)


@dataclass
class Issue:
    """A generated issue: one or two pages of one paper size, its truth and files."""

    name: str
    paper: str
    width_mm: float
    height_mm: float
    pages: list[list[Item]] = field(default_factory=list)  # items per page, document order
    articles: dict[str, TruthArticle] = field(default_factory=dict)
    html_pages: list[str] = field(default_factory=list)
    features: set[str] = field(default_factory=set)

    def item_article(self, item: Item) -> TruthArticle | None:
        """The truth article an item belongs to."""
        return self.articles.get(item.article) if item.article else None


def load_stories(limit: int = 400) -> list[Story]:
    """Real articles: the sample page's two and People's Daily articles of January 1998."""
    stories = list(_sample_stories())
    lines = [
        str(json.loads(line)["text"]).strip()
        for line in CORPUS.open(encoding="utf-8")
        if '"pd1998_para"' in line
    ]
    stories.extend(_pd_stories(lines, limit))
    return stories


def _sample_stories() -> Iterator[Story]:
    from semsearch.embedder.newspaper import compile_banners, page_lines, parse_headings, split_page

    text = pages.seed_page().read_text(encoding="utf-8").splitlines()
    banners = compile_banners()
    for article in split_page(page_lines(text)):
        headings = parse_headings([line.text for line in article.headings], banners)
        body = tuple(" ".join(line.text.split()) for line in article.body)
        yield Story(headings.title, body, headings.kicker, headings.subtitle)


def _ends_sentence(text: str) -> bool:
    return text[-1:] in "。！？”」）)…"


def _pd_stories(lines: list[str], limit: int) -> Iterator[Story]:
    # A headline line, at most one subtitle line, then at least three paragraphs; photo
    # credits and datelines (short lines) inside the body are left out.
    found = 0
    index = 0
    while index < len(lines) and found < limit:
        title = lines[index]
        after_article = index == 0 or _ends_sentence(lines[index - 1])
        if (
            not after_article
            or _ends_sentence(title)
            or not 6 <= len(title) <= 28
            or any(mark in title for mark in ("（", "记者", "：", "，"))
            or title[1:2] == "、"  # ``二、…``: a sub-heading inside an article
        ):
            index += 1
            continue
        cursor = index + 1
        subtitle = None
        if cursor < len(lines) and not _ends_sentence(lines[cursor]) and len(lines[cursor]) <= 30:
            subtitle, cursor = lines[cursor], cursor + 1
        body: list[str] = []
        while cursor < len(lines) and (_ends_sentence(lines[cursor]) or len(lines[cursor]) > 30):
            if len(lines[cursor]) >= 30:
                body.append(lines[cursor])
            cursor += 1
        kicker = None
        if subtitle and _KICKER_RE.search(title):
            # People's Daily sets the kicker (引题, "…时指出") above the headline; the corpus
            # gives both as lines of their own.
            kicker, title, subtitle = title, subtitle, None
        if (
            len(body) >= 3
            and all(len(p) < 1200 for p in body)
            and not (subtitle and "记者" in subtitle)  # a byline, not a subtitle
        ):
            yield Story(title, tuple(body), kicker, subtitle)
            found += 1
        index = max(cursor, index + 1)


@dataclass(frozen=True)
class Box:
    """An article box on a page: its share of the row's width and its columns."""

    columns: int
    share: float


class IssueBuilder:
    """Draws one issue's layout from a seed and writes its HTML and truth."""

    def __init__(self, name: str, stories: list[Story], seed: int, *, continued: bool) -> None:
        self.random = random.Random(seed)
        paper, width, height = PAPERS[seed % len(PAPERS)]
        self.issue = Issue(name, paper, width, height)
        self.stories = stories
        self.continued = continued
        self.body_pt = BODY_PT if paper != "A4" else 8.0

    @property
    def content_width(self) -> float:
        return self.issue.width_mm - 2 * MARGIN_MM

    @property
    def content_height(self) -> float:
        return self.issue.height_mm - 2 * MARGIN_MM

    def build(self) -> Issue:
        first_items, first_html, carry = self._page(1, None)
        self.issue.pages.append(first_items)
        self.issue.html_pages.append(first_html)
        if carry is not None:
            items, page_html, _ = self._page(2, carry)
            self.issue.pages.append(items)
            self.issue.html_pages.append(page_html)
        return self.issue

    def _story(self) -> Story:
        return self.stories[self.random.randrange(len(self.stories))]

    def _page(
        self, number: int, carry: tuple[TruthArticle, list[str]] | None
    ) -> tuple[list[Item], str, tuple[TruthArticle, list[str]] | None]:
        items: list[Item] = []
        parts: list[str] = []
        budget = self.content_height * FILL
        if self.random.random() < 0.7:
            weekday = "一二三四五六日"[self.random.randrange(7)]
            banner = f"人民日报 1998年1月{self.random.randint(1, 31)}日 星期{weekday}"
            items.append(Item(Kind.BANNER, banner))
            parts.append(f"<div class='banner'>{html.escape(banner)}</div>")
            budget -= 12
            self.issue.features.add("banner")
        if carry is not None:
            article, rest = carry
            height = self._continuation(article, rest, items, parts, number)
            budget -= height + 6
        rows = self.random.choice((1, 2, 2, 3)) if number == 1 else self.random.choice((1, 2))
        leftover: tuple[TruthArticle, list[str]] | None = None
        for row in range(rows):
            last = row == rows - 1
            row_budget = budget / (rows - row)
            boxes = self._row_boxes()
            row_parts: list[str] = []
            used = 0.0
            for position, box in enumerate(boxes):
                width = box.share * (self.content_width - BOX_GAP_MM * (len(boxes) - 1))
                style = f"width:{width:.1f}mm"
                if len(boxes) == 2 and position == 1 and self.random.random() < 0.3:
                    height = self._ad(items, row_parts, style, row_budget)
                else:
                    jump = last and position == 0 and self.continued and number == 1
                    height, spill = self._article(
                        items, row_parts, style, box, width, row_budget, number, jump
                    )
                    leftover = spill or leftover
                used = max(used, height)
            parts.append(f"<div class='row'>{''.join(row_parts)}</div>")
            budget -= used + 8
        return items, self._html(parts), leftover

    def _row_boxes(self) -> list[Box]:
        total = self.random.randint(1, 5)
        if total >= 3 and self.random.random() < 0.5:
            left = self.random.randint(1, total - 1)
            return [Box(left, left / total), Box(total - left, (total - left) / total)]
        return [Box(total, 1.0)]

    def _chars_per_line(self, width: float, columns: int, points: float) -> int:
        column = (width - COLUMN_GAP_MM * (columns - 1)) / columns
        return max(4, int(column / (points * PT_MM)))

    def _lines(self, text: str, per_line: int) -> int:
        return math.ceil((len(text) + 2) / per_line)

    def _article(
        self,
        items: list[Item],
        parts: list[str],
        style: str,
        box: Box,
        width: float,
        budget: float,
        page: int,
        jump: bool,
    ) -> tuple[float, tuple[TruthArticle, list[str]] | None]:
        story = self._story()
        ident = f"{self.issue.name}-a{len(self.issue.articles) + 1}"
        article = TruthArticle(
            ident, story.title, kicker=story.kicker, subtitle=story.subtitle, pages=[page]
        )
        self.issue.articles[ident] = article
        headline_pt = self.random.choice((18.0, 20.0, 22.0, 24.0))
        fits = max(1, int(width / (headline_pt * PT_MM)) - 1)
        wanted = self.random.choice((1, 2, 2, 3))
        lines = max(math.ceil(len(story.title) / fits), min(wanted, len(story.title) // 5 or 1))
        em = math.ceil(len(story.title) / lines) + 0.4
        self.issue.features.add(f"headline {min(lines, 3)}{'+' * (lines > 3)} line(s)")
        heads = [f"<div class='story' style='{style}'>"]
        height = lines * headline_pt * PT_MM * 1.3 + 4
        if story.kicker:
            items.append(Item(Kind.KICKER, story.kicker, ident))
            heads.append(f"<div class='kicker'>{html.escape(story.kicker)}</div>")
            height += 8
        items.append(Item(Kind.TITLE, story.title, ident))
        heads.append(
            f"<h1 style='font-size:{headline_pt}pt;width:{em}em'>{html.escape(story.title)}</h1>"
        )
        if story.subtitle:
            items.append(Item(Kind.SUBTITLE, story.subtitle, ident))
            heads.append(f"<div class='subtitle'>{html.escape(story.subtitle)}</div>")
            height += 8
        per_line = self._chars_per_line(width, box.columns, self.body_pt)
        line_mm = self.body_pt * PT_MM * LEADING
        capacity = max(3.0, (budget - height)) / line_mm * box.columns
        body: list[str] = [f"<div class='cols' style='column-count:{box.columns}'>"]
        paragraphs = list(story.paragraphs)
        used_lines = 0.0
        picture = self.random.random() < 0.35 and len(paragraphs) > 1
        placed = 0
        # An article to be continued keeps half its paragraphs for the next page at least.
        limit = max(1, len(paragraphs) // 2) if jump else len(paragraphs)
        for index, paragraph in enumerate(paragraphs):
            cost = self._lines(paragraph, per_line)
            if index >= limit:
                break
            if used_lines + cost > capacity:
                if placed == 0:  # a short first paragraph: cut at a sentence end
                    paragraph = _cut(paragraph, int((capacity - used_lines) * per_line) - 2)
                    paragraph = paragraph or _cut(
                        paragraph_first := story.paragraphs[0],
                        len(paragraph_first.split("。")[0]) + 1,
                    )
                    cost = self._lines(paragraph, per_line)
                if placed == 0 and paragraph:
                    body.append(self._paragraph(items, article, paragraph))
                    used_lines += cost
                    placed += 1
                break
            body.append(self._paragraph(items, article, paragraph))
            used_lines += cost
            placed += 1
            if picture and index == 0:
                caption = _caption(story)
                items.append(Item(Kind.CAPTION, caption, ident))
                article.paragraphs.append(caption)
                body.append(
                    f"<figure><div class='picture' style='height:{PICTURE_MM * 0.6:.0f}mm'></div>"
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
                used_lines += (PICTURE_MM * 0.6 + 8) / line_mm
                self.issue.features.add("picture with caption")
        rest = paragraphs[placed:]
        spill = None
        if jump and rest:
            line = "（下转第2版）"
            items.append(Item(Kind.JUMP, line))
            body.append(f"<p class='jump'>{line}</p>")
            spill = (article, rest)
            self.issue.features.add("continued on page 2")
        body.append("</div>")
        parts.append("".join(heads) + "".join(body) + "</div>")
        return height + used_lines / box.columns * line_mm, spill

    def _paragraph(self, items: list[Item], article: TruthArticle, text: str) -> str:
        items.append(Item(Kind.PARAGRAPH, text, article.ident))
        article.paragraphs.append(text)
        return f"<p>{html.escape(text)}</p>"

    def _continuation(
        self,
        article: TruthArticle,
        rest: list[str],
        items: list[Item],
        parts: list[str],
        page: int,
    ) -> float:
        # The rest of page 1's article at the top of page 2, full width, no headline.
        article.pages.append(page)
        columns = self.random.randint(3, 5)
        per_line = self._chars_per_line(self.content_width, columns, self.body_pt)
        line_mm = self.body_pt * PT_MM * LEADING
        capacity = self.content_height * 0.3 / line_mm * columns
        body = [f"<div class='cols' style='column-count:{columns}'>"]
        line = "（上接第1版）"
        items.append(Item(Kind.JUMP, line))
        body.append(f"<p class='jump'>{line}</p>")
        used = 1.0
        for paragraph in rest:
            cost = self._lines(paragraph, per_line)
            if used + cost > capacity:
                break
            body.append(self._paragraph(items, article, paragraph))
            used += cost
        body.append("</div>")
        parts.append(
            f"<div class='row'><div class='story' style='width:{self.content_width:.1f}mm'>"
            f"{''.join(body)}</div></div>"
        )
        return used / columns * line_mm

    def _ad(self, items: list[Item], parts: list[str], style: str, budget: float) -> float:
        lines = self.random.choice(ADS)
        unit = f"{self.issue.name}-ad{len(items)}"
        for text in lines:
            items.append(Item(Kind.AD, text, unit=unit))
        body = "".join(
            f"<div class='{'adhead' if n == 0 else 'adline'}'>{html.escape(t)}</div>"
            for n, t in enumerate(lines)
        )
        self.issue.features.add("advertisement")
        height = min(budget, 60.0)
        parts.append(f"<div class='ad' style='{style};height:{height:.0f}mm'>{body}</div>")
        return height

    def _html(self, parts: list[str]) -> str:
        issue = self.issue
        style = f"""
@page {{ size: {issue.width_mm}mm {issue.height_mm}mm; margin: {MARGIN_MM}mm; }}
body {{ font-family: "Noto Serif CJK SC", serif; font-size: {self.body_pt}pt;
  line-height: {LEADING}; margin: 0; }}
.banner {{ font-size: 12pt; text-align: center; border-bottom: 1px solid #000;
  margin: 0 0 4mm; padding-bottom: 1mm; }}
.row {{ display: flex; gap: {BOX_GAP_MM}mm; margin: 0 0 8mm; }}
.story {{ flex: none; }}
h1 {{ font-family: "Noto Sans CJK SC", sans-serif; font-weight: bold; line-height: 1.3;
  text-align: center; margin: 0 auto 3mm; max-width: 100%; }}
.kicker, .subtitle {{ font-size: 13pt; text-align: center; margin: 0 0 2mm; }}
.cols {{ column-gap: {COLUMN_GAP_MM}mm; }}
p {{ margin: 0; text-indent: 2em; text-align: justify; }}
p.jump {{ text-indent: 0; text-align: right; }}
figure {{ margin: 1mm 0 2mm; break-inside: avoid; }}
.picture {{ background: #bbb; }}
figcaption {{ font-size: {CAPTION_PT}pt; line-height: 1.4; margin-top: 1mm; }}
.ad {{ flex: none; border: 2px solid #000; display: flex; flex-direction: column;
  justify-content: center; align-items: center; }}
.adhead {{ font-family: "Noto Sans CJK SC", sans-serif; font-size: 20pt; font-weight: bold; }}
.adline {{ font-size: 12pt; }}
"""
        return (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>"
        )


def _cut(paragraph: str, limit: int) -> str:
    # The paragraph up to its last sentence end within the limit, else empty.
    if len(paragraph) <= limit:
        return paragraph
    end = max(paragraph.rfind(mark, 0, max(limit, 0)) for mark in "。！？")
    return paragraph[: end + 1] if end > 0 else ""


def _caption(story: Story) -> str:
    return f"图为{story.title}现场。（本报记者 李明摄）"


def build_issue(name: str, stories: list[Story], seed: int, *, continued: bool) -> Issue:
    """Draw one issue's layout and truth (no files yet)."""
    return IssueBuilder(name, stories, seed, continued=continued).build()


def print_issue(issue: Issue, folder: Path) -> Path:
    """Print the issue's pages with Chromium into one PDF, a page each.

    Raises:
        RuntimeError: Chromium is missing or failed, or a page overflowed onto a second.
    """
    import pypdfium2 as pdfium

    if pages.CHROMIUM is None:
        raise RuntimeError(f"chromium not installed ({pages.CHROMIUM_INSTALL})")
    printed: list[Path] = []
    for number, page_html in enumerate(issue.html_pages, start=1):
        source = folder / f"{issue.name}-{number}.html"
        out = source.with_suffix(".pdf")
        source.write_text(page_html, encoding="utf-8")
        command = [
            pages.CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            source.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, timeout=180, check=False)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"chromium failed: {done.stderr.decode(errors='replace')[-300:]}")
        document = pdfium.PdfDocument(str(out))
        count = len(document)
        document.close()
        if count != 1:
            raise RuntimeError(f"{out.name}: the layout overflowed onto {count} pages")
        printed.append(out)
    merged = pdfium.PdfDocument.new()
    try:
        for path in printed:
            source_document = pdfium.PdfDocument(str(path))
            merged.import_pages(source_document)
            source_document.close()
        target = folder / f"{issue.name}.pdf"
        merged.save(str(target))
    finally:
        merged.close()
    return target
