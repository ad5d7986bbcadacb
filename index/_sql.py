"""What the store modules share about statements: how many values one ``IN (...)`` takes.

Private: :mod:`index.store` and :mod:`index.store_entities` (which the store imports, so
neither can hold it for the other).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

# Values bound in one statement: under SQLite's historic limit of 999 host parameters.
SQL_CHUNK = 900


def chunks(items: list[Any]) -> Iterator[list[Any]]:
    """``items`` in runs of at most :data:`SQL_CHUNK`, one statement each."""
    for start in range(0, len(items), SQL_CHUNK):
        yield items[start : start + SQL_CHUNK]


def marks(items: Sequence[Any]) -> str:
    """The ``?, ?, …`` placeholders for ``items``."""
    return ",".join("?" * len(items))
