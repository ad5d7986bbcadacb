"""ALTO (v1–v4) pages: text blocks with boxes, and the word ranges a METS area names.

ALTO versions differ in namespace only as far as text is concerned, so elements are matched
by local name. A METS ``area`` names ALTO elements by ID: a ``TextBlock`` in most profiles,
a range of ``String`` words (``BEGIN``/``END``) in the British Library's; both are read as
a range of words in document order (:meth:`AltoDocument.area`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from lxml import etree

from semsearch.embedder.cleaning import is_headline_text
from semsearch.embedder.layout import (
    HEADING_SAME_SIZE,
    HEADING_SIZE_RATIO,
    HEADING_WRAP_GAP,
    Box,
    LayoutBlock,
    LayoutLine,
    blocks_from_columns,
    body_line_height,
    join_lines,
    left_aligned,
    mark_headings,
    page_spacing,
)
from semsearch.embedder.reading import BadInput
from semsearch.embedder.xmlsafe import local_name

# A block declared in heading type with more lines than this is a heading only if its
# lines are also tall: headlines run to a few lines, OCR engines mis-size whole columns.
MAX_DECLARED_HEADING_LINES = 6
# ALTO elements that hold blocks of text (a ComposedBlock groups TextBlocks).
_BLOCK_TAGS = frozenset({"TextBlock"})
# Headlines set in the body size (19th-century papers: small capitals or bold, a full stop
# after them) are centred over their column and set off from the text above. A line is
# centred when each side leaves at least this many body-line heights of its column free
# and the two sides differ by at most the share below (of the wider side) plus one line.
CENTRED_MARGIN_LINES = 0.8
CENTRED_SIDES_DIFFER = 0.35
# A block of fewer lines than this is measured against the column below it (a headline
# written as a block of its own), looked for within this many body-line heights.
COLUMN_MIN_LINES = 3
COLUMN_BELOW_LINES = 3.0


def is_alto(root: etree._Element) -> bool:
    """True for an ``<alto>`` root element."""
    return local_name(root) == "alto"


def is_mets(root: etree._Element) -> bool:
    """True for a ``<mets>`` root element."""
    return local_name(root) == "mets"


@dataclass
class _Line:
    box: Box
    page: int
    words: list[str] = field(default_factory=list)
    first_word: int = 0  # index of its first word in the document
    style: float | None = None  # the size its words inherit (TextLine, else TextBlock style)
    sizes: dict[float, int] = field(default_factory=dict)  # declared size → characters

    @property
    def size(self) -> float | None:
        """The declared size most of its characters have."""
        return max(self.sizes, key=lambda size: self.sizes[size]) if self.sizes else None


@dataclass
class _Block:
    ident: str
    lines: list[_Line] = field(default_factory=list)
    size: float | None = None  # declared font size (TextStyle), where given
    heading: bool = False
    centred: bool = False  # a centred headline set off from the text above
    box: Box | None = None  # the block's own box (its column), where the file gives one


class AltoDocument:
    """One ALTO file read once: its blocks in document order and where each ID's words lie.

    Args:
        root: The parsed ``<alto>`` element.
        location: For messages.
        page: Page number for its lines; default the ``PHYSICAL_IMG_NR`` of each page.
    """

    def __init__(self, root: etree._Element, location: str, *, page: int | None = None) -> None:
        self.location = location
        self._blocks: list[_Block] = []
        # Element ID → (first word, one past the last word) in document order.
        self._spans: dict[str, tuple[int, int]] = {}
        self._word_lines: list[tuple[int, int]] = []  # word → (block, line)
        self._ids: set[str] = set()
        sizes = {
            style.get("ID", ""): _number(style.get("FONTSIZE"))
            for style in root.iter()
            if local_name(style) == "TextStyle"
        }
        self._pages = 0
        self._fixed_page = page
        self._walk(root, sizes, page or 1)
        self._split_by_size()
        self._split_centred()
        self._mark_headings()

    def _body_size(self) -> float | None:
        # The declared size of most characters, where most characters declare one.
        weighted = sorted(
            (size, count)
            for block in self._blocks
            for line in block.lines
            for size, count in line.sizes.items()
        )
        declared = sum(count for _, count in weighted)
        characters = sum(
            len(w) for block in self._blocks for line in block.lines for w in line.words
        )
        if not weighted or declared * 2 <= characters:
            return None
        seen = 0
        for size, count in weighted:
            seen += count
            if seen * 2 >= declared:
                return size
        return None

    def _split_by_size(self) -> None:
        """Cut blocks where the declared size changes between heading and body lines.

        Some engines (docWorks, as in Library of Congress NDNP batches) write a whole
        column, headings and all, as one block and declare the headings' size on their
        lines or words only.
        """
        body = self._body_size()
        if body is None:
            return
        split: list[_Block] = []
        for block in self._blocks:
            runs: list[_Block] = []
            for line in block.lines:
                size = line.size
                heading = size is not None and size >= HEADING_SIZE_RATIO * body
                if not runs or runs[-1].heading != heading:
                    ident = block.ident if not runs else f"{block.ident}#{len(runs)}"
                    runs.append(_Block(ident, heading=heading, box=block.box))
                runs[-1].lines.append(line)
            for run in runs:
                declared = [line.size for line in run.lines if line.size]
                run.size = statistics.median(declared) if declared else block.size
                run.heading = False
            split.extend(runs or [block])
        self._set_blocks(split)

    def _set_blocks(self, blocks: list[_Block]) -> None:
        self._blocks = blocks
        for number, block in enumerate(self._blocks):
            for index, line in enumerate(block.lines):
                for word in range(line.first_word, line.first_word + len(line.words)):
                    self._word_lines[word] = (number, index)

    def _split_centred(self) -> None:
        """Cut blocks before and after centred headline lines set off from the text above.

        OCR engines write a column's headlines in body type into the column's block, or
        as blocks of a line each; neither their size nor a style tells them apart.
        """
        lines = [
            LayoutLine(join_lines(line.words), line.page, line.box)
            for block in self._blocks
            for line in block.lines
        ]
        if not lines:
            return
        spacing = page_spacing(lines)
        columns = [block.box or _extent(block) for block in self._blocks]
        body = self._body_size()
        after_large = False  # the line before was set large (a masthead, a headline)
        split: list[_Block] = []
        for number, block in enumerate(self._blocks):
            large = body is not None and (block.size or 0) >= HEADING_SIZE_RATIO * body
            column = columns[number] if len(block.lines) >= COLUMN_MIN_LINES else None
            column = column or self._column_below(number, columns, spacing.body)
            runs: list[_Block] = []
            previous: _Line | None = None
            for line in block.lines:
                set_off = previous is None or (
                    line.box[1] - previous.box[3] >= spacing.paragraph_gap
                    and not _wraps(previous.box, line.box)
                )
                tall_wrap = (  # the next line of a tall centred headline, centred or not
                    previous is not None
                    and bool(runs)
                    and runs[-1].centred
                    and previous.box[3] - previous.box[1] >= HEADING_SIZE_RATIO * spacing.body
                    and _wraps(previous.box, line.box)
                )
                centred = tall_wrap or (
                    column is not None
                    and not large  # declared large: a heading by its size already
                    and _centred(line.box, column, spacing.body)
                    and is_headline_text(join_lines(line.words))
                    and (set_off or (bool(runs) and runs[-1].centred))
                    and not after_large  # an imprint line under a masthead
                )
                if not runs or runs[-1].centred != centred or (centred and set_off):
                    ident = block.ident if not runs else f"{block.ident}~{len(runs)}"
                    runs.append(_Block(ident, size=block.size, centred=centred, box=block.box))
                runs[-1].lines.append(line)
                previous, after_large = line, large and not centred
            split.extend(runs or [block])
        self._set_blocks(split)

    def _column_below(self, number: int, columns: list[Box | None], body: float) -> Box | None:
        # The column a short block stands over: the nearest block of several lines
        # starting just below it and overlapping it.
        box = _extent(self._blocks[number])
        if box is None:
            return None
        best: Box | None = None
        for other, column in zip(self._blocks, columns, strict=True):
            if column is None or len(other.lines) < COLUMN_MIN_LINES:
                continue
            below = column[1] - box[3]
            overlaps = min(box[2], column[2]) > max(box[0], column[0])
            if (
                overlaps
                and -0.5 * body <= below <= COLUMN_BELOW_LINES * body
                and (best is None or column[1] < best[1])
            ):
                best = column
        return best

    def _walk(self, element: etree._Element, sizes: dict[str, float | None], page: int) -> None:
        # Depth-first in document order, numbering words as they come.
        start = len(self._word_lines)
        name = local_name(element)
        if name == "Page":
            self._pages += 1
            page = self._fixed_page or int(_number(element.get("PHYSICAL_IMG_NR")) or self._pages)
        elif name in _BLOCK_TAGS:
            box = _box(element) if _number(element.get("WIDTH")) else None
            self._blocks.append(
                _Block(element.get("ID", ""), size=_style_size(element, sizes), box=box)
            )
        elif name == "TextLine" and self._blocks:
            style = _style_size(element, sizes) or self._blocks[-1].size
            self._blocks[-1].lines.append(_Line(_box(element), page, first_word=start, style=style))
        elif name == "String" and self._blocks and self._blocks[-1].lines:
            line = self._blocks[-1].lines[-1]
            line.words.append(_word(element))
            size = _style_size(element, sizes) or line.style
            if size:
                line.sizes[size] = line.sizes.get(size, 0) + len(line.words[-1])
            self._word_lines.append((len(self._blocks) - 1, len(self._blocks[-1].lines) - 1))
        for child in element:
            if isinstance(child.tag, str):
                self._walk(child, sizes, page)
        ident = element.get("ID")
        if ident:
            self._ids.add(ident)
            if len(self._word_lines) > start:
                self._spans[ident] = (start, len(self._word_lines))

    def _mark_headings(self) -> None:
        blocks = [self._layout_block(index) for index in range(len(self._blocks))]
        lines = [line for block in blocks for line in block.lines]
        if not lines:
            return
        mark_headings(blocks, body_line_height(lines))
        # Declared font sizes say more than box heights do, but only where the body text
        # declares its size too: a size on the headlines alone compares with nothing.
        sized = [
            source.size
            for block, source in zip(blocks, self._blocks, strict=True)
            if source.size
            for _ in range(len(block.text()))
        ]
        characters = sum(len(block.text()) for block in blocks)
        body = statistics.median(sized) if sized and len(sized) * 2 > characters else None
        for block, source in zip(blocks, self._blocks, strict=True):
            if body is not None and source.size:
                # A long block declared large is body type the engine sized wrongly, unless
                # its lines are tall too.
                declared = source.size >= HEADING_SIZE_RATIO * body
                source.heading = declared and (
                    len(source.lines) <= MAX_DECLARED_HEADING_LINES or block.heading
                )
            else:
                source.heading = block.heading
            source.heading = source.heading or source.centred

    def _layout_block(self, index: int, words: range | None = None) -> LayoutBlock:
        source = self._blocks[index]
        block = LayoutBlock(heading=source.heading, ident=source.ident)
        for line in source.lines:
            if words is None:
                texts = line.words
            else:
                first = max(words.start - line.first_word, 0)
                texts = line.words[first : max(words.stop - line.first_word, 0)]
            text = join_lines(texts)
            if text:
                block.lines.append(LayoutLine(text, line.page, line.box))
        return block

    def blocks(self) -> list[LayoutBlock]:
        """Every text block with text, in document order, headings marked by size.

        Raises:
            BadInput: The document has no text.
        """
        blocks = [self._layout_block(index) for index in range(len(self._blocks))]
        found = [block for block in blocks if block.lines]
        if not found:
            raise BadInput(self.location, "ALTO file has no text")
        return found

    def has(self, ident: str) -> bool:
        """True if the ID names an element of the document (with words or without)."""
        return ident in self._ids

    def area(self, begin: str, end: str | None = None) -> list[LayoutBlock]:
        """The words from the element ``begin`` to the element ``end`` (inclusive), as blocks.

        Each ALTO block the range touches gives one block holding the range's part of it.
        An ID of an element without words (an illustration) gives nothing.
        """
        if begin not in self._spans:
            return []
        first = self._spans[begin][0]
        last = self._spans.get(end or begin, self._spans[begin])[1]
        if last <= first:
            return []
        touched = sorted({self._word_lines[word][0] for word in range(first, last)})
        blocks = [self._layout_block(index, range(first, last)) for index in touched]
        return [block for block in blocks if block.lines]


def alto_blocks(root: etree._Element, location: str) -> list[LayoutBlock]:
    """The paragraphs and headings of an ALTO document in document order.

    Each ALTO block is split further into paragraphs at indented first lines and wide
    line gaps (OCR engines often write a column's paragraphs as one block).

    Raises:
        BadInput: The document has no text.
    """
    return split_paragraphs(AltoDocument(root, location).blocks())


def split_paragraphs(blocks: list[LayoutBlock]) -> list[LayoutBlock]:
    """Split each block at first-line indents and wide gaps, keeping its heading flag."""
    lines = [line for block in blocks for line in block.lines if not block.heading]
    if not lines:
        return blocks
    spacing = page_spacing(lines)
    split: list[LayoutBlock] = []
    for block in blocks:
        if block.heading or len(block.lines) < 2 or not left_aligned(block.lines, spacing.body):
            split.append(block)
            continue
        for index, part in enumerate(blocks_from_columns([block.lines], spacing, sizes=False)):
            part.heading = False
            part.ident = block.ident if index == 0 else f"{block.ident}#{index}"
            split.append(part)
    return split


def _extent(block: _Block) -> Box | None:
    if not block.lines:
        return None
    boxes = [line.box for line in block.lines]
    return (
        min(box[0] for box in boxes),
        min(box[1] for box in boxes),
        max(box[2] for box in boxes),
        max(box[3] for box in boxes),
    )


def _wraps(upper: Box, lower: Box) -> bool:
    # Two lines of one size closer than a headline's wrap gap: one headline on two lines.
    high, low = upper[3] - upper[1], lower[3] - lower[1]
    size = max(high, low)
    return abs(high - low) <= HEADING_SAME_SIZE * size and (
        lower[1] - upper[3] < HEADING_WRAP_GAP * size
    )


def _centred(line: Box, column: Box, body: float) -> bool:
    left, right = line[0] - column[0], column[2] - line[2]
    return min(left, right) >= CENTRED_MARGIN_LINES * body and abs(left - right) <= (
        CENTRED_SIDES_DIFFER * max(left, right) + body
    )


def _word(element: etree._Element) -> str:
    kind = element.get("SUBS_TYPE")
    if kind == "HypPart2":
        return ""  # the whole word came with its first part
    if kind == "HypPart1" and element.get("SUBS_CONTENT"):
        return element.get("SUBS_CONTENT", "")
    return element.get("CONTENT", "")


def _style_size(block: etree._Element, font_sizes: dict[str, float | None]) -> float | None:
    for ref in (block.get("STYLEREFS") or "").split():
        if font_sizes.get(ref):
            return font_sizes[ref]
    return None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _box(element: etree._Element) -> Box:
    x = _number(element.get("HPOS")) or 0.0
    y = _number(element.get("VPOS")) or 0.0
    return (
        x,
        y,
        x + (_number(element.get("WIDTH")) or 0.0),
        y + (_number(element.get("HEIGHT")) or 0.0),
    )
