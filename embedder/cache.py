"""On-disk embedding cache: re-embedding unchanged text costs no model time."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

CACHE_FILE = "embeddings.sqlite"
_BUSY_TIMEOUT_MS = 30_000
_SQLITE_MAX_VARIABLES = 900  # below SQLite's historical 999-parameter limit
_SQLITE_FULL = 13  # SQLite's result code for "database or disk is full"

log = logging.getLogger("semsearch.cache")


def cache_key(namespace: str, text: str) -> bytes:
    """Key for ``text`` under ``namespace`` (model fingerprint, backend and prompt).

    Args:
        namespace: Everything besides the text that changes the vector.
        text: The text as given to the model.

    Returns:
        A 20-byte digest.
    """
    return hashlib.sha1(namespace.encode("utf-8") + b"\x00" + text.encode("utf-8")).digest()


class EmbeddingCache:
    """SQLite table ``key -> float32 vector``, safe for several processes (WAL).

    Args:
        directory: Cache directory; created if missing.
        dimension: Vector length, checked on read.
    """

    def __init__(self, directory: Path, dimension: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / CACHE_FILE
        self.dimension = dimension
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (key BLOB PRIMARY KEY, vector BLOB NOT NULL)"
        )
        self._db.commit()

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """Return the cached vectors among ``keys``.

        Args:
            keys: Keys from :func:`cache_key`.

        Returns:
            Key -> vector for the keys found.
        """
        found: dict[bytes, np.ndarray] = {}
        expected = self.dimension * 4
        with self._lock:
            for start in range(0, len(keys), _SQLITE_MAX_VARIABLES):
                chunk = list(keys[start : start + _SQLITE_MAX_VARIABLES])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, blob in rows:
                    if len(blob) == expected:  # a vector of another size is stale, not an error
                        found[bytes(key)] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store vectors under keys (one transaction); on a full disk, store nothing.

        A cache that cannot grow only costs model time later, so a full disk is a
        warning here, not the failure of the search or ingest that embedded the texts.

        Args:
            keys: Keys from :func:`cache_key`.
            vectors: Array of shape ``(len(keys), dimension)``.
        """
        rows = [
            (key, np.ascontiguousarray(vec, dtype=np.float32).tobytes())
            for key, vec in zip(keys, vectors, strict=True)
        ]
        try:
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO embeddings (key, vector) VALUES (?, ?)", rows
                )
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) != _SQLITE_FULL:
                raise
            log.warning(
                "embedding cache %s: disk full, %d vectors not cached", self.path, len(rows)
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
