"""Reading input files: type, encoding, streamed lines, JSONL/CSV records, HTML main text.

Everything here streams: files are read line by line in binary and each line is decoded on
its own, so a 200 MB JSONL file never sits in memory and a decoding error is reported with
its exact line number. Problems the user can fix are :class:`BadInput` errors handed to an
``on_bad`` callback, which either raises them (stop) or records them (skip and count).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, cast

from charset_normalizer import from_bytes

from semsearch.embedder.errors import InputError

# Enough bytes to tell the encoding and the format apart; the rest is streamed.
SAMPLE_BYTES = 1 << 16
# A share of control characters above this in the sample means the file is not text.
BINARY_CONTROL_RATIO = 0.02
# UTF-8 with this small a share of its non-ASCII bytes invalid is UTF-8 with damaged
# lines (reported by line); text in another encoding is almost entirely invalid UTF-8.
UTF8_MAX_INVALID_SHARE = 0.05
# HTML pages are parsed whole; anything bigger is not a single article page.
MAX_HTML_BYTES = 32 << 20
# Python's default CSV field limit (128 KiB) is smaller than a long article.
CSV_FIELD_LIMIT = (1 << 31) - 1

# Encodings we detect on our own; anything else must be named with --encoding.
_DETECTED_ENCODINGS = {
    "utf_8": "utf-8",
    "ascii": "utf-8",
    "gb18030": "gb18030",
    "gbk": "gb18030",  # GB18030 is a superset of GBK and GB2312: decode with the widest
    "gb2312": "gb18030",
    "hz": "gb18030",
    "big5": "big5hkscs",  # Big5-HKSCS extends Big5 with the Hong Kong characters
    "cp950": "cp950",
    "big5hkscs": "big5hkscs",
}
_UTF16_32_BOMS = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")
_META_CHARSET_RE = re.compile(
    rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE
)


# Record field ← trafilatura metadata key.
_HTML_FIELDS = (("date", "date"), ("author", "author"), ("url", "url"), ("source", "sitename"))


class BadInput(InputError):
    """A fixable problem with one file or one line of it; the message is one line."""

    def __init__(self, location: str, reason: str, *, options: tuple[str, ...] = ()) -> None:
        super().__init__(f"{location}: {reason}", options=options)
        self.location = location
        self.reason = reason


OnBad = Callable[[BadInput], None]


class Format(StrEnum):
    """Input file formats."""

    TEXT = "text"
    JSONL = "jsonl"
    CSV = "csv"
    TSV = "tsv"
    HTML = "html"
    PDF = "pdf"
    ALTO = "alto"
    METS = "mets"
    HOCR = "hocr"
    IMAGE = "image"


# Formats read as page layouts (binary or XML), not as lines of text.
LAYOUT_FORMATS = frozenset({Format.PDF, Format.ALTO, Format.METS, Format.HOCR, Format.IMAGE})
# PNG, JPEG, TIFF and BigTIFF (both byte orders): the page images ingest reads.
_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"II*\x00",
    b"MM\x00*",
    b"II+\x00",
    b"MM\x00+",
)


_EXTENSION_FORMATS = {
    ".txt": Format.TEXT,
    ".text": Format.TEXT,
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".json": Format.JSONL,
    ".csv": Format.CSV,
    ".tsv": Format.TSV,
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".xhtml": Format.HTML,
    ".shtml": Format.HTML,
    ".pdf": Format.PDF,
    ".hocr": Format.HOCR,
    ".png": Format.IMAGE,
    ".jpg": Format.IMAGE,
    ".jpeg": Format.IMAGE,
    ".tif": Format.IMAGE,
    ".tiff": Format.IMAGE,
}
# Extensions whose root element tells ALTO from METS.
_XML_EXTENSIONS = (".xml", ".alto", ".mets")


@dataclass
class RawRecord:
    """One input record before cleaning, with where it came from (``file:line``)."""

    fields: dict[str, Any]
    location: str
    line: int = 0


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for binary reading, transparently un-gzipping ``*.gz``."""
    if path.suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def read_sample(path: Path) -> bytes:
    """Return the first :data:`SAMPLE_BYTES` of a file (decompressed)."""
    try:
        with open_binary(path) as handle:
            return handle.read(SAMPLE_BYTES)
    except FileNotFoundError as exc:
        raise BadInput(str(path), "no such file") from exc
    except (OSError, EOFError) as exc:
        raise BadInput(str(path), f"cannot read ({exc})") from exc


def detect_format(path: Path, sample: bytes) -> Format:
    """Tell the format from the extension, else from the first bytes.

    Args:
        path: The file (``.gz`` is looked through).
        sample: Its first bytes.

    Returns:
        The format.

    Raises:
        BadInput: The name says image (``.png``, ``.jpg``, ``.tif``...) but the bytes do not,
            or it says XML but the root is none of ALTO, METS and hOCR.
    """
    name = path.name[: -len(".gz")] if path.suffix == ".gz" else path.name
    suffix = Path(name).suffix.lower()
    head = sample.lstrip(codecs.BOM_UTF8).lstrip()[:200].lower()
    if sample.startswith(b"%PDF-"):
        return Format.PDF
    if sample.startswith(_IMAGE_MAGIC):
        return Format.IMAGE
    if suffix in _XML_EXTENSIONS or head.startswith(b"<?xml"):
        xml_format = _xml_format(sample)
        if xml_format is not None:
            return xml_format
    if suffix in (".html", ".htm", ".xhtml") and _is_hocr(sample):
        return Format.HOCR
    known = _EXTENSION_FORMATS.get(suffix)
    if known is Format.IMAGE:
        # An image's first bytes were checked above: this one only has an image's name.
        raise BadInput(
            str(path),
            f"named {suffix} but not a PNG, JPEG or TIFF image"
            f" ({f'its first bytes are {sample[:8]!r}' if sample else 'it is empty'});"
            " if it holds text, name it .txt",
        )
    if known is not None:
        return known
    if suffix in _XML_EXTENSIONS:
        raise BadInput(str(path), "XML file that is neither ALTO, METS nor hOCR")
    if head.startswith(b"{"):
        return Format.JSONL
    if head.startswith((b"<!doctype html", b"<html")):
        return Format.HTML
    return Format.TEXT


def _xml_format(sample: bytes) -> Format | None:
    # The root element's name, skipping the declaration, comments and a DOCTYPE.
    match = re.search(rb"<(?![?!])([A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)", sample)
    if match is None:
        return None
    root = match.group(2).lower().decode("ascii")
    if root == "alto":
        return Format.ALTO
    if root in ("mets", "didl"):  # a METS issue, or a KB edition's DIDL
        return Format.METS
    if root == "html" and _is_hocr(sample):
        return Format.HOCR
    return None


def _is_hocr(sample: bytes) -> bool:
    return re.search(rb"class=[\"']ocr_page[\"' ]", sample) is not None


def check_encoding(name: str) -> str:
    """Validate an encoding name given by the user.

    Args:
        name: E.g. ``gbk``, ``big5``, ``utf-8``.

    Returns:
        The canonical codec name.

    Raises:
        InputError: The name is not a known text encoding.
    """
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise InputError(f"unknown encoding {name!r} (try utf-8, gb18030 or big5)") from exc


def detect_encoding(path: Path, sample: bytes, override: str | None = None) -> str:
    """Choose the encoding of a file from its first bytes.

    UTF-8 (with or without BOM) is recognised exactly; otherwise charset-normalizer decides,
    and only GB18030/GBK/GB2312 and Big5 are accepted silently. Anything else is refused
    with the best guess named, so a file is never decoded as the wrong thing in silence.

    Args:
        path: The file, for messages.
        sample: Its first bytes.
        override: Encoding named by the user (``--encoding``), used as is.

    Returns:
        A codec name for ``bytes.decode``.

    Raises:
        BadInput: Empty or binary file, or an encoding we will not guess.
    """
    if not sample.strip():
        raise BadInput(str(path), "file is empty")
    if override:
        return check_encoding(override)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith(_UTF16_32_BOMS):
        raise BadInput(str(path), "UTF-16/UTF-32 text is not supported; convert it to UTF-8")
    if b"\x00" in sample:
        raise BadInput(str(path), "binary file (contains NUL bytes), not text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError as exc:
        first_bad_line = sample.count(b"\n", 0, exc.start) + 1
    if _mostly_utf8(sample):
        return "utf-8"
    best = from_bytes(sample).best()
    guess = best.encoding if best is not None else None
    if guess in _DETECTED_ENCODINGS:
        encoding = _DETECTED_ENCODINGS[guess]
        _reject_binary(path, sample.decode(encoding, errors="replace"))
        return encoding
    hint = f", looks like {guess}" if guess else ""
    raise BadInput(
        f"{path}:{first_bad_line}",
        f"bytes not valid UTF-8 and the file is not GB18030 or Big5 either{hint};"
        " give its encoding if it is text",
        options=("encoding",),
    )


def _mostly_utf8(sample: bytes) -> bool:
    non_ascii = sum(1 for byte in sample if byte >= 0x80)
    invalid = sample.decode("utf-8", errors="replace").count("\ufffd")
    return non_ascii > 0 and invalid / non_ascii <= UTF8_MAX_INVALID_SHARE


def _reject_binary(path: Path, text: str) -> None:
    controls = sum(1 for char in text if ord(char) < 32 and char not in _ALLOWED_CONTROLS)
    if text and controls / len(text) > BINARY_CONTROL_RATIO:
        raise BadInput(str(path), "binary file (control bytes), not text")


def iter_lines(
    path: Path,
    encoding: str,
    on_bad: OnBad,
    *,
    progress: Callable[[int], None] | None = None,
    max_line_bytes: int | None = None,
) -> Iterator[tuple[int, str]]:
    """Stream the decoded lines of a file with their 1-based numbers, in bounded memory.

    Args:
        path: The file.
        encoding: Codec from :func:`detect_encoding`.
        on_bad: Called with a :class:`BadInput` for an undecodable line (which is skipped
            if the callback returns).
        progress: Called with the byte size of each line read.
        max_line_bytes: A longer line is a :class:`BadInput` for ``on_bad`` (skipped if
            the callback returns) and is never held whole in memory.

    Yields:
        ``(line_number, text)`` with the line ending removed.
    """
    limit = max_line_bytes if max_line_bytes is not None else -1
    with open_binary(path) as handle:
        number = 0
        while raw := handle.readline(limit + 1 if limit >= 0 else -1):
            number += 1
            if progress is not None:
                progress(len(raw))
            if 0 <= limit < len(raw) and not _ends_line(raw, limit):
                _skip_rest_of_line(handle, limit, progress)
                on_bad(
                    BadInput(
                        f"{path}:{number}",
                        f"line longer than {limit} bytes (the record size limit)",
                        options=("max_record_bytes",),
                    )
                )
                continue
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                on_bad(
                    BadInput(
                        f"{path}:{number}",
                        f"bytes not valid {encoding} at column {exc.start + 1}"
                        " (give the encoding, or skip bad lines)",
                        options=("encoding", "skip_bad"),
                    )
                )
                continue
            if number == 1:
                text = text.lstrip("\ufeff")
            text = text.rstrip("\r\n")
            if "\x00" in text:
                on_bad(BadInput(f"{path}:{number}", "binary data (NUL bytes) in a text line"))
                continue
            yield number, text


def _ends_line(raw: bytes, limit: int) -> bool:
    # A line of exactly ``limit`` bytes plus its newline is still within the limit.
    return len(raw) == limit + 1 and raw.endswith(b"\n")


def _skip_rest_of_line(
    handle: IO[bytes], chunk: int, progress: Callable[[int], None] | None
) -> None:
    while piece := handle.readline(max(chunk, 1)):
        if progress is not None:
            progress(len(piece))
        if piece.endswith(b"\n"):
            return


def json_objects(
    lines: Iterable[tuple[int, str]], path: Path
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Parse numbered JSON Lines that must each be an object; blank lines are skipped.

    For small side files (queries, qrels) where the first bad line ends the job.

    Args:
        lines: ``(line number, text)`` pairs.
        path: The file, for messages.

    Yields:
        ``(line number, object)``.

    Raises:
        InputError: A line is not JSON or not an object (message names ``path:line``).
    """
    for number, line in lines:
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        if not isinstance(value, dict):
            raise InputError(f"{path}:{number}: expected a JSON object")
        yield number, value


def iter_jsonl(lines: Iterable[tuple[int, str]], path: Path, on_bad: OnBad) -> Iterator[RawRecord]:
    """Parse JSON Lines into records; blank lines are ignored.

    Args:
        lines: Numbered lines from :func:`iter_lines`.
        path: The file, for messages.
        on_bad: Receives a line that is not a JSON object.

    Yields:
        One record per JSON object.
    """
    for number, text in lines:
        if not text.strip():
            continue
        location = f"{path}:{number}"
        if number == 1 and text.lstrip().startswith("["):
            raise BadInput(location, "a JSON array; write one JSON object per line (JSON Lines)")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            on_bad(BadInput(location, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except RecursionError:
            # Nested deeper than the parser goes; far past any field the record checks allow.
            on_bad(BadInput(location, "JSON nested too deeply"))
            continue
        if not isinstance(value, dict):
            on_bad(BadInput(location, f"expected a JSON object, got {type(value).__name__}"))
            continue
        yield RawRecord(value, location, number)


def iter_csv(
    lines: Iterable[tuple[int, str]], path: Path, on_bad: OnBad, *, delimiter: str = ","
) -> Iterator[RawRecord]:
    """Parse CSV/TSV with a header row into records (quoted multi-line fields allowed).

    Args:
        lines: Numbered lines from :func:`iter_lines`.
        path: The file, for messages.
        on_bad: Receives a row whose column count does not match the header.
        delimiter: ``,`` for CSV, tab for TSV.

    Yields:
        One record per row, with empty cells left out.
    """
    csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader((text + "\n" for _, text in lines), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration as exc:
        raise BadInput(str(path), "file is empty") from exc
    except csv.Error as exc:
        raise BadInput(f"{path}:1", f"cannot read the CSV header ({exc})") from exc
    if "text" not in header:
        shown = ", ".join(header[:8])
        raise BadInput(f"{path}:1", f"no 'text' column in the header ({shown})")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            on_bad(BadInput(f"{path}:{reader.line_num}", f"malformed CSV row ({exc})"))
            continue
        if not any(cell.strip() for cell in row):
            continue
        location = f"{path}:{reader.line_num}"
        if len(row) != len(header):
            on_bad(BadInput(location, f"{len(row)} columns where the header has {len(header)}"))
            continue
        fields = {name: cell for name, cell in zip(header, row, strict=True) if cell.strip()}
        yield RawRecord(fields, location, reader.line_num)


def html_encoding(sample: bytes) -> str | None:
    """Return the charset declared in an HTML ``<meta>`` tag, if it names a known codec."""
    match = _META_CHARSET_RE.search(sample)
    if not match:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None
    return "gb18030" if name in {"gbk", "gb2312"} else name


def read_html(path: Path, encoding: str) -> RawRecord:
    """Extract the main article of an HTML page with trafilatura.

    Args:
        path: The page.
        encoding: Its encoding.

    Returns:
        A record with ``title``, ``text`` (paragraphs on separate lines) and whatever of
        ``date``, ``author``, ``url``, ``source`` the page declares.

    Raises:
        BadInput: Page too large, undecodable, or without article text.
    """
    import trafilatura  # imported here: slow to import and only needed for HTML

    location = str(path)
    with open_binary(path) as handle:
        data = handle.read(MAX_HTML_BYTES + 1)
    if len(data) > MAX_HTML_BYTES:
        raise BadInput(location, f"HTML page larger than {MAX_HTML_BYTES >> 20} MB")
    try:
        markup = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BadInput(location, f"bytes not valid {encoding} at offset {exc.start}") from exc
    document = trafilatura.bare_extraction(markup, with_metadata=True, include_comments=False)
    info: dict[str, Any] = {}
    if isinstance(document, dict):
        info = document
    elif document is not None:
        info = document.as_dict()
    text = info.get("text")
    if not isinstance(text, str) or not text.strip():
        raise BadInput(location, "no article text found in the HTML page")
    title = str(info.get("title") or "").strip()
    lines = text.splitlines()
    if lines and title and lines[0].strip() == title:
        lines = lines[1:]  # trafilatura repeats the <h1> headline as the first line
    fields: dict[str, Any] = {"title": title, "text": "\n".join(lines)}
    for name, key in _HTML_FIELDS:
        if info.get(key):
            fields[name] = info[key]
    return RawRecord(fields, location)
