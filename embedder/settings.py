"""The one configuration object: ``SEMSEARCH_*`` environment variables plus CLI flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL_NAME = "multilingual-e5-small"

Backend = Literal["auto", "openvino", "onnx-int8", "torch"]

# Input size limits (Settings fields below; IngestOptions takes the same defaults). A long
# news article is some 50 KB; 4 MiB leaves room for books, yet a runaway single-line file
# stops being read at 4 MiB instead of being cleaned, analysed and embedded whole.
DEFAULT_MAX_RECORD_BYTES = 4 << 20
# A headline is tens of characters; a longer "title" is a body in the wrong field.
DEFAULT_MAX_TITLE_CHARS = 1000
# No setting raises the title limit past this: every passage is indexed with its article's
# title, so the title's length multiplies the index size (Collection.upsert checks it too).
MAX_TITLE_CHARS_CEILING = 10_000


def _data_dir() -> Path:
    return Path(user_data_dir("semsearch", appauthor=False))


class Settings(BaseSettings):
    """The settings of a semsearch process (model, data directory, cache, threads...).

    A collection's own tunables (merge policy, automatic kinds, match set, engine) are an
    ``index.config.IndexConfig``, which lists every default.

    Each field can be set by an environment variable ``SEMSEARCH_<FIELD>`` (for example
    ``SEMSEARCH_INDEX=/srv/archive``) and most by a CLI flag of the same name, which wins.
    """

    model_config = SettingsConfigDict(env_prefix="SEMSEARCH_", extra="ignore")

    data_dir: Path = Field(
        default_factory=_data_dir, description="Root for models, caches, indexes."
    )
    model: str | None = Field(
        default=None,
        description="Sentence-transformers model path or hub name; default: the installed bundled model.",
    )
    model_dir: Path | None = Field(
        default=None, description="Where `semsearch model install` puts the bundled model."
    )
    index: Path | None = Field(default=None, description="Collection directory.")
    backend: Backend = Field(
        default="auto",
        description="Embedding backend: openvino (fastest; bf16 on AMX CPUs), onnx-int8 (fast), torch (fp32); auto = the first of these that can be built.",
    )
    threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    batch_size: int = Field(default=32, ge=1, le=4096)
    max_seq_length: int = Field(default=512, ge=16, le=8192)
    entities: bool = Field(
        default=True,
        description="Tag people, places and organisations of every article ingested (facets, filters, entity pages);"
        " ingest keeps 84% of its rate with it (docs/benchmarks.md). Off: run `semsearch index enrich` later.",
    )
    entity_threads: int = Field(
        default=1,
        ge=1,
        description="ONNX threads of the named-entity tagger (ingest also embeds: one leaves the other cores to the embedder).",
    )
    entity_batch_size: int = Field(
        default=32,
        ge=1,
        le=4096,
        description="Texts per call of the named-entity tagger (texts of similar length go together: fewer, fuller model calls).",
    )
    cache: bool = Field(default=True, description="Use the on-disk embedding cache.")
    cache_dir: Path | None = Field(
        default=None, description="Embedding cache directory; default DATA_DIR/cache."
    )
    artefact_dir: Path | None = Field(
        default=None,
        description="Where the fast backends' compiled models (int8 ONNX, OpenVINO) are built,"
        " apart from the embedding cache so that a fresh cache does not rebuild them; default"
        " DATA_DIR/artefacts. Builds that earlier releases left in the cache directory are"
        " still used.",
    )
    progress: bool = Field(default=True, description="Show progress bars on long jobs.")
    max_record_bytes: int = Field(
        default=DEFAULT_MAX_RECORD_BYTES,
        ge=1024,
        description="Largest input record (UTF-8 bytes of a line read, or of an article's title"
        " and text); a larger one is refused as bad input.",
    )
    max_title_chars: int = Field(
        default=DEFAULT_MAX_TITLE_CHARS,
        ge=1,
        le=MAX_TITLE_CHARS_CEILING,
        description="Longest accepted article title.",
    )

    def resolved_model_dir(self) -> Path:
        """Directory of the bundled model built by ``semsearch model install``."""
        return self.model_dir or self.data_dir / "models" / DEFAULT_MODEL_NAME

    def resolved_model(self) -> str:
        """The path or name handed to ``SentenceTransformer``."""
        return self.model or str(self.resolved_model_dir())

    def resolved_index(self) -> Path:
        """The collection directory to read and write."""
        return self.index or self.data_dir / "index"

    def resolved_cache_dir(self) -> Path:
        """Directory of the embedding cache."""
        return self.cache_dir or self.data_dir / "cache"

    def resolved_artefact_dir(self) -> Path:
        """Root of the compiled model artefacts (one folder per backend and model)."""
        return self.artefact_dir or self.data_dir / "artefacts"
