"""Candidate pairs for copies and reuse without all-pairs work: MinHash LSH over windows.

Each normalised text is cut into overlapping windows of character shingles; each window
gets a MinHash signature, split into bands (banded LSH). Two articles are candidates when
a band of some window of one equals that band of a window of the other, so
a shared span of :data:`SPAN_FOUND` characters is found however long the articles are
(whole-article MinHash would miss a short reused span in two long texts). Buckets that
hold windows of more than :data:`MAX_ARTICLES_PER_WINDOW` articles are boilerplate
(page banners, agency credits) and propose no pairs.

Signatures and bands are computed with numpy over whole articles at once: datasketch's
per-window objects cost about 65 µs a window (12 s for 1,000 THUCNews articles), too slow
for the million-article scale this is for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

SHINGLE_CHARS = 4
# A window is BLOCKS consecutive blocks of BLOCK_SHINGLES shingles; windows step one block.
BLOCK_SHINGLES = 10
BLOCKS = 3
# A common span this long (normalised characters) holds a window of each text offset by at
# most half a block from each other: Jaccard >= (30 - 5) / (30 + 5) = 0.71 without noise.
SPAN_FOUND = SHINGLE_CHARS - 1 + BLOCK_SHINGLES * (BLOCKS + 1)
NUM_PERM = 64
# 16 bands of 4 rows: two windows collide with probability 1 - (1 - J^4)^16, 0.99 at the
# J = 0.71 above, 0.12 at J = 0.3 (those go to alignment, which rejects them).
BANDS = 16
ROWS = NUM_PERM // BANDS
MAX_ARTICLES_PER_WINDOW = 50
_SEED = 20260
_MASK32 = np.uint64(0xFFFFFFFF)


def _permutations() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_SEED)
    a = rng.integers(1, 2**63, NUM_PERM, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
    return a, b


_A, _B = _permutations()


def shingle_hashes(text: str) -> np.ndarray:
    """64-bit hashes of the :data:`SHINGLE_CHARS`-character shingles of ``text`` in order."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    n = len(codes) - SHINGLE_CHARS + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    value = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(SHINGLE_CHARS):
            value = value * np.uint64(0x100000001B3) ^ codes[k : k + n]
        value ^= value >> np.uint64(29)
        value *= np.uint64(0xBF58476D1CE4E5B9)
        value ^= value >> np.uint64(32)
    return value


def window_signatures(text: str) -> np.ndarray:
    """MinHash signatures ``(windows, NUM_PERM)`` of the windows of a normalised text.

    A text shorter than one window is one window; an empty text has none.
    """
    hashes = shingle_hashes(text)
    if not len(hashes):
        return np.zeros((0, NUM_PERM), dtype=np.uint64)
    with np.errstate(over="ignore"):
        permuted = (hashes[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(32)
    starts = np.arange(0, len(hashes), BLOCK_SHINGLES)
    blocks = np.minimum.reduceat(permuted, starts, axis=0)
    if len(blocks) <= BLOCKS:
        return blocks.min(axis=0, keepdims=True) & _MASK32
    windows = blocks[: len(blocks) - BLOCKS + 1].copy()
    for offset in range(1, BLOCKS):
        np.minimum(windows, blocks[offset : len(blocks) - BLOCKS + 1 + offset], out=windows)
    return windows & _MASK32


def _band_keys(signatures: np.ndarray) -> np.ndarray:
    """``(windows, BANDS)`` 64-bit keys: band ``t`` hashes rows ``t*ROWS:(t+1)*ROWS``."""
    keys = np.zeros((len(signatures), BANDS), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for t in range(BANDS):
            value = np.full(len(signatures), np.uint64(t + 1) * np.uint64(0x9E3779B97F4A7C15))
            for column in signatures[:, t * ROWS : (t + 1) * ROWS].T:
                value = (value ^ column) * np.uint64(0x100000001B3)
            keys[:, t] = value
    return keys


def candidate_pairs(texts: Sequence[str], *, progress: bool = False) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of texts with a window each in one LSH bucket.

    Args:
        texts: Normalised texts.
        progress: Show a progress bar.

    Returns:
        The candidate pairs.
    """
    keys: list[np.ndarray] = []
    owners: list[np.ndarray] = []
    for number, text in enumerate(
        tqdm(texts, desc="shingling", unit="article", disable=not progress)
    ):
        band_keys = np.unique(_band_keys(window_signatures(text)).ravel())
        keys.append(band_keys)
        owners.append(np.full(len(band_keys), number, dtype=np.int64))
    if not keys:
        return set()
    all_keys, all_owners = np.concatenate(keys), np.concatenate(owners)
    order = np.argsort(all_keys, kind="stable")
    all_keys, all_owners = all_keys[order], all_owners[order]
    bounds = np.flatnonzero(np.diff(all_keys)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(all_keys)]])
    sizes = ends - starts
    # Alone in a bucket, or boilerplate shared by many articles: no pair.
    shared = (sizes >= 2) & (sizes <= MAX_ARTICLES_PER_WINDOW)
    pairs: set[tuple[int, int]] = set()
    for start, end in zip(starts[shared].tolist(), ends[shared].tolist(), strict=True):
        members = sorted(all_owners[start:end].tolist())
        for x, first in enumerate(members):
            for second in members[x + 1 :]:
                pairs.add((first, second))
    return pairs
