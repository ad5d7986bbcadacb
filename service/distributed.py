"""Distributed ingest on Ray: embed on a cluster, then write the collection as local ingest does.

A job runs in two stages so that the collection only changes when everything worked:

1. **Embed.** The driver reads, cleans and cuts the input (the same code as local ingest)
   and hands the distinct passage texts to Ray Data. An actor pool of :class:`EmbedActor`
   (one :class:`~embedder.embedder.Embedder`, loaded once, per actor) embeds them; each
   actor uses its node's embedding cache, so text embedded before costs no model time.
   Vectors stream back to the driver, which writes them to disk as shards
   (:mod:`index.bulk`). Ray restarts a lost actor and retries its batch. Nothing in the
   collection has been touched yet, so a failed job leaves the old state intact.
2. **Commit.** One :meth:`index.Collection.upsert` over the input read again, with an
   embedder that serves vectors from the memory-mapped shards: ids, replaced articles,
   the lexical index and the manifest are handled exactly as in local ingest, in one atomic
   write. A new collection first gets an index trained on a sample of the whole job
   (:func:`index.bulk.trained_empty_index`), recorded in ``index_params["build"]``. Named
   entities are tagged in this write, as local ingest tags them (``settings.entities``).

Into a sharded collection (:func:`ingest_cluster`) the embed stage is the same; the commit
stage routes each article to its shard (the manifest's rule) and runs one Ray task per
shard, which tags that shard's articles and writes them with the vectors of stage 1 in one
atomic write of the shard. The shards are written in parallel and each by one task, so no
shard has two writers. A failed task leaves its shard as it was and the others written;
the result says which, and running the same input again completes the job (an upsert of
unchanged articles changes nothing). The shard directories must be reachable from the
nodes that write them (one machine, or a shared file system).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.embedder import Embedder
from semsearch.embedder.errors import InputError, SemsearchError
from semsearch.embedder.records import Article, Passage
from semsearch.embedder.settings import Settings
from semsearch.index import KINDS, Collection, UpsertReport
from semsearch.index.bulk import ShardStore, ShardWriter, keys_array, text_key, trained_empty_index
from semsearch.index.cluster import ClusterManifest, read_cluster, shard_of
from semsearch.index.errors import ModelMismatchError
from semsearch.index.shard import ShardWrite, write_shard
from semsearch.service.config import ServiceSettings
from semsearch.service.context import (
    EmbedderLoader,
    ExtractorLoader,
    collection_path,
    load_embedder,
)

INSTALL_HINT = 'pip install "semsearch[distributed]"'
Items = Iterator[tuple[Article, list[Passage]]]


def require_ray() -> Any:
    """Import Ray (with Ray Data), or fail with the one line that says what to install.

    Returns:
        The ``ray`` module.

    Raises:
        InputError: Ray is not installed.
    """
    try:
        import ray
        import ray.data  # the extra installs both; check both
    except ImportError as exc:
        raise InputError(f"--engine ray needs Ray; install it with: {INSTALL_HINT}") from exc
    return ray


class EmbedActor:
    """Ray Data callable class: one model per actor, loaded once, applied to every batch.

    The model settings are a class attribute (see :func:`bind_settings`) rather than
    constructor arguments, which Ray would keep in the object store for actor restarts.
    """

    settings: Settings | None = None

    def __init__(self) -> None:
        self._embedder = Embedder.from_settings(self.settings)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Embed one batch of ``{"key", "text"}`` rows into ``{"key", "vector"}``."""
        texts = [str(text) for text in batch["text"]]
        return {"key": batch["key"], "vector": self._embedder.embed_passages(texts, progress=False)}


class ShardEmbedder:
    """A ``TextEmbedder`` whose passage vectors come from a job's shards.

    Texts missing from the shards (e.g. older passages a rebuild needs) go to the local
    embedder, which counts them in :attr:`embedded_here`.

    Args:
        store: The job's vectors.
        local: The driver's embedder (identity, tokenizer, queries, misses).
    """

    def __init__(self, store: ShardStore, local: TextEmbedder) -> None:
        self._store = store
        self._local = local
        self.embedded_here = 0

    @property
    def fingerprint(self) -> str:
        """Identity of the model weights."""
        return self._local.fingerprint

    @property
    def model_name(self) -> str:
        """The model as the user named it."""
        return self._local.model_name

    @property
    def dimension(self) -> int:
        """Vector length."""
        return self._local.dimension

    @property
    def max_tokens(self) -> int:
        """Token budget of one passage."""
        return self._local.max_tokens

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries locally."""
        return self._local.embed_queries(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each passage, from the local tokenizer."""
        return self._local.count_tokens(texts)

    def embed_passages(self, texts: Sequence[str], *, progress: bool | None = None) -> np.ndarray:
        """Vectors of ``texts`` from the shards (local embedding for any not there).

        Args:
            texts: Passages.
            progress: Passed on for texts embedded locally.

        Returns:
            ``(len(texts), dimension)`` float32.
        """
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        positions = self._store.find(keys_array([text_key(t) for t in texts]))
        hit = positions >= 0
        out[hit] = self._store.vectors_at(positions[hit])
        missing = np.flatnonzero(~hit)
        if len(missing):
            out[missing] = self._local.embed_passages(
                [texts[int(i)] for i in missing], progress=progress
            )
            self.embedded_here += len(missing)
        return out


@dataclass
class EmbedJob:
    """What the Ray stage did."""

    texts: int = 0  # distinct passage texts sent
    rows: int = 0  # vectors received (a retried batch may repeat some)
    shards: int = 0
    seconds: float = 0.0
    workers: int = 0


@dataclass
class DistributedIngest:
    """Result of :func:`ingest`."""

    report: UpsertReport
    path: Path
    job: EmbedJob
    embedded_on_driver: int
    commit_seconds: float


@contextmanager
def ray_session(settings: ServiceSettings) -> Iterator[Any]:
    """Join the configured cluster, or start a private local Ray; reuse one already joined.

    Args:
        settings: ``ray_address`` (``auto``, ``ray://host:port``) or none for local.

    Yields:
        The ``ray`` module.
    """
    ray = require_ray()
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"logging_level": logging.WARNING, "include_dashboard": False}
        if settings.ray_address:
            options["address"] = settings.ray_address
        else:
            # A private Ray must fit the requested pool even on a small machine, or the pool
            # would wait forever for CPUs that do not exist.
            wanted = settings.ray_workers * settings.ray_cpus_per_worker
            options["num_cpus"] = max(os.cpu_count() or 1, wanted)
        ray.init(**options)
        started = True
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def bind_settings(actor: type[EmbedActor], settings: ServiceSettings) -> type[EmbedActor]:
    """A subclass of ``actor`` carrying the model settings an actor needs.

    Args:
        actor: :class:`EmbedActor` or a subclass.
        settings: Effective settings; the service fields (API key...) are left out and
            each actor's model threads are its reserved CPUs.

    Returns:
        The class to hand to Ray Data (pickled by value with its settings).
    """
    fields = settings.model_dump(include=set(Settings.model_fields))
    fields.update(threads=settings.ray_cpus_per_worker, progress=False)
    return type(actor.__name__, (actor,), {"settings": Settings(**fields)})


def _text_blocks(items: Items, block: int) -> Iterator[tuple[list[bytes], list[str]]]:
    """Distinct passage texts of ``items`` as ``(keys, texts)`` blocks."""
    seen: set[bytes] = set()
    keys: list[bytes] = []
    texts: list[str] = []
    for _article, passages in items:
        for passage in passages:
            key = text_key(passage.text)
            if key in seen:
                continue
            seen.add(key)
            keys.append(key)
            texts.append(passage.text)
            if len(keys) >= block:
                yield keys, texts
                keys, texts = [], []
    if keys:
        yield keys, texts


def embed_on_ray(
    ray: Any,
    items: Items,
    settings: ServiceSettings,
    spill: Path,
    *,
    dimension: int,
    actor: type[EmbedActor] | None = None,
) -> EmbedJob:
    """Embed the distinct passage texts of ``items`` on Ray; write vector shards to ``spill``.

    Args:
        ray: The joined ``ray`` module.
        items: ``(article, passages)`` pairs.
        settings: Pool size, batch size, retry limits, shard size.
        spill: Directory for the shards (driver side).
        dimension: Vector length.
        actor: Callable class for the pool (default :class:`EmbedActor`).

    Returns:
        What was done.
    """
    import pyarrow as pa

    began = time.perf_counter()
    job = EmbedJob(workers=settings.ray_workers)
    refs = []
    # One actor batch per block, so that small jobs still spread over the whole pool.
    for keys, texts in _text_blocks(items, settings.ray_batch_passages):
        table = pa.table({"key": pa.array(keys, pa.binary()), "text": pa.array(texts, pa.string())})
        refs.append(ray.put(table))
        job.texts += len(keys)
    writer = ShardWriter(spill, dimension, settings.bulk_shard_passages)
    if refs:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = settings.progress
        if not settings.progress:
            logging.getLogger("ray.data").setLevel(logging.ERROR)
        with warnings.catch_warnings():
            # Ray 2.60 deprecates actor options as keyword arguments but offers no named
            # parameter for restarts and retries yet; they are still honoured.
            warnings.simplefilter("ignore", DeprecationWarning)
            dataset = ray.data.from_arrow_refs(refs).map_batches(
                bind_settings(actor or EmbedActor, settings),
                batch_size=settings.ray_batch_passages,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=settings.ray_workers),
                num_cpus=settings.ray_cpus_per_worker,
                # A lost actor is restarted and its batch retried, within these limits.
                max_restarts=settings.ray_max_restarts,
                max_task_retries=settings.ray_max_task_retries,
            )
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            writer.add(keys_array([bytes(k) for k in batch["key"]]), batch["vector"])
        writer.flush()
    job.rows, job.shards = writer.rows, writer.shards
    job.seconds = time.perf_counter() - began
    return job


def _embed_stage(
    settings: ServiceSettings,
    items: Items,
    spill: Path,
    *,
    dimension: int,
    actor: type[EmbedActor] | None,
    unchanged: Path,
) -> tuple[EmbedJob, ShardStore]:
    """Stage 1 on the joined Ray: every distinct passage text embedded into ``spill``."""
    ray = require_ray()
    try:
        job = embed_on_ray(ray, items, settings, spill, dimension=dimension, actor=actor)
    except ray.exceptions.RayError as exc:
        # Ray's own report (stack traces, memory tables) is already on stderr.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise SemsearchError(
            f"the Ray job failed ({type(exc).__name__}: {first}); {unchanged} is unchanged"
        ) from exc
    store = ShardStore(spill)
    if store.unique_keys() != job.texts:
        raise SemsearchError(
            f"the Ray job returned vectors for {store.unique_keys()} of {job.texts} texts"
        )
    return job, store


def ingest(
    settings: ServiceSettings,
    items: Callable[[TextEmbedder], Items],
    *,
    actor: type[EmbedActor] | None = None,
    load: EmbedderLoader = load_embedder,
    extractor: ExtractorLoader | None = None,
) -> DistributedIngest:
    """Embed on Ray, then add everything to the collection in one atomic write.

    Args:
        settings: Effective settings (collection, model, Ray and bulk fields).
        items: Given an embedder (for its tokenizer), yields the input's
            ``(article, passages)``; called twice (embed, then commit), same output each time.
        actor: Callable class for the pool (default :class:`EmbedActor`; tests inject faults).
        load: Builds the driver's own embedder (the actors load theirs from ``settings``).
        extractor: Builds the entity tagger the commit tags with when ``settings.entities``
            (None: no entities).

    Returns:
        The write report, the collection path and what the Ray stage did.
    """
    if settings.bulk_index_kind != "auto" and settings.bulk_index_kind not in KINDS:
        raise InputError(
            f"unknown bulk index kind {settings.bulk_index_kind!r}; choose auto or one of {', '.join(KINDS)}"
        )
    require_ray()
    local = load(settings)
    path = collection_path(settings, must_exist=False)
    if Collection.exists(path):
        # A model mismatch (or a broken collection) fails now, not after the cluster's work.
        Collection.open(path, local).close()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Loaded before the cluster's work, so a tagger that cannot load costs no model time.
    tagger = extractor(settings) if extractor is not None and settings.entities else None
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.ray-", dir=path.parent) as tmp:
        spill = Path(tmp)
        with ray_session(settings):
            job, store = _embed_stage(
                settings, items(local), spill, dimension=local.dimension, actor=actor, unchanged=path
            )
        began = time.perf_counter()
        shards = ShardEmbedder(store, local)
        with Collection.open(path, shards, create=True, entities=tagger) as collection:
            if collection.info().passages == 0:
                build = {
                    "engine": "ray",
                    "workers": job.workers,
                    "texts": job.texts,
                    "shards": job.shards,
                }
                index = trained_empty_index(
                    local.dimension,
                    settings.bulk_index_kind,
                    {},
                    expected=job.texts,
                    store=store,
                    build=build,
                )
                collection.prepare_bulk(index, auto=settings.bulk_index_kind == "auto")
            report = collection.upsert(items(shards))
    return DistributedIngest(report, path, job, shards.embedded_here, time.perf_counter() - began)


@dataclass(frozen=True)
class ShardPart:
    """One shard's part of a cluster ingest: what was routed there and what became of it."""

    shard: int
    articles: int
    passages: int
    report: UpsertReport | None  # None: the shard was not written
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The CLI's JSON form."""
        out: dict[str, Any] = {
            "shard": self.shard,
            "articles": self.articles,
            "passages": self.passages,
            "written": self.report is not None,
        }
        if self.report is not None:
            out.update(
                added=self.report.added,
                replaced=self.report.replaced,
                unchanged=self.report.metadata_only + self.report.unchanged,
            )
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass
class ClusterIngest:
    """Result of :func:`ingest_cluster`: the shards' reports summed (those written), each
    shard's part, and what the Ray stages did."""

    report: UpsertReport
    path: Path
    job: EmbedJob
    parts: list[ShardPart]
    write_seconds: float

    @property
    def failed(self) -> list[int]:
        """Shards whose part was not written."""
        return [p.shard for p in self.parts if p.report is None]


def _write_part(
    path: str,
    manifest: ClusterManifest,
    write: ShardWrite,
    tagger: ExtractorLoader | None,
    settings: Settings,
) -> UpsertReport:
    """A Ray task: tag and write one shard's part (see :func:`index.shard.write_shard`)."""
    return write_shard(Path(path), manifest, write, None if tagger is None else tagger(settings))


def _route(items: Items, manifest: ClusterManifest) -> list[list[tuple[Article, list[Passage]]]]:
    routed: list[list[tuple[Article, list[Passage]]]] = [[] for _ in range(manifest.shards)]
    for article, passages in items:
        routed[shard_of(article.id, manifest.shards)].append((article, passages))
    return routed


def _vectors_of(store: ShardStore, group: list[tuple[Article, list[Passage]]], dimension: int) -> np.ndarray:
    """The stage-1 vectors of a group's passages, rows in passage order."""
    texts = [p.text for _, passages in group for p in passages]
    if not texts:
        return np.zeros((0, dimension), dtype=np.float32)
    positions = store.find(keys_array([text_key(t) for t in texts]))
    if (positions < 0).any():
        raise SemsearchError("the input changed between the Ray job's two reads; nothing was written")
    return np.ascontiguousarray(store.vectors_at(positions), dtype=np.float32)


def ingest_cluster(
    settings: ServiceSettings,
    items: Callable[[TextEmbedder], Items],
    *,
    actor: type[EmbedActor] | None = None,
    load: EmbedderLoader = load_embedder,
    extractor: ExtractorLoader | None = None,
) -> ClusterIngest:
    """Embed on Ray, then write every shard's part in parallel, one Ray task per shard.

    Args:
        settings: Effective settings; ``resolved_index()`` is the cluster's directory.
        items: As for :func:`ingest` (called twice: embed, then route).
        actor: Callable class for the embedding pool (default :class:`EmbedActor`).
        load: Builds the driver's embedder (tokenizer, identity).
        extractor: Builds the entity tagger each shard's task tags with when
            ``settings.entities`` (None: no entities).

    Returns:
        The summed report and each shard's part; a shard whose task failed is named in
        :attr:`ClusterIngest.failed` and left as it was.
    """
    root = settings.resolved_index()
    manifest = read_cluster(root)
    require_ray()
    local = load(settings)
    if local.fingerprint != manifest.model_fingerprint:
        raise ModelMismatchError(f"the cluster {root} was built with {manifest.model_name}; another model was given")
    if extractor is not None and settings.entities:
        # Load it here once, so a tagger that cannot load fails before the cluster's work.
        extractor(settings)
    tagger = extractor if settings.entities else None
    model = Settings(**settings.model_dump(include=set(Settings.model_fields)))
    with (
        tempfile.TemporaryDirectory(prefix=f".{root.name}.ray-", dir=root.parent) as tmp,
        ray_session(settings) as ray,
    ):
        job, store = _embed_stage(
            settings, items(local), Path(tmp), dimension=local.dimension, actor=actor, unchanged=root
        )
        began = time.perf_counter()
        routed = _route(items(local), manifest)
        write = ray.remote(num_cpus=1, max_retries=settings.ray_max_task_retries)(_write_part)
        pending = {
            i: write.remote(
                str(manifest.shard_path(root, i)),
                manifest,
                ShardWrite(items=group, vectors=_vectors_of(store, group, local.dimension)),
                tagger,
                model,
            )
            for i, group in enumerate(routed)
            if group
        }
        parts = [_collect(ray, i, group, pending.get(i)) for i, group in enumerate(routed)]
    total = UpsertReport()
    for part in parts:
        if part.report is None:
            continue
        for name in ("added", "replaced", "metadata_only", "unchanged", "passages_added", "passages_removed"):
            setattr(total, name, getattr(total, name) + getattr(part.report, name))
        total.generation = max(total.generation, part.report.generation)
    return ClusterIngest(total, root, job, parts, time.perf_counter() - began)


def _collect(ray: Any, shard: int, group: list[tuple[Article, list[Passage]]], ref: Any) -> ShardPart:
    """Wait for one shard's task; its failure is recorded, not raised (the others stand)."""
    articles, passages = len(group), sum(len(p) for _, p in group)
    if ref is None:
        return ShardPart(shard, 0, 0, UpsertReport())
    try:
        return ShardPart(shard, articles, passages, ray.get(ref))
    except ray.exceptions.RayError as exc:
        cause = getattr(exc, "cause", None) or exc
        lines = str(cause).strip().splitlines()
        return ShardPart(shard, articles, passages, None, f"{type(cause).__name__}: {lines[0] if lines else ''}"[:300])
