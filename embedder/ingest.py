"""Public entry of ingestion: files in, clean :class:`~embedder.records.Article` objects out.

Usage (all or nothing)::

    options = IngestOptions(source="郑州晚报")
    scan(paths, options=options)             # raises InputError on the first bad input
    for article, passages in prepare_articles(paths, embedder, options=options): ...

:func:`prepare_articles` is what every caller uses: files or records in, each article with
its passages cut for the embedder's token budget. :func:`iter_articles` (articles only) is
a generator that streams every file (memory is bounded by one
article, never by the file). It validates each item before yielding it, but a bad line can
only be seen when it is reached: with ``skip_bad=False`` a caller that must not write half
of an input runs :func:`scan` first (a full validating pass that keeps nothing), or stages
what it writes and commits at the end. With ``skip_bad=True`` bad lines, records and files
are skipped and counted in :class:`IngestStats`.

Article ids are the id given in the input (``id``/``_id``) or the content hash of title
and clean text, so re-ingesting the same input yields the same ids; a changed record with
a given id keeps its id and differs in :meth:`Article.content_hash`, which is how the index
knows to replace its passages.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.cleaning import (
    HEADING_MAX_CHARS,
    clean_heading,
    clean_text,
    normalize_width,
    rejoin_paragraphs,
    strip_controls,
)
from semsearch.embedder.dates import (
    date_from_filename,
    extract_event_dates,
    normalize_date,
    year_in_text,
)
from semsearch.embedder.errors import InputError
from semsearch.embedder.fields import (
    REPORTER_SEPARATOR,
    article_id,
    author_field,
    check_extra,
    check_size,
    check_unicode,
    string_field,
)
from semsearch.embedder.layout import LayoutBlock, page_lines_from_blocks
from semsearch.embedder.layout_files import LayoutGroups, mets_members, read_layout
from semsearch.embedder.mets import MetsPart, MetsUnit, Role
from semsearch.embedder.newspaper import (
    Byline,
    PageArticle,
    PageLine,
    compile_banners,
    link_continued,
    page_lines,
    parse_headings,
    split_byline,
    split_page,
    standalone_byline,
)
from semsearch.embedder.passages import cut_passages, split_sentences
from semsearch.embedder.reading import (
    LAYOUT_FORMATS,
    BadInput,
    Format,
    OnBad,
    RawRecord,
    check_encoding,
    detect_encoding,
    detect_format,
    html_encoding,
    iter_csv,
    iter_jsonl,
    iter_lines,
    read_html,
    read_sample,
)
from semsearch.embedder.records import Article, Paragraph, Passage, Region, content_hash
from semsearch.embedder.settings import (
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_MAX_TITLE_CHARS,
    MAX_TITLE_CHARS_CEILING,
)

__all__ = [
    "IngestInput",
    "IngestOptions",
    "IngestStats",
    "build_article",
    "cut_passages",
    "expand_paths",
    "iter_articles",
    "prepare_articles",
    "scan",
    "split_sentences",
]

# A file or directory to read, or one record (fields as in a JSONL line).
IngestInput = str | Path | Mapping[str, Any]
OnDuplicate = Literal["error", "first", "last"]
ON_DUPLICATE: tuple[OnDuplicate, ...] = ("error", "first", "last")

PARAGRAPH_SEPARATOR = "\n\n"
# Record fields with a place in Article; every other field goes to ``metadata``.
_ID_FIELDS = ("id", "_id")
_KNOWN_FIELDS = frozenset(
    {*_ID_FIELDS, "title", "text", "date", "source", "section", "url", "author"}
)
# An untitled piece of a page is named by its first sentence, cut to this many characters:
# a page of short lines without punctuation would otherwise be all "first sentence".
UNTITLED_TITLE_CHARS = 100
# Skip messages kept verbatim in the stats; beyond this only the counts grow.
MAX_SKIP_EXAMPLES = 20
# Layout formats whose file the page route can draw again (Article.page_file).
PAGE_FILE_FORMATS = frozenset({Format.PDF, Format.IMAGE})
# An article whose jump line (``（下转第5版）``, ``(Continued on Page 5)``) names a later
# page waits for its continuation at most this many page files; the articles read after
# it wait with it, so that articles come in reading order, and are given up on together.
MAX_JUMP_FILES = 16

_Finish = Callable[[], Iterator[tuple[Article, str]]]


@dataclass
class _Jumps:
    """Articles of the page files of one run, in reading order, held back while the first
    of them waits for its continuation in a later file; each with how to finish it (its
    own file's date, options and page file)."""

    waiting: list[PageArticle] = field(default_factory=list)
    files: int = 0  # page files read so far
    _queue: list[tuple[PageArticle | None, int, _Finish]] = field(default_factory=list)

    def add(self, piece: PageArticle | None, finish: _Finish) -> None:
        """Queue an article that may wait (``piece``), or articles that do not (None)."""
        self._queue.append((piece, self.files, finish))

    def release(self, *, done: bool = False) -> Iterator[tuple[Article, str]]:
        """The queued articles up to the first still waiting (all of them when ``done``);
        one waiting longer than :data:`MAX_JUMP_FILES` files is read as it is."""
        while self._queue:
            piece, since, finish = self._queue[0]
            waits = piece is not None and any(piece is other for other in self.waiting)
            if waits and not done and self.files - since < MAX_JUMP_FILES:
                return
            if waits:
                self.waiting = [other for other in self.waiting if other is not piece]
            self._queue.pop(0)
            yield from finish()


# A PDF with more pages is refused: an edition has dozens of pages, a book is not a paper.
DEFAULT_MAX_PAGES = 48


@dataclass(frozen=True, kw_only=True)
class IngestOptions:
    """How to read the inputs; the command-line flags of ``semsearch ingest``.

    ``source``, ``section`` and ``date`` fill in what a record does not say (a page never
    says them; its date otherwise comes from a ``YYYY-MM-DD`` in the file name).
    ``encoding`` overrides detection for every file. ``banners`` adds literal page banner
    lines to the built-in patterns. ``on_duplicate`` says what a second article with an
    id already read (and other content) does: ``error`` (the default) stops, ``first``
    keeps the first and counts the later one as a duplicate, ``last`` lets the later one
    replace it when written. An identical repeat is always left out and counted.
    ``ocr`` reads page images and PDF pages without a text layer with Tesseract;
    ``max_pages`` refuses PDFs with more pages.
    ``max_record_bytes`` and ``max_title_chars`` are the size limits of one record (and
    of one line of a file), as in :class:`~embedder.settings.Settings`.
    """

    encoding: str | None = None
    source: str | None = None
    date: str | None = None
    section: str | None = None
    skip_bad: bool = False
    banners: tuple[str, ...] = ()
    on_duplicate: OnDuplicate = "error"
    ocr: bool = False
    max_pages: int = DEFAULT_MAX_PAGES
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_title_chars: int = DEFAULT_MAX_TITLE_CHARS

    def __post_init__(self) -> None:
        if self.max_pages < 1:
            raise InputError("max_pages must be at least 1", options=("max_pages",))
        if self.max_record_bytes < 1 or self.max_title_chars < 1:
            raise InputError("max_record_bytes and max_title_chars must be at least 1")
        if self.max_title_chars > MAX_TITLE_CHARS_CEILING:
            raise InputError(
                f"max_title_chars must be at most {MAX_TITLE_CHARS_CEILING}",
                options=("max_title_chars",),
            )
        if self.on_duplicate not in ON_DUPLICATE:
            raise InputError(
                f"on_duplicate {self.on_duplicate!r} is not one of {', '.join(ON_DUPLICATE)}"
            )
        if self.encoding is not None:
            object.__setattr__(self, "encoding", check_encoding(self.encoding))
        if self.date is not None:
            iso = normalize_date(self.date)
            if iso is None:
                raise InputError(f"date {self.date!r} is not a date (use YYYY-MM-DD)")
            object.__setattr__(self, "date", iso)


@dataclass
class IngestStats:
    """Counts for the ingest summary; ``bytes_read`` advances while reading (progress bars)."""

    files: int = 0
    articles: int = 0
    paragraphs: int = 0
    duplicates: int = 0
    skipped: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    skip_examples: list[str] = field(default_factory=list)
    bytes_read: int = 0

    def record_skip(self, error: BadInput) -> None:
        """Count a skipped line, record or file."""
        self.skipped += 1
        self.skip_reasons[error.reason.split(" (")[0]] += 1
        if len(self.skip_examples) < MAX_SKIP_EXAMPLES:
            self.skip_examples.append(str(error))

    def add_bytes(self, count: int) -> None:
        """Advance the byte counter."""
        self.bytes_read += count


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories into the files below them (sorted, hidden files left out).

    In a directory holding METS files, the ALTO files they name are left out: they are
    read through their METS, as the articles it defines.

    Args:
        paths: Files and directories as given.

    Returns:
        The files, in the given order.
    """
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if _visible_file(p, path))
            members = mets_members(found)
            files.extend(p for p in found if p.resolve() not in members)
        else:
            files.append(path)
    return files


def _visible_file(path: Path, root: Path) -> bool:
    return path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)


def iter_articles(
    inputs: Iterable[IngestInput],
    *,
    options: IngestOptions | None = None,
    stats: IngestStats | None = None,
    label: str = "records",
) -> Iterator[Article]:
    """Read files and records and yield clean articles, streaming.

    Args:
        inputs: Files (``.txt`` page, ``.jsonl``/``.json``, ``.csv``, ``.tsv``, ``.html``,
            any of them ``.gz``), directories, or records (mappings with the fields of a
            JSONL line), in any mix.
        options: Encoding, metadata defaults, ``skip_bad``, ``on_duplicate``.
        stats: Filled in while iterating (articles, paragraphs, skipped with reasons).
        label: Names records in messages: the third record is ``{label}[2]``.

    Yields:
        Articles in input order; an article identical to one already yielded is left out.

    Raises:
        InputError: First bad input when ``options.skip_bad`` is False; an id read twice
            with other content when ``options.on_duplicate`` is ``error``.
    """
    options = options or IngestOptions()
    stats = stats if stats is not None else IngestStats()
    first_read: dict[str, str] = {}  # id -> where it was first read
    seen: set[tuple[str, str]] = set()  # (id, content hash) already yielded

    def on_bad(error: BadInput) -> None:
        if not options.skip_bad:
            raise error
        stats.record_skip(error)

    for article, location in _read_inputs(inputs, options, stats, on_bad, label):
        key = (article.id, article.content_hash())
        earlier = first_read.get(article.id)
        if key in seen or (earlier is not None and options.on_duplicate == "first"):
            stats.duplicates += 1
            continue
        if earlier is not None and options.on_duplicate == "error":
            raise BadInput(
                location,
                f"article id {article.id!r} was already read, with other content, at {earlier}",
            )
        first_read.setdefault(article.id, location)
        seen.add(key)
        stats.articles += 1
        stats.paragraphs += len(article.paragraphs)
        yield article


def prepare_articles(
    inputs: Iterable[IngestInput],
    embedder: TextEmbedder,
    *,
    options: IngestOptions | None = None,
    stats: IngestStats | None = None,
    overlap_sentences: int = 0,
    label: str = "records",
) -> Iterator[tuple[Article, list[Passage]]]:
    """Read, clean and cut: each article with its passages, ready for ``Collection.upsert``.

    Args:
        inputs: Files, directories or records, as for :func:`iter_articles`.
        embedder: Its tokenizer and token budget decide where passages are cut.
        options: As for :func:`iter_articles`.
        stats: As for :func:`iter_articles`.
        overlap_sentences: Sentences repeated at the start of the next piece of a long
            paragraph.
        label: As for :func:`iter_articles`.

    Yields:
        ``(article, passages)`` in input order.

    Raises:
        InputError: As for :func:`iter_articles`; a negative ``overlap_sentences``.
    """
    if overlap_sentences < 0:
        raise InputError("overlap_sentences must be at least 0")
    for article in iter_articles(inputs, options=options, stats=stats, label=label):
        passages = cut_passages(
            article,
            count_tokens=embedder.count_tokens,
            max_tokens=embedder.max_tokens,
            overlap_sentences=overlap_sentences,
        )
        yield article, passages


def _read_inputs(
    inputs: Iterable[IngestInput],
    options: IngestOptions,
    stats: IngestStats,
    on_bad: OnBad,
    label: str,
) -> Iterator[tuple[Article, str]]:
    """Every article of the inputs with where it was read (file:line or label[i]).

    An article of a page file continued in a later file of the same run comes when its
    continuation has been read (or at the end).
    """
    jumps = _Jumps()
    for number, given in enumerate(inputs):
        if isinstance(given, Mapping):
            location = f"{label}[{number}]"
            try:
                yield article_from_record(RawRecord(dict(given), location), options), location
            except BadInput as error:
                on_bad(error)
            continue
        for path in expand_paths([given]):
            try:
                plan = _plan_file(path, options)
            except BadInput as error:
                on_bad(error)
                continue
            stats.files += 1
            yield from _read_file(path, plan, options, on_bad, stats, jumps)
    yield from jumps.release(done=True)


def scan(paths: Iterable[str | Path], *, options: IngestOptions | None = None) -> IngestStats:
    """Validate all inputs without keeping anything: the first pass of all-or-nothing.

    Args:
        paths: As for :func:`iter_articles`.
        options: As for :func:`iter_articles`.

    Returns:
        The counts a real run will produce (useful as a progress-bar total).

    Raises:
        InputError: The first bad input, when ``skip_bad`` is False.
    """
    stats = IngestStats()
    for _ in iter_articles(paths, options=options, stats=stats):
        pass
    return stats


@dataclass(frozen=True)
class _FilePlan:
    format: Format
    encoding: str


def _plan_file(path: Path, options: IngestOptions) -> _FilePlan:
    if path.is_dir():
        raise BadInput(str(path), "is a directory")
    sample = read_sample(path)
    file_format = detect_format(path, sample)
    if file_format in LAYOUT_FORMATS:
        if not sample:
            raise BadInput(str(path), "file is empty")
        return _FilePlan(file_format, "utf-8")  # read by their own parsers
    override = options.encoding
    if file_format is Format.HTML and override is None:
        override = html_encoding(sample)
    return _FilePlan(file_format, detect_encoding(path, sample, override))


def _read_file(
    path: Path,
    plan: _FilePlan,
    options: IngestOptions,
    on_bad: OnBad,
    stats: IngestStats,
    jumps: _Jumps,
) -> Iterator[tuple[Article, str]]:
    if plan.format is Format.TEXT:
        lines = iter_lines(
            path,
            plan.encoding,
            on_bad,
            progress=stats.add_bytes,
            max_line_bytes=options.max_record_bytes,
        )
        texts = page_lines(text for _, text in lines)
        for number, article in enumerate(_page_articles(path, texts, options, on_bad)):
            yield article, f"{path} (article {number + 1} of the page)"
        return
    if plan.format in LAYOUT_FORMATS:
        try:
            layout = read_layout(path, plan.format, ocr=options.ocr, max_pages=options.max_pages)
        except BadInput as error:
            on_bad(error)
            return
        stats.add_bytes(path.stat().st_size)
        yield from _layout_articles(path, plan.format, layout, options, on_bad, jumps)
        return
    records: Iterable[RawRecord]
    if plan.format is Format.HTML:
        try:
            records = [read_html(path, plan.encoding)]
        except BadInput as error:
            on_bad(error)
            return
    else:
        lines = iter_lines(
            path,
            plan.encoding,
            on_bad,
            progress=stats.add_bytes,
            max_line_bytes=options.max_record_bytes,
        )
        if plan.format is Format.JSONL:
            records = iter_jsonl(lines, path, on_bad)
        else:
            delimiter = "\t" if plan.format is Format.TSV else ","
            records = _guard(iter_csv(lines, path, on_bad, delimiter=delimiter), on_bad)
    for record in records:
        try:
            yield article_from_record(record, options), record.location
        except BadInput as error:
            on_bad(error)


def _guard(records: Iterator[RawRecord], on_bad: OnBad) -> Iterator[RawRecord]:
    # A file-level problem (no 'text' column) ends the file but, with skip_bad, not the run.
    try:
        yield from records
    except BadInput as error:
        on_bad(error)


def _without_controls(value: Any) -> Any:
    """Extra (metadata) values with control characters dropped from every string in them."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, list):
        return [_without_controls(item) for item in value]
    if isinstance(value, dict):
        return {_without_controls(key): _without_controls(item) for key, item in value.items()}
    return value


def _field(text: str | None) -> str | None:
    """A metadata string field (source, url, ...) without control characters."""
    return (strip_controls(text).strip() or None) if text else None


def article_from_record(record: RawRecord, options: IngestOptions) -> Article:
    """Build an article from a JSONL/CSV/HTML record or a record given in Python.

    Every path into the index reads records here, so they are checked the same way
    (:mod:`embedder.fields`): strings where strings belong, valid Unicode, an addressable
    id, the size limits of ``options``.

    Args:
        record: Raw fields and their location.
        options: Metadata defaults and size limits.

    Returns:
        The clean article.

    Raises:
        BadInput: No text, a field of the wrong type, a lone surrogate, an id that cannot
            be addressed, a record over the limits, or a date that cannot be read.
    """
    fields, location = record.fields, record.location
    for name, value in fields.items():
        check_extra(value, location, str(name))  # first: the checks below recurse
        check_unicode(name, location, "field name")
        check_unicode(value, location, str(name))
    text = string_field(fields, "text", location)
    if text is None:
        raise BadInput(location, "record has no text")
    title = string_field(fields, "title", location) or ""
    check_size(
        title,
        text,
        location,
        max_bytes=options.max_record_bytes,
        max_title=options.max_title_chars,
    )
    given_id = article_id(fields, _ID_FIELDS, location)
    date = string_field(fields, "date", location)
    iso_date = normalize_date(date) if date else options.date
    if date and iso_date is None:
        raise BadInput(location, f"date {date!r} is not a date (use YYYY-MM-DD)")
    source = string_field(fields, "source", location)
    section = string_field(fields, "section", location)
    url = string_field(fields, "url", location)
    author = author_field(fields, location)
    # Text and title lose control characters in the cleaning; the other fields here. The
    # id is kept as given: it is a key the caller addresses the article by.
    metadata = {
        name: _without_controls(value)
        for name, value in fields.items()
        if name not in _KNOWN_FIELDS
    }
    article = build_article(
        title=title,
        lines=text.splitlines(),
        article_id=given_id,
        date=iso_date,
        location=location,
    )
    article.source = _field(source) or options.source
    article.section = _field(section) or options.section
    article.url = _field(url)
    article.author = _field(author) or article.author
    article.metadata = {**metadata, **article.metadata}
    return article


def build_article(
    *,
    title: str,
    lines: Iterable[str],
    article_id: str | None = None,
    date: str | None = None,
    location: str = "",
    byline: Byline | None = None,
    year_hint: int | None = None,
    regions: Sequence[Region | None] = (),
) -> Article:
    """Clean the body lines of one article and assemble the :class:`Article`.

    A byline lead at the start of the body (``本报讯(…记者 张昕)``) is taken out of the
    text into ``reporters``/``author`` and ``metadata['byline']``.

    Args:
        title: The headline (cleaned here).
        lines: Raw body lines, in order; each non-empty line is a paragraph or a piece of
            one cut by a column/page break.
        article_id: The given id; default the content hash.
        date: Publication date ``YYYY-MM-DD``.
        location: Where the article came from, for messages.
        byline: A byline already found on its own line.
        year_hint: Year for ``4月19日`` mentions when ``date`` is unknown.
        regions: Where each of ``lines`` was printed (inputs with a layout); each
            paragraph gets the regions of the lines it is made of.

    Returns:
        The article, paragraphs with offsets into ``text``.

    Raises:
        BadInput: Nothing is left of the body after cleaning.
    """
    raw_lines = list(lines)
    kept = [index for index, line in enumerate(raw_lines) if line.strip()]
    body = [normalize_width(raw_lines[index]) for index in kept]
    if body and byline is None:
        byline, body[0] = split_byline(body[0])
    cleaned = rejoin_paragraphs(clean_text(line) for line in body)
    paragraphs: list[Paragraph] = []
    offset = 0
    for clean in cleaned:
        start = offset + (len(PARAGRAPH_SEPARATOR) if paragraphs else 0)
        paragraphs.append(
            Paragraph(
                index=len(paragraphs),
                text=clean.text,
                start=start,
                end=start + len(clean.text),
                fragment=clean.fragment,
                regions=_regions(regions, [kept[part] for part in clean.parts]),
            )
        )
        offset = start + len(clean.text)
    if not paragraphs:
        raise BadInput(location, "no article text after cleaning")
    clean_title = clean_heading(title)
    text = PARAGRAPH_SEPARATOR.join(p.text for p in paragraphs)
    reporters = byline.reporters if byline else []
    mentions = [p.text for p in paragraphs]
    return Article(
        id=article_id or content_hash(clean_title, text),
        title=clean_title,
        text=text,
        paragraphs=paragraphs,
        original="\n".join(raw_lines),
        date=date,
        author=REPORTER_SEPARATOR.join(reporters) or None,
        reporters=list(reporters),
        event_dates=extract_event_dates(
            mentions, published=date, year_hint=year_hint or year_in_text([clean_title, *mentions])
        ),
        metadata={"byline": byline.text} if byline else {},
    )


def untitled_title(text: str, limit: int) -> str:
    """The title of an untitled article: its first sentence within its first paragraph,
    at most ``limit`` characters (cut at the last space inside the limit, if any)."""
    paragraph = text[: text.find(PARAGRAPH_SEPARATOR)] if PARAGRAPH_SEPARATOR in text else text
    sentences = split_sentences(paragraph[: limit * 4])
    title = paragraph[sentences[0][0] : sentences[0][1]] if sentences else paragraph.strip()
    if len(title) <= limit:
        return title
    cut = title.rfind(" ", 0, limit + 1)
    return title[: cut if cut > limit // 2 else limit].rstrip()


def _layout_articles(
    path: Path,
    file_format: Format,
    layout: LayoutGroups,
    options: IngestOptions,
    on_bad: OnBad,
    jumps: _Jumps,
) -> Iterator[tuple[Article, str]]:
    """Articles of a layout file: its pages segmented into articles, or a METS issue's.

    Articles continued on a later page are joined by their jump lines, within the file
    and across the page files of the run (``jumps`` holds those still waiting).
    """
    issue = layout.issue
    if issue is not None:
        # What the METS says of the issue comes first; the options fill in the rest.
        options = replace(
            options,
            source=issue.source or options.source,
            date=issue.date or options.date,
        )
    counter = iter(range(1, 1 << 62))

    def finish(pieces: list[PageArticle]) -> Iterator[tuple[Article, str]]:
        for article in _page_articles(path, [], options, on_bad, articles=pieces):
            _set_page_file(article, path, file_format, layout)
            yield article, f"{path} (article {next(counter)})"

    pieces = [
        piece for group in layout.groups for piece in split_page(page_lines_from_blocks(group))
    ]
    found = link_continued(pieces, jumps.waiting, carried=list(jumps.waiting))
    jumps.files += 1
    plain: list[PageArticle] = []  # read together: a year one states carries to the next
    for piece in found:
        if any(piece is other for other in jumps.waiting):
            jumps.add(None, partial(finish, plain))
            jumps.add(piece, partial(finish, [piece]))
            plain = []
        else:
            plain.append(piece)
    jumps.add(None, partial(finish, plain))
    yield from jumps.release()
    if issue is None or not issue.units:
        return
    banners = compile_banners(options.banners)
    date = options.date or date_from_filename(path.name)
    year_hint: int | None = None
    for unit in issue.units:
        if not any(char.isalnum() for part in unit.parts for char in part.block.text()):
            continue  # a division with no words (a rule, a picture, OCR noise)
        try:
            article = _mets_article(unit, banners, date, year_hint, str(path), options)
        except BadInput as error:
            on_bad(error)
            continue
        year_hint = year_hint or year_in_text([article.title, article.text])
        _set_page_file(article, path, file_format, layout)
        yield article, f"{path} (article {next(counter)})"


def _set_page_file(article: Article, path: Path, file_format: Format, layout: LayoutGroups) -> None:
    pages = {r.page for paragraph in article.paragraphs for r in paragraph.regions}
    if file_format in PAGE_FILE_FORMATS or (pages and pages <= layout.drawable_pages):
        # Where the page can be drawn from again (the page view marks a hit on it); for a
        # METS issue, the METS, which names the page images.
        article.page_file = str(path.resolve())


def _mets_article(
    unit: MetsUnit,
    banners: list[Any],
    date: str | None,
    year_hint: int | None,
    location: str,
    options: IngestOptions,
) -> Article:
    """One article of a METS issue: headings as the METS marks them, its blocks as paragraphs.

    The title is the MODS title, else the heading blocks, else the division's label, else
    a short first line standing alone, else the first sentence.
    """
    headings = [part for part in unit.parts if part.role is not Role.BODY]
    body = [part.block for part in unit.parts if part.role is Role.BODY]
    if not body:
        # Only large type (a notice, an advertisement): that is its text.
        headings, body = [], [part.block for part in headings]
    if not headings and len(body) > 1 and _names_the_article(body[0], unit):
        headings, body = [MetsPart(body[0], Role.HEADING)], body[1:]
    page_article = PageArticle(
        headings=[PageLine(part.block.text(), 1, part.block.region()) for part in headings],
        body=[PageLine(block.text(), 1, block.region()) for block in body],
    )
    located = f"{location} ({unit.kind} {unit.ident})"
    article = _page_article(page_article, banners, date, year_hint, located, options)
    if any(part.role is not Role.HEADING for part in headings):
        # The METS names kicker, title and subtitle: no guessing from the lines.
        said = {
            role: " ".join(p.block.text() for p in headings if p.role is role) or None
            for role in (Role.KICKER, Role.TITLE, Role.SUBTITLE)
        }
        article.kicker, article.subtitle = said[Role.KICKER], said[Role.SUBTITLE]
        article.title = clean_heading(said[Role.TITLE] or said[Role.SUBTITLE] or "")
        article.metadata.pop("banners", None)
    title = unit.title or (article.title if headings else None) or unit.label or article.title
    article.title = clean_heading(title)
    article.id = content_hash(article.title, article.text)
    article.source, article.section = options.source, unit.section or options.section
    article.metadata["mets_division"] = unit.ident
    return article


def _names_the_article(block: LayoutBlock, unit: MetsUnit) -> bool:
    # A first block in body type that says the title the METS gives, or, without one, a
    # short line standing alone, is the article's headline.
    given = unit.title or unit.label
    if given:
        return _letters(block.text()) == _letters(given)
    return len(block.lines) == 1 and len(block.text()) <= HEADING_MAX_CHARS


def _letters(text: str) -> str:
    return "".join(char for char in text.casefold() if char.isalnum())


def _regions(regions: Sequence[Region | None], lines: Iterable[int]) -> tuple[Region, ...]:
    if not regions:
        return ()
    return tuple(region for line in lines if (region := regions[line]) is not None)


def _line_height(region: Region | None) -> float | None:
    # The tallest line of a heading: its type size, near enough.
    if region is None or not region.boxes:
        return None
    return max(box[3] - box[1] for box in region.boxes)


def _page_articles(
    path: Path,
    lines: Iterable[PageLine],
    options: IngestOptions,
    on_bad: OnBad,
    *,
    articles: Iterable[PageArticle] | None = None,
) -> Iterator[Article]:
    banners = compile_banners(options.banners)
    date = options.date or date_from_filename(path.name)
    year_hint: int | None = None
    for page_article in split_page(lines) if articles is None else articles:
        try:
            article = _page_article(page_article, banners, date, year_hint, str(path), options)
            article.source, article.section = options.source, options.section
        except BadInput as error:
            on_bad(error)
            continue
        # Later articles on the page inherit the year a previous one states (``2023年…``).
        year_hint = year_hint or year_in_text([article.title, article.text])
        yield article


def _page_article(
    page_article: PageArticle,
    banners: list[Any],
    date: str | None,
    year_hint: int | None,
    location: str,
    options: IngestOptions,
) -> Article:
    heading_lines = [line for line in page_article.headings if standalone_byline(line.text) is None]
    sizes = [_line_height(line.region) for line in heading_lines]
    headings = parse_headings(
        [line.text for line in heading_lines],
        banners,
        None if None in sizes else [size for size in sizes if size is not None],
    )
    body = [line.text for line in page_article.body]
    check_size(
        headings.title,
        "\n".join(body),
        location,
        max_bytes=options.max_record_bytes,
        max_title=options.max_title_chars,
    )
    byline = standalone_byline(page_article.byline_line) if page_article.byline_line else None
    article = build_article(
        title=headings.title,
        lines=body,
        regions=[line.region for line in page_article.body],
        date=date,
        location=location,
        byline=byline,
        year_hint=year_hint,
    )
    article = replace(article, original=page_article.original())
    if not article.title:
        # An untitled piece (text before the first headline): name it by its first sentence.
        limit = min(options.max_title_chars, UNTITLED_TITLE_CHARS)
        article.title = untitled_title(article.text, limit)
        article.id = content_hash(article.title, article.text)
    article.kicker = headings.kicker
    article.subtitle = headings.subtitle
    if headings.banners:
        article.metadata["banners"] = headings.banners
    return article
