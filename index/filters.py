"""Search filters on article metadata, compiled to a SQL condition over ``articles a``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from semsearch.embedder.folding import fold_script
from semsearch.index.errors import InputError

# The characters a metadata key may hold (it is spliced into a JSON path); the HTTP API's
# schema states the same pattern.
METADATA_KEY_PATTERN = r"^[A-Za-z0-9_.-]+$"
_METADATA_KEY = re.compile(METADATA_KEY_PATTERN)
# The entity types a filter or facet may name (the engine's entity fields).
ENTITY_TYPES = ("person", "place", "org")
# Longest entity name a filter takes (the longest names stored are far shorter).
ENTITY_NAME_CHARS = 100
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_INNER_SPACE = re.compile(rf"(?<=[{_HAN}])\s+(?=[{_HAN}])")


def entity_key(name: str) -> str:
    """The folded form entities are stored and matched by: simplified script, no spaces
    between Chinese characters (as :func:`embedder.entities.view.tag_view` reads text)."""
    return _INNER_SPACE.sub("", fold_script(name.strip()))


def parse_entity(text: str) -> tuple[str, str]:
    """``TYPE:NAME`` (``person:何雄``) as ``(type, folded name)``.

    Raises:
        InputError: No known type, or an empty or overlong name.
    """
    kind, sep, name = text.partition(":")
    kind = kind.strip()
    if not sep or kind not in ENTITY_TYPES:
        raise InputError(f"entity filter {text[:60]!r}: write TYPE:NAME with TYPE one of {', '.join(ENTITY_TYPES)}")
    return check_entity(kind, name)


def check_entity(kind: str, name: str) -> tuple[str, str]:
    """A checked ``(type, folded name)``.

    Raises:
        InputError: Unknown type, or an empty or overlong name.
    """
    if kind not in ENTITY_TYPES:
        raise InputError(f"unknown entity type {kind[:40]!r}; choose one of {', '.join(ENTITY_TYPES)}")
    # Counted as given (outer spaces aside), which a schema pattern can state; the folded
    # key is never longer.
    given = name.strip()
    if not given or len(given) > ENTITY_NAME_CHARS:
        raise InputError(f"an entity name has 1 to {ENTITY_NAME_CHARS} characters")
    return kind, entity_key(given)


def is_metadata_key(key: str) -> bool:
    """True when ``key`` can name an extra field in a JSON path (letters, digits, ``_.-``)."""
    return bool(_METADATA_KEY.fullmatch(key))


@dataclass(frozen=True, kw_only=True)
class Filters:
    """Restrictions applied before the top-k is cut.

    Dates are ISO strings (``2023-04-19``) compared as text, so ``date_to="2023-04"``
    excludes April's days; pass ``2023-04-30`` for the whole month. A list field matches
    any of its values; ``metadata`` matches extra fields exactly (lists: any value).
    ``entities`` are ``(type, folded name)`` pairs (:func:`check_entity`): an article must
    name every one of them.
    """

    date_from: str | None = None
    date_to: str | None = None
    sources: Sequence[str] | None = None
    sections: Sequence[str] | None = None
    article_ids: Sequence[str] | None = None
    exclude_article_ids: Sequence[str] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    entities: Sequence[tuple[str, str]] = ()

    def is_empty(self) -> bool:
        """True when no restriction is set."""
        return self.to_sql() == ("", [])

    def to_sql(self) -> tuple[str, list[Any]]:
        """Compile to a condition over the ``articles`` table aliased ``a``.

        Returns:
            ``(condition, parameters)``; the condition is empty when there are no filters.

        Raises:
            InputError: A metadata key has characters that cannot be a JSON path.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if self.date_from:
            clauses.append("a.date >= ?")
            params.append(self.date_from)
        if self.date_to:
            # A bare date bound includes that whole day even when stored dates carry a time.
            clauses.append("a.date <= ?")
            params.append(self.date_to + "\uffff" if len(self.date_to) == 10 else self.date_to)
        for column, values in (
            ("a.source", self.sources),
            ("a.section", self.sections),
            ("a.id", self.article_ids),
        ):
            if values is not None:
                clauses.append(f"{column} IN ({','.join('?' * len(values))})" if values else "0")
                params.extend(values)
        if self.exclude_article_ids:
            clauses.append(f"a.id NOT IN ({','.join('?' * len(self.exclude_article_ids))})")
            params.extend(self.exclude_article_ids)
        for key, value in self.metadata.items():
            if not _METADATA_KEY.fullmatch(key):
                raise InputError(f"invalid metadata filter key: {key!r}")
            values = list(value) if isinstance(value, list | tuple | set) else [value]
            expr = f"json_extract(a.metadata, '$.\"{key}\"')"
            clauses.append(f"{expr} IN ({','.join('?' * len(values))})" if values else "0")
            params.extend(values)
        for kind, name in self.entities:
            clauses.append(
                "a.id IN (SELECT ae.article_id FROM article_entities ae JOIN entities e"
                " ON e.id = ae.entity_id WHERE e.type = ? AND e.name = ?)"
            )
            params.extend((kind, name))
        return " AND ".join(clauses), params
