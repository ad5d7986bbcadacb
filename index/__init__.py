"""The index: a durable FAISS + SQLite collection with dense, lexical and hybrid search."""

from __future__ import annotations

from semsearch.index._engine import EngineConfig
from semsearch.index._export import ArticleFields, PassageVectors
from semsearch.index._search import FACET_FIELDS, MatchConfig
from semsearch.index.backup import BackupReport, restore_collection
from semsearch.index.collection import Collection
from semsearch.index.config import IndexConfig, KindPolicy, MergePolicy
from semsearch.index.entities import EnrichReport, EntityPage, EntityPageConfig
from semsearch.index.errors import CollectionError, CollectionLockedError, ModelMismatchError
from semsearch.index.filters import ENTITY_TYPES, METADATA_KEY_PATTERN, Filters, parse_entity
from semsearch.index.lexical import ANALYZERS, DEFAULT_ANALYZER
from semsearch.index.query import ParsedQuery, QueryDescription, QuerySyntaxError, parse_query
from semsearch.index.requests import SearchRequest
from semsearch.index.results import (
    CheckReport,
    CollectionInfo,
    SearchHit,
    SearchResponse,
    UpsertReport,
)
from semsearch.index.snippets import SnippetStyle
from semsearch.index.store import StoredPassage
from semsearch.index.store_entities import EntityRef
from semsearch.index.vectors import KINDS

__all__ = [
    "ANALYZERS",
    "DEFAULT_ANALYZER",
    "ENTITY_TYPES",
    "FACET_FIELDS",
    "KINDS",
    "METADATA_KEY_PATTERN",
    "ArticleFields",
    "BackupReport",
    "CheckReport",
    "Collection",
    "CollectionError",
    "CollectionInfo",
    "CollectionLockedError",
    "EngineConfig",
    "EnrichReport",
    "EntityPage",
    "EntityPageConfig",
    "EntityRef",
    "Filters",
    "IndexConfig",
    "KindPolicy",
    "MatchConfig",
    "MergePolicy",
    "ModelMismatchError",
    "ParsedQuery",
    "PassageVectors",
    "QueryDescription",
    "QuerySyntaxError",
    "SearchHit",
    "SearchRequest",
    "SearchResponse",
    "SnippetStyle",
    "StoredPassage",
    "UpsertReport",
    "parse_entity",
    "parse_query",
    "restore_collection",
]
