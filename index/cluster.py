"""A sharded collection on disk: N ordinary collections and a small cluster manifest.

Layout of a cluster directory::

    cluster.json        shard count, routing rule, model (name, fingerprint, dimension)
    shard-000/          an ordinary collection (see index.collection)
    shard-001/
    ...

An article lives in exactly one shard, chosen by a stable hash of its id
(:func:`shard_of`): the first 8 bytes of its BLAKE2b digest, modulo the shard count. Python's
``hash`` is salted per process and so cannot route. Passage ids are each shard's own; the
cluster shows them striped (:func:`global_passage_id`), so they stay unique cluster-wide
while every shard allocates ids on its own.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from semsearch.embedder.base import TextEmbedder
from semsearch.index.backup import backup_collection
from semsearch.index.collection import Collection
from semsearch.index.errors import CollectionError, InputError
from semsearch.index.manifest import write_atomic

CLUSTER_MANIFEST = "cluster.json"
ROUTING = "blake2b-64-mod"
# More shards than this on one cluster is a typo, not a plan (docs/distributed.md).
MAX_SHARDS = 256


@dataclass(frozen=True, kw_only=True)
class ClusterManifest:
    """What a sharded collection is.

    Attributes:
        shards: Number of shards (each ``shard-NNN`` beside the manifest).
        routing: The routing rule's name (:data:`ROUTING`).
        model_name: The model the shards were built with.
        model_fingerprint: Its weights' identity (every shard records the same).
        dimension: Vector length.
    """

    shards: int
    routing: str = ROUTING
    model_name: str
    model_fingerprint: str
    dimension: int

    def shard_path(self, root: Path, index: int) -> Path:
        """Directory of shard ``index`` under the cluster directory ``root``."""
        return root / shard_name(index)

    def to_json(self) -> str:
        """Serialise to pretty JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def shard_name(index: int) -> str:
    """Directory name of shard ``index``."""
    return f"shard-{index:03d}"


def shard_of(article_id: str, shards: int) -> int:
    """The shard an article lives in: stable across processes, machines and releases."""
    digest = hashlib.blake2b(article_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def global_passage_id(local_id: int, shard: int, shards: int) -> int:
    """A shard's passage id as the cluster shows it (unique across shards)."""
    return local_id * shards + shard


def local_passage_id(global_id: int, shards: int) -> tuple[int, int]:
    """``(shard, local id)`` of a cluster passage id."""
    return global_id % shards, global_id // shards


def is_cluster(path: str | Path) -> bool:
    """Whether ``path`` holds a sharded collection (its cluster manifest is there)."""
    return (Path(path) / CLUSTER_MANIFEST).is_file()


def read_cluster(path: str | Path) -> ClusterManifest:
    """Read and check a cluster manifest.

    Raises:
        CollectionError: Missing, unreadable, or its shards are not all there.
    """
    root = Path(path)
    try:
        data: dict[str, Any] = json.loads((root / CLUSTER_MANIFEST).read_text(encoding="utf-8"))
        manifest = ClusterManifest(**data)
    except FileNotFoundError:
        raise CollectionError(f"{root} holds no sharded collection ({CLUSTER_MANIFEST} missing)") from None
    except (ValueError, TypeError) as exc:
        raise CollectionError(f"{root / CLUSTER_MANIFEST} is unreadable: {exc}") from None
    if manifest.routing != ROUTING:
        raise CollectionError(f"{root}: unknown routing rule {manifest.routing!r}")
    missing = [
        shard_name(i) for i in range(manifest.shards) if not Collection.exists(manifest.shard_path(root, i))
    ]
    if missing:
        raise CollectionError(f"{root}: shards missing: {', '.join(missing)}")
    return manifest


def check_new_cluster_dir(dest: Path, shards: int) -> None:
    """Refuse a shard count out of range, or a destination that is not absent or empty."""
    if not 1 <= shards <= MAX_SHARDS:
        raise InputError(f"--shards must be between 1 and {MAX_SHARDS}, got {shards}")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InputError(f"{dest} exists and is not an empty directory")


@contextmanager
def cluster_under_construction(root: Path) -> Iterator[None]:
    """Make ``root`` (checked absent or empty) for the ``with`` block to fill; if the block
    fails, empty it again: half a cluster is no cluster, so the directory is left as it
    was given. The block writes the manifest last."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        for child in root.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise


def create_cluster(dest: str | Path, embedder: TextEmbedder, shards: int) -> ClusterManifest:
    """Make an empty sharded collection: ``shards`` empty collections and the manifest.

    Args:
        dest: Absent or empty directory.
        embedder: The model every shard records.
        shards: How many shards.

    Returns:
        The manifest written.
    """
    root = Path(dest)
    check_new_cluster_dir(root, shards)
    manifest = ClusterManifest(
        shards=shards,
        model_name=embedder.model_name,
        model_fingerprint=embedder.fingerprint,
        dimension=embedder.dimension,
    )
    root.mkdir(parents=True, exist_ok=True)
    for index in range(shards):
        Collection.create(manifest.shard_path(root, index), embedder).close()
    # Last: a directory without the manifest is not a cluster, so a crash leaves none.
    write_atomic(root / CLUSTER_MANIFEST, manifest.to_json().encode("utf-8"))
    return manifest


def split_collection(
    source: str | Path, dest: str | Path, embedder: TextEmbedder | None, shards: int
) -> ClusterManifest:
    """Split a collection into a sharded one, copying vectors (nothing is re-embedded).

    Each shard starts as a consistent copy of the source (its backup) and then deletes the
    articles another shard owns, so every field, layout and vector is the source's. The
    source stays as it is and may be in use meanwhile.

    Args:
        source: A collection.
        dest: Absent or empty directory.
        embedder: The source's model (None: only flat and HNSW kinds, whose vectors can be
            read back, are split).
        shards: How many shards.

    Returns:
        The manifest written.
    """
    src, root = Path(source), Path(dest)
    if not Collection.exists(src):
        hint = ": use `semsearch shard reshard` for a sharded one" if is_cluster(src) else ""
        raise InputError(f"{src} holds no collection{hint}")
    check_new_cluster_dir(root, shards)
    with cluster_under_construction(root):
        with Collection.open(src, embedder, read_only=True) as reader:
            info = reader.info()
        for index in range(shards):
            path = root / shard_name(index)
            backup_collection(src, path)
            with Collection.open(path, embedder) as shard:
                ids = shard.article_texts().keys()
                shard.delete([a for a in ids if shard_of(a, shards) != index])
        manifest = ClusterManifest(
            shards=shards,
            model_name=info.model,
            model_fingerprint=info.model_fingerprint,
            dimension=info.dimension,
        )
        write_atomic(root / CLUSTER_MANIFEST, manifest.to_json().encode("utf-8"))
    return manifest


__all__ = [
    "CLUSTER_MANIFEST",
    "ClusterManifest",
    "check_new_cluster_dir",
    "cluster_under_construction",
    "create_cluster",
    "global_passage_id",
    "is_cluster",
    "local_passage_id",
    "read_cluster",
    "shard_of",
    "split_collection",
]
