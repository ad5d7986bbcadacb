"""Checks on the fields of one input record, the same for every ingest path.

Files (JSONL, CSV, HTML), records given in Python and ``POST /articles`` all become
articles through :func:`embedder.ingest.article_from_record`, which reads each field
through these functions: a field of the wrong type, text that is not valid Unicode, an id
that could not be addressed, or a record over the size limits is a :class:`BadInput`
naming the record and the field, never a silent coercion.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from semsearch.embedder.reading import BadInput
from semsearch.embedder.records import Article
from semsearch.embedder.settings import MAX_TITLE_CHARS_CEILING

# Ids appear in URLs (``/articles/{id}``) and file names of reports; longer ones are not ids.
MAX_ID_CHARS = 256
# Joins the names of a list-valued ``author`` field.
REPORTER_SEPARATOR = "、"

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# A ``/`` or ``\\`` splits the id across URL path segments; control characters cannot be typed.
_ID_FORBIDDEN = re.compile(r"[/\\\x00-\x1f\x7f]")
# Browsers and HTTP clients resolve these path segments away, whatever the encoding.
_DOT_SEGMENTS = frozenset({".", ".."})


# Extra (metadata) fields may hold any JSON, but not without bounds: every reader of a stored
# article (filters, the API's response model, exports) walks the value, and Python code
# that recurses fails near 1,000 levels. Real metadata nests a few levels.
MAX_EXTRA_DEPTH = 32
# Strings, numbers, keys and containers in one record's extra fields together.
MAX_EXTRA_VALUES = 10_000


def check_extra(value: Any, location: str, name: str) -> None:
    """Refuse an extra field nested deeper than :data:`MAX_EXTRA_DEPTH` or holding more than
    :data:`MAX_EXTRA_VALUES` values. Walks without recursion, so any depth is safe to check.

    Args:
        value: The field's value (JSON-like: dicts, lists, tuples, scalars).
        location: The record, for the message.
        name: The field's name, for the message.

    Raises:
        BadInput: The value is too deep or too large.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen = 0
    while stack:
        item, depth = stack.pop()
        seen += 1
        if seen > MAX_EXTRA_VALUES:
            raise BadInput(location, f"field {name!r} holds more than {MAX_EXTRA_VALUES:,} values")
        if isinstance(item, Mapping):
            children: list[Any] = [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple):
            children = list(item)
        else:
            continue
        if children and depth >= MAX_EXTRA_DEPTH:
            raise BadInput(
                location, f"field {name!r} is nested more than {MAX_EXTRA_DEPTH} levels deep"
            )
        stack.extend((child, depth + 1) for child in children)


def check_unicode(value: Any, location: str, name: str) -> None:
    """Refuse a lone surrogate anywhere in a value (JSON's ``"\\ud800"``): it is not text.

    Args:
        value: A field value; lists and objects are walked, keys included.
        location: The record, for the message.
        name: The field's name, for the message.

    Raises:
        BadInput: Some string in the value holds a UTF-16 surrogate code point.
    """
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found:
            raise BadInput(
                location,
                f"field {name!r} is not valid Unicode text (lone surrogate"
                f" U+{ord(found.group()):04X} at character {found.start() + 1})",
            )
    elif isinstance(value, Mapping):
        for key, item in value.items():
            check_unicode(key, location, f"{name} key")
            check_unicode(item, location, f"{name}.{key}" if isinstance(key, str) else name)
    elif isinstance(value, list | tuple):
        for item in value:
            check_unicode(item, location, name)


def string_field(fields: Mapping[str, Any], name: str, location: str) -> str | None:
    """A text field: a JSON string (stripped; blank is absent) or absent.

    Args:
        fields: The record.
        name: The field.
        location: The record, for the message.

    Returns:
        The stripped text, or None when absent or blank.

    Raises:
        BadInput: The value is not a string (a number, boolean, list or object).
    """
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(location, f"field {name!r} must be a string, got {_json_type(value)}")
    return value.strip() or None


def author_field(fields: Mapping[str, Any], location: str) -> str | None:
    """The ``author`` field: a string or a list of strings (joined with ``、``).

    Args:
        fields: The record.
        location: The record, for the message.

    Returns:
        The author(s), or None.

    Raises:
        BadInput: Neither a string nor a list of strings.
    """
    value = fields.get("author")
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise BadInput(location, "field 'author' must be a string or a list of strings")
        return REPORTER_SEPARATOR.join(i.strip() for i in value if i.strip()) or None
    return string_field(fields, "author", location)


def article_id(fields: Mapping[str, Any], names: tuple[str, ...], location: str) -> str | None:
    """The id a record gives (the first of ``names`` present), checked to be addressable.

    Args:
        fields: The record.
        names: The id fields, in order of precedence (``id``, ``_id``).
        location: The record, for the message.

    Returns:
        The id, or None when the record gives none (it then gets a content-hash id).

    Raises:
        BadInput: Not a string, blank, too long, ``.``/``..``, or holding ``/``, ``\\`` or
            a control character: such an id could be written but never read back by URL.
    """
    for name in names:
        if fields.get(name) is None:
            continue
        value = fields[name]
        if not isinstance(value, str):
            raise BadInput(location, f"field {name!r} must be a string, got {_json_type(value)}")
        given = value.strip()
        if not given:
            raise BadInput(location, f"field {name!r} is blank; leave it out for a content-hash id")
        check_id(given, location, name)
        return given
    return None


def check_id(value: str, location: str, name: str = "id") -> None:
    """Refuse an id that could be stored but not addressed as ``/articles/{id}``.

    Args:
        value: The id.
        location: The record, for the message.
        name: The field, for the message.

    Raises:
        BadInput: Blank, over :data:`MAX_ID_CHARS`, ``.``/``..``, or holding ``/``, ``\\``,
            a control character or a lone surrogate.
    """
    check_unicode(value, location, name)
    if not value.strip():
        raise BadInput(location, f"field {name!r} is blank")
    if len(value) > MAX_ID_CHARS:
        raise BadInput(location, f"field {name!r} is over {MAX_ID_CHARS} characters")
    if value in _DOT_SEGMENTS or _ID_FORBIDDEN.search(value):
        raise BadInput(
            location,
            f"field {name!r} ({value!r}) cannot be an id: no '/', '\\' or control"
            " characters, and not '.' or '..'",
        )


def check_article(article: Article) -> None:
    """The checks of a record, for an :class:`Article` built in Python (``Collection.upsert``).

    Args:
        article: The article about to be written.

    Raises:
        BadInput: An unaddressable id, text that is not valid Unicode, or a title longer
            than any setting allows (:data:`~embedder.settings.MAX_TITLE_CHARS_CEILING`).
    """
    location = f"article {article.id!r}"
    check_id(article.id, location)
    for key, value in article.metadata.items():
        check_extra(value, location, str(key))
    if len(article.title) > MAX_TITLE_CHARS_CEILING:
        raise BadInput(
            location,
            f"title of {len(article.title)} characters is over the limit of "
            f"{MAX_TITLE_CHARS_CEILING}",
        )
    for name in ("title", "text", "source", "section", "url", "author", "kicker", "subtitle"):
        check_unicode(getattr(article, name), location, name)
    check_unicode(article.reporters, location, "reporters")
    check_unicode(article.metadata, location, "metadata")


def check_size(title: str, text: str, location: str, *, max_bytes: int, max_title: int) -> None:
    """Refuse a record over the size limits before any cleaning or analysis.

    Args:
        title: The raw title.
        text: The raw body.
        location: The record, for the message.
        max_bytes: Largest title plus text, in UTF-8 bytes.
        max_title: Longest title, in characters.

    Raises:
        BadInput: A limit is exceeded (the message names the setting that raises it).
    """
    if len(title) > max_title:
        raise BadInput(
            location,
            f"title of {len(title)} characters is over the limit of {max_title}",
            options=("max_title_chars",),
        )
    # Each character is at least one UTF-8 byte: only count bytes when it could matter.
    if len(title) + len(text) > max_bytes // 4:
        size = len(title.encode("utf-8")) + len(text.encode("utf-8"))
        if size > max_bytes:
            raise BadInput(
                location,
                f"record of {size} bytes is over the limit of {max_bytes}",
                options=("max_record_bytes",),
            )


def _json_type(value: Any) -> str:
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    return names.get(type(value), type(value).__name__)
