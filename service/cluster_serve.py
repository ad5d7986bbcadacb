"""``semsearch serve --cluster``: a sharded collection on Ray Serve.

One deployment per shard (``shard-000``, ``shard-001``…, each with
``cluster_replicas`` replicas) answers the shard's questions (:class:`ShardServer`); the
existing FastAPI app runs as the ingress deployment (:class:`ClusterIngress`), embeds each
query once and fans out through deployment handles (:class:`RayShard`). The HTTP API and
page are the same as for one collection. docs/distributed.md describes the layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from semsearch.embedder.errors import InputError
from semsearch.index._export import PassageVectors
from semsearch.index.cluster import read_cluster, shard_name
from semsearch.index.entities import EntityPage, EntityPageConfig
from semsearch.index.results import UpsertReport
from semsearch.index.shard import (
    CandidateAsk,
    Candidates,
    ExampleTexts,
    FinishAsk,
    Finished,
    ShardReader,
    ShardWrite,
    SuppliedVectors,
)
from semsearch.index.sharded import ClusterConfig
from semsearch.index.store import StoredPassage
from semsearch.index.store_entities import EntityRef
from semsearch.service.config import ServiceSettings
from semsearch.service.context import load_embedder, warm_up
from semsearch.service.runtime import ClusterRuntime

SERVE_HINT = 'pip install "semsearch[distributed]"'
APP_NAME = "semsearch"


def require_serve() -> Any:
    """Import Ray Serve, or fail with the one line that says what to install."""
    try:
        from ray import serve
    except ImportError as exc:
        raise InputError(f"serve --cluster needs Ray Serve; install it with: {SERVE_HINT}") from exc
    return serve


@dataclass(frozen=True, kw_only=True)
class ClusterPlan:
    """What to deploy: the cluster directory and the service's settings."""

    path: Path
    settings: ServiceSettings

    @property
    def config(self) -> ClusterConfig:
        """The ingress's shard deadlines."""
        return ClusterConfig(deadline_s=self.settings.cluster_deadline_s)


class ShardServer:
    """A shard replica: a :class:`ShardReader` over one shard directory (no model)."""

    def __init__(self, path: str, fingerprint: str, model_name: str, dimension: int) -> None:
        self._reader = ShardReader(Path(path), SuppliedVectors(fingerprint, model_name, dimension))
        # Before the replica reports ready: its first query must meet the deadline too.
        self._reader.warm_up()

    def candidates(self, ask: CandidateAsk) -> Candidates:
        """Round one of a search."""
        return self._reader.candidates(ask)

    def finish(self, ask: FinishAsk) -> Finished:
        """Round two of a search."""
        return self._reader.finish(ask)

    def example(self, passage_id: int | None, article_id: str | None) -> ExampleTexts | None:
        """Texts of a query by example."""
        return self._reader.example(passage_id, article_id)

    def passage(self, passage_id: int) -> StoredPassage | None:
        """One passage."""
        return self._reader.passage(passage_id)

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        """One article's fields."""
        return self._reader.get_article(article_id)

    def page_file(self, article_id: str) -> str | None:
        """An article's page file."""
        return self._reader.page_file(article_id)

    def article_with_passages(
        self, article_id: str
    ) -> tuple[dict[str, Any], list[StoredPassage]] | None:
        """An article with its passages."""
        return self._reader.article_with_passages(article_id)

    def article_texts(self) -> dict[str, str]:
        """Every article's text."""
        return self._reader.article_texts()

    def counts(self) -> tuple[int, int]:
        """``(articles, passages)``."""
        return self._reader.counts()

    def passage_vectors(self, article_ids: list[str] | None) -> PassageVectors:
        """Passages with vectors."""
        return self._reader.passage_vectors(article_ids)

    def ping(self) -> bool:
        """Up."""
        return True

    def top_entities(self, kind: str | None, limit: int) -> list[EntityRef]:
        """The shard's most named entities."""
        return self._reader.top_entities(kind, limit)

    def entity(self, kind: str, name: str, config: EntityPageConfig) -> EntityPage | None:
        """The shard's page of an entity."""
        return self._reader.entity(kind, name, config)

    def entity_refs(self, keys: list[tuple[str, str]]) -> list[EntityRef | None]:
        """The shard's count of each entity."""
        return self._reader.entity_refs(keys)

    def tagged_articles(self) -> int:
        """Articles the tagger has read."""
        return self._reader.tagged_articles()

    def cooccurrence(self, kind: str, name: str, others: list[tuple[str, str]]) -> list[int]:
        """Articles naming an entity together with each of others."""
        return self._reader.cooccurrence(kind, name, others)

    def upsert(self, write: ShardWrite) -> UpsertReport:
        """A routed write. With several replicas each holds a writer; the shard's file lock
        makes them take turns."""
        return self._reader.upsert(write)

    def delete(self, article_ids: Sequence[str]) -> int:
        """A routed delete."""
        return self._reader.delete(article_ids)


class RayShard:
    """A :class:`~semsearch.index.sharded.ShardClient` over a shard deployment's handle."""

    def __init__(self, handle: Any, deadline_s: float, write_deadline_s: float) -> None:
        self._handle = handle
        self._deadline = deadline_s
        self._write_deadline = write_deadline_s

    def _call(self, method: str, *args: Any, deadline: float | None = None) -> Any:
        response = getattr(self._handle, method).remote(*args)
        return response.result(timeout_s=deadline or self._deadline)

    def candidates(self, ask: CandidateAsk) -> Candidates:
        """Round one."""
        return self._call("candidates", ask)

    def finish(self, ask: FinishAsk) -> Finished:
        """Round two."""
        return self._call("finish", ask)

    def example(self, passage_id: int | None, article_id: str | None) -> ExampleTexts | None:
        """Texts of a query by example."""
        return self._call("example", passage_id, article_id)

    def passage(self, passage_id: int) -> StoredPassage | None:
        """One passage."""
        return self._call("passage", passage_id)

    def get_article(self, article_id: str) -> dict[str, Any] | None:
        """One article's fields."""
        return self._call("get_article", article_id)

    def page_file(self, article_id: str) -> str | None:
        """An article's page file."""
        return self._call("page_file", article_id)

    def article_with_passages(
        self, article_id: str
    ) -> tuple[dict[str, Any], list[StoredPassage]] | None:
        """An article with its passages."""
        return self._call("article_with_passages", article_id)

    def article_texts(self) -> dict[str, str]:
        """Every article's text."""
        return self._call("article_texts", deadline=self._write_deadline)

    def counts(self) -> tuple[int, int]:
        """``(articles, passages)``."""
        return tuple(self._call("counts"))

    def passage_vectors(self, article_ids: list[str] | None) -> PassageVectors:
        """Passages with vectors."""
        return self._call("passage_vectors", article_ids)

    def ping(self) -> bool:
        """Whether a replica answers."""
        return bool(self._call("ping"))

    def top_entities(self, kind: str | None, limit: int) -> list[EntityRef]:
        """The shard's most named entities."""
        return list(self._call("top_entities", kind, limit))

    def entity(self, kind: str, name: str, config: EntityPageConfig) -> EntityPage | None:
        """The shard's page of an entity."""
        return self._call("entity", kind, name, config)

    def entity_refs(self, keys: list[tuple[str, str]]) -> list[EntityRef | None]:
        """The shard's count of each entity."""
        return list(self._call("entity_refs", keys))

    def tagged_articles(self) -> int:
        """Articles the tagger has read."""
        return int(self._call("tagged_articles"))

    def cooccurrence(self, kind: str, name: str, others: list[tuple[str, str]]) -> list[int]:
        """Articles naming an entity together with each of others."""
        return list(self._call("cooccurrence", kind, name, others))

    def upsert(self, write: ShardWrite) -> UpsertReport:
        """A routed write."""
        return self._call("upsert", write, deadline=self._write_deadline)

    def delete(self, article_ids: Sequence[str]) -> int:
        """A routed delete."""
        return int(self._call("delete", list(article_ids), deadline=self._write_deadline))

    def close(self) -> None:
        """Nothing held here: the deployment owns the shard."""


class ClusterIngress:
    """The ingress replica: the service's FastAPI app over the shards' handles.

    The app is built on the replica (``__serve_build_asgi_app__``), after the handles
    arrive, so nothing of it is pickled; its loader loads the model in the background and
    ``/readyz`` turns ready when it has, as ``semsearch serve`` does.
    """

    def __init__(self, plan: ClusterPlan, *handles: Any) -> None:
        self._plan = plan
        self._handles = handles

    def __serve_build_asgi_app__(self) -> FastAPI:
        from semsearch.service.app import create_app

        return create_app(settings=self._plan.settings, loader=self._load)

    def _load(self) -> ClusterRuntime:
        plan = self._plan
        config = plan.config
        embedder = load_embedder(plan.settings)
        warm_up(embedder)
        shards = [RayShard(h, config.deadline_s, config.write_deadline_s) for h in self._handles]
        return ClusterRuntime(plan.path, embedder, plan.settings, shards, config)


def build_application(plan: ClusterPlan) -> Any:
    """The Serve application: one deployment per shard and the ingress bound to them."""
    serve = require_serve()
    manifest = read_cluster(plan.path)
    shards = []
    for index in range(manifest.shards):
        deployment = serve.deployment(
            ShardServer,
            name=shard_name(index),
            num_replicas=plan.settings.cluster_replicas,
            ray_actor_options={"num_cpus": plan.settings.cluster_shard_cpus},
        )
        shards.append(
            deployment.bind(
                str(manifest.shard_path(plan.path, index)),
                manifest.model_fingerprint,
                manifest.model_name,
                manifest.dimension,
            )
        )
    ingress = serve.deployment(
        serve.ingress()(ClusterIngress), name="ingress", ray_actor_options={"num_cpus": 0.5}
    )
    return ingress.bind(plan, *shards)


def deploy(plan: ClusterPlan, *, blocking: bool = False) -> Any:
    """Start Serve's HTTP proxy on the plan's host and port and run the application there.

    Ray must be initialised already (:func:`service.distributed.ray_session`).

    Returns:
        The ingress deployment's handle.
    """
    serve = require_serve()
    serve.start(http_options={"host": plan.settings.host, "port": plan.settings.port})
    # Serve logs every request and every handle call at INFO: at several calls per search
    # that is a cost per query; the app's own metrics (/metrics) count requests anyway.
    logging = {"enable_access_log": False, "log_level": "WARNING"}
    return serve.run(
        build_application(plan), name=APP_NAME, route_prefix="/", blocking=blocking, logging_config=logging
    )


__all__ = ["ClusterIngress", "ClusterPlan", "RayShard", "ShardServer", "build_application", "deploy"]
