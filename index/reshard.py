"""Re-sharding: copy a sharded collection into a new one with another shard count.

Nothing is embedded or tagged again. Each source shard is read inside one read snapshot,
a page of articles at a time (every stored field, the passages with their layout, the
vectors read back from the index, the entity mentions); each article goes to the
destination shard :func:`~index.cluster.shard_of` names for the new count, and each
destination shard has one writer, open from start to end, which stores its buffered
articles through the ordinary upsert (so its lexical index, segments and manifest are
built as for any write) with the copied vectors and mentions handed in. Memory is bounded
by :class:`ReshardConfig`, not by the collection's size.

The source is opened read-only and never written. A failure anywhere leaves the
destination empty, as :func:`~index.cluster.split_collection` does; the cluster manifest
is written last, so a killed process leaves no cluster either.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from semsearch.embedder.records import Article, Passage
from semsearch.index import store
from semsearch.index._sql import SQL_CHUNK
from semsearch.index.cluster import (
    CLUSTER_MANIFEST,
    ClusterManifest,
    check_new_cluster_dir,
    cluster_under_construction,
    is_cluster,
    read_cluster,
    shard_of,
)
from semsearch.index.collection import Collection
from semsearch.index.errors import CollectionError, InputError
from semsearch.index.manifest import write_atomic
from semsearch.index.segments import SegmentedVectors
from semsearch.index.shard import SuppliedEntities
from semsearch.index.store_copy import (
    StoredRecord,
    article_ids_after,
    article_mentions,
    stored_records,
)
from semsearch.index.store_entities import MentionRow

if TYPE_CHECKING:  # the package loads the tagger's ONNX runtime: imported when tags are copied
    from semsearch.embedder.entities import ArticleEntities

# Kinds whose stored vectors read back as they are searched: exact floats, or half-precision
# codes (decoding and encoding them again gives the same codes). SQ8 codes are trained on
# the data they hold and IVF cannot look vectors up by id: those are refused.
COPYABLE_KINDS = ("flat", "hnsw", "hnsw_fp16")


@dataclass(frozen=True, kw_only=True)
class ReshardConfig:
    """Tunables of a reshard (defaults chosen, not yet tuned: bench/reshard.py times them).

    Attributes:
        read_articles: Articles read from a source shard per page (one query each for
            articles, passages, mentions and one vector lookup). Default 256.
        write_passages: Passages a destination shard gathers before it writes them (one
            transaction, one vector segment and one lexical commit per write, so larger
            writes are fewer and cheaper). Default 4096.
        buffer_passages: Passages held across all destination shards at most; past it the
            fullest buffer is written early, so memory does not grow with the shard count
            (about 1.6 KB each with 384-dimensional vectors, text aside). Default 16384.
    """

    read_articles: int = 256
    write_passages: int = 4096
    buffer_passages: int = 16_384

    def __post_init__(self) -> None:
        if min(self.read_articles, self.write_passages, self.buffer_passages) < 1:
            raise ValueError("read_articles, write_passages and buffer_passages must be >= 1")
        if self.read_articles > SQL_CHUNK:
            raise ValueError(f"read_articles must be <= {SQL_CHUNK} (one SQL statement)")


DEFAULT_RESHARD = ReshardConfig()


@dataclass(frozen=True, kw_only=True)
class ReshardReport:
    """What a reshard wrote.

    Attributes:
        manifest: The new cluster's manifest.
        articles: Articles copied.
        passages: Passages copied (each with its vector).
        tagged: Articles copied with their entity mentions.
        writes: Writes made over all destination shards.
    """

    manifest: ClusterManifest
    articles: int
    passages: int
    tagged: int
    writes: int


@dataclass(frozen=True, kw_only=True)
class _IndexPlan:
    """How the destination shards index vectors and text: as the source shards do."""

    kind: str
    params: dict[str, object]
    analyzer: str


@dataclass(kw_only=True)
class _Copied:
    """One article to write: the stored record, its vectors (rows in passage order) and
    its mentions (None: never tagged)."""

    record: StoredRecord
    vectors: np.ndarray
    mentions: list[MentionRow] | None


class CopiedVectors:
    """A ``TextEmbedder`` that hands out copied vectors in the order a write asks for them.

    Keyed by position, not by text: two passages with the same text keep their own
    vectors. Each text asked for is checked against the one the vector belongs to, so a
    write that asks out of order, or for a passage it was not given, fails instead of
    storing a wrong vector.
    """

    def __init__(self, manifest: ClusterManifest) -> None:
        self._manifest = manifest
        self._texts: list[str] = []
        self._vectors = np.zeros((0, manifest.dimension), dtype=np.float32)
        self._next = 0

    @property
    def fingerprint(self) -> str:
        """Identity of the model weights the vectors came from."""
        return self._manifest.model_fingerprint

    @property
    def model_name(self) -> str:
        """The model as the user named it."""
        return self._manifest.model_name

    @property
    def dimension(self) -> int:
        """Vector length."""
        return self._manifest.dimension

    @property
    def max_tokens(self) -> int:
        """Passages arrive cut already: no budget applies."""
        return 1 << 30

    @contextmanager
    def supplying(self, texts: Sequence[str], vectors: np.ndarray) -> Iterator[None]:
        """Serve these vectors, in this order, for the duration of one write."""
        self._texts, self._vectors, self._next = list(texts), vectors, 0
        try:
            yield
            if self._next != len(self._texts):
                raise CollectionError(
                    f"a copy write took {self._next} of {len(self._texts)} vectors"
                )
        finally:
            self._texts, self._next = [], 0

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """A copy embeds nothing."""
        raise CollectionError("a reshard does not embed queries")

    def embed_passages(self, texts: Sequence[str], *, progress: bool | None = None) -> np.ndarray:
        """The next ``len(texts)`` copied vectors, which must belong to ``texts``."""
        end = self._next + len(texts)
        if list(texts) != self._texts[self._next : end]:
            raise CollectionError(
                "a reshard write asked for vectors it was not given (nothing is re-embedded)"
            )
        rows = self._vectors[self._next : end]
        self._next = end
        return np.ascontiguousarray(rows, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Passages arrive cut already."""
        return [0 for _ in texts]


class _Destination:
    """One destination shard: its one writer and the articles waiting to be written."""

    def __init__(self, writer: Collection, supplied: CopiedVectors) -> None:
        self.writer = writer
        self._supplied = supplied
        self.pending: list[_Copied] = []
        self.passages = 0
        self.writes = 0

    def add(self, item: _Copied) -> None:
        self.pending.append(item)
        self.passages += len(item.record.passages)

    def flush(self) -> None:
        """Write what is pending: tagged and untagged articles apart (an untagged one must
        stay untagged, so that ``index enrich`` still finds it)."""
        tagged = [c for c in self.pending if c.mentions is not None]
        untagged = [c for c in self.pending if c.mentions is None]
        for group, entities in ((tagged, True), (untagged, False)):
            if group:
                self._write(group, entities)
        self.pending, self.passages = [], 0

    def _write(self, group: list[_Copied], with_entities: bool) -> None:
        items: list[tuple[Article, list[Passage]]] = [
            (c.record.article, c.record.passages) for c in group
        ]
        texts = [p.text for _, passages in items for p in passages]
        vectors = (
            np.concatenate([c.vectors for c in group])
            if texts
            else np.zeros((0, self._supplied.dimension))
        )
        self.writer.entities = (
            SuppliedEntities({c.record.article.id: _entities(c) for c in group})
            if with_entities
            else None
        )
        try:
            with self._supplied.supplying(texts, vectors):
                self.writer.upsert(items)
        finally:
            self.writer.entities = None
        self.writes += 1


@dataclass(kw_only=True)
class _Tally:
    articles: int = 0
    passages: int = 0
    tagged: int = 0


def reshard_cluster(
    source: str | Path, dest: str | Path, shards: int, config: ReshardConfig = DEFAULT_RESHARD
) -> ReshardReport:
    """Copy the sharded collection ``source`` into ``dest`` with ``shards`` shards.

    Args:
        source: A sharded collection (left as it is; it may be searched meanwhile).
        dest: Absent or empty directory.
        shards: The new shard count.
        config: Batch sizes.

    Returns:
        What was written.

    Raises:
        InputError: ``source`` is no cluster, ``dest`` is not empty or lies inside
            ``source``, ``shards`` out of range, or a shard keeps vectors that cannot be
            read back (:data:`COPYABLE_KINDS`).
        CollectionError: The source is inconsistent (an article in a shard it does not
            route to).
    """
    src, root = Path(source), Path(dest)
    if not is_cluster(src):
        hint = ": use `semsearch shard split` for one collection" if Collection.exists(src) else ""
        raise InputError(f"{src} holds no sharded collection{hint}")
    check_new_cluster_dir(root, shards)
    if root.resolve().is_relative_to(src.resolve()):
        raise InputError(f"{root} lies inside the source cluster {src}")
    old = read_cluster(src)
    manifest = ClusterManifest(
        shards=shards,
        model_name=old.model_name,
        model_fingerprint=old.model_fingerprint,
        dimension=old.dimension,
    )
    with cluster_under_construction(root):
        with ExitStack() as stack:
            readers = [
                stack.enter_context(Collection.open(old.shard_path(src, i), None, read_only=True))
                for i in range(old.shards)
            ]
            plan = _index_plan(readers)
            supplied = CopiedVectors(manifest)
            targets = []
            for index in range(shards):
                writer = Collection.create(
                    manifest.shard_path(root, index),
                    supplied,
                    kind=plan.kind,
                    params=dict(plan.params),
                    analyzer=plan.analyzer,
                )
                stack.callback(writer.close)
                targets.append(_Destination(writer, supplied))
            tally = _Tally()
            for index, reader in enumerate(readers):
                _copy_shard(reader, index, old.shards, targets, config, tally)
            for target in targets:
                target.flush()
            writes = sum(t.writes for t in targets)
        write_atomic(root / CLUSTER_MANIFEST, manifest.to_json().encode("utf-8"))
    return ReshardReport(
        manifest=manifest,
        articles=tally.articles,
        passages=tally.passages,
        tagged=tally.tagged,
        writes=writes,
    )


def _index_plan(readers: Sequence[Collection]) -> _IndexPlan:
    """The vector kind and analyzer every source shard uses, which the new shards take."""
    plans = set()
    for reader in readers:
        info = reader.info()
        kinds = {s["kind"] for s in info.segments} | {info.index_kind}
        refused = sorted(kinds - set(COPYABLE_KINDS))
        if refused:
            raise InputError(
                f"{reader.path} keeps {refused[0]} vectors, which cannot be copied as they are"
                f" (only {', '.join(COPYABLE_KINDS)}): rebuild each shard as one of those first"
                " (semsearch index optimize --kind hnsw --index SHARD)"
            )
        kind = "auto" if info.index_auto else info.index_kind
        params = (
            {} if info.index_auto else {k: v for k, v in info.index_params.items() if k != "build"}
        )
        plans.add((kind, repr(sorted(params.items())), info.lexical_analyzer))
        plan = _IndexPlan(kind=kind, params=params, analyzer=info.lexical_analyzer)
    if len(plans) > 1:
        raise InputError(
            "the source shards differ in index kind or analyzer: rebuild them alike first"
            " (semsearch index optimize / index reanalyze on each shard)"
        )
    return plan


def _copy_shard(
    reader: Collection,
    index: int,
    count: int,
    targets: list[_Destination],
    config: ReshardConfig,
    tally: _Tally,
) -> None:
    """Route every article of one source shard, read inside one snapshot."""
    with reader._snapshot() as vectors:
        conn = reader._conn
        after: str | None = None
        while ids := article_ids_after(conn, after, config.read_articles):
            after = ids[-1]
            for item in _read_page(conn, vectors, ids, reader.path):
                article_id = item.record.article.id
                if shard_of(article_id, count) != index:
                    raise CollectionError(
                        f"{reader.path}: article {article_id[:80]!r} belongs in shard"
                        f" {shard_of(article_id, count)}; the source cluster is inconsistent"
                    )
                target = targets[shard_of(article_id, len(targets))]
                target.add(item)
                tally.articles += 1
                tally.passages += len(item.record.passages)
                tally.tagged += item.mentions is not None
                if target.passages >= config.write_passages:
                    target.flush()
            while sum(t.passages for t in targets) > config.buffer_passages:
                max(targets, key=lambda t: t.passages).flush()


def _read_page(
    conn: store.Connection, vectors: SegmentedVectors, ids: list[str], path: Path
) -> list[_Copied]:
    """A page of articles with their vectors and mentions, from the caller's snapshot."""
    records = stored_records(conn, ids)
    mentions = article_mentions(conn, ids)
    passage_ids = np.asarray([i for r in records for i in r.passage_ids], dtype=np.int64)
    found = vectors.reconstruct(passage_ids)
    if found is None:
        raise CollectionError(f"{path}: vectors of live passages are missing from the index")
    out, row = [], 0
    for record in records:
        size = len(record.passages)
        out.append(
            _Copied(
                record=record,
                vectors=found[row : row + size],
                mentions=mentions.get(record.article.id),
            )
        )
        row += size
    return out


def _entities(item: _Copied) -> ArticleEntities:
    """The stored mentions of an article as the tagger found them (offsets, forms, fields)."""
    from semsearch.embedder.entities import ArticleEntities, EntityType, Mention

    position = {pid: i for i, pid in enumerate(item.record.passage_ids)}
    groups: list[list[Mention]] = [[] for _ in item.record.passages]
    headings: dict[str, list[Mention]] = {}
    for row in item.mentions or []:
        mention = Mention(row.start, row.end, EntityType(row.type), row.printed, row.name)
        if row.passage_id is None:
            headings.setdefault(row.field or "", []).append(mention)
        elif row.passage_id in position:
            groups[position[row.passage_id]].append(mention)
        else:
            raise CollectionError(
                f"article {item.record.article.id[:80]!r} has a mention in passage {row.passage_id}, not its own"
            )
    return ArticleEntities(
        passages=tuple(tuple(g) for g in groups),
        headings={k: tuple(v) for k, v in headings.items()},
    )


__all__ = [
    "COPYABLE_KINDS",
    "DEFAULT_RESHARD",
    "CopiedVectors",
    "ReshardConfig",
    "ReshardReport",
    "reshard_cluster",
]
