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


def _shingles(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Shingle hashes of all texts back to back and each text's shingle count.

    One pass over the concatenated texts: per-text numpy calls would dominate the time on
    an archive of headlines.
    """
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    counts = np.maximum(lengths - SHINGLE_CHARS + 1, 0)
    n = len(codes) - SHINGLE_CHARS + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64), counts
    value = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(SHINGLE_CHARS):
            value = value * np.uint64(0x100000001B3) ^ codes[k : k + n]
        value ^= value >> np.uint64(29)
        value *= np.uint64(0xBF58476D1CE4E5B9)
        value ^= value >> np.uint64(32)
    # Keep the shingles that start and end inside one text.
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    keep = np.concatenate(
        [np.arange(start, start + count) for start, count in zip(starts, counts, strict=True)]
        or [np.zeros(0, dtype=np.int64)]
    )
    return value[keep], counts


def _chunk_signatures(hashes: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Window signatures and their text numbers (within the chunk) for back-to-back texts."""
    blocks_per_text = -(-counts // BLOCK_SHINGLES)
    texts = np.flatnonzero(counts)
    if not len(texts):
        return np.zeros((0, NUM_PERM), dtype=np.uint64), np.zeros(0, dtype=np.int64)
    shingle_start = np.concatenate([[0], np.cumsum(counts)[:-1]])[texts]
    n_blocks = blocks_per_text[texts]
    block_owner = np.repeat(np.arange(len(texts)), n_blocks)
    first_block = np.concatenate([[0], np.cumsum(n_blocks)[:-1]])
    within = np.arange(len(block_owner)) - first_block[block_owner]
    block_starts = shingle_start[block_owner] + within * BLOCK_SHINGLES
    # Permutations along rows, shingles along columns: reduceat then runs over contiguous
    # memory (three times faster than the transposed layout, measured).
    with np.errstate(over="ignore"):
        permuted = (_A[:, None] * hashes[None, :] + _B[:, None]) >> np.uint64(32)
    blocks = np.minimum.reduceat(permuted, block_starts, axis=1).T
    # A window starts at each block that has BLOCKS - 1 blocks after it in its text (the
    # first block only, for a text of fewer blocks); later blocks are clipped to the text.
    last_block = (first_block + n_blocks - 1)[block_owner]
    starts = np.flatnonzero(within <= np.maximum(n_blocks[block_owner] - BLOCKS, 0))
    windows = blocks[starts].copy()
    for offset in range(1, BLOCKS):
        np.minimum(windows, blocks[np.minimum(starts + offset, last_block[starts])], out=windows)
    return windows & _MASK32, texts[block_owner[starts]]


def window_signatures(
    texts: Sequence[str], *, chunk_chars: int = 200_000
) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures ``(windows, NUM_PERM)`` of the windows of normalised texts.

    A text shorter than one window is one window; a text under :data:`SHINGLE_CHARS`
    characters has none. Texts go in chunks of about ``chunk_chars`` characters, so memory
    stays at one chunk's ``shingles x NUM_PERM`` matrix.

    Args:
        texts: Normalised texts.
        chunk_chars: Characters per chunk.

    Returns:
        ``(signatures, owners)``: one row per window and the number of its text.
    """
    signatures, owners = [], []
    start = 0
    while start < len(texts):
        end, size = start, 0
        while end < len(texts) and (size < chunk_chars or end == start):
            size += len(texts[end])
            end += 1
        hashes, counts = _shingles(texts[start:end])
        rows, owner = _chunk_signatures(hashes, counts)
        signatures.append(rows)
        owners.append(owner + start)
        start = end
    if not signatures:
        return np.zeros((0, NUM_PERM), dtype=np.uint64), np.zeros(0, dtype=np.int64)
    return np.concatenate(signatures), np.concatenate(owners)


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


# Texts whose window signatures are held at once by :func:`candidate_pairs`.
KEY_CHUNK_TEXTS = 20_000


def _chunks(texts: Sequence[str], size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, len(texts))) for start in range(0, len(texts), size)]


def candidate_pairs(texts: Sequence[str], *, progress: bool = False) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of texts with a window each in one LSH bucket.

    Args:
        texts: Normalised texts.
        progress: Show a progress bar over the buckets.

    Returns:
        The candidate pairs.
    """
    # Band keys chunk by chunk: a chunk's signatures (NUM_PERM words a window) are dropped
    # once hashed, so memory holds BANDS words a window, not BANDS + NUM_PERM.
    key_parts, owner_parts = [], []
    for chunk_start, chunk_end in _chunks(texts, KEY_CHUNK_TEXTS):
        signatures, owners = window_signatures(texts[chunk_start:chunk_end])
        key_parts.append(_band_keys(signatures).ravel())
        owner_parts.append(np.repeat(owners.astype(np.int32) + np.int32(chunk_start), BANDS))
        del signatures
    keys = np.concatenate(key_parts) if key_parts else np.zeros(0, dtype=np.uint64)
    owner_of_key = (
        np.concatenate(owner_parts) if owner_parts else np.zeros(0, dtype=np.int32)
    )
    del key_parts, owner_parts
    # One entry per (bucket, article): an article's repeated paragraphs count once.
    order = np.lexsort((owner_of_key, keys))
    keys, owner_of_key = keys[order], owner_of_key[order]
    fresh = np.ones(len(keys), dtype=bool)
    fresh[1:] = (keys[1:] != keys[:-1]) | (owner_of_key[1:] != owner_of_key[:-1])
    keys, owner_of_key = keys[fresh], owner_of_key[fresh]
    bounds = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    ends = np.concatenate([bounds, [len(keys)]]).astype(np.int64)
    sizes = ends - starts
    # Alone in a bucket, or boilerplate shared by many articles: no pair.
    shared = (sizes >= 2) & (sizes <= MAX_ARTICLES_PER_WINDOW)
    pairs: set[tuple[int, int]] = set()
    buckets = zip(starts[shared].tolist(), ends[shared].tolist(), strict=True)
    for start, end in tqdm(buckets, desc="buckets", unit="bucket", disable=not progress):
        members = owner_of_key[start:end].tolist()
        for x, first in enumerate(members):
            for second in members[x + 1 :]:
                pairs.add((first, second))
    return pairs
