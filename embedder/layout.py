"""Page layout shared by the PDF, ALTO, hOCR and OCR readers: lines with boxes, blocks, order.

Every layout reader turns its file into :class:`LayoutBlock` items (a paragraph or a heading
with its lines and boxes) in reading order; :func:`page_lines_from_blocks` hands them to the
same newspaper segmentation a ``.txt`` page goes through, each line carrying the
:class:`Region` it came from so passages keep their page and boxes.

Boxes are ``(x0, y0, x1, y1)`` with ``y`` growing downwards, in the units of the source
(PDF points, image pixels, ALTO measurement units).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from semsearch.embedder.cleaning import HEADING_MAX_CHARS, ends_sentence
from semsearch.embedder.newspaper import ARTICLE_GAP_LINES, PageLine
from semsearch.embedder.records import Region

Box = tuple[float, float, float, float]

# A line this much taller than the page's body lines is a heading (headline, kicker, banner).
HEADING_SIZE_RATIO = 1.25
# A vertical gap of at least this many body-line heights separates paragraphs in a column,
# and so does one this much wider than the page's usual gap between lines (its leading).
PARAGRAPH_GAP_LINES = 0.6
PARAGRAPH_GAP_OVER_LEADING = 0.4
# A first line indented by at least this many body-line heights starts a paragraph.
INDENT_LINES = 0.8
# Indents of one paragraph style: at most this many body-line heights, all within the
# second figure of each other.
MAX_INDENT_LINES = 4.0
SAME_INDENT_LINES = 0.35
# Heading lines whose heights differ by at most this share are set in one size.
HEADING_SAME_SIZE = 0.12
# Lines of one heading size closer than this many of their own heights are one wrapped
# heading; on a page set with wider leading, closer than its leading (in body-line heights)
# plus the margin below.
HEADING_WRAP_GAP = 0.6
HEADING_WRAP_OVER_LEADING = 0.4
# Empty bands narrower than this (in body-line heights) do not cut a region in XY-cut.
MIN_COLUMN_GAP_LINES = 0.5
MIN_ROW_GAP_LINES = 0.7
# A row cut must also be this much wider than the leading: with generous line spacing the
# lines of side-by-side columns would otherwise be cut into rows, read across the columns.
ROW_GAP_OVER_LEADING = 0.35
# Gaps wider than this many body-line heights are not leading (a headline, a picture).
MAX_LEADING_LINES = 2.0
# A run-in head (the title of a short item, set in the paragraph's first line before a
# dash) is at most this long.
RUN_IN_MAX_CHARS = 60
RUN_IN_MAX_WORDS = 10
_RUN_IN_RE = re.compile(
    rf"^\s*(?P<head>[^\u3000-\u9fff\uff00-\uffef—–]{{2,{RUN_IN_MAX_CHARS}}}?[.,:])\s*(?:—|–|--)\s*(?=\S)"
)
# Lines looked at below each line to find the next one in its column.
_LEADING_LOOKAHEAD = 40

_CJK = r"\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_EDGE_RE = re.compile(f"[{_CJK}]")


@dataclass(frozen=True)
class Spacing:
    """A page's body-line height and its leading (usual empty gap between body lines)."""

    body: float
    leading: float = 0.0

    @property
    def row_gap(self) -> float:
        """The narrowest empty band that cuts a region into rows."""
        return max(MIN_ROW_GAP_LINES * self.body, self.leading + ROW_GAP_OVER_LEADING * self.body)

    @property
    def paragraph_gap(self) -> float:
        """The narrowest gap between two lines of a column that separates paragraphs."""
        return max(
            PARAGRAPH_GAP_LINES * self.body,
            self.leading + PARAGRAPH_GAP_OVER_LEADING * self.body,
        )


@dataclass(frozen=True)
class LayoutLine:
    """One line of text on a page with its box; ``size`` is its height (font size proxy)."""

    text: str
    page: int
    box: Box

    @property
    def size(self) -> float:
        """Height of the line's box."""
        return self.box[3] - self.box[1]


@dataclass
class LayoutBlock:
    """A paragraph or heading: lines in order; ``heading`` when set by size or by markup."""

    lines: list[LayoutLine] = field(default_factory=list)
    heading: bool = False
    ident: str = ""  # the block's id in its file (ALTO TextBlock ID), for METS

    def text(self) -> str:
        """The lines joined: no space between CJK line ends, one space otherwise."""
        return join_lines(line.text for line in self.lines)

    def region(self) -> Region:
        """The page and line boxes of the block."""
        return Region(self.lines[0].page, tuple(line.box for line in self.lines))


def join_lines(lines: Iterable[str]) -> str:
    """Join lines (or OCR words); a break between CJK characters is no space, others one."""
    text = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if text and not (_CJK_EDGE_RE.match(text[-1]) or _CJK_EDGE_RE.match(line[0])):
            text += " "
        text += line
    return text


def lines_from_glyphs(
    glyphs: Iterable[tuple[str, Box]], page: int, *, max_gap: float = 1.0
) -> list[LayoutLine]:
    """Gather glyphs (PDF characters) in content order into lines.

    A glyph stays on the current line when its middle lies in the line's band and it
    starts right of the previous one, less than ``max_gap`` line heights away (a wider
    gap is a column gap). Whitespace glyphs are kept inside a line, dropped at its ends.
    """
    lines: list[LayoutLine] = []
    parts: list[str] = []
    box: list[float] | None = None
    last_right = 0.0

    def close() -> None:
        nonlocal parts, box
        if box is not None and parts:
            text = "".join(parts).strip()
            lines.append(LayoutLine(text, page, (box[0], box[1], box[2], box[3])))
        parts, box = [], None

    for text, (x0, y0, x1, y1) in glyphs:
        if not text.strip():
            if parts and not parts[-1].endswith(" "):
                parts.append(" ")
            continue
        if box is not None:
            # Either band may be flat: a lone ``一`` or ``—`` has a box a point high.
            height = max(box[3] - box[1], y1 - y0)
            same_band = box[1] <= (y0 + y1) / 2 <= box[3] or y0 <= (box[1] + box[3]) / 2 <= y1
            same_line = same_band and -0.5 * height <= x0 - last_right <= max_gap * height
            if not same_line:
                close()
        if box is None:
            box = [x0, y0, x1, y1]
        else:
            box = [min(box[0], x0), min(box[1], y0), max(box[2], x1), max(box[3], y1)]
        parts.append(text)
        last_right = x1
    close()
    return lines


def layout_blocks(lines: Sequence[LayoutLine]) -> list[LayoutBlock]:
    """Lines of one page in any order → paragraphs and headings in reading order."""
    if not lines:
        return []
    spacing = page_spacing(lines)
    blocks = blocks_from_columns(order_lines(lines, spacing), spacing)
    return join_wrapped_headings(blocks, spacing)


def page_spacing(lines: Sequence[LayoutLine]) -> Spacing:
    """The body-line height and the leading of a page's body text."""
    body = body_line_height(lines)
    heading = HEADING_SIZE_RATIO * body
    ordered = sorted((line for line in lines if line.size < heading), key=lambda item: item.box[1])
    gaps: list[float] = []
    for index, line in enumerate(ordered):
        # The next body line below this one in the same column: overlapping horizontally.
        for below in ordered[index + 1 : index + 1 + _LEADING_LOOKAHEAD]:
            if below.box[1] >= line.box[3] - 0.5 * body and _overlap(line.box, below.box):
                gap = below.box[1] - line.box[3]
                if gap <= MAX_LEADING_LINES * body:
                    gaps.append(max(gap, 0.0))
                break
    return Spacing(body, statistics.median(gaps) if gaps else 0.0)


def join_wrapped_headings(blocks: Sequence[LayoutBlock], spacing: Spacing) -> list[LayoutBlock]:
    """Join heading blocks that are one headline wrapped over several lines.

    XY-cut puts each line of a headline set with generous leading in a row of its own;
    consecutive heading blocks of one size, close for that size and overlapping
    horizontally, are one heading.
    """
    joined: list[LayoutBlock] = []
    for block in blocks:
        previous = joined[-1] if joined else None
        if (
            previous is not None
            and previous.heading
            and block.heading
            and previous.lines[-1].page == block.lines[0].page
            and _same_heading(previous.lines[-1], block.lines[0], spacing)
            and _overlap(previous.lines[-1].box, block.lines[0].box)
        ):
            previous.lines.extend(block.lines)
            continue
        joined.append(block)
    return joined


def _overlap(upper: Box, lower: Box) -> bool:
    return min(upper[2], lower[2]) > max(upper[0], lower[0])


def body_line_height(lines: Sequence[LayoutLine]) -> float:
    """The typical (median) line height of a page, weighted by characters."""
    heights = [line.size for line in lines for _ in range(max(1, len(line.text)))]
    return statistics.median(heights) if heights else 1.0


def mark_headings(blocks: Iterable[LayoutBlock], body_height: float) -> list[LayoutBlock]:
    """Flag blocks whose lines are clearly taller than body text as headings."""
    marked = list(blocks)
    for block in marked:
        if block.lines and min(line.size for line in block.lines) >= (
            HEADING_SIZE_RATIO * body_height
        ):
            block.heading = True
    return marked


def page_lines_from_blocks(blocks: Iterable[LayoutBlock]) -> Iterator[PageLine]:
    """Blocks in reading order as page lines for :func:`~embedder.newspaper.split_page`.

    Each block is one line (paragraphs are one line each in a ``.txt`` page); a heading
    that follows body text opens an article, told to the segmentation by a wide gap. A
    paragraph that opens with a run-in head (``RECORDER'S COURT.—I. Fickert was fined``)
    after body text is an item of its own under that head.
    """
    previous_heading, previous_ends = True, True
    for block in blocks:
        text = block.text()
        if not text:
            continue
        # After a headline, a run-in is the article's own (a letter's salutation); after
        # a sentence cut off, the paragraph continues it.
        opens = not (block.heading or previous_heading) and previous_ends
        head = run_in_head(text) if opens else None
        # A short line (a signature, a dateline) ends what it closes.
        previous_ends = ends_sentence(text) or len(text) <= HEADING_MAX_CHARS
        if head is not None:
            first = block.lines[0]
            yield PageLine(head[0], ARTICLE_GAP_LINES, Region(first.page, (first.box,)), True)
            yield PageLine(head[1], 1, block.region())
            continue
        gap = ARTICLE_GAP_LINES if block.heading and not previous_heading else 1
        previous_heading = block.heading
        yield PageLine(text, gap, block.region(), block.heading)


def run_in_head(text: str) -> tuple[str, str] | None:
    """The run-in head of a paragraph and the rest of it, or None.

    A run-in head is a short phrase closed by a full stop, comma or colon and a dash
    (``THE MINSTRELS.—The Minstrels' popularity…``): how papers set the titles of short
    items in the body type. Latin script only (a CJK dash after a phrase is no such head).
    """
    match = _RUN_IN_RE.match(text)
    if match is None:
        return None
    head, rest = match.group("head").rstrip(".,:").strip(), text[match.end() :].strip()
    letters = sum(char.isalpha() for char in head)
    if (
        len(head.split()) > RUN_IN_MAX_WORDS
        or letters < 2
        or head.split()[0].islower()
        or not any(char.isalpha() for char in rest)
    ):
        return None
    return head, rest


def order_lines(lines: Sequence[LayoutLine], spacing: Spacing) -> list[list[LayoutLine]]:
    """Put the lines of one page in reading order by recursive XY-cut.

    A region is first cut at every horizontal empty band wider than line spacing (rows of
    a page: banners, headline blocks, an article's columns; top to bottom), else at its
    widest vertical empty band (columns, left before right); a region that cannot be cut
    is one column read from top to bottom. Rows first, because a short centred headline
    leaves the column gaps of a page open from top to bottom.

    Returns:
        The columns' lines, in reading order.
    """
    if not lines:
        return []
    beside = _side_by_side(lines, spacing)
    if beside is not None:
        return [column for part in beside for column in order_lines(part, spacing)]
    rows = _join_side_by_side(_horizontal_slabs(lines, spacing.row_gap), spacing)
    if len(rows) > 1:
        return [column for row in rows for column in order_lines(row, spacing)]
    column_cut = _vertical_cut(lines, MIN_COLUMN_GAP_LINES * spacing.body)
    if column_cut is not None:
        left = [line for line in lines if line.box[2] <= column_cut]
        right = [line for line in lines if line.box[2] > column_cut]
        return order_lines(left, spacing) + order_lines(right, spacing)
    return [sorted(lines, key=lambda line: (line.box[1], line.box[0]))]


def _side_by_side(
    lines: Sequence[LayoutLine], spacing: Spacing
) -> tuple[list[LayoutLine], list[LayoutLine]] | None:
    """Two articles (or an article and an advertisement) set side by side, each under its
    own headline: an empty band from top to bottom, a heading line atop each side.

    Cut before the rows: a picture on one side and white space on the other would open a
    band across both, and rows would read one article's end after the other's start.
    """
    cut = _vertical_cut(lines, MIN_COLUMN_GAP_LINES * spacing.body)
    if cut is None:
        return None
    left = [line for line in lines if line.box[2] <= cut]
    right = [line for line in lines if line.box[2] > cut]
    heading = HEADING_SIZE_RATIO * spacing.body
    # Each side starts with its headline; a centred headline over columns leaves a column
    # gap open from top to bottom, with body text at the top of one side.
    if all(min(side, key=lambda line: line.box[1]).size >= heading for side in (left, right)):
        return left, right
    return None


def _join_side_by_side(rows: list[list[LayoutLine]], spacing: Spacing) -> list[list[LayoutLine]]:
    """Rows that are side-by-side articles taken together again.

    Two headlines set side by side at one height make a row of their own above their
    bodies; read row by row, both headlines would come before either body. A row with
    headings and the rows of body text below it, up to the next row with headings, are
    one region when :func:`_side_by_side` cuts them apart.
    """
    heading = HEADING_SIZE_RATIO * spacing.body
    joined: list[list[LayoutLine]] = []
    index = 0
    while index < len(rows):
        end = index + 1
        if any(line.size >= heading for line in rows[index]):
            # Rows of headings alone (a headline wrapped with wide leading), then the rows
            # holding body text (a subtitle may stand beside the other article's text).
            while end < len(rows) and all(line.size >= heading for line in rows[end]):
                end += 1
            while end < len(rows) and any(line.size < heading for line in rows[end]):
                end += 1
        # The longest such run that parts into two sides (the next row of articles may
        # hold headings and text too, under another gutter).
        for stop in range(end, index + 1, -1):
            region = [line for row in rows[index:stop] for line in row]
            if _side_by_side(region, spacing) is not None:
                joined.append(region)
                index = stop
                break
        else:
            joined.append(rows[index])
            index += 1
    return joined


def _vertical_cut(lines: Sequence[LayoutLine], min_gap: float) -> float | None:
    spans = sorted((line.box[0], line.box[2]) for line in lines)
    best: tuple[float, float] | None = None
    reach = spans[0][1]
    for start, end in spans[1:]:
        if start - reach >= min_gap and (best is None or start - reach > best[1] - best[0]):
            best = (reach, start)
        reach = max(reach, end)
    return None if best is None else (best[0] + best[1]) / 2


def _horizontal_slabs(lines: Sequence[LayoutLine], min_gap: float) -> list[list[LayoutLine]]:
    ordered = sorted(lines, key=lambda line: line.box[1])
    slabs: list[list[LayoutLine]] = [[ordered[0]]]
    reach = ordered[0].box[3]
    for line in ordered[1:]:
        if line.box[1] - reach >= min_gap:
            slabs.append([])
        slabs[-1].append(line)
        reach = max(reach, line.box[3])
    return slabs


def blocks_from_columns(
    columns: Iterable[Sequence[LayoutLine]], spacing: Spacing, *, sizes: bool = True
) -> list[LayoutBlock]:
    """Group each column's lines into paragraphs and headings.

    A block ends at a wide vertical gap, an indented first line, or a change between
    heading-sized and body-sized lines; it never runs across columns. Heading lines of one
    size set close together (for their size) are one heading wrapped over several lines.
    With ``sizes`` off, line heights neither mark headings nor end blocks (the caller
    knows which blocks are headings, as ALTO does).
    """
    blocks: list[LayoutBlock] = []
    body_height = spacing.body
    heading_size = HEADING_SIZE_RATIO * body_height
    for column in columns:
        left = min(line.box[0] for line in column)
        indents = _indents_mark_paragraphs(column, body_height)
        previous: LayoutLine | None = None
        for line in column:
            heading = sizes and line.size >= heading_size
            if previous is None or heading != blocks[-1].heading:
                starts = True
            elif heading:
                starts = not _same_heading(previous, line, spacing)
            else:
                starts = line.box[1] - previous.box[3] >= spacing.paragraph_gap or (
                    indents and line.box[0] - left >= INDENT_LINES * body_height
                )
            if starts:
                blocks.append(LayoutBlock(heading=heading))
            blocks[-1].lines.append(line)
            previous = line
    return blocks


def left_aligned(lines: Sequence[LayoutLine], body_height: float) -> bool:
    """True if most lines start at the left edge (indents then mark paragraphs).

    Centred or ragged text (verse, a notice, a table) starts most lines elsewhere, and
    its "indents" are no paragraph breaks.
    """
    left = min(line.box[0] for line in lines)
    indents = [
        line.box[0] - left for line in lines if line.box[0] - left >= INDENT_LINES * body_height
    ]
    if len(indents) * 2 <= len(lines):
        return True
    # Paragraphs of one or two lines (a wide column) indent most lines, but all by the same
    # small amount; centred or ragged lines start anywhere.
    usual = statistics.median(indents)
    return usual <= MAX_INDENT_LINES * body_height and all(
        abs(indent - usual) <= SAME_INDENT_LINES * body_height for indent in indents
    )


def _indents_mark_paragraphs(column: Sequence[LayoutLine], body_height: float) -> bool:
    body = [line for line in column if line.size < HEADING_SIZE_RATIO * body_height]
    return not body or left_aligned(body, body_height)


def _same_heading(previous: LayoutLine, line: LayoutLine, spacing: Spacing) -> bool:
    # A headline wrapped onto a second line keeps its size and the page's line spacing; a
    # subtitle or kicker is set smaller, and a new headline stands further off.
    size = max(previous.size, line.size)
    similar = abs(previous.size - line.size) <= HEADING_SAME_SIZE * size
    leading = spacing.leading / spacing.body if spacing.body else 0.0
    wrap_gap = max(HEADING_WRAP_GAP, leading + HEADING_WRAP_OVER_LEADING) * size
    return similar and line.box[1] - previous.box[3] < wrap_gap
