"""Settings of the HTTP service: :class:`embedder.settings.Settings` plus the fields below.

Every field reads an environment variable ``SEMSEARCH_<FIELD>``:

======================  =========  ====================================================
variable                default    meaning
======================  =========  ====================================================
SEMSEARCH_HOST          127.0.0.1  interface ``semsearch serve`` binds
SEMSEARCH_PORT          8000       port ``semsearch serve`` binds
SEMSEARCH_API_KEY       (none)     key for POST/DELETE /articles; writes are off without
SEMSEARCH_MAX_QUERY_CHARS 1000     longest query (or ``text`` for /similar) accepted
SEMSEARCH_MAX_K         100        most results per page
SEMSEARCH_MAX_OFFSET    1000       deepest page start
SEMSEARCH_MAX_BODY_BYTES 10000000  largest request body (413 beyond)
SEMSEARCH_MAX_BATCH_ARTICLES 1000  most articles in one POST /articles
SEMSEARCH_QUERY_CACHE_SIZE 1024    query embeddings kept in memory (0: none)
SEMSEARCH_BATCH_WINDOW_MS 0.0      extra wait of a micro-batch's first query for company
SEMSEARCH_MAX_QUERY_BATCH 32       most queries encoded in one model call (1: no batching)
SEMSEARCH_INGEST_ENGINE local      ``semsearch ingest`` engine: local or ray
SEMSEARCH_RAY_ADDRESS   (none)     Ray cluster to join (``auto``, ``ray://host:10001``);
                                   none: start a private local Ray
SEMSEARCH_RAY_WORKERS   2          embedding actors (one model each)
SEMSEARCH_RAY_CPUS_PER_WORKER 1    CPUs reserved by (and model threads of) each actor
SEMSEARCH_RAY_BATCH_PASSAGES 256   passages per actor call
SEMSEARCH_RAY_MAX_RESTARTS 3       restarts of a lost actor
SEMSEARCH_RAY_MAX_TASK_RETRIES 3   retries of a batch whose actor was lost
SEMSEARCH_BULK_SHARD_PASSAGES 100000  vectors per on-disk shard of a distributed job
SEMSEARCH_BULK_INDEX_KIND auto     vector index kind of a collection a bulk job creates
SEMSEARCH_BACKGROUND_MERGES true   ``serve`` folds vector segments on a thread behind its
                                   writes (false: inside each write, as the CLI does)
SEMSEARCH_PAGE_DIRS     (none)     directories (``:``-separated) whose PDFs and page
                                   images the page route may draw; none: no page is drawn
SEMSEARCH_MAX_PAGE_SIDE 4000       longest side of a drawn page, in pixels
SEMSEARCH_MAX_PAGE_PIXELS 50000000 largest page image decoded for drawing
SEMSEARCH_MAX_PAGE_RENDERS 2       pages drawn at once (503 ``busy`` beyond)
SEMSEARCH_MAX_WRITE_SECONDS 120    model time one POST /articles may take; beyond it the
                                   write is rolled back (422 ``limit_exceeded``)
======================  =========  ====================================================
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from semsearch.embedder.page_bounds import DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE, PageBounds
from semsearch.embedder.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class ServiceSettings(Settings):
    """The settings object of ``semsearch serve``: every model and index setting plus the
    HTTP host, port, write key and request limits (keyword arguments or environment)."""

    host: str = Field(default=DEFAULT_HOST, description="Interface to bind.")
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, description="Port to bind.")
    api_key: SecretStr | None = Field(
        default=None, description="Key required by write routes; writes are disabled when unset."
    )
    max_query_chars: int = Field(default=1000, ge=1, description="Longest accepted query.")
    max_k: int = Field(default=100, ge=1, description="Most results per page.")
    max_offset: int = Field(default=1000, ge=0, description="Deepest page start.")
    max_body_bytes: int = Field(default=10_000_000, ge=1024, description="Largest request body.")
    max_batch_articles: int = Field(default=1000, ge=1, description="Most articles per write.")
    query_cache_size: int = Field(default=1024, ge=0, description="In-memory query embeddings.")
    batch_window_ms: float = Field(
        default=0.0,
        ge=0.0,
        le=100.0,
        description="Extra wait of a micro-batch's first query; queries that arrive while the"
        " model is busy are batched without it.",
    )
    max_query_batch: int = Field(default=32, ge=1, description="Most queries per model call.")
    ingest_engine: Literal["local", "ray"] = Field(
        default="local", description="Where `semsearch ingest` embeds: this process or Ray."
    )
    ray_address: str | None = Field(
        default=None, description="Ray cluster address (auto, ray://...); none: local Ray."
    )
    ray_workers: int = Field(default=2, ge=1, description="Embedding actors (one model each).")
    ray_cpus_per_worker: int = Field(
        default=1, ge=1, description="CPUs each embedding actor reserves and its model uses."
    )
    ray_batch_passages: int = Field(default=256, ge=1, description="Passages per actor call.")
    ray_max_restarts: int = Field(default=3, ge=0, description="Restarts of a lost actor.")
    ray_max_task_retries: int = Field(
        default=3, ge=0, description="Retries of a batch whose actor was lost."
    )
    bulk_shard_passages: int = Field(
        default=100_000, ge=1, description="Vectors per on-disk shard of a distributed job."
    )
    bulk_index_kind: str = Field(
        default="auto", description="Vector index kind of a collection a bulk job creates."
    )
    cluster_replicas: int = Field(
        default=1, ge=1, description="Replicas of each shard's deployment (`serve --cluster`)."
    )
    cluster_shard_cpus: float = Field(
        default=0.5,
        gt=0.0,
        description="CPUs each shard replica reserves: a shard searches on one thread, and"
        " half a core lets 3 shards and the ingress share a 2-core machine.",
    )
    cluster_deadline_s: float = Field(
        default=5.0,
        gt=0.0,
        description="Seconds a shard has per search round before the answer goes on without"
        " it (`partial`).",
    )
    background_merges: bool = Field(
        default=True,
        description="Fold vector segments on a server thread behind its writes, so a write"
        " never waits for a merge (false: merge inside the write that calls for it).",
    )

    page_dirs: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description="Directories whose PDFs and page images the page route may draw (in the"
        " environment, separated by the path separator); none: the route draws no page.",
    )
    max_page_side: int = Field(
        default=DEFAULT_MAX_SIDE, ge=16, le=20_000, description="Longest side of a drawn page."
    )
    max_page_pixels: int = Field(
        default=DEFAULT_MAX_PIXELS, ge=20_000, description="Largest page image decoded to draw."
    )
    max_page_renders: int = Field(default=2, ge=1, description="Pages drawn at once.")
    max_write_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Embedding time one write may take before it is rolled back.",
    )

    @field_validator("page_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(Path(part) for part in value.split(os.pathsep) if part.strip())
        return value

    @property
    def page_bounds(self) -> PageBounds:
        """The size bounds of one page drawing."""
        return PageBounds(max_side=self.max_page_side, max_pixels=self.max_page_pixels)

    @property
    def writes_enabled(self) -> bool:
        """True when an API key is configured."""
        return self.api_key is not None and bool(self.api_key.get_secret_value())
