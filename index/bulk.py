"""Bulk vector builds: vectors computed elsewhere (e.g. on a Ray cluster), spilled to disk.

A job writes its vectors as shards of ``.npy`` files keyed by a hash of the passage text
(:class:`ShardWriter`). :class:`ShardStore` serves them back by text from memory-mapped
files, so a collection write can stream them into its index a batch at a time; only the
sorted keys (20 bytes a vector) stay in memory. :func:`trained_empty_index` trains an
index of the chosen kind on a sample drawn across all shards, so inverted lists fit the
whole job rather than its first batch.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.index.config import DEFAULT_KINDS, KindPolicy
from semsearch.index.vectors import (
    IVF_MAX_TRAIN_POINTS,
    IVF_MIN_POINTS_PER_LIST,
    TRAIN_SEED,
    VectorIndex,
)

KEY_BYTES = 20
KEY_DTYPE = f"S{KEY_BYTES}"
KEYS_SUFFIX = ".keys.npy"
VECTORS_SUFFIX = ".vectors.npy"
BUILD_PARAM = "build"  # index_params entry recording how a bulk-built index was made


def text_key(text: str) -> bytes:
    """Job-local key of a passage text (its SHA-1)."""
    return hashlib.sha1(text.encode("utf-8")).digest()


def keys_array(keys: Sequence[bytes]) -> np.ndarray:
    """Pack keys into a fixed-width array (sortable, searchable)."""
    return np.frombuffer(b"".join(keys), dtype=KEY_DTYPE) if keys else np.zeros(0, KEY_DTYPE)


class ShardWriter:
    """Append ``(keys, vectors)`` and write them as shards of at most ``shard_rows`` rows.

    Args:
        directory: Where the shards go (created).
        dimension: Vector length.
        shard_rows: Rows per shard file; one shard is the most held in memory.
    """

    def __init__(self, directory: Path, dimension: int, shard_rows: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.dimension = dimension
        self.shard_rows = max(1, shard_rows)
        self.rows = 0
        self.shards = 0
        self._keys: list[np.ndarray] = []
        self._vectors: list[np.ndarray] = []
        self._pending = 0

    def add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Buffer one batch; full shards are written at once.

        Args:
            keys: ``(n,)`` array of :data:`KEY_DTYPE`.
            vectors: ``(n, dimension)`` float32.
        """
        if vectors.shape != (len(keys), self.dimension):
            raise ValueError(f"vectors of shape {vectors.shape} for {len(keys)} keys")
        self._keys.append(np.asarray(keys, dtype=KEY_DTYPE))
        self._vectors.append(np.asarray(vectors, dtype=np.float32))
        self._pending += len(keys)
        self.rows += len(keys)
        if self._pending >= self.shard_rows:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one shard."""
        if not self._pending:
            return
        stem = self.directory / f"shard-{self.shards:06d}"
        np.save(f"{stem}{KEYS_SUFFIX}", np.concatenate(self._keys))
        np.save(f"{stem}{VECTORS_SUFFIX}", np.concatenate(self._vectors))
        self.shards += 1
        self._keys, self._vectors, self._pending = [], [], 0


class ShardStore:
    """Read-only view of a shard directory: vectors by passage text.

    Args:
        directory: A directory written by :class:`ShardWriter`.
    """

    def __init__(self, directory: Path) -> None:
        stems = sorted(p.name[: -len(KEYS_SUFFIX)] for p in directory.glob(f"*{KEYS_SUFFIX}"))
        self._vectors = [
            np.load(directory / f"{stem}{VECTORS_SUFFIX}", mmap_mode="r") for stem in stems
        ]
        keys = [np.load(directory / f"{stem}{KEYS_SUFFIX}") for stem in stems]
        all_keys = np.concatenate(keys) if keys else np.zeros(0, KEY_DTYPE)
        shard = (
            np.concatenate([np.full(len(k), i, np.int32) for i, k in enumerate(keys)])
            if keys
            else np.zeros(0, np.int32)
        )
        row = (
            np.concatenate([np.arange(len(k), dtype=np.int64) for k in keys])
            if keys
            else np.zeros(0, np.int64)
        )
        order = np.argsort(all_keys, kind="stable")
        self._keys, self._shard, self._row = all_keys[order], shard[order], row[order]
        self.dimension = int(self._vectors[0].shape[1]) if self._vectors else 0
        self.shards = len(stems)

    def __len__(self) -> int:
        """Rows stored (a key retried by the engine may appear twice; both rows are equal)."""
        return len(self._keys)

    def unique_keys(self) -> int:
        """Distinct texts stored."""
        return len(np.unique(self._keys))

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Positions of ``keys`` in the sorted key list, -1 where absent."""
        pos = np.searchsorted(self._keys, keys)
        pos = np.minimum(pos, max(len(self._keys) - 1, 0))
        found = len(self._keys) > 0
        hit = (self._keys[pos] == keys) if found else np.zeros(len(keys), bool)
        return np.where(hit, pos, -1)

    def vectors_at(self, positions: np.ndarray) -> np.ndarray:
        """Vectors at positions returned by :meth:`find` (all must be >= 0)."""
        out = np.empty((len(positions), self.dimension), dtype=np.float32)
        shards, rows = self._shard[positions], self._row[positions]
        for shard in np.unique(shards):
            where = np.flatnonzero(shards == shard)
            order = np.argsort(rows[where])  # ascending rows read the memory map sequentially
            out[where[order]] = self._vectors[shard][rows[where[order]]]
        return out

    def iter_shards(self) -> Iterator[np.ndarray]:
        """Each shard's vectors in turn (memory-mapped)."""
        yield from self._vectors

    def sample(self, limit: int, seed: int = TRAIN_SEED) -> np.ndarray:
        """Up to ``limit`` vectors drawn uniformly across all shards, one shard at a time.

        Args:
            limit: Most vectors returned.
            seed: Random seed, so a rerun trains the same index.

        Returns:
            ``(m, dimension)`` float32.
        """
        total = sum(len(v) for v in self._vectors)
        if total == 0:
            return np.zeros((0, self.dimension), np.float32)
        share = min(1.0, limit / total)
        rng = np.random.default_rng(seed)
        parts = []
        for vectors in self._vectors:
            take = min(len(vectors), math.ceil(share * len(vectors)))
            rows = np.sort(rng.choice(len(vectors), take, replace=False))
            parts.append(np.asarray(vectors[rows], dtype=np.float32))
        return np.concatenate(parts)[:limit]


def trained_empty_index(
    dimension: int,
    kind: str,
    params: dict[str, Any],
    *,
    expected: int,
    store: ShardStore,
    build: dict[str, Any],
    kinds: KindPolicy = DEFAULT_KINDS,
) -> VectorIndex:
    """An empty index of ``kind`` for ``expected`` vectors, trained on a sample of ``store``.

    Args:
        dimension: Vector length.
        kind: A kind of :data:`index.vectors.KINDS`, or ``auto`` (chosen for ``expected``).
        params: Kind parameters (defaults filled in).
        expected: How many vectors the build will add.
        store: The job's vectors (training sample source).
        build: How the vectors were made, recorded under ``index_params["build"]``.
        kinds: Chooses the ``auto`` kind by size.

    Returns:
        The index; kinds that need no training stay unmaterialised until the first add.
    """
    kind = kinds.choose(expected) if kind == "auto" else kind
    params = dict(params)
    index = VectorIndex(dimension, kind, params)
    sample_size = 0
    if kind.startswith("ivf"):
        sample = store.sample(IVF_MAX_TRAIN_POINTS)
        sample_size = len(sample)
        if sample_size:
            # Size the lists for the whole job, not for the sample the factory sees.
            wanted = int(4 * math.sqrt(max(expected, 1)))
            params.setdefault("nlist", max(1, min(wanted, sample_size // IVF_MIN_POINTS_PER_LIST)))
            index.params = params
            index._ensure(sample)
    index.params[BUILD_PARAM] = json.loads(json.dumps({**build, "train_sample": sample_size}))
    return index
