"""semsearch: semantic, lexical and hybrid search for news archives.

The public Python API. Everything a library user needs is importable from here::

    import semsearch

    embedder = semsearch.Embedder.from_settings(semsearch.Settings())
    with semsearch.Collection.create("archive", embedder) as collection:
        collection.upsert(semsearch.prepare_articles(["page.txt"], embedder))
        response = collection.search("数字经济", k=5)

The packages below (``semsearch.embedder``, ``semsearch.index``, ``semsearch.service``) are
the implementation; names not listed in ``__all__`` may change between versions.
"""

from __future__ import annotations

from semsearch.embedder.base import TextEmbedder
from semsearch.embedder.embedder import Embedder
from semsearch.embedder.errors import InputError, ModelError, SemsearchError
from semsearch.embedder.ingest import (
    IngestInput,
    IngestOptions,
    IngestStats,
    iter_articles,
    prepare_articles,
)
from semsearch.embedder.records import Article, Paragraph, Passage, Region
from semsearch.embedder.settings import Settings
from semsearch.index import (
    ArticleFields,
    BackupReport,
    CheckReport,
    Collection,
    CollectionError,
    CollectionInfo,
    CollectionLockedError,
    EngineConfig,
    Filters,
    IndexConfig,
    KindPolicy,
    MatchConfig,
    MergePolicy,
    ModelMismatchError,
    ParsedQuery,
    PassageVectors,
    QuerySyntaxError,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SnippetStyle,
    StoredPassage,
    UpsertReport,
    parse_query,
    restore_collection,
)
from semsearch.index.cluster import ClusterManifest, create_cluster, split_collection
from semsearch.index.sharded import ClusterConfig, ShardedCollection, ShardUnavailableError

__version__ = "0.1.0"

__all__ = [
    "Article",
    "ArticleFields",
    "BackupReport",
    "CheckReport",
    "ClusterConfig",
    "ClusterManifest",
    "Collection",
    "CollectionError",
    "CollectionInfo",
    "CollectionLockedError",
    "Embedder",
    "EngineConfig",
    "Filters",
    "IndexConfig",
    "IngestInput",
    "IngestOptions",
    "IngestStats",
    "InputError",
    "KindPolicy",
    "MatchConfig",
    "MergePolicy",
    "ModelError",
    "ModelMismatchError",
    "Paragraph",
    "ParsedQuery",
    "Passage",
    "PassageVectors",
    "QuerySyntaxError",
    "Region",
    "SearchHit",
    "SearchRequest",
    "SearchResponse",
    "SemsearchError",
    "Settings",
    "ShardUnavailableError",
    "ShardedCollection",
    "SnippetStyle",
    "StoredPassage",
    "TextEmbedder",
    "UpsertReport",
    "__version__",
    "create_cluster",
    "iter_articles",
    "parse_query",
    "prepare_articles",
    "restore_collection",
    "split_collection",
]
