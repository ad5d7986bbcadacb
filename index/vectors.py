"""FAISS vectors: a factory of index kinds, stable int64 ids, atomic save, memory-mapped load.

Kinds (all inner product on L2-normalised vectors, i.e. cosine):

- ``flat``: exact search; ``IndexIDMap2(IndexFlatIP)``. Default while the collection is
  small enough that a scan is fast (about 1 ms per 10k vectors at d=384 on one core).
- ``hnsw`` / ``hnsw_sq8`` / ``hnsw_fp16``: graph search (float, 8-bit or half-precision
  codes) under ``IndexIDMap2``.
  HNSW cannot delete, so deleted ids are hidden with a selector (tombstones) until rebuilt.
  ``hnsw`` is the default for large collections (the best measured recall per millisecond).
  ``hnsw_fp16`` (M=16, efSearch 512) is the kind for ~1M vectors: the only one measured
  within 1 GB at recall@10 >= 0.95 (see :data:`DEFAULT_EF_SEARCH`).
- ``ivf_flat`` / ``ivf_sq8`` / ``ivf_pq``: inverted lists, native int64 ids and deletes;
  smaller and faster to build, lower recall on news embeddings (see docs/benchmarks.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np

from semsearch.index.manifest import fsync_dir, removed_on_error

# FAISS's bundled type stubs miss much of its SWIG API (HNSW params, downcasts, selectors).
faiss: Any = _faiss

# Beyond this many vectors the automatic choice leaves exact search. Measured by
# Which kind an auto collection gets at what size is index.config.KindPolicy (figures there).
# IVF: nlist ~ 4*sqrt(n), but FAISS wants >= ~39 training points per centroid.
IVF_LISTS_PER_SQRT = 4
IVF_MIN_POINTS_PER_LIST = 39
IVF_MAX_TRAIN_POINTS = 200_000
DEFAULT_NPROBE = 32
DEFAULT_EF_CONSTRUCTION = 80
# HNSW defaults per kind. Float ``hnsw`` serves ~100k vectors (KindPolicy). The quantised
# kinds are for ~1M, measured by bench/index.py on 1M derived news vectors (one thread):
# there the 10th and 11th neighbours differ by a median 0.0003 in cosine, so the graph
# needs a wide beam. fp16 codes lose almost nothing (exact search over them: recall@10
# 0.999), and with M=16 codes plus links take 920 MB (M=32 would pass 1 GB); efSearch
# 128/256/384/512/1024 gives recall 0.898/0.944/0.962/0.970/0.984, 512 at p50 3.0 ms (CPU
# time). SQ8 codes cap recall at ~0.97 however wide the beam (exact search over them:
# 0.970 flat, 0.974 IVF residuals), so ``hnsw_sq8`` (M=32, 676 MB) trades recall and speed
# for memory: efSearch 128/256/512 gives 0.916/0.945/0.960, 512 at p50 4.8 ms. On the
# 109k set hnsw_fp16 (M=16, efSearch 512) reaches 0.979 at 1.5 ms in 100 MB.
DEFAULT_HNSW_M = {"hnsw": 32, "hnsw_sq8": 32, "hnsw_fp16": 16}
DEFAULT_EF_SEARCH = {"hnsw": 96, "hnsw_sq8": 512, "hnsw_fp16": 512}
DEFAULT_PQ_BYTES = 48
PQ_BITS = 8
# Memory-map index files at least this large when opened read-only; smaller ones are read
# (a mapping per tiny appendable segment costs more than the copy).
MMAP_MIN_BYTES = 1024 * 1024
TRAIN_SEED = 1234
# SQ8 learns each dimension's range from the training vectors and clips anything outside
# it; widen the range so later vectors are not clipped (much wider when trained on few).
SQ_RANGE_MARGIN = 0.1
SQ_SMALL_TRAIN = 10_000
SQ_SMALL_TRAIN_MARGIN = 1.0

KINDS = ("flat", "hnsw", "hnsw_sq8", "hnsw_fp16", "ivf_flat", "ivf_sq8", "ivf_pq")
# Searches of this few queries run on the calling thread alone. FAISS parallelises over
# queries, so one query gains nothing from OpenMP, while waking its team costs: measured
# here, one HNSW query on the 112k collection took 10.4 ms with 2 threads on a busy machine
# and 0.8 ms with one.
SERIAL_MAX_QUERIES = 4


@contextmanager
def _omp_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` OpenMP threads (None: unchanged).

    The OpenMP thread count is per calling thread, so concurrent searches do not interfere.
    """
    if threads is None:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def ivf_lists_for(n_vectors: int) -> int:
    """A sensible number of IVF lists for ``n_vectors`` training points."""
    wanted = int(IVF_LISTS_PER_SQRT * math.sqrt(max(n_vectors, 1)))
    return max(1, min(wanted, n_vectors // IVF_MIN_POINTS_PER_LIST))


def _flat(d: int, params: dict[str, Any], n: int) -> Any:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(d))


def _hnsw_params(kind: str, params: dict[str, Any]) -> int:
    """Fill ``kind``'s HNSW defaults into ``params``; return M."""
    m = int(params.setdefault("M", DEFAULT_HNSW_M[kind]))
    params.setdefault("efConstruction", DEFAULT_EF_CONSTRUCTION)
    params.setdefault("efSearch", DEFAULT_EF_SEARCH[kind])
    return m


def _graph(inner: Any, params: dict[str, Any]) -> Any:
    """Set the build beam on an HNSW index and give it stable ids."""
    inner.hnsw.efConstruction = int(params["efConstruction"])
    return faiss.IndexIDMap2(inner)


def _hnsw(d: int, params: dict[str, Any], n: int) -> Any:
    m = _hnsw_params("hnsw", params)
    return _graph(faiss.IndexHNSWFlat(d, m, faiss.METRIC_INNER_PRODUCT), params)


def _widen_sq_range(sq: Any, n: int) -> None:
    sq.rangestat = faiss.ScalarQuantizer.RS_minmax
    sq.rangestat_arg = SQ_SMALL_TRAIN_MARGIN if n < SQ_SMALL_TRAIN else SQ_RANGE_MARGIN


def _hnsw_sq8(d: int, params: dict[str, Any], n: int) -> Any:
    m = _hnsw_params("hnsw_sq8", params)
    inner = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, m, faiss.METRIC_INNER_PRODUCT)
    _widen_sq_range(faiss.downcast_index(inner.storage).sq, n)
    return _graph(inner, params)


def _hnsw_fp16(d: int, params: dict[str, Any], n: int) -> Any:
    # Half-precision codes: half the memory of float, without SQ8's loss of ranking
    # precision, which matters here because news vectors sit in a narrow cone.
    m = _hnsw_params("hnsw_fp16", params)
    inner = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_fp16, m, faiss.METRIC_INNER_PRODUCT)
    return _graph(inner, params)


def _ivf_quantizer(d: int, params: dict[str, Any], n: int) -> tuple[Any, int]:
    nlist = int(params.setdefault("nlist", ivf_lists_for(n)))
    params.setdefault("nprobe", min(DEFAULT_NPROBE, nlist))
    return faiss.IndexFlatIP(d), nlist


def _ivf_flat(d: int, params: dict[str, Any], n: int) -> Any:
    quantizer, nlist = _ivf_quantizer(d, params, n)
    index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.own_fields = True
    quantizer.this.disown()
    return index


def _ivf_sq8(d: int, params: dict[str, Any], n: int) -> Any:
    quantizer, nlist = _ivf_quantizer(d, params, n)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    _widen_sq_range(index.sq, n)
    index.own_fields = True
    quantizer.this.disown()
    return index


def _ivf_pq(d: int, params: dict[str, Any], n: int) -> Any:
    quantizer, nlist = _ivf_quantizer(d, params, n)
    m = int(params.setdefault("pq_bytes", DEFAULT_PQ_BYTES))
    if d % m:
        raise ValueError(f"pq_bytes={m} must divide the dimension {d}")
    index = faiss.IndexIVFPQ(quantizer, d, nlist, m, PQ_BITS, faiss.METRIC_INNER_PRODUCT)
    index.own_fields = True
    quantizer.this.disown()
    return index


# The factory: kind name -> builder(dimension, params (filled with defaults), n_vectors).
FACTORY: dict[str, Callable[[int, dict[str, Any], int], Any]] = {
    "flat": _flat,
    "hnsw": _hnsw,
    "hnsw_sq8": _hnsw_sq8,
    "hnsw_fp16": _hnsw_fp16,
    "ivf_flat": _ivf_flat,
    "ivf_sq8": _ivf_sq8,
    "ivf_pq": _ivf_pq,
}


@dataclass
class VectorIndex:
    """One FAISS index of a collection with the operations the collection needs.

    The FAISS object is created lazily at the first :meth:`add`, so IVF kinds can size
    and train their lists on real data.
    """

    dimension: int
    kind: str = "flat"
    params: dict[str, Any] = field(default_factory=dict)
    index: Any = None
    read_only: bool = False
    _sorted_ids: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FACTORY:
            raise ValueError(f"unknown index kind {self.kind!r}; choose one of {', '.join(KINDS)}")

    @property
    def ntotal(self) -> int:
        """Number of vectors stored (tombstoned ones included)."""
        return int(self.index.ntotal) if self.index is not None else 0

    @property
    def supports_remove(self) -> bool:
        """Whether deletes remove vectors (HNSW cannot; the collection tombstones them)."""
        return not self.kind.startswith("hnsw")

    @property
    def is_ivf(self) -> bool:
        """Whether the index uses inverted lists (``nprobe`` applies)."""
        return self.kind.startswith("ivf")

    def _ensure(self, train: np.ndarray) -> Any:
        if self.index is None:
            self.index = FACTORY[self.kind](self.dimension, self.params, len(train))
            if not self.index.is_trained:
                sample = train
                if len(sample) > IVF_MAX_TRAIN_POINTS:
                    rng = np.random.default_rng(TRAIN_SEED)
                    sample = sample[rng.choice(len(sample), IVF_MAX_TRAIN_POINTS, replace=False)]
                self.index.train(np.ascontiguousarray(sample, dtype=np.float32))
        return self.index

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors under the given int64 ids.

        Args:
            ids: Shape ``(n,)``, unique, not already present.
            vectors: Shape ``(n, dimension)``, L2-normalised float32.
        """
        if self.read_only:
            raise RuntimeError("index opened read-only")
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids), self.dimension):
            raise ValueError(
                f"vectors of shape {vectors.shape}, expected ({len(ids)}, {self.dimension})"
            )
        self._ensure(vectors).add_with_ids(vectors, np.ascontiguousarray(ids, dtype=np.int64))
        self._sorted_ids = None

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids (only when :attr:`supports_remove`).

        Args:
            ids: Ids to remove; unknown ids are ignored.

        Returns:
            How many vectors were removed.
        """
        if self.index is None or len(ids) == 0:
            return 0
        if not self.supports_remove:
            raise RuntimeError(f"{self.kind} cannot remove vectors; tombstone them")
        self._sorted_ids = None
        return int(self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))

    def sorted_ids(self) -> np.ndarray:
        """The stored ids, sorted (kept until the next add or remove)."""
        if self._sorted_ids is None:
            self._sorted_ids = np.sort(self.ids())
        return self._sorted_ids

    def ids(self) -> np.ndarray:
        """All stored ids (unordered), for consistency checks."""
        if self.index is None:
            return np.zeros(0, dtype=np.int64)
        if self.is_ivf:
            invlists = faiss.extract_index_ivf(self.index).invlists
            parts = []
            for list_no in range(invlists.nlist):
                size = invlists.list_size(list_no)
                if size:
                    parts.append(faiss.rev_swig_ptr(invlists.get_ids(list_no), size).copy())
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def reconstruct_all(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Stored ids and their exact vectors, when the kind keeps exact vectors.

        Returns:
            ``(ids, vectors)``, or None for quantised kinds (rebuild by re-embedding).
        """
        if self.index is None:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.dimension), dtype=np.float32)
        if self.kind not in ("flat", "hnsw"):
            return None
        ids = self.ids()
        inner = faiss.downcast_index(self.index.index)
        storage = inner if self.kind == "flat" else faiss.downcast_index(inner.storage)
        vectors = storage.reconstruct_n(0, storage.ntotal)
        return ids, vectors

    def similarities(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
        """Inner products of one query with the stored vectors of ``ids`` (all must be stored).

        Args:
            query: Shape ``(dimension,)`` or ``(1, dimension)``.
            ids: Stored ids.

        Returns:
            One score per id, or None for kinds that cannot look vectors up by id (IVF).
        """
        vectors = self.reconstruct(ids)
        if vectors is None:
            return None
        return np.asarray(vectors @ np.asarray(query, dtype=np.float32).reshape(-1), dtype=np.float32)

    def reconstruct(self, ids: np.ndarray) -> np.ndarray | None:
        """The stored vectors of ``ids`` (all must be stored), ``(len(ids), dimension)``.

        Returns:
            The vectors (quantised kinds decode their codes), or None for kinds that cannot
            look vectors up by id (IVF) or when an id is not stored.
        """
        if self.is_ivf or self.index is None:
            return None
        if len(ids) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        keys = np.ascontiguousarray(ids, dtype=np.int64)
        try:
            vectors = self.index.reconstruct_batch(keys)
        except RuntimeError:  # an id the index lacks: no answer rather than a failed search
            return None
        return np.asarray(vectors, dtype=np.float32)

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed: np.ndarray | None = None,
        excluded: np.ndarray | None = None,
        exhaustive: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k inner-product search, optionally restricted to / excluding id sets.

        Args:
            queries: Shape ``(nq, dimension)``.
            k: Hits per query.
            allowed: Only these ids may be returned (filters, applied inside FAISS).
            excluded: These ids may not be returned (tombstones).
            exhaustive: Visit every list / a wide beam: used to refill a short filtered page.

        Returns:
            ``(scores, ids)`` each ``(nq, k)``; missing hits have id -1.
        """
        nq = len(queries)
        if self.index is None or self.ntotal == 0 or k <= 0:
            return np.zeros((nq, max(k, 0)), np.float32), -np.ones((nq, max(k, 0)), np.int64)
        keep: list[Any] = []  # SWIG selectors must outlive the search
        selector = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            keep.append(selector)
        if excluded is not None and len(excluded):
            batch = faiss.IDSelectorBatch(np.ascontiguousarray(excluded, dtype=np.int64))
            negated = faiss.IDSelectorNot(batch)
            keep += [batch, negated]
            selector = negated if selector is None else faiss.IDSelectorAnd(selector, negated)
            keep.append(selector)
        if exhaustive and allowed is not None and self.kind.startswith("hnsw"):
            # A graph walk restricted to a small id set dead-ends; score that set directly.
            return self._search_subset(queries, k, allowed, excluded)
        params: Any
        if self.is_ivf:
            nlist = faiss.extract_index_ivf(self.index).nlist
            nprobe = nlist if exhaustive else int(self.params.get("nprobe", DEFAULT_NPROBE))
            params = faiss.SearchParametersIVF(nprobe=min(nprobe, nlist))
        elif self.kind.startswith("hnsw"):
            ef = int(self.params.get("efSearch", DEFAULT_EF_SEARCH[self.kind]))
            ef = max(ef, k, 4 * k) if exhaustive else max(ef, k)
            params = faiss.SearchParametersHNSW(efSearch=ef)
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        keep.append(params)
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        with _omp_threads(1 if nq <= SERIAL_MAX_QUERIES else None):
            scores, ids = self.index.search(queries, k, params=params)
        return scores, ids

    def _search_subset(
        self, queries: np.ndarray, k: int, allowed: np.ndarray, excluded: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        assert self.index is not None
        subset = np.asarray(allowed, dtype=np.int64)
        if excluded is not None and len(excluded):
            subset = np.setdiff1d(subset, np.asarray(excluded, dtype=np.int64))
        # A binary search in the kept sorted ids: sorting (or copying) a million ids per
        # filtered search cost more than scoring the subset.
        present = subset[held(subset, self.sorted_ids())]
        nq = len(queries)
        scores = np.full((nq, k), -np.inf, dtype=np.float32)
        ids = -np.ones((nq, k), dtype=np.int64)
        if len(present) == 0:
            return scores, ids
        vectors = self.reconstruct(present)
        assert vectors is not None  # HNSW looks vectors up by id, and every one is stored
        sims = np.asarray(queries, dtype=np.float32) @ vectors.T
        order = np.argsort(-sims, axis=1)[:, :k]
        for row in range(nq):
            n = len(order[row])
            scores[row, :n] = sims[row, order[row]]
            ids[row, :n] = present[order[row]]
        return scores, ids

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically and durably (tmp file, fsync, rename).

        Args:
            path: Destination; the parent directory must exist.
        """
        index = self.index if self.index is not None else FACTORY["flat"](self.dimension, {}, 0)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        # Written through Python's file object: FAISS's own writer can lose the error of a
        # final buffered write (a full disk), and then a truncated file would be published.
        with removed_on_error(tmp), open(tmp, "wb") as handle:
            writer = faiss.PyCallbackIOWriter(handle.write)
            faiss.write_index(index, writer)
            del writer  # flushes FAISS's buffer into the file now
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        dimension: int,
        kind: str,
        params: dict[str, Any],
        read_only: bool = False,
    ) -> VectorIndex:
        """Read an index file; large files are memory-mapped when opened read-only.

        Args:
            path: Index file.
            dimension: Expected dimension.
            kind: Recorded kind.
            params: Recorded parameters.
            read_only: Reader mode (allows mmap; mutation raises).

        Returns:
            The index.
        """
        flags = 0
        if read_only and path.stat().st_size >= MMAP_MIN_BYTES:
            flags = mmap_flags(kind)
        index = faiss.read_index(str(path), flags)
        if index.d != dimension:
            raise ValueError(f"{path.name} has dimension {index.d}, expected {dimension}")
        out = cls(
            dimension=dimension, kind=kind, params=dict(params), index=index, read_only=read_only
        )
        if out.ntotal == 0 and not out.is_trained_kind_ok():
            out.index = None
        return out

    def is_trained_kind_ok(self) -> bool:
        """Whether the loaded FAISS object matches the recorded kind (an empty placeholder
        flat index written before the first add does not)."""
        if self.index is None:
            return False
        if self.is_ivf:
            try:
                faiss.extract_index_ivf(self.index)
            except RuntimeError:
                return False
            return True
        inner = faiss.downcast_index(self.index.index) if hasattr(self.index, "id_map") else None
        if self.kind == "flat":
            return isinstance(inner, faiss.IndexFlat)
        return isinstance(inner, faiss.IndexHNSW)


def mmap_flags(kind: str) -> int:
    """FAISS read flags that map an index file of ``kind`` instead of copying it.

    ``IO_FLAG_MMAP`` maps only inverted lists; flat codes and HNSW graphs (with their flat
    or scalar-quantised storage) need ``IO_FLAG_MMAP_IFC`` to be used in place, so pages
    live in the page cache, shared by every reader of the file, and not as private copies.
    """
    if kind.startswith("ivf"):
        return int(faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
    return int(faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)


def measure_recall(
    index: VectorIndex, ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, k: int = 10
) -> float:
    """Recall@k of ``index`` against exact inner-product search over ``vectors``.

    Args:
        index: Index holding ``vectors`` under ``ids``.
        ids: Ids of ``vectors``.
        vectors: The exact vectors.
        queries: Query vectors.
        k: Cut-off.

    Returns:
        Mean fraction of the exact top-k found by the index.
    """
    if len(queries) == 0 or len(vectors) == 0:
        return 1.0
    k = min(k, len(vectors))
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _, truth = exact.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    _, found = index.search(queries, k)
    hits = sum(
        len(set(ids[row].tolist()) & set(got.tolist()))
        for row, got in zip(truth, found, strict=True)
    )
    return hits / (len(queries) * k)


def held(keys: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """Which ``keys`` are in ``sorted_ids`` (a binary search per key).

    ``np.isin`` sorts the stored ids again on every call, which at a million vectors costs
    more than the search it serves.
    """
    if not len(sorted_ids):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_ids, keys), len(sorted_ids) - 1)
    return np.asarray(sorted_ids[at] == keys)
